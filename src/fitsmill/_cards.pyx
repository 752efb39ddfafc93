# cython: language_level=3, embedsignature=True, boundscheck=False, wraparound=False
"""Private binding to csrc/fm_card: buffers in, spans out, status as exceptions.

Policy (value conversion, formatting, the Header API) lives in
:mod:`fitsmill.header` and :mod:`fitsmill.cardvalue`.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.unicode cimport PyUnicode_DecodeASCII
from libc.stdlib cimport malloc, free

from fitsmill._status cimport fm_error, _check

cdef extern from "Python.h":
    const char *PyUnicode_AsUTF8AndSize(object s, Py_ssize_t *size) except NULL

cdef extern from "fm_card.h" nogil:
    enum:
        FM_CARD_LEN
        FM_KEY_FIELD
        FM_CARD_VALUE
        FM_CARD_HIERARCH
        FM_CARD_NOVALUE
        FM_KF_LOWER
        FM_VAL_UNDEFINED
        FM_VAL_LOGICAL
        FM_VAL_INT
        FM_VAL_FLOAT
        FM_VAL_COMPLEX
    ctypedef struct fm_card_key:
        int kind
        int key_start
        int key_len
        int val_start
        int flags
    ctypedef struct fm_card_fields:
        fm_card_key key
        int vtype
        int v_start, v_len
        int v2_start, v2_len
        int c_start, c_len
        int vflags
        int str_amp
    void fm_card_split(const char *card, fm_card_fields *out)
    int fm_card_number(const char *card, const fm_card_fields *f, long long *ival,
                       double *re, double *im)
    long fm_find_end(const char *buf, size_t len)
    void fm_keyword_fields(const char *buf, size_t ncards, char *out)
    size_t fm_plain_primary(const char *buf, size_t len, size_t *ncards)
    int fm_header_scan(const char *buf, size_t len, fm_card_key *keys,
                       int *group, size_t *ncards, fm_error *err)


cdef tuple _scan(const char *p, size_t n, object path, long long base):
    cdef fm_error err
    cdef size_t ncards = 0, i = 0, j
    cdef int status
    cdef long end
    cdef fm_card_key *keys
    cdef int *group
    cdef str text, name
    cdef list images = [], names = []
    cdef bint mixed = False
    with nogil:
        end = fm_find_end(p, n)
    if end < 0:
        # no END: only the error is wanted, found without per-card arrays
        with nogil:
            status = fm_header_scan(p, n, NULL, NULL, &ncards, &err)
        if status and err.offset >= 0:
            err.offset += base
        _check(status, &err, path)
    # the header stops at the first END (the scan checks the bytes before it)
    n = (end + 1) * FM_CARD_LEN
    keys = <fm_card_key *>malloc((end + 1) * sizeof(fm_card_key))
    group = <int *>malloc((end + 1) * sizeof(int))
    if keys == NULL or group == NULL:
        free(keys)
        free(group)
        raise MemoryError()
    try:
        with nogil:
            status = fm_header_scan(p, n, keys, group, &ncards, &err)
        if status and err.offset >= 0:
            err.offset += base
        _check(status, &err, path)
        # The scan proved every byte up to END is printable ASCII.
        text = PyUnicode_DecodeASCII(p, (ncards + 1) * FM_CARD_LEN, NULL)
        while i < ncards:
            j = i * FM_CARD_LEN
            images.append(text[j:j + (1 + group[i]) * FM_CARD_LEN])
            name = text[j + keys[i].key_start:j + keys[i].key_start + keys[i].key_len]
            if keys[i].flags & FM_KF_LOWER:
                name = name.upper()
                mixed = mixed or keys[i].kind == FM_CARD_HIERARCH \
                    or keys[i].kind == FM_CARD_NOVALUE
            names.append(name)
            i += 1 + group[i]
        j = ncards * FM_CARD_LEN
        return images, names, text[j:j + FM_CARD_LEN], mixed
    finally:
        free(keys)
        free(group)


def scan_header(data, path=None, long long base=0):
    """Cards of the header at the start of ``data``, up to its END card.

    Parameters
    ----------
    data : bytes-like or str
        Header bytes, 80-byte cards; anything after the END card is ignored.
        A str must be ASCII (checked by the caller).
    path : str, optional
        File name for error messages.
    base : int
        Offset of ``data`` in its file, added to offsets in errors.

    Returns
    -------
    images : list of str
        One image per logical card (a long string with its CONTINUE cards
        is one image of several 80-character cards).
    names : list of str
        The lookup keyword of each logical card: upper case, HIERARCH
        names without the prefix.
    end : str
        The END card image.
    mixed : bool
        Whether some card reports its keyword in another case than its
        lookup keyword (HIERARCH and invalid cards keep their case).
    """
    cdef const unsigned char[::1] view
    cdef Py_ssize_t size = 0
    cdef const char *p
    if isinstance(data, str):
        p = PyUnicode_AsUTF8AndSize(data, &size)
        return _scan(p, <size_t>size, path, base)
    view = data
    if view.shape[0] == 0:
        return _scan(b"", 0, path, base)
    return _scan(<const char *>&view[0], <size_t>view.shape[0], path, base)


def split_card(str image):
    """Spans of one 80-character card image.

    Returns
    -------
    tuple
        ``(kind, key_start, key_len, key_flags, vtype, v_start, v_len,
        v2_start, v2_len, c_start, c_len, vflags, str_amp)``, offsets into
        ``image``; the codes are the FM_CARD_*, FM_KF_*, FM_VAL_* and
        FM_VF_* constants of fm_card.h.
    """
    cdef Py_ssize_t size = 0
    cdef const char *p = PyUnicode_AsUTF8AndSize(image, &size)
    cdef fm_card_fields f
    if size != FM_CARD_LEN:
        raise ValueError(f"card image must be 80 ASCII characters, not {size} bytes")
    fm_card_split(p, &f)
    return (f.key.kind, f.key.key_start, f.key.key_len, f.key.flags, f.vtype,
            f.v_start, f.v_len, f.v2_start, f.v2_len, f.c_start, f.c_len,
            f.vflags, f.str_amp)


def find_end(const unsigned char[::1] buf):
    """Index of the first card of ``buf`` whose keyword is END, or -1."""
    if buf.shape[0] == 0:
        return -1
    return fm_find_end(<const char *>&buf[0], <size_t>buf.shape[0])


def card_fields(str image):
    """Keyword, value and comment of one 80-character card image.

    Returns
    -------
    tuple
        ``(kind, keyword, key_flags, vtype, value, comment, vflags)``: the
        keyword as written; the value as a Python object for logical,
        numeric and undefined values (converted by the C kernel), otherwise
        the text of the value token (strings with their quotes still
        doubled) -- also for a number the kernel left to the caller (see
        fm_card_number); the comment ('' when none).  The codes are those
        of fm_card.h.
    """
    cdef Py_ssize_t size = 0
    cdef const char *p = PyUnicode_AsUTF8AndSize(image, &size)
    cdef fm_card_fields f
    cdef long long ival = 0
    cdef double re = 0, im = 0
    if size != FM_CARD_LEN:
        raise ValueError(f"card image must be 80 ASCII characters, not {size} bytes")
    fm_card_split(p, &f)
    vtype = f.vtype
    if vtype == FM_VAL_UNDEFINED:
        value = None
    elif vtype == FM_VAL_LOGICAL:
        value = p[f.v_start] == b'T'
    elif vtype >= FM_VAL_INT and vtype <= FM_VAL_COMPLEX and fm_card_number(p, &f, &ival, &re, &im):
        value = ival if vtype == FM_VAL_INT else re if vtype == FM_VAL_FLOAT else complex(re, im)
    else:
        value = image[f.v_start:f.v_start + f.v_len]
    comment = image[f.c_start:f.c_start + f.c_len] if f.c_start >= 0 else ""
    return (f.key.kind, image[f.key.key_start:f.key.key_start + f.key.key_len],
            f.key.flags, vtype, value, comment, f.vflags)


def plain_primary(bytes head):
    """The primary header at the start of ``head``, when it is plain
    enough for the writers' byte-level path (see ``fm_plain_primary`` in
    csrc/fm_card.h): SIMPLE first, printable ASCII up to END, padding
    without NUL or 8-bit bytes.

    Returns
    -------
    (bytes, bytes) or None
        The header's whole blocks and the keyword fields of its cards
        before END (as :func:`check_header` gives them); None when the
        header is not complete within ``head`` or not plain (the general
        reader then decides, errors included).
    """
    cdef size_t ncards = 0, size
    cdef const char *p = head
    cdef size_t n = len(head)
    cdef bytes names
    with nogil:
        size = fm_plain_primary(p, n, &ncards)
    if not size:
        return None
    names = PyBytes_FromStringAndSize(NULL, ncards * FM_KEY_FIELD)
    fm_keyword_fields(p, ncards, PyBytes_AS_STRING(names))
    return (head if size == n else head[:size]), names


def check_header(const unsigned char[::1] buf, path=None, long long base=0):
    """Check the header at the start of ``buf`` without building its cards.

    Every byte up to and including the first END card must be printable
    ASCII; the errors are those of :func:`scan_header`.

    Returns
    -------
    names : bytes
        The keyword fields (columns 1-8) of the cards before END, one after
        the other: card ``i`` is ``names[8 * i:8 * i + 8]``.
    """
    cdef fm_error err
    cdef size_t ncards = 0, n = buf.shape[0]
    cdef int status
    cdef long end
    cdef const char *p = b""
    cdef bytes names
    if n:
        p = <const char *>&buf[0]
    with nogil:
        end = fm_find_end(p, n)
        if end >= 0:
            n = (end + 1) * FM_CARD_LEN  # the bytes after END are not looked at
        status = fm_header_scan(p, n, NULL, NULL, &ncards, &err)
    if status and err.offset >= 0:
        err.offset += base
    _check(status, &err, path)
    names = PyBytes_FromStringAndSize(NULL, ncards * FM_KEY_FIELD)
    fm_keyword_fields(p, ncards, PyBytes_AS_STRING(names))
    return names
