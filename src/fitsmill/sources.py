"""What a processor iterates over: DaCHS resource descriptors, globs, lists.

Two kinds of source specification exist:

* :class:`SourceSpec` mirrors a DaCHS RD's ``<sources>`` element and
  expands exactly as DaCHS does: ``item`` strings first, then every
  ``pattern`` in RD order (the directory part joined to the resdir; with
  ``recurse`` every descendant directory too, dot-directories skipped;
  directories in sorted order, each directory's sorted glob matches made
  absolute), finally the element's text content.  Sources matching the
  ``<ignoreSources>`` rules (``fromfile`` lists, fnmatch ``pattern``s, both
  on the inputsDir-relative path) are dropped.  Unlike DaCHS, recursion is
  guarded against symlink cycles and the text content is taken relative to
  the resdir.
* :class:`PathSources` is what the command line and
  ``procmain(sources=[...])`` give: paths, shell globs (``**`` recurses) and
  ``@listfile`` entries.

:func:`load_rd` reads an RD file as XML without executing any of its code,
giving a :class:`ResourceDescriptor` whose :meth:`~ResourceDescriptor.getById`
returns the :class:`DataDescriptor` a processor receives as ``dd``.
"""

import fnmatch
import glob
import logging
import os
import re
import xml.etree.ElementTree as ElementTree

from fitsmill import config
from fitsmill.errors import FitsmillError

__all__ = ["SourceSpec", "IgnoreSpec", "PathSources", "DataDescriptor",
           "ResourceDescriptor", "load_rd", "RDError", "PropertyNotFound",
           "relative_to_inputs"]

log = logging.getLogger(__name__)
_NO_DEFAULT = object()
_TRUE_WORDS = {"true", "1", "yes", "on"}


class RDError(FitsmillError):
    """A resource descriptor cannot be read or lacks what is asked for."""


class PropertyNotFound(FitsmillError, KeyError):
    """A data descriptor property that was asked for without a default."""

    def __str__(self):
        return str(self.args[0]) if self.args else "property not found"


def relative_to_inputs(path, inputs_dir=None):
    """Return ``path`` relative to the inputs directory.

    The test is path-aware: ``/data/inputs2/x`` is *not* below
    ``/data/inputs`` (DaCHS's string-prefix test says it is).  Paths that
    are below it only once symlinks are resolved count as below it.

    Parameters
    ----------
    path : str or os.PathLike
        A file path; relative paths are taken relative to the current
        directory.
    inputs_dir : str, optional
        The inputs directory; by default :func:`fitsmill.config.inputs_dir`.

    Returns
    -------
    str
        The relative path, with "/" separators.

    Raises
    ------
    ValueError
        When ``path`` is not below the inputs directory.
    """
    base = os.path.abspath(inputs_dir if inputs_dir is not None
                           else config.inputs_dir())
    full = os.path.abspath(os.fspath(path))
    # The literal paths first (a symlink inside the inputs tree keeps its
    # name), then with symlinks resolved (an inputs directory reached
    # through a symlink, e.g. /var/gavo/inputs -> /data/inputs).
    if full.startswith(base) and full[len(base):len(base) + 1] == os.sep:
        return full[len(base) + 1:]
    top, child = os.path.realpath(base), os.path.realpath(full)
    if child != top and os.path.commonpath([top, child]) == top:
        return os.path.relpath(child, top)
    raise ValueError(f"{os.fspath(path)}: not below the inputs directory {base}")


class IgnoreSpec:
    """DaCHS's ``<ignoreSources>``: sources left out of an iteration.

    Parameters
    ----------
    fromfiles : sequence of str
        Files listing inputsDir-relative paths, one per line; blank lines and
        lines starting with "#" are skipped.  Read when first needed.
    patterns : sequence of str
        fnmatch patterns ("/" is not special) matched against the
        inputsDir-relative path.
    inputs_dir : str, optional
        The inputs directory; by default the configured one, resolved when
        used.
    """

    def __init__(self, fromfiles=(), patterns=(), inputs_dir=None):
        self.fromfiles = list(fromfiles)
        self.patterns = list(patterns)
        self.inputs_dir = inputs_dir
        self._listed = None
        self._regex = None

    def __getstate__(self):
        # Workers rebuild the caches lazily; the compiled regex need not travel.
        state = self.__dict__.copy()
        state["_listed"] = state["_regex"] = None
        return state

    def _prepare(self):
        listed = set()
        for name in self.fromfiles:
            try:
                with open(name, encoding="utf-8", errors="surrogateescape") as f:
                    listed.update(ln.strip() for ln in f
                                  if ln.strip() and not ln.lstrip().startswith("#"))
            except OSError as exc:
                raise RDError(f"ignoreSources fromfile {name}: {exc.strerror}") from None
        self._listed = listed
        if self.patterns:
            self._regex = re.compile("|".join(
                f"(?:{fnmatch.translate(p)})" for p in self.patterns))

    def is_ignored(self, source):
        """Return True if ``source`` is ignored.

        Absolute paths are matched by their inputsDir-relative form, other
        strings (``item``s) as they are.
        """
        if not self.fromfiles and not self.patterns:
            return False
        if self._listed is None:
            self._prepare()
        key = os.fspath(source)
        if os.path.isabs(key):
            try:
                key = relative_to_inputs(key, self.inputs_dir)
            except ValueError:
                pass
        if key in self._listed:
            return True
        return self._regex is not None and self._regex.match(key) is not None


def _walk_dirs(top):
    """Return ``top``'s descendant directories (symlinks followed, dot
    directories skipped), guarding against symlink cycles."""
    found = []

    def visit(directory, ancestors):
        try:
            entries = list(os.scandir(directory))
        except OSError as exc:
            log.warning("cannot list %s: %s", directory, exc.strerror)
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if not entry.is_dir():
                    continue
                real = os.path.realpath(entry.path)
            except OSError:
                continue
            if real in ancestors:
                log.warning("symlink cycle at %s skipped", entry.path)
                continue
            found.append(entry.path)
            visit(entry.path, ancestors | {real})

    visit(top, {os.path.realpath(top)})
    return found


class SourceSpec:
    """DaCHS's ``<sources>`` element (see the module docstring for the order).

    Parameters
    ----------
    resdir : str
        Directory the patterns and the text content are relative to.
    patterns : sequence of str
        Shell globs, in RD order.
    items : sequence of str
        Literal identifiers, yielded first and verbatim.
    recurse : bool
        Also look for each pattern's base name in every descendant directory.
    content : str, optional
        The element's text content: one more file name.
    ignore : IgnoreSpec, optional
        Sources to leave out.
    """

    def __init__(self, resdir, patterns=(), items=(), recurse=False,
                 content=None, ignore=None):
        self.resdir = resdir
        self.patterns = list(patterns)
        self.items = list(items)
        self.recurse = bool(recurse)
        self.content = content
        self.ignore = ignore if ignore is not None else IgnoreSpec()

    def __iter__(self):
        ignored = self.ignore.is_ignored
        for item in self.items:
            if not ignored(item):
                yield item
        for pattern in self.patterns:
            dir_part, base_name = os.path.split(pattern)
            top = os.path.join(self.resdir, dir_part)
            dirs = [top]
            if self.recurse:
                tops = sorted(glob.glob(top)) if glob.has_magic(top) else [top]
                for start in tops:
                    dirs.extend(_walk_dirs(start))
            for directory in sorted(dirs):
                for name in sorted(glob.glob(os.path.join(directory, base_name))):
                    full = os.path.abspath(name)
                    if not ignored(full):
                        yield full
        if self.content:
            yield os.path.abspath(os.path.join(self.resdir, self.content))


class PathSources:
    """Sources named on the command line or in ``procmain(sources=[...])``.

    Each entry is expanded in order:

    * ``@FILE``: the paths listed in FILE, one per line (blank lines and
      lines starting with "#" skipped), each relative to the current
      directory unless absolute;
    * a shell glob (``*``, ``?``, ``[...]``; ``**`` matches any depth):
      its matches, sorted;
    * anything else: the path itself, even if it does not exist (the
      processor then reports it as a failed source).

    All paths come out absolute; a path listed twice is yielded once.

    Parameters
    ----------
    specs : sequence of str or os.PathLike
        The entries.
    """

    def __init__(self, specs):
        if isinstance(specs, (str, os.PathLike)):
            specs = [specs]
        self.specs = [os.fspath(s) for s in specs]

    def _expand(self, spec):
        if spec.startswith("@"):
            with open(spec[1:], encoding="utf-8", errors="surrogateescape") as f:
                for line in f:
                    entry = line.rstrip("\r\n")
                    if entry.strip() and not entry.lstrip().startswith("#"):
                        yield os.path.abspath(entry)
        elif glob.has_magic(spec):
            matches = sorted(glob.glob(spec, recursive=True))
            if not matches:
                log.warning("no file matches %s", spec)
            for name in matches:
                yield os.path.abspath(name)
        else:
            yield os.path.abspath(spec)

    def __iter__(self):
        seen = set()
        for spec in self.specs:
            for path in self._expand(spec):
                if path not in seen:
                    seen.add(path)
                    yield path


class DataDescriptor:
    """What a processor receives as ``dd``: sources and properties.

    Parameters
    ----------
    id : str
        The data element's id.
    rd : ResourceDescriptor
        The resource it belongs to (``dd.rd.resdir`` is its directory).
    sources : iterable
        What ``FileProcessor.iterIdentifiers`` iterates by default.
    properties : dict, optional
        ``<property key=...>`` values.
    """

    def __init__(self, id, rd, sources=(), properties=None):
        self.id = id
        self.rd = rd
        self.sources = sources
        self.properties = dict(properties or {})
        # DaCHS processors sometimes look at dd.makes (the tables a data
        # element feeds); there is no database here, so there are none.
        self.makes = []

    def getProperty(self, key, default=_NO_DEFAULT):
        """Return a property value (DaCHS name).

        Raises
        ------
        PropertyNotFound
            When ``key`` is not set and no ``default`` is given.
        """
        try:
            return self.properties[key]
        except KeyError:
            if default is not _NO_DEFAULT:
                return default
            raise PropertyNotFound(
                f"data {self.id!r} has no property {key!r}") from None

    def __repr__(self):
        return f"<DataDescriptor {self.id!r} of {self.rd!r}>"


class ResourceDescriptor:
    """A DaCHS resource descriptor, as far as file processing needs it.

    Parameters
    ----------
    id : str or None
        The RD id (``"potsdam/q"``), None for an ad-hoc resource.
    resdir : str
        The resource directory (absolute).
    path : str, optional
        The RD file.
    """

    def __init__(self, id, resdir, path=None):
        self.id = id
        self.resdir = os.path.abspath(resdir)
        self.path = path
        self.datas = {}

    def getAbsPath(self, rel):
        """Return ``rel`` joined to the resdir (DaCHS name)."""
        return os.path.join(self.resdir, rel)

    def getById(self, id):
        """Return the data descriptor with ``id``.

        Raises
        ------
        RDError
            When the RD has no such data element.
        """
        try:
            return self.datas[id]
        except KeyError:
            known = ", ".join(sorted(self.datas)) or "none"
            raise RDError(f"{self.path or self.id}: no <data id={id!r}>"
                          f" (data ids: {known})") from None

    def __repr__(self):
        return f"<ResourceDescriptor {self.id!r} at {self.resdir}>"


def _local(tag):
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _values(el, name):
    """DaCHS lets any attribute also be written as a child element: return the
    attribute's value followed by those of the children called ``name``."""
    found = [el.get(name)] if el.get(name) is not None else []
    found += [(c.text or "").strip() for c in el if _local(c.tag) == name]
    return found


def _own_text(el):
    return (el.text or "").strip()


def _truth(values, where):
    if not values:
        return False
    word = values[-1].strip().lower()
    if word in _TRUE_WORDS or word in {"false", "0", "no", "off"}:
        return word in _TRUE_WORDS
    raise RDError(f"{where}: {values[-1]!r} is not a boolean")


def _parse_ignore(el, rd_path, rd, inputs_dir):
    if _values(el, "fromdb"):
        raise RDError(f"{rd_path}: <ignoreSources fromdb=...> needs the DaCHS"
                      " database, which fitsmill does not use; list the sources"
                      " in a file and use fromfile= instead")
    return IgnoreSpec(fromfiles=[rd.getAbsPath(f) for f in _values(el, "fromfile")],
                      patterns=_values(el, "pattern"), inputs_dir=inputs_dir)


def _parse_sources(el, rd_path, rd, inputs_dir):
    ignores = [_parse_ignore(c, rd_path, rd, inputs_dir)
               for c in el if _local(c.tag) == "ignoreSources"]
    ignore = IgnoreSpec(
        fromfiles=[f for i in ignores for f in i.fromfiles],
        patterns=[p for i in ignores for p in i.patterns], inputs_dir=inputs_dir)
    return SourceSpec(rd.resdir, patterns=_values(el, "pattern"),
                      items=_values(el, "item"),
                      recurse=_truth(_values(el, "recurse"), rd_path),
                      content=_own_text(el) or None, ignore=ignore)


def load_rd(rd_id, inputs_dir=None):
    """Read a DaCHS resource descriptor (XML only; no RD code is executed).

    Parameters
    ----------
    rd_id : str
        An RD id such as ``"potsdam/q"`` (the file ``inputsDir/potsdam/q.rd``),
        or a path to an ``.rd`` file.
    inputs_dir : str, optional
        The inputs directory; by default the configured one.

    Returns
    -------
    ResourceDescriptor
        With one :class:`DataDescriptor` per ``<data id=...>``.

    Raises
    ------
    RDError
        When the file is missing or malformed, or uses ``fromdb``.
    """
    base = os.path.abspath(inputs_dir if inputs_dir is not None
                           else config.inputs_dir())
    path = os.path.join(base, rd_id if rd_id.endswith(".rd") else rd_id + ".rd")
    try:
        root = ElementTree.parse(path).getroot()
    except OSError as exc:
        raise RDError(f"{path}: cannot read resource descriptor"
                      f" {rd_id!r}: {exc.strerror}") from None
    except ElementTree.ParseError as exc:
        raise RDError(f"{path}: malformed resource descriptor: {exc}") from None
    resdir_values = _values(root, "resdir")
    resdir = (os.path.join(base, resdir_values[-1]) if resdir_values
              else os.path.dirname(path))
    rd = ResourceDescriptor(rd_id[:-3] if rd_id.endswith(".rd") else rd_id,
                            resdir, path)
    for data in root.iter():
        if _local(data.tag) != "data" or data.get("id") is None:
            continue
        source_els = [c for c in data if _local(c.tag) == "sources"]
        sources = (_parse_sources(source_els[-1], path, rd, inputs_dir)
                   if source_els else SourceSpec(rd.resdir))
        properties = {}
        for prop in data:
            if _local(prop.tag) == "property":
                key = prop.get("key", prop.get("name"))
                if key is None:
                    raise RDError(f"{path}: <property> without key")
                properties[key] = _own_text(prop)
        rd.datas[data.get("id")] = DataDescriptor(data.get("id"), rd, sources,
                                                  properties)
    return rd
