"""Shrunk FITS images: block means with a correctly rescaled WCS.

:func:`shrink_fits` writes a float32 image whose pixels are the means of
the valid pixels of ``factor`` x ``factor`` blocks of the source (the
streaming reader :func:`fitsmill.scaledrows.iter_scaled_rows` computes
them, so memory stays bounded), with a header whose WCS describes the new
pixel grid.  :func:`iterScaledBytes` is DaCHS's streaming form of the same
thing (header bytes, then data bytes), and :func:`shrinkWCSHeader` its
header half.

Pixel convention
----------------
Shrunk pixel ``p`` (1-based, FITS) is the block of source pixels
``(p-1)*f + 1 .. p*f``; its centre is source pixel ``f*p - (f-1)/2``.
Hence a source pixel coordinate ``x`` becomes ``x' = (x - 0.5)/f + 0.5``
and ``CRPIX' = (CRPIX - 0.5)/f + 0.5`` (``convention="centre"``, the
default): the sky position of every shrunk pixel centre is the sky
position of its block centre in the original WCS.  The last block of an
axis whose length is not a multiple of ``f`` holds fewer pixels, so its
mean is centred slightly left of (below) its nominal centre.

DaCHS (after wcstools' ShrinkFITSHeader) used ``CRPIX' = CRPIX/f + 0.5``,
which maps source pixel 1 to shrunk pixel 1: off by ``0.5/f`` shrunk
pixel from the block centres.  ``convention="dachs"`` reproduces it.

What is rescaled: ``CRPIXi``, ``CDELTi`` (written as ``f`` when a PC
matrix or a bare CRPIX relies on the default 1), ``CDi_j``, for the
primary WCS and the alternates ``A``..``Z``; SIP distortion ``A_p_q``,
``B_p_q``, ``AP_p_q``, ``BP_p_q`` (times ``f**(p+q-1)``) and
``A_DMAX``/``B_DMAX``; IRAF's ``LTVi``/``LTMi_j``.  ``PCi_j``, ``CROTAi``
and ``PVi_m`` (TPV) need no change.  DSS plate solutions (``AMDX*``) are
not rescaled.  BZERO, BSCALE, BLANK, DATAMIN, DATAMAX, CHECKSUM and
DATASUM no longer describe the data and are removed; an extension header
becomes a primary one.
"""

import math
import os
import re
from datetime import datetime, timezone


__all__ = ["shrinkWCSHeader", "shrink_header", "iterScaledBytes", "shrink_fits"]

_BLOCK = 2880
_WCS_SUFFIXES = [""] + [chr(c) for c in range(ord("A"), ord("Z") + 1)]
_SIP_COEFF = re.compile(r"^(A|B|AP|BP)_(\d+)_(\d+)$")
_STALE_KEYS = ("BZERO", "BSCALE", "BLANK", "DATAMIN", "DATAMAX",
               "CHECKSUM", "DATASUM", "PCOUNT", "GCOUNT")


def _offset(factor, convention):
    """Additive term of x' = x/f + offset for the chosen convention."""
    if convention == "centre":
        return 0.5 - 0.5 / factor
    if convention == "dachs":
        return 0.5
    raise ValueError(f"unknown CRPIX convention {convention!r}; "
                     "use 'centre' or 'dachs'")


def _scale(header, key, mult):
    if key in header:
        header[key] = header[key] * mult


def _rescale_linear_wcs(header, factor, offset):
    """CRPIX / CDELT / CD of the primary and alternate WCSs, axes 1 and 2."""
    for s in _WCS_SUFFIXES:
        # A WCS may omit CRPIX (default 0), but then has some other card.
        if not any(f"{k}{i}{s}" in header for i in (1, 2)
                   for k in ("CTYPE", "CRPIX", "CRVAL", "CDELT", "CD1_", "CD2_",
                             "PC1_", "PC2_")):
            continue
        has_cd = any(f"CD{i}_{j}{s}" in header for i in (1, 2) for j in (1, 2))
        for i in (1, 2):
            crpix = f"CRPIX{i}{s}"
            header[crpix] = header.get(crpix, 0.0) / factor + offset
            for j in (1, 2):
                # CDi_j multiplies pixel offset j, which shrinks by f.
                _scale(header, f"CD{i}_{j}{s}", factor)
            cdelt = f"CDELT{i}{s}"
            if cdelt in header:
                header[cdelt] = header[cdelt] * factor
            elif not has_cd:
                header[cdelt] = float(factor)


def _rescale_sip(header, factor):
    # Pixel offsets u from CRPIX shrink to u/f, and the intermediate
    # coordinates (u + f(u, v)) must shrink alike: the coefficient of
    # u**p v**q is multiplied by f**(p+q-1); same for the inverse AP/BP.
    # Only the polynomials the header declares (A_ORDER etc.): a stray
    # keyword that merely looks like a coefficient is left alone.
    declared = {p for p in ("A", "B", "AP", "BP") if f"{p}_ORDER" in header}
    for key in list(header.keys()):
        m = _SIP_COEFF.match(key)
        if m and m[1] in declared:
            header[key] = header[key] * float(factor) ** (int(m[2]) + int(m[3]) - 1)
    for key in ("A_DMAX", "B_DMAX"):
        _scale(header, key, 1.0 / factor)


def _rescale_iraf(header, factor, offset):
    # image = LTM * physical + LTV; image' = image/f + offset.
    if not any(k in header for k in ("LTV1", "LTV2", "LTM1_1", "LTM2_2")):
        return
    for i in (1, 2):
        header[f"LTV{i}"] = header.get(f"LTV{i}", 0.0) / factor + offset
        for j in (1, 2):
            key = f"LTM{i}_{j}"
            header[key] = header.get(key, 1.0 if i == j else 0.0) / factor


def _delete(header, key):
    while key in header:
        del header[key]


def _naxes(header, label):
    naxis = int(header.get("NAXIS", 0))
    if naxis < 2:
        raise ValueError(f"{label}: NAXIS = {naxis}; only images with at "
                         "least two axes can be shrunk")
    return naxis


def shrink_header(header, factor, *, convention="centre", shape=None):
    """Return a copy of an image header describing the shrunk image.

    Parameters
    ----------
    header : fitsmill.header.Header or astropy.io.fits.Header
        The source image header (NAXIS >= 2; axes above 2 are dropped,
        their WCS keywords kept, as ``WCSAXES`` may exceed ``NAXIS``).
    factor : int
        The block size, >= 1.
    convention : {"centre", "dachs"}, optional
        How CRPIX moves; see the module documentation.
    shape : tuple of int, optional
        ``(NAXIS2, NAXIS1)`` of the shrunk image; by default each axis is
        ``ceil(NAXISn / factor)``, which is what
        :func:`fitsmill.scaledrows.iter_scaled_rows` produces.

    Returns
    -------
    header
        A new header of the same class with SIMPLE, BITPIX = -32, the new
        NAXISn, the rescaled WCS and an ``IMSHRINK`` card.
    """
    factor = int(factor)
    if factor < 1:
        raise ValueError(f"shrink factor must be >= 1, not {factor}")
    offset = _offset(factor, convention)
    naxis = _naxes(header, "header")
    new = header.copy()
    if shape is None:
        shape = tuple(math.ceil(int(header[f"NAXIS{i}"]) / factor) for i in (2, 1))
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if "XTENSION" in new:
        del new["XTENSION"]
        new.insert(0, ("SIMPLE", True, f"fitsmill, {stamp}"))
    else:
        new["SIMPLE"] = (True, f"fitsmill, {stamp}")
    for key in _STALE_KEYS:
        _delete(new, key)
    new["BITPIX"] = -32
    new["NAXIS"] = 2
    new["NAXIS1"], new["NAXIS2"] = int(shape[1]), int(shape[0])
    for i in range(3, naxis + 1):
        _delete(new, f"NAXIS{i}")
    _rescale_linear_wcs(new, factor, offset)
    _rescale_sip(new, factor)
    _rescale_iraf(new, factor, offset)
    new["IMSHRINK"] = (f"Image scaled down {factor}-fold by fitsmill",
                       "block means of valid pixels")
    return new


def shrinkWCSHeader(oldHeader, factor, convention="centre"):
    """DaCHS's name for :func:`shrink_header` (NAXIS = ceil(N / factor)).

    Parameters
    ----------
    oldHeader : fitsmill.header.Header or astropy.io.fits.Header
        The source image header.
    factor : int
        The block size.
    convention : {"centre", "dachs"}, optional
        ``"dachs"`` gives DaCHS's ``CRPIX/f + 0.5``; the default puts the
        WCS at the block centres (see the module documentation).

    Returns
    -------
    header
        The shrunk header.
    """
    return shrink_header(oldHeader, factor, convention=convention)


def _image_hdu(path, ext):
    """(header, HDU index) of the image the streaming reader shrinks.

    The same choice as :func:`fitsmill.scaledrows.iter_scaled_rows`:
    ``ext`` by index or EXTNAME, else the first HDU holding image data.  A
    tile-compressed image's header is the one of the image it stores.
    """
    from fitsmill.fitsfile import find_hdu, iter_hdus
    from fitsmill.header import Header

    if ext is not None:
        info = find_hdu(path, ext)
    else:
        info = next((i for i in iter_hdus(path)
                     if i.header.get("ZIMAGE") is True
                     or (i.data_size > 0 and (i.index == 0 or i.xtension == "IMAGE"))),
                    None)
        if info is None:
            raise ValueError(f"{path}: no HDU with image data")
    if info.header.get("ZIMAGE") is True:
        from astropy.io import fits

        with fits.open(path) as hdus:
            return Header.from_astropy(hdus[info.index].header), info.index
    return info.header, info.index


def iterScaledBytes(inFileName, factor, extraCards=None, *, ext=None, plane=0,
                    convention="centre"):
    """Stream a shrunk FITS file: header bytes, then big-endian rows.

    Unlike DaCHS's generator, the data are padded to a whole 2880-byte
    block, so the concatenated chunks are a valid FITS file.

    Parameters
    ----------
    inFileName : str or os.PathLike
        The source FITS file.
    factor : int
        The block size.
    extraCards : mapping, optional
        Keyword -> value (or (value, comment)) set in the shrunk header.
    ext : int or str, optional
        The image HDU; by default the first HDU holding image data.
    plane : int, optional
        The plane of a cube (NAXIS >= 3).
    convention : {"centre", "dachs"}, optional
        CRPIX convention (see the module documentation).

    Yields
    ------
    bytes
        The header (a multiple of 2880 bytes), then one chunk per image
        row (FITS order), then the padding.
    """
    from fitsmill.scaledrows import iter_scaled_rows

    header, index = _image_hdu(inFileName, ext)
    new = shrink_header(header, factor, convention=convention)
    for key, value in (extraCards or {}).items():
        new[key] = value
    width, height = int(new["NAXIS1"]), int(new["NAXIS2"])
    yield new.tobytes()
    rows = 0
    for row in iter_scaled_rows(inFileName, factor=factor, ext=index, plane=plane):
        if row.shape != (width,):
            raise ValueError(f"{inFileName}: shrunk row of {row.shape} pixels, "
                             f"expected {width}")
        rows += 1
        yield row.astype(">f4").tobytes()
    if rows != height:
        raise ValueError(f"{inFileName}: {rows} shrunk rows, expected {height}")
    yield b"\0" * (-(width * height * 4) % _BLOCK)


def shrink_fits(src, dest, factor, *, ext=None, plane=0, convention="centre",
                extra_cards=None):
    """Write a shrunk copy of a FITS image (block means, rescaled WCS).

    Parameters
    ----------
    src : str or os.PathLike
        The source FITS file (any BITPIX; BLANK, NaN and BSCALE/BZERO are
        handled by the streaming reader).
    dest : str or os.PathLike
        The output file; written to a temporary file in the same directory
        and renamed into place, so a reader never sees a partial file.
    factor : int
        The block size, >= 1.
    ext, plane, convention
        As for :func:`iterScaledBytes`.
    extra_cards : mapping, optional
        Extra header cards (keyword -> value or (value, comment)).

    Returns
    -------
    str
        ``dest``.
    """
    from fitsmill.atomic import atomic_write

    chunks = iterScaledBytes(src, factor, extra_cards, ext=ext, plane=plane,
                             convention=convention)
    atomic_write(dest, chunks, fsync=True)
    return os.fspath(dest)
