"""Tests of the compiled rendering kernel (csrc/fm_render.c via
fitsmill._render) and of the imaging/limits paths that use it.

Oracles: np.percentile / np.sort of the finite values, the plain-NumPy
level formulas of tests/reference.py (exact, bit for bit), the tone curves
written from their formulas, and Pillow's own JPEG writer.
"""

import io

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

import reference
from fitsmill import _render, imaging, limits
from fitsmill.imaging import PreviewStyle, render


def rng(seed=0):
    return np.random.default_rng(seed)


def _images():
    """Edge cases of the kernels: sizes either side of the sampling
    threshold, ties, sorted data, non-finite values of every kind."""
    r = rng(1)
    yield "tiny", np.array([[3.0]])
    yield "one-row", r.normal(size=(1, 257)).astype(np.float32)
    yield "one-column", r.normal(size=(333, 1))
    yield "odd", r.normal(100, 5, (171, 173)).astype(np.float32)
    yield "small-threshold", r.normal(size=(64, 64)).astype(np.float32)
    yield "just-above", r.normal(size=(1, 4097))
    yield "plate", r.normal(20000, 300, (200, 171)).astype(np.float32)
    hot = r.normal(0, 1, (300, 300)).astype(np.float32)
    hot[r.random(hot.shape) < 0.01] = 1e30
    yield "hot-pixels", hot
    yield "ties", r.integers(0, 3, (150, 150)).astype(np.float32)
    yield "sorted", np.arange(90000, dtype=np.float64).reshape(300, 300)
    yield "reversed", np.arange(90000, 0, -1, dtype=np.float32).reshape(300, 300)
    yield "constant", np.full((120, 130), 7.0, np.float32)
    yield "all-nan", np.full((70, 90), np.nan, np.float32)
    yield "all-inf", np.full((8, 9), np.inf)
    mixed = r.normal(size=(200, 210)).astype(np.float32)
    mixed[r.random(mixed.shape) < 0.03] = np.inf
    mixed[r.random(mixed.shape) < 0.03] = -np.inf
    mixed[:, ::7] = np.nan
    yield "nan-and-infs", mixed
    mostly = r.normal(size=(200, 300))
    mostly[r.random(mostly.shape) < 0.97] = np.nan
    yield "mostly-nan", mostly
    yield "negative-zero", np.array([[0.0, -0.0, 1.0, -1.0]] * 3, np.float32)


IMAGES = list(_images())


@pytest.mark.parametrize("name,image", IMAGES)
@pytest.mark.parametrize("q", [(0.5, 99.5), (0, 100), (50, 50), (2, 98), (99, 99.9)])
def test_percentiles_exact(name, image, q):
    got = limits.percentile_limits(image, *q)
    expected = reference.finite_percentiles(image, *q)
    np.testing.assert_array_equal(got, expected, err_msg=name)


@pytest.mark.parametrize("name,image", IMAGES)
def test_minmax_and_count_exact(name, image):
    finite = image[np.isfinite(image)]
    got = limits.minmax_limits(image)
    if finite.size:
        assert got == (finite.min(), finite.max()), name
    else:
        assert np.isnan(got).all()
    count, lo, hi = _render.finite_range(limits._real_vector(image))
    assert count == finite.size


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16, ">f4", np.float16])
def test_percentiles_every_input_type(dtype):
    image = (rng(2).normal(0, 300, (130, 140))).astype(dtype)
    expected = reference.finite_percentiles(image.astype(np.float64), 0.5, 99.5)
    assert limits.percentile_limits(image) == expected


@settings(derandomize=True, max_examples=60, deadline=None)
@given(hnp.arrays(np.float32, st.integers(4097, 20000),
                  elements=st.floats(-1e3, 1e3, width=32) | st.just(np.nan)),
       st.floats(0, 100), st.floats(0, 100))
def test_percentiles_large_property(values, p, q):
    lo, hi = sorted((p, q))
    np.testing.assert_array_equal(limits.percentile_limits(values, lo, hi),
                                  reference.finite_percentiles(values, lo, hi))


def test_select_ranks_against_sort():
    values = rng(3).standard_cauchy(60001)
    values[::5] = np.nan
    clean = np.sort(values[np.isfinite(values)])
    ranks = [0, 1, 7, 299, clean.size // 2, clean.size - 300, clean.size - 1]
    got = limits.select_ranks(values, ranks, clean.size)
    assert got == list(clean[ranks])
    assert all(type(v) is np.float64 for v in got)
    with pytest.raises(ValueError, match="finite"):
        limits.select_ranks(values, [0], values.size)      # NaNs but no count
    with pytest.raises(ValueError, match="rank"):
        limits.select_ranks(values, [clean.size], clean.size)


@pytest.mark.parametrize("name,image", IMAGES)
@pytest.mark.parametrize("invert", [False, True])
@pytest.mark.parametrize("bits", [8, 16])
def test_linear_levels_exact(name, image, invert, bits):
    for values in (image.astype(np.float32), image.astype(np.float64)):
        flat = values.reshape(-1)
        finite = flat[np.isfinite(flat)]
        spans = [(finite.min(), finite.max()), (0.5, 0.5)] if finite.size else [(0.0, 1.0)]
        for vmin, vmax in spans:
            vmin, vmax = float(vmin), float(vmax)
            out = np.empty(flat.size, np.uint16 if bits == 16 else np.uint8)
            _render.map_levels(flat, out, _render.MAP_LINEAR, vmin, vmax, invert, 3)
            np.testing.assert_array_equal(
                out, reference.linear_levels(flat, vmin, vmax, invert, bits, 3), err_msg=name)


@pytest.mark.parametrize("name,image", IMAGES)
def test_table_levels_exact(name, image):
    table = rng(4).integers(0, 256, 65536).astype(np.uint8)
    flat = image.reshape(-1)
    finite = flat[np.isfinite(flat)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    for vmin, vmax in ((lo, hi), (lo, lo)):
        out = np.empty(flat.size, np.uint8)
        _render.map_levels(flat, out, _render.MAP_TABLE, vmin, vmax, False, 5, table)
        np.testing.assert_array_equal(out, reference.table_levels(flat, vmin, vmax, table, 5))


@pytest.mark.parametrize("dtype,bits", [(np.float32, 8), (np.float64, 16), (np.float64, 8)])
@pytest.mark.parametrize("invert", [False, True])
def test_unit_levels_exact(dtype, bits, invert):
    u = np.concatenate([rng(5).random(5000), [0, 1, -0.5, 1.5, np.nan, np.inf, -np.inf,
                                              0.5 / 255, 1 - 0.5 / 255]]).astype(dtype)
    out = np.empty(u.size, np.uint16 if bits == 16 else np.uint8)
    _render.map_levels(u, out, _render.MAP_UNIT, 0.0, 0.0, invert, 9)
    np.testing.assert_array_equal(out, reference.unit_levels(u, bits, invert, 9))


def test_kernel_rejects_bad_arguments():
    x = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match="ordered"):
        _render.map_levels(x, np.empty(4, np.uint8), _render.MAP_LINEAR, 2.0, 1.0, False, 0)
    with pytest.raises(ValueError, match="NaN level"):
        imaging.to_uint8(x, nan_value=256)
    with pytest.raises(ValueError, match="table"):
        _render.map_levels(x, np.empty(4, np.uint8), _render.MAP_TABLE, 0.0, 1.0, False, 0)
    with pytest.raises(ValueError, match="length"):
        _render.map_levels(x, np.empty(3, np.uint8), _render.MAP_LINEAR, 0.0, 1.0, False, 0)
    with pytest.raises(ValueError, match="lower"):
        _render.percentiles(x, 0.7, 0.2)


# --- the whole render against the NumPy pipeline ----------------------------

def pixels_of(data):
    img = Image.open(io.BytesIO(data))
    img.load()
    return np.flipud(np.asarray(img))


STRETCHES = [("linear", {}), ("sqrt", {}), ("power", {"gamma": 0.25}), ("power", {"gamma": 2.2}),
             ("log", {}), ("log", {"a": 10.0}), ("asinh", {}), ("asinh", {"a": 0.02})]


def expected_levels(image, style):
    """The render's levels from the reference pieces: percentile limits,
    the curve from its formula, 8 or 16 bits."""
    bits = 16 if style.png_bits == 16 else 8
    top = 65535 if bits == 16 else 255
    nan_level = style.nan_grey * (257 if bits == 16 else 1)
    vmin, vmax = reference.finite_percentiles(image, *style.percentiles)
    if np.isnan(vmin):
        return np.full(image.shape, nan_level), None
    if style.stretch == "linear":
        return reference.linear_levels(image, vmin, vmax, style.invert, bits, nan_level), 0
    # The subtraction in the pixels' own type, as imaging documents: near
    # the black point of a float32 image the steep curves magnify it.
    with np.errstate(invalid="ignore"):
        x = np.clip((image - image.dtype.type(vmin)).astype(np.float64) / (vmax - vmin), 0, 1) \
            if vmax > vmin else (image > vmin).astype(np.float64)
    y = reference.stretch_curve(x, style.stretch, style.gamma, style.a)
    if style.invert:
        y = 1 - y
    levels = np.floor(y * top + 0.5)
    return np.where(np.isfinite(image), levels, nan_level), 1


RENDER_CASES = ("one-row", "odd", "plate", "hot-pixels", "ties", "constant", "all-nan",
                "nan-and-infs")


@pytest.mark.parametrize("name,image", [c for c in IMAGES if c[0] in RENDER_CASES])
@pytest.mark.parametrize("stretch,kw", STRETCHES)
@pytest.mark.parametrize("invert", [False, True])
@pytest.mark.parametrize("bits", [8, 16])
def test_render_png_levels(name, image, stretch, kw, invert, bits):
    style = PreviewStyle(format="png", png_bits=bits, stretch=stretch, invert=invert,
                         nan_grey=42, **kw)
    got = pixels_of(render(image, style)).astype(np.int64)
    expected, tolerance = expected_levels(image, style)
    if tolerance is None:          # no finite pixel: all NaN grey
        assert (got == expected).all()
        return
    # Linear levels are exact; the other curves go through float32
    # normalisation (and an 8-bit table) and may round one level apart.
    assert np.abs(got - expected).max() <= tolerance, name


def test_render_histeq_nan_and_invert():
    image = rng(6).lognormal(0, 2, (90, 110))
    image[5:9, 10:30] = np.nan
    plain = pixels_of(render(image, format="png", stretch="histeq", nan_grey=7))
    inverted = pixels_of(render(image, format="png", stretch="histeq", invert=True, nan_grey=7))
    finite = np.isfinite(image)
    assert (plain[~finite] == 7).all() and (inverted[~finite] == 7).all()
    np.testing.assert_array_equal(inverted[finite].astype(int), 255 - plain[finite].astype(int))


@pytest.mark.parametrize("mode,shape", [("L", (171, 171)), ("L", (1, 7)), ("RGB", (40, 33, 3))])
@pytest.mark.parametrize("quality", [1, 75, 85, 95])
def test_jpeg_bytes_are_pillows(mode, shape, quality):
    pixels = rng(7).integers(0, 256, shape).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(np.flipud(pixels), mode).save(buf, "JPEG", quality=quality)
    assert imaging.encode(pixels, "jpeg", quality) == buf.getvalue()


def test_render_non_contiguous_and_big_endian_equal_plain():
    image = rng(8).normal(0, 1, (120, 240))
    expected = render(np.ascontiguousarray(image[:, ::2]), format="png")
    assert render(image[:, ::2], format="png") == expected
    assert render(image[:, ::2].astype(">f8"), format="png") == expected
