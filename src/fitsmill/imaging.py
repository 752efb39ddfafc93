"""Preview pictures from 2-D arrays: limits, stretches, 8/16-bit, JPEG/PNG.

The pipeline, each step a public function so library users can compose
their own: :func:`compute_limits` (finite pixels only) ->
:func:`normalize` to ``[0, 1]`` -> :func:`apply_stretch` -> optional
inversion -> :func:`to_uint8` / :func:`to_uint16` -> :func:`encode`.
:func:`render` runs it all for a :class:`PreviewStyle` with the compiled
kernel (``csrc/fm_render.c``): the limits, then one pass from pixel values
to grey levels, the linear stretch as a fused multiply-add and, for 8-bit
output, the other curves through a cached look-up table.  Histogram
equalisation and the other curves in 16 bits are stretched in NumPy and
only quantised in the kernel.

Arrays are in FITS order: row 0 is the bottom of the picture.  Non-finite
pixels never enter the limits and are painted in the style's NaN grey (or
transparent).

DaCHS's ``imgtools`` names (:func:`jpegFromNumpyArray`,
:func:`colorJpegFromNumpyArrays`, :func:`scaleNumpyArray`) keep DaCHS's look
(global min/max, power 0.25, truncation to 8 bits, JPEG quality 75) but give
a sensible picture for constant images and NaNs.
"""

import functools
import io
import math
import sys

import numpy as np
from PIL import Image

from fitsmill import _render
from fitsmill.limits import _real_vector, minmax_limits, percentile_limits, zscale_limits
from fitsmill.previewstyle import LOOKS, PreviewStyle, add_style_arguments, style_from_args

__all__ = [
    "PreviewStyle", "LOOKS", "add_style_arguments", "style_from_args",
    "compute_limits", "normalize", "apply_stretch", "to_uint8", "to_uint16",
    "encode", "render", "render_rgb",
    "jpegFromNumpyArray", "colorJpegFromNumpyArrays", "scaleNumpyArray",
]

# Quantisation levels of histogram equalisation (finer than any output).
_HISTEQ_LEVELS = 65536
# PIL's default JPEG quality, which DaCHS's previews use.
_DACHS_QUALITY = 75

_DEFAULT_STYLE = PreviewStyle()


def _style(style, overrides):
    if style is None:
        style = _DEFAULT_STYLE
    elif not isinstance(style, PreviewStyle):
        raise TypeError(f"style must be a PreviewStyle, not {type(style).__name__}")
    return style.replace(**overrides)


def _image(image, name="image"):
    # Floating input is used as it is (no copy); integers become float32,
    # which is exact for 16-bit data and ample for a picture otherwise.
    # Masked pixels of a masked array are treated like NaN.  (Asking
    # np.ma would import numpy.ma, 30 ms; a masked array means it is loaded.)
    ma = sys.modules.get("numpy.ma")
    if ma is not None and isinstance(image, ma.MaskedArray):
        image = image.astype(np.result_type(image.dtype, np.float32)).filled(np.nan)
    arr = np.asarray(image)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if arr.dtype.kind == "f":
        return arr
    if arr.dtype.kind in "biu":
        return arr.astype(np.float32)
    raise TypeError(f"{name} must hold real numbers, not {arr.dtype}")


def _finite_mask(arr):
    # None when every pixel is finite, which lets later steps skip masking.
    finite = np.isfinite(arr)
    return None if finite.all() else finite


def compute_limits(image, style=None, finite=None, **overrides):
    """The values shown black and white, from the finite pixels.

    Parameters
    ----------
    image : array_like
        2-D real array.
    style : PreviewStyle, optional
        Its ``limits`` (and the parameters of that method) are used.
    finite : numpy.ndarray of bool or True, optional
        ``np.isfinite(image)`` if the caller has it already; True if every
        pixel is known to be finite.
    **overrides
        Style fields to change, e.g. ``limits="zscale"``.

    Returns
    -------
    (float, float)
        ``(vmin, vmax)``; ``(nan, nan)`` if no pixel is finite.
    """
    style = _style(style, overrides)
    arr = np.asarray(image)
    if style.limits == "percentile":
        return percentile_limits(arr, *style.percentiles, finite=finite)
    if style.limits == "minmax":
        return minmax_limits(arr, finite=finite)
    if style.limits == "zscale":
        return zscale_limits(
            arr, n_samples=style.n_samples, contrast=style.contrast,
            max_reject=style.max_reject, min_npixels=style.min_npixels,
            krej=style.krej, max_iterations=style.max_iterations, finite=finite)
    return float(style.vmin), float(style.vmax)


def normalize(image, vmin, vmax, finite=None, out=None):
    """Map ``[vmin, vmax]`` linearly to ``[0, 1]``, clipping outside.

    When ``vmin == vmax`` pixels above it are 1 and the others 0 (a flat
    sky with a few stars stays readable).  Non-finite pixels, and every
    pixel when the limits are not finite, come out as NaN.

    Parameters
    ----------
    image : array_like
        Real array.
    vmin, vmax : float
        Limits with ``vmin <= vmax``.
    finite : numpy.ndarray of bool or True, optional
        ``np.isfinite(image)``; True when every pixel is known to be
        finite; None to compute it.
    out : numpy.ndarray, optional
        float32 array of the image's shape to write into.

    Returns
    -------
    numpy.ndarray
        float32 array in ``[0, 1]`` or NaN.
    """
    arr = np.asarray(image)
    if out is None:
        out = np.empty(arr.shape, np.float32)
    if not (math.isfinite(vmin) and math.isfinite(vmax)):
        out.fill(np.nan)
        return out
    if vmin > vmax:
        raise ValueError(f"vmin ({vmin}) is above vmax ({vmax})")
    with np.errstate(invalid="ignore"):
        if vmax > vmin:
            np.subtract(arr, vmin, out=out, casting="unsafe")
            np.multiply(out, 1.0 / (vmax - vmin), out=out)
            np.clip(out, 0.0, 1.0, out=out)
        else:
            np.greater(arr, vmin, out=out, casting="unsafe")
    if finite is None:
        finite = np.isfinite(arr)
    if finite is not True:
        np.copyto(out, np.nan, where=~finite)
    return out


def apply_stretch(x, stretch="linear", gamma=0.25, a=None, out=None):
    """Apply a tone curve to values normalised to ``[0, 1]``.

    Parameters
    ----------
    x : array_like
        Values in ``[0, 1]``; NaN stays NaN.
    stretch : {"linear", "sqrt", "power", "log", "asinh", "histeq"}
        ``x``; ``sqrt(x)``; ``x**gamma``; ``log(a*x + 1)/log(a + 1)``;
        ``asinh(x/a)/asinh(1/a)``; or histogram equalisation: with values
        quantised to 1/65535, ``(C(x) - C(min)) / (N - C(min))`` where
        ``C(x)`` counts the finite values not above ``x`` and ``N`` all
        finite values (a constant input maps to 0).
    gamma : float
        Exponent of ``"power"``.
    a : float, optional
        Softening of ``"log"`` (default 1000) and ``"asinh"`` (default 0.1).
    out : numpy.ndarray, optional
        Where to write (may be ``x`` itself).

    Returns
    -------
    numpy.ndarray
        The stretched values, again in ``[0, 1]``.
    """
    x = np.asarray(x)
    if out is None:
        out = np.array(x, dtype=np.result_type(x, np.float32), copy=True)
    elif out is not x:
        np.copyto(out, x)
    if stretch == "linear":
        pass
    elif stretch == "sqrt":
        np.sqrt(out, out=out)
    elif stretch == "power":
        if gamma == 0.5:
            np.sqrt(out, out=out)
        elif gamma == 0.25:
            np.sqrt(out, out=out)
            np.sqrt(out, out=out)
        else:
            np.power(out, gamma, out=out)
    elif stretch == "log":
        a = 1000.0 if a is None else a
        np.multiply(out, a, out=out)
        np.log1p(out, out=out)
        np.multiply(out, 1.0 / math.log1p(a), out=out)
    elif stretch == "asinh":
        a = 0.1 if a is None else a
        np.multiply(out, 1.0 / a, out=out)
        np.arcsinh(out, out=out)
        np.multiply(out, 1.0 / math.asinh(1.0 / a), out=out)
    elif stretch == "histeq":
        _histeq(out)
    else:
        raise ValueError(f"unknown stretch {stretch!r}")
    return out


def _histeq(w):
    valid = ~np.isnan(w)
    top = _HISTEQ_LEVELS - 1
    levels = np.zeros(w.shape, np.intp)
    np.clip(w, 0.0, 1.0, out=w)
    np.multiply(w, top, out=w)
    np.add(w, 0.5, out=w)
    np.copyto(levels, w, where=valid, casting="unsafe")
    counts = np.bincount(levels[valid].ravel(), minlength=_HISTEQ_LEVELS)
    cdf = np.cumsum(counts, dtype=np.float64)
    # The classic form: the darkest level maps to 0, the brightest to 1,
    # and a picture with a single level (constant image) stays black.
    darkest = cdf[np.flatnonzero(counts)[0]] if cdf[-1] else 0.0
    span = cdf[-1] - darkest
    table = np.zeros(cdf.shape, w.dtype) if span == 0 else ((cdf - darkest) / span).astype(w.dtype)
    np.copyto(w, table[levels], where=valid)


def _levels(x, dtype, nan_value, invert=False):
    # Values in [0, 1] (clipped; NaN -> nan_value) to levels, in the
    # kernel: trunc(x * top + 0.5) in the values' own float type.
    w = np.asarray(x, dtype=np.float32 if dtype == np.uint8 else np.float64)
    levels = np.empty(w.shape, dtype)
    _render.map_levels(_real_vector(w), levels.reshape(-1), _render.MAP_UNIT,
                       0.0, 0.0, invert, nan_value)
    return levels


def to_uint8(x, nan_value=0):
    """Round values in ``[0, 1]`` to 0-255.

    Parameters
    ----------
    x : array_like
        Values in ``[0, 1]`` (clipped if outside); NaN allowed.  Computed
        in float32.
    nan_value : int
        Level of NaN values, 0-255.

    Returns
    -------
    numpy.ndarray
        uint8 array of the same shape.
    """
    return _levels(x, np.uint8, nan_value)


def to_uint16(x, nan_value=0):
    """Round values in ``[0, 1]`` to 0-65535.

    Parameters
    ----------
    x : array_like
        Values in ``[0, 1]`` (clipped if outside); NaN allowed.  Computed
        in float64.
    nan_value : int
        Level of NaN values, 0-65535.

    Returns
    -------
    numpy.ndarray
        uint16 array of the same shape.
    """
    return _levels(x, np.uint16, nan_value)


def encode(pixels, format="jpeg", quality=85, alpha=None):
    """Encode pixels in FITS order (row 0 at the bottom) as JPEG or PNG.

    Parameters
    ----------
    pixels : numpy.ndarray
        uint8 ``(h, w)`` greyscale, uint8 ``(h, w, 3)`` RGB, or uint16
        ``(h, w)`` greyscale (PNG only).
    format : {"jpeg", "png"}
    quality : int
        JPEG quality.
    alpha : numpy.ndarray of bool, optional
        ``(h, w)``, False where the picture is transparent (PNG only).

    Returns
    -------
    bytes
    """
    pixels = np.asarray(pixels)
    if pixels.dtype == np.uint16:
        if format != "png" or pixels.ndim != 2 or alpha is not None:
            raise ValueError("16-bit pixels can only be written as greyscale PNG "
                             "without transparency")
        mode, data = "I;16", np.ascontiguousarray(pixels, dtype="<u2")
    elif pixels.dtype == np.uint8 and pixels.ndim in (2, 3):
        mode = "L" if pixels.ndim == 2 else "RGB"
        if pixels.ndim == 3 and pixels.shape[2] != 3:
            raise ValueError(f"colour pixels must have 3 bands, got shape {pixels.shape}")
        data = pixels
        if alpha is not None:
            if format != "png":
                raise ValueError("transparency needs PNG")
            planes = [pixels] if pixels.ndim == 2 else [pixels[..., i] for i in range(3)]
            data = np.dstack(planes + [np.where(alpha, 255, 0).astype(np.uint8)])
            mode += "A"
        data = np.ascontiguousarray(data)
    else:
        raise ValueError(f"cannot encode pixels of dtype {pixels.dtype}, shape {pixels.shape}")
    h, w = pixels.shape[:2]
    # Stride -1 hands Pillow the rows bottom-up: the FITS flip without a copy.
    picture = Image.frombuffer(mode, (w, h), data, "raw", mode, 0, -1)
    if format == "jpeg":
        # The JPEG encoder run through tobytes writes the very bytes of
        # picture.save(f, "JPEG", quality=quality) (a test compares them)
        # without save's plugin and stream set-up: ~35 us less a preview.
        return picture.tobytes("jpeg", mode, quality)
    if format != "png":
        raise ValueError(f"unknown picture format {format!r}")
    buf = io.BytesIO()
    picture.save(buf, "PNG")
    return buf.getvalue()


def _map_grey(arr, style):
    # Limits, stretch, inversion and quantisation of one band: levels in
    # FITS order, uint8 or uint16 by the style.
    values = _real_vector(arr)
    vmin, vmax = compute_limits(values, style)
    bits16 = style.format == "png" and style.png_bits == 16
    levels = np.empty(arr.shape, np.uint16 if bits16 else np.uint8)
    nan_level = style.nan_grey * 257 if bits16 else style.nan_grey
    if not (math.isfinite(vmin) and math.isfinite(vmax)):
        levels.fill(nan_level)
        return levels
    if style.stretch == "linear":
        _render.map_levels(values, levels.reshape(-1), _render.MAP_LINEAR,
                           vmin, vmax, style.invert, nan_level)
    elif not bits16 and style.stretch in _TABLE_STRETCHES:
        table = _stretch_table(style.stretch, style.gamma, style.softening, style.invert)
        _render.map_levels(values, levels.reshape(-1), _render.MAP_TABLE,
                           vmin, vmax, False, nan_level, table)
    else:
        w = normalize(arr, vmin, vmax, out=np.empty(arr.shape,
                                                    np.float64 if bits16 else np.float32))
        with np.errstate(invalid="ignore"):
            apply_stretch(w, style.stretch, gamma=style.gamma, a=style.softening, out=w)
        levels = _levels(w, levels.dtype, nan_level, style.invert)
    return levels


# Stretches that 8-bit output computes through a look-up table.
_TABLE_STRETCHES = ("sqrt", "power", "log", "asinh")
# Table size; entries are indexed by sqrt(x), which keeps the steep start of
# x**0.25 and log(1000x + 1) within half an output level.
_TABLE_SIZE = 65536


@functools.lru_cache(maxsize=32)
def _stretch_table(stretch, gamma, a, invert):
    # Transcendental functions cost ~10x a multiply per pixel; an 8-bit
    # result only needs them once per table entry.
    s = np.arange(_TABLE_SIZE, dtype=np.float64) / (_TABLE_SIZE - 1)
    y = apply_stretch(s * s, stretch, gamma=gamma, a=a)
    if invert:
        y = 1.0 - y
    table = np.floor(np.clip(y, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    table.flags.writeable = False
    return table


def render(image, style=None, **overrides):
    """Render a 2-D array as an encoded preview picture.

    Parameters
    ----------
    image : array_like
        2-D real array in FITS order (row 0 = bottom of the picture), for
        instance the output of ``fitsmill.scaledrows.scaled_image``.
    style : PreviewStyle, optional
        The look; default ``PreviewStyle()`` (percentile 0.5/99.5 limits,
        linear, JPEG quality 85).
    **overrides
        Style fields to change for this call, e.g. ``stretch="asinh"``.

    Returns
    -------
    bytes
        The JPEG or PNG file contents.

    Notes
    -----
    Precision: the limits are exact (NumPy's percentiles of the finite
    pixels).  8-bit levels are computed in float32 (the pixel value minus
    the black point in the pixels' own type), 16-bit linear levels in
    float64; 8-bit curves other than linear come from a 65536-entry table
    and may differ by one level from the exact curve.  Near the black point
    of a float32 image the steep curves (power, log, asinh) magnify the
    float32 rounding of that subtraction.

    Examples
    --------
    >>> import numpy as np
    >>> from fitsmill.imaging import render
    >>> jpeg = render(np.random.default_rng(0).normal(size=(64, 64)))
    >>> jpeg[:2]
    b'\\xff\\xd8'
    """
    style = _style(style, overrides)
    arr = _image(image)
    pixels = _map_grey(arr, style)
    alpha = np.isfinite(arr) if style.nan_transparent else None
    return encode(pixels, style.format, style.quality, alpha)


def render_rgb(r, g, b, style=None, method="lupton", Q=8.0, stretch=5.0, minimum=0.0,
               **overrides):
    """Render three bands as a colour picture.

    See :func:`fitsmill.colour.render_rgb` (re-exported here).
    """
    from fitsmill.colour import render_rgb as _render_rgb
    return _render_rgb(r, g, b, style, method=method, Q=Q, stretch=stretch,
                       minimum=minimum, **overrides)


# --- DaCHS imgtools names ---------------------------------------------------

def _dachs_levels(pixels, gamma):
    # DaCHS's normalisation, ((p - min)/(max - min))**gamma * 255 truncated
    # to 8 bits, computed in the same dtype and order so finite data gives
    # DaCHS's bytes; NaNs are left out of min/max and painted black, and a
    # constant image is black instead of undefined bytes.
    arr = np.asarray(pixels)
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"pixels must be a non-empty 2-D array, got shape {arr.shape}")
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    finite = _finite_mask(arr)
    lo, hi = minmax_limits(arr, finite=True if finite is None else finite)
    if not hi > lo:
        return np.zeros(arr.shape, np.uint8)
    lo, hi = arr.dtype.type(lo), arr.dtype.type(hi)
    with np.errstate(invalid="ignore"):
        w = ((arr - lo) / (hi - lo)) ** gamma * 255
    if finite is not None:
        w[~finite] = 0
    return w.astype(np.uint8)


def jpegFromNumpyArray(pixels, gamma=0.25):
    """DaCHS's greyscale JPEG preview of an array (``imgtools`` name).

    Global min/max of the finite pixels, power ``gamma``, truncation to 8
    bits, JPEG quality 75, FITS row 0 at the bottom.  Unlike DaCHS, NaN
    pixels are black and do not spoil the picture, and a constant image
    is black rather than garbage.

    Parameters
    ----------
    pixels : array_like
        2-D real array in FITS order.
    gamma : float
        Exponent of the power stretch.

    Returns
    -------
    bytes
        JPEG file contents.
    """
    return encode(_dachs_levels(pixels, gamma), "jpeg", _DACHS_QUALITY)


def colorJpegFromNumpyArrays(rPix, gPix, bPix, gamma=0.25):
    """DaCHS's colour JPEG from three arrays (``imgtools`` name).

    Each band is normalised on its own, as in :func:`jpegFromNumpyArray`.

    Parameters
    ----------
    rPix, gPix, bPix : array_like
        2-D real arrays of one shape, FITS order.
    gamma : float
        Exponent of the power stretch.

    Returns
    -------
    bytes
        JPEG file contents.
    """
    bands = [_dachs_levels(p, gamma) for p in (rPix, gPix, bPix)]
    if len({band.shape for band in bands}) != 1:
        raise ValueError(f"the three bands differ in shape: {[b.shape for b in bands]}")
    return encode(np.dstack(bands), "jpeg", _DACHS_QUALITY)


def scaleNumpyArray(arr, destSize):
    """Shrink an array by block means, as DaCHS's ``imgtools.scaleNumpyArray``.

    The factor is DaCHS's ``max(shape) // destSize + 1``; remainder rows and
    columns are dropped.  Each output pixel is the mean of the finite
    pixels of its block (NaN if there are none); on finite data this is
    DaCHS's result.

    Parameters
    ----------
    arr : array_like
        2-D real array.
    destSize : int
        The size the longer side must stay below.

    Returns
    -------
    numpy.ndarray
        float32 array of shape ``(shape0 // factor, shape1 // factor)``.
    """
    a = np.asarray(arr)
    if a.ndim != 2:
        raise ValueError(f"arr must be 2-D, got shape {a.shape}")
    if int(destSize) < 1:
        raise ValueError(f"destSize must be positive, got {destSize!r}")
    factor = max(a.shape) // int(destSize) + 1
    h, w = a.shape[0] // factor, a.shape[1] // factor
    blocks = a[:h * factor, :w * factor].reshape(h, factor, w, factor)
    finite = np.isfinite(blocks)
    if finite.all():
        return blocks.mean(axis=(1, 3), dtype=np.float64).astype(np.float32)
    sums = np.where(finite, blocks, 0).sum(axis=(1, 3), dtype=np.float64)
    counts = finite.sum(axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sums / counts).astype(np.float32)
