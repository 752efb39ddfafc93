"""The row kernel releases the GIL and keeps no shared state: many files
downscaled from a thread pool give exactly the serial results."""

import gzip
import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from fitsmill.scaledrows import iter_scaled_rows, scaled_image
from reference import block_mean, write_raw_image


def _make_files(tmp_path, count=24):
    rng = np.random.default_rng(99)
    files = []
    for i in range(count):
        shape = (int(rng.integers(50, 400)), int(rng.integers(50, 400)))
        if i % 3 == 0:
            raw = rng.normal(0, 10, shape).astype(">f4")
            raw[rng.random(shape) < 0.05] = np.nan
            cards = []
        else:
            raw = rng.integers(-32768, 32767, shape).astype(">i2")
            cards = [("BZERO", 32768), ("BLANK", -32768)]
        path = tmp_path / f"f{i}.fits"
        write_raw_image(path, raw, cards)
        if i % 4 == 1:
            with open(path, "rb") as src, gzip.open(f"{path}.gz", "wb") as dst:
                shutil.copyfileobj(src, dst)
            path = tmp_path / f"f{i}.fits.gz"
        files.append((path, raw, -32768 if cards else None,
                      32768.0 if cards else 0.0))
    return files


def _rows(path):
    return np.array(list(iter_scaled_rows(path, size=37)))


def test_thread_pool_equals_serial(tmp_path):
    files = _make_files(tmp_path)
    paths = [f[0] for f in files] * 4
    serial = [scaled_image(p, size=37) for p in paths]
    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(lambda p: scaled_image(p, size=37), paths))
        streamed = list(pool.map(_rows, paths))
    for a, b, c in zip(serial, threaded, streamed):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    # and the serial results are right, so equality above means something
    for (path, raw, blank, bzero), got in zip(files, serial):
        factor = -(-max(raw.shape) // 37)
        want = block_mean(raw, factor, blank, 1.0, bzero)
        np.testing.assert_allclose(got, want, rtol=2e-6, equal_nan=True)
