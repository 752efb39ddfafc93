"""The DaCHS file-processing manual's example processors, ported to Python 3.

They live in importable modules (not in the test files) so that spawn-started
``-j`` workers and Dask workers can import the classes by name, exactly as
they would import a user's processor module.  Apart from the Python 3 syntax
and ``from fitsmill import api``, each follows the manual's text.
"""
