"""Helpers shared by the file-editing commands (headers, checksum, verify):
the file list and the one-line failure report."""

import os

from fitsmill.errors import FitsmillError

__all__ = ["expand_files", "one_line", "ERRORS"]

#: The exceptions a per-file command reports and survives.
ERRORS = (FitsmillError, OSError, ValueError, KeyError)


def expand_files(specs):
    """Absolute paths from paths, globs (``**`` recurses) and ``@listfile``
    entries, each once, in order."""
    from fitsmill.sources import PathSources
    return list(PathSources(specs))


def one_line(path, exc):
    """The one-line report of a failure on ``path``, naming the file once."""
    if isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.filename or path}: {exc.strerror}"
    elif isinstance(exc, KeyError) and exc.args:
        text = str(exc.args[0])
    else:
        text = str(exc) or type(exc).__name__
    if os.path.basename(str(path)) not in text:
        text = f"{path}: {text}"
    return " ".join(text.split("\n"))
