# cython: language_level=3, embedsignature=True, boundscheck=False, wraparound=False
"""Private binding to csrc/fm_checksum*: placeholder, filled in by its owner."""
