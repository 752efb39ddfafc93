"""Framework overhead of fitsmill's FileProcessor, serial and -j 2.

Measures, in one run:

1. per-source overhead of a no-op ``process`` over N identifiers (no file
   system involved) for
   - a bare Python loop calling the method (the floor),
   - a DaCHS-style serial loop (DaCHS 2017 ``_runProcessor``: try/except per
     source, a ``"%6d (-%5d)\\r"`` progress line written and flushed per
     source), re-implemented here,
   - fitsmill ``procmain`` serial (with ``--no-progress`` and with plain
     progress lines),
   - fitsmill ``procmain -j 2``, and ``concurrent.futures`` ``map`` with
     chunks as the parallel floor;
2. CPU-bound work (a pure-Python loop per source) serially and with
   ``-j 2``: the speed-up over serial, and ``concurrent.futures`` ``map``
   over the same work as the parallel floor.

Usage: ``python benchmarks/framework.py [--quick] [--repeat R]``.
The machine is usually shared: figures are medians of R runs and the
ratios matter more than the absolute times.
"""

import argparse
import concurrent.futures
import contextlib
import io
import multiprocessing
import os
import resource
import statistics
import sys
import time

from fitsmill import api
from fitsmill.processor import parse_options


class NoOp(api.FileProcessor):
    """Identifiers are made up; ``process`` does nothing."""

    def iterIdentifiers(self):
        return (f"/archive/plates/scan{i:07d}.fits" for i in range(self.opts.count))

    @staticmethod
    def addOptions(parser):
        api.FileProcessor.addOptions(parser)
        parser.add_option("--count", type="int", dest="count", default=1000)
        parser.add_option("--work", type="int", dest="work", default=0)

    def process(self, srcName):
        pass


class Burner(NoOp):
    """CPU-bound ``process``: a pure-Python loop of ``--work`` iterations."""

    def process(self, srcName):
        return _burn(self.opts.work)


def _burn(n):
    acc = 0
    for i in range(n):
        acc = (acc + i * i) % 1000003
    return acc


def _noop(_):
    return None


def _time(func):
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def _median(func, repeat):
    return statistics.median(_time(func) for _ in range(repeat))


def _procmain(cls, argv):
    # the summary goes to stdout; the benchmark prints its own table
    with contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        proc = api.procmain(cls, argv=argv, exit=False)
    assert proc.exit_status == 0, proc.summary.format()
    return proc


def _bare_loop(proc):
    for ident in proc.iterIdentifiers():
        proc.process(ident)


def _dachs_style_loop(proc):
    """DaCHS 2017's single-process loop, re-implemented (stdout progress)."""
    out = io.StringIO()
    processed = ignored = 0
    for source in proc.iterIdentifiers():
        try:
            proc.process(source)
        except api.SkipThis:
            continue
        except Exception:  # noqa: BLE001 -- as DaCHS
            ignored += 1
        processed += 1
        out.write("%6d (-%5d)\r" % (processed, ignored))
        out.flush()


def _futures_map(n):
    idents = [f"/archive/plates/scan{i:07d}.fits" for i in range(n)]
    with concurrent.futures.ProcessPoolExecutor(
            2, mp_context=multiprocessing.get_context("spawn")) as pool:
        for _ in pool.map(_noop, idents, chunksize=256):
            pass


def _futures_burn(tasks, work):
    with concurrent.futures.ProcessPoolExecutor(
            2, mp_context=multiprocessing.get_context("spawn")) as pool:
        for _ in pool.map(_burn, [work] * tasks):
            pass


def _cpu_seconds():
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _median_cpu(func, repeat):
    """Median wall-clock and CPU seconds (this process and its reaped
    children) of ``func``."""
    walls, cpus = [], []
    for _ in range(repeat):
        cpu = _cpu_seconds()
        walls.append(_time(func))
        cpus.append(_cpu_seconds() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def _peak_rss_mb():
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return own / 1024, children / 1024


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--repeat", type=int, default=None,
                        help="runs per measurement (median reported)")
    args = parser.parse_args(argv)
    n = 2000 if args.quick else 100_000
    cpu_tasks, work = (16, 20_000) if args.quick else (100, 300_000)
    repeat = args.repeat or (1 if args.quick else 3)
    count = ["--count", str(n)]

    print(f"framework overhead, no-op process, {n} identifiers,"
          f" median of {repeat} (shared machine: compare ratios)")
    noop = NoOp(parse_options(NoOp, count))
    rows = [
        ("bare Python loop (floor)", _median(lambda: _bare_loop(noop), repeat)),
        ("DaCHS-style serial loop", _median(lambda: _dachs_style_loop(noop), repeat)),
        ("fitsmill serial --no-progress",
         _median(lambda: _procmain(NoOp, count + ["--no-progress"]), repeat)),
        ("fitsmill serial, plain progress",
         _median(lambda: _procmain(NoOp, count), repeat)),
        ("concurrent.futures map, 2 procs",
         _median(lambda: _futures_map(n), repeat)),
        ("fitsmill -j 2 --no-progress",
         _median(lambda: _procmain(NoOp, count + ["-j", "2", "--no-progress"]), repeat)),
    ]
    floor = rows[0][1]
    print(f"{'runner':34s} {'total s':>9s} {'us/source':>10s} {'x floor':>8s}")
    for name, seconds in rows:
        print(f"{name:34s} {seconds:9.3f} {seconds / n * 1e6:10.2f}"
              f" {seconds / floor:8.1f}")

    print(f"\nCPU-bound process ({cpu_tasks} sources x {work} loop iterations),"
          f" median of {repeat}")
    cpu = ["--count", str(cpu_tasks), "--work", str(work), "--no-progress"]
    serial, serial_cpu = _median_cpu(lambda: _procmain(Burner, cpu), repeat)
    parallel, parallel_cpu = _median_cpu(
        lambda: _procmain(Burner, cpu + ["-j", "2"]), repeat)
    plain, plain_cpu = _median_cpu(lambda: _futures_burn(cpu_tasks, work), repeat)
    print(f"fitsmill serial {serial:.3f} s, fitsmill -j 2 {parallel:.3f} s:"
          f" speed-up {serial / parallel:.2f}x (2 idle cores: ideal 2.0x)")
    print(f"concurrent.futures map, 2 procs {plain:.3f} s: speed-up"
          f" {serial / plain:.2f}x; fitsmill -j 2 takes {parallel / plain:.2f}x"
          " its time")
    # On a busy machine wall-clock speed-up says more about the neighbours
    # than about us; CPU seconds (parent + workers) show what -j costs.
    print(f"CPU seconds (parent + workers): serial {serial_cpu:.2f}, fitsmill"
          f" -j 2 {parallel_cpu:.2f}, futures map {plain_cpu:.2f}; speed-up"
          f" bound on 2 idle cores {2 * serial_cpu / parallel_cpu:.2f}x")
    own, children = _peak_rss_mb()
    print(f"peak RSS: parent {own:.0f} MB, largest worker {children:.0f} MB;"
          f" cpus visible: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
