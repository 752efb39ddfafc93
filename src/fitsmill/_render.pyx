# cython: language_level=3, embedsignature=True, boundscheck=False, wraparound=False
"""Private binding to csrc/fm_render: display limits and grey-level mapping.

Buffers in (1-D, C-contiguous, native float32 or float64 values; uint8 or
uint16 levels), numbers out; every status is checked right after its call.
Policy (which limits, which stretch, the look-up tables) lives in
:mod:`fitsmill.limits` and :mod:`fitsmill.imaging`.
"""

import numpy as np

from fitsmill._status cimport fm_error, _check

cdef extern from "fm_render.h" nogil:
    enum:
        FM_MAP_LINEAR
        FM_MAP_TABLE
        FM_MAP_UNIT
    ctypedef struct fm_map_spec:
        int mode
        int bits
        int invert
        int nan_level
        double vmin
        double vmax
        const unsigned char *table
        long long table_size
    int fm_finite_range_f32(const float *x, long long n, long long *count,
                            double *lo, double *hi, fm_error *err)
    int fm_finite_range_f64(const double *x, long long n, long long *count,
                            double *lo, double *hi, fm_error *err)
    int fm_percentiles_f32(const float *x, long long n, double lower, double upper,
                           long long *count, double *lo, double *hi, fm_error *err)
    int fm_percentiles_f64(const double *x, long long n, double lower, double upper,
                           long long *count, double *lo, double *hi, fm_error *err)
    int fm_select_ranks_f32(const float *x, long long n, long long count,
                            const long long *ranks, int nranks, double *values,
                            fm_error *err)
    int fm_select_ranks_f64(const double *x, long long n, long long count,
                            const long long *ranks, int nranks, double *values,
                            fm_error *err)
    int fm_map_f32(const float *x, long long n, const fm_map_spec *spec, void *out,
                   fm_error *err)
    int fm_map_f64(const double *x, long long n, const fm_map_spec *spec, void *out,
                   fm_error *err)

MAP_LINEAR = FM_MAP_LINEAR
MAP_TABLE = FM_MAP_TABLE
MAP_UNIT = FM_MAP_UNIT


def finite_range(x):
    """``(count, lo, hi)`` of the finite values of ``x`` (lo, hi NaN if none)."""
    cdef const float[::1] xf
    cdef const double[::1] xd
    cdef long long count = 0
    cdef double lo = 0, hi = 0
    cdef fm_error err
    cdef int st
    if x.dtype.char == "f":
        xf = x
        with nogil:
            st = fm_finite_range_f32(&xf[0], xf.shape[0], &count, &lo, &hi, &err)
    else:
        xd = x
        with nogil:
            st = fm_finite_range_f64(&xd[0], xd.shape[0], &count, &lo, &hi, &err)
    _check(st, &err)
    return count, lo, hi


def percentiles(x, double lower, double upper):
    """``(count, lo, hi)``: percentiles ``lower``, ``upper`` (fractions in
    [0, 1]) of the finite values of ``x`` and how many there are."""
    cdef const float[::1] xf
    cdef const double[::1] xd
    cdef long long count = 0
    cdef double lo = 0, hi = 0
    cdef fm_error err
    cdef int st
    if x.dtype.char == "f":
        xf = x
        with nogil:
            st = fm_percentiles_f32(&xf[0], xf.shape[0], lower, upper, &count, &lo,
                                    &hi, &err)
    else:
        xd = x
        with nogil:
            st = fm_percentiles_f64(&xd[0], xd.shape[0], lower, upper, &count, &lo,
                                    &hi, &err)
    _check(st, &err)
    return count, lo, hi


def select_ranks(x, long long count, const long long[::1] ranks):
    """float64 array: the finite values of ``x`` at ``ranks`` in sorted
    order, ``count`` being the number of finite values."""
    cdef const float[::1] xf
    cdef const double[::1] xd
    values = np.empty(ranks.shape[0], np.float64)
    cdef double[::1] v = values
    cdef fm_error err
    cdef int st
    cdef int nranks = <int>ranks.shape[0]
    if ranks.shape[0] > 0x7fffffff:
        raise ValueError("too many ranks")
    if x.dtype.char == "f":
        xf = x
        with nogil:
            st = fm_select_ranks_f32(&xf[0], xf.shape[0], count, &ranks[0], nranks,
                                     &v[0], &err)
    else:
        xd = x
        with nogil:
            st = fm_select_ranks_f64(&xd[0], xd.shape[0], count, &ranks[0], nranks,
                                     &v[0], &err)
    _check(st, &err)
    return values


def map_levels(x, out, int mode, double vmin, double vmax, bint invert, int nan_level,
               table=None):
    """Write the grey levels of ``x`` into ``out`` (uint8 or uint16, same
    length) by ``mode`` (``MAP_*``, see csrc/fm_render.h); ``table`` is the
    uint8 look-up table of ``MAP_TABLE``."""
    cdef const float[::1] xf
    cdef const double[::1] xd
    cdef unsigned char[::1] o8
    cdef unsigned short[::1] o16
    cdef const unsigned char[::1] tab
    cdef fm_map_spec spec
    cdef void *o
    cdef long long n
    cdef fm_error err
    cdef int st
    spec.mode = mode
    spec.invert = invert
    spec.nan_level = nan_level
    spec.vmin = vmin
    spec.vmax = vmax
    spec.table = NULL
    spec.table_size = 0
    if table is not None:
        tab = table
        spec.table = &tab[0]
        spec.table_size = tab.shape[0]
    if out.dtype.itemsize == 2:
        o16 = out
        spec.bits = 16
        o = &o16[0]
        n = o16.shape[0]
    else:
        o8 = out
        spec.bits = 8
        o = &o8[0]
        n = o8.shape[0]
    if x.dtype.char == "f":
        xf = x
        if xf.shape[0] != n:
            raise ValueError("values and levels differ in length")
        with nogil:
            st = fm_map_f32(&xf[0], n, &spec, o, &err)
    else:
        xd = x
        if xd.shape[0] != n:
            raise ValueError("values and levels differ in length")
        with nogil:
            st = fm_map_f64(&xd[0], n, &spec, o, &err)
    _check(st, &err)
