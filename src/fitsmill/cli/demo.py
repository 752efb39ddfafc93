"""``fitsmill demo [DIR]``: the main job on a generated sample archive.

Generates a small deterministic archive (plate scans, a float image with
NaNs, gzip and tile-compressed files, a colour file, spectra), makes
previews for all of it through :class:`fitsmill.previews.PreviewMaker` with
two worker processes, writes an HTML gallery and, where astrometry.net is
installed, calibrates plates rendered from real Tycho-2 stars.  Each step is the same
command a user would run, so the demo doubles as a worked example; the
commands are printed as they run.
"""

import argparse
import os
import shlex
import shutil
import sys
import time

__all__ = ["main"]


def _parser():
    parser = argparse.ArgumentParser(
        prog="fitsmill demo",
        description="Generate a sample FITS archive in DIR and process it:"
        " previews (-j 2), an HTML gallery and astrometric calibration.")
    parser.add_argument("directory", nargs="?", default="fitsmill-demo", metavar="DIR",
                        help="where to put the archive and results (default ./fitsmill-demo)")
    parser.add_argument("-j", "--n-procs", type=int, default=2, metavar="N",
                        help="worker processes for the previews (default 2)")
    parser.add_argument("--plate-size", type=int, default=2048, metavar="PX",
                        help="side of the largest sample plate (default 2048)")
    parser.add_argument("--no-calibrate", action="store_true",
                        help="skip the astrometry.net calibration step")
    return parser


def _step(title):
    print(f"\n== {title}", flush=True)


def _run(command, argv):
    """Run a fitsmill subcommand in-process, echoing it like a shell would."""
    from fitsmill.cli import main as fitsmill_main

    print("$ fitsmill " + " ".join([command, *map(shlex.quote, argv)]), flush=True)
    status = fitsmill_main([command, *argv])
    if status != 0:
        raise SystemExit(f"fitsmill demo: 'fitsmill {command}' failed (status {status})")


def main(argv):
    """Run ``fitsmill demo``; return the exit status."""
    from fitsmill.samples import make_sample_archive

    args = _parser().parse_args(argv)
    top = os.path.abspath(args.directory)
    archive = os.path.join(top, "archive")
    previews = os.path.join(top, "previews")
    started = time.perf_counter()

    _step(f"Generating the sample archive in {archive}")
    for sample in make_sample_archive(archive, plate_shape=(args.plate_size,) * 2):
        print(f"  {os.path.relpath(sample.path, archive):32} {sample.description}")

    def src(pattern):
        return os.path.join(archive, pattern)

    common = ["--inputs-dir", archive, "--preview-dir", previews,
              "-j", str(args.n_procs)]
    _step("Image previews (percentile limits, asinh stretch, JPEG)")
    _run("previews", [*common, "--naming", "split:.jpeg", "--stretch", "asinh",
                      src("plates/*"), src("images/*.fits")])
    _step("Colour preview from extensions 2, 3, 4 (the DaCHS manual's example)")
    _run("previews", [*common, "--naming", "split:.jpeg", "--rgb", "2,3,4",
                      src("colour/*.fits")])
    _step("Spectral previews")
    _run("previews", [*common, "--naming", "split:.png", "--spectra", src("spectra/*.fits")])

    _step("Gallery")
    gallery = os.path.join(top, "index.html")
    _run("gallery", [previews, "-o", gallery, "--inputs-dir", archive,
                     "--title", "fitsmill demo"])

    calibration = os.path.join(top, "calibration")
    _step("Astrometric calibration of plates rendered from Tycho-2 stars")
    if args.no_calibrate:
        print("  skipped (--no-calibrate)")
    elif shutil.which("solve-field") is None:
        print("  skipped: astrometry.net is not installed"
              " (bash scripts/install-system-deps.sh installs it)")
    else:
        from fitsmill.cli.calibrate import calibration_demo

        for line in calibration_demo(calibration, count=2, jobs=args.n_procs):
            print(f"  {line}")

    print(f"\nDone in {time.perf_counter() - started:.1f} s.")
    print(f"  archive:  {archive}")
    print(f"  previews: {previews}")
    print(f"  gallery:  {gallery}  (open it in a browser)")
    if os.path.isdir(calibration):
        print(f"  calibrated plates: {calibration}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
