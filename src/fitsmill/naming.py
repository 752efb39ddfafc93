"""Preview naming policies: where the preview of an accref lives.

Two policies reproduce DaCHS's ``products#define`` macros, so DaCHS finds
previews that fitsmill made and the other way round:

``standard``
    DaCHS's ``\\standardPreviewPath``: one flat directory, the file name is
    the accref in standard base64 with the alternative characters ``$``
    and ``!`` (for ``+`` and ``/``), ``=`` padding kept, no extension.
    ``data/a.imp`` becomes ``ZGF0YS9hLmltcA==``.
``split:EXT``
    DaCHS's ``\\splitPreviewPath{EXT}``: the accref tree mirrored under the
    preview directory, ``EXT`` appended (``data/a.fits`` with ``.jpeg``
    becomes ``data/a.fits.jpeg``).  Recommended beyond a few 10^4 files,
    where one flat directory gets slow.

Accrefs are inputs-relative paths.  An accref that is absolute or has a
``..`` component is refused for both policies: it is either a mistake or
an attempt to write outside the preview directory.
"""

import base64
import binascii
import os
import posixpath

__all__ = ["validate_accref", "flat_name", "accref_from_flat_name",
           "standard_preview_path", "split_preview_path", "NamingPolicy"]

_ALTCHARS = b"$!"


def validate_accref(accref):
    """Return ``accref`` if it is a safe inputs-relative path, else raise.

    Parameters
    ----------
    accref : str
        An inputs-relative path with ``/`` separators.

    Returns
    -------
    str
        The accref, unchanged.

    Raises
    ------
    ValueError
        The accref is empty, absolute, contains a NUL or has a ``..``
        component, so a preview path built from it could leave the preview
        directory.
    """
    if not isinstance(accref, str):
        raise ValueError(f"accref must be a string, not {type(accref).__name__}")
    if not accref or "\0" in accref:
        raise ValueError(f"invalid accref {accref!r}")
    if accref.startswith("/") or os.path.isabs(accref):
        raise ValueError(f"accref {accref!r} is absolute; accrefs are "
                         "inputs-relative paths")
    if ".." in accref.replace("\\", "/").split("/"):
        raise ValueError(f"accref {accref!r} would escape the preview directory")
    return accref


def flat_name(accref):
    """DaCHS's ``getFlatName``: the accref as one file name.

    Parameters
    ----------
    accref : str
        An inputs-relative path.

    Returns
    -------
    str
        Standard base64 of the UTF-8 accref with ``$!`` replacing ``+/``,
        padding kept.

    Examples
    --------
    >>> flat_name("data/a.imp")
    'ZGF0YS9hLmltcA=='
    """
    validate_accref(accref)
    return base64.b64encode(accref.encode("utf-8"), altchars=_ALTCHARS).decode("ascii")


def accref_from_flat_name(name):
    """Invert :func:`flat_name`; return None when ``name`` is not one.

    Parameters
    ----------
    name : str
        A file name from a ``standard`` preview directory.

    Returns
    -------
    str or None
        The accref, or None when the name is not padded base64 of a UTF-8
        text that is a valid accref (so that stray files are recognised).
    """
    if not name or len(name) % 4:
        return None
    try:
        raw = base64.b64decode(name.encode("ascii"), altchars=_ALTCHARS,
                               validate=True)
        accref = raw.decode("utf-8")
        validate_accref(accref)
    except (UnicodeError, binascii.Error, ValueError):
        return None
    if not accref.isprintable():
        return None
    return accref


def standard_preview_path(accref, preview_dir):
    """Path of the ``standard`` preview of ``accref`` in ``preview_dir``."""
    return os.path.join(preview_dir, flat_name(accref))


def split_preview_path(accref, preview_dir, ext):
    """Path of the ``split:EXT`` preview of ``accref`` in ``preview_dir``."""
    validate_accref(accref)
    return os.path.join(preview_dir, *accref.split("/")) + ext


class NamingPolicy:
    """A parsed naming policy (``"standard"`` or ``"split:EXT"``).

    Parameters
    ----------
    spec : str
        ``"standard"``, or ``"split:EXT"`` where EXT is appended to the
        mirrored accref (usually ``.jpeg`` or ``.png``; may be empty).

    Attributes
    ----------
    kind : str
        ``"standard"`` or ``"split"``.
    ext : str
        The extension of ``split`` previews (``""`` for ``standard``).
    """

    def __init__(self, spec):
        kind, sep, ext = str(spec).partition(":")
        if kind == "standard" and not sep:
            self.kind, self.ext = "standard", ""
        elif kind == "split" and sep:
            if "/" in ext or os.sep in ext:
                raise ValueError(f"naming {spec!r}: the extension may not "
                                 "contain a path separator")
            self.kind, self.ext = "split", ext
        else:
            raise ValueError(f"unknown naming policy {spec!r}; use 'standard' "
                             "or 'split:EXT' (e.g. split:.jpeg)")

    def __repr__(self):
        return f"NamingPolicy({str(self)!r})"

    def __str__(self):
        return "standard" if self.kind == "standard" else f"split:{self.ext}"

    def preview_path(self, accref, preview_dir):
        """Return the preview path of ``accref`` under ``preview_dir``."""
        if self.kind == "standard":
            return standard_preview_path(accref, preview_dir)
        return split_preview_path(accref, preview_dir, self.ext)

    def accref_for(self, path, preview_dir):
        """Return the accref a preview file belongs to, or None.

        Parameters
        ----------
        path : str
            A file under ``preview_dir``.
        preview_dir : str
            The preview directory.

        Returns
        -------
        str or None
            None when ``path`` is not a preview of this policy (a stray
            file, a temporary file, a wrong extension).
        """
        return self.accref_from_relative(
            os.path.relpath(path, preview_dir).replace(os.sep, "/"))

    def accref_from_relative(self, rel):
        """Like :meth:`accref_for`, given the path relative to the preview
        directory (``/`` separators)."""
        if self.kind == "standard":
            return None if "/" in rel else accref_from_flat_name(rel)
        if not rel.endswith(self.ext) or rel.startswith("../"):
            return None
        accref = rel[:len(rel) - len(self.ext)] if self.ext else rel
        if not posixpath.basename(accref) or posixpath.basename(accref).startswith("."):
            return None
        return accref
