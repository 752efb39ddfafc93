"""``fitsmill headers``: show, set, delete, rename and script-edit header
cards in many files; recover and undo runs.

Examples::

    fitsmill headers show plate.fits --ext 1
    fitsmill headers set TELESCOP="'Zeiss 40cm'" EXPTIME=30/seconds *.fits
    fitsmill headers del OLDKEY 'DATE*' @files.txt
    fitsmill headers rename EPOCH EQUINOX *.fits
    fitsmill headers edit --script fixes.txt --history --dry-run *.fits
    fitsmill headers recover
    fitsmill headers undo --last

Edits go through :func:`fitsmill.fitsfile.update_headers` (in place when
the header fits, atomic rewrite otherwise, checksums kept valid).  Each run
writes one undo log (``--undo-dir``, default ``$FITSMILL_UNDO_DIR`` or
``~/.local/state/fitsmill/undo``) and prints its name.  The primary HDU is
edited unless ``--ext`` says otherwise.  One bad file never stops a run
unless ``--bail``; each failure is one line on stderr and the exit status is
1 when any file failed.
"""

import argparse
import difflib
import os
import re
import sys
import time

from fitsmill.cli._files import ERRORS, expand_files, one_line, open_undo_log
from fitsmill.errors import FitsmillError

__all__ = ["main"]

_KEYWORD_ARG = re.compile(r"[A-Za-z0-9_\-*?#]{1,8}$|HIERARCH\s", re.IGNORECASE)
_PROG = "fitsmill headers"


def _ext(text):
    """--ext: an HDU number or an EXTNAME."""
    return int(text) if text.lstrip("-").isdigit() else text


def _split_keys(items, what):
    """Leading keyword arguments, then the files."""
    for n, item in enumerate(items):
        if item.startswith("@") or os.path.exists(item) or not _KEYWORD_ARG.match(item):
            keys, files = items[:n], items[n:]
            break
    else:
        keys, files = items, []
    if not keys or not files:
        raise SystemExit(f"{_PROG}: expected {what} followed by files")
    return keys, files


def _stamp(edits_text):
    from fitsmill import __version__
    when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    return f"fitsmill {__version__} {when}: {edits_text}"


def _lines(header):
    return [line.rstrip() for line in
            header.tostring(sep="\n", endcard=False, padding=False).splitlines()]


def _diff(path, old, new):
    lines = [_lines(old), _lines(new)]
    return "".join(line + "\n" for line in difflib.unified_diff(
        *lines, fromfile=f"{path} (now)", tofile=f"{path} (edited)", lineterm=""))


def _edit_for(edits, stamp):
    """The edit applied to each header: a KeywordSet (which has a
    byte-level fast path) when the edits only set values, else a function
    applying them in order."""
    from fitsmill.headeredit import apply_edits
    from fitsmill.keywordset import KeywordSet

    if not stamp and all(e.op == "set" and e.value is not None for e in edits):
        try:
            return KeywordSet([(e.key, e.value if e.comment is None else (e.value, e.comment))
                               for e in edits])
        except ValueError:
            pass  # e.g. a keyword set twice: applied in order below

    def edit(header):
        new = apply_edits(header, edits)
        if stamp:
            new.add_history(stamp)
        return new
    return edit


def _run_edits(args, edits):
    from fitsmill import fitsfile

    stamp = _stamp(", ".join(e.describe() for e in edits)) if args.history else None
    edit = _edit_for(edits, stamp)
    options = dict(grow=args.grow, reserve=args.reserve, force=args.force,
                   checksum={"auto": "auto", "yes": True, "no": False}[args.checksum],
                   fsync=not args.no_fsync)
    counts = {}
    failed = 0

    def report(path, exc):
        nonlocal failed
        if not isinstance(exc, ERRORS):
            raise exc
        failed += 1
        print(one_line(path, exc), file=sys.stderr)
        return args.bail

    paths = expand_files(args.files)
    if args.dry_run:
        for path in paths:
            try:
                old = fitsfile.read_header(path, args.ext)
                diff = _diff(path, old, edit(old.copy()))
            except ERRORS as exc:
                if report(path, exc):
                    break
                continue
            sys.stdout.write(diff)
        return 1 if failed else 0
    log = open_undo_log(args, _PROG)
    try:
        # One batch: undo records are flushed once per group of files.
        results = fitsfile.update_headers([(path, edit) for path in paths], args.ext,
                                          on_error=report, undo=log or False,
                                          **options)
    finally:
        if log is not None:
            log.close()
    for path, result in zip(paths, results):
        if result is not None:
            counts[result] = counts.get(result, 0) + 1
            if args.verbose:
                print(f"{path}: {result}")
    done = ", ".join(f"{n} {what}" for what, n in sorted(counts.items()))
    print(f"{sum(counts.values())} file(s) written or checked ({done or 'none'}); "
          f"{failed} failed")
    if log is not None and log.writes:
        print(f"undo log: {log.path}")
    return 1 if failed else 0


def _cmd_show(args):
    from fitsmill import fitsfile
    failed = 0
    files = expand_files(args.files)
    for path in files:
        try:
            header = fitsfile.read_header(path, args.ext)
        except ERRORS as exc:
            failed += 1
            print(one_line(path, exc), file=sys.stderr)
            continue
        if len(files) > 1:
            print(f"==> {path} <==")
        print("\n".join(_lines(header)))
    return 1 if failed else 0


def _cmd_set(args):
    from fitsmill.headeredit import parse_assignment
    n = 0
    while n < len(args.items) and "=" in args.items[n] and \
            not os.path.exists(args.items[n]):
        n += 1
    if not n or n == len(args.items):
        raise SystemExit(f"{_PROG} set: expected KEY=VALUE... followed by files")
    try:
        edits = [parse_assignment(item) for item in args.items[:n]]
    except ValueError as exc:
        raise SystemExit(f"{_PROG} set: {exc}") from None
    args.files = args.items[n:]
    return _run_edits(args, edits)


def _cmd_del(args):
    from fitsmill.headeredit import Edit
    keys, args.files = _split_keys(args.items, "KEY...")
    return _run_edits(args, [Edit("delete", k.upper() if len(k) <= 8 else k)
                             for k in keys])


def _cmd_rename(args):
    from fitsmill.headeredit import Edit
    return _run_edits(args, [Edit("rename", args.old.upper(), args.new.upper())])


def _cmd_edit(args):
    from fitsmill.headeredit import parse_script
    try:
        with open(args.script, encoding="utf-8") as f:
            edits = parse_script(f.read(), args.script)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"{_PROG} edit: {one_line(args.script, exc)}") from None
    return _run_edits(args, edits)


def _cmd_recover(args):
    from fitsmill import undolog
    outcomes = undolog.recover(args.undo_dir, args.logs or None,
                               fsync=not args.no_fsync)
    for outcome in outcomes:
        print(outcome)
    if not outcomes:
        print("nothing to recover")
    return 0 if all(o.ok for o in outcomes) else 1


def _cmd_undo(args):
    from fitsmill import undolog
    logs = undolog.list_logs(args.undo_dir)
    if args.list:
        for path in logs:
            states = undolog.log_summary(path)
            text = ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
            print(f"{path}: {text or 'empty'}")
        return 0
    if args.last:
        if not logs:
            raise SystemExit(f"{_PROG} undo: no undo logs in "
                             f"{args.undo_dir or undolog.default_undo_dir()}")
        target = logs[-1]
    elif args.log:
        target = args.log
    else:
        raise SystemExit(f"{_PROG} undo: name a LOG, or use --last or --list")
    try:
        outcomes = undolog.undo(target, force=args.force, fsync=not args.no_fsync)
    except (FitsmillError, OSError) as exc:
        print(one_line(target, exc), file=sys.stderr)
        return 1
    for outcome in outcomes:
        print(outcome, file=sys.stdout if outcome.ok else sys.stderr)
    return 0 if all(o.ok for o in outcomes) else 1


def _write_options(p):
    p.add_argument("--ext", type=_ext, default=0,
                   help="HDU to edit: number or EXTNAME (default 0, the primary)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the changes as a diff, write nothing")
    p.add_argument("--history", action="store_true",
                   help="add a HISTORY card recording the edit")
    p.add_argument("--bail", action="store_true", help="stop at the first failure")
    p.add_argument("--grow", choices=("rewrite", "copy", "forbid"), default="rewrite",
                   help="when the header needs more blocks: shift the data of big "
                        "files (with the undo log) or rewrite the file atomically "
                        "(default), always rewrite (copy), or fail")
    p.add_argument("--reserve", type=int, default=0, metavar="N",
                   help="blank blocks of headroom to add when rewriting")
    p.add_argument("--checksum", choices=("auto", "yes", "no"), default="auto",
                   help="update CHECKSUM/DATASUM: when present (auto), always, never")
    p.add_argument("--force", action="store_true",
                   help="allow changes to data-layout keywords (BITPIX, NAXISn, ...)")
    _log_options(p)
    p.add_argument("--no-undo", action="store_true", help="keep no undo log")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="one line per file saying what was done")


def _log_options(p):
    p.add_argument("--undo-dir", metavar="DIR",
                   help="where undo logs live (default $FITSMILL_UNDO_DIR or "
                        "~/.local/state/fitsmill/undo)")
    p.add_argument("--no-fsync", action="store_true",
                   help="do not flush writes to disk (faster, not crash-safe)")


def _parser():
    parser = argparse.ArgumentParser(
        prog=_PROG, description="Show and edit FITS headers in bulk, safely.",
        epilog="Run 'fitsmill headers from-table --help' for template headers "
               "from a catalogue.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("show", help="print a header")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--ext", type=_ext, default=0, help="HDU number or EXTNAME")
    p.set_defaults(run=_cmd_show)

    p = sub.add_parser("set", help="add or replace cards: KEY=VALUE[/comment]... FILES")
    p.add_argument("items", nargs="+", metavar="KEY=VALUE[/comment] | FILE")
    _write_options(p)
    p.set_defaults(run=_cmd_set)

    p = sub.add_parser("del", help="delete cards (wildcards * ? #): KEY... FILES")
    p.add_argument("items", nargs="+", metavar="KEY | FILE")
    _write_options(p)
    p.set_defaults(run=_cmd_del)

    p = sub.add_parser("rename", help="rename a keyword: OLD NEW FILES")
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("files", nargs="+", metavar="FILE")
    _write_options(p)
    p.set_defaults(run=_cmd_rename)

    p = sub.add_parser("edit", help="apply an fthedit-style edit script")
    p.add_argument("--script", required=True, metavar="EDITS",
                   help="the edit file: 'KEY = value / comment', '-KEY', "
                        "'-OLD NEW', 'HISTORY text', 'COMMENT text'")
    p.add_argument("files", nargs="+", metavar="FILE")
    _write_options(p)
    p.set_defaults(run=_cmd_edit)

    p = sub.add_parser("recover", help="finish or roll back interrupted writes")
    p.add_argument("logs", nargs="*", metavar="LOG", help="only these undo logs")
    _log_options(p)
    p.set_defaults(run=_cmd_recover)

    p = sub.add_parser("undo", help="restore the headers a run replaced")
    p.add_argument("log", nargs="?", metavar="LOG")
    p.add_argument("--last", action="store_true", help="undo the latest run")
    p.add_argument("--list", action="store_true", help="list the runs' logs")
    p.add_argument("--force", action="store_true",
                   help="restore even if the file's size/inode/mtime changed "
                        "(the header must still be the one the run wrote)")
    _log_options(p)
    p.set_defaults(run=_cmd_undo)

    sub.add_parser("from-table", help="template headers from a catalogue "
                                      "(see 'fitsmill headers from-table --help')",
                   add_help=False)
    return parser


def main(argv=None):
    """Run ``fitsmill headers``; return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "from-table":
        from fitsmill.cli import fromtable
        return fromtable.main(argv[1:])
    args = _parser().parse_args(argv)
    return args.run(args)
