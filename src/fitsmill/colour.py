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
    _image, _style, apply_stretch, compute_limits, encode, normalize, to_uint8,
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
        float64 array of shape ``(h, w, 3)`` in ``[0, 1]``; NaN where any
        band is not finite.
    """
    if not (math.isfinite(Q) and Q >= 0):
        raise ValueError(f"Q must be a finite number >= 0, got {Q!r}")
    if not (math.isfinite(stretch) and stretch > 0):
        raise ValueError(f"stretch must be a positive number, got {stretch!r}")
    mins = np.broadcast_to(np.asarray(minimum, dtype=np.float64), (3,))
    bands, finite = _bands(r, g, b)
    x = np.empty(bands[0].shape + (3,), np.float64)
    for i, band in enumerate(bands):
        np.subtract(band, mins[i], out=x[..., i])
    if finite is not None:
        x[~finite] = 0.0
    intensity = x.mean(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        if Q > 0:
            mapped = np.arcsinh(intensity * (Q / stretch)) * (0.1 / math.asinh(0.1 * Q))
            factor = np.where(intensity > 0, mapped / intensity, 0.0)
        else:
            factor = np.where(intensity > 0, 1.0 / stretch, 0.0)
    x *= factor[..., None]
    np.maximum(x, 0.0, out=x)
    peak = x.max(axis=2)
    over = peak > 1.0
    x[over] /= peak[over][:, None]
    if finite is not None:
        x[~finite] = np.nan
    return x


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
    if style.invert:
        np.subtract(1.0, x, out=x)
    pixels = to_uint8(x, nan_value=style.nan_grey)
    alpha = None
    if style.nan_transparent:
        alpha = ~np.isnan(x[..., 0])
    return encode(pixels, style.format, style.quality, alpha)
