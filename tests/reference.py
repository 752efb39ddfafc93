"""Plain-NumPy reference implementations (the slow oracles of the kernels)
and a raw FITS image writer for generating test data.

Nothing here shares code with fitsmill: the references are written the
obvious way, so a disagreement points at the fast code.
"""

import numpy as np
from astropy.io import fits

__all__ = ["block_mean", "dachs_scaled_rows", "write_raw_image", "RAW_DTYPES",
           "finite_percentiles", "linear_levels", "table_levels", "unit_levels",
           "stretch_curve"]

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


# --- preview rendering (the oracles of csrc/fm_render.c) --------------------

def finite_percentiles(image, lower, upper):
    """``np.percentile`` of the finite values at ``lower`` and ``upper``
    percent, ``(nan, nan)`` when there are none."""
    a = np.asarray(image, dtype=np.float64)
    finite = a[np.isfinite(a)]
    if finite.size == 0:
        return np.nan, np.nan
    lo, hi = np.percentile(finite, [lower, upper])
    return float(lo), float(hi)


def linear_levels(values, vmin, vmax, invert=False, bits=8, nan_level=0):
    """Grey levels of the linear mapping as fm_render.h spells it out.

    With ``s = top / (vmax - vmin)``: ``trunc(clip(v * s + (0.5 - vmin * s),
    0, top + 0.5))``, or ``v * -s + (top + 0.5 + vmin * s)`` when inverting;
    the product in the values' float type, the sum in float32 for 8 bits
    and float64 for 16.  ``vmin == vmax`` is a threshold.  Non-finite
    values get ``nan_level``.
    """
    v = np.asarray(values)
    top = 65535 if bits == 16 else 255
    finite = np.isfinite(v)
    if vmax == vmin:
        above = (v > vmin) != bool(invert)
        levels = np.where(above, top, 0)
    else:
        s = top / (vmax - vmin)
        offset = top + 0.5 + vmin * s if invert else 0.5 - vmin * s
        scale = -s if invert else s
        with np.errstate(invalid="ignore", over="ignore"):
            product = v * v.dtype.type(scale)
            if bits == 8:
                w = product.astype(np.float32) + np.float32(offset)
            else:
                w = product.astype(np.float64) + offset
            w = np.where(finite, np.clip(w, 0, top + 0.5), 0)
        levels = w.astype(np.int64)
    return np.where(finite, levels, nan_level).astype(np.uint16 if bits == 16 else np.uint8)


def table_levels(values, vmin, vmax, table, nan_level=0):
    """8-bit levels through a look-up table indexed by the square root of
    the normalised value, as fm_render.h spells it out (float32:
    ``u = clip((v - vmin) * (1 / (vmax - vmin)), 0, 1)``, index
    ``trunc(sqrt(u) * (len(table) - 1) + 0.5)``)."""
    v = np.asarray(values)
    finite = np.isfinite(v)
    with np.errstate(invalid="ignore", over="ignore"):
        if vmax == vmin:
            u = (v > vmin).astype(np.float32)
        else:
            u = (v - v.dtype.type(vmin)).astype(np.float32) * np.float32(1.0 / (vmax - vmin))
        u = np.where(finite, np.clip(u, 0, 1), 0).astype(np.float32)
    index = (np.sqrt(u) * np.float32(len(table) - 1) + np.float32(0.5)).astype(np.int64)
    return np.where(finite, np.asarray(table)[index], nan_level).astype(np.uint8)


def unit_levels(u, bits=8, invert=False, nan_level=0):
    """Levels of values in [0, 1] (clipped): ``trunc(u * top + 0.5)`` in the
    values' float type, ``1 - u`` first when inverting; NaN gets
    ``nan_level``."""
    u = np.asarray(u)
    top = u.dtype.type(65535 if bits == 16 else 255)
    nan = np.isnan(u)
    with np.errstate(invalid="ignore"):
        c = np.clip(np.where(nan, 0, u), 0, 1).astype(u.dtype)
        if invert:
            c = (1 - c).astype(u.dtype)
        levels = (c * top + u.dtype.type(0.5)).astype(np.int64)
    return np.where(nan, nan_level, levels).astype(np.uint16 if bits == 16 else np.uint8)


def stretch_curve(x, stretch, gamma=0.25, a=None):
    """The tone curves on values in [0, 1], written from their formulas."""
    x = np.asarray(x, dtype=np.float64)
    if stretch == "linear":
        return x
    if stretch == "sqrt":
        return np.sqrt(x)
    if stretch == "power":
        return x ** gamma
    if stretch == "log":
        a = 1000.0 if a is None else a
        return np.log(a * x + 1) / np.log(a + 1)
    if stretch == "asinh":
        a = 0.1 if a is None else a
        return np.arcsinh(x / a) / np.arcsinh(1 / a)
    raise ValueError(stretch)
