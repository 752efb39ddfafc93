"""Display limits: which pixel values map to black and to white.

Every function here ignores non-finite pixels (NaN, +-inf), so a NaN patch,
NaN columns or a hot pixel set to inf never spoil the limits.  An image
without a single finite pixel has the limits ``(nan, nan)``; the renderer
paints such an image entirely in the NaN grey.

The min/max and percentile limits run in the compiled kernel
(``csrc/fm_render.c``), which finds the finite pixels itself; zscale works
on a small sample and stays in NumPy.  The functions never modify their
input.
"""

import math

import numpy as np

from fitsmill import _render

__all__ = [
    "finite_values", "minmax_limits", "percentile_limits", "zscale_limits",
    "select_ranks",
]


# The native float types the compiled kernels take.
_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _real_vector(image):
    """The values of an array as a 1-D C-contiguous native float32 or float64
    array, the form the compiled kernels take.

    Parameters
    ----------
    image : array_like
        Any real array.

    Returns
    -------
    numpy.ndarray
        float32 or float64 data is returned as it is when it is already
        native and contiguous (no copy); float16 becomes float32, every
        other type (integers, long double) float64, which orders integers
        of up to 2**53 in magnitude exactly.
    """
    arr = np.asarray(image)
    if arr.dtype in _KERNEL_DTYPES and arr.flags.c_contiguous:
        # the view the conversion below returns, in half its ~3 us
        return arr.ravel()
    if arr.dtype.kind == "f" and arr.dtype.itemsize <= 4:
        dtype = np.float32
    else:
        dtype = np.float64
    return np.ascontiguousarray(arr, dtype=dtype).reshape(-1)


def finite_values(image, finite=None):
    """Return the finite pixel values of an image as a 1-D array.

    Parameters
    ----------
    image : numpy.ndarray
        Any real array.
    finite : numpy.ndarray of bool or True, optional
        ``np.isfinite(image)`` when the caller already has it, True when
        every pixel is known to be finite, None to have it computed.  When
        every pixel is finite the result is a view of a contiguous image
        (no copy).

    Returns
    -------
    numpy.ndarray
        The finite values, in memory order.
    """
    image = np.asarray(image)
    if finite is True:
        return image.ravel()
    if finite is None:
        finite = np.isfinite(image)
        if finite.all():
            return image.ravel()
    return image[finite]


def minmax_limits(image, finite=None):
    """Smallest and largest finite pixel value.

    Parameters
    ----------
    image : numpy.ndarray
        Any real array.
    finite : numpy.ndarray of bool or True, optional
        Accepted for callers that have ``np.isfinite(image)`` at hand; the
        kernel skips non-finite values by itself, so it is not needed.

    Returns
    -------
    (float, float)
        ``(vmin, vmax)``, or ``(nan, nan)`` without finite pixels.
    """
    _, lo, hi = _render.finite_range(_real_vector(image))
    return lo, hi


def select_ranks(values, ranks, finite_count=None):
    """The values that would sit at the given positions after sorting.

    Equivalent to ``np.sort(values)[ranks]`` but linear in time and cheap
    for ranks near either end (the percentile limits): a fixed sample
    brackets the ranks, one pass keeps the values in the low and high
    brackets, only those few are searched, and counts verify the brackets.
    A failed bracket (data that defeat the sample) falls back to a
    selection among all values, so the result is always exact.

    Parameters
    ----------
    values : numpy.ndarray
        1-D array; it is not modified.  Integers are ordered as float64
        (exact up to 2**53 in magnitude).
    ranks : sequence of int
        0-based positions in sorted order, each in ``[0, n)``.
    finite_count : int, optional
        None when every value is finite.  Otherwise the number ``n`` of
        finite values: non-finite ones (NaN, +-inf) are then ignored, which
        spares the caller a copy of the finite values.

    Returns
    -------
    list
        One value per rank, as NumPy scalars of the values' dtype.

    Raises
    ------
    ValueError
        A rank outside ``[0, n)``, or ``n`` is not the number of finite
        values.
    """
    arr = np.asarray(values)
    count = arr.size if finite_count is None else int(finite_count)
    found = _render.select_ranks(_real_vector(arr), count,
                                 np.ascontiguousarray(ranks, dtype=np.int64).reshape(-1))
    return [arr.dtype.type(v) for v in found]


def percentile_limits(image, lower=0.5, upper=99.5, finite=None):
    """Limits at two percentiles of the finite pixels.

    The same numbers as ``np.percentile(finite_values, [lower, upper])``
    (linear interpolation between ranks), computed without sorting: the
    ranks are selected exactly (see :func:`select_ranks`).

    Parameters
    ----------
    image : numpy.ndarray
        Any real array.
    lower, upper : float
        Percentiles in ``[0, 100]`` with ``lower <= upper``.
    finite : numpy.ndarray of bool or True, optional
        Accepted for callers that have ``np.isfinite(image)`` at hand; the
        kernel skips non-finite values by itself, so it is not needed.

    Returns
    -------
    (float, float)
        ``(vmin, vmax)``, or ``(nan, nan)`` without finite pixels.
    """
    if not 0.0 <= lower <= upper <= 100.0:
        raise ValueError(
            f"percentiles must satisfy 0 <= lower <= upper <= 100, got {lower}, {upper}")
    _, lo, hi = _render.percentiles(_real_vector(image), lower / 100.0, upper / 100.0)
    return lo, hi


def zscale_limits(image, n_samples=1000, contrast=0.25, max_reject=0.5,
                  min_npixels=5, krej=2.5, max_iterations=5, finite=None):
    """IRAF's zscale limits (as in DS9 and astropy's ``ZScaleInterval``).

    About ``n_samples`` evenly strided finite pixels are sorted and a
    straight line is fitted to value against rank, rejecting points
    further than ``krej`` sigma from the line (and their neighbours) for
    up to ``max_iterations`` rounds.  The limits are the median of the
    sample plus and minus the fitted slope divided by ``contrast``,
    extended over the sample, and never outside the sample's range.  When
    too many points are rejected (fewer than ``max(min_npixels,
    max_reject * n)`` remain) the limits are the sample's minimum and
    maximum.  Parameter names and defaults are astropy's.

    Parameters
    ----------
    image : numpy.ndarray
        Any real array.
    n_samples : int
        Number of pixels sampled.
    contrast : float
        Divides the slope; smaller values give wider limits.  ``0`` uses
        the slope as it is.
    max_reject : float
        Largest fraction of rejected sample points.
    min_npixels : int
        Fewest points the fit may keep.
    krej : float
        Rejection threshold in standard deviations of the residuals.
    max_iterations : int
        Most rejection rounds.
    finite : numpy.ndarray of bool, optional
        See :func:`finite_values`.

    Returns
    -------
    (float, float)
        ``(vmin, vmax)``, or ``(nan, nan)`` without finite pixels.
    """
    values = finite_values(image, finite)
    if values.size == 0:
        return math.nan, math.nan
    stride = int(max(1.0, values.size / n_samples))
    sample = np.sort(values[::stride][:n_samples]).astype(np.float64)
    npix = sample.size
    lo, hi = float(sample[0]), float(sample[-1])
    keep_at_least = max(min_npixels, int(npix * max_reject))
    # Rejected points are widened by this many neighbours (1% of the sample).
    grow = np.ones(max(1, int(npix * 0.01)), dtype=bool)
    rank = np.arange(npix, dtype=np.float64)
    bad = np.zeros(npix, dtype=bool)
    good_count, previous = npix, npix + 1
    slope = None
    for _ in range(max_iterations):
        if good_count >= previous or good_count < keep_at_least:
            break
        slope, intercept = _line_fit(rank[~bad], sample[~bad])
        residual = sample - (intercept + slope * rank)
        threshold = krej * residual[~bad].std()
        bad |= np.abs(residual) > threshold
        bad = np.convolve(bad, grow, mode="same")
        previous, good_count = good_count, int(np.count_nonzero(~bad))
    if slope is None or good_count < keep_at_least:
        return lo, hi
    if contrast > 0:
        slope /= contrast
    centre = (npix - 1) // 2
    median = float(np.median(sample))
    return (max(lo, median - (centre - 1) * slope),
            min(hi, median + (npix - centre) * slope))


def _line_fit(x, y):
    # Ordinary least squares y = intercept + slope * x.
    xm, ym = x.mean(), y.mean()
    dx = x - xm
    denom = float(np.dot(dx, dx))
    slope = float(np.dot(dx, y - ym)) / denom if denom > 0 else 0.0
    return slope, ym - slope * xm
