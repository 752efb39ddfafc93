# cython: language_level=3
"""The one error protocol of the C core: an int status plus a caller-owned
fm_error, mapped here to fitsmill's exception hierarchy."""

cdef extern from "fm_status.h" nogil:
    ctypedef struct fm_error:
        int code
        long long offset
        char message[160]
    enum:
        FM_OK
        FM_ERR_FORMAT
        FM_ERR_ARG
        FM_ERR_NOMEM
        FM_ERR_IO


cdef inline int _check(int status, const fm_error *err, object path=None) except -1:
    """Raise the exception matching a non-zero status; return 0 otherwise."""
    if status == FM_OK:
        return 0
    from fitsmill.errors import FitsFormatError
    msg = err.message.decode("utf-8", "replace")
    offset = err.offset if err.offset >= 0 else None
    if status == FM_ERR_FORMAT:
        raise FitsFormatError(msg, path=path, offset=offset)
    if status == FM_ERR_NOMEM:
        raise MemoryError(msg)
    if status == FM_ERR_IO:
        raise OSError(msg if path is None else f"{path}: {msg}")
    raise ValueError(msg)
