"""iter_scaled_rows / scaled_image / iterScaledRows against oracles: the
plain-NumPy block mean of tests/reference.py, astropy's decoded pixels,
fitsio's decompression and a NumPy transcription of DaCHS's algorithm."""

import gzip
import io
import os
import shutil
import subprocess
import sys

import fitsio
import numpy as np
import pytest
from astropy.io import fits
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fitsmill.errors import FitsFormatError
from fitsmill.scaledrows import iter_scaled_rows, iterScaledRows, scaled_image
from reference import RAW_DTYPES, block_mean, dachs_scaled_rows, write_raw_image

BLANKS = {8: 255, 16: -32768, 32: -2147483648, 64: -1}
SETTINGS = settings(derandomize=True, max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def raw_values(rng, bitpix, shape):
    """Stored values covering the type's range, NaN sprinkled into floats."""
    if bitpix > 0:
        info = np.iinfo(np.dtype(RAW_DTYPES[bitpix]))
        return rng.integers(info.min, info.max, shape, endpoint=True,
                            dtype=np.dtype(RAW_DTYPES[bitpix]).newbyteorder("="))
    data = rng.normal(100.0, 50.0, shape).astype(RAW_DTYPES[bitpix])
    data[rng.random(shape) < 0.1] = np.nan
    return data


def assert_same(got, want):
    assert got.dtype == np.float32
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=0, equal_nan=True)


@SETTINGS
@given(bitpix=st.sampled_from(sorted(RAW_DTYPES)),
       height=st.integers(1, 40), width=st.integers(1, 40),
       factor=st.integers(1, 12), scaled=st.booleans(), blank=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_matches_numpy_reference(tmp_path, bitpix, height, width, factor, scaled,
                                 blank, seed):
    rng = np.random.default_rng(seed)
    raw = raw_values(rng, bitpix, (height, width))
    cards = [("BSCALE", 0.25), ("BZERO", -1000.5)] if scaled else []
    blank_value = None
    if blank and bitpix > 0:
        blank_value = BLANKS[bitpix]
        raw[rng.random(raw.shape) < 0.2] = blank_value
        cards.append(("BLANK", blank_value))
    path = tmp_path / "img.fits"
    write_raw_image(path, raw, cards)
    want = block_mean(raw, factor, blank_value, *((0.25, -1000.5) if scaled else ()))
    assert_same(scaled_image(path, factor=factor), want)
    assert_same(np.array(list(iter_scaled_rows(path, factor=factor))), want)


def test_all_blank_block_is_nan_and_partial_blocks_average_present_pixels(tmp_path):
    raw = np.array([[7, 7, 1, 2, 9],
                    [7, 7, 3, 4, 9],
                    [5, 7, 7, 7, 9]], np.int16)
    path = tmp_path / "b.fits"
    write_raw_image(path, raw, [("BLANK", 7), ("BZERO", 10)])
    got = scaled_image(path, factor=2)
    assert np.isnan(got[0, 0])
    assert got[0, 1] == 12.5 and got[0, 2] == 19.0
    assert got[1, 0] == 15.0 and np.isnan(got[1, 1]) and got[1, 2] == 19.0


@pytest.mark.parametrize("bitpix,factor", [(8, 300), (16, 181), (16, 182), (16, 250)])
def test_large_blocks_with_blank_match_reference(tmp_path, bitpix, factor):
    """Blocks whose sums outgrow 32 bits (8/16-bit data sum BLANK pixels
    along and take them back out, in 32-bit block sums up to factor 181):
    extreme values, a BLANK-heavy block, an edge block."""
    rng = np.random.default_rng(factor)
    dtype = np.dtype(RAW_DTYPES[bitpix]).newbyteorder("=")
    info = np.iinfo(dtype)
    raw = rng.choice(np.array([info.min, info.max, info.max - 1], dtype),
                     (factor + 7, factor + 9))
    raw[rng.random(raw.shape) < 0.1] = BLANKS[bitpix]
    raw[:factor, :factor][rng.random((factor, factor)) < 0.95] = BLANKS[bitpix]
    path = tmp_path / "big.fits"
    write_raw_image(path, raw, [("BLANK", BLANKS[bitpix]), ("BZERO", 3.5)])
    assert_same(scaled_image(path, factor=factor),
                block_mean(raw, factor, BLANKS[bitpix], 1.0, 3.5))


@pytest.mark.parametrize("bitpix", sorted(RAW_DTYPES))
def test_full_resolution_equals_astropy_decoding(tmp_path, bitpix):
    rng = np.random.default_rng(bitpix + 100)
    raw = raw_values(rng, bitpix, (31, 17))
    cards = [("BSCALE", 2.0), ("BZERO", 3.0)]
    if bitpix > 0:
        raw[0, :3] = BLANKS[bitpix]
        cards.append(("BLANK", BLANKS[bitpix]))
    path = tmp_path / "a.fits"
    write_raw_image(path, raw, cards)
    # astropy scales in float64 for 32/64-bit data and turns BLANK into NaN
    # when it scales.
    want = fits.getdata(path).astype(np.float32)
    assert_same(scaled_image(path), want)


def test_size_gives_ceil_factor(tmp_path):
    raw = np.arange(1000 * 3, dtype=np.int16).reshape(3, 1000)
    path = tmp_path / "w.fits"
    write_raw_image(path, raw)
    assert scaled_image(path, size=200).shape == (1, 200)
    assert scaled_image(path, size=199).shape == (1, 167)  # factor 6
    assert scaled_image(path, size=5000).shape == (3, 1000)
    assert scaled_image(path, size=200, factor=10).shape == (1, 100)


def test_rows_are_float32_in_fits_order(tmp_path):
    raw = np.arange(4 * 6, dtype=np.uint8).reshape(4, 6)
    path = tmp_path / "o.fits"
    write_raw_image(path, raw)
    rows = list(iter_scaled_rows(path, factor=2))
    assert [r.dtype for r in rows] == [np.float32] * 2
    np.testing.assert_array_equal(rows[0], [3.5, 5.5, 7.5])
    np.testing.assert_array_equal(rows[1], [15.5, 17.5, 19.5])


def test_long_image_streams_in_several_chunks(tmp_path):
    rng = np.random.default_rng(5)
    raw = raw_values(rng, 16, (3000, 700))
    path = tmp_path / "long.fits"
    write_raw_image(path, raw, [("BZERO", 32768)])
    rows = list(iter_scaled_rows(path))
    assert len(rows) == 3000
    assert_same(np.array(rows), block_mean(raw, 1, bzero=32768))


# ------------------------------------------------------------- HDUs, planes

def test_ext_by_index_and_extname_and_default(tmp_path):
    raw = np.arange(20, dtype=np.float32).reshape(4, 5)
    path = tmp_path / "e.fits"
    write_raw_image(path, raw, extension="SCI")
    want = block_mean(raw, 2)
    assert_same(scaled_image(path, factor=2), want)
    assert_same(scaled_image(path, factor=2, ext=1), want)
    assert_same(scaled_image(path, factor=2, ext="sci"), want)
    with pytest.raises(KeyError, match="NOPE"):
        scaled_image(path, ext="NOPE")
    with pytest.raises(FitsFormatError, match="no image data"):
        scaled_image(path, ext=0)
    with pytest.raises(TypeError):
        scaled_image(path, ext=1.5)


def test_cube_planes_and_one_dimensional(tmp_path):
    rng = np.random.default_rng(3)
    cube = raw_values(rng, 32, (2, 3, 9, 11))
    path = tmp_path / "c.fits"
    write_raw_image(path, cube, [("BZERO", 5)])
    for plane in range(6):
        want = block_mean(cube.reshape(6, 9, 11)[plane], 3, bzero=5)
        assert_same(scaled_image(path, factor=3, plane=plane), want)
    with pytest.raises(ValueError, match="plane 6"):
        scaled_image(path, plane=6)
    line = raw_values(rng, -64, (25,))
    path1 = tmp_path / "l.fits"
    write_raw_image(path1, line)
    rows = list(iter_scaled_rows(path1, size=5))
    assert len(rows) == 1
    assert_same(rows[0][None], block_mean(line, 5))


def test_files_sharing_a_shape_keep_their_own_scaling_and_planes(tmp_path):
    # Files whose first cards agree share a remembered shape; everything
    # else (BSCALE, BZERO, BLANK, further axes, an extension) is read anew.
    rng = np.random.default_rng(11)
    first = raw_values(rng, 16, (9, 13))
    write_raw_image(tmp_path / "a.fits", first, [("BZERO", 32768)])
    assert_same(scaled_image(tmp_path / "a.fits", factor=2),
                block_mean(first, 2, bzero=32768))
    second = raw_values(rng, 16, (9, 13))
    second[0, :3] = -7
    write_raw_image(tmp_path / "b.fits", second,
                    [("BSCALE", 0.5), ("BZERO", -3), ("BLANK", -7)])
    assert_same(scaled_image(tmp_path / "b.fits", factor=2),
                block_mean(second, 2, -7, 0.5, -3))
    cube = raw_values(rng, 16, (2, 9, 13))
    write_raw_image(tmp_path / "c.fits", cube)
    assert_same(scaled_image(tmp_path / "c.fits", factor=2, plane=1),
                block_mean(cube[1], 2))
    wide = raw_values(rng, 16, (9, 14))
    write_raw_image(tmp_path / "d.fits", wide, [("BZERO", 32768)])
    assert_same(scaled_image(tmp_path / "d.fits", factor=2),
                block_mean(wide, 2, bzero=32768))
    write_raw_image(tmp_path / "e.fits", first, [("BZERO", 1)], extension="SCI")
    assert_same(scaled_image(tmp_path / "e.fits", factor=3),
                block_mean(first, 3, bzero=1))


# --------------------------------------------------- gzip, tiles, file objects

def _gzip(path, dest):
    with open(path, "rb") as src, gzip.open(dest, "wb", compresslevel=1) as dst:
        shutil.copyfileobj(src, dst)


def test_gzip_stream_equals_plain(tmp_path):
    rng = np.random.default_rng(11)
    raw = raw_values(rng, 16, (301, 257))
    raw[5, 5] = -32768
    path = tmp_path / "p.fits"
    write_raw_image(path, raw, [("BZERO", 32768), ("BLANK", -32768)],
                    extension="PLATE")
    _gzip(path, tmp_path / "p.fits.gz")
    want = block_mean(raw, 7, -32768, 1.0, 32768.0)
    assert_same(scaled_image(tmp_path / "p.fits.gz", factor=7), want)
    assert_same(np.array(list(iter_scaled_rows(tmp_path / "p.fits.gz", factor=7,
                                               ext="plate"))), want)
    with gzip.open(tmp_path / "p.fits.gz", "rb") as g:
        assert_same(scaled_image(g, factor=7), want)
    with open(tmp_path / "p.fits.gz", "rb") as f:
        assert_same(scaled_image(io.BytesIO(f.read()), factor=7), want)
    with pytest.raises(KeyError, match="NOPE"):
        scaled_image(tmp_path / "p.fits.gz", ext="NOPE")


def test_gzip_members_and_padding(tmp_path):
    """Concatenated gzip members are one stream; zero padding after the last
    member is ignored (as gzip does)."""
    raw = np.arange(40 * 30, dtype=np.int32).reshape(40, 30)
    write_raw_image(tmp_path / "m.fits", raw)
    blob = (tmp_path / "m.fits").read_bytes()
    cut = len(blob) // 3
    path = tmp_path / "m.fits.gz"
    path.write_bytes(gzip.compress(blob[:cut]) + gzip.compress(blob[cut:]) + b"\0" * 512)
    assert_same(scaled_image(path, factor=3), block_mean(raw, 3))


def test_cube_plane_from_gzip(tmp_path):
    rng = np.random.default_rng(12)
    cube = raw_values(rng, -32, (3, 20, 30))
    write_raw_image(tmp_path / "c.fits", cube)
    _gzip(tmp_path / "c.fits", tmp_path / "c.fits.gz")
    assert_same(scaled_image(tmp_path / "c.fits.gz", factor=4, plane=2),
                block_mean(cube[2], 4))


@pytest.mark.parametrize("compress", ["RICE", "GZIP", "HCOMPRESS", "PLIO"])
def test_tile_compressed_integers_are_lossless(tmp_path, compress):
    rng = np.random.default_rng(21)
    # PLIO is for masks: CFITSIO's PLIO coder overflows its buffer on noisy
    # wide-range data, so it gets small values.
    high = 100 if compress == "PLIO" else 30000
    data = rng.integers(0, high, (157, 203)).astype(np.int32)
    path = str(tmp_path / f"t_{compress}.fits.fz")
    fitsio.write(path, data, compress=compress, tile_dims=[16, 203]
                 if compress != "HCOMPRESS" else [16, 16])
    assert_same(scaled_image(path, factor=6), block_mean(data, 6))
    rows = list(iter_scaled_rows(path, factor=6, ext=1))
    assert_same(np.array(rows), block_mean(data, 6))


def test_tile_compressed_float_and_unsigned(tmp_path):
    rng = np.random.default_rng(22)
    data = rng.normal(0, 1, (64, 80)).astype(np.float32)
    data[10:20, :] = np.nan
    path = str(tmp_path / "f.fz")
    fitsio.write(path, data, compress="RICE")
    decoded = fitsio.read(path)  # quantised: the oracle is what CFITSIO decodes
    assert_same(scaled_image(path, factor=5), block_mean(decoded, 5))
    u16 = rng.integers(0, 65535, (40, 41)).astype(np.uint16)
    path16 = str(tmp_path / "u.fz")
    fitsio.write(path16, u16, compress="RICE")
    assert_same(scaled_image(path16, factor=4), block_mean(u16, 4))


def test_open_binary_file(tmp_path):
    raw = np.arange(50 * 40, dtype=np.int16).reshape(50, 40)
    write_raw_image(tmp_path / "f.fits", raw, [("BZERO", 32768)])
    with open(tmp_path / "f.fits", "rb") as f:
        got = np.array(list(iter_scaled_rows(f, factor=3)))
    assert_same(got, block_mean(raw, 3, bzero=32768))


# ------------------------------------------------------------------- DaCHS

def _dachs_fixture(tmp_path):
    """A stand-in for DaCHS's tests/test_data/ex.fits: 12 x 23, BITPIX 16,
    BZERO 32768."""
    rng = np.random.default_rng(1234)
    raw = rng.integers(-32768, 32767, (23, 12), endpoint=True).astype(np.int16)
    path = tmp_path / "ex.fits"
    write_raw_image(path, raw, [("BZERO", 32768), ("BSCALE", 1)])
    return path, raw


@pytest.mark.parametrize("kwargs,factor,shape", [
    ({"factor": 2}, 2, (11, 6)),
    ({"factor": 5}, 5, (4, 2)),
    ({"destSize": 5}, 5, (4, 2)),
    ({"destSize": 12}, 2, (11, 6)),
    ({"destSize": 23}, 2, (11, 6)),
    ({"destSize": 24}, 1, (23, 12)),
])
def test_dachs_iterScaledRows_numbers(tmp_path, kwargs, factor, shape):
    path, raw = _dachs_fixture(tmp_path)
    got = list(iterScaledRows(str(path), **kwargs))
    want = dachs_scaled_rows(raw, factor, bzero=32768)
    assert len(got) == shape[0] and all(r.shape == (shape[1],) for r in got)
    assert all(r.dtype == np.float32 for r in got)
    # DaCHS accumulates in float32; ours is exact: they agree to float32
    # rounding.
    np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-6)


def test_dachs_file_object_hdr_and_errors(tmp_path):
    path, raw = _dachs_fixture(tmp_path)
    want = dachs_scaled_rows(raw, 2, bzero=32768)
    with open(path, "rb") as f:
        np.testing.assert_allclose(list(iterScaledRows(f, factor=2, slow=True)),
                                   want, rtol=1e-6)
    hdr = fits.getheader(path)
    with open(path, "rb") as f:
        f.seek(2880)
        np.testing.assert_allclose(list(iterScaledRows(f, destSize=12, hdr=hdr)),
                                   want, rtol=1e-6)
    with pytest.raises(ValueError, match="needs either factor or destSize"):
        iterScaledRows(str(path))


def test_dachs_compressed_behind_empty_primary(tmp_path):
    data = np.arange(30 * 20, dtype=np.int32).reshape(30, 20)
    path = str(tmp_path / "c.fz")
    fitsio.write(path, data, compress="GZIP")
    got = list(iterScaledRows(path, destSize=10))
    np.testing.assert_allclose(got, dachs_scaled_rows(data, 4), rtol=1e-6)


# ---------------------------------------------------------------- bad input

def _plate(tmp_path, name="g.fits"):
    raw = np.arange(60 * 50, dtype=np.int16).reshape(60, 50)
    path = tmp_path / name
    write_raw_image(path, raw)
    return path


@pytest.mark.parametrize("mutate,match", [
    (lambda b: b[:-2880 * 2], "truncated"),
    (lambda b: b"", "empty"),
    (lambda b: b"hello, world" * 300, "not a FITS header"),
    (lambda b: b.replace(b"BITPIX  =                   16",
                         b"BITPIX  =                   17"), "BITPIX"),
    (lambda b: b.replace(b"NAXIS1  =                   50",
                         b"NAXIS1  =          50000000000"), "truncated"),
    (lambda b: b.replace(b"NAXIS2  =                   60",
                         b"NAXIS2  =                  -60"), "NAXIS2"),
])
def test_bad_files_raise_format_errors_naming_the_file(tmp_path, mutate, match):
    good = _plate(tmp_path).read_bytes()
    bad = tmp_path / "bad.fits"
    bad.write_bytes(mutate(good))
    with pytest.raises(FitsFormatError, match=match) as info:
        scaled_image(bad, size=10)
    assert str(bad) in str(info.value)
    with pytest.raises(FitsFormatError):
        list(iter_scaled_rows(bad, size=10))


def test_bad_gzip_streams(tmp_path):
    plain = _plate(tmp_path)
    _gzip(plain, tmp_path / "g.fits.gz")
    blob = (tmp_path / "g.fits.gz").read_bytes()
    cut = tmp_path / "cut.fits.gz"
    cut.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(FitsFormatError, match="gzip|truncated") as info:
        scaled_image(cut, size=10)
    assert str(cut) in str(info.value)
    junk = tmp_path / "junk.fits.gz"
    junk.write_bytes(blob[:20] + bytes(range(256)) * 8)
    with pytest.raises(FitsFormatError, match="gzip"):
        scaled_image(junk, size=10)
    # A header claiming more data than deflate could ever expand to.
    huge = tmp_path / "huge.fits"
    huge.write_bytes(plain.read_bytes().replace(
        b"NAXIS1  =                   50", b"NAXIS1  =          50000000000"))
    _gzip(huge, tmp_path / "huge.fits.gz")
    with pytest.raises(FitsFormatError, match="more than the compressed file"):
        scaled_image(tmp_path / "huge.fits.gz", size=10)


def test_bad_arguments(tmp_path):
    path = _plate(tmp_path)
    for kwargs in ({"size": 0}, {"factor": 0}, {"factor": 2.5}, {"size": True}):
        with pytest.raises(ValueError):
            scaled_image(path, **kwargs)


@settings(derandomize=True, max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_never_crashes(tmp_path, data):
    """Garbage, truncations and byte flips of valid files give a result or a
    FitsFormatError, never another exception, a crash or a hang."""
    rng = np.random.default_rng(7)
    base = tmp_path / "base.fits"
    bitpix = data.draw(st.sampled_from(sorted(RAW_DTYPES)))
    write_raw_image(base, raw_values(rng, bitpix, (20, 30)), [("BLANK", 3)]
                    if bitpix > 0 else [])
    blob = bytearray(base.read_bytes())
    kind = data.draw(st.sampled_from(["garbage", "truncate", "flip", "gzip"]))
    if kind == "garbage":
        blob = bytearray(data.draw(st.binary(max_size=6000)))
    elif kind == "truncate":
        blob = blob[: data.draw(st.integers(0, len(blob)))]
    elif kind == "flip":
        for _ in range(data.draw(st.integers(1, 8))):
            pos = data.draw(st.integers(0, 2880 - 1))
            blob[pos] = data.draw(st.integers(0, 255))
    else:
        blob = bytearray(gzip.compress(bytes(blob)))
        for _ in range(data.draw(st.integers(0, 4))):
            pos = data.draw(st.integers(0, len(blob) - 1))
            blob[pos] = data.draw(st.integers(0, 255))
    target = tmp_path / "fuzz.fits"
    target.write_bytes(bytes(blob))
    try:
        out = scaled_image(target, size=8)
    except FitsFormatError:
        return
    assert out.dtype == np.float32 and out.ndim == 2
    assert os.path.getsize(target) > 0


# ------------------------------------------------------------------ memory

_RSS_PROBE = """
import sys
from fitsmill.scaledrows import scaled_image
def kib(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
open("/proc/self/clear_refs", "w").write("5")
before = kib("VmRSS")
scaled_image(sys.argv[1], factor=int(sys.argv[2]))
print(kib("VmHWM") - before)
"""


@pytest.mark.parametrize("name", ["big.fits", "big.fits.gz"])
def test_memory_does_not_grow_with_the_image(tmp_path, name):
    """A 4000 x 4000 int16 image (32 MB) streams within +16 MiB of RSS,
    plain (mapped windows) and gzip (inflated chunks) alike."""
    rng = np.random.default_rng(8)
    raw = rng.integers(0, 200, (4000, 4000)).astype(np.int16)
    plain = tmp_path / "big.fits"
    write_raw_image(plain, raw, [("BZERO", 32768)])
    if name.endswith(".gz"):
        _gzip(plain, tmp_path / name)
    proc = subprocess.run([sys.executable, "-c", _RSS_PROBE, str(tmp_path / name), "20"],
                          capture_output=True, text=True, check=True)
    grown_mib = int(proc.stdout.strip()) / 1024
    assert grown_mib < 16, f"peak RSS grew by {grown_mib:.1f} MiB"
