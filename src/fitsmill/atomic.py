"""Atomic file creation: the content is written to a file without a name
(or a temporary one) in the target directory, which then gets the target's
name.

A reader (or a rerun after a crash) sees either the old file or the whole
new one, never a partial file.  Where Linux's ``O_TMPFILE`` works (ext4,
XFS, Btrfs, tmpfs...), a new target is written as an unnamed file and
linked under its name once complete: one directory entry is made instead
of a temporary one made, renamed and removed, and a crash leaves no
temporary file behind.  An existing target is replaced by renaming a
temporary file over it.  Files are created with mode 0666, so the final
file gets the mode an ordinary ``open()`` would give it (0666 minus the
umask), and directories are created with 0777 minus the umask.
"""

import errno
import itertools
import os

__all__ = ["atomic_write", "fsync_directory", "discard", "pwrite_all"]

_serial = itertools.count()
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _CLOEXEC
_UNNAMED_FLAGS = os.O_WRONLY | getattr(os, "O_TMPFILE", 0) | _CLOEXEC

# Whether unnamed files can be given a name in this process (through
# /proc/self/fd, which a sandbox may lack); directories whose file system
# cannot make them (bounded: a few file systems per run).
_unnamed = hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd")
_NO_UNNAMED = set()


def _temp_name(prefix, base):
    """A new hidden temporary name next to the target: ``prefix`` is the
    target's path up to its name, ``base``."""
    # The base is cut so that the temporary name stays within NAME_MAX
    # (255) whenever the final name does.
    return f"{prefix}.{base[:200]}.{os.getpid()}.{next(_serial)}.tmp"


def _create_temp(prefix, base, directory, makedirs):
    """Open a new temporary file next to the target (see :func:`_temp_name`)."""
    while True:
        tmp = _temp_name(prefix, base)
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
        Flush the file to disk before it gets its name and the directory
        after that, so that after a crash the file is either absent or
        complete.  Without it the naming is still atomic for running
        readers, but a crash may leave an empty file (callers that skip
        existing files should treat empty ones as missing).  It costs a
        disk flush per file, often far more than writing a small preview.
    makedirs : bool, optional
        Create missing parent directories.
    """
    path = os.fspath(path)
    # (str operations: os.path.split and join cost more than the writing
    # of a small file's bytes)
    head, sep, base = path.rpartition("/")
    directory = (head.rstrip("/") or "/") if sep else "."
    # (replacing a file costs more the unnamed way: it is taken only for
    # files that do not exist yet)
    if _unnamed and isinstance(data, (bytes, bytearray, memoryview)) and \
            directory not in _NO_UNNAMED and not os.access(path, os.F_OK) and \
            _write_unnamed(path, head + sep, base, directory, data, fsync):
        if fsync:
            fsync_directory(directory)
        return
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


def _write_unnamed(path, prefix, base, directory, data, fsync):
    """Write ``data`` to an unnamed file in ``directory`` and give it the
    name ``path`` (replacing a file of that name through a temporary
    name).  Returns False, having created nothing, where unnamed files
    cannot be made or named (the caller then takes the temporary file's
    way)."""
    global _unnamed
    try:
        fd = os.open(directory, _UNNAMED_FLAGS, 0o666)
    except OSError as exc:
        # (a missing directory is made, and any other error reported, by
        # the ordinary way)
        if exc.errno != errno.ENOENT and len(_NO_UNNAMED) < 64:
            _NO_UNNAMED.add(directory)
        return False
    try:
        _write_all(fd, data)
        if fsync:
            os.fsync(fd)
        # (src_dir_fd makes os.link call linkat, which follows the /proc
        # link to the file; the absolute source path ignores it)
        name = f"/proc/self/fd/{fd}"
        try:
            os.link(name, path, src_dir_fd=fd)
        except FileExistsError:
            _link_over(name, fd, prefix, base, path)
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.EXDEV, errno.EPERM, errno.EACCES):
                raise
            # /proc cannot name the file here: never try again
            _unnamed = False
            return False
    finally:
        os.close(fd)
    return True


def _link_over(name, fd, prefix, base, path):
    """Give the unnamed file ``name`` (descriptor ``fd``) a temporary name
    next to ``path`` and rename it over ``path``."""
    while True:
        tmp = _temp_name(prefix, base)
        try:
            os.link(name, tmp, src_dir_fd=fd)
            break
        except FileExistsError:
            continue  # a leftover of a killed process with the same pid
    try:
        os.replace(tmp, path)
    except BaseException:
        discard(tmp)
        raise


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
