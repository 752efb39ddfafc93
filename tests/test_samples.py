"""Tests of fitsmill.samples: every file passes fitsverify and reads in
astropy (and fitsio for the tile-compressed one), the archive is
deterministic, streamed plates equal the in-memory generator, and the
plates look like plates."""

import hashlib
import tracemalloc

import fitsio
import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from common import fitsverify
from fitsmill import samples


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    dest = tmp_path_factory.mktemp("archive")
    return dest, samples.make_sample_archive(dest, seed=0)


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def by_name(manifest, name):
    (entry,) = [e for e in manifest if e.path.name == name]
    return entry.path


def test_manifest_lists_existing_files(archive):
    dest, manifest = archive
    assert len(manifest) == 8
    for entry in manifest:
        assert entry.path.is_file() and entry.path.is_relative_to(dest)
        assert entry.description
    total = sum(e.path.stat().st_size for e in manifest)
    assert total < 10 * 2**20


def test_every_file_passes_fitsverify_and_opens(archive):
    _, manifest = archive
    for entry in manifest:
        fitsverify(entry.path)
        with fits.open(entry.path) as hdus:
            hdus.verify("exception")
            assert any(h.data is not None for h in hdus)


def test_archive_is_deterministic(archive, tmp_path):
    _, manifest = archive
    again = samples.make_sample_archive(tmp_path / "again", seed=0)
    assert [digest(e.path) for e in manifest] == [digest(e.path) for e in again]
    other = samples.make_sample_archive(tmp_path / "other", seed=1)
    assert digest(manifest[0].path) != digest(other[0].path)


def test_plate_file_is_16bit_bzero_with_plate_header(archive):
    _, manifest = archive
    path = by_name(manifest, "plate_001.fits")
    raw = fits.getheader(path)
    assert (raw["BITPIX"], raw["BZERO"], raw["BSCALE"]) == (16, 32768, 1)
    for key in ("OBSERVAT", "TELESCOP", "PLATENUM", "DATE-OBS", "EXPTIME", "RA", "DEC",
                "RA_DEG", "DEC_DEG", "OBJECT", "SCANRES1", "SCANRES2", "PIXSIZE1",
                "EMULSION", "FILENAME"):
        assert key in raw, key
    assert raw["FILENAME"] == "plate_001.fits"
    data = fits.getdata(path)
    assert data.dtype == np.uint16
    np.testing.assert_array_equal(data, samples.plate_image((1024, 1024), seed=0))


def test_gzip_and_fz_hold_the_generated_plates(archive):
    _, manifest = archive
    gz = by_name(manifest, "plate_003.fits.gz")
    assert gz.read_bytes()[:2] == b"\x1f\x8b"
    np.testing.assert_array_equal(fits.getdata(gz), samples.plate_image((512, 640), seed=2))
    fz = by_name(manifest, "plate_004.fits.fz")
    expected = samples.plate_image((768, 1024), seed=3)
    with fits.open(fz) as hdus:
        assert hdus[0].data is None
        assert isinstance(hdus[1], fits.CompImageHDU)
        assert hdus[1].header["PLATENUM"] == "S0003"
        np.testing.assert_array_equal(hdus[1].data, expected)
    np.testing.assert_array_equal(fitsio.read(str(fz), ext=1), expected)
    assert fitsio.FITS(str(fz))[1].get_exttype() == "IMAGE_HDU"
    assert b"ZCMPTYPE= 'RICE_1  '" in fz.read_bytes()[:2880 * 4]


def test_negative_plate_has_dark_stars(archive):
    _, manifest = archive
    data = fits.getdata(by_name(manifest, "plate_002.fits")).astype(float)
    median = np.median(data)
    assert median > 50000                       # clear background is bright
    assert np.percentile(data, 0.1) < median - 20000    # stars are dark


def test_float_image_has_nan_patch_and_columns(archive):
    _, manifest = archive
    path = by_name(manifest, "galaxy_nan.fits")
    with fits.open(path) as hdus:
        data = hdus[0].data
        assert hdus[0].header["BITPIX"] == -32
        wcs = WCS(hdus[0].header)
    nan_cols = np.flatnonzero(np.isnan(data).all(axis=0))
    assert len(nan_cols) == 2
    patch = np.isnan(data)
    patch[:, nan_cols] = False
    assert 1000 < patch.sum() < data.size // 4
    rows, cols = np.nonzero(patch)
    assert patch[rows.min():rows.max() + 1, cols.min():cols.max() + 1].all()
    assert wcs.has_celestial
    assert np.isfinite(data[~np.isnan(data)]).all()


def test_colour_file_layout(archive):
    _, manifest = archive
    with fits.open(by_name(manifest, "rgb.fits")) as hdus:
        assert len(hdus) == 5 and hdus[0].data is None
        assert [h.name for h in hdus[1:]] == ["SUM", "R", "G", "B"]
        r, g, b = (hdus[i].data for i in (2, 3, 4))    # --rgb 2,3,4
        np.testing.assert_allclose(hdus[1].data, r + g + b, rtol=1e-6)
        # The nebula is red: red dominates the summed light.
        assert r.sum() > 1.3 * g.sum()


def test_spectra(archive):
    _, manifest = archive
    wave, flux = samples.spectrum(seed=0)
    with fits.open(by_name(manifest, "spectrum_1d.fits")) as hdus:
        h = hdus[0].header
        assert h["NAXIS"] == 1 and h["CTYPE1"] == "WAVE"
        world = WCS(h).pixel_to_world_values(np.arange(h["NAXIS1"]))
        np.testing.assert_allclose(np.asarray(world) * 1e10, wave, rtol=1e-12)  # m -> Angstrom
        np.testing.assert_array_equal(hdus[0].data, flux)
    with fits.open(by_name(manifest, "spectrum_table.fits")) as hdus:
        table = hdus[1].data
        assert table.columns.names == ["spectral", "flux"]
        np.testing.assert_array_equal(table["spectral"], wave)
        np.testing.assert_array_equal(table["flux"], flux)
        assert hdus[1].columns["spectral"].unit == "Angstrom"
    assert (flux[:3] <= 0).all() and (flux[3:] > 0).mean() > 0.99


def test_plate_look():
    data = samples.plate_image((600, 500), seed=4).astype(float)
    stars = samples.plate_stars((600, 500), seed=4)
    assert len(stars["x"]) == 600 * 500 // 1500
    # Many magnitudes: peaks span more than seven magnitudes.
    assert stars["peak"].max() / stars["peak"].min() > 10 ** (0.4 * 7)
    # Saturated cores: a plateau of pixels near the emulsion's limit.
    assert (data > 0.95 * 56000).sum() > 20
    assert data.max() < 56000 + 6 * 260        # saturation level plus grain
    # Sky gradient: one side of the plate is brighter than the other.
    sky_left, sky_right = np.median(data[:, :50]), np.median(data[:, -50:])
    assert sky_right - sky_left > 600
    # Grain noise: neighbouring sky pixels differ.
    assert np.std(np.diff(data[250:350, 200:300], axis=1)) > 20


def test_scratches_are_optional():
    with_s = samples.plate_image((300, 300), seed=6, scratches=True)
    without = samples.plate_image((300, 300), seed=6, scratches=False)
    diff = with_s.astype(int) - without.astype(int)
    assert (diff <= 0).all() and 200 < (diff < 0).sum() < 5000


def test_write_plate_streams_in_bounded_memory(tmp_path):
    shape = (6000, 1000)     # tall, so one band is a small part of the image
    path = tmp_path / "big.fits"
    tracemalloc.start()
    try:
        samples.write_plate(path, shape, seed=9, n_stars=300)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    image_bytes = 2 * shape[0] * shape[1]
    assert peak < image_bytes / 3, peak
    fitsverify(path)
    np.testing.assert_array_equal(fits.getdata(path),
                                  samples.plate_image(shape, seed=9, n_stars=300))


def test_tiny_and_odd_plates(tmp_path):
    for shape in [(1, 1), (1, 7), (129, 3), (130, 257)]:
        path = samples.write_plate(tmp_path / f"p{shape[0]}x{shape[1]}.fits", shape, seed=1)
        fitsverify(path)
        assert fits.getdata(path).shape == shape
    with pytest.raises(ValueError, match="positive"):
        samples.plate_image((0, 5))
