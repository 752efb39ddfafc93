"""Header parsing: fitsmill.Header against astropy.io.fits.Header and fitsio.

Generates its own headers (36, 80 and 500 cards: numbers, strings with
comments, HISTORY) and FITS files in a temporary directory, then times in
the same run, for each size:

* parse: ``Header.fromstring`` of the header bytes (astropy: the same call);
* parse + get: parse, then read 5 keywords;
* edit: parse, set 3 keywords, serialise to bytes;
* file: read the primary header of a file (fitsmill ``Header.fromfile``,
  astropy ``fits.getheader``, fitsio ``read_header``).

Prints the median CPU time per call over several interleaved batches and
the ratio of each peer to fitsmill.  CPU time (not wall time) because the
machine is shared: time spent waiting for a core is not counted, yet
figures stay noisy (caches, frequency), so compare the ratios, which come
from the same run.

Usage: python benchmarks/header_parse.py [--quick]
"""

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits

from fitsmill.header import Header

try:
    import fitsio
except ImportError:  # fitsio is a dependency, but keep the bench usable
    fitsio = None


def make_header(ncards):
    """An astropy header of ``ncards`` typical cards."""
    h = fits.Header()
    h["SIMPLE"] = (True, "conforms to FITS standard")
    h["BITPIX"] = (16, "array data type")
    h["NAXIS"] = 2
    h["NAXIS1"] = 100
    h["NAXIS2"] = 100
    i = 0
    while len(h) < ncards - ncards // 10:
        if i % 3 == 0:
            h[f"FKEY{i}"] = (i * 1.25e-3, f"a floating point value {i}")
        elif i % 3 == 1:
            h[f"IKEY{i}"] = (i * 7, "an integer")
        else:
            h[f"SKEY{i}"] = (f"text value {i}", "a string")
        i += 1
    while len(h) < ncards:
        h.add_history(f"processing step {len(h)} done with some tool")
    return h


def timeit(funcs, numbers, repeats):
    """Median seconds per call of each function, over ``repeats`` rounds in
    which every function runs one batch in turn (interleaved, so a change
    in the machine's load hits all of them alike)."""
    times = [[] for _ in funcs]
    for _ in range(repeats):
        for func, number, sample in zip(funcs, numbers, times):
            start = time.process_time()
            for _ in range(number):
                func()
            sample.append((time.process_time() - start) / number)
    return [statistics.median(sample) for sample in times]


def cases(raw, path, keys):
    text = raw.decode("ascii")
    fm, ap, fio = {}, {}, {}

    fm["parse"] = lambda: Header.fromstring(raw)
    ap["parse"] = lambda: fits.Header.fromstring(text)

    def fm_get():
        h = Header.fromstring(raw)
        return [h[k] for k in keys]

    def ap_get():
        h = fits.Header.fromstring(text)
        return [h[k] for k in keys]

    fm["parse + get 5"] = fm_get
    ap["parse + get 5"] = ap_get

    def fm_edit():
        h = Header.fromstring(raw)
        h["NAXIS1"] = 200
        h["OBSERVER"] = ("someone", "who observed")
        h["EXPTIME"] = (12.5, "seconds")
        return h.tobytes()

    def ap_edit():
        h = fits.Header.fromstring(text)
        h["NAXIS1"] = 200
        h["OBSERVER"] = ("someone", "who observed")
        h["EXPTIME"] = (12.5, "seconds")
        return h.tostring().encode("ascii")

    fm["edit 3 + tobytes"] = fm_edit
    ap["edit 3 + tobytes"] = ap_edit

    fm["read from file"] = lambda: Header.fromfile(path)
    ap["read from file"] = lambda: fits.getheader(path)
    if fitsio is not None:
        fio["read from file"] = lambda: fitsio.read_header(str(path))
    return fm, ap, fio


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 9
    scale = 0.02 if args.quick else 1.0
    warnings.simplefilter("ignore")

    print("median CPU time per call (shared machine: compare ratios, not absolute times)")
    print(f"{'cards':>5} {'case':<18} {'fitsmill':>11} {'astropy':>11} {'fitsio':>11}"
          f" {'astropy/fm':>10} {'fitsio/fm':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for ncards in (36, 80, 500):
            header = make_header(ncards)
            raw = header.tostring().encode("ascii")
            path = Path(tmp) / f"h{ncards}.fits"
            fits.PrimaryHDU(np.zeros((100, 100), np.int16), header=header).writeto(path)
            assert Header.fromstring(raw).tobytes() == raw
            keys = ["NAXIS1", "BITPIX"] + [k for k in header if k[1:4] == "KEY"][-3:]
            fm, ap, fio = cases(raw, path, keys)
            number = max(1, int(20000 * scale / ncards))
            for name in fm:
                funcs = [fm[name], ap[name]] + ([fio[name]] if name in fio else [])
                numbers = [number, max(1, number // 10), max(1, number // 5)]
                t_fm, t_ap, *t_fio = timeit(funcs, numbers, repeats)
                t_fio = t_fio[0] if t_fio else None
                fio_text = f"{t_fio * 1e6:9.1f}us" if t_fio else f"{'-':>11}"
                ratio_fio = f"{t_fio / t_fm:8.1f}x" if t_fio else f"{'-':>9}"
                print(f"{ncards:>5} {name:<18} {t_fm * 1e6:9.1f}us {t_ap * 1e6:9.1f}us "
                      f"{fio_text} {t_ap / t_fm:9.1f}x {ratio_fio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
