"""Tests of fitsmill.imaging / limits / colour / previewstyle.

Oracles: np.percentile and NumPy formulas, astropy's ZScaleInterval and
make_lupton_rgb, Pillow decoding of every encoded picture, and a NumPy
transcription of DaCHS's imgtools for the DaCHS names.
"""

import argparse
import io
import warnings

import numpy as np
import pytest
from astropy.visualization import ZScaleInterval, make_lupton_rgb
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from fitsmill import colour, imaging, limits
from fitsmill.imaging import PreviewStyle, render, render_rgb


def decode(data):
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def pixels_of(data):
    """Decoded picture as an array in FITS order (row 0 at the bottom)."""
    img = decode(data)
    return np.flipud(np.asarray(img))


def rng(seed=0):
    return np.random.default_rng(seed)


def sky(shape=(60, 80), seed=0, nan_fraction=0.0):
    a = rng(seed).normal(1000, 50, shape).astype(np.float32)
    a[rng(seed + 1).random(shape) < 0.002] = 1e5   # hot pixels
    if nan_fraction:
        a[rng(seed + 2).random(shape) < nan_fraction] = np.nan
    return a


# --- limits -----------------------------------------------------------------

def _percentile_cases():
    r = rng(3)
    yield "normal", r.normal(0, 1, (200, 200)).astype(np.float32)
    yield "nan", sky((300, 170), nan_fraction=0.1)
    yield "small", r.normal(0, 1, (3, 4))
    yield "int16", r.integers(-300, 300, (150, 90)).astype(np.int16)
    yield "periodic", np.tile(np.arange(37, dtype=np.float32), 3000).reshape(100, 1110)
    yield "sorted", np.arange(90000, dtype=np.float64).reshape(300, 300)
    yield "few-levels", r.integers(0, 3, (120, 120)).astype(np.float32)
    yield "constant", np.full((80, 80), 7.0, np.float32)
    yield "inf", np.where(r.random((100, 100)) < 0.05, np.inf, r.normal(size=(100, 100)))
    yield "one-finite", np.where(np.arange(50) == 17, 3.0, np.nan).reshape(5, 10)
    mostly_nan = r.normal(size=(200, 300))
    mostly_nan[r.random((200, 300)) < 0.95] = np.nan
    yield "mostly-nan", mostly_nan
    mixed = r.normal(size=(150, 150)).astype(np.float32)
    mixed[r.random((150, 150)) < 0.02] = np.inf
    mixed[r.random((150, 150)) < 0.02] = -np.inf
    mixed[:, ::7] = np.nan
    yield "nan-and-infs", mixed


@pytest.mark.parametrize("name,image", list(_percentile_cases()))
@pytest.mark.parametrize("q", [(0.5, 99.5), (0, 100), (50, 50), (2, 98), (10, 11), (99, 99.9)])
def test_percentile_limits_equal_numpy(name, image, q):
    finite = image[np.isfinite(image)]
    expected = np.percentile(finite, q)
    got = limits.percentile_limits(image, *q)
    assert got == pytest.approx(tuple(expected), rel=1e-12, abs=0), name


def test_percentile_limits_do_not_modify_input():
    image = sky((200, 220), nan_fraction=0.05)
    copy = image.copy()
    limits.percentile_limits(image)
    np.testing.assert_array_equal(image, copy)


@settings(derandomize=True, max_examples=150, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=90),
                  elements=st.floats(-1e6, 1e6) | st.just(np.nan)),
       st.floats(0, 100), st.floats(0, 100))
def test_percentile_limits_property(image, p, q):
    lo, hi = sorted((p, q))
    finite = image[np.isfinite(image)]
    got = limits.percentile_limits(image, lo, hi)
    if finite.size == 0:
        assert np.isnan(got).all()
    else:
        assert got == pytest.approx(tuple(np.percentile(finite, [lo, hi])), rel=1e-12)


def test_select_ranks_matches_sort():
    values = rng(4).standard_cauchy(50001)
    ranks = [0, 1, 250, 251, 25000, 49749, 50000]
    assert limits.select_ranks(values, ranks) == list(np.sort(values)[ranks])
    # Non-finite values are skipped when their count is given.
    dirty = values.copy()
    dirty[::3] = np.nan
    dirty[1::11] = np.inf
    clean = dirty[np.isfinite(dirty)]
    ranks = [0, 5, 100, clean.size // 2, clean.size - 2, clean.size - 1]
    assert limits.select_ranks(dirty, ranks, clean.size) == list(np.sort(clean)[ranks])


def test_minmax_ignores_non_finite():
    image = sky(nan_fraction=0.2)
    image[3, 4] = -np.inf
    finite = image[np.isfinite(image)]
    assert limits.minmax_limits(image) == (finite.min(), finite.max())
    assert np.isnan(limits.minmax_limits(np.full((3, 3), np.nan))).all()


@pytest.mark.parametrize("shape,nan_fraction,kwargs", [
    ((200, 300), 0.0, {}),
    ((511, 257), 0.1, {}),
    ((40, 40), 0.0, {"contrast": 0.5, "krej": 2.0}),
    ((300, 300), 0.0, {"n_samples": 5000, "max_iterations": 10}),
    ((100, 100), 0.0, {"contrast": 0.0}),
    ((2, 2), 0.0, {}),
])
def test_zscale_equals_astropy(shape, nan_fraction, kwargs):
    image = sky(shape, nan_fraction=nan_fraction)
    expected = ZScaleInterval(**kwargs).get_limits(image)
    assert limits.zscale_limits(image, **kwargs) == pytest.approx(expected, rel=1e-9)


def test_zscale_with_stars_equals_astropy():
    from fitsmill.samples import plate_image
    image = plate_image((300, 280), seed=5).astype(np.float32)
    expected = ZScaleInterval().get_limits(image)
    assert limits.zscale_limits(image) == pytest.approx(expected, rel=1e-9)


def test_zscale_too_many_rejected_gives_minmax():
    # Two flat populations: the line fit rejects nearly everything.
    image = np.where(np.arange(1000) % 2, 0.0, 1e6).reshape(20, 50)
    expected = ZScaleInterval(max_reject=0.99).get_limits(image)
    got = limits.zscale_limits(image, max_reject=0.99)
    assert got == pytest.approx(expected)
    assert got == (0.0, 1e6)


def test_compute_limits_dispatch():
    image = sky(nan_fraction=0.05)
    finite = image[np.isfinite(image)]
    expected = tuple(np.percentile(finite, [0.5, 99.5]))
    assert imaging.compute_limits(image) == pytest.approx(expected)
    assert imaging.compute_limits(image, limits="minmax") == (finite.min(), finite.max())
    assert imaging.compute_limits(image, limits="manual", vmin=1, vmax=2) == (1.0, 2.0)
    style = PreviewStyle(limits="zscale", contrast=0.3)
    assert imaging.compute_limits(image, style) == pytest.approx(
        ZScaleInterval(contrast=0.3).get_limits(image))


# --- stretches and quantisation ---------------------------------------------

X = np.concatenate([np.linspace(0, 1, 1001), [np.nan]]).astype(np.float64)


@pytest.mark.parametrize("stretch,kwargs,formula", [
    ("linear", {}, lambda x: x),
    ("sqrt", {}, np.sqrt),
    ("power", {"gamma": 0.25}, lambda x: x ** 0.25),
    ("power", {"gamma": 0.5}, lambda x: x ** 0.5),
    ("power", {"gamma": 2.2}, lambda x: x ** 2.2),
    ("log", {}, lambda x: np.log(1000 * x + 1) / np.log(1001)),
    ("log", {"a": 10}, lambda x: np.log(10 * x + 1) / np.log(11)),
    ("asinh", {}, lambda x: np.arcsinh(x / 0.1) / np.arcsinh(10)),
    ("asinh", {"a": 0.5}, lambda x: np.arcsinh(x / 0.5) / np.arcsinh(2)),
])
def test_stretch_formulas(stretch, kwargs, formula):
    got = imaging.apply_stretch(X, stretch, **kwargs)
    np.testing.assert_allclose(got, formula(X), rtol=1e-12, atol=1e-15)
    assert np.isnan(got[-1])


def test_stretch_float32_in_place():
    x = X.astype(np.float32)
    out = imaging.apply_stretch(x, "asinh", out=x)
    assert out is x
    np.testing.assert_allclose(x, np.arcsinh(X / 0.1) / np.arcsinh(10), rtol=1e-6)


def test_histeq_is_the_empirical_cdf():
    x = rng(5).beta(0.5, 3, 5000)
    x[::97] = np.nan
    got = imaging.apply_stretch(x, "histeq")
    levels = np.floor(x * 65535 + 0.5)
    valid = levels[~np.isnan(levels)]
    ordered = np.sort(valid)
    at_most = np.searchsorted(ordered, levels, side="right")
    darkest = np.searchsorted(ordered, ordered[0], side="right")
    expected = (at_most - darkest) / (valid.size - darkest)
    np.testing.assert_allclose(got[~np.isnan(x)], expected[~np.isnan(x)], rtol=1e-6)
    assert np.isnan(got[np.isnan(x)]).all()
    # Equalised values are spread evenly.
    assert abs(np.nanmean(got) - 0.5) < 0.01
    # Values outside [0, 1] are clipped first, not an index error.
    np.testing.assert_array_equal(imaging.apply_stretch([-1.0, 0.5, 2.0], "histeq"), [0, 0.5, 1])


def test_to_uint8_and_uint16_round_to_nearest():
    x = np.concatenate([rng(6).random(10000), [0, 1, -0.5, 1.5, np.nan]])
    np.testing.assert_array_equal(
        imaging.to_uint8(x, nan_value=7)[:-1], np.rint(np.clip(x[:-1], 0, 1) * 255))
    assert imaging.to_uint8(x, nan_value=7)[-1] == 7
    np.testing.assert_array_equal(
        imaging.to_uint16(x)[:-1], np.rint(np.clip(x[:-1], 0, 1) * 65535))


def test_normalize_equal_limits_is_a_threshold():
    image = np.array([[1.0, 2.0], [3.0, np.nan]])
    out = imaging.normalize(image, 2.0, 2.0)
    np.testing.assert_array_equal(out[0], [0, 0])
    assert out[1, 0] == 1 and np.isnan(out[1, 1])


# --- render -----------------------------------------------------------------

def reference_levels(image, stretch="linear", invert=False, q=(0.5, 99.5), top=255, **kw):
    """Plain NumPy version of the whole greyscale pipeline."""
    finite = np.isfinite(image)
    lo, hi = np.percentile(image[finite], q)
    x = np.clip((image.astype(np.float64) - lo) / (hi - lo), 0, 1)
    x = {
        "linear": lambda v: v,
        "sqrt": np.sqrt,
        "power": lambda v: v ** kw.get("gamma", 0.25),
        "log": lambda v: np.log(1000 * v + 1) / np.log(1001),
        "asinh": lambda v: np.arcsinh(v / 0.1) / np.arcsinh(10),
    }[stretch](x)
    if invert:
        x = 1 - x
    return np.rint(x * top), finite


def bright_bottom(shape=(40, 50)):
    image = rng(7).normal(100, 5, shape).astype(np.float32)
    image[0, :] = 1000.0   # FITS row 1
    return image


@pytest.mark.parametrize("fmt", ["jpeg", "png"])
def test_render_orientation_size_mode(fmt):
    data = render(bright_bottom(), format=fmt)
    img = decode(data)
    assert img.format == fmt.upper() and img.mode == "L" and img.size == (50, 40)
    top_to_bottom = np.asarray(img).astype(int)
    assert top_to_bottom[-1].mean() > 240       # FITS row 1 is the picture's bottom
    assert top_to_bottom[:-2].mean() < 160


@pytest.mark.parametrize("stretch,kw", [
    ("linear", {}), ("sqrt", {}), ("power", {"gamma": 0.25}), ("power", {"gamma": 0.7}),
    ("log", {}), ("asinh", {}),
])
@pytest.mark.parametrize("invert", [False, True])
def test_render_png_levels_match_numpy_pipeline(stretch, kw, invert):
    image = sky((70, 90), nan_fraction=0.03)
    got = pixels_of(render(image, format="png", stretch=stretch, invert=invert, nan_grey=42, **kw))
    expected, finite = reference_levels(image, stretch, invert, **kw)
    assert np.abs(got[finite].astype(int) - expected[finite]).max() <= 1
    assert (got[~finite] == 42).all()


@pytest.mark.parametrize("stretch,kw,formula", [
    ("power", {"gamma": 0.25}, lambda x: x ** 0.25),
    ("log", {}, lambda x: np.log(1000 * x + 1) / np.log(1001)),
    ("asinh", {"a": 0.01}, lambda x: np.arcsinh(x / 0.01) / np.arcsinh(100)),
    ("sqrt", {}, np.sqrt),
])
def test_render_steep_stretches_near_black(stretch, kw, formula):
    # The steepest part of the curves, where a coarse table would be wrong.
    x = np.concatenate([[0.0], np.geomspace(1e-12, 1, 4000)])[None, :]
    got = pixels_of(render(x, format="png", limits="manual", vmin=0, vmax=1,
                           stretch=stretch, **kw))
    expected = np.rint(formula(x) * 255)
    assert np.abs(got.astype(int) - expected).max() <= 1


def test_render_does_not_modify_input_and_accepts_ints():
    image = (rng(8).random((30, 40)) * 4000).astype(np.int16)
    copy = image.copy()
    got = pixels_of(render(image, format="png"))
    np.testing.assert_array_equal(image, copy)
    expected, _ = reference_levels(image)
    assert np.abs(got.astype(int) - expected).max() <= 1


def test_render_big_endian_and_masked_input():
    image = sky((30, 40), nan_fraction=0.05)
    expected = pixels_of(render(image, format="png"))
    np.testing.assert_array_equal(pixels_of(render(image.astype(">f4"), format="png")), expected)
    masked = np.ma.masked_invalid(np.nan_to_num(image, nan=-1e30))
    masked[~np.isfinite(image)] = np.ma.masked
    np.testing.assert_array_equal(pixels_of(render(masked, format="png")), expected)


def test_render_histeq_spreads_levels():
    image = rng(9).lognormal(0, 2, (100, 100))
    got = pixels_of(render(image, format="png", stretch="histeq", limits="minmax"))
    counts = np.bincount(got.ravel() // 32, minlength=8)
    assert counts.min() > 0.5 * counts.mean()


def test_render_16bit_png_round_trip():
    image = sky((33, 47), nan_fraction=0.05)
    data = render(image, format="png", png_bits=16, stretch="sqrt", nan_grey=255)
    img = decode(data)
    assert img.mode.startswith("I") and img.size == (47, 33)
    got = np.flipud(np.asarray(img)).astype(np.int64)
    expected, finite = reference_levels(image, "sqrt", top=65535)
    assert np.abs(got[finite] - expected[finite]).max() <= 1
    assert (got[~finite] == 65535).all()
    assert len(np.unique(got[finite])) > 1000   # really more than 8 bits


def test_render_nan_transparent_png():
    image = bright_bottom()
    image[10:20, 5:9] = np.nan
    img = decode(render(image, format="png", nan_transparent=True))
    assert img.mode == "LA"
    alpha = np.flipud(np.array(img)[..., 1])
    assert (alpha[10:20, 5:9] == 0).all()
    alpha[10:20, 5:9] = 255
    assert (alpha == 255).all()


@pytest.mark.parametrize("fill", [np.nan, np.inf, -np.inf])
def test_render_all_non_finite_is_nan_grey(fill):
    image = np.full((12, 13), fill, np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = pixels_of(render(image, format="png", nan_grey=99))
    assert (got == 99).all()


def test_render_inf_pixels_use_nan_grey_and_spare_limits():
    image = bright_bottom()
    image[5, 5] = np.inf
    got = pixels_of(render(image, format="png", nan_grey=17))
    assert got[5, 5] == 17
    assert got[0].mean() > 240


def test_render_constant_image_is_black_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for stretch in ("linear", "asinh", "histeq"):
            got = pixels_of(render(np.full((9, 11), 3.5), format="png", stretch=stretch))
            assert (got == 0).all()


def test_render_flat_sky_with_stars_stays_readable():
    image = np.zeros((50, 50), np.float32)
    image[10, 10] = image[30, 40] = 100.0   # percentile limits are both 0
    got = pixels_of(render(image, format="png"))
    assert got[10, 10] == got[30, 40] == 255
    assert got.sum() == 2 * 255


def test_render_manual_limits_and_invert():
    image = np.array([[0.0, 5.0, 10.0, 20.0]])
    got = pixels_of(render(image, format="png", vmin=5, vmax=15, limits="manual"))
    np.testing.assert_array_equal(got[0], [0, 0, 128, 255])
    got = pixels_of(render(image, format="png", vmin=5, vmax=15, limits="manual", invert=True))
    np.testing.assert_array_equal(got[0], [255, 255, 128, 0])   # 1 - 0.5 rounds up too


def test_render_jpeg_quality_changes_size():
    image = sky((100, 100))
    assert len(render(image, quality=95)) > len(render(image, quality=30))


def test_render_rejects_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        render(np.zeros(10))
    with pytest.raises(ValueError, match="empty"):
        render(np.zeros((0, 5)))
    with pytest.raises(TypeError):
        render(np.zeros((3, 3)), style="asinh")
    with pytest.raises(TypeError, match="unknown"):
        render(np.zeros((3, 3)), strech="asinh")
    with pytest.raises(ValueError, match="cannot encode"):
        imaging.encode(np.zeros(5, np.uint8))
    with pytest.raises(ValueError, match="16-bit"):
        imaging.encode(np.zeros((2, 2), np.uint16), "jpeg")


# --- colour -----------------------------------------------------------------

def bands(shape=(40, 50), seed=10):
    r = rng(seed)
    return [r.gamma(1.5, 2.0, shape).astype(np.float32) for _ in range(3)]


@pytest.mark.parametrize("Q,stretch,minimum", [
    (8, 5, 0), (1, 2, 0), (20, 30, 0.5), (8, 5, (0.1, 0.2, 0.3)), (0.5, 0.5, 0),
])
def test_lupton_equals_astropy(Q, stretch, minimum):
    r, g, b = bands()
    expected = make_lupton_rgb(r, g, b, Q=Q, stretch=stretch, minimum=minimum)
    ours = colour.lupton_rgb(r, g, b, Q=Q, stretch=stretch, minimum=minimum)
    # astropy truncates to 8 bits where we round, so compare the float result.
    assert ((ours * 255).astype(np.uint8) == expected).mean() > 0.999
    assert np.abs((ours * 255).astype(int) - expected.astype(int)).max() <= 1
    got = pixels_of(render_rgb(r, g, b, format="png", Q=Q, stretch=stretch, minimum=minimum))
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1


def test_lupton_q_zero_is_linear():
    r, g, b = bands()
    x = colour.lupton_rgb(r, g, b, Q=0, stretch=50)
    expected = np.clip(np.dstack([r, g, b]) / 50, 0, None)
    peak = expected.max(axis=2, keepdims=True)
    expected = np.where(peak > 1, expected / peak, expected)
    np.testing.assert_allclose(x, expected, rtol=1e-6)


def test_render_rgb_orientation_nan_and_mode():
    r, g, b = bands()
    r[0, :] = 1e4          # bottom row saturated red
    g[5, 7] = np.nan
    img = decode(render_rgb(r, g, b, format="png", nan_grey=50))
    assert img.mode == "RGB" and img.size == (50, 40)
    got = np.flipud(np.asarray(img))
    assert (got[0, :, 0] == 255).all() and got[0, :, 1:].max() < 40
    assert (got[5, 7] == 50).all()
    img = decode(render_rgb(r, g, b, format="png", nan_transparent=True))
    assert img.mode == "RGBA" and np.flipud(np.asarray(img))[5, 7, 3] == 0
    assert decode(render_rgb(r, g, b)).mode == "RGB"


def test_render_rgb_per_band_equals_grey_renders():
    r, g, b = bands()
    style = PreviewStyle(format="png", stretch="sqrt", limits="zscale")
    got = pixels_of(render_rgb(r, g, b, style, method="per-band"))
    for i, band in enumerate((r, g, b)):
        np.testing.assert_array_equal(got[..., i], pixels_of(render(band, style)))


def test_render_rgb_rejects():
    r, g, b = bands()
    with pytest.raises(ValueError, match="shape"):
        render_rgb(r, g, b[:-1])
    with pytest.raises(ValueError, match="method"):
        render_rgb(r, g, b, method="hsv")
    with pytest.raises(ValueError, match="8 bits"):
        render_rgb(r, g, b, format="png", png_bits=16)


# --- DaCHS names ------------------------------------------------------------

def dachs_normalize(pixels, gamma):
    """DaCHS's imgtools._normalizeForImage, transcribed (finite data)."""
    pixels = np.flipud(pixels)
    lo, hi = pixels.min(), pixels.max()
    return (((pixels - lo) / (hi - lo)) ** gamma * 255).astype(np.uint8)


def pil_jpeg(arr):
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG")     # PIL defaults, as DaCHS
    return buf.getvalue()


@pytest.mark.parametrize("gamma", [0.25, 1.0, 0.6])
def test_jpegFromNumpyArray_is_dachs_bytes(gamma):
    pixels = sky((45, 61)) * np.float32(1.7)
    assert imaging.jpegFromNumpyArray(pixels, gamma) == pil_jpeg(dachs_normalize(pixels, gamma))


def test_colorJpegFromNumpyArrays_is_dachs_bytes():
    r, g, b = bands()
    expected = np.dstack([dachs_normalize(x, 0.25) for x in (r, g, b)])
    assert imaging.colorJpegFromNumpyArrays(r, g, b) == pil_jpeg(expected)
    assert decode(imaging.colorJpegFromNumpyArrays(r, g, b)).mode == "RGB"


def test_dachs_functions_sensible_on_nan_and_constant():
    holed = bright_bottom()
    holed[3:6, 3:6] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = pixels_of(imaging.jpegFromNumpyArray(holed)).astype(int)
        flat = pixels_of(imaging.jpegFromNumpyArray(np.full((8, 8), 2.0)))
        colour_flat = imaging.colorJpegFromNumpyArrays(*[np.full((8, 8), 2.0)] * 3)
    # DaCHS's look with min/max from the finite pixels and NaN black.
    lo, hi = np.nanmin(holed), np.nanmax(holed)
    levels = np.nan_to_num(((holed - lo) / (hi - lo)) ** 0.25 * 255, nan=0.0)
    assert imaging.jpegFromNumpyArray(holed) == pil_jpeg(np.flipud(levels.astype(np.uint8)))
    assert got[4, 4] < 40
    assert flat.max() <= 2
    assert np.asarray(decode(colour_flat)).max() <= 2


def dachs_scale(arr, dest_size):
    """DaCHS's in-memory block mean, as explicit loops over blocks."""
    f = max(arr.shape) // dest_size + 1
    out = np.empty((arr.shape[0] // f, arr.shape[1] // f), np.float64)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = arr[i * f:(i + 1) * f, j * f:(j + 1) * f].astype(np.float64).mean()
    return out


@pytest.mark.parametrize("shape,dest", [((23, 12), 5), ((100, 37), 10), ((64, 64), 64),
                                        ((50, 200), 199), ((7, 9), 100)])
def test_scaleNumpyArray_matches_dachs(shape, dest):
    arr = rng(11).normal(0, 100, shape).astype(np.float32)
    got = imaging.scaleNumpyArray(arr, dest)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, dachs_scale(arr, dest), rtol=1e-6, atol=1e-4)


def test_scaleNumpyArray_excludes_nan():
    arr = np.arange(36, dtype=np.float64).reshape(6, 6)
    arr[0, 0] = np.nan
    arr[3:6, 3:6] = np.nan
    got = imaging.scaleNumpyArray(arr, 3)       # factor 3
    assert got[0, 0] == pytest.approx(np.nanmean(arr[:3, :3]))
    assert np.isnan(got[1, 1])


# --- style and options ------------------------------------------------------

def test_style_validation_messages():
    with pytest.raises(ValueError, match="stretch"):
        PreviewStyle(stretch="cubic")
    with pytest.raises(ValueError, match="vmin and vmax"):
        PreviewStyle(limits="manual", vmin=1)
    with pytest.raises(ValueError, match="invert"):
        PreviewStyle(limits="manual", vmin=2, vmax=1)
    with pytest.raises(ValueError, match="png"):
        PreviewStyle(nan_transparent=True)
    with pytest.raises(ValueError, match="quality"):
        PreviewStyle(quality=0)
    with pytest.raises(ValueError, match="n_samples"):
        PreviewStyle(n_samples=10.5)
    assert type(PreviewStyle(nan_grey=np.uint8(3)).nan_grey) is int
    with pytest.raises(ValueError, match="percentiles"):
        PreviewStyle(percentiles=(90, 10))
    assert PreviewStyle(format="JPG").format == "jpeg"
    assert PreviewStyle(stretch="asinh").softening == 0.1
    assert PreviewStyle(stretch="log", a=5).softening == 5.0


def test_style_from_options_strings():
    style = PreviewStyle.from_options({"limits": "zscale", "contrast": "0.3",
                                       "invert": "yes", "stretch": "ASINH", "quality": "90"})
    assert (style.limits, style.contrast, style.invert, style.stretch, style.quality) == (
        "zscale", 0.3, True, "asinh", 90)
    style = PreviewStyle.from_options("percentiles=1:99, format=png, png-bits=16")
    assert style.percentiles == (1.0, 99.0) and style.png_bits == 16
    style = PreviewStyle.from_options("vmin=-1, vmax=4.5")
    assert (style.limits, style.vmin, style.vmax) == ("manual", -1.0, 4.5)
    with pytest.raises(ValueError, match="unknown"):
        PreviewStyle.from_options({"colour": "red"})
    with pytest.raises(ValueError, match="quality"):
        PreviewStyle.from_options({"quality": "high"})


def test_argparse_helpers():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int)
    imaging.add_style_arguments(parser)
    args = parser.parse_args(["--size", "300", "--vmin", "1", "--vmax", "9",
                              "--stretch", "power", "--gamma", "0.5", "--invert",
                              "--format", "png", "--percentiles", "1,99"])
    style = imaging.style_from_args(args)
    assert (style.limits, style.vmin, style.vmax, style.stretch, style.gamma,
            style.invert, style.format, style.percentiles) == (
        "manual", 1.0, 9.0, "power", 0.5, True, "png", (1.0, 99.0))
    assert imaging.style_from_args(parser.parse_args([])) == PreviewStyle()
    base = PreviewStyle(quality=60)
    assert imaging.style_from_args(parser.parse_args(["--stretch", "log"]), base).quality == 60
    with pytest.raises(ValueError, match="vmin and vmax"):
        imaging.style_from_args(parser.parse_args(["--vmin", "3"]))
    dachs = imaging.style_from_args(parser.parse_args(["--look", "dachs", "--format", "png"]))
    assert (dachs.limits, dachs.stretch, dachs.gamma, dachs.format) == (
        "minmax", "power", 0.25, "png")


def test_dachs_look_is_jpegFromNumpyArray_up_to_rounding():
    from fitsmill.previewstyle import LOOKS
    image = sky((40, 50))
    got = pixels_of(render(image, LOOKS["dachs"], format="png")).astype(int)
    truncated = np.flipud(dachs_normalize(image, 0.25)).astype(int)
    assert ((got - truncated) >= 0).all() and ((got - truncated) <= 1).all()


def test_render_from_threads_equals_serial():
    from concurrent.futures import ThreadPoolExecutor
    images = [sky((50, 60), seed=s, nan_fraction=0.02) for s in range(6)]
    styles = [PreviewStyle(format="png", stretch=st) for st in ("linear", "asinh", "log")]
    jobs = [(im, st) for im in images for st in styles]
    serial = [render(im, st) for im, st in jobs]
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(lambda job: render(*job), jobs * 3)) == serial * 3


def test_style_is_picklable():
    import pickle
    style = PreviewStyle(stretch="asinh", invert=True)
    assert pickle.loads(pickle.dumps(style)) == style


def test_style_replace_cache_keeps_validation():
    base = PreviewStyle()
    first = base.replace(quality=60, stretch="asinh")
    assert base.replace(stretch="asinh", quality=60) is first     # validated once
    assert first == PreviewStyle(quality=60, stretch="asinh")
    # Equal but differently typed values are validated on their own.
    with pytest.raises(ValueError, match="quality"):
        base.replace(quality=60.0)
    with pytest.raises(TypeError, match="unknown"):
        base.replace(colour="red")
    # Unhashable values still work (uncached).
    assert base.replace(percentiles=[1, 99]).percentiles == (1.0, 99.0)
