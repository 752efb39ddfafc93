"""Plain-NumPy reference implementations (the slow oracles of the kernels)
and a raw FITS image writer for generating test data.

Nothing here shares code with fitsmill: the references are written the
obvious way, so a disagreement points at the fast code.
"""

import numpy as np
from astropy.io import fits

__all__ = ["block_mean", "dachs_scaled_rows", "write_raw_image", "RAW_DTYPES"]

# FITS BITPIX -> big-endian dtype of the stored values.
RAW_DTYPES = {8: ">u1", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}


def block_mean(raw, factor, blank=None, bscale=1.0, bzero=0.0):
    """Mean of the valid pixels of every ``factor x factor`` block.

    Parameters
    ----------
    raw : array_like, 1-D or 2-D
        Stored (unscaled) values, FITS row 0 first.
    factor : int
    blank : int, optional
        Integer value that marks an invalid pixel.  NaN is always invalid.
    bscale, bzero : float
        Applied to the mean, in float64.

    Returns
    -------
    numpy.ndarray
        float32, shape ``(ceil(h / factor), ceil(w / factor))``; edge blocks
        use the pixels present, blocks without valid pixels are NaN.
    """
    a = np.atleast_2d(np.asarray(raw))
    values = a.astype(np.float64)
    valid = ~np.isnan(values)
    if blank is not None and a.dtype.kind in "iu":
        valid &= a != blank
    h, w = a.shape
    oh, ow = -(-h // factor), -(-w // factor)
    sums = np.zeros((oh * factor, ow * factor))
    counts = np.zeros((oh * factor, ow * factor))
    sums[:h, :w] = np.where(valid, values, 0.0)
    counts[:h, :w] = valid
    sums = sums.reshape(oh, factor, ow, factor).sum(axis=(1, 3))
    counts = counts.reshape(oh, factor, ow, factor).sum(axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts > 0, sums / counts, np.nan)
    return (mean * bscale + bzero).astype(np.float32)


def dachs_scaled_rows(raw, factor, bscale=1.0, bzero=0.0):
    """A NumPy transcription of DaCHS's ``iterScaledRows`` fast path.

    Rows are converted to float32 and scaled in float32 when BSCALE/BZERO
    are not trivial (``iterFITSRows``), summed ``factor`` at a time into a
    float32 vector, divided by factor, cut to whole blocks, divided by
    factor again and summed group-wise; remainder rows are never read.

    Returns
    -------
    list of numpy.ndarray
        The float32 rows DaCHS yields.
    """
    a = np.atleast_2d(np.asarray(raw))
    h, w = a.shape
    scaled = bzero != 0 or bscale != 1
    rows = []
    for r in range(h):
        row = a[r]
        if scaled:
            row = row.astype(np.float32) * np.float32(bscale) + np.float32(bzero)
        rows.append(row)
    out = []
    dest = w // factor
    for band in range(h // factor):
        acc = np.zeros(w, np.float32)
        for k in range(factor):
            acc += rows[band * factor + k]
        acc /= factor
        acc = acc[:dest * factor] / factor
        groups = acc.reshape(dest, factor)
        total = np.zeros(dest, np.float32)
        for column in groups.T:
            total = total + column
        out.append(total.astype(np.float32))
    return out


def write_raw_image(path, raw, cards=(), extension=None):
    """Write ``raw`` (stored values, any shape, FITS axis order reversed as
    in NumPy) unchanged into a FITS file.

    Parameters
    ----------
    path : str or os.PathLike
    raw : numpy.ndarray
        Values of a dtype in ``RAW_DTYPES`` (native or big-endian); written
        byte for byte after conversion to big-endian, never rescaled.
    cards : iterable of (key, value)
        Extra cards (BSCALE, BZERO, BLANK, ...) for the image header.
    extension : str, optional
        Write an empty primary and the image as an IMAGE extension with
        this EXTNAME.
    """
    big = np.dtype(raw.dtype).newbyteorder(">")
    bitpix = next(b for b, d in RAW_DTYPES.items() if np.dtype(d) == big)
    data = np.ascontiguousarray(raw, dtype=big)
    header = fits.Header()
    if extension is None:
        header["SIMPLE"] = True
    else:
        header["XTENSION"] = "IMAGE"
    header["BITPIX"] = bitpix
    header["NAXIS"] = data.ndim
    for i, n in enumerate(reversed(data.shape), 1):
        header[f"NAXIS{i}"] = n
    if extension is not None:
        header["PCOUNT"] = 0
        header["GCOUNT"] = 1
        header["EXTNAME"] = extension
    for key, value in cards:
        header[key] = value
    body = data.tobytes()
    pad = -len(body) % 2880
    with open(path, "wb") as f:
        if extension is not None:
            primary = fits.Header([("SIMPLE", True), ("BITPIX", 8), ("NAXIS", 0),
                                   ("EXTEND", True)])
            f.write(primary.tostring().encode("ascii"))
        f.write(header.tostring().encode("ascii"))
        f.write(body + b"\0" * pad)
