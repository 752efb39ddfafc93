"""FITS file layout and header I/O: the HDU scan, header reading and safe
header writing.

Reading walks the headers only: each header is read block by block up to its
END card, the size of the data is computed from the header and the data is
skipped, never read.  Writing (:func:`write_header`, :func:`update_header`)
replaces one HDU's header in place when the new header fits the old blocks,
and otherwise shifts the data (:mod:`fitsmill.blockshift`) or rewrites the
file atomically; see its docstring for the guarantees.  Every write is
recorded first in an undo log (:mod:`fitsmill.undolog`: where the logs
live, recovery, undo), layout
checks live in :mod:`fitsmill.layout` and checksums in
:mod:`fitsmill.checksum`.
"""

import errno
import fcntl
import io
import os
import re
import stat
import threading

from fitsmill._cards import find_end, plain_primary
from fitsmill import blockshift
from fitsmill import checksum as ck
from fitsmill.atomic import discard, fsync_directory, pwrite_all
from fitsmill.errors import FitsFormatError, FitsmillError, HeaderSpaceError
from fitsmill.header import Header, as_header
from fitsmill.keywordset import KeywordSet
from fitsmill.layout import (
    check_layout, data_size, fast_layout, primary_data_size, same_layout)

__all__ = [
    "BLOCK_SIZE", "CARD_SIZE", "HDUInfo", "iter_hdus", "find_hdu",
    "read_header", "read_header_bytes", "data_size",
    "write_header", "update_header", "update_headers", "write_header_bytes",
    "readPrimaryHeaderQuick", "replacePrimaryHeaderInPlace",
]

BLOCK_SIZE = 2880
CARD_SIZE = 80

_GZIP_MAGIC = b"\x1f\x8b"
_BLANK_CARD = b" " * CARD_SIZE
_NOT_PRINTABLE = re.compile(rb"[^\x20-\x7e]")


class HDUInfo:
    """Where one HDU sits in its file.

    Attributes
    ----------
    index : int
        Position in the file, 0 for the primary HDU.
    header : fitsmill.header.Header
        The parsed header.
    header_bytes : bytes
        The header exactly as stored, whole blocks including padding.
    header_offset, header_size : int
        Byte offset and size (a multiple of 2880) of the header.
    data_offset : int
        Byte offset of the data, right after the header.
    data_size : int
        Size of the data without its padding to a whole block.
    xtension : str or None
        The XTENSION value, None for the primary HDU.
    extname : str or None
        The EXTNAME value if present.
    """

    __slots__ = ("index", "header", "header_bytes", "header_offset",
                 "data_offset", "data_size", "_layout")

    def __init__(self, index, header, header_bytes, header_offset, data_size,
                 layout=None):
        self.index = index
        self.header = header
        self.header_bytes = header_bytes
        self.header_offset = header_offset
        self.data_offset = header_offset + len(header_bytes)
        self.data_size = data_size
        self._layout = layout

    # Looked up on demand: the write path never needs them.
    @property
    def xtension(self):
        """The XTENSION value, None for the primary HDU."""
        return self.header.get("XTENSION") if self.index else None

    @property
    def extname(self):
        """The EXTNAME value, None when absent."""
        extname = self.header.get("EXTNAME")
        return extname.strip() if isinstance(extname, str) else None

    @property
    def header_size(self):
        """Size of the header in bytes, a multiple of 2880."""
        return len(self.header_bytes)

    @property
    def padded_data_size(self):
        """Size of the data rounded up to whole 2880-byte blocks."""
        return _padded(self.data_size)

    @property
    def end_offset(self):
        """Byte offset just past this HDU's padded data."""
        return self.data_offset + self.padded_data_size

    def __repr__(self):
        kind = self.xtension or "PRIMARY"
        name = f" {self.extname!r}" if self.extname else ""
        return (f"<HDUInfo {self.index} {kind}{name} header {self.header_offset}"
                f"+{self.header_size} data {self.data_offset}+{self.data_size}>")


def _padded(n):
    return -(-n // BLOCK_SIZE) * BLOCK_SIZE


def _end_card_at(block):
    """Byte offset of the END card in ``block`` (whole cards), or -1."""
    card = find_end(block)
    return card * CARD_SIZE if card >= 0 else -1


def _read_block(read, base, blocks, path):
    block = read(BLOCK_SIZE)
    if len(block) == BLOCK_SIZE:
        return block
    offset = base + blocks * BLOCK_SIZE + len(block)
    if not block and not blocks:
        return b""
    if not blocks and block.startswith(_GZIP_MAGIC):
        raise FitsFormatError("gzip-compressed data, not a FITS header; "
                              "decompress it first", path=path, offset=0)
    if blocks:
        what = "no END card before the end of the file"
    else:
        what = "file ends inside the first header block"
    raise FitsFormatError(what, path=path, offset=offset)


def _read_header_bytes(read, path, base, max_blocks, first):
    """The header blocks that ``read(n)`` returns in turn (starting at byte
    ``base`` of the file), or b"" at a clean end of file; ``first`` is the
    keyword the first card must have."""
    chunks = []
    while True:
        block = _read_block(read, base, len(chunks), path)
        if not block:
            return b""
        offset = base + len(chunks) * BLOCK_SIZE
        # Binary data (a missing END, not a FITS file) shows up as bytes above
        # 0x7f or zeros, found by two fast C scans; the regex then says where.
        # Other control characters are reported by the header parser.
        bad = None
        if not block.isascii() or b"\0" in block:
            bad = _NOT_PRINTABLE.search(block)
        if not chunks and not block.startswith(first):
            if block.startswith(_GZIP_MAGIC):
                raise FitsFormatError("gzip-compressed data, not a FITS header; "
                                      "decompress it first", path=path, offset=offset)
            if bad is not None or first != b"XTENSION":
                raise FitsFormatError(
                    f"not a FITS header: expected {first.decode().strip()} "
                    "in the first card", path=path, offset=offset)
            raise FitsFormatError(
                "expected XTENSION card after the previous HDU's data",
                path=path, offset=offset)
        if bad is not None:
            raise FitsFormatError(
                f"byte 0x{bad.group()[0]:02x} is not printable ASCII in the header",
                path=path, offset=offset + bad.start())
        if _end_card_at(block) >= 0:
            return b"".join(chunks + [block]) if chunks else block
        chunks.append(block)
        if max_blocks is not None and len(chunks) >= max_blocks:
            raise FitsFormatError(
                f"no END card within {max_blocks} blocks", path=path,
                offset=offset + BLOCK_SIZE)


def _stream_base(stream):
    try:
        return stream.tell()
    except (OSError, AttributeError, io.UnsupportedOperation):
        return 0


def read_header_bytes(stream, path=None, max_blocks=None):
    """Read a header's 2880-byte blocks from a binary stream up to END.

    Parameters
    ----------
    stream : binary file-like
        Positioned at the start of a header; anything with ``read`` works
        (plain files, ``gzip.open`` streams, BytesIO).  It is left just past
        the header's last block.
    path : str, optional
        Used in error messages.
    max_blocks : int, optional
        Give up after this many blocks without END.

    Returns
    -------
    bytes
        The whole blocks, END block included.

    Raises
    ------
    FitsFormatError
        Empty or truncated input, no END card, bytes that are not printable
        ASCII, or a first card that is neither SIMPLE nor XTENSION; the
        message names the byte offset.
    """
    base = _stream_base(stream)
    first = b"SIMPLE  =" if base == 0 else b"XTENSION="
    data = _read_header_bytes(stream.read, path, base, max_blocks, first)
    if not data:
        raise FitsFormatError("empty file, no FITS header", path=path, offset=base)
    return data


def _parse(header_bytes, path, offset):
    return Header.fromstring(header_bytes, path=path, offset=offset)


def _scan(stream, path, file_size):
    """Yield HDUInfo for every HDU of an open, seekable binary file."""
    offset = 0
    index = 0
    if isinstance(stream, _FILE_TYPES):
        stream.seek(0)   # (a buffered writer writes out what it holds)
        info = _plain_primary_info(stream.fileno(), path, file_size)
        if info is not None:
            yield info
            offset, index = info.end_offset, 1
    while True:
        stream.seek(offset)
        if index == 0:
            first = b"SIMPLE  ="
        else:
            first = b"XTENSION="
            # Anything after the last HDU that does not start an extension
            # (zero padding, junk) ends the scan here.
            if stream.read(len(first)) != first:
                return
            stream.seek(offset)
        raw = _read_header_bytes(stream.read, path, offset, None, first)
        if not raw:
            raise FitsFormatError("empty file, no FITS header", path=path, offset=0)
        info = _hdu_info(index, raw, offset, path, file_size)
        yield info
        offset = info.end_offset
        index += 1


def _primary(read, path, size):
    """HDUInfo of the primary HDU, its header read with ``read(n)``."""
    raw = _read_header_bytes(read, path, 0, None, b"SIMPLE  =")
    if not raw:
        raise FitsFormatError("empty file, no FITS header", path=path, offset=0)
    return _hdu_info(0, raw, 0, path, size)


def _hdu_info(index, raw, offset, path, file_size):
    """HDUInfo of the header bytes ``raw`` found at ``offset``, checked
    against the file size."""
    header = _parse(raw, path, offset)
    layout, size = fast_layout(raw, _end_card_at(raw[-BLOCK_SIZE:]) + len(raw) - BLOCK_SIZE)
    if size is None:
        size = data_size(header, path, offset)
    info = HDUInfo(index, header, raw, offset, size, layout)
    _check_complete(info, file_size, path)
    return info


def _check_complete(info, size, path):
    end = info.data_offset + info.data_size
    if size is not None and end > size:
        raise FitsFormatError(
            f"truncated: HDU {info.index} needs {end} bytes, the file has {size}",
            path=path, offset=size)


# Streams of plain files, which can be read with pread and measured.
_FILE_TYPES = (io.FileIO, io.BufferedReader, io.BufferedRandom)


def _size(stream):
    """The size of a plain file's stream; None for other streams (gzip,
    BytesIO...), whose completeness is then not checked."""
    if isinstance(stream, _FILE_TYPES):
        return os.fstat(stream.fileno()).st_size
    return None


def _open_binary(source):
    if hasattr(source, "read"):
        return source, False
    return open(source, "rb", buffering=0), True


def iter_hdus(source):
    """The layout of every HDU of a FITS file, from one pass over the headers.

    Data are skipped, never read, so the cost is independent of the file
    size.  Trailing bytes after the last HDU that do not start an extension
    header end the scan (use ``fitsmill verify`` to have them reported).

    Parameters
    ----------
    source : str, os.PathLike or seekable binary file

    Yields
    ------
    HDUInfo

    Raises
    ------
    FitsFormatError
        Malformed headers, a gzip-compressed file, or data extending past
        the end of the file (checked for plain files only); the message
        names the file and byte offset.
    """
    stream, owned = _open_binary(source)
    path = os.fspath(source) if owned else getattr(stream, "name", None)
    try:
        yield from _scan(stream, path, _size(stream))
    finally:
        if owned:
            stream.close()


def _matches(info, ext):
    if isinstance(ext, int):
        return info.index == ext
    if isinstance(ext, tuple):
        name, ver = ext
        return (info.extname or "").upper() == name.upper() and \
            info.header.get("EXTVER", 1) == ver
    return (info.extname or "").upper() == ext.upper()


def find_hdu(source, ext=0):
    """The HDUInfo of one HDU.

    Parameters
    ----------
    source : str, os.PathLike or seekable binary file
    ext : int, str or (str, int)
        HDU index, EXTNAME (case-insensitive) or (EXTNAME, EXTVER).

    Raises
    ------
    KeyError
        No such HDU in the file.
    """
    _check_ext(ext)
    for info in iter_hdus(source):
        if _matches(info, ext):
            return info
    raise KeyError(f"{os.fspath(source) if not hasattr(source, 'read') else source}:"
                   f" no HDU {ext!r}")


def read_header(source, ext=0):
    """Read one HDU's header.

    Parameters
    ----------
    source : str, os.PathLike or seekable binary file
    ext : int, str or (str, int)
        HDU index, EXTNAME or (EXTNAME, EXTVER); 0 is the primary header.

    Returns
    -------
    fitsmill.header.Header
    """
    if ext == 0:
        stream, owned = _open_binary(source)
        path = os.fspath(source) if owned else getattr(stream, "name", None)
        try:
            stream.seek(0)
            return _primary(stream.read, path, _size(stream)).header
        finally:
            if owned:
                stream.close()
    return find_hdu(source, ext).header


def readPrimaryHeaderQuick(f, maxHeaderBlocks=40):
    """DaCHS-compatible: the primary header read from a binary stream.

    Reads whole blocks up to END from ``f``'s position (gzip streams
    included) and parses them.  Unlike DaCHS, an END card is found wherever
    it is aligned and malformed input raises :class:`FitsFormatError`.
    """
    path = getattr(f, "name", None)
    base = _stream_base(f)
    return _parse(read_header_bytes(f, path, maxHeaderBlocks), path, base)


# ---------------------------------------------------------------- writing

_GROW_POLICIES = ("rewrite", "copy", "forbid")
_CHECKSUM_POLICIES = ("auto", "recompute", True, False)


def _card_bytes(header):
    """The header's cards as bytes, without END and without trailing blank
    cards (those are padding a previous in-place write left; dropping them
    lets the next edit use the space)."""
    cards = header.tobytes(padding=False)[:-CARD_SIZE]  # END is one card
    while cards.endswith(_BLANK_CARD):
        cards = cards[:-CARD_SIZE]
    return cards


def _blocks(cards):
    return (len(cards) + CARD_SIZE + BLOCK_SIZE - 1) // BLOCK_SIZE


def _layout_blocks(cards, blocks):
    """Cards laid out in exactly ``blocks`` blocks.  When they need fewer,
    blank cards fill the space and END is the last card, so the data do not
    move; otherwise END follows the last card and blanks fill the block."""
    size = blocks * BLOCK_SIZE
    end_card = b"END" + b" " * (CARD_SIZE - 3)
    if _blocks(cards) < blocks:
        return cards + b" " * (size - len(cards) - CARD_SIZE) + end_card
    return (cards + end_card).ljust(size, b" ")


def _stored_datasum(header, path):
    if "DATASUM" not in header:
        return None
    try:
        return ck.parse_datasum(header.get("DATASUM"), path)
    except FitsFormatError:
        return None


def _old_header(info, path):
    """The HDU's header as it is in the file.  (update_header hands the
    parsed header to the edit, so it is parsed again when needed.)"""
    if info.header is None:
        info.header = _parse(info.header_bytes, path, info.header_offset)
    return info.header


def _compose(info, new, *, grow, reserve, checksum, force, shift, fd, path):
    """The new header's bytes for ``info``'s place (checksums filled in);
    ``shift``: a growing header may be sized for :mod:`fitsmill.blockshift`."""
    cards = _card_bytes(new)
    # Equal layout signatures settle it cheaply; otherwise compare values.
    if not force and (info._layout is None or not same_layout(info._layout, cards)):
        check_layout(_old_header(info, path), new, path, info.header_offset)
    if checksum == "auto":
        checksum = "CHECKSUM" in new or "DATASUM" in new
    datasum = None
    if checksum:
        if checksum != "recompute":
            datasum = _stored_datasum(_old_header(info, path), path)
        if datasum is None:
            datasum = ck.data_sum(fd, info.data_offset, info.data_size)
        new = new.copy()
        ck.stamp(new, datasum)
        cards = _card_bytes(new)
    needed = _blocks(cards)
    have = info.header_size // BLOCK_SIZE
    if needed <= have:
        blocks = have
    elif grow == "forbid":
        raise HeaderSpaceError(
            f"{path}: the new header needs {needed} blocks of 2880 bytes but the "
            f"HDU at byte {info.header_offset} has {have}; {needed - have} more "
            "block(s) missing and growing the file is forbidden")
    else:
        blocks = needed + reserve
        if shift:
            blocks = blockshift.grown_blocks(fd, info.header_offset, have, blocks)
    out = _layout_blocks(cards, blocks)
    if checksum:
        out = ck.fill_checksum(out, datasum)
    return out


def _open_locked(path, wait):
    """Open ``path`` for writing under an exclusive advisory lock.

    ``wait``: True waits for another holder, False raises, None returns
    (None, None).

    A writer that opened the file while another one replaced it by a
    rewrite holds a lock on the old, unlinked inode; it notices and retries
    on the new file.  A rewrite never replaces a file with other hard links,
    so the replaced inode has no link left, which ``fstat`` shows without a
    second lookup of the path; after waiting for the lock, when a
    replacement is likely, the path is looked up again as well.
    """
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        try:
            waited = False
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if wait is None:
                    os.close(fd)
                    return None, None
                if not wait:
                    raise FitsmillError(
                        f"{path}: another process is writing this file "
                        "(advisory lock held)") from None
                fcntl.flock(fd, fcntl.LOCK_EX)
                waited = True
            st = os.fstat(fd)
            if st.st_nlink and (not waited or _same_inode(path, st)):
                return fd, st
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


def _same_inode(path, st):
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return False
    return (now.st_ino, now.st_dev) == (st.st_ino, st.st_dev)


def _copy_range(src, dst, src_offset, count, dst_offset, path):
    """Copy bytes between files in the kernel (no user-space buffer)."""
    fast = True
    while count > 0:
        if fast:
            try:
                n = os.copy_file_range(src, dst, count, src_offset, dst_offset)
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL,
                                     errno.EOPNOTSUPP):
                    raise
                fast = False
                continue
        else:
            os.lseek(dst, dst_offset, os.SEEK_SET)
            n = os.sendfile(dst, src, src_offset, count)
        if n == 0:
            raise OSError(errno.EIO, f"{path}: file shrank while being copied")
        count -= n
        src_offset += n
        dst_offset += n


def _temp_name(path):
    directory, base = os.path.split(path)
    return os.path.join(directory, f".{base}.fitsmill-{os.getpid()}-"
                                   f"{os.urandom(4).hex()}.tmp")


def _rewrite(fd, path, st, offset, old_size, new_bytes, tmp, fsync):
    """Replace the header by writing a new file next to the old one: bytes
    before the header, new header, everything after the old header (copied
    by the kernel), then fsync and an atomic rename."""
    if st.st_nlink > 1:
        raise FitsmillError(f"{path}: has {st.st_nlink} hard links; growing its "
                            "header would replace only this one")
    tfd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        _copy_range(fd, tfd, 0, offset, 0, path)
        pwrite_all(tfd, new_bytes, offset)
        rest = st.st_size - offset - old_size
        _copy_range(fd, tfd, offset + old_size, rest, offset + len(new_bytes), path)
        if (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
            os.fchown(tfd, st.st_uid if os.geteuid() == 0 else -1, st.st_gid)
        os.fchmod(tfd, stat.S_IMODE(st.st_mode))
        if fsync:
            os.fsync(tfd)
        os.rename(tmp, path)
    except BaseException:
        discard(tmp)
        raise
    finally:
        os.close(tfd)
    if fsync:
        fsync_directory(os.path.dirname(path))


def _release(fd, result):
    """Close the descriptor of the file just written.

    After a rewrite it is the last reference to the replaced file, and
    closing it makes the kernel free that file's blocks and cached pages,
    which takes about as long as writing them; a background thread does it
    so the caller does not wait (the lock on the old inode goes with it).
    """
    if result == "rewritten":
        threading.Thread(target=os.close, args=(fd,), daemon=True).start()
    else:
        os.close(fd)


_current_log = None     # fitsmill.undolog.current_log, imported on first use


def _log_for(undo):
    global _current_log
    if undo is True:
        if _current_log is None:
            # (undolog imports this module: not at the top)
            from fitsmill.undolog import current_log as _current_log
        return _current_log()
    return undo or None


def _replace(fd, path, st, offset, old_bytes, new_bytes, undo, fsync, shift=True):
    """Put ``new_bytes`` where ``old_bytes`` are; returns what was done.
    ``shift``: a size change may shift the data (:mod:`fitsmill.blockshift`)."""
    if new_bytes == old_bytes:
        return "unchanged"
    log = _log_for(undo)
    if len(new_bytes) == len(old_bytes):
        seq = log.begin(path, offset, old_bytes, new_bytes, st, "in place",
                        fsync=fsync) if log else None
        pwrite_all(fd, new_bytes, offset)
        if fsync:
            os.fdatasync(fd)
        if log:
            log.done(seq, os.fstat(fd))
        return "in place"
    if shift and offset == 0:
        result = blockshift.resize(fd, path, st, old_bytes, new_bytes, log, fsync)
        if result:
            return result
    # The rename must replace the file itself, not a symbolic link to it.
    real = os.path.realpath(path)
    tmp = _temp_name(real)
    seq = log.begin(path, offset, old_bytes, new_bytes, st, "rewrite", tmp,
                    fsync=fsync) if log else None
    _rewrite(fd, real, st, offset, len(old_bytes), new_bytes, tmp, fsync)
    if log:
        log.done(seq, os.stat(path))
    return "rewritten"


def _check_writable_name(path):
    if path.endswith((".gz", ".GZ", ".fz.gz")):
        raise FitsmillError(f"{path}: gzip-compressed files cannot be edited in "
                            "place; decompress the file first")


def _pread_from(fd, offset):
    """A read(n) that preads ``fd`` from ``offset`` on (no file object: this
    is the per-file fast path)."""
    def read(n):
        nonlocal offset
        data = os.pread(fd, n, offset)
        offset += len(data)
        return data
    return read


def _plain_primary(fd):
    """(header bytes, keyword fields) of the file's primary header when it
    lies within the first four blocks (plate scans often have a few header
    blocks: one read serves most) and passes the cheap checks settled in C
    (:func:`fitsmill._cards.plain_primary`); else None."""
    return plain_primary(os.pread(fd, 4 * BLOCK_SIZE, 0))


def _plain_primary_info(fd, path, size):
    """The HDUInfo of the file's primary header when :func:`_plain_primary`
    finds it (the usual case: one pread and a C check), else None."""
    plain = _plain_primary(fd)
    return None if plain is None else _hdu_info(0, plain[0], 0, path, size)


def _locate(fd, path, size, ext):
    if ext == 0:
        # Longer headers and errors: the general reader, from the start.
        return _plain_primary_info(fd, path, size) or \
            _primary(_pread_from(fd, 0), path, size)
    stream = io.FileIO(fd, "rb", closefd=False)
    for info in _scan(stream, path, size):
        if _matches(info, ext):
            return info
    raise KeyError(f"{path}: no HDU {ext!r}")


def _check_ext(ext):
    if isinstance(ext, bool) or not isinstance(ext, (int, str, tuple)):
        raise TypeError(f"ext must be an int, a str or (str, int), not {ext!r}")
    if isinstance(ext, int) and ext < 0:
        raise ValueError(f"ext must be >= 0, not {ext}")


def write_header(path, header, ext=0, *, grow="rewrite", reserve=0,
                 checksum="auto", undo=True, fsync=True, force=False, wait=True):
    """Replace one HDU's header in a FITS file, safely.

    * The new header fits the old header's 2880-byte blocks: it is written
      with one ``pwrite`` of those blocks (END right after the last card,
      blanks to the block end; when it needs fewer blocks, blank cards fill
      the space so the data stay where they are).  Data bytes are never read
      or written and the file keeps its inode.
    * It needs more blocks, the header starts the file, more than
      :data:`fitsmill.blockshift.MIN_SHIFTED` bytes follow it, the write is
      logged (``undo``), ``grow="rewrite"`` and the file system can insert
      blocks (ext4, XFS): the file system shifts the data by whole blocks
      without copying them (:mod:`fitsmill.blockshift`); the header grows
      to the next multiple of the shift step (64 blocks with 4096-byte
      file-system blocks), the extra blocks being blank headroom.  The
      file keeps its inode.
    * It needs more blocks otherwise: a temporary file in the same directory
      receives everything before the header, the new header (plus
      ``reserve`` blank blocks of headroom) and everything after the old
      header, copied by the kernel (``copy_file_range``); it is flushed,
      renamed over the original and the directory is flushed.  Mode, owner
      and group are kept; other metadata (ACLs, xattrs, mtime) are not.
    * Before the file is touched, its old header bytes and identity go to
      the undo log (:mod:`fitsmill.undolog`), so an interrupted run can be
      recovered and a finished one undone (``fitsmill headers recover`` /
      ``undo``).
    * An exclusive advisory lock (``flock``) is held while writing.

    Parameters
    ----------
    path : str or os.PathLike
        The FITS file (symbolic links are followed; the target is edited).
    header : fitsmill.header.Header or astropy.io.fits.Header
        The complete new header of the HDU.  Trailing blank cards are
        dropped (they are padding).  It is not modified.
    ext : int, str or (str, int)
        HDU index, EXTNAME or (EXTNAME, EXTVER).  A tile-compressed image is
        edited in its own (BINTABLE) HDU.
    grow : {"rewrite", "copy", "forbid"}
        What to do when the header needs more blocks: "rewrite" shifts the
        data where it can (see above) and copies otherwise; "copy" always
        copies (the file then has its old or its new header at every
        instant, even if the process is killed, without needing the undo
        log's recovery); "forbid" raises :class:`HeaderSpaceError` saying
        how many blocks are missing.
    reserve : int
        Blank blocks of headroom to add when the file is rewritten.
    checksum : {"auto", True, False, "recompute"}
        "auto" updates CHECKSUM/DATASUM when the new header has either
        (so a header without them removes them); True always adds them;
        False leaves the cards as given.  DATASUM is taken from the file's
        current header when present (the data do not change), otherwise
        computed in one pass over the data; "recompute" always computes it.
    undo : bool or fitsmill.undolog.UndoLog
        True logs to this process's log (:func:`fitsmill.undolog.current_log`),
        an UndoLog logs there, False does not log.
    fsync : bool
        Flush the file (and the undo record, and the directory after a
        rename) to disk before returning.
    force : bool
        Write even if the new header changes keywords that fix the data
        layout (SIMPLE/XTENSION, BITPIX, NAXISn, PCOUNT, GCOUNT, GROUPS,
        table column formats, compressed-image Z keywords), which otherwise
        is refused.
    wait : bool
        Wait for another writer's lock; False raises instead.

    Returns
    -------
    str
        ``"in place"``, ``"grown"`` (data shifted), ``"rewritten"`` (file
        copied) or ``"unchanged"`` (identical bytes, nothing written).

    Raises
    ------
    FitsFormatError
        The file is malformed (nothing is written).
    HeaderSpaceError
        The header does not fit and ``grow="forbid"``.
    FitsmillError
        gzip file, layout change, hard-linked file that would need a rewrite,
        or a lock held with ``wait=False``.
    KeyError
        No such HDU.
    """
    new = as_header(header)
    return _write(path, ext, lambda current: new, False, grow=grow, reserve=reserve,
                  checksum=checksum, undo=undo, fsync=fsync, force=force, wait=wait)


def _write(path, ext, make, hand_over, *, grow="rewrite", reserve=0,
           checksum="auto", undo=True, fsync=True, force=False, wait=True):
    """write_header's work; ``make(current header)`` gives the new header.
    With ``hand_over``, ``make`` may change the header it is given (it
    was parsed for this call alone, so no copy is needed)."""
    _check_options(ext, grow, reserve, checksum)
    path = _writable_path(path)
    fd, st = _open_locked(path, wait)
    try:
        shift = _shifts(grow, undo)
        info, out = _new_bytes(fd, st, path, ext, make, hand_over, grow=grow,
                               reserve=reserve, checksum=checksum, force=force,
                               shift=shift)
        result = _replace(fd, path, st, info.header_offset, info.header_bytes, out,
                          undo, fsync, shift)
    except BaseException:
        os.close(fd)
        raise
    _release(fd, result)
    return result


def _shifts(grow, undo):
    """Whether a growing header may shift the data: only with the undo log,
    which is what makes an interrupted shift recoverable."""
    return grow == "rewrite" and bool(undo)


def _check_options(ext, grow, reserve, checksum):
    if ext == 0 and grow == "rewrite" and reserve == 0 and checksum == "auto" \
            and type(ext) is int and type(reserve) is int:
        return      # the defaults (the common case, checked per write)
    if grow not in _GROW_POLICIES:
        raise ValueError(f"grow must be one of {_GROW_POLICIES}, not {grow!r}")
    if checksum not in _CHECKSUM_POLICIES or isinstance(checksum, int) and \
            not isinstance(checksum, bool):
        raise ValueError(f"checksum must be one of {_CHECKSUM_POLICIES}, "
                         f"not {checksum!r}")
    if isinstance(reserve, bool) or not isinstance(reserve, int) or reserve < 0:
        raise ValueError(f"reserve must be a non-negative int, not {reserve!r}")
    _check_ext(ext)


def _writable_path(path):
    path = os.fspath(path)
    if path[:1] != "/" and not os.path.isabs(path):
        path = os.path.abspath(path)
    _check_writable_name(path)
    return path


def _spliced(fd, st, path, ext, edit, checksum):
    """The HDUInfo and new header bytes for an edit with a byte-level fast
    path (:class:`~fitsmill.keywordset.KeywordSet`) when it applies: an
    ordinary primary header of up to four blocks, edited in place; else
    None (the general path decides, errors included)."""
    if ext != 0 or checksum not in ("auto", False) or not isinstance(edit, KeywordSet):
        return None
    plain = _plain_primary(fd)
    if plain is None:
        return None
    header, names = plain
    size = primary_data_size(header, names)
    if size is None:
        return None
    # The edit leaves every layout card alone, so the header's layout (the
    # signature the general path compares) cannot change.
    info = HDUInfo(0, None, header, 0, size)
    _check_complete(info, st.st_size, path)
    new = edit.splice(header, names)
    return None if new is None else (info, new)


def _new_bytes(fd, st, path, ext, make, hand_over, **options):
    """The HDUInfo of ``ext`` in the locked file ``fd`` and the bytes of
    its new header."""
    spliced = _spliced(fd, st, path, ext, make, options["checksum"])
    if spliced is not None:
        return spliced
    info = _locate(fd, path, st.st_size, ext)
    current = info.header
    if hand_over:
        info.header = None
    new = as_header(make(current))
    return info, _compose(info, new, fd=fd, path=path, **options)


def update_header(path, edit, ext=0, **options):
    """Read, edit and write one HDU's header under one lock.

    Unlike :func:`read_header` followed by :func:`write_header`, no other
    writer can change the header in between, and the file is opened and its
    header read only once.

    Parameters
    ----------
    path : str or os.PathLike
    edit : callable
        Called with the current header, parsed for this call alone (so it
        may be changed in place); returns the new header (a fitsmill or
        astropy Header).  A :class:`~fitsmill.keywordset.KeywordSet` is
        applied to the raw cards of an ordinary primary header instead,
        without parsing it (same result, faster).
    ext : int, str or (str, int)
    **options
        ``grow``, ``reserve``, ``checksum``, ``undo``, ``fsync``, ``force``
        and ``wait`` as for :func:`write_header`.

    Returns
    -------
    str
        As for :func:`write_header`.
    """
    return _write(path, ext, edit, True, **options)


class _Group:
    """In-place header writes of several files, committed together: their
    undo records are appended and flushed once, then the files written
    (and flushed).  The files stay locked until then."""

    def __init__(self, log, fsync):
        self.log = log
        self.fsync = fsync
        self.pending = []   # (fd, path, st, offset, old bytes, new bytes)

    def add(self, fd, path, st, offset, old, new):
        self.pending.append((fd, path, st, offset, old, new))

    def commit(self):
        """Write every pending header; the undo records are durable (with
        fsync) before the first file is touched."""
        pending, self.pending = self.pending, []
        try:
            seqs = self.log.begin_many(
                [(path, offset, old, new, st, "in place", None)
                 for _, path, st, offset, old, new in pending],
                fsync=self.fsync) if self.log and pending else None
            for fd, _, _, offset, _, new in pending:
                pwrite_all(fd, new, offset)
            if self.fsync:
                for fd, *_ in pending:
                    os.fdatasync(fd)
            if seqs:
                self.log.done_many([(seq, os.fstat(fd))
                                    for seq, (fd, *_) in zip(seqs, pending)])
        finally:
            for fd, *_ in pending:
                os.close(fd)

    def abandon(self):
        """Drop the pending writes (nothing of them was written)."""
        pending, self.pending = self.pending, []
        for fd, *_ in pending:
            os.close(fd)


def update_headers(edits, ext=0, *, group=64, on_error=None, grow="rewrite",
                   reserve=0, checksum="auto", undo=True, fsync=True, force=False,
                   wait=True):
    """:func:`update_header` for many files, with group commit.

    Each file gets exactly the treatment and guarantees of
    :func:`update_header`, in the order given; the difference is that up to
    ``group`` in-place writes are committed together: their undo records
    are appended with one write and flushed with one ``fdatasync`` before
    any of those files is written, then the files are written (and, with
    ``fsync``, flushed).  With ``fsync`` that saves most of a flush per
    file.  Files whose header must grow are rewritten one by one, as by
    :func:`update_header`.

    Files of a group stay locked until the group is committed.  A lock held
    by another process is never waited for while other locks are held: the
    group is committed first, so two batches cannot deadlock.

    Parameters
    ----------
    edits : iterable of (path, callable)
        Each file with its edit (called with the file's current header,
        returning the new one, as for :func:`update_header`).
    ext : int, str or (str, int)
    group : int
        Most in-place writes committed together.
    on_error : callable, optional
        Called as ``on_error(path, exc)`` when a file fails (an Exception
        from opening, reading, editing or writing it); its answer is None
        and the run goes on, unless ``on_error`` returns True: then it
        stops there.  Without it the first failure is raised.
    grow, reserve, checksum, undo, fsync, force, wait
        As for :func:`write_header`.

    Returns
    -------
    list of str or None
        :func:`write_header`'s answer for each file, in order (None for a
        failed file; fewer answers than files when ``on_error`` stopped the
        run).

    Raises
    ------
    Whatever :func:`update_header` raises for a file, without
    ``on_error``.  The files before it are written (the pending group is
    committed first), the files after it are not touched.
    """
    _check_options(ext, grow, reserve, checksum)
    if isinstance(group, bool) or not isinstance(group, int) or group < 1:
        raise ValueError(f"group must be a positive int, not {group!r}")
    batch = _Group(_log_for(undo), fsync)
    shift = _shifts(grow, undo)
    options = dict(grow=grow, reserve=reserve, checksum=checksum, force=force,
                   shift=shift)
    results = []

    def failed(path, exc):
        """Note a failed file; True to stop the run."""
        if on_error is None:
            raise exc
        results.append(None)
        return on_error(path, exc)

    try:
        for path, edit in edits:
            try:
                path = _writable_path(path)
                fd, st = _open_locked(path, None) if batch.pending else (None, None)
            except Exception as exc:
                if failed(path, exc):
                    break
                continue
            if fd is None:
                # Never wait for a lock while holding others.
                batch.commit()
                try:
                    fd, st = _open_locked(path, wait)
                except Exception as exc:
                    if failed(path, exc):
                        break
                    continue
            try:
                info, out = _new_bytes(fd, st, path, ext, edit, True, **options)
                old = info.header_bytes
                in_place = len(out) == len(old) and out != old
                if not in_place:
                    result = _replace(fd, path, st, info.header_offset, old, out,
                                      undo, fsync, shift)
            except BaseException as exc:
                os.close(fd)
                if not isinstance(exc, Exception):
                    raise
                if failed(path, exc):
                    break
                continue
            if in_place:
                batch.add(fd, path, st, info.header_offset, old, out)
                results.append("in place")
                if len(batch.pending) >= group:
                    batch.commit()
            else:
                _release(fd, result)
                results.append(result)
    except Exception:
        batch.commit()
        raise
    except BaseException:
        batch.abandon()
        raise
    batch.commit()
    return results


def write_header_bytes(path, offset, old_size, new_bytes, *, undo=True,
                       fsync=True, wait=True):
    """Put raw header blocks at ``offset`` in place of ``old_size`` bytes.

    The low-level primitive under :func:`write_header` (no layout check,
    no checksum), used to restore logged headers byte for byte: in place
    when the sizes match; otherwise, at the start of the file and with an
    undo log, by shifting the data when the size difference is a whole
    shift step (:mod:`fitsmill.blockshift`), else by an atomic rewrite.

    Parameters
    ----------
    path : str or os.PathLike
    offset, old_size : int
        Where the header to replace starts and its size in bytes.
    new_bytes : bytes
        Whole 2880-byte blocks ending in an END block.
    undo, fsync, wait
        As for :func:`write_header`.

    Returns
    -------
    str
        As for :func:`write_header`, or ``"shrunk"`` (data shifted back).
    """
    if len(new_bytes) % BLOCK_SIZE or _end_card_at(new_bytes[-BLOCK_SIZE:]) < 0:
        raise ValueError("new_bytes must be whole 2880-byte blocks ending with END")
    path = os.path.abspath(os.fspath(path))
    fd, st = _open_locked(path, wait)
    try:
        old = os.pread(fd, old_size, offset)
        if len(old) != old_size:
            raise FitsFormatError(f"file ends inside the {old_size}-byte header",
                                  path=path, offset=offset + len(old))
        result = _replace(fd, path, st, offset, old, new_bytes, undo, fsync)
    except BaseException:
        os.close(fd)
        raise
    _release(fd, result)
    return result


def replacePrimaryHeaderInPlace(fitsName, newHeader):
    """DaCHS-compatible: write ``newHeader`` as the primary header.

    :func:`write_header` with its defaults (in place when it fits, atomic
    rewrite when it grows, checksums kept valid, undo log, fsync).  Unlike
    DaCHS, the in-place path cannot leave a half-written header behind and
    the data-layout keywords must not change.
    """
    if os.fspath(fitsName).endswith(".gz"):
        raise NotImplementedError(
            "replacePrimaryHeaderInPlace no longer supports gzipped files.")
    write_header(fitsName, newHeader, 0)
