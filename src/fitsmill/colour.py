"""Colour previews from three bands.

Two methods:

``"lupton"``
    The asinh scheme of Lupton et al. (2004, PASP 116, 133), with the
    parameters of astropy's ``make_lupton_rgb`` (``minimum``, ``stretch``,
    ``Q``): the stretch acts on the mean intensity of the bands and each
    band is scaled by the same factor, so colours survive in bright,
    saturated sources.
``"per-band"``
    Each band gets the style's limits and stretch on its own (what most
    quick-look tools do; colour balance then follows the data).

A pixel that is not finite in any band is painted in the style's NaN grey
(or made transparent).  Arrays are in FITS order (row 0 at the bottom).
"""

import math

import numpy as np

from fitsmill.imaging import (
    _image, _levels, _style, apply_stretch, compute_limits, encode, normalize,
)

__all__ = ["lupton_rgb", "per_band_rgb", "render_rgb", "METHODS"]

#: names accepted for ``render_rgb(method=...)``
METHODS = ("lupton", "per-band")


def _bands(r, g, b):
    bands = [_image(x, name) for x, name in ((r, "r"), (g, "g"), (b, "b"))]
    shapes = {x.shape for x in bands}
    if len(shapes) != 1:
        raise ValueError(f"the three bands differ in shape: {[x.shape for x in bands]}")
    finite = np.isfinite(bands[0]) & np.isfinite(bands[1]) & np.isfinite(bands[2])
    return bands, (None if finite.all() else finite)


def lupton_rgb(r, g, b, Q=8.0, stretch=5.0, minimum=0.0):
    """Lupton et al. (2004) asinh colour mapping to ``[0, 1]``.

    With ``x_c = band_c - minimum_c`` and the intensity ``I`` the mean of
    the three ``x_c``, every band is multiplied by ``f(I)/I`` where
    ``f(I) = asinh(Q*I/stretch) * 0.1/asinh(0.1*Q)`` (``I/stretch`` for
    ``Q = 0``), negative results are set to 0, and a pixel whose largest
    band exceeds 1 is divided by that band, keeping its colour.  These are
    the numbers of astropy's ``make_lupton_rgb`` before its conversion to
    8 bits (astropy substitutes ``Q = 0.1`` for ``Q = 0``; here ``Q = 0``
    is the exact linear limit).

    Parameters
    ----------
    r, g, b : array_like
        2-D real arrays of one shape.
    Q : float
        Asinh softening, ``>= 0``.
    stretch : float
        Linear stretch, ``> 0``.
    minimum : float or sequence of 3 floats
        Value(s) shown black.

    Returns
    -------
    numpy.ndarray
        float32 array of shape ``(h, w, 3)`` in ``[0, 1]``; NaN where any
        band is not finite.
    """
    if not (math.isfinite(Q) and Q >= 0):
        raise ValueError(f"Q must be a finite number >= 0, got {Q!r}")
    if not (math.isfinite(stretch) and stretch > 0):
        raise ValueError(f"stretch must be a positive number, got {stretch!r}")
    mins = np.broadcast_to(np.asarray(minimum, dtype=np.float64), (3,))
    bands, finite = _bands(r, g, b)
    # Three contiguous planes: reductions over a length-3 last axis are slow.
    planes = [np.subtract(band, m, dtype=np.float32) for band, m in zip(bands, mins)]
    if finite is not None:
        for p in planes:
            p[~finite] = 0.0
    intensity = planes[0] + planes[1]
    intensity += planes[2]
    intensity /= 3.0
    positive = intensity > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        if Q > 0:
            factor = _asinh(intensity * np.float32(Q / stretch))
            factor *= np.float32(0.1 / math.asinh(0.1 * Q))
            factor /= intensity
        else:
            factor = np.full(intensity.shape, 1.0 / stretch, np.float32)
    factor[~positive] = 0.0
    for p in planes:
        p *= factor
        np.maximum(p, 0.0, out=p)
    # A pixel brighter than white keeps its colour: divide by its peak band.
    peak = np.maximum(np.maximum(planes[0], planes[1]), planes[2])
    np.maximum(peak, 1.0, out=peak)
    for p in planes:
        p /= peak
    x = np.stack(planes, axis=-1)
    if finite is not None:
        x[~finite] = np.nan
    return x


def _asinh(z):
    # asinh(z) = log(z + sqrt(z*z + 1)), in place on z: NumPy's float32 log
    # and sqrt are vectorised, its arcsinh is not (about 6x slower).  The
    # absolute error (a few 1e-8) is far below an 8-bit step.
    w = np.multiply(z, z)
    w += 1.0
    np.sqrt(w, out=w)
    z += w
    return np.log(z, out=z)


def per_band_rgb(r, g, b, style=None, **overrides):
    """Map each band to ``[0, 1]`` with its own limits and the style's stretch.

    Parameters
    ----------
    r, g, b : array_like
        2-D real arrays of one shape.
    style : PreviewStyle, optional
        Limits and stretch (``invert`` is applied by :func:`render_rgb`).
    **overrides
        Style fields to change.

    Returns
    -------
    numpy.ndarray
        float32 array ``(h, w, 3)`` in ``[0, 1]``; NaN where any band is
        not finite.
    """
    style = _style(style, overrides)
    bands, finite = _bands(r, g, b)
    out = np.empty(bands[0].shape + (3,), np.float32)
    for i, band in enumerate(bands):
        own = np.isfinite(band)
        vmin, vmax = compute_limits(band, style, finite=True if own.all() else own)
        w = normalize(band, vmin, vmax, finite=own)
        with np.errstate(invalid="ignore"):
            apply_stretch(w, style.stretch, gamma=style.gamma, a=style.softening, out=w)
        out[..., i] = w
    if finite is not None:
        out[~finite] = np.nan
    return out


def render_rgb(r, g, b, style=None, method="lupton", Q=8.0, stretch=5.0, minimum=0.0,
               **overrides):
    """Render three bands as a colour JPEG or PNG.

    Parameters
    ----------
    r, g, b : array_like
        2-D real arrays of one shape, FITS order (row 0 at the bottom).
    style : PreviewStyle, optional
        Format, quality, NaN grey/transparency and ``invert`` always apply;
        limits and stretch apply to ``method="per-band"`` only.
    method : {"lupton", "per-band"}
    Q, stretch, minimum
        Parameters of :func:`lupton_rgb`.
    **overrides
        Style fields to change.

    Returns
    -------
    bytes
        The encoded picture (colour PNG is always 8 bits per band).
    """
    style = _style(style, overrides)
    if style.format == "png" and style.png_bits == 16:
        raise ValueError("colour previews are 8 bits per band; use png_bits=8")
    if method == "lupton":
        x = lupton_rgb(r, g, b, Q=Q, stretch=stretch, minimum=minimum)
    elif method == "per-band":
        x = per_band_rgb(r, g, b, style)
    else:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    pixels = _levels(x, np.uint8, style.nan_grey, style.invert)
    alpha = None
    if style.nan_transparent:
        alpha = ~np.isnan(x[..., 0])
    return encode(pixels, style.format, style.quality, alpha)
