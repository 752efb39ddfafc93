"""Atomic file creation: temporary file in the target directory, then rename.

A reader (or a rerun after a crash) sees either the old file or the whole
new one, never a partial file.  The temporary file is created with mode
0666, so the final file gets the mode an ordinary ``open()`` would give it
(0666 minus the umask), and directories are created with 0777 minus the
umask.
"""

import itertools
import os

__all__ = ["atomic_write", "fsync_directory", "discard", "pwrite_all"]

_serial = itertools.count()
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def _create_temp(prefix, base, directory, makedirs):
    """Open a new hidden temporary file next to the target: ``prefix`` is
    the target's path up to its name, ``base``."""
    while True:
        # The base is cut so that the temporary name stays within NAME_MAX
        # (255) whenever the final name does.
        tmp = f"{prefix}.{base[:200]}.{os.getpid()}.{next(_serial)}.tmp"
        try:
            return tmp, os.open(tmp, _FLAGS, 0o666)
        except FileExistsError:
            continue  # a leftover of a killed process with the same pid
        except FileNotFoundError:
            if not makedirs:
                raise
            os.makedirs(directory, exist_ok=True)
            makedirs = False


def atomic_write(path, data, *, fsync=False, makedirs=True):
    """Create or replace ``path`` atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The target file.
    data : bytes or iterable of bytes
        The whole content, or chunks written in turn (a generator that
        raises leaves no trace: the temporary file is removed).
    fsync : bool, optional
        Flush the file to disk before the rename and the directory after
        it, so that after a crash the file is either absent or complete.
        Without it the rename is still atomic for running readers, but a
        crash may leave an empty file (callers that skip existing files
        should treat empty ones as missing).  It costs a disk flush per
        file, often far more than writing a small preview.
    makedirs : bool, optional
        Create missing parent directories.
    """
    path = os.fspath(path)
    # (str operations: os.path.split and join cost more than the writing
    # of a small file's bytes)
    head, sep, base = path.rpartition("/")
    directory = (head.rstrip("/") or "/") if sep else "."
    tmp, fd = _create_temp(head + sep, base, directory, makedirs)
    try:
        # Straight to the descriptor: a buffered file object would cost
        # several system calls of its own per (often tiny) file.
        try:
            if isinstance(data, (bytes, bytearray, memoryview)):
                _write_all(fd, data)
            else:
                for chunk in data:
                    _write_all(fd, chunk)
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        discard(tmp)
        raise
    if fsync:
        fsync_directory(directory)


def _write_all(fd, data):
    if data.__class__ is bytes:
        written = os.write(fd, data)  # all of it, as a rule
        if written == len(data):
            return
        data = data[written:]
    view = memoryview(data).cast("B")
    while view:
        view = view[os.write(fd, view):]


def pwrite_all(fd, data, offset):
    """Write all of ``data`` at ``offset`` of ``fd`` (pwrite may write less)."""
    n = os.pwrite(fd, data, offset)
    if n == len(data):
        return
    view = memoryview(data)[n:]
    offset += n
    while view:
        n = os.pwrite(fd, view, offset)
        view = view[n:]
        offset += n


def fsync_directory(directory):
    """Flush a directory's entries (a rename or a new file in it) to disk."""
    dfd = os.open(directory or ".", os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def discard(tmp):
    """Remove a temporary file that a failed write leaves behind, if any."""
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
