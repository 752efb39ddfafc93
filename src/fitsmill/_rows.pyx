# cython: language_level=3, embedsignature=True, boundscheck=False, wraparound=False
"""Private binding to csrc/fm_rows: block-mean downscaling of FITS rows.

Buffers in, float32 rows out; every status is checked right after its call.
Argument policy (which pixel type, factor, BLANK) lives in
:mod:`fitsmill.scaledrows`.
"""

from fitsmill._status cimport fm_error, _check

cdef extern from "fm_rows.h" nogil:
    ctypedef struct fm_rows_spec:
        int pixtype
        long long width
        long long factor
        int has_blank
        long long blank
        double bscale
        double bzero
    ctypedef struct fm_binner:
        pass
    enum:
        FM_PIX_U8
        FM_PIX_I8
        FM_PIX_I16
        FM_PIX_U16
        FM_PIX_I32
        FM_PIX_U32
        FM_PIX_I64
        FM_PIX_F32
        FM_PIX_F64
    int fm_pixtype_size(int pixtype)
    long long fm_rows_out_width(const fm_rows_spec *spec)
    int fm_binner_new(const fm_rows_spec *spec, fm_binner **out, fm_error *err)
    void fm_binner_free(fm_binner *b)
    int fm_binner_add(fm_binner *b, const unsigned char *raw, long long nrows,
                      float *out, long long out_capacity, long long *nout,
                      fm_error *err)
    int fm_binner_flush(fm_binner *b, float *out, long long out_capacity,
                        long long *nout, fm_error *err)
    int fm_rows_scale_fd(int fd, long long data_offset, long long first_row,
                         long long nrows, const fm_rows_spec *spec, float *out,
                         long long out_capacity, fm_error *err)

PIX_U8 = FM_PIX_U8
PIX_I8 = FM_PIX_I8
PIX_I16 = FM_PIX_I16
PIX_U16 = FM_PIX_U16
PIX_I32 = FM_PIX_I32
PIX_U32 = FM_PIX_U32
PIX_I64 = FM_PIX_I64
PIX_F32 = FM_PIX_F32
PIX_F64 = FM_PIX_F64


cdef fm_rows_spec _spec(int pixtype, long long width, long long factor,
                        bint has_blank, long long blank, double bscale,
                        double bzero):
    cdef fm_rows_spec s
    s.pixtype = pixtype
    s.width = width
    s.factor = factor
    s.has_blank = has_blank
    s.blank = blank
    s.bscale = bscale
    s.bzero = bzero
    return s


def pixtype_size(int pixtype):
    """Bytes per pixel of a ``PIX_*`` type (0 when unknown)."""
    return fm_pixtype_size(pixtype)


def scale_fd(int fd, long long data_offset, long long first_row, long long nrows,
             int pixtype, long long width, long long factor, bint has_blank,
             long long blank, double bscale, double bzero, float[:, ::1] out,
             path=None):
    """Block-mean rows ``[first_row, first_row + nrows)`` of an uncompressed
    image stored big-endian at byte ``data_offset`` of the open file ``fd``.

    Parameters
    ----------
    fd : int
        Open file descriptor of a regular file.
    data_offset : int
        Byte offset of the image's (plane's) first row.
    first_row, nrows : int
        Input rows to process; ``first_row`` is a multiple of ``factor``.
    pixtype, width, factor, has_blank, blank, bscale, bzero
        The row description (see ``csrc/fm_rows.h``).
    out : float32 array, C-contiguous, shape (>= ceil(nrows/factor), out width)
        Receives the output rows.
    path : str, optional
        Named in error messages.
    """
    cdef fm_rows_spec s = _spec(pixtype, width, factor, has_blank, blank, bscale, bzero)
    cdef fm_error err
    cdef int st
    if out.shape[1] != fm_rows_out_width(&s):
        raise ValueError("output row length does not match width and factor")
    with nogil:
        st = fm_rows_scale_fd(fd, data_offset, first_row, nrows, &s, &out[0, 0],
                              out.shape[0], &err)
    _check(st, &err, path)


cdef class Binner:
    """Accumulator fed with whole big-endian rows, for streams (gzip,
    decompressed tiles) that cannot be mapped.  One per stream: a Binner
    must not be shared between threads.

    Parameters
    ----------
    pixtype, width, factor, has_blank, blank, bscale, bzero
        The row description (see ``csrc/fm_rows.h``).
    path : str, optional
        Named in error messages.
    """
    cdef fm_binner *_b
    cdef readonly long long out_width
    cdef readonly long long row_bytes
    cdef object _path

    def __cinit__(self, int pixtype, long long width, long long factor,
                  bint has_blank, long long blank, double bscale, double bzero,
                  path=None):
        cdef fm_rows_spec s = _spec(pixtype, width, factor, has_blank, blank,
                                    bscale, bzero)
        cdef fm_error err
        cdef int st = fm_binner_new(&s, &self._b, &err)
        _check(st, &err, path)
        self.out_width = fm_rows_out_width(&s)
        self.row_bytes = width * fm_pixtype_size(pixtype)
        self._path = path

    def __dealloc__(self):
        fm_binner_free(self._b)

    def add(self, const unsigned char[::1] raw, float[:, ::1] out):
        """Add the whole rows in ``raw``; return how many output rows were
        written to the start of ``out``."""
        cdef fm_error err
        cdef long long nout = 0
        cdef long long nrows
        cdef int st
        if raw.shape[0] % self.row_bytes:
            raise ValueError("raw holds a partial row")
        if out.shape[1] != self.out_width:
            raise ValueError("output row length does not match width and factor")
        nrows = raw.shape[0] // self.row_bytes
        if nrows == 0:
            return 0
        with nogil:
            st = fm_binner_add(self._b, &raw[0], nrows, &out[0, 0], out.shape[0],
                               &nout, &err)
        _check(st, &err, self._path)
        return nout

    def flush(self, float[:, ::1] out):
        """Write the pending partial band (edge blocks), if any, to ``out[0]``;
        return the number of rows written (0 or 1)."""
        cdef fm_error err
        cdef long long nout = 0
        cdef int st
        if out.shape[1] != self.out_width:
            raise ValueError("output row length does not match width and factor")
        with nogil:
            st = fm_binner_flush(self._b, &out[0, 0], out.shape[0], &nout, &err)
        _check(st, &err, self._path)
        return nout
