"""CHECKSUM and DATASUM (the FITS checksum convention, FITS 4.0 appendix J).

DATASUM is the ones'-complement sum of an HDU's data blocks; CHECKSUM makes
the sum of the whole HDU (header plus data) come out as negative zero.  When
only a header changes, the old DATASUM still describes the data, so a new
CHECKSUM needs only the new header bytes: the data are not read.  A missing
DATASUM costs one streaming pass over the data (C kernel, one reusable
buffer, so memory stays flat whatever the file size).
"""

import os
import time

from fitsmill import _checksum
from fitsmill.errors import FitsFormatError

__all__ = [
    "ZERO_CHECKSUM", "NEGATIVE_ZERO", "bytes_sum", "data_sum",
    "checksum_text", "fill_checksum", "parse_datasum", "stamp", "check_hdu",
]

#: The CHECKSUM value a header carries while its sum is being computed.
ZERO_CHECKSUM = "0" * 16
#: The ones'-complement sum of a correctly checksummed HDU.
NEGATIVE_ZERO = 0xFFFFFFFF

_CHUNK = 1 << 20
_CHECKSUM_PREFIX = b"CHECKSUM= '"


def bytes_sum(data, total=0):
    """Ones'-complement sum of a bytes-like object (length a multiple of 4)."""
    return _checksum.update(memoryview(data).cast("B"), total)


def data_sum(fd, offset, size):
    """DATASUM of ``size`` bytes of data at ``offset`` in an open file.

    The data's fill to a whole 2880-byte block is included, read from the
    file; fill missing at the end of a short file counts as zeros, which is
    what a conforming file would hold.

    Parameters
    ----------
    fd : int
        An open file descriptor (read with ``os.preadv``, so its position
        is not used or changed).
    offset, size : int
        Where the data start and their unpadded size.

    Returns
    -------
    int
        The 32-bit sum.
    """
    remaining = -(-size // 2880) * 2880
    buf = bytearray(min(_CHUNK, remaining) or 4)
    view = memoryview(buf)
    total = 0
    while remaining:
        want = min(len(buf), remaining)
        got = 0
        while got < want:
            n = os.preadv(fd, [view[got:want]], offset + got)
            if n == 0:
                break
            got += n
        if got < want:
            # The file ends inside the fill: count zeros, as the fill should
            # be, and stop, since zeros add nothing to the sum.
            view[got:want] = bytes(want - got)
            return _checksum.update(view[:want], total)
        total = _checksum.update(view[:want], total)
        offset += want
        remaining -= want
    return total


def checksum_text(header_bytes, datasum):
    """The CHECKSUM value for a header (with CHECKSUM = 16 zeros) and DATASUM.

    Parameters
    ----------
    header_bytes : bytes
        The header's whole blocks exactly as they will be written, with the
        CHECKSUM value set to ``ZERO_CHECKSUM``.
    datasum : int
        The data's sum.
    """
    total = _checksum.add(bytes_sum(header_bytes), datasum)
    return _checksum.encode(~total & 0xFFFFFFFF)


def _find_checksum_card(header_bytes):
    """Offset of the CHECKSUM card's 16-character value, or -1."""
    end = len(header_bytes)
    pos = 0
    while pos < end:
        card = header_bytes[pos:pos + 8]
        if card == b"END     ":
            return -1
        if header_bytes.startswith(_CHECKSUM_PREFIX, pos) and \
                header_bytes[pos + 27:pos + 28] == b"'":
            return pos + len(_CHECKSUM_PREFIX)
        pos += 80
    return -1


def fill_checksum(header_bytes, datasum):
    """Return ``header_bytes`` with its CHECKSUM value computed.

    The header must carry a fixed-format ``CHECKSUM = '0000000000000000'``
    card (:func:`stamp` makes one); only those 16 bytes change.
    """
    at = _find_checksum_card(header_bytes)
    if at < 0 or header_bytes[at:at + 16] != ZERO_CHECKSUM.encode():
        raise ValueError("header has no fixed-format CHECKSUM card of 16 zeros")
    text = checksum_text(header_bytes, datasum).encode("ascii")
    return b"".join((header_bytes[:at], text, header_bytes[at + 16:]))


def parse_datasum(value, path=None):
    """The integer in a DATASUM card value (a string of decimal digits)."""
    text = value.strip() if isinstance(value, str) else value
    try:
        number = int(text)
    except (TypeError, ValueError):
        number = -1
    if not 0 <= number <= 0xFFFFFFFF:
        raise FitsFormatError(f"DATASUM {value!r} is not a 32-bit unsigned integer",
                              path=path)
    return number


def stamp(header, datasum, when=None):
    """Put DATASUM and a zero CHECKSUM into ``header`` (edited in place).

    Existing cards keep their positions; missing ones are appended.  The
    comments carry the update time, as the convention recommends.

    Parameters
    ----------
    header : fitsmill.header.Header
    datasum : int
    when : float, optional
        Seconds since the epoch for the comments; default now.
    """
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when))
    header.set("CHECKSUM", ZERO_CHECKSUM, f"HDU checksum updated {iso}")
    header.set("DATASUM", str(datasum), f"data unit checksum updated {iso}")


def check_hdu(fd, info):
    """Check an HDU's CHECKSUM and DATASUM against its bytes.

    Reads the HDU's data once (nothing when it has neither card).

    Parameters
    ----------
    fd : int
        Open descriptor of the file.
    info : fitsmill.fitsfile.HDUInfo

    Returns
    -------
    checksum, datasum : str
        Each ``"ok"``, ``"bad"`` or ``"missing"``.
    computed : int or None
        The data's sum, None when it was not needed.
    """
    header = info.header
    has_checksum, has_datasum = "CHECKSUM" in header, "DATASUM" in header
    if not (has_checksum or has_datasum):
        return "missing", "missing", None
    computed = data_sum(fd, info.data_offset, info.data_size)
    datasum = "missing"
    if has_datasum:
        try:
            datasum = "ok" if parse_datasum(header.get("DATASUM")) == computed else "bad"
        except FitsFormatError:
            datasum = "bad"
    checksum = "missing"
    if has_checksum:
        total = _checksum.add(bytes_sum(info.header_bytes), computed)
        checksum = "ok" if total == NEGATIVE_ZERO else "bad"
    return checksum, datasum, computed
