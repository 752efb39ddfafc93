"""Settings DaCHS scripts ask for: ``inputsDir`` and the other path items.

Every value is resolved when it is asked for, never at import, so a change
of environment or command line between runs (or between tests) is seen.
``inputsDir`` is found with this precedence, first hit wins:

1. an override set for this process (``--inputs-dir``, see :func:`set_override`);
2. the environment variable ``FITSMILL_INPUTS_DIR``;
3. the environment variable ``GAVO_INPUTSDIR`` (as DaCHS);
4. DaCHS's configuration files, ``$GAVOCUSTOM`` (default ``~/.gavorc``) over
   ``$GAVOSETTINGS`` (default ``/etc/gavo.rc``): ``inputsDir`` in
   ``[general]``, relative to ``rootDir`` unless absolute, or
   ``rootDir/inputs`` when only ``rootDir`` is set;
5. ``/var/gavo/inputs`` if that directory exists;
6. the current directory.

The other keys answered by :func:`getConfig` (all in ``[general]`` unless
noted; relative values are taken relative to ``rootDir``, as in DaCHS):

========================  ===================  ==============================
key                       DaCHS default        fallback without DaCHS
========================  ===================  ==============================
``rootDir``               ``/var/gavo``        ``/var/gavo``
``inputsDir``             ``inputs``           see above
``cacheDir``              ``cache``            ``rootDir/cache``
``tempDir``               ``tmp``              the system temp directory
``logDir``                ``logs``             ``rootDir/logs``
``stateDir``              ``state``            ``rootDir/state``
``webDir``                ``web``              ``rootDir/web``
``configDir``             ``etc``              ``rootDir/etc``
``[web] previewCache``    ``previewcache``     ``webDir/previewcache``
========================  ===================  ==============================

``tempDir`` falls back to :func:`tempfile.gettempdir` when no DaCHS
configuration names it, because ``/var/gavo/tmp`` rarely exists outside a
DaCHS installation.  Any other key present in a configuration file is
returned as its string value.
"""

import configparser
import os
import tempfile

__all__ = ["getConfig", "get_config", "inputs_dir", "set_override",
           "get_overrides", "set_overrides", "ConfigError"]

# key (lower case) -> (section, DaCHS default relative to its base, base key)
_PATH_ITEMS = {
    "inputsdir": ("general", "inputs", "rootdir"),
    "cachedir": ("general", "cache", "rootdir"),
    "tempdir": ("general", "tmp", "rootdir"),
    "logdir": ("general", "logs", "rootdir"),
    "statedir": ("general", "state", "rootdir"),
    "webdir": ("general", "web", "rootdir"),
    "configdir": ("general", "etc", "rootdir"),
    "previewcache": ("web", "previewcache", "webdir"),
}
_DEFAULT_ROOT = "/var/gavo"
_NO_DEFAULT = object()

# Process-wide overrides (from --inputs-dir); workers receive a copy.
_overrides = {}


class ConfigError(KeyError):
    """A configuration item that is not known and has no default."""

    def __str__(self):
        return str(self.args[0]) if self.args else "unknown config item"


def set_override(key, value):
    """Override a configuration item for this process.

    Parameters
    ----------
    key : str
        Item name, e.g. ``"inputsDir"`` (case-insensitive).
    value : str or None
        The new value; ``None`` removes the override.
    """
    key = key.lower()
    if value is None:
        _overrides.pop(key, None)
    else:
        _overrides[key] = os.fspath(value)


def get_overrides():
    """Return a copy of the current overrides (to hand to worker processes,
    or to restore later with :func:`set_overrides`)."""
    return dict(_overrides)


def set_overrides(overrides):
    """Replace all overrides by ``overrides`` (from :func:`get_overrides`)."""
    _overrides.clear()
    _overrides.update(overrides)


def _read_dachs_files():
    """Return {(section, key): value} from the DaCHS config files, custom over
    system-wide, keys lower case."""
    paths = [os.environ.get("GAVOSETTINGS", "/etc/gavo.rc"),
             os.environ.get("GAVOCUSTOM", os.path.expanduser("~/.gavorc"))]
    values = {}
    for path in paths:
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                parser.read_file(f)
        except (OSError, configparser.Error):
            # DaCHS itself runs without these files; an unreadable one
            # simply contributes nothing.
            continue
        for section in parser.sections():
            for key, value in parser.items(section):
                values[(section.lower(), key.lower())] = value.strip()
    return values


def _resolve_path(key, files):
    section, default, base_key = _PATH_ITEMS[key]
    value = files.get((section, key))
    if value is not None:
        value = os.path.expanduser(value)
        if os.path.isabs(value):
            return value
    if key == "tempdir" and value is None:
        return tempfile.gettempdir()
    base = _root_dir(files) if base_key == "rootdir" else _resolve_path(base_key, files)
    return os.path.join(base, default if value is None else value)


def _root_dir(files):
    return os.path.expanduser(files.get(("general", "rootdir"), _DEFAULT_ROOT))


def inputs_dir():
    """Return the inputs directory as an absolute path (see the module
    docstring for the precedence)."""
    if "inputsdir" in _overrides:
        return os.path.abspath(_overrides["inputsdir"])
    for var in ("FITSMILL_INPUTS_DIR", "GAVO_INPUTSDIR"):
        if os.environ.get(var):
            return os.path.abspath(os.path.expanduser(os.environ[var]))
    files = _read_dachs_files()
    if ("general", "inputsdir") in files or ("general", "rootdir") in files:
        return os.path.abspath(_resolve_path("inputsdir", files))
    default = os.path.join(_DEFAULT_ROOT, "inputs")
    if os.path.isdir(default):
        return default
    return os.getcwd()


def get_config(section, key=None, default=_NO_DEFAULT):
    """Return a configuration item, DaCHS style.

    Parameters
    ----------
    section : str
        The item name (then in ``[general]``), or the section name when
        ``key`` is given, as in DaCHS's ``getConfig("web", "previewCache")``.
    key : str, optional
        Item name within ``section``.
    default : object, optional
        Returned for unknown items; without it they raise :class:`ConfigError`.

    Returns
    -------
    str
        The value; path items are absolute paths.
    """
    if key is None:
        section, key = "general", section
    section, key = section.lower(), key.lower()
    if key == "inputsdir" and section == "general":
        return inputs_dir()
    if key in _overrides and section == _PATH_ITEMS.get(key, ("general",))[0]:
        return os.path.abspath(_overrides[key])
    files = _read_dachs_files()
    if key == "rootdir" and section == "general":
        return _root_dir(files)
    if key in _PATH_ITEMS and _PATH_ITEMS[key][0] == section:
        return _resolve_path(key, files)
    if (section, key) in files:
        return files[(section, key)]
    if default is not _NO_DEFAULT:
        return default
    raise ConfigError(f"unknown configuration item [{section}] {key}")


#: DaCHS's spelling, as used through ``fitsmill.api.getConfig``.
getConfig = get_config
