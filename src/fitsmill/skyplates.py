"""Synthetic photographic plates rendered from real Tycho-2 stars.

Calibration tests, benchmarks and the demo need images that astrometry.net
can really solve and whose true WCS is known exactly.  The stars come from
the installed Tycho-2 index files (``query-starkd``), so every quad the
solver may match exists in the sky; the renderer projects them through a
chosen TAN or TAN-SIP WCS into a 16-bit image with sky noise and saturated
bright stars.  The true WCS is returned and never written into the plate, so
a test can compare what the solver recovers against it.
"""

import functools
import glob
import os
import subprocess
import tempfile

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

__all__ = [
    "INDEX_DIR", "BARREL_SIP", "query_tycho2", "plate_wcs", "render_plate",
    "make_plate", "write_plate_set",
]

INDEX_DIR = os.environ.get("FITSMILL_ANET_INDEX_DIR", "/usr/share/astrometry")

#: a radial (barrel) distortion of about 4 px in the corners of a 1000 px
#: plate, plus a small asymmetric term: plain TAN cannot fit it to 0.5 px
BARREL_SIP = {
    "A_2_0": 2e-7, "A_3_0": -1.5e-8, "A_1_2": -1.5e-8,
    "B_0_2": -2e-7, "B_0_3": -1.5e-8, "B_2_1": -1.5e-8,
}


@functools.lru_cache(maxsize=32)
def query_tycho2(ra, dec, radius, index_dir=INDEX_DIR):
    """Return the Tycho-2 stars of all installed index files near a position.

    Parameters
    ----------
    ra, dec : float
        Centre in degrees.
    radius : float
        Search radius in degrees.
    index_dir : str
        Directory holding ``index-tycho2-*.fits``.

    Returns
    -------
    tuple of numpy.ndarray
        ``(ra, dec, mag)``, duplicates across index files removed.
    """
    paths = sorted(glob.glob(os.path.join(index_dir, "index-tycho2-*.fits")))
    if not paths:
        raise RuntimeError(f"no Tycho-2 index files in {index_dir}")
    cols = {"RA": [], "DEC": [], "MAG_VT": []}
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "stars.fits")
        for path in paths:
            subprocess.run(
                ["query-starkd", "-r", repr(ra), "-d", repr(dec),
                 "-R", repr(radius), "-T", "-o", out, path],
                check=True, capture_output=True)
            with fits.open(out) as hdus:
                for name in cols:
                    cols[name].append(np.asarray(hdus[1].data[name], float))
    ras, decs, mags = (np.concatenate(cols[n]) for n in ("RA", "DEC", "MAG_VT"))
    # the same star sits in several index files: keep it once
    key = np.round(ras * 3600).astype(np.int64) * 10**7 + np.round(
        decs * 3600).astype(np.int64)
    _, first = np.unique(key, return_index=True)
    return ras[first], decs[first], mags[first]


def plate_wcs(ra, dec, scale, shape, rotation=0.0, sip=None):
    """Build a TAN (or TAN-SIP) WCS centred on a position.

    Parameters
    ----------
    ra, dec : float
        Field centre in degrees (at the image centre).
    scale : float
        Pixel scale in arcsec per pixel.
    shape : tuple of int
        ``(ny, nx)`` of the image.
    rotation : float
        Position angle of the y axis east of north, degrees.
    sip : dict, optional
        SIP forward coefficients such as ``{"A_2_0": 1e-7}``; order 3.

    Returns
    -------
    astropy.wcs.WCS
    """
    ny, nx = shape
    theta = np.radians(rotation)
    s = scale / 3600.0
    hdr = fits.Header()
    hdr["NAXIS"] = 2
    hdr["NAXIS1"] = nx
    hdr["NAXIS2"] = ny
    suffix = "-SIP" if sip else ""
    hdr["CTYPE1"] = "RA---TAN" + suffix
    hdr["CTYPE2"] = "DEC--TAN" + suffix
    hdr["CRVAL1"] = ra
    hdr["CRVAL2"] = dec
    hdr["CRPIX1"] = (nx + 1) / 2.0
    hdr["CRPIX2"] = (ny + 1) / 2.0
    # east to the left, north up, then rotated: the usual sky orientation
    hdr["CD1_1"] = -s * np.cos(theta)
    hdr["CD1_2"] = s * np.sin(theta)
    hdr["CD2_1"] = s * np.sin(theta)
    hdr["CD2_2"] = s * np.cos(theta)
    if sip:
        hdr["A_ORDER"] = 3
        hdr["B_ORDER"] = 3
        for key, value in sip.items():
            hdr[key] = value
    return WCS(hdr)


def render_plate(path, wcs, shape, stars, *, seed=0, sky=1000.0, noise=12.0,
                 fwhm=3.0, mag_zero=11.0, peak_zero=400.0, saturation=32767,
                 header=None):
    """Render stars through ``wcs`` into a 16-bit FITS image.

    Parameters
    ----------
    path : str
        Output file.
    wcs : astropy.wcs.WCS
        The true projection; it is not written to the file.
    shape : tuple of int
        ``(ny, nx)``.
    stars : tuple of numpy.ndarray
        ``(ra, dec, mag)`` as from :func:`query_tycho2`.
    seed : int
        Noise seed.
    sky, noise : float
        Sky level and Gaussian noise sigma in ADU.
    fwhm : float
        Stellar FWHM in pixels.
    mag_zero, peak_zero : float
        A star of magnitude ``mag_zero`` peaks ``peak_zero`` ADU above sky.
    saturation : int
        Pixel values are clipped here, so bright stars have flat tops.
    header : dict, optional
        Extra primary header cards (e.g. observing hints).

    Returns
    -------
    numpy.ndarray
        Pixel positions (0-based x, y) of the rendered stars.
    """
    ny, nx = shape
    rng = np.random.default_rng(seed)
    image = rng.normal(sky, noise, size=shape)
    ra, dec, mag = stars
    x, y = wcs.all_world2pix(ra, dec, 0)
    inside = (x > -10) & (x < nx + 9) & (y > -10) & (y < ny + 9)
    sigma = fwhm / 2.3548
    for xc, yc, m in zip(x[inside], y[inside], mag[inside]):
        peak = peak_zero * 10 ** (-0.4 * (m - mag_zero))
        half = int(np.ceil(sigma * np.sqrt(2 * np.log(max(peak, 2.0) / 0.1))))
        x0, x1 = max(int(xc) - half, 0), min(int(xc) + half + 2, nx)
        y0, y1 = max(int(yc) - half, 0), min(int(yc) + half + 2, ny)
        if x0 >= x1 or y0 >= y1:
            continue
        gx = np.arange(x0, x1) - xc
        gy = np.arange(y0, y1) - yc
        image[y0:y1, x0:x1] += peak * np.exp(
            -(gy[:, None] ** 2 + gx[None, :] ** 2) / (2 * sigma ** 2))
    data = np.clip(np.rint(image), 0, saturation).astype(np.int16)
    hdu = fits.PrimaryHDU(data)
    for key, value in (header or {}).items():
        hdu.header[key] = value
    hdu.writeto(path, overwrite=True)
    return np.column_stack([x[inside], y[inside]])


def make_plate(path, *, ra=150.0, dec=30.0, scale=10.8, shape=(1000, 1000),
               rotation=20.0, sip=None, hints=False, seed=0):
    """Render a solvable plate of real Tycho-2 stars and return its true WCS.

    Parameters
    ----------
    path : str
        Output file.
    ra, dec, scale, shape, rotation, sip
        As for :func:`plate_wcs`.
    hints : bool
        Write RA, DEC, PLTSCALE and PIXSIZE1 cards a plate header would
        carry (slightly off, as logbook values are).
    seed : int
        Noise seed.

    Returns
    -------
    astropy.wcs.WCS
        The truth.
    """
    wcs = plate_wcs(ra, dec, scale, shape, rotation=rotation, sip=sip)
    radius = scale * max(shape) / 3600.0
    stars = query_tycho2(float(ra), float(dec), float(radius))
    header = {}
    if hints:
        # a 15 um scan of a plate at 720 arcsec/mm gives 10.8 arcsec/px
        header = {"RA": ra + 0.2, "DEC": dec - 0.15,
                  "PIXSIZE1": 15.0, "PIXSIZE2": 15.0,
                  "PLTSCALE": scale / 0.015}
    render_plate(path, wcs, shape, stars, seed=seed, header=header)
    return wcs


def write_plate_set(directory, count=3, shape=(1000, 1000), hints=True, seed=0):
    """Write ``count`` solvable plates of different sky fields.

    Every third plate carries the barrel distortion :data:`BARREL_SIP`.

    Parameters
    ----------
    directory : str or os.PathLike
        Created when missing.
    count : int
    shape : tuple of int
    hints : bool
        Write the plate-header hints (see :func:`make_plate`).
    seed : int

    Returns
    -------
    list of (str, astropy.wcs.WCS)
        Each plate's path and true WCS.
    """
    os.makedirs(directory, exist_ok=True)
    plates = []
    for i in range(count):
        path = os.path.join(os.fspath(directory), f"skyplate{i + 1:03d}.fits")
        truth = make_plate(
            path, ra=(15.0 + 37.0 * i) % 360.0, dec=(-1) ** i * (20.0 + 7.0 * (i % 5)),
            shape=shape, rotation=13.0 * i - 40.0,
            sip=BARREL_SIP if i % 3 == 2 else None, hints=hints, seed=seed + i)
        plates.append((path, truth))
    return plates
