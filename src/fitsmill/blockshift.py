"""Growing (or shrinking) the header at the start of a file without copying
the data.

File systems with extents (ext4, XFS) can insert a range of blocks into a
file, or remove one, by shifting the extents after it
(:mod:`fitsmill._fileops`): the data bytes stay on disk untouched, the file
keeps its inode, hard links, ACLs and extended attributes, and a 2 GB plate
grows its header in milliseconds instead of the second a copy takes.

Unlike a copy renamed over the original, the shift changes the file that
other programs have open: one reading the data while it moves (a viewer
with the file memory-mapped) sees them at the new offsets.  The file system
also drops the file's cached pages.

The shift must be a whole number of file-system blocks and of FITS blocks:
with 4096-byte blocks, multiples of 184320 bytes (64 FITS blocks).  So a
header that grows this way gets blank headroom up to the next multiple
(later edits then fit in place), and only where the bytes after the header
are many (:data:`MIN_SHIFTED`): for small files a copy is cheap and the
headroom would be a noticeable part of the file.

Crash safety comes from the undo log: the old header bytes are logged
before the file changes, and :func:`roll_back` (used by
:func:`fitsmill.undolog.recover`) turns a half-done shift back into the
original file.  The steps are one atomic metadata operation (the shift) and
one header write; a process killed between them leaves a file whose first
blocks are zeros until ``fitsmill headers recover`` runs, so writes without
an undo log never shift (they copy, and a rename makes them atomic).
"""

import errno
import math
import os

from fitsmill._fileops import collapse_range, insert_range
from fitsmill.atomic import pwrite_all

__all__ = ["MIN_SHIFTED", "grown_blocks", "resize", "roll_back"]

_BLOCK = 2880
# File systems whose block size would force more headroom than this (in FITS
# blocks) are left to copying.
_MAX_UNIT = 64
MIN_SHIFTED = 16 * 2**20
"""Bytes after the header from which a growing header shifts the data
instead of copying them."""

# Devices whose file system refused a shift: not asked again.
_REFUSED = set()
_NOT_SUPPORTED = (errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL)


def _unit(fd, st):
    """FITS blocks per shift step on the file system of ``fd`` (whose
    fstat is ``st``), None when it cannot shift (as far as is known)."""
    if st.st_dev in _REFUSED:
        return None
    blocks = math.lcm(_BLOCK, os.fstatvfs(fd).f_bsize) // _BLOCK
    return blocks if blocks <= _MAX_UNIT else None


def grown_blocks(fd, offset, have, blocks):
    """How many blocks a header at ``offset`` that has ``have`` blocks and
    needs ``blocks`` gets: ``blocks`` rounded up to a whole shift step when
    the header starts the file and enough bytes follow it, else ``blocks``."""
    if offset != 0:
        return blocks
    st = os.fstat(fd)
    if st.st_size - have * _BLOCK < MIN_SHIFTED:
        return blocks
    unit = _unit(fd, st)
    if unit is None:
        return blocks
    return have + -(-(blocks - have) // unit) * unit


def _shiftable(fd, st, delta):
    """Whether a header at the start of the file can change size by
    ``delta`` bytes by a shift."""
    unit = _unit(fd, st) if delta else None
    return unit is not None and delta % (unit * _BLOCK) == 0


def resize(fd, path, st, old, new, log, fsync):
    """Put ``new`` in place of the ``old`` header bytes at the start of the
    file, moving everything after them by the size difference.

    Parameters
    ----------
    fd : int
        The file, open for writing and locked.
    path : str
    st : os.stat_result
        The file's state before the write (for the undo log).
    old, new : bytes
        The header region as it is and as it will be (whole blocks).
    log : fitsmill.undolog.UndoLog or None
    fsync : bool

    Returns
    -------
    str or None
        ``"grown"`` or ``"shrunk"``; None without an undo log, when the
        sizes do not allow a shift or when the file system cannot do it
        (nothing was changed; the caller copies instead).
    """
    delta = len(new) - len(old)
    if log is None or not _shiftable(fd, st, delta):
        return None
    seq = log.begin(path, 0, old, new, st, "insert" if delta > 0 else "collapse",
                    fsync=fsync)
    try:
        if delta > 0:
            insert_range(fd, 0, delta, path)
        else:
            # the tail of the old header takes the new header's place
            collapse_range(fd, 0, -delta, path)
    except OSError as exc:
        log.void(seq)
        if exc.errno not in _NOT_SUPPORTED:
            raise
        _REFUSED.add(st.st_dev)
        return None
    try:
        pwrite_all(fd, new, 0)
    except BaseException:
        roll_back(fd, old, delta)
        log.void(seq)
        raise
    if fsync:
        os.fdatasync(fd)
    log.done(seq, os.fstat(fd))
    return "grown" if delta > 0 else "shrunk"


def roll_back(fd, old, delta):
    """Make a file that :func:`resize` left after its shift (by ``delta``
    bytes) and before or during its header write what it was before: the
    ``old`` header bytes back at the start, the data where they were."""
    if delta > 0:
        pwrite_all(fd, old, delta)
        collapse_range(fd, 0, delta)
    else:
        insert_range(fd, 0, -delta)
        pwrite_all(fd, old, 0)
