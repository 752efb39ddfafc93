# cython: language_level=3, embedsignature=True, boundscheck=False, wraparound=False
"""Private binding to csrc/fm_checksum: buffers in, status codes out as exceptions.

Policy (which bytes to sum, DATASUM reuse, card formatting) lives in
:mod:`fitsmill.checksum`.
"""

from libc.stdint cimport uint32_t

from fitsmill._status cimport fm_error, _check

cdef extern from "fm_checksum.h" nogil:
    int fm_checksum_update(const unsigned char *buf, size_t len, uint32_t *sum,
                           fm_error *err)
    uint32_t fm_checksum_add(uint32_t a, uint32_t b)
    void fm_checksum_encode(uint32_t value, char out[17])


def update(const unsigned char[::1] buf, uint32_t total=0):
    """Return ``total`` plus the ones'-complement sum of ``buf``'s words.

    ``len(buf)`` must be a multiple of 4.
    """
    cdef fm_error err
    cdef int status
    cdef size_t n = buf.shape[0]
    cdef const unsigned char *p = &buf[0] if n else NULL
    with nogil:
        status = fm_checksum_update(p, n, &total, &err)
    _check(status, &err)
    return total


def add(uint32_t a, uint32_t b):
    """Ones'-complement sum of two partial checksums."""
    return fm_checksum_add(a, b)


def encode(uint32_t value):
    """The 16-character ASCII encoding of ``value`` (a str)."""
    cdef char out[17]
    fm_checksum_encode(value, out)
    return out[:16].decode("ascii")
