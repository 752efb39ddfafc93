"""Atomic file creation: temporary file in the target directory, then rename.

A reader (or a rerun after a crash) sees either the old file or the whole
new one, never a partial file.  New files get the mode an ordinary
``open()`` would give them (0666 minus the umask), not mkstemp's 0600.
"""

import os
import tempfile

__all__ = ["atomic_write", "process_umask"]

_UMASK = None


def process_umask():
    """Return the process umask without changing it.

    Read from ``/proc/self/status`` where available, since setting and
    restoring the umask to read it races with other threads.
    """
    global _UMASK
    if _UMASK is None:
        try:
            with open("/proc/self/status", encoding="ascii") as f:
                _UMASK = next(int(line.split()[1], 8) for line in f
                              if line.startswith("Umask:"))
        except (OSError, StopIteration, ValueError):
            _UMASK = os.umask(0o022)
            os.umask(_UMASK)
    return _UMASK


def atomic_write(path, data, *, fsync=True, makedirs=True):
    """Create or replace ``path`` atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The target file.
    data : bytes or iterable of bytes
        The whole content, or chunks written in turn (a generator that
        raises leaves no trace: the temporary file is removed).
    fsync : bool, optional
        Flush the file to disk before the rename (and the directory after
        it), so a crash cannot leave an empty file under the final name.
    makedirs : bool, optional
        Create missing parent directories (modes from the umask).
    """
    path = os.fspath(path)
    directory = os.path.dirname(path) or "."
    if makedirs:
        os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            if isinstance(data, (bytes, bytearray, memoryview)):
                f.write(data)
            else:
                for chunk in data:
                    f.write(chunk)
            os.fchmod(f.fileno(), 0o666 & ~process_umask())
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if fsync:
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
