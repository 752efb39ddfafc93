#!/usr/bin/env python3
"""Header writing: fitsmill against astropy, fitsio and a raw lower bound.

1. Set 3 keywords in each of N files of 2 MB (header fits: in place), page
   cache warm.  Per-file times, median over all files and repeats, for:

   * raw pread/pwrite: open, pread the first block, splice three
     pre-formatted cards in before END, pwrite, close (no parsing, no
     checks: the lower bound for any Python tool);
   * fitsmill ``update_header`` with a ``KeywordSet`` (the byte-level fast
     path, what ``fitsmill headers set`` uses) without fsync and undo log,
     with the undo log, and with both (the default); and with a function
     editing the parsed Header (the general path);
   * the same through ``update_headers`` over all files (group commit);
   * fitsio ``write_key`` x3 (CFITSIO);
   * astropy ``fits.open(mode="update")``.

2. Grow the header of one big plate (default 200 MB of real data) by 50
   cards, so that the data must move: fitsmill ``write_header`` with the
   undo log (the default; the file system shifts the data, see
   fitsmill.blockshift), with undo log and fsync, and without the log (then
   the file is copied by the kernel and renamed over the original); fitsio
   (CFITSIO shifts the data by copying); astropy (update mode); against
   ``cp`` of the same file.  Each runs in a fresh process on a fresh copy
   that has been written back to disk (``sync``: at rest, as archive files
   are); wall time and peak RSS above the process's size before the edit.
   "cp + rename over original" is what any atomic replacement by copying
   costs: on ext4, renaming over an existing file starts writeback of the
   new file's delayed-allocation pages (auto_da_alloc), which is what keeps
   it from ending up empty after a system crash; ``cp`` to a new name skips
   that.

The data of the small files are sparse (header edits never read them).
Machines shared with other work give noisy figures: compare the ratios
within one run, not absolute times across runs.

Usage: python benchmarks/headers.py [--quick] [--files N] [--plate-mb M]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

BLOCK = 2880


def plate_header(naxis1, naxis2):
    """A plate-scan primary header (37 cards: two blocks), as bytes."""
    from fitsmill.samples import plate_header as sample_header
    return sample_header((naxis2, naxis1)).tostring().encode("ascii")


def make_small_files(directory, count, size):
    naxis1 = 1000
    naxis2 = size // (2 * naxis1)
    header = plate_header(naxis1, naxis2)
    total = len(header) + -(-naxis1 * naxis2 * 2 // BLOCK) * BLOCK
    paths = []
    for i in range(count):
        path = os.path.join(directory, f"f{i:05d}.fits")
        with open(path, "wb") as f:
            f.write(header)
            f.truncate(total)
        paths.append(path)
    return paths


def raw_card(key, value):
    return f"{key:<8}= {value:>20}".ljust(80).encode("ascii")


def raw_set(path, tag):
    """Lower bound: pread the header, put three pre-formatted cards where
    their keywords are (SEQ, new, before END), pwrite the header blocks.
    No parsing and no checks: it knows this file."""
    cards = [raw_card("OBSERVER", f"'{tag}'"), raw_card("EXPTIME", "1.5"),
             raw_card("SEQ", str(len(tag)))]
    fd = os.open(path, os.O_RDWR)
    try:
        head = os.pread(fd, 4 * BLOCK, 0)
        size = (head.find(b"END" + b" " * 77) // BLOCK + 1) * BLOCK
        head = bytearray(head[:size])
        for card in cards:
            at = head.find(card[:9])
            if at < 0:      # a new card: in the place of END, END after it
                at = head.find(b"END" + b" " * 77)
                head[at + 80:at + 160] = head[at:at + 80]
            head[at:at + 80] = card
        os.pwrite(fd, head[:size], 0)
    finally:
        os.close(fd)


def header_edit(tag):
    """The general path: a function editing the parsed Header."""
    def edit(header):
        header["OBSERVER"] = tag
        header["EXPTIME"] = 1.5
        header["SEQ"] = len(tag)
        return header
    return edit


def keyword_set(tag, _made={}):
    """The same edit as a KeywordSet (byte-level fast path), made once per
    set of values as a bulk job would."""
    from fitsmill.keywordset import KeywordSet
    if tag not in _made:
        _made[tag] = KeywordSet({"OBSERVER": tag, "EXPTIME": 1.5, "SEQ": len(tag)})
    return _made[tag]


def fitsmill_setter(make_edit, **options):
    from fitsmill import fitsfile

    def set3(path, tag):
        fitsfile.update_header(path, make_edit(tag), **options)
    return set3


def fitsio_set(path, tag):
    import fitsio
    with fitsio.FITS(path, "rw") as f:
        f[0].write_key("OBSERVER", tag)
        f[0].write_key("EXPTIME", 1.5)
        f[0].write_key("SEQ", len(tag))


def astropy_set(path, tag):
    from astropy.io import fits
    with fits.open(path, mode="update") as hdul:
        h = hdul[0].header
        h["OBSERVER"] = tag
        h["EXPTIME"] = 1.5
        h["SEQ"] = len(tag)


def bench_batch(paths, log, repeats):
    """fitsmill update_headers over all files: time per file (median of
    the repeats), without fsync and with fsync + undo log (one flush of the
    log per group of files), for both kinds of edit."""
    from fitsmill import fitsfile
    results = {}
    runs = []
    for rep in range(repeats):
        # the lower bound in the same shape: one pass over all files
        t0 = time.perf_counter()
        for p in paths:
            raw_set(p, f"b{rep}raw")
        runs.append((time.perf_counter() - t0) / len(paths))
    results["raw pread/pwrite, one pass"] = statistics.median(runs)
    for name, make_edit, options in [
            ("KeywordSet batch (no fsync, no undo)", keyword_set, dict(undo=False, fsync=False)),
            ("KeywordSet batch (fsync + undo log)", keyword_set, dict(undo=log, fsync=True)),
            ("Header-edit batch (no fsync, no undo)", header_edit,
             dict(undo=False, fsync=False))]:
        runs = []
        for rep in range(repeats):
            edit = make_edit(f"b{rep}{len(results)}")
            t0 = time.perf_counter()
            fitsfile.update_headers([(p, edit) for p in paths], **options)
            runs.append((time.perf_counter() - t0) / len(paths))
        results["fitsmill " + name] = statistics.median(runs)
    return results


def bench_small(directory, count, size, repeats):
    from fitsmill.undolog import UndoLog
    paths = make_small_files(directory, count, size)
    undo_dir = os.path.join(directory, "undo")
    log = UndoLog(undo_dir, fsync=True)
    methods = [
        ("raw pread/pwrite", raw_set),
        ("fitsmill KeywordSet (no fsync, no undo)",
         fitsmill_setter(keyword_set, undo=False, fsync=False)),
        ("fitsmill KeywordSet (undo log, no fsync)",
         fitsmill_setter(keyword_set, undo=log, fsync=False)),
        ("fitsmill KeywordSet (fsync + undo log)",
         fitsmill_setter(keyword_set, undo=log, fsync=True)),
        ("fitsmill Header edit (no fsync, no undo)",
         fitsmill_setter(header_edit, undo=False, fsync=False)),
        ("fitsio write_key", fitsio_set),
        ("astropy update mode", astropy_set),
    ]
    # Warm up imports and the page cache, and give every file the three
    # cards, so that every method then replaces values in a header of the
    # same size.
    for path in paths:
        raw_set(path, "warmup")
    for _, method in methods:
        method(paths[0], "warmup")
    times = {name: [] for name, _ in methods}
    for rep in range(repeats):
        for n, path in enumerate(paths):
            # Methods take turns on each file, in a rotating order, so that
            # machine noise and cache state hit them alike.
            shift = n % len(methods)
            for k, (name, method) in enumerate(methods[shift:] + methods[:shift]):
                # astropy is ~50x slower: every 10th file keeps the run short.
                if "astropy" in name and n % 10:
                    continue
                # A value no other method wrote, so every call really writes.
                tag = f"r{rep}m{(k + shift) % len(methods)}"
                t0 = time.perf_counter()
                method(path, tag)
                times[name].append(time.perf_counter() - t0)
    batch = bench_batch(paths, log, repeats)
    log.close()
    shutil.rmtree(undo_dir, ignore_errors=True)
    floor = statistics.median(times["raw pread/pwrite"])
    print(f"\nSet 3 keywords in {count} files of {size / 1e6:.0f} MB "
          f"({repeats} repeats, median per file; astropy on every 10th file):")
    print(f"  {'method':44s} {'median us':>10s} {'x raw':>7s}")
    for name, _ in methods:
        med = statistics.median(times[name])
        print(f"  {name:44s} {med * 1e6:10.1f} {med / floor:7.2f}")
    print("  one pass over all files (update_headers: groups of 64), total time / files,"
          " x raw of the raw pass:")
    raw_pass = batch["raw pread/pwrite, one pass"]
    for name, per_file in batch.items():
        print(f"  {name:44s} {per_file * 1e6:10.1f} {per_file / raw_pass:7.2f}")
    for path in paths:
        os.unlink(path)


GROW_CHILD = r"""
import json, os, sys, time
method, path = sys.argv[1:3]
if method.startswith("fitsmill"):
    from fitsmill import fitsfile, header
elif method == "fitsio":
    import fitsio
else:
    from astropy.io import fits
def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
base = status("VmRSS:")
keys = [(f"GROW{i}", i) for i in range(50)]
t0 = time.perf_counter()
if method.startswith("fitsmill"):
    header = fitsfile.read_header(path)
    for k, v in keys:
        header[k] = v
    # the undo log goes to $FITSMILL_UNDO_DIR (set by the parent)
    fitsfile.write_header(path, header, undo=not method.endswith("copy"),
                          fsync=method.endswith("fsync"))
elif method == "fitsio":
    with fitsio.FITS(path, "rw") as f:
        for k, v in keys:
            f[0].write_key(k, v)
else:
    with fits.open(path, mode="update") as hdul:
        for k, v in keys:
            hdul[0].header[k] = v
elapsed = time.perf_counter() - t0
print(json.dumps({"seconds": elapsed, "rss": status("VmHWM:") - base}))
"""


def bench_grow(directory, megabytes, repeats):
    naxis1 = 10000
    naxis2 = megabytes * 1_000_000 // (2 * naxis1)
    plate = os.path.join(directory, "plate.fits")
    rng = np.random.default_rng(1)
    with open(plate, "wb") as f:
        f.write(plate_header(naxis1, naxis2))
        for _ in range(naxis2 // 100):
            f.write(rng.integers(0, 65535, (100, naxis1), dtype=np.uint16)
                    .astype(">u2").tobytes())
        f.write(b"\0" * (-f.tell() % BLOCK))
    work = os.path.join(directory, "work.fits")
    other = os.path.join(directory, "other.fits")
    results = {}
    for rep in range(repeats):
        for method in ("cp", "cp+mv", "fitsmill", "fitsmill-fsync", "fitsmill-copy",
                       "fitsio", "astropy"):
            # Every method starts from a fresh copy in the same state: in the
            # page cache and written back (at rest, as archive files are);
            # cp copies that copy.
            shutil.copyfile(plate, work)
            os.sync()
            if method.startswith("cp"):
                t0 = time.perf_counter()
                subprocess.run(["cp", work, other], check=True)
                if method == "cp+mv":
                    # What an atomic replace adds: rename over the original
                    # (ext4 starts writing the new file back at this point).
                    os.rename(other, work)
                results.setdefault(method, []).append((time.perf_counter() - t0, 0))
                if os.path.exists(other):
                    os.unlink(other)
            else:
                env = dict(os.environ, FITSMILL_UNDO_DIR=os.path.join(directory, "undo"))
                out = subprocess.run([sys.executable, "-c", GROW_CHILD, method, work],
                                     check=True, capture_output=True, text=True,
                                     env=env).stdout
                r = json.loads(out)
                results.setdefault(method, []).append((r["seconds"], r["rss"]))
            os.unlink(work)
    os.unlink(plate)
    cp = statistics.median(t for t, _ in results["cp"])
    cp_mv = statistics.median(t for t, _ in results["cp+mv"])
    print(f"\nGrow the header of a {megabytes} MB plate by 50 cards "
          f"({repeats} repeats, medians; fresh process and copy each time):")
    print(f"  {'method':26s} {'ms':>9s} {'x cp':>7s} {'x cp+mv':>8s} {'peak RSS +MiB':>14s}")
    labels = {"cp": "cp (reference)", "cp+mv": "cp + rename over original",
              "fitsmill": "fitsmill (undo log)",
              "fitsmill-fsync": "fitsmill (undo log+fsync)",
              "fitsmill-copy": "fitsmill (no log: copy)", "fitsio": "fitsio write_key",
              "astropy": "astropy update mode"}
    for method, rows in results.items():
        t = statistics.median(r[0] for r in rows)
        rss = statistics.median(r[1] for r in rows) / 2**20
        rss_text = "-" if method.startswith("cp") else f"{rss:.1f}"
        print(f"  {labels[method]:26s} {t * 1e3:9.1f} {t / cp:7.2f} {t / cp_mv:8.2f} "
              f"{rss_text:>14s}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--file-mb", type=float, default=2.0)
    parser.add_argument("--plate-mb", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.quick:
        args.files, args.plate_mb, args.repeats = 40, 10, 1
    print("fitsmill header-writing benchmark (noisy on a shared machine: "
          "compare ratios within this run)")
    with tempfile.TemporaryDirectory(prefix="fitsmill-bench-") as directory:
        bench_small(directory, args.files, int(args.file_mb * 1e6), args.repeats)
        bench_grow(directory, args.plate_mb, args.repeats)


if __name__ == "__main__":
    main()
