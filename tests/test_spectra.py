"""Spectral previews: the NumPy rasteriser checked by decoding with Pillow
against the plotted values; spectrum readers against astropy-written files."""

import io
import os

import numpy as np
import pytest
from astropy.io import fits
from astropy.io.votable import from_table, writeto
from astropy.table import MaskedColumn, Table
from PIL import Image

from fitsmill import api
from fitsmill.cli import main as fitsmill_main
from fitsmill.naming import flat_name
from fitsmill.spectra import (MISSING_GREY, NONPOSITIVE_GREY, STRIP_HEIGHT,
                              plot_spectrum, read_spectrum)


def _decode(png):
    Image.open(io.BytesIO(png)).verify()  # chunk CRCs and structure
    im = Image.open(io.BytesIO(png))
    assert (im.format, im.mode) == ("PNG", "L")
    return np.asarray(im.convert("L"))


def _black_rows(pixels, col):
    return np.flatnonzero(pixels[:, col] == 0)


def test_default_size_and_colours():
    px = _decode(plot_spectrum(np.arange(50.0), np.arange(1.0, 51.0)))
    assert px.shape == (100, 200)
    assert set(np.unique(px)) == {0, 255}


def test_linear_line_lands_where_the_values_say():
    x = np.linspace(3000, 9000, 4000)
    flux = 5 + 2 * x
    px = _decode(plot_spectrum(x, flux, width=120, height=60, linear_fluxes=True))
    for col in range(120):
        expected = 59 * (1 - col / 119)  # max at the top, min at the bottom
        rows = _black_rows(px, col)
        assert rows.size, f"column {col} is empty"
        assert abs(rows.mean() - expected) <= 1.0


def test_log_axis_is_logarithmic():
    x = np.linspace(0, 1, 500)
    flux = 10.0 ** (3 * x)  # a straight line on a log axis
    log_px = _decode(plot_spectrum(x, flux))
    lin_px = _decode(plot_spectrum(x, flux, linear_fluxes=True))
    mid = 100
    assert abs(_black_rows(log_px, mid).mean() - 99 * (1 - mid / 199)) <= 1.0
    # On the linear axis the same curve hugs the bottom at mid-spectrum.
    lin_expected = 99 * (1 - (10 ** 1.5 - 1) / (1000 - 1))
    assert abs(_black_rows(lin_px, mid).mean() - lin_expected) <= 1.5


def test_points_are_single_pixels_and_lines_are_connected():
    x = np.array([0.0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    flux = np.array([1.0, 9, 2, 8, 3, 7, 4, 6, 5, 5.5])
    dots = _decode(plot_spectrum(x, flux, connect_points=False, linear_fluxes=True))
    cols = np.rint(x * 199 / 9).astype(int)
    rows = np.rint((9 - flux) * 99 / 8).astype(int)
    expected = np.full((100, 200), 255, np.uint8)
    expected[rows, cols] = 0
    assert np.array_equal(dots, expected)
    line = _decode(plot_spectrum(x, flux, linear_fluxes=True))
    assert all(_black_rows(line, c).size for c in range(200))
    assert np.all(line[rows, cols] == 0)
    # A steep segment is a solid vertical run, with no holes.
    run = _black_rows(line, cols[1])
    assert np.array_equal(run, np.arange(run.min(), run.max() + 1))


def _sampled_polyline(x, y, width, height):
    """Reference rasteriser: sample every segment densely and round each
    sample to its pixel (the union is the set of pixels the line crosses)."""
    xs = (x - x.min()) * (width - 1) / (x.max() - x.min())
    ys = (y.max() - y) * (height - 1) / (y.max() - y.min())
    t = np.linspace(0.0, 1.0, 20001)[:, None]
    px = np.rint(xs[:-1] + t * (xs[1:] - xs[:-1])).astype(int)
    py = np.rint(ys[:-1] + t * (ys[1:] - ys[:-1])).astype(int)
    mask = np.zeros((height, width), bool)
    mask[py.ravel(), px.ravel()] = True
    return mask


@pytest.mark.parametrize("n", [3, 12, 60, 400])
def test_line_pixels_match_a_dense_sampling_reference(n):
    # Sparse (segments crossing many columns) to dense (many points per
    # column), steep and shallow: the drawn pixels are exactly the pixels
    # the polyline passes through.
    rng = np.random.default_rng(n)
    x = np.sort(rng.uniform(0, 100, n))
    y = rng.uniform(-5, 5, n) + np.linspace(0, 20, n)
    px = _decode(plot_spectrum(x, y, width=90, height=40, linear_fluxes=True))
    assert np.array_equal(px == 0, _sampled_polyline(x, y, 90, 40))


def test_nan_fluxes_break_the_line_and_are_marked():
    x = np.arange(100.0)
    flux = np.full(100, 10.0)
    flux[40:60] = np.nan
    px = _decode(plot_spectrum(x, flux, width=100, height=50))
    strip, plot = px[-STRIP_HEIGHT:], px[:-STRIP_HEIGHT]
    assert np.all(strip[:, 40:60] == MISSING_GREY)
    assert np.all(strip[:, :40] == 255) and np.all(strip[:, 60:] == 255)
    # No line across the gap, line elsewhere.
    assert not (plot[:, 41:59] == 0).any()
    assert all((plot[:, c] == 0).any() for c in list(range(40)) + list(range(60, 100)))


def test_nonpositive_fluxes_on_log_axis_are_marked_not_dropped():
    x = np.arange(100.0)
    flux = np.linspace(1, 100, 100)
    flux[[10, 50]] = [0.0, -3.0]
    flux[70] = np.inf
    px = _decode(plot_spectrum(x, flux, width=100, height=50))
    strip = px[-STRIP_HEIGHT:]
    assert np.all(strip[:, [10, 50]] == NONPOSITIVE_GREY)
    assert np.all(strip[:, 70] == MISSING_GREY)
    assert np.count_nonzero(strip[0] != 255) == 3
    # The same data on a linear axis: all but inf are plotted, no strip
    # for the negatives.
    lin = _decode(plot_spectrum(x, flux, width=100, height=50, linear_fluxes=True))
    assert np.count_nonzero(lin[-STRIP_HEIGHT:][0] != 255) == 1


def test_isolated_valid_point_is_still_drawn():
    x = np.arange(9.0)
    flux = np.array([np.nan, np.nan, np.nan, np.nan, 5.0, np.nan, 1.0, 2.0, 3.0])
    px = _decode(plot_spectrum(x, flux, width=9, height=20, linear_fluxes=True))
    assert (px[:-STRIP_HEIGHT, 4] == 0).sum() == 1


def test_unsorted_input_is_sorted():
    rng = np.random.default_rng(3)
    x = np.linspace(0, 10, 300)
    flux = np.exp(-(x - 5) ** 2) + 0.1
    perm = rng.permutation(300)
    assert plot_spectrum(x[perm], flux[perm]) == plot_spectrum(x, flux)


def test_constant_flux_and_single_point():
    px = _decode(plot_spectrum(np.arange(10.0), np.full(10, 3.0), height=51))
    assert np.array_equal(np.unique(np.nonzero(px == 0)[0]), [25])
    one = _decode(plot_spectrum([5.0], [2.0], width=11, height=11))
    assert np.argwhere(one == 0).tolist() == [[5, 5]]


def test_fluxes_near_the_float_limits():
    flux = np.array([-1.5e308, 0.0, 1.5e308])
    px = _decode(plot_spectrum([1.0, 2.0, 3.0], flux, width=3, height=11,
                               linear_fluxes=True, connect_points=False))
    assert np.argwhere(px == 0).tolist() == [[0, 2], [5, 1], [10, 0]]


@pytest.mark.parametrize("spectral, flux, message", [
    ([], [], "empty"),
    ([1.0, 2.0], [1.0], "differ"),
    ([1.0, np.nan], [1.0, 2.0], "non-finite spectral"),
])
def test_bad_input(spectral, flux, message):
    with pytest.raises(ValueError, match=message):
        plot_spectrum(spectral, flux)


def _table_spectrum(n=300):
    x = np.linspace(4000.0, 7000.0, n)
    return x, 1e-16 * (1 + np.sin(x / 300.0))


def test_read_fits_binary_table(tmp_path):
    x, y = _table_spectrum()
    path = tmp_path / "spec.fits"
    Table({"WAVE": x, "FLUX": y, "ERR": y / 10}).write(path)
    got_x, got_y = read_spectrum(path, "wave", "flux")
    assert np.array_equal(got_x, x) and np.array_equal(got_y, y)
    with pytest.raises(ValueError, match="no spectrum"):
        read_spectrum(path)  # default column names are absent


def test_read_fits_vector_cells(tmp_path):
    # SDSS/SDM style: one row, whole spectrum in array cells, in HDU 2.
    x, y = _table_spectrum(64)
    path = tmp_path / "vec.fits"
    cols = [fits.Column("spectral", "64D", array=x[None]),
            fits.Column("flux", "64E", array=y[None].astype(np.float32))]
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((2, 2))),
                  fits.BinTableHDU.from_columns(cols)]).writeto(path)
    got_x, got_y = read_spectrum(path, ext=2)
    assert np.array_equal(got_x, x)
    assert np.allclose(got_y, y.astype(np.float32), rtol=0, atol=0)


def test_read_1d_image_with_linear_wcs(tmp_path):
    flux = np.arange(1.0, 101.0).astype(np.float32)
    hdu = fits.PrimaryHDU(flux)
    hdu.header.update(CTYPE1="WAVE", CRVAL1=5000.0, CRPIX1=11.0, CDELT1=2.5)
    hdu.writeto(tmp_path / "img.fits")
    x, y = read_spectrum(tmp_path / "img.fits")
    assert np.array_equal(y, flux)
    assert x[10] == 5000.0 and x[0] == 5000.0 - 25.0 and np.allclose(np.diff(x), 2.5)
    hdu.header["CTYPE1"] = "WAVE-LOG"
    hdu.writeto(tmp_path / "log.fits")
    with pytest.raises(ValueError, match="not linear"):
        read_spectrum(tmp_path / "log.fits")


def test_read_1d_image_with_scaling(tmp_path):
    raw = np.arange(10, dtype=np.int16)
    hdu = fits.PrimaryHDU(raw)
    hdu.header.update(BSCALE=0.5, BZERO=100.0, CRVAL1=1.0, CDELT1=1.0, CRPIX1=1.0)
    hdu.writeto(tmp_path / "s.fits")
    expected = fits.getdata(tmp_path / "s.fits").astype(np.float64)
    assert np.array_equal(read_spectrum(tmp_path / "s.fits")[1], expected)


def test_2d_image_is_not_a_spectrum(tmp_path):
    fits.PrimaryHDU(np.zeros((4, 5))).writeto(tmp_path / "im.fits")
    with pytest.raises(ValueError, match="no spectrum in any HDU"):
        read_spectrum(tmp_path / "im.fits")
    with pytest.raises(ValueError, match="2 axes"):
        read_spectrum(tmp_path / "im.fits", ext=0)


def test_spectrum_table_after_a_2d_image(tmp_path):
    x, y = _table_spectrum(30)
    fits.HDUList([fits.PrimaryHDU(np.zeros((4, 5))),
                  fits.BinTableHDU(Table({"spectral": x, "flux": y}))]).writeto(
        tmp_path / "mixed.fits")
    assert np.array_equal(read_spectrum(tmp_path / "mixed.fits")[1], y)


def _astropy_columns(path, ext, names):
    with fits.open(path) as hdus:
        data = hdus[ext].data
        return tuple(np.ma.filled(np.ma.asarray(data[n], dtype=np.float64), np.nan).ravel()
                     for n in names)


def test_scaled_and_null_integer_columns_match_astropy(tmp_path):
    raw = np.arange(-5, 45, dtype=np.int32)
    raw[7] = -999
    cols = [fits.Column("spectral", "J", array=raw + 10),
            fits.Column("flux", "J", array=raw, null=-999),
            fits.Column("q", "I", array=np.ones(50, np.int16))]
    hdu = fits.BinTableHDU.from_columns(cols)
    # Scaling cards added to the stored integers (astropy scales on read).
    hdu.header.update(TSCAL1=0.5, TZERO1=4000.0, TSCAL2=2.0, TZERO2=1.0)
    hdu.writeto(tmp_path / "scaled.fits")
    got = read_spectrum(tmp_path / "scaled.fits")
    want = _astropy_columns(tmp_path / "scaled.fits", 1, ("spectral", "flux"))
    # FITS: a stored TNULL value is undefined; astropy hands it out scaled
    # (2 * -999 + 1) instead, so only the other values are its to judge.
    assert np.isnan(got[1][7]) and want[1][7] == -1997.0
    want[1][7] = np.nan
    for g, w in zip(got, want):
        assert np.array_equal(g, w, equal_nan=True)


@pytest.mark.parametrize("kind", ["strings", "varlen", "ascii", "gzip"])
def test_other_tables_go_through_cfitsio(tmp_path, kind):
    x, y = _table_spectrum(25)
    cols = [fits.Column("spectral", "D", array=x), fits.Column("flux", "D", array=y)]
    if kind == "strings":
        cols.append(fits.Column("name", "10A", array=np.array(["a"] * 25)))
        hdu = fits.BinTableHDU.from_columns(cols)
    elif kind == "varlen":
        cols.append(fits.Column("v", "PJ()", array=np.array(
            [np.arange(k % 3) for k in range(25)], dtype=object)))
        hdu = fits.BinTableHDU.from_columns(cols)
    elif kind == "ascii":
        hdu = fits.TableHDU.from_columns([
            fits.Column("spectral", "D25.17", array=x),
            fits.Column("flux", "D25.17", array=y)])
    else:
        hdu = fits.BinTableHDU.from_columns(cols)
    name = "t.fits.gz" if kind == "gzip" else "t.fits"
    hdu.writeto(tmp_path / name)
    got_x, got_y = read_spectrum(tmp_path / name)
    assert np.allclose(got_x, x, rtol=1e-15) and np.allclose(got_y, y, rtol=1e-15)


def test_read_votable_masked_values_become_nan(tmp_path):
    x, y = _table_spectrum(20)
    table = Table({"spectral": x,
                   "flux": MaskedColumn(y, mask=np.arange(20) == 7)})
    path = tmp_path / "s.vot"
    writeto(from_table(table), str(path))
    got_x, got_y = read_spectrum(path)
    assert np.array_equal(got_x, x)
    assert np.isnan(got_y[7]) and np.array_equal(np.delete(got_y, 7), np.delete(y, 7))


# ------------------------------------------------------ SpectralPreviewMaker


class ManualSpectralPreviewMaker(api.SpectralPreviewMaker):
    """The manual's example: previews only for the non-.vot accrefs."""

    sdmId = "build_sdm_data"

    def iterIdentifiers(self):
        for id in api.SpectralPreviewMaker.iterIdentifiers(self):
            if not id.endswith(".vot"):
                yield id


class LinearPointsMaker(api.SpectralPreviewMaker):
    linearFluxes = True
    connectPoints = False
    spectralColumn = "WAVE"
    fluxColumn = "FLUX"


GENERATED = {}


class ArrayHookMaker(api.SpectralPreviewMaker):
    """Spectra from code: virtual accrefs, no files."""

    def iterIdentifiers(self):
        return iter(["virtual/a", "virtual/b"])

    def getSpectrum(self, accref):
        GENERATED[accref] = GENERATED.get(accref, 0) + 1
        x = np.linspace(1.0, 2.0, 50)
        return x, x ** (2 if accref.endswith("a") else 3)


def _spectra_inputs(tmp_path):
    inputs = tmp_path / "inputs"
    (inputs / "spec").mkdir(parents=True)
    x, y = _table_spectrum(400)
    y[100] = -1.0
    Table({"spectral": x, "flux": y}).write(inputs / "spec" / "s1.fits")
    writeto(from_table(Table({"spectral": x, "flux": y})), str(inputs / "spec" / "s1.vot"))
    Table({"WAVE": x, "FLUX": y * 2}).write(inputs / "spec" / "s2.fits")
    return inputs, x, y


def _run(cls, inputs, *argv, sources):
    return api.procmain(cls, inputs_dir=str(inputs), sources=sources,
                        properties={"previewDir": "previews"},
                        argv=["--no-progress", *argv], exit=False)


def test_manual_spectral_example(tmp_path):
    inputs, x, y = _spectra_inputs(tmp_path)
    proc = _run(ManualSpectralPreviewMaker, inputs,
                sources=[str(inputs / "spec" / "s1.*")])
    assert proc.exit_status == 0 and proc.summary.succeeded == 1
    assert os.listdir(inputs / "previews") == [flat_name("spec/s1.fits")]
    png = (inputs / "previews" / flat_name("spec/s1.fits")).read_bytes()
    assert png == plot_spectrum(x, y)  # log axis, connected: DaCHS's defaults
    px = _decode(png)
    assert px.shape == (100, 200)
    assert (px[-STRIP_HEIGHT:] == NONPOSITIVE_GREY).any()  # the negative flux


def test_class_attributes_select_columns_and_style(tmp_path):
    inputs, x, y = _spectra_inputs(tmp_path)
    _run(LinearPointsMaker, inputs, sources=[str(inputs / "spec" / "s2.fits")])
    png = (inputs / "previews" / flat_name("spec/s2.fits")).read_bytes()
    assert png == plot_spectrum(x, 2 * y, linear_fluxes=True, connect_points=False)
    assert LinearPointsMaker.get2DPlot(list(zip(x, 2 * y)), True, False) == png


def test_spectrum_hook_with_virtual_accrefs(tmp_path):
    GENERATED.clear()
    proc = _run(ArrayHookMaker, tmp_path, sources=None)
    assert proc.summary.succeeded == 2
    x = np.linspace(1.0, 2.0, 50)
    assert (tmp_path / "previews" / flat_name("virtual/b")).read_bytes() == \
        plot_spectrum(x, x ** 3)
    again = _run(ArrayHookMaker, tmp_path, sources=None)
    assert again.summary.skipped == 2 and GENERATED == {"virtual/a": 1, "virtual/b": 1}


def test_cli_spectra(tmp_path):
    inputs, x, y = _spectra_inputs(tmp_path)
    flux = np.arange(1.0, 101.0)
    hdu = fits.PrimaryHDU(flux)
    hdu.header.update(CRVAL1=4000.0, CDELT1=2.0, CRPIX1=1.0)
    hdu.writeto(inputs / "spec" / "img.fits")
    argv = ["previews", "--spectra", "--no-progress", "--inputs-dir", str(inputs),
            "--preview-dir", str(tmp_path / "p"), "--naming", "split:.png"]
    assert fitsmill_main(argv + ["--spectral-column", "wave", "--flux-column", "flux",
                                 "--linear-fluxes", "--points",
                                 str(inputs / "spec" / "s2.fits")]) == 0
    assert (tmp_path / "p" / "spec" / "s2.fits.png").read_bytes() == plot_spectrum(
        x, 2 * y, linear_fluxes=True, connect_points=False)
    assert fitsmill_main(argv + [str(inputs / "spec" / "img.fits")]) == 0
    assert (tmp_path / "p" / "spec" / "img.fits.png").read_bytes() == plot_spectrum(
        4000.0 + 2.0 * np.arange(100), flux)
