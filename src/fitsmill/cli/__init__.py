"""The ``fitsmill`` command: a thin dispatcher to one module per subcommand.

Each subcommand lives in its own module under ``fitsmill.cli`` and exposes
``main(argv) -> int``; only the module that is asked for is imported, so
``fitsmill --help`` stays fast and subcommands stay independent.
"""

import importlib
import sys

__all__ = ["main", "COMMANDS"]

#: subcommand -> (module, one-line description)
COMMANDS = {
    "demo": ("fitsmill.cli.demo", "generate a sample archive and process it"),
    "previews": ("fitsmill.cli.previews", "make previews for FITS files"),
    "gallery": ("fitsmill.cli.gallery", "write an HTML contact sheet of previews"),
    "headers": ("fitsmill.cli.headers", "show, set, delete, rename, edit header cards"),
    "checksum": ("fitsmill.cli.checksum", "verify, update or remove CHECKSUM/DATASUM"),
    "verify": ("fitsmill.cli.verify", "structural checks of FITS files"),
    "calibrate": ("fitsmill.cli.calibrate", "astrometric calibration with astrometry.net"),
}


def _usage():
    width = max(map(len, COMMANDS))
    lines = ["usage: fitsmill COMMAND [options] ...", "", "commands:"]
    lines += [f"  {name:<{width}}  {desc}" for name, (_, desc) in COMMANDS.items()]
    lines += ["", "Run 'fitsmill COMMAND --help' for a command's options."]
    return "\n".join(lines)


def main(argv=None):
    """Run the ``fitsmill`` command line; return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0 if argv else 2
    if argv[0] == "--version":
        from fitsmill import __version__
        print(f"fitsmill {__version__}")
        return 0
    name = argv[0]
    if name not in COMMANDS:
        print(f"fitsmill: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return module.main(argv[1:])
