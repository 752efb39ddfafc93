"""Structural checks of FITS files (what ``fitsmill verify`` reports).

Cheap, standard-based checks that catch what bulk processing breaks:
mandatory keywords and their order, the END card and the header padding,
card syntax (:meth:`fitsmill.header.Header.verify`), the data fill, the
file size against the sizes the headers declare, and CHECKSUM/DATASUM when
present.  It is no substitute for ``fitsverify``'s full conformance check,
but it reads only the headers and the last block of each HDU's data
(plus the data of HDUs with checksums).
"""

import os

from fitsmill._cards import find_end
from fitsmill.errors import FitsFormatError

__all__ = ["check_file"]

_TABLES = ("BINTABLE", "TABLE", "A3DTABLE")


def _mandatory(info):
    header = info.header
    naxis = header.get("NAXIS")
    axes = [f"NAXIS{i}" for i in range(1, naxis + 1)] if isinstance(naxis, int) else []
    if info.index == 0:
        return ["SIMPLE", "BITPIX", "NAXIS", *axes]
    return ["XTENSION", "BITPIX", "NAXIS", *axes, "PCOUNT", "GCOUNT"]


def _order_problems(info):
    want = _mandatory(info)
    keys = [k.upper() for k in list(info.header.keys())[:len(want)]]
    problems = []
    for n, need in enumerate(want):
        have = keys[n] if n < len(keys) else None
        if have != need:
            problems.append(f"card {n + 1} is {have or 'missing'}, must be {need}")
            break
    if info.index == 0 and info.header.get("SIMPLE") is not True:
        problems.append("SIMPLE is not T")
    if info.xtension in _TABLES and "TFIELDS" not in info.header:
        problems.append("TFIELDS missing")
    return problems


def _padding_problems(fd, info, file_size):
    problems = []
    raw = info.header_bytes
    end = len(raw) - 2880 + find_end(raw[-2880:]) * 80
    if raw[end + 80:].strip(b" "):
        problems.append("header padding after END is not blank")
    fill_start = info.data_offset + info.data_size
    fill_end = min(info.end_offset, file_size)
    if fill_end > fill_start:
        fill = os.pread(fd, fill_end - fill_start, fill_start)
        want = b" " if info.xtension == "TABLE" else b"\0"
        if fill.strip(want):
            kind = "blanks" if want == b" " else "zeros"
            problems.append(f"data fill after byte {fill_start} is not all {kind}")
    return problems


def _checksum_problems(fd, info):
    from fitsmill.checksum import check_hdu
    checksum, datasum, computed = check_hdu(fd, info)
    problems = []
    if datasum == "bad":
        problems.append(f"DATASUM {info.header.get('DATASUM')!r} does not match "
                        f"the data ({computed})")
    if checksum == "bad":
        problems.append("CHECKSUM does not verify")
    return problems


def check_file(path, checksums=True):
    """Structural problems of a FITS file.

    Parameters
    ----------
    path : str or os.PathLike
    checksums : bool, optional
        Verify CHECKSUM/DATASUM where present (reads those HDUs' data).

    Returns
    -------
    list of str
        One line per problem (``"HDU n: ..."`` where it belongs to an
        HDU); empty when the file passes.

    Raises
    ------
    OSError
        The file cannot be read.
    """
    from fitsmill.fitsfile import iter_hdus
    problems = []
    with open(path, "rb", buffering=0) as f:
        fd = f.fileno()
        size = os.fstat(fd).st_size
        last = None
        try:
            for info in iter_hdus(f):
                last = info
                found = _order_problems(info) + info.header.verify() + \
                    _padding_problems(fd, info, size)
                if checksums:
                    found += _checksum_problems(fd, info)
                problems += [f"HDU {info.index}: {p}" for p in found]
        except FitsFormatError as exc:
            problems.append(exc.reason if exc.offset is None
                            else f"{exc.reason} (at byte {exc.offset})")
            return problems
    if last is not None:
        if size > last.end_offset:
            problems.append(f"{size - last.end_offset} bytes after the last HDU")
        elif size < last.end_offset:
            problems.append(f"file ends {last.end_offset - size} bytes before the "
                            "end of the last HDU's fill")
    return problems
