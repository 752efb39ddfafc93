"""fitsmill's exception hierarchy.

Every error a user can meet derives from :class:`FitsmillError`; malformed
input is a :class:`FitsFormatError`, which is also a ``ValueError`` so code
written against astropy's behaviour keeps working.
"""

__all__ = [
    "FitsmillError", "FitsFormatError", "HeaderSpaceError",
    "CannotComputeHeader", "SkipThis", "ShellCommandFailed", "NotSolved",
]


class FitsmillError(Exception):
    """Base class of all fitsmill errors."""


class FitsFormatError(FitsmillError, ValueError):
    """Malformed FITS input.

    Parameters
    ----------
    message : str
        What is wrong, in one line.
    path : str or os.PathLike, optional
        The file concerned; it prefixes the message.
    offset : int, optional
        Byte offset in the file where the problem was found.
    """

    def __init__(self, message, path=None, offset=None):
        self.reason = message
        self.path = None if path is None else str(path)
        self.offset = offset
        text = message
        if offset is not None:
            text = f"{text} (at byte {offset})"
        if self.path is not None:
            text = f"{self.path}: {text}"
        super().__init__(text)


class HeaderSpaceError(FitsmillError):
    """A new header needs more 2880-byte blocks than the file has and growing
    the file was forbidden."""


class CannotComputeHeader(FitsmillError):
    """A header processor could not compute a header for a source."""


class SkipThis(FitsmillError):
    """Raised by a processor to skip a source silently."""


class ShellCommandFailed(FitsmillError):
    """An external program failed.

    Parameters
    ----------
    message : str
        What failed.
    returncode : int, optional
        The program's exit status.
    command : list of str, optional
        The argument list that was run.
    log_path : str, optional
        Where the program's output was saved.
    """

    def __init__(self, message, returncode=None, command=None, log_path=None):
        self.returncode = returncode
        self.command = command
        self.log_path = log_path
        text = message
        if returncode is not None:
            text = f"{text} (exit status {returncode})"
        if log_path is not None:
            text = f"{text}; see {log_path}"
        super().__init__(text)


class NotSolved(FitsmillError):
    """astrometry.net found no solution for a field."""
