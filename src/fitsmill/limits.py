"""Display limits: which pixel values map to black and to white.

Every function here ignores non-finite pixels (NaN, +-inf), so a NaN patch,
NaN columns or a hot pixel set to inf never spoil the limits.  An image
without a single finite pixel has the limits ``(nan, nan)``; the renderer
paints such an image entirely in the NaN grey.

The functions never modify their input.
"""

import functools
import math

import numpy as np

__all__ = [
    "finite_values", "minmax_limits", "percentile_limits", "zscale_limits",
    "select_ranks",
]

# Below this many values a plain sort is cheaper than the sampled bracketing
# in select_ranks.
_SMALL = 4096
# Positions (as fractions of the array length) of the sample that brackets
# the wanted ranks: fixed pseudo-random ones, because a strided sample of an
# image aliases with its row length (one column of a plate is no sample of
# the plate) and a fresh random generator per call costs more than the rest.
_SAMPLE_AT = np.sort(np.random.default_rng(20240101).random(1024))


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
        See :func:`finite_values`.

    Returns
    -------
    (float, float)
        ``(vmin, vmax)``, or ``(nan, nan)`` without finite pixels.
    """
    arr = np.asarray(image)
    if finite is None:
        finite = np.isfinite(arr)
        if finite.all():
            finite = True
    if finite is True or arr.dtype.kind in "biu":
        return float(arr.min()), float(arr.max())
    if not finite.any():
        return math.nan, math.nan
    # Reductions with where= skip the non-finite pixels without a copy.
    return (float(arr.min(where=finite, initial=np.inf)),
            float(arr.max(where=finite, initial=-np.inf)))


def select_ranks(values, ranks, finite_count=None):
    """The values that would sit at the given positions after sorting.

    Equivalent to ``np.sort(values)[ranks]`` but linear in time and cheap
    for ranks near either end (the percentile limits): a fixed sample
    brackets the ranks, one pass picks the values in the low and high
    brackets, only those few are sorted, and counts verify the brackets.
    A failed bracket (data that defeat the sample) falls back to a full
    partition, so the result is always exact.

    Parameters
    ----------
    values : numpy.ndarray
        1-D array; it is not modified.
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
    """
    clean = finite_count is None
    n = values.size if clean else finite_count

    def finite_only(a):
        return a if clean else a[np.isfinite(a)]

    if n <= _SMALL:
        ordered = np.sort(finite_only(values))
        return [ordered[r] for r in ranks]
    half = n // 2
    low = max((r for r in ranks if r < half), default=None)
    high = min((r for r in ranks if r >= half), default=None)
    sample = finite_only(values[_sample_index(values.size)])
    sample.sort()
    m = sample.size
    if m == 0:
        return _partition_ranks(finite_only(values), ranks)
    low_bound = -math.inf if low is None else sample[_sample_pos(low, m, n, +1)]
    high_bound = math.inf if high is None else sample[_sample_pos(high, m, n, -1)]
    if low_bound >= high_bound:
        return _partition_ranks(finite_only(values), ranks)
    # The n_low smallest and the largest finite values, sorted (NaN fails
    # both comparisons; infinities are dropped by finite_only).
    cand = finite_only(values[(values <= low_bound) | (values >= high_bound)])
    cand.sort()
    n_low = int(np.searchsorted(cand, low_bound, side="right"))
    first_high = n - (cand.size - n_low)
    out = []
    for r in ranks:
        if r < n_low:
            out.append(cand[r])
        elif r >= first_high:
            out.append(cand[r - (n - cand.size)])
        else:
            out.extend(_partition_ranks(finite_only(values), [r]))
    return out


def _partition_ranks(values, ranks):
    return [np.partition(values, r)[r] for r in ranks]


@functools.lru_cache(maxsize=64)
def _sample_index(n):
    # Previews of one archive share a few sizes, so the index is reused.
    return (_SAMPLE_AT * n).astype(np.intp)


def _sample_pos(rank, m, n, direction):
    # Sample position safely beyond the rank (binomial spread plus slack).
    centre = rank * m / n
    margin = 4.0 * math.sqrt(centre * (1.0 - centre / m) + 1.0) + 4.0
    return min(m - 1, max(0, int(centre + direction * margin)))


def _lerp(lo, hi, t):
    # NumPy's "linear" percentile interpolation, written the same way (from
    # the nearer end) so the result agrees with np.percentile to the last bit.
    diff = hi - lo
    if t >= 0.5:
        return hi - diff * (1.0 - t)
    return lo + diff * t


def percentile_limits(image, lower=0.5, upper=99.5, finite=None):
    """Limits at two percentiles of the finite pixels.

    The same numbers as ``np.percentile(finite_values, [lower, upper])``
    (linear interpolation between ranks), computed without sorting.

    Parameters
    ----------
    image : numpy.ndarray
        Any real array.
    lower, upper : float
        Percentiles in ``[0, 100]`` with ``lower <= upper``.
    finite : numpy.ndarray of bool or True, optional
        See :func:`finite_values`.

    Returns
    -------
    (float, float)
        ``(vmin, vmax)``, or ``(nan, nan)`` without finite pixels.
    """
    if not 0.0 <= lower <= upper <= 100.0:
        raise ValueError(
            f"percentiles must satisfy 0 <= lower <= upper <= 100, got {lower}, {upper}")
    arr = np.asarray(image)
    if finite is None:
        finite = np.isfinite(arr)
        if finite.all():
            finite = True
    values = arr.ravel()
    count = None if finite is True else int(np.count_nonzero(finite))
    n = values.size if count is None else count
    if n == 0:
        return math.nan, math.nan
    pos_lo, pos_hi = (lower / 100.0) * (n - 1), (upper / 100.0) * (n - 1)
    lo, hi = int(pos_lo), int(pos_hi)
    v = select_ranks(values, (lo, min(lo + 1, n - 1), hi, min(hi + 1, n - 1)), count)
    return (_lerp(float(v[0]), float(v[1]), pos_lo - lo),
            _lerp(float(v[2]), float(v[3]), pos_hi - hi))


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
