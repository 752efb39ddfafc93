"""``fitsmill verify FILES``: structural checks, one line per file.

Checks mandatory keywords and their order, END and header padding, card
syntax, data fill, declared against real file size, and CHECKSUM/DATASUM
where present (see :mod:`fitsmill.verify`).  Prints ``FILE: OK`` or
``FILE: FAILED: problem; problem...``; the exit status is 1 when any file
failed.  Accepts paths, globs and ``@listfile``.
"""

import argparse
import sys

__all__ = ["main"]


def _parser():
    parser = argparse.ArgumentParser(
        prog="fitsmill verify", description="Structural checks of FITS files.")
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="files, globs or @listfile")
    parser.add_argument("--no-checksums", action="store_true",
                        help="skip CHECKSUM/DATASUM (no data is read then)")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print only the files that fail")
    parser.add_argument("--bail", action="store_true", help="stop at the first failure")
    return parser


def main(argv=None):
    """Run ``fitsmill verify``; return the exit status."""
    from fitsmill.cli._files import expand_files, one_line
    from fitsmill.verify import check_file
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    failed = 0
    for path in expand_files(args.files):
        try:
            problems = check_file(path, checksums=not args.no_checksums)
        except OSError as exc:
            problems = [one_line(path, exc).removeprefix(f"{path}: ")]
        if problems:
            failed += 1
            print(f"{path}: FAILED: {'; '.join(problems)}")
            if args.bail:
                break
        elif not args.quiet:
            print(f"{path}: OK")
    return 1 if failed else 0
