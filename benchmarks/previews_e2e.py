"""End-to-end previews: ``fitsmill previews`` against a DaCHS-style PreviewMaker.

Data are generated in a temporary directory in this run:

* ``--files`` FITS images of ``--size`` x ``--size`` int16 pixels with
  BZERO 32768 (default 300 of 1024 x 1024: synthetic plates);
* one plate of ``--plate`` x ``--plate`` int16 pixels (default 10000, 200 MB);
* ``--spectra`` FITS binary-table spectra of 4,000 points.

Measured, all in the same run, warm page cache:

``kernel``
    The bare kernel in this process: ``scaled_image`` + ``imaging.render``
    per file (the figure of benchmarks/previews_kernel.py).
``fitsmill e2e``
    ``fitsmill previews --force`` as a subprocess, serial and ``-j 2``:
    wall time including interpreter start-up, and the framework's own
    elapsed time (``--summary-json``), from which the rate is computed.
``dachs-style``
    DaCHS's pipeline rebuilt here on astropy + NumPy + Pillow: header by
    astropy, rows by ``numpy.fromfile`` in float32, DaCHS's block mean
    (Python ``sum`` over the transposed row), min/max + gamma 0.25 8-bit
    mapping, Pillow JPEG, temp file + fsync + rename.  ``-j 2`` runs it in
    a ``multiprocessing`` pool of two.
``spectra``
    ``plot_spectrum`` alone, ``fitsmill previews --spectra`` end to end,
    and DaCHS's matplotlib plot (``get2DPlot``: 4x2 inches at 50 dpi,
    8-colour PNG) when matplotlib is installed.

Figures are medians of ``--repeats`` runs.  The machine may be shared
(2 cores, several users): compare the ratios within one run, not the
absolute figures across runs.

Usage: python benchmarks/previews_e2e.py [--quick]
"""

import argparse
import io
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from astropy.io import fits
from astropy.table import Table
from PIL import Image

from fitsmill import imaging, samples
from fitsmill.scaledrows import scaled_image
from fitsmill.spectra import plot_spectrum

PREVIEW_SIZE = 200

# Runs the CLI in a child and reports its peak RSS and its workers' on
# stderr.  The child's own peak is VmHWM: ru_maxrss survives exec, so it
# would include this (large) benchmark process at fork time.
_WRAPPER = (
    "import resource, sys\n"
    "from fitsmill.cli import main\n"
    "rc = main(sys.argv[1:])\n"
    "hwm = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
    "sys.stderr.write('RSS_KB %s %d\\n' % (hwm,"
    " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(rc)\n")


def peak_rss_kib():
    """This process's peak resident set (VmHWM), in KiB."""
    with open("/proc/self/status", encoding="ascii") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))


# ------------------------------------------------------------------ data

def write_image(path, shape, seed):
    """A 16-bit BZERO 32768 image (sky gradient, noise, stars), written in
    bands of rows so that a 200 MB plate needs little memory."""
    header = fits.Header([("SIMPLE", True), ("BITPIX", 16), ("NAXIS", 2),
                          ("NAXIS1", shape[1]), ("NAXIS2", shape[0]),
                          ("BZERO", 32768), ("BSCALE", 1), ("OBJECT", f"field {seed}")])
    rng = np.random.default_rng(seed)
    stars = rng.integers(0, shape, size=(max(50, shape[0] * shape[1] // 20000), 2))
    with open(path, "wb") as f:
        f.write(header.tostring().encode("ascii"))
        for y0 in range(0, shape[0], 512):
            rows = np.arange(y0, min(y0 + 512, shape[0]))
            band = 8000.0 + 3.0 * rows[:, None] * 1000 / shape[0] + rng.normal(
                0, 50, (len(rows), shape[1]))
            for y, x in stars[(stars[:, 0] >= y0) & (stars[:, 0] < y0 + len(rows))]:
                band[y - y0, max(0, x - 1):x + 2] += 20000
            f.write((np.clip(band, 0, 65535) - 32768).astype(">i2").tobytes())
        f.write(b"\0" * (-f.tell() % 2880))


def make_images(directory, n, size):
    """n images; 4 distinct ones copied round-robin."""
    os.makedirs(directory, exist_ok=True)
    masters = []
    for seed in range(min(4, n)):
        path = os.path.join(directory, f"img{seed:04d}.fits")
        write_image(path, (size, size), seed)
        masters.append(path)
    for k in range(len(masters), n):
        shutil.copyfile(masters[k % len(masters)], os.path.join(directory, f"img{k:04d}.fits"))
    return sorted(os.path.join(directory, f) for f in os.listdir(directory))


def make_spectra(directory, n, points=4000):
    os.makedirs(directory, exist_ok=True)
    paths = []
    for k in range(n):
        wave, flux = samples.spectrum(points, seed=k)
        path = os.path.join(directory, f"spec{k:05d}.fits")
        Table({"spectral": wave, "flux": flux}).write(path)
        paths.append(path)
    return paths


def warm(paths):
    """Read every file once (page cache) and return the seconds it took."""
    t0 = time.perf_counter()
    for path in paths:
        with open(path, "rb") as f:
            while f.read(1 << 22):
                pass
    return time.perf_counter() - t0


def read_in_two(paths, pool):
    """Seconds for two processes of ``pool`` to read half of the files each:
    what page-cache reads and memory bandwidth allow ``-j 2`` at best."""
    t0 = time.perf_counter()
    pool.map(warm, [paths[0::2], paths[1::2]], chunksize=1)
    return time.perf_counter() - t0


# --------------------------------------------------------- DaCHS-style peer

_NUM_CODE = {8: "uint8", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}


def dachs_scaled_rows(path, dest_size):
    """DaCHS's iterScaledRows fast path (dachs-behaviour.md section 3)."""
    with open(path, "rb") as f:
        hdr = fits.Header.fromfile(f)
        naxis1, naxis2 = hdr["NAXIS1"], hdr["NAXIS2"]
        factor = max(1, max(naxis1, naxis2) // dest_size + 1)
        dtype = _NUM_CODE[hdr["BITPIX"]]
        bzero, bscale = hdr.get("BZERO", 0), hdr.get("BSCALE", 1)

        def rows():
            for _ in range(naxis2):
                row = np.fromfile(f, dtype, naxis1)
                if bzero != 0 or bscale != 1:
                    row = np.asarray(row, "float32") * bscale + bzero
                yield row

        it = rows()
        dest_len = naxis1 // factor
        for _ in range(naxis2 // factor):
            new_row = np.zeros((naxis1,), "float32")
            for _ in range(factor):
                try:
                    new_row = new_row + next(it)
                except StopIteration:
                    break
            new_row /= factor
            new_row = new_row[:dest_len * factor] / factor
            yield sum(np.transpose(new_row.reshape((dest_len, factor))))


def dachs_jpeg(pixels, gamma=0.25):
    """DaCHS's imgtools.jpegFromNumpyArray."""
    pixels = np.flipud(pixels)
    lo, hi = np.min(pixels), np.max(pixels)
    pixels = (np.power((pixels - lo) / (hi - lo), gamma) * 255).astype("uint8")
    out = io.BytesIO()
    Image.fromarray(pixels, "L").save(out, format="jpeg")
    return out.getvalue()


def dachs_preview(args):
    """One DaCHS-style PreviewMaker.process: compute, safeReplaced write."""
    src, dest = args
    data = dachs_jpeg(np.array(list(dachs_scaled_rows(src, PREVIEW_SIZE))))
    tmp = dest + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, dest)
    os.chmod(dest, 0o664)


def dachs_run(paths, out_dir, procs):
    os.makedirs(out_dir, exist_ok=True)
    jobs = [(p, os.path.join(out_dir, os.path.basename(p) + ".jpeg")) for p in paths]
    t0 = time.perf_counter()
    if procs == 1:
        for job in jobs:
            dachs_preview(job)
    else:
        with multiprocessing.get_context("fork").Pool(procs) as pool:
            pool.map(dachs_preview, jobs, chunksize=4)
    return time.perf_counter() - t0


def dachs_isolated(paths, out_dir):
    """A DaCHS-style serial run in a fresh interpreter: (seconds, peak RSS KiB)."""
    proc = subprocess.run([sys.executable, __file__, "--dachs-child", out_dir, *paths],
                          capture_output=True, text=True, check=True)
    elapsed, rss = proc.stdout.split()
    return float(elapsed), int(rss)


def dachs_spectrum_plot(wave, flux):
    """DaCHS's SpectralPreviewMaker.get2DPlot (matplotlib, Agg)."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot, ticker

    data = sorted(zip(wave, flux))
    fig = pyplot.figure(figsize=(4, 2))
    ax = fig.add_axes([0, 0, 1, 1], frameon=False)
    ax.semilogy([p[0] for p in data], [p[1] for p in data], "-", color="black")
    ax.xaxis.set_major_locator(ticker.NullLocator())
    ax.yaxis.set_major_locator(ticker.NullLocator())
    ax.yaxis.set_minor_locator(ticker.NullLocator())
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=50)
    pyplot.close(fig)
    im = Image.open(io.BytesIO(buf.getvalue())).convert("L").convert(
        "P", palette=Image.ADAPTIVE, colors=8)
    out = io.BytesIO()
    im.save(out, format="png", bits=3)
    return out.getvalue()


# --------------------------------------------------------------- fitsmill

def kernel_run(paths):
    t0 = time.perf_counter()
    for path in paths:
        imaging.render(scaled_image(path, size=PREVIEW_SIZE))
    return time.perf_counter() - t0


def fitsmill_run(inputs, sources, preview_dir, procs, extra=()):
    """``fitsmill previews --force`` in a child: (wall s, framework s, RSS KiB)."""
    summary = os.path.join(preview_dir + ".json")
    cmd = [sys.executable, "-c", _WRAPPER, "previews", "--force", "--no-progress",
           "--inputs-dir", inputs, "--preview-dir", preview_dir,
           "--naming", "split:.png" if "--spectra" in extra else "split:.jpeg",
           "--summary-json", summary, "-j", str(procs), *extra, *sources]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"fitsmill previews failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    rss = [line.split()[1:] for line in proc.stderr.splitlines() if line.startswith("RSS_KB")]
    with open(summary, encoding="utf-8") as f:
        elapsed = json.load(f)["elapsed_seconds"]
    return wall, elapsed, max(int(v) for v in rss[-1])


def interleaved(cases, repeats, out):
    """Medians per case, the cases taking turns in each round (so that load
    drifts on a shared machine hit them alike).  Each call gets a new,
    empty output directory, and nothing is deleted until the whole run is
    over: replacing or deleting files makes later file creation slow on
    some file systems (ext4 without a journal, as on the machine this was
    written on, skips recently deleted inodes one by one for minutes), so
    deleting between runs would charge one case for the previous one."""
    results = {name: [] for name in cases}
    for i in range(repeats):
        for name, fn in cases.items():
            results[name].append(fn(os.path.join(out, f"{name}-{i}")))
    medians = {}
    for name, values in results.items():
        if isinstance(values[0], tuple):
            medians[name] = tuple(statistics.median(v[k] for v in values)
                                  for k in range(len(values[0])))
        else:
            medians[name] = statistics.median(values)
    return medians


# ------------------------------------------------------------------- main

def _row(label, seconds, n, unit="files", rss=None, ref=None):
    rate = n / seconds if seconds > 0 else float("inf")
    text = f"  {label:<38} {seconds:9.3f} s {rate:10.1f} {unit}/s"
    if ref is not None:
        text += f"   x{seconds / ref:6.2f}"
    if rss is not None:
        text += f"   peak RSS {rss / 1024:7.1f} MiB"
    print(text, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--plate", type=int, default=10000)
    parser.add_argument("--spectra", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dachs-child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dachs_child:
        out_dir, *paths = args.dachs_child
        elapsed = dachs_run(paths, out_dir, 1)
        print(elapsed, peak_rss_kib())
        return
    if args.quick:
        args.files, args.size, args.plate, args.spectra, args.repeats = 12, 256, 1200, 40, 1

    tmp = tempfile.mkdtemp(prefix="fitsmill-previews-e2e-")
    try:
        inputs = os.path.join(tmp, "inputs")
        images = make_images(os.path.join(inputs, "images"), args.files, args.size)
        plate = os.path.join(inputs, "plate", "plate.fits")
        os.makedirs(os.path.dirname(plate))
        write_image(plate, (args.plate, args.plate), 7)
        spectra = make_spectra(os.path.join(inputs, "spectra"), args.spectra)
        out = os.path.join(tmp, "out")
        n = len(images)
        print(f"previews end to end; {os.cpu_count()} CPUs (shared: figures are noisy,"
              f" compare ratios); medians of {args.repeats}")

        print(f"\n{n} files of {args.size}x{args.size} int16 "
              f"({n * os.path.getsize(images[0]) / 1e6:.0f} MB); x = time / fitsmill serial"
              " framework time")
        glob = [os.path.join(inputs, "images", "*.fits")]
        dachs_n = min(n, 60)  # DaCHS-style is slow: a subset, rates scaled
        readers = multiprocessing.get_context("fork").Pool(2)
        m = interleaved({
            "read": lambda d: warm(images),
            "read2": lambda d: read_in_two(images, readers),
            "kernel": lambda d: kernel_run(images),
            "f1": lambda d: fitsmill_run(inputs, glob, d, 1),
            "f2": lambda d: fitsmill_run(inputs, glob, d, 2),
            "one": lambda d: fitsmill_run(inputs, images[:1], d, 1),
            "d1": lambda d: dachs_run(images[:dachs_n], d, 1) * n / dachs_n,
            "d2": lambda d: dachs_run(images[:dachs_n], d, 2) * n / dachs_n,
        }, args.repeats, out)
        readers.close()
        wall1, fw1, rss1 = m["f1"]
        wall2, fw2, rss2 = m["f2"]
        _row("read the files (python, page cache)", m["read"], n)
        _row("read the files, 2 processes", m["read2"], n)
        _row("kernel: scaled_image + render", m["kernel"], n, ref=fw1)
        _row("fitsmill previews, framework time", fw1, n, ref=fw1)
        _row("fitsmill previews, wall incl. startup", wall1, n, rss=rss1, ref=fw1)
        _row("fitsmill previews -j 2, framework", fw2, n, ref=fw1)
        _row("fitsmill previews -j 2, wall", wall2, n, rss=rss2, ref=fw1)
        _row(f"dachs-style ({dachs_n} files, scaled)", m["d1"], n, ref=fw1)
        _row(f"dachs-style, pool of 2 ({dachs_n}, scaled)", m["d2"], n, ref=fw1)
        # The framework time of a one-file run is the fixed cost of a run
        # (first-call imports and set-up, ~0.2 s); the rest is per file.
        fixed = m["one"][1] - m["kernel"] / n
        _row("fitsmill previews, 1 file (fixed cost)", m["one"][1], 1)
        marginal = fw1 - fixed
        _row("fitsmill previews, per-file part", marginal, n, ref=fw1)
        print(f"  e2e/kernel {fw1 / m['kernel']:.2f} total, {marginal / m['kernel']:.2f}"
              " per-file part (target <= 1.2);  -j 2 speed-up"
              f" {fw1 / fw2:.2f} framework, {wall1 / wall2:.2f} wall (target >= 1.8;"
              f" reading the files alone: {m['read'] / m['read2']:.2f});"
              f"  dachs-style/fitsmill {m['d1'] / fw1:.1f} serial, {m['d2'] / fw2:.1f} -j 2")

        warm([plate])
        size_mb = os.path.getsize(plate) / 1e6
        print(f"\nplate {args.plate}x{args.plate} int16 ({size_mb:.0f} MB)")
        m = interleaved({
            "read": lambda d: warm([plate]),
            "kernel": lambda d: kernel_run([plate]),
            "f1": lambda d: fitsmill_run(inputs, [plate], d, 1),
            "dachs": lambda d: dachs_isolated([plate], d),
        }, args.repeats, out)
        pw, pf, prss = m["f1"]
        pd, pdrss = m["dachs"]
        _row("read the file (python, page cache)", m["read"], 1, "plates")
        _row("kernel: scaled_image + render", m["kernel"], 1, "plates", ref=pf)
        _row("fitsmill previews, framework time", pf, 1, "plates", ref=pf)
        _row("fitsmill previews, wall incl. startup", pw, 1, "plates", rss=prss, ref=pf)
        _row("dachs-style (astropy+numpy+Pillow)", pd, 1, "plates", rss=pdrss, ref=pf)
        print(f"  e2e/kernel {pf / m['kernel']:.2f} total, {(pf - fixed) / m['kernel']:.2f}"
              f" without the fixed cost;  dachs-style/fitsmill {pd / pf:.1f}")

        ns = len(spectra)
        warm(spectra)
        arrays = [tuple(Table.read(p)[c].data for c in ("spectral", "flux")) for p in spectra]
        print(f"\n{ns} spectra of 4000 points (FITS binary tables)")

        def plots(_):
            t0 = time.perf_counter()
            for wave, flux in arrays:
                plot_spectrum(wave, flux)
            return time.perf_counter() - t0

        sglob = [os.path.join(inputs, "spectra", "*.fits")]
        cases = {
            "plot": plots,
            "s1": lambda d: fitsmill_run(inputs, sglob, d, 1, ["--spectra"]),
            "s2": lambda d: fitsmill_run(inputs, sglob, d, 2, ["--spectra"]),
        }
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            mpl_n = 0
        else:
            mpl_n = min(ns, 100)

            def mpl(_):
                t0 = time.perf_counter()
                for wave, flux in arrays[:mpl_n]:
                    dachs_spectrum_plot(wave, flux)
                return (time.perf_counter() - t0) * ns / mpl_n

            cases["mpl"] = mpl
        m = interleaved(cases, args.repeats, out)
        sf1, sf2 = m["s1"][1], m["s2"][1]
        _row("plot_spectrum (arrays in memory)", m["plot"], ns, "spectra", ref=sf1)
        _row("fitsmill previews --spectra, framework", sf1, ns, "spectra", ref=sf1)
        _row("fitsmill previews --spectra, wall", m["s1"][0], ns, "spectra", ref=sf1)
        _row("fitsmill previews --spectra -j 2, framework", sf2, ns, "spectra", ref=sf1)
        _row("fitsmill previews --spectra -j 2, wall", m["s2"][0], ns, "spectra", ref=sf1)
        if mpl_n:
            _row(f"matplotlib get2DPlot ({mpl_n}, scaled)", m["mpl"], ns, "spectra", ref=sf1)
            print(f"  matplotlib/plot_spectrum {m['mpl'] / m['plot']:.1f}")
        else:
            print("  matplotlib (DaCHS's get2DPlot): not installed, skipped")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
