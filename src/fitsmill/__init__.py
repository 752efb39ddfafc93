"""fitsmill: bulk processing of astronomical FITS archives.

Streaming previews, byte-preserving in-place header surgery, plate-archive
header templates and astrometry.net calibration, driven by a
DaCHS-compatible FileProcessor framework.  DaCHS scripts use
``from fitsmill import api`` in place of ``from gavo import api``.
"""

__version__ = "0.1.0"
