"""Benchmark: HeaderProcessor compute + cache + apply, fitsmill vs DaCHS-style astropy.

Both sides do the same job on the same files (2 MB int16 images with a
plate-like primary header of two blocks): read the primary header, add a
few cards, write the ``.hdr`` cache, take the data-describing cards from
the file and write the new header into the file.  The peer reads its cache
and the file's header back for the apply, as DaCHS does; fitsmill keeps
the cache it has just written and reads the file's header once, under the
lock it writes the file with.

* fitsmill: a :class:`fitsmill.headerproc.HeaderProcessor` run through
  ``procmain(..., argv=["--apply"])``, once with ``--no-fsync`` and once with
  the default fsync of every write.
* DaCHS-style on astropy, written here: ``fits.getheader``, the cache via
  ``Header.tofile``, the apply via ``fits.open(mode="update")``.

Fairness: astropy's update mode and ``Header.tofile`` never fsync, so the
comparison that counts is fitsmill ``--no-fsync`` against the peer (the
fsync row shows the price of durability).  fitsmill does more per file
than the peer: it sorts both headers as DaCHS does, writes the cache
atomically (:func:`fitsmill.atomic.atomic_write`: an unnamed file linked
under its name once complete), takes a lock and logs the old header for
undo before writing; the peer does none of this.  Both create one new
file (the cache) per source, which on some filesystems costs more kernel
time than everything else: the "new-file floor" row measures just that (a
5760-byte file written atomically per source with atomic_write, in the
same directory), and "framework" a do-nothing FileProcessor over the same
files.
CPU is split into user and system time of this process (getrusage).

The data parts are sparse (neither side reads them), so the files take
little disk space.  Each row of each repetition gets freshly generated
files in a new directory, and ``os.sync()`` and a pause of 6 s (not with
``--quick``) follow, for every row alike, so that the kernel's writeback
of the setup does not land in the timed part.  Nothing is deleted before
the end of the run: on ext4 without a journal (this VM's disk) the inode
allocator steps over every inode freed in the last 5 seconds, or whose
inode-table block has not been written back since, one by one, so
creating a file right after thousands were deleted costs 150-650 us of
kernel time instead of ~30-70; the sync and the pause end that window
for deletions made before the row.  File creation still varies with what
the rest of the machine writes and deletes, which is why the floor rows
are measured in the same run.  "update_header alone" is fitsmill's locked
in-place write of one more card per file (read, merge, undo record,
pwrite) without computing or caching anything: the part of the flow that
belongs to :mod:`fitsmill.fitsfile`.  The figures are medians over
repetitions (noisy on a shared machine: compare the ratios).

Usage: python benchmarks/headerproc.py [--files N] [--repeat R] [--dir D] [--quick]
"""

import argparse
import contextlib
import io
import os
import resource
import shutil
import statistics
import tempfile
import time

import numpy as np
from astropy.io import fits

from fitsmill import fitsfile
from fitsmill.atomic import atomic_write
from fitsmill.headerproc import HeaderProcessor
from fitsmill.processor import FileProcessor, procmain

FILE_SIZE = 2 * 1024 * 1024
SHAPE = (1024, 1024)          # int16: 2 MiB of data


def make_files(directory, count):
    """Write ``count`` 2 MB FITS files (sparse data) into ``directory``."""
    hdr = fits.PrimaryHDU(np.zeros((1, 1), dtype=np.int16)).header
    hdr["NAXIS1"], hdr["NAXIS2"] = SHAPE[1], SHAPE[0]
    for i in range(30):
        hdr[f"KEY{i:03d}"] = (i * 1.5, "some plate metadata")
    hdr["TELESCOP"] = "Great Refractor"
    hdr.add_history("scanned with an Epson Expression 10000XL")
    hdr.add_comment("a comment card")
    data_size = SHAPE[0] * SHAPE[1] * 2
    padded = data_size + (-data_size % 2880)
    for n in range(count):
        hdr["SEED"] = n
        raw = hdr.tostring().encode("ascii")
        path = os.path.join(directory, f"plate{n:05d}.fits")
        with open(path, "wb") as f:
            f.write(raw)
            f.truncate(len(raw) + padded)


class BenchProcessor(HeaderProcessor):
    def _mungeHeader(self, srcName, hdr):
        hdr["OBJECT"] = ("M 31", "observed object")
        hdr["EXPTIME"] = (600.0, "[s] exposure time")
        hdr["SQUARE"] = hdr["SEED"] ** 2
        return hdr


def _timed(func, *args):
    """(wall, user CPU, system CPU) seconds of func(*args) in this process."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.perf_counter()
    func(*args)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_SELF)
    return wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime


def _sources(directory):
    return sorted(os.path.join(directory, n) for n in os.listdir(directory)
                  if n.endswith(".fits"))


def run_fitsmill(directory, fsync):
    argv = ["--apply", "--no-progress"] + ([] if fsync else ["--no-fsync"])
    proc = procmain(BenchProcessor, sources=[os.path.join(directory, "*.fits")],
                    argv=argv, exit=False)
    assert proc.summary.failed == 0, proc.summary.format()


class NoOpProcessor(FileProcessor):
    def process(self, srcName):
        return None


def run_framework(directory):
    """The framework alone: source selection, dispatch, summary."""
    procmain(NoOpProcessor, sources=[os.path.join(directory, "*.fits")],
             argv=["--no-progress"], exit=False)


def run_update_floor(directory):
    """fitsfile.update_header adding one card to each file, nothing else."""
    def edit(hdr):
        hdr["SQUARE"] = 1
        return hdr
    for name in _sources(directory):
        fitsfile.update_header(name, edit, fsync=False)


def run_create_floor(directory):
    """One new 5760-byte file per source, written with atomic_write."""
    data = b" " * 5760
    for name in _sources(directory):
        atomic_write(name + ".floor", data)


KEEP = ("SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND", "BZERO", "BSCALE")


def run_astropy(directory):
    """DaCHS's HeaderProcessor flow written on astropy."""
    for name in _sources(directory):
        hdr = fits.getheader(name)
        hdr["OBJECT"] = ("M 31", "observed object")
        hdr["EXPTIME"] = (600.0, "[s] exposure time")
        hdr["SQUARE"] = hdr["SEED"] ** 2
        cache = hdr.copy()
        cache["BITPIX"] = 8
        cache["NAXIS"] = 0
        del cache["NAXIS1"], cache["NAXIS2"]
        cache.tofile(name + ".hdr", overwrite=True)
        cached = fits.getheader(name + ".hdr")
        current = fits.getheader(name)
        for key in KEEP:
            if key in current:
                cached[key] = current[key]
        with fits.open(name, mode="update") as hdul:
            target = hdul[0].header
            for card in cached.cards:
                if card.keyword not in ("HISTORY", "COMMENT", ""):
                    target[card.keyword] = (card.value, card.comment)


def check(directory):
    """Every file got the new cards and kept its data layout."""
    name = os.path.join(directory, "plate00001.fits")
    hdr = fits.getheader(name)
    assert hdr["SQUARE"] == 1 and hdr["NAXIS1"] == SHAPE[1], repr(hdr)
    assert os.path.getsize(name) == 2880 * 2 + SHAPE[0] * SHAPE[1] * 2 + \
        (-SHAPE[0] * SHAPE[1] * 2 % 2880)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", help="where to make the files (default: the"
                        " system's temporary directory; creating files costs"
                        " differently on different filesystems)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny smoke run (20 files, one repetition)")
    args = parser.parse_args()
    if args.quick:
        args.files, args.repeat = 20, 1
    runs = {"fitsmill --no-fsync": lambda d: run_fitsmill(d, False),
            "fitsmill (fsync)": lambda d: run_fitsmill(d, True),
            "astropy DaCHS-style": run_astropy,
            "framework (no-op)": run_framework,
            "update_header alone": run_update_floor,
            "new-file floor": run_create_floor}
    checked = ("fitsmill --no-fsync", "fitsmill (fsync)", "astropy DaCHS-style")
    figures = {label: [] for label in runs}
    base = tempfile.mkdtemp(prefix="fm-bench-hdr-", dir=args.dir)
    # fitsmill logs every header write for undo: keep the logs in the sandbox
    os.environ.setdefault("FITSMILL_UNDO_DIR", os.path.join(base, "undo"))
    try:
        for rep in range(args.repeat):
            for n, (label, func) in enumerate(runs.items()):
                # A new directory each time, all removed at the end: see
                # the module docstring on deleting files.
                directory = os.path.join(base, f"data-{rep}-{n}")
                os.makedirs(directory)
                make_files(directory, args.files)
                os.sync()
                if not args.quick:
                    time.sleep(6)
                with contextlib.redirect_stdout(io.StringIO()):
                    timed = _timed(func, directory)
                figures[label].append([t / args.files for t in timed])
                if label in checked:
                    check(directory)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"HeaderProcessor compute + cache + apply, {args.files} files of"
          f" {FILE_SIZE // 2**20} MB in {os.path.dirname(base)}, median of"
          f" {args.repeat} run(s); shared machine: compare ratios.  CPU ="
          " user + system time of this process; the ratio is peer / fitsmill.")
    medians = {label: [statistics.median(column) for column in zip(*rows)]
               for label, rows in figures.items()}
    peer_wall, peer_user, peer_sys = medians["astropy DaCHS-style"]
    for label, (wall, user, system) in medians.items():
        ratio = "" if label not in checked else \
            f" ({peer_wall / wall:5.1f}x wall, {(peer_user + peer_sys) / (user + system):5.1f}x CPU)"
        print(f"  {label:20s} wall {wall * 1e3:7.3f}  CPU {(user + system) * 1e3:7.3f}"
              f" (user {user * 1e3:6.3f} sys {system * 1e3:6.3f}) ms/file{ratio}")


if __name__ == "__main__":
    main()
