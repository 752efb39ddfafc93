"""``fitsmill checksum verify|update|remove FILES``: the FITS checksum
convention (CHECKSUM and DATASUM cards) for every HDU of every file.

* ``verify``: one line per file, ``OK``, ``FAILED`` (which HDU and card)
  or ``MISSING`` (an HDU without checksums; counts as a failure unless
  ``--ignore-missing``).
* ``update``: recompute DATASUM from the data and CHECKSUM, in place.
* ``remove``: delete both cards.

Writes go through :func:`fitsmill.fitsfile.update_header`, with an undo
log like ``fitsmill headers``.  The exit status is 1 when any file failed.
"""

import argparse
import sys

from fitsmill.cli._files import ERRORS, expand_files, one_line, open_undo_log

__all__ = ["main"]


def _verify(path):
    """The verdict line for one file, and whether it passed."""
    from fitsmill.checksum import check_hdu
    from fitsmill.fitsfile import iter_hdus
    bad, missing = [], []
    with open(path, "rb", buffering=0) as f:
        for info in iter_hdus(f):
            checksum, datasum, _ = check_hdu(f.fileno(), info)
            for card, state in (("CHECKSUM", checksum), ("DATASUM", datasum)):
                if state == "bad":
                    bad.append(f"HDU {info.index} {card}")
                elif state == "missing":
                    missing.append(f"HDU {info.index} {card}")
    if bad:
        return f"FAILED: {', '.join(bad)} wrong", False
    if missing:
        return f"MISSING: {', '.join(missing)}", None
    return "OK", True


def _rewrite_all(path, checksum, drop, log, fsync):
    from fitsmill.fitsfile import iter_hdus, update_header

    def edit(header):
        for key in drop:
            while key in header:
                del header[key]
        return header

    results = []
    for index in range(sum(1 for _ in iter_hdus(path))):
        results.append(update_header(path, edit, index, checksum=checksum,
                                     undo=log or False, fsync=fsync))
    changed = sum(r != "unchanged" for r in results)
    return f"{changed} of {len(results)} HDU header(s) changed"


def _parser():
    parser = argparse.ArgumentParser(
        prog="fitsmill checksum",
        description="Verify, update or remove CHECKSUM/DATASUM in every HDU.")
    parser.add_argument("action", choices=("verify", "update", "remove"))
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="files, globs or @listfile")
    parser.add_argument("--ignore-missing", action="store_true",
                        help="verify: HDUs without checksums do not fail")
    parser.add_argument("--bail", action="store_true", help="stop at the first failure")
    parser.add_argument("--undo-dir", metavar="DIR", help="where the undo log goes")
    parser.add_argument("--no-undo", action="store_true", help="keep no undo log")
    parser.add_argument("--no-fsync", action="store_true",
                        help="do not flush writes to disk")
    return parser


def main(argv=None):
    """Run ``fitsmill checksum``; return the exit status."""
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    log = None
    if args.action != "verify":
        log = open_undo_log(args, "fitsmill checksum")
    failed = 0
    try:
        for path in expand_files(args.files):
            try:
                if args.action == "verify":
                    text, ok = _verify(path)
                    ok = ok or (ok is None and args.ignore_missing)
                elif args.action == "update":
                    text, ok = _rewrite_all(path, "recompute", (), log,
                                            not args.no_fsync), True
                else:
                    text, ok = _rewrite_all(path, False, ("CHECKSUM", "DATASUM"),
                                            log, not args.no_fsync), True
            except ERRORS as exc:
                text, ok = None, False
                print(one_line(path, exc), file=sys.stderr)
            if text:
                print(f"{path}: {text}")
            if not ok:
                failed += 1
                if args.bail:
                    break
    finally:
        if log is not None:
            log.close()
    if log is not None and log.writes:
        print(f"undo log: {log.path}")
    return 1 if failed else 0
