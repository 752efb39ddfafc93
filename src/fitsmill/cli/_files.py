"""Helpers shared by the file-editing commands (headers, checksum, verify):
the file list, the one-line failure report and the run's undo log."""

import os

from fitsmill.errors import FitsmillError

__all__ = ["expand_files", "one_line", "open_undo_log", "ERRORS"]

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


def open_undo_log(args, prog):
    """The undo log of a command run, or None with ``--no-undo``.

    Parameters
    ----------
    args : argparse.Namespace
        With ``undo_dir``, ``no_undo`` and ``no_fsync``.
    prog : str
        The command, for the message when the log cannot be created.
    """
    if args.no_undo:
        return None
    from fitsmill.undolog import UndoLog, default_undo_dir
    try:
        return UndoLog(args.undo_dir, fsync=not args.no_fsync)
    except OSError as exc:
        where = args.undo_dir or default_undo_dir()
        raise SystemExit(f"{prog}: cannot create an undo log in {where}: "
                         f"{exc.strerror} (use --undo-dir or --no-undo)") from None
