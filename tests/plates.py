"""Synthetic Tycho-2 plates for the calibration tests, and the oracle that
compares a recovered WCS with the one a plate was rendered with.

The renderer lives in :mod:`fitsmill.skyplates` (the demo and the benchmark
use it too).
"""

import numpy as np

from fitsmill.skyplates import BARREL_SIP, make_plate, plate_wcs

__all__ = ["BARREL_SIP", "make_plate", "plate_wcs", "wcs_discrepancy_px"]


def wcs_discrepancy_px(truth, solved, shape, steps=11):
    """Largest distance, in pixels, between two WCS over a grid on the image.

    Sky positions of a grid of pixels under ``solved`` are mapped back to
    pixels with ``truth``; the answer is the worst offset.

    Parameters
    ----------
    truth, solved : astropy.wcs.WCS
    shape : tuple of int
        ``(ny, nx)``.
    steps : int
        Grid points per axis, corners included.

    Returns
    -------
    float
    """
    ny, nx = shape
    gx, gy = np.meshgrid(np.linspace(0, nx - 1, steps), np.linspace(0, ny - 1, steps))
    ra, dec = solved.all_pix2world(gx.ravel(), gy.ravel(), 0)
    bx, by = truth.all_world2pix(ra, dec, 0)
    return float(np.max(np.hypot(bx - gx.ravel(), by - gy.ravel())))
