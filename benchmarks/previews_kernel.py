"""Preview speed: fitsmill's streaming kernel against its peers.

Generates its own data in a temporary directory, then times, in the same
run and with the same preview settings (200 px, percentile 0.5/99.5 limits,
JPEG quality 85):

- fitsmill: ``scaled_image(path, size=200)`` + ``fitsmill.imaging.render``
- fitsmill-scale: ``scaled_image`` alone (HDU lookup + kernel, no picture),
  to tell the kernel's share from the rendering's
- astropy: ``fits.getdata`` + NumPy block mean + Pillow
- fitsio: ``fitsio.read`` + the same block mean + Pillow
- numpy-stream: ``np.fromfile`` bands of ``factor`` rows + reshape-sum + Pillow
- the floors: ``cat FILE > /dev/null`` (uncompressed), ``zcat`` (.gz) and
  fitsio's bare decompression (.fz); cat and zcat read each file several
  times in one process so that process start-up does not count

Cases: a 10000 x 10000 int16 BZERO=32768 plate (200 MB), 1024 x 1024 int16
files, a 4096 x 4096 float32 image with a NaN patch and NaN columns, and the
plate as .fits.gz and as RICE .fz.  Warm page cache, one process.  Prints
median times, ratios to fitsmill and to the floor, and the peak RSS increase
of each method measured in a fresh subprocess.

Figures are medians of a few runs, as wall time and as CPU time (user +
system, children included); on a shared machine they are noisy, so compare
the ratios within one run rather than absolute times across runs.

Usage: ``python benchmarks/previews_kernel.py [--quick] [--dir DIR] [--cases small,float]``
"""

import argparse
import gzip
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

SIZE = 200
PERCENTILES = (0.5, 99.5)
QUALITY = 85


# ------------------------------------------------------------------ data

def _write_fits(path, raw, cards):
    from astropy.io import fits
    header = fits.Header([("SIMPLE", True), ("BITPIX", {2: 16, 4: -32}[raw.itemsize]),
                          ("NAXIS", 2), ("NAXIS1", raw.shape[1]),
                          ("NAXIS2", raw.shape[0])] + list(cards))
    with open(path, "wb") as f:
        f.write(header.tostring().encode("ascii"))
        # row bands, so generating a 200 MB plate never doubles in memory
        for start in range(0, raw.shape[0], 512):
            f.write(raw[start:start + 512].astype(raw.dtype.newbyteorder(">")).tobytes())
        f.write(b"\0" * (-f.tell() % 2880))


def _plate(n, rng):
    """Plate-like int16 data stored with BZERO 32768: sky, noise, stars."""
    y = np.linspace(-1, 1, n)[:, None]
    x = np.linspace(-1, 1, n)[None, :]
    sky = 20000 + 3000 * (x * x + y * y)
    img = sky + rng.normal(0, 300, (n, n))
    for _ in range(max(10, n // 20)):
        cy, cx = rng.integers(5, n - 5, 2)
        img[cy - 2:cy + 3, cx - 2:cx + 3] += rng.uniform(1000, 30000)
    return (np.clip(img, 0, 65535) - 32768).astype(np.int16)


def make_data(directory, quick, cases=None):
    """The files of every case in ``cases`` (default: all)."""
    cases = set(CASES if cases is None else cases)
    n_plate = 1000 if quick else 10000
    n_small, small = (8, 256) if quick else (300, 1024)
    n_float = 512 if quick else 4096
    files = {}
    plate = os.path.join(directory, "plate.fits")
    if cases & {"plate", "gz", "fz"}:
        _write_fits(plate, _plate(n_plate, np.random.default_rng([2026, 1])),
                    [("BZERO", 32768), ("BSCALE", 1)])
        files["plate"] = [plate]
    if "small" in cases:
        one = _plate(small, np.random.default_rng([2026, 2]))
        files["small"] = []
        for i in range(n_small):
            path = os.path.join(directory, f"small{i:04d}.fits")
            _write_fits(path, np.roll(one, i, axis=1), [("BZERO", 32768)])
            files["small"].append(path)
    if "float" in cases:
        rng = np.random.default_rng([2026, 3])
        img = rng.normal(100, 10, (n_float, n_float)).astype(np.float32)
        img[n_float // 4:n_float // 3, n_float // 2:n_float * 2 // 3] = np.nan
        img[:, ::97] = np.nan
        path = os.path.join(directory, "float.fits")
        _write_fits(path, img, [])
        files["float"] = [path]
    if "gz" in cases:
        gz = plate + ".gz"
        with open(plate, "rb") as src, gzip.open(gz, "wb", compresslevel=6) as dst:
            while chunk := src.read(1 << 22):
                dst.write(chunk)
        files["gz"] = [gz]
    if "fz" in cases:
        import fitsio
        fz = os.path.join(directory, "plate.fits.fz")
        fitsio.write(fz, fitsio.read(plate), compress="RICE")
        files["fz"] = [fz]
    return files


# ---------------------------------------------------------------- methods

def _block_mean(data, factor):
    """NaN-aware block mean of a whole in-memory image (the peers' way)."""
    h, w = data.shape
    oh, ow = -(-h // factor), -(-w // factor)
    pad = np.full((oh * factor, ow * factor), np.nan, np.float32)
    pad[:h, :w] = data
    with np.errstate(invalid="ignore"), _quiet():
        return np.nanmean(pad.reshape(oh, factor, ow, factor), axis=(1, 3))


class _quiet:
    def __enter__(self):
        import warnings
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._w.__exit__(*exc)


def _pillow_jpeg(img):
    from PIL import Image
    finite = img[np.isfinite(img)]
    lo, hi = np.percentile(finite, PERCENTILES) if finite.size else (0.0, 1.0)
    scaled = np.clip((img - lo) / ((hi - lo) or 1.0), 0, 1)
    grey = np.nan_to_num(scaled * 255 + 0.5, nan=0).astype(np.uint8)[::-1]
    buf = io.BytesIO()
    Image.fromarray(grey).save(buf, format="JPEG", quality=QUALITY)
    return buf.getvalue()


def _factor(shape):
    return max(1, -(-max(shape) // SIZE))


def run_fitsmill(path):
    from fitsmill import imaging
    from fitsmill.scaledrows import scaled_image
    return imaging.render(scaled_image(path, size=SIZE))


def run_fitsmill_scale(path):
    from fitsmill.scaledrows import scaled_image
    return scaled_image(path, size=SIZE)


def run_astropy(path):
    from astropy.io import fits
    data = fits.getdata(path).astype(np.float32, copy=False)
    return _pillow_jpeg(_block_mean(data, _factor(data.shape)))


def run_fitsio(path):
    import fitsio
    data = fitsio.read(path).astype(np.float32, copy=False)
    return _pillow_jpeg(_block_mean(data, _factor(data.shape)))


def run_numpy_stream(path):
    """np.fromfile bands of factor rows, reshape-sum: the best plain-NumPy
    streamer (header layout taken from astropy, once)."""
    from astropy.io import fits
    with fits.open(path) as hdul:
        hdu = hdul[0]
        shape = hdu.shape
        bzero = hdu.header.get("BZERO", 0.0)
        bscale = hdu.header.get("BSCALE", 1.0)
        dtype = np.dtype({16: ">i2", -32: ">f4"}[hdu.header["BITPIX"]])
        offset = hdu._data_offset
    f = _factor(shape)
    h, w = shape
    ow = -(-w // f)
    rows = []
    with open(path, "rb") as stream:
        stream.seek(offset)
        for start in range(0, h, f):
            n = min(f, h - start)
            band = np.fromfile(stream, dtype, n * w).reshape(n, w).astype(np.float32)
            pad = np.full((n, ow * f), np.nan, np.float32)
            pad[:, :w] = band
            with np.errstate(invalid="ignore"), _quiet():
                rows.append(np.nanmean(pad.reshape(n, ow, f), axis=(0, 2)))
    return _pillow_jpeg(np.array(rows) * bscale + bzero)


def run_fitsio_decompress(path):
    import fitsio
    fitsio.read(path)


METHODS = {
    "fitsmill": run_fitsmill,
    "fitsmill-scale": run_fitsmill_scale,
    "astropy": run_astropy,
    "fitsio": run_fitsio,
    "numpy-stream": run_numpy_stream,
    "cat": None,   # timed as a shell command, see _time_case
    "zcat": None,
    "fitsio-decompress": run_fitsio_decompress,
}

CASES = {
    "plate": ("fitsmill", "fitsmill-scale", "astropy", "fitsio", "numpy-stream", "cat"),
    "small": ("fitsmill", "fitsmill-scale", "astropy", "fitsio", "numpy-stream", "cat"),
    "float": ("fitsmill", "fitsmill-scale", "astropy", "fitsio", "numpy-stream", "cat"),
    "gz": ("fitsmill", "astropy", "fitsio", "zcat"),
    "fz": ("fitsmill", "astropy", "fitsio", "fitsio-decompress"),
}

FLOOR = {"plate": "cat", "small": "cat", "float": "cat", "gz": "zcat",
         "fz": "fitsio-decompress"}


def _cpu_seconds():
    """CPU time of this process and its finished children (user + system)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _time_case(method, paths, repeat):
    """Median wall and CPU seconds per file over ``repeat`` passes."""
    fn = METHODS[method]
    if method in ("cat", "zcat"):
        # One process reads every file, each listed several times (about
        # 1 GiB in all), so process start-up does not count in the floor.
        total = sum(os.path.getsize(p) for p in paths)
        copies = max(1, min(100, (1 << 30) // max(total, 1)))
        command = method + " " + " ".join(f"'{p}'" for p in paths * copies) + \
            " > /dev/null"
        per_pass = len(paths) * copies

        def one_pass():
            subprocess.run(command, shell=True, check=True)
    else:
        per_pass = len(paths)

        def one_pass():
            for p in paths:
                fn(p)
    one_pass()  # warm caches and imports
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), _cpu_seconds()
        one_pass()
        wall.append((time.perf_counter() - t) / per_pass)
        cpu.append((_cpu_seconds() - c) / per_pass)
    return statistics.median(wall), statistics.median(cpu)


def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _child(method, path):
    """Run one method once in this fresh process and print its peak RSS
    increase in KiB over the state after imports (Linux: the high-water
    mark is reset through /proc/self/clear_refs first)."""
    import fitsio  # noqa: F401  (imports are not the method's memory)
    from astropy.io import fits  # noqa: F401
    from fitsmill import imaging  # noqa: F401
    from fitsmill.scaledrows import scaled_image  # noqa: F401
    import PIL.Image  # noqa: F401
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = _status_kib("VmRSS")
    METHODS[method](path)
    print(json.dumps({"rss_kib": _status_kib("VmHWM") - before}))


def _peak_rss(method, path):
    if method in ("cat", "zcat"):
        return None
    proc = subprocess.run([sys.executable, __file__, "--child", method, path],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])["rss_kib"] / 1024


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--dir", help="where to make the data: a new directory "
                        "under DIR, removed at the end (default: the system's "
                        "temporary directory)")
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument("--cases", default=",".join(CASES),
                        help="comma-separated subset of the cases to time "
                             f"(default: all of {', '.join(CASES)})")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0
    repeat = args.repeat or (2 if args.quick else 5)
    cases = args.cases.split(",")
    unknown = set(cases) - set(CASES)
    if unknown:
        parser.error(f"unknown case(s) {', '.join(sorted(unknown))}")
    with tempfile.TemporaryDirectory(dir=args.dir) as directory:
        print(f"generating data in {directory} ...", flush=True)
        files = make_data(directory, args.quick, cases)
        print(f"{'case':7s} {'method':18s} {'wall ms':>9s} {'per s':>7s} "
              f"{'x fitsmill':>10s} {'x floor':>8s} {'cpu ms':>9s} {'cpu x floor':>11s} "
              f"{'peak RSS +MiB':>13s}")
        for case, methods in CASES.items():
            if case not in cases:
                continue
            paths = files[case]
            results = {}
            for method in methods:
                results[method] = _time_case(method, paths, repeat)
            floor_wall, floor_cpu = results[FLOOR[case]]
            for method in methods:
                wall, cpu = results[method]
                rss = _peak_rss(method, paths[0])
                print(f"{case:7s} {method:18s} {wall * 1e3:9.2f} {1 / wall:7.0f} "
                      f"{wall / results['fitsmill'][0]:10.2f} {wall / floor_wall:8.2f} "
                      f"{cpu * 1e3:9.2f} {cpu / floor_cpu:11.2f} "
                      f"{'-' if rss is None else f'{rss:.1f}':>13s}", flush=True)
        print("ratios: 'x fitsmill' > 1 means slower than fitsmill; 'x floor' is "
              "time over the floor (cat, zcat, or fitsio's bare decompression); "
              "cpu columns count user+system time of the process and its "
              "children, which a busy machine distorts less than wall time.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
