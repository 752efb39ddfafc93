"""Display limits: which pixel values map to black and to white.

Every function here ignores non-finite pixels (NaN, +-inf), so a NaN patch,
NaN columns or a hot pixel set to inf never spoil the limits.  An image
without a single finite pixel has the limits ``(nan, nan)``; the renderer
paints such an image entirely in the NaN grey.

The functions never modify their input.
"""

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
    return float(values.min()), float(values.max())


def select_ranks(values, ranks):
    """The values that would sit at the given positions after sorting.

    Equivalent to ``np.sort(values)[ranks]`` but linear in time and cheap
    for ranks near either end (the percentile limits): a fixed sample
    brackets the ranks, one pass picks the values in the low and high
    brackets, only those few are sorted, and counts verify the brackets.
    A failed bracket (data that defeat the sample) falls back
    to a full partition, so the result is always exact.

    Parameters
    ----------
    values : numpy.ndarray
        1-D array without NaN; it is not modified.
    ranks : sequence of int
        0-based positions in sorted order, each in ``[0, values.size)``.

    Returns
    -------
    list
        One value per rank, as NumPy scalars of the values' dtype.
    """
    n = values.size
    if n <= _SMALL:
        ordered = np.sort(values)
        return [ordered[r] for r in ranks]
    sample = np.sort(values[(_SAMPLE_AT * n).astype(np.intp)])
    m = sample.size
    low = [r for r in ranks if r < n // 2]
    high = [r for r in ranks if r >= n // 2]
    # Sample positions safely beyond each rank (binomial spread plus slack).
    low_pos = max((_sample_pos(r, m, n, +1) for r in low), default=-1)
    high_pos = min((_sample_pos(r, m, n, -1) for r in high), default=m)
    if low_pos >= high_pos:
        return [np.partition(values, r)[r] for r in ranks]
    low_bound = sample[low_pos] if low else None
    high_bound = sample[high_pos] if high else None
    if low and high:
        cand = values[(values <= low_bound) | (values >= high_bound)]
        low_cand = cand[cand <= low_bound]
        high_cand = cand[cand >= high_bound]
    else:
        low_cand = values[values <= low_bound] if low else values[:0]
        high_cand = values[values >= high_bound] if high else values[:0]
    low_cand.sort()
    high_cand.sort()
    out = []
    for r in ranks:
        if r in low and low_cand.size > r:
            out.append(low_cand[r])
        elif r in high and high_cand.size > n - 1 - r:
            out.append(high_cand[r - (n - high_cand.size)])
        else:
            out.append(np.partition(values, r)[r])
    return out


def _sample_pos(rank, m, n, direction):
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
    finite : numpy.ndarray of bool, optional
        See :func:`finite_values`.

    Returns
    -------
    (float, float)
        ``(vmin, vmax)``, or ``(nan, nan)`` without finite pixels.
    """
    if not 0.0 <= lower <= upper <= 100.0:
        raise ValueError(
            f"percentiles must satisfy 0 <= lower <= upper <= 100, got {lower}, {upper}")
    values = finite_values(image, finite)
    n = values.size
    if n == 0:
        return math.nan, math.nan
    positions = [(q / 100.0) * (n - 1) for q in (lower, upper)]
    floors = [int(math.floor(p)) for p in positions]
    ranks = sorted({r for f in floors for r in (f, min(f + 1, n - 1))})
    picked = dict(zip(ranks, (float(v) for v in select_ranks(values, ranks))))
    limits = []
    for pos, f in zip(positions, floors):
        limits.append(_lerp(picked[f], picked[min(f + 1, n - 1)], pos - f))
    return limits[0], limits[1]


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
