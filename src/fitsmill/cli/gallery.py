"""``fitsmill gallery PREVIEW_DIR -o index.html``: an HTML contact sheet."""

import argparse
import os
import sys

__all__ = ["main", "build_parser"]


def build_parser():
    """Return the argument parser of ``fitsmill gallery``."""
    parser = argparse.ArgumentParser(
        prog="fitsmill gallery",
        description="Write paginated, lazy-loading HTML pages showing the previews"
        " in PREVIEW_DIR, captioned with their accrefs and, given --inputs-dir,"
        " OBJECT / DATE-OBS / size from the FITS sources.")
    parser.add_argument("preview_dir", metavar="PREVIEW_DIR")
    parser.add_argument("-o", "--output", default=None, metavar="FILE",
                        help="first page (default PREVIEW_DIR/index.html); further"
                        " pages are FILE-2.html, FILE-3.html, ...")
    parser.add_argument("--naming", default="auto", metavar="POLICY",
                        help="'standard', 'split:EXT' or 'auto' (default: flat DaCHS"
                        " names and files with image suffixes)")
    parser.add_argument("--inputs-dir", default=None, metavar="DIR",
                        help="where the sources are, for captions from their headers")
    parser.add_argument("--page-size", type=int, default=200, metavar="N",
                        help="previews per page (default 200)")
    parser.add_argument("--title", default=None, help="page title")
    return parser


def main(argv):
    """Run ``fitsmill gallery``; return the exit status."""
    from fitsmill.gallery import write_gallery

    args = build_parser().parse_args(argv)
    output = args.output or os.path.join(args.preview_dir, "index.html")
    try:
        pages = write_gallery(args.preview_dir, output, naming=args.naming,
                              inputs_dir=args.inputs_dir, page_size=args.page_size,
                              title=args.title)
    except (OSError, ValueError) as exc:
        print(f"fitsmill gallery: error: {exc}", file=sys.stderr)
        return 1
    print(f"{len(pages)} page(s) written, first: {pages[0]}")
    return 0
