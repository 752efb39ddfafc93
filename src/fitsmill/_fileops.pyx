# cython: language_level=3
"""Bindings of csrc/fm_fileops.c: shifting a file's bytes by whole
file-system blocks (no copy).  Failures raise OSError with the errno of the
system call, so callers can tell "not supported here" (EOPNOTSUPP) from
real errors."""

from libc.errno cimport errno

from fitsmill._status cimport fm_error

cdef extern from "fm_fileops.h" nogil:
    int fm_insert_range(int fd, long long offset, long long length,
                        fm_error *err) noexcept
    int fm_collapse_range(int fd, long long offset, long long length,
                          fm_error *err) noexcept


ctypedef int (*_shift_fn)(int fd, long long offset, long long length,
                          fm_error *err) noexcept nogil


cdef int _shift(_shift_fn shift, int fd, long long offset, long long length,
                object path) except -1:
    """Call ``shift``; raise OSError with its errno (and the file) on failure."""
    cdef fm_error err
    cdef int status, cause = 0
    with nogil:
        status = shift(fd, offset, length, &err)
        if status:
            cause = errno
    if status:
        msg = err.message.decode("utf-8", "replace")
        raise OSError(cause, msg if path is None else f"{path}: {msg}")
    return 0


def insert_range(int fd, long long offset, long long length, path=None):
    """Insert ``length`` zero bytes at ``offset`` of the open file ``fd``
    (both multiples of the file system's block size); the bytes after
    ``offset`` move ``length`` bytes towards the end."""
    _shift(fm_insert_range, fd, offset, length, path)


def collapse_range(int fd, long long offset, long long length, path=None):
    """Remove the ``length`` bytes at ``offset`` of the open file ``fd``
    (both multiples of the file system's block size); the bytes after them
    move back."""
    _shift(fm_collapse_range, fd, offset, length, path)
