"""Astrometric calibration: AnetHeaderProcessor against bare solve-field.

Renders synthetic plates of real Tycho-2 stars (fitsmill.skyplates; needs
astrometry.net and its Tycho-2 index files), then for every plate, in the
same run and interleaved:

* bare    -- ``solve-field`` as a user would type it, with the same header
             hints, options and backend configuration fitsmill passes (scale,
             position, SIP order 3, all indexes ``inparallel``);
* fitsmill -- ``AnetHeaderProcessor.process`` with ``--apply`` and the
             refine pass off, i.e. the same solver work plus fitsmill's
             sandbox, SIP check, cache and in-place header write;
* refine  -- the default processor (refine pass on: a second, verifying
             solve-field run against the densest index);
* blind   -- the processor without header hints (refine off).

It prints per-plate wall-clock seconds, medians, the fitsmill/bare ratio
(the overhead) and the worst WCS error against the truth.  The machine is
shared, so figures are noisy: compare medians and ratios, not single runs.

Usage: python benchmarks/anet.py [--quick] [--plates N] [--size PX]
"""

import argparse
import os
import pathlib
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

from astropy.io import fits
from astropy.wcs import WCS

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests"))
from plates import wcs_discrepancy_px  # noqa: E402  (the tests' oracle)

from fitsmill import anet  # noqa: E402
from fitsmill.anetproc import AnetHeaderProcessor  # noqa: E402
from fitsmill.processor import parse_options  # noqa: E402
from fitsmill.skyplates import write_plate_set  # noqa: E402


class Plain(AnetHeaderProcessor):
    sp_refine = False


class Refining(AnetHeaderProcessor):
    pass


class Blind(AnetHeaderProcessor):
    sp_refine = False
    sp_header_hints = False


class Clock:
    """Wall-clock and CPU seconds (this process and its children)."""

    def __enter__(self):
        self.wall = time.perf_counter()
        self.cpu = self._cpu()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = self._cpu() - self.cpu

    @staticmethod
    def _cpu():
        return sum(r.ru_utime + r.ru_stime for r in (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN)))


def bare_solve(path, workdir):
    """solve-field with the hints and options fitsmill would use."""
    hdr = fits.getheader(path)
    scale = anet.scale_hint(hdr)
    ra, dec = anet.position_hint(hdr)
    ny, nx = hdr["NAXIS2"], hdr["NAXIS1"]
    radius = max(2 * scale * (nx * nx + ny * ny) ** 0.5 / 3600, 2.0)
    os.makedirs(workdir / "tmp")
    anet.write_backend_config(workdir / "backend.cfg", None, anet.DEFAULT_INDEX_DIR)
    args = ["solve-field", "--overwrite", "--dir", str(workdir), "--out", "img",
            "--backend-config", str(workdir / "backend.cfg"),
            "--temp-dir", str(workdir / "tmp"), "--cpulimit", "600",
            "--new-fits", "none", "--no-plots", "--scale-low", f"{scale * 0.9:g}",
            "--scale-high", f"{scale * 1.1:g}", "--scale-units", "app",
            "--ra", f"{ra:.6f}", "--dec", f"{dec:.6f}", "--radius", f"{radius:g}",
            "--tweak-order", "3", str(path)]
    with Clock() as clock:
        subprocess.run(args, check=True, capture_output=True)
    wcs_path = workdir / "img.wcs"
    return clock, fits.Header.fromstring(wcs_path.read_bytes().decode()) if wcs_path.exists() else None


def through_processor(cls, path):
    proc = cls(parse_options(cls, ["--apply", "--no-fsync", "--no-progress"]))
    with Clock() as clock:
        proc.process(str(path))
    return clock, fits.getheader(path)


def error_px(truth, hdr, shape):
    if hdr is None or "CTYPE1" not in hdr:
        return float("nan")
    hdr = hdr.copy()
    hdr["NAXIS"] = 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return wcs_discrepancy_px(truth, WCS(hdr), shape)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 small plate, smoke run")
    parser.add_argument("--plates", type=int, default=10)
    parser.add_argument("--size", type=int, default=1000, help="plate side in pixels")
    args = parser.parse_args(argv)
    count, size = (1, 800) if args.quick else (args.plates, args.size)
    shape = (size, size)
    kinds = ("bare", "fitsmill", "refine", "blind")
    wall = {k: [] for k in kinds}
    cpu = {k: [] for k in kinds}
    errors = {k: [] for k in kinds}
    # once-per-process costs (astrometry.net's version, astropy.wcs import)
    # are paid before timing: per-file overhead is what an archive run sees
    anet.anet_version()
    with tempfile.TemporaryDirectory(prefix="fitsmill-bench-anet-") as tmp:
        tmp = pathlib.Path(tmp)
        plates = write_plate_set(tmp / "master", count, shape=shape, hints=True)
        print(f"{count} plates of {size}x{size} px, 10.8 arcsec/px, real Tycho-2 stars")
        print("wall-clock s (CPU s) per plate; max WCS error over the field in px")
        print(f"{'plate':<17}" + "".join(f"{k:>20}" for k in kinds))
        classes = {"fitsmill": Plain, "refine": Refining, "blind": Blind}
        for i, (master, truth) in enumerate(plates):
            row = {}
            # rotate the order so no variant always runs first (cold caches)
            for kind in kinds[i % len(kinds):] + kinds[:i % len(kinds)]:
                try:
                    if kind == "bare":
                        clock, hdr = bare_solve(master, tmp / f"bare{i}")
                    else:
                        copy = tmp / f"{kind}{i}.fits"
                        shutil.copyfile(master, copy)
                        clock, hdr = through_processor(classes[kind], copy)
                    row[kind] = (clock, error_px(truth, hdr, shape))
                except Exception as exc:  # noqa: BLE001 -- report and go on
                    print(f"  {kind} failed on {master}: {exc}")
                    row[kind] = (None, float("nan"))
            for kind in kinds:
                clock, err = row[kind]
                wall[kind].append(clock.wall if clock else float("nan"))
                cpu[kind].append(clock.cpu if clock else float("nan"))
                errors[kind].append(err)
            print(f"{pathlib.Path(master).name:<17}" + "".join(
                f"{wall[k][-1]:>7.2f} ({cpu[k][-1]:5.2f}) {errors[k][-1]:4.2f}" for k in kinds))
    mw = {k: statistics.median(v) for k, v in wall.items()}
    mc = {k: statistics.median(v) for k, v in cpu.items()}
    print(f"{'median':<17}" + "".join(f"{mw[k]:>7.2f} ({mc[k]:5.2f})     " for k in kinds))
    for label, table in (("wall-clock", wall), ("CPU", cpu)):
        ratios = sorted(f / b for f, b in zip(table["fitsmill"], table["bare"]))
        print(f"fitsmill/bare {label}: median per-plate ratio {statistics.median(ratios):.3f},"
              f" ratio of totals {sum(table['fitsmill']) / sum(table['bare']):.3f}")
    print(f"refine pass: {mc['refine'] / mc['fitsmill']:.2f}x the CPU of the plain solve;"
          f" blind/hinted CPU {mc['blind'] / mc['fitsmill']:.2f}x")
    print("worst WCS error over the field, px: " + ", ".join(
        f"{k} {max(errors[k]):.2f}" for k in kinds))
    print("(shared machine: timings are noisy; compare medians and ratios)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
