"""A small, deterministic sample archive, and the generators behind it.

:func:`make_sample_archive` writes a few MB of FITS files that exercise
every preview path: photographic-plate-like 16-bit scans (BZERO 32768,
plate-style headers), a float image with NaN holes, a ``.fits.gz``, a
RICE tile-compressed ``.fits.fz``, a three-band colour file and two kinds of
spectra.  The same seed always gives the same bytes.

The generators are public so benchmarks can make big files:
:func:`write_plate` streams a plate of any size band by band, never holding
the whole image, and :func:`plate_image` returns the identical pixels in
memory for small sizes.
"""

import collections
import gzip
import math
import os
import shutil
from pathlib import Path

import numpy as np
from astropy.io import fits

__all__ = [
    "SampleFile", "make_sample_archive", "plate_stars", "iter_plate_bands",
    "plate_image", "plate_header", "write_plate", "float_image", "colour_bands",
    "spectrum",
]

#: One entry of the manifest: where a file is and what it shows.
SampleFile = collections.namedtuple("SampleFile", "path description")

# Rows generated at a time.  Each band has its own noise stream, so this is
# part of what a seed means: changing it changes every plate's pixels.
_BAND = 128
# Soft saturation level of the emulsion (physical units) and the stored maximum.
_SATURATION = 56000.0
_UMAX = 65535
# Stars per pixel of plate area.
_STAR_DENSITY = 1 / 1500
# A fixed timestamp keeps the files byte-identical between runs.
_FILE_DATE = "2024-01-01T00:00:00"


def _rng(seed, *stream):
    return np.random.default_rng(np.random.SeedSequence([int(seed), *stream]))


def plate_stars(shape, seed=0, n_stars=None):
    """The star list of a synthetic plate.

    Magnitudes follow a power law (many faint stars, few bright ones, over
    nine magnitudes); brighter stars have larger images, as on
    photographic plates.

    Parameters
    ----------
    shape : (int, int)
        ``(NAXIS2, NAXIS1)`` of the plate.
    seed : int
    n_stars : int, optional
        Default: one star per 1500 pixels.

    Returns
    -------
    dict of numpy.ndarray
        ``x``, ``y`` (0-based pixel positions), ``peak`` (central value in
        physical units before saturation), ``sigma`` (Gaussian width, px),
        sorted by ``y``.
    """
    ny, nx = shape
    if n_stars is None:
        n_stars = max(1, int(nx * ny * _STAR_DENSITY))
    rng = _rng(seed, 1)
    x = rng.uniform(-5, nx + 5, n_stars)
    y = rng.uniform(-5, ny + 5, n_stars)
    # N(<m) grows as 10**(0.35 m): invert the cumulative distribution;
    # depth = magnitudes brighter than the faintest star, over nine.
    depth = np.minimum(-np.log10(rng.uniform(1e-12, 1.0, n_stars)) / 0.35, 9.0)
    # Every plate gets a few saturated stars, whatever the draw.
    n_bright = max(2, n_stars // 250)
    depth[:n_bright] = rng.uniform(7.5, 9.0, min(n_bright, n_stars))
    peak = 150.0 * 10 ** (0.4 * depth)
    sigma = 1.1 + 0.35 * depth + rng.uniform(0, 0.3, n_stars)
    order = np.argsort(y, kind="stable")
    return {"x": x[order], "y": y[order], "peak": peak[order], "sigma": sigma[order]}


def _scratches(shape, seed, count):
    ny, nx = shape
    rng = _rng(seed, 2)
    lines = []
    for _ in range(count):
        x0, x1 = rng.uniform(0, nx, 2)
        y0, y1 = rng.uniform(0, ny, 2)
        n = int(2 * math.hypot(x1 - x0, y1 - y0)) + 2
        xs = np.rint(np.linspace(x0, x1, n)).astype(np.intp)
        ys = np.rint(np.linspace(y0, y1, n)).astype(np.intp)
        lines.append((xs, ys, rng.uniform(1500, 4000)))
    return lines


def iter_plate_bands(shape, seed=0, negative=False, scratches=True, n_stars=None):
    """Generate a synthetic plate scan band by band, bottom row first.

    The picture: a sky level with a gradient and vignetting, a star field
    of many magnitudes (bright stars saturate into flat-topped disks with
    halos), emulsion grain noise, and optionally a few scratches.
    ``negative=True`` gives a transmission scan, stars dark on a bright
    background.

    Parameters
    ----------
    shape : (int, int)
        ``(NAXIS2, NAXIS1)``.
    seed : int
    negative : bool
    scratches : bool
    n_stars : int, optional
        See :func:`plate_stars`.

    Yields
    ------
    (int, numpy.ndarray)
        First row of the band and the band as uint16 physical values
        (0-65535), at most 128 rows.
    """
    ny, nx = shape
    if ny < 1 or nx < 1:
        raise ValueError(f"plate shape must be positive, got {shape}")
    stars = plate_stars(shape, seed, n_stars)
    reach = np.ceil(4.0 * stars["sigma"] * np.where(stars["peak"] > _SATURATION, 3, 1))
    lines = _scratches(shape, seed, 3 if scratches else 0)
    # Sky: 6000 with a 25% tilt along x, 10% along y and 20% vignetting,
    # split into per-column and per-row terms so a band costs three passes.
    cols = np.arange(nx, dtype=np.float64)
    cx, cy = (nx - 1) / 2.0, (ny - 1) / 2.0
    radius2 = (cx * cx + cy * cy) or 1.0
    tilt_x = (6000.0 * (1.0 + 0.25 * (cols / nx - 0.5))).astype(np.float32)
    vignette_x = (1.0 - 0.2 * (cols - cx) ** 2 / radius2).astype(np.float32)
    star_list = {k: v.tolist() for k, v in stars.items()}
    star_list["reach"] = reach.tolist()
    for band_index, y0 in enumerate(range(0, ny, _BAND)):
        y1 = min(ny, y0 + _BAND)
        rows = np.arange(y0, y1, dtype=np.float64)[:, None]
        tilt_y = (600.0 * (rows / ny - 0.5)).astype(np.float32)
        vignette_y = (0.2 * (rows - cy) ** 2 / radius2).astype(np.float32)
        signal = tilt_x + tilt_y
        signal *= vignette_x - vignette_y
        _add_stars(signal, y0, star_list, stars["y"], reach.max())
        # Photographic response: linear for faint light, flat at saturation.
        np.multiply(signal, -1.0 / _SATURATION, out=signal)
        np.expm1(signal, out=signal)
        np.multiply(signal, -_SATURATION, out=signal)
        noise = _rng(seed, 3, band_index).standard_normal(signal.shape, dtype=np.float32)
        signal += noise * (30.0 + 0.004 * signal)
        for xs, ys, depth in lines:
            inside = (ys >= y0) & (ys < y1) & (xs >= 0) & (xs < nx)
            signal[ys[inside] - y0, xs[inside]] -= depth
        if negative:
            np.subtract(_UMAX - 2000.0, signal, out=signal)
        np.clip(signal, 0, _UMAX, out=signal)
        np.rint(signal, out=signal)
        yield y0, signal.astype(np.uint16)


def _add_stars(signal, y0, stars, ys, max_reach):
    # stars: dict of Python lists (scalar access to NumPy arrays is slow);
    # ys: the sorted y positions as an array, to find the band's stars.
    h, nx = signal.shape
    y1 = y0 + h
    lo = np.searchsorted(ys, y0 - max_reach - 1)
    hi = np.searchsorted(ys, y1 + max_reach + 1)
    xs, yl, sigmas, peaks, reaches = (stars[k] for k in ("x", "y", "sigma", "peak", "reach"))
    outer = np.multiply.outer
    for i in range(lo, hi):
        y, r = yl[i], reaches[i]
        ra, rb = max(y0, int(y - r)), min(y1, int(y + r) + 1)
        if ra >= rb:
            continue
        x = xs[i]
        ca, cb = max(0, int(x - r)), min(nx, int(x + r) + 1)
        if ca >= cb:
            continue
        dy2 = (np.arange(ra, rb, dtype=np.float32) - y) ** 2
        dx2 = (np.arange(ca, cb, dtype=np.float32) - x) ** 2
        k, peak = -0.5 / sigmas[i] ** 2, peaks[i]
        target = signal[ra - y0:rb - y0, ca:cb]
        target += outer(np.exp(dy2 * k) * peak, np.exp(dx2 * k))
        if peak > _SATURATION:
            # A faint wide halo around bright stars, as on real plates.
            k /= 9.0
            target += outer(np.exp(dy2 * k) * (0.02 * peak), np.exp(dx2 * k))


def plate_image(shape, seed=0, **options):
    """A synthetic plate in memory, the same pixels :func:`write_plate` writes.

    Parameters
    ----------
    shape : (int, int)
        ``(NAXIS2, NAXIS1)``.
    seed : int
    **options
        ``negative``, ``scratches``, ``n_stars`` as in :func:`iter_plate_bands`.

    Returns
    -------
    numpy.ndarray
        uint16 array in FITS order (row 0 = first FITS row).
    """
    out = np.empty(shape, np.uint16)
    for y0, band in iter_plate_bands(shape, seed, **options):
        out[y0:y0 + band.shape[0]] = band
    return out


_OBSERVATORIES = [
    ("Sample Hill Observatory", "Synthetic Astrograph 40cm", 0.40, 2.0),
    ("Imaginary Plateau Station", "Synthetic Schmidt 50/70cm", 0.50, 1.72),
]
_OBJECTS = [("Orion nebula field", 83.82, -5.39), ("Pleiades field", 56.75, 24.12),
            ("Cygnus field", 305.0, 40.5)]


def _sexagesimal(value, hours):
    sign = "-" if value < 0 else ("" if hours else "+")
    v = abs(value) / 15.0 if hours else abs(value)
    d = int(v)
    m = int((v - d) * 60)
    s = ((v - d) * 60 - m) * 60
    return f"{sign}{d:02d}:{m:02d}:{s:04.1f}"


def plate_header(shape, seed=0, filename=None, negative=False):
    """A plate-archive style primary header for a 16-bit plate scan.

    Keywords follow the FITS header format for digitised photographic
    plates (observation, plate, scan and file groups, no WCS), with values
    derived deterministically from the seed.

    Parameters
    ----------
    shape : (int, int)
        ``(NAXIS2, NAXIS1)``.
    seed : int
    filename : str, optional
        Value of FILENAME.
    negative : bool
        Whether the scan is a transmission (negative) image.

    Returns
    -------
    astropy.io.fits.Header
    """
    rng = _rng(seed, 4)
    observat, telescop, aperture, focal = _OBSERVATORIES[seed % len(_OBSERVATORIES)]
    obj, ra, dec = _OBJECTS[seed % len(_OBJECTS)]
    ra += rng.uniform(-0.5, 0.5)
    dec += rng.uniform(-0.5, 0.5)
    year = 1900 + int(rng.integers(0, 90))
    month, day = int(rng.integers(1, 13)), int(rng.integers(1, 29))
    hour, minute = int(rng.integers(18, 24)), int(rng.integers(0, 60))
    exptime = float(rng.choice([300, 600, 1200, 1800, 3600]))
    ny, nx = shape
    dpi = 1200
    pixsize = 25400.0 / dpi
    h = fits.Header()
    h["SIMPLE"] = True
    h["BITPIX"] = 16
    h["NAXIS"] = 2
    h["NAXIS1"] = nx
    h["NAXIS2"] = ny
    h["BSCALE"] = (1.0, "physical = BZERO + BSCALE * stored")
    h["BZERO"] = (32768.0, "unsigned 16-bit scan")
    h["EXTEND"] = True
    h["OBJECT"] = (obj, "observed object or field")
    h["EXPTIME"] = (exptime, "[s] exposure time")
    h["NUMEXP"] = (1, "number of exposures")
    h["OBSERVAT"] = (observat, "observatory name")
    h["SITENAME"] = ("synthetic site", "observatory site")
    h["TELESCOP"] = (telescop, "telescope name")
    h["OTA-APER"] = (aperture, "[m] clear aperture")
    h["FOCLEN"] = (focal, "[m] focal length")
    h["PLTSCALE"] = (round(206.265 / focal, 3), "[arcsec/mm] plate scale")
    h["DETNAM"] = ("photographic plate", "detector")
    h["METHOD"] = ("direct photograph", "method of observation")
    h["OBSERVER"] = ("A. Synthetic", "observer name")
    h["PLATENUM"] = (f"S{seed:04d}", "plate number in the archive")
    h["EMULSION"] = ("Kodak 103a-O", "emulsion type")
    h["PLATEFMT"] = ("16x16", "[cm] plate format")
    h["DATE-OBS"] = (f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:00",
                     "UT start of exposure")
    h["RA"] = (_sexagesimal(ra, True), "J2000 right ascension of plate centre")
    h["DEC"] = (_sexagesimal(dec, False), "J2000 declination of plate centre")
    h["RA_DEG"] = (round(ra, 5), "[deg] J2000 right ascension")
    h["DEC_DEG"] = (round(dec, 5), "[deg] J2000 declination")
    h["SCANNER"] = ("Synthetic flatbed scanner", "scanner name")
    h["SCANRES1"] = (dpi, "[dpi] scan resolution along axis 1")
    h["SCANRES2"] = (dpi, "[dpi] scan resolution along axis 2")
    h["PIXSIZE1"] = (round(pixsize, 4), "[um] pixel size along axis 1")
    h["PIXSIZE2"] = (round(pixsize, 4), "[um] pixel size along axis 2")
    h["SCANNOTE"] = ("transmission scan (negative)" if negative else "density scan",
                     "scan notes")
    if filename is not None:
        h["FILENAME"] = (filename, "file name of this scan")
    h["ORIGIN"] = ("fitsmill sample generator", "synthetic data, not a real plate")
    h["DATE"] = (_FILE_DATE, "last change of this file (UTC)")
    h.add_comment("Synthetic plate scan made by fitsmill.samples for tests and demos.")
    return h


def write_plate(path, shape, seed=0, negative=False, scratches=True, n_stars=None,
                header=None):
    """Write a synthetic 16-bit plate (BZERO 32768) to a FITS file, streaming.

    Memory stays at one 128-row band whatever the size, so a 10000 x 10000
    plate (200 MB) can be written on a small machine.

    Parameters
    ----------
    path : str or os.PathLike
    shape : (int, int)
        ``(NAXIS2, NAXIS1)``.
    seed : int
    negative, scratches, n_stars
        See :func:`iter_plate_bands`.
    header : astropy.io.fits.Header, optional
        Default: :func:`plate_header`.  Its NAXIS/BITPIX/BZERO cards must
        describe the data; they are set here.

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    if header is None:
        header = plate_header(shape, seed, filename=path.name, negative=negative)
    header = header.copy()
    header["BITPIX"], header["NAXIS"] = 16, 2
    header["NAXIS1"], header["NAXIS2"] = shape[1], shape[0]
    header["BSCALE"], header["BZERO"] = 1.0, 32768.0
    with open(path, "wb") as f:
        f.write(header.tostring().encode("ascii"))
        for _, band in iter_plate_bands(shape, seed, negative=negative,
                                        scratches=scratches, n_stars=n_stars):
            # Flipping the top bit of a uint16 is subtracting BZERO 32768.
            np.bitwise_xor(band, 0x8000, out=band)
            f.write(band.astype(">u2").tobytes())
        _pad(f, 2 * shape[0] * shape[1])
    return path


def _pad(f, nbytes):
    f.write(b"\0" * (-nbytes % 2880))


def float_image(shape=(512, 512), seed=0):
    """A float32 galaxy-and-stars image with a NaN patch and NaN columns.

    Parameters
    ----------
    shape : (int, int)
    seed : int

    Returns
    -------
    numpy.ndarray
        float32, NaN in a rectangular patch and in two full columns.
    """
    ny, nx = shape
    rng = _rng(seed, 5)
    yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float32)
    cx, cy = 0.55 * nx, 0.45 * ny
    # An inclined exponential disk plus a bulge.
    u = (xx - cx) * 0.8 + (yy - cy) * 0.6
    v = -(xx - cx) * 0.6 + (yy - cy) * 0.8
    r = np.hypot(u, v / 0.45)
    img = 400.0 * np.exp(-r / (0.06 * nx)) + 900.0 * np.exp(-(r / (0.015 * nx)) ** 2)
    for _ in range(max(5, nx * ny // 4000)):
        x, y = rng.uniform(0, nx), rng.uniform(0, ny)
        img += rng.pareto(1.5) * 200.0 * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / 3.0)
    img += 20.0 + rng.normal(0, 3.0, shape)
    img = img.astype(np.float32)
    img[int(0.15 * ny):int(0.3 * ny), int(0.1 * nx):int(0.35 * nx)] = np.nan
    img[:, [int(0.7 * nx), int(0.7 * nx) + 1]] = np.nan
    return img


def colour_bands(shape=(256, 256), seed=0):
    """Three aligned float32 bands (r, g, b) of a star field with a nebula.

    Stars have different colours (temperatures); the nebula is red.

    Parameters
    ----------
    shape : (int, int)
    seed : int

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
    """
    ny, nx = shape
    rng = _rng(seed, 6)
    yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float32)
    neb = np.exp(-(((xx - 0.4 * nx) / (0.25 * nx)) ** 2 + ((yy - 0.6 * ny) / (0.15 * ny)) ** 2))
    bands = [30.0 * neb, 8.0 * neb, 12.0 * neb]
    for _ in range(max(5, nx * ny // 800)):
        x, y = rng.uniform(0, nx), rng.uniform(0, ny)
        flux = rng.pareto(1.2) * 30.0
        psf = flux * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / 2.5)
        colour = rng.dirichlet((2, 2, 2))
        for band, weight in zip(bands, colour):
            band += 3.0 * weight * psf
    # Scaled so astropy's default Lupton mapping (stretch 5, Q 8) shows the
    # nebula unsaturated and the bright stars white.
    return tuple((0.2 * (band + rng.normal(0.5, 0.3, shape))).astype(np.float32)
                 for band in bands)


def spectrum(n=2000, seed=0, start=3800.0, step=2.0):
    """A stellar-like spectrum on a linear wavelength grid.

    A thermal continuum with absorption lines, an emission line and noise;
    the first few fluxes are 0 and negative (as at the blue end of real
    spectra) so log-scaled plots must cope.

    Parameters
    ----------
    n : int
    seed : int
    start, step : float
        Wavelength of the first point and the spacing, in Angstrom.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Wavelengths (float64, Angstrom) and fluxes (float32).
    """
    rng = _rng(seed, 7)
    wave = start + step * np.arange(n, dtype=np.float64)
    lam = wave * 1e-8  # cm
    continuum = 1.0 / (lam ** 5 * np.expm1(1.4388 / (lam * 6500.0)))
    continuum /= continuum.max()
    for centre, depth in ((4861.3, 0.5), (6562.8, 0.6), (4340.5, 0.4), (5175.0, 0.2)):
        continuum *= 1 - depth * np.exp(-0.5 * ((wave - centre) / 6.0) ** 2)
    continuum += 0.4 * np.exp(-0.5 * ((wave - 5007.0) / 3.0) ** 2)
    flux = (continuum + rng.normal(0, 0.01, n)).astype(np.float32)
    flux[:3] = (0.0, -0.01, 0.0)
    return wave, flux


def _write_hdus(path, hdus):
    fits.HDUList(hdus).writeto(path, overwrite=True, checksum=False)


def make_sample_archive(dest, seed=0, plate_shape=(1024, 1024)):
    """Write the sample archive into a directory and describe its files.

    Contents (paths relative to ``dest``):

    - ``plates/plate_001.fits``: 16-bit plate scan, BZERO 32768, plate
      header, scratches.
    - ``plates/plate_002.fits``: a negative (transmission) plate scan:
      stars dark; preview it with ``invert``.
    - ``plates/plate_003.fits.gz``: a gzipped plate.
    - ``plates/plate_004.fits.fz``: a RICE tile-compressed plate in
      extension 1 (empty primary, as fpack writes).
    - ``images/galaxy_nan.fits``: float32 with a NaN patch and NaN columns
      and a TAN WCS.
    - ``colour/rgb.fits``: empty primary, extension 1 the sum of the
      bands (EXTNAME SUM), extensions 2, 3, 4 the R, G, B bands (EXTNAME
      R, G, B), as in the DaCHS manual's colour preview example.
    - ``spectra/spectrum_1d.fits``: 1-D spectrum with a linear spectral WCS.
    - ``spectra/spectrum_table.fits``: binary table with columns
      ``spectral`` and ``flux``.

    Parameters
    ----------
    dest : str or os.PathLike
        Directory (created if missing); existing sample files are replaced.
    seed : int
        Same seed, same bytes.
    plate_shape : (int, int)
        ``(NAXIS2, NAXIS1)`` of the first plate; the others are smaller.

    Returns
    -------
    list of SampleFile
        ``(path, description)`` for every file, in the order above.
    """
    dest = Path(dest)
    for sub in ("plates", "images", "colour", "spectra"):
        (dest / sub).mkdir(parents=True, exist_ok=True)
    ny, nx = plate_shape
    manifest = []

    def note(path, text):
        manifest.append(SampleFile(Path(path), text))

    p = write_plate(dest / "plates" / "plate_001.fits", plate_shape, seed)
    note(p, f"16-bit plate scan {nx}x{ny}, BZERO 32768, plate-archive header, scratches")

    shape2 = (max(1, ny * 3 // 4), max(1, nx * 5 // 8))
    p = write_plate(dest / "plates" / "plate_002.fits", shape2, seed + 1, negative=True,
                    scratches=False)
    note(p, f"negative (transmission) plate scan {shape2[1]}x{shape2[0]}: "
            "stars dark, preview with invert")

    shape3 = (max(1, ny // 2), max(1, nx * 5 // 8))
    tmp = write_plate(dest / "plates" / "plate_003.fits.tmp", shape3, seed + 2)
    gz = dest / "plates" / "plate_003.fits.gz"
    with open(tmp, "rb") as src, open(gz, "wb") as raw:
        # mtime=0 and no file name keep the gzip bytes reproducible.
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                           compresslevel=6) as out:
            shutil.copyfileobj(src, out)
    os.unlink(tmp)
    note(gz, f"gzip-compressed plate scan {shape3[1]}x{shape3[0]}")

    shape4 = (max(1, ny * 3 // 4), nx)
    hdr4 = plate_header(shape4, seed + 3, filename="plate_004.fits.fz")
    for key in ("SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "BSCALE", "BZERO",
                "EXTEND"):
        del hdr4[key]
    comp = fits.CompImageHDU(data=plate_image(shape4, seed + 3), header=hdr4,
                             compression_type="RICE_1")
    fz = dest / "plates" / "plate_004.fits.fz"
    _write_hdus(fz, [fits.PrimaryHDU(), comp])
    note(fz, f"RICE tile-compressed plate scan {shape4[1]}x{shape4[0]} in extension 1")

    img = float_image((512, 512), seed)
    h = fits.Header()
    h["OBJECT"] = ("synthetic galaxy", "object name")
    h["BUNIT"] = ("adu", "pixel unit")
    h.update({"WCSAXES": 2, "CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN",
              "CRPIX1": 256.5, "CRPIX2": 256.5, "CRVAL1": 150.0, "CRVAL2": 2.2,
              "CDELT1": -0.0002, "CDELT2": 0.0002, "CUNIT1": "deg", "CUNIT2": "deg",
              "RADESYS": "ICRS", "DATE": _FILE_DATE})
    p = dest / "images" / "galaxy_nan.fits"
    _write_hdus(p, [fits.PrimaryHDU(img, header=h)])
    note(p, "float32 512x512 galaxy with a NaN patch and two NaN columns, TAN WCS")

    r, g, b = colour_bands((256, 256), seed)
    primary = fits.PrimaryHDU()
    primary.header["OBJECT"] = ("synthetic star field with nebula", "object name")
    primary.header["DATE"] = _FILE_DATE
    hdus = [primary, fits.ImageHDU(r + g + b, name="SUM")]
    for name, band in zip("RGB", (r, g, b)):
        hdus.append(fits.ImageHDU(band, name=name))
    p = dest / "colour" / "rgb.fits"
    _write_hdus(p, hdus)
    note(p, "colour file: extensions 2, 3, 4 = R, G, B bands (--rgb 2,3,4); "
            "extension 1 = their sum; empty primary")

    wave, flux = spectrum(seed=seed)
    h = fits.Header()
    h.update({"OBJECT": "synthetic star", "CTYPE1": "WAVE", "CUNIT1": "Angstrom",
              "CRPIX1": 1.0, "CRVAL1": float(wave[0]), "CDELT1": float(wave[1] - wave[0]),
              "BUNIT": "erg/(s cm2 Angstrom)", "DATE": _FILE_DATE})
    p = dest / "spectra" / "spectrum_1d.fits"
    _write_hdus(p, [fits.PrimaryHDU(flux, header=h)])
    note(p, f"1-D spectrum, {flux.size} points, linear wavelength WCS (CTYPE1 WAVE)")

    cols = fits.ColDefs([fits.Column("spectral", "D", unit="Angstrom", array=wave),
                         fits.Column("flux", "E", unit="erg/(s cm2 Angstrom)", array=flux)])
    table = fits.BinTableHDU.from_columns(cols, name="SPECTRUM")
    table.header["DATE"] = _FILE_DATE
    p = dest / "spectra" / "spectrum_table.fits"
    _write_hdus(p, [fits.PrimaryHDU(), table])
    note(p, f"binary-table spectrum, {flux.size} rows, columns spectral and flux")
    return manifest
