"""Shrunk FITS: WCS rescaling checked with astropy.wcs, files with fitsverify."""

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from fitsmill.shrink import iterScaledBytes, shrink_fits, shrink_header, shrinkWCSHeader

from common import fitsverify
from reference import block_mean


def _base(naxis1=1000, naxis2=800):
    h = fits.Header()
    h["SIMPLE"] = True
    h["BITPIX"] = 16
    h["NAXIS"] = 2
    h["NAXIS1"] = naxis1
    h["NAXIS2"] = naxis2
    h["CTYPE1"] = "RA---TAN"
    h["CTYPE2"] = "DEC--TAN"
    h["CRVAL1"] = 150.25
    h["CRVAL2"] = -30.5
    h["CRPIX1"] = 500.3
    h["CRPIX2"] = 410.7
    return h


def _cd(h):
    h.update(CD1_1=-2.5e-4, CD1_2=3e-5, CD2_1=2e-5, CD2_2=2.4e-4)
    return h


def _pc(h):
    h.update(CDELT1=-2.5e-4, CDELT2=2.4e-4, PC1_1=0.99, PC1_2=-0.12,
             PC2_1=0.12, PC2_2=0.99)
    return h


def _pc_no_cdelt(h):
    # PC alone: CDELT defaults to 1, so the shrunk header must say CDELT = f.
    h.update(PC1_1=-2.5e-4, PC1_2=0.0, PC2_1=0.0, PC2_2=2.5e-4)
    return h


def _crota(h):
    h.update(CDELT1=-2.5e-4, CDELT2=2.5e-4, CROTA2=12.5)
    return h


def _sip(h):
    _cd(h)
    h["CTYPE1"] = "RA---TAN-SIP"
    h["CTYPE2"] = "DEC--TAN-SIP"
    h.update(A_ORDER=3, B_ORDER=3, A_2_0=1e-5, A_0_2=-2e-6, A_1_1=3e-6,
             A_3_0=1e-9, A_1_2=-2e-9, B_2_0=2e-6, B_1_1=-1e-6, B_0_2=1e-5,
             B_0_3=3e-9, AP_ORDER=3, BP_ORDER=3, AP_1_0=1e-7, AP_2_0=-1e-5,
             AP_0_2=2e-6, AP_3_0=-1e-9, BP_0_1=-2e-7, BP_0_2=-1e-5,
             BP_2_0=-2e-6, A_DMAX=3.2, B_DMAX=2.8)
    return h


def _alternate(h):
    _cd(h)
    h.update(CTYPE1A="LINEAR", CTYPE2A="LINEAR", CRPIX1A=1.0, CRPIX2A=1.0,
             CRVAL1A=0.0, CRVAL2A=0.0, CDELT1A=0.015, CDELT2A=0.015,
             CUNIT1A="mm", CUNIT2A="mm")
    return h


WCS_KINDS = {"cd": _cd, "pc": _pc, "pc-no-cdelt": _pc_no_cdelt,
             "crota": _crota, "sip": _sip}


def _pixel_scale(w):
    """Size of one pixel in degrees (geometric mean of the two axes)."""
    return np.sqrt(abs(np.linalg.det(w.pixel_scale_matrix)))


def _max_offset_in_shrunk_pixels(h, new, factor, key=" "):
    """Worst distance between shrunk pixel centres and their block centres."""
    old_w, new_w = WCS(h, key=key), WCS(new, key=key)
    rng = np.random.default_rng(factor)
    p = np.vstack([rng.integers(1, (new["NAXIS1"], new["NAXIS2"]), size=(200, 2)),
                   [[1, 1], [new["NAXIS1"], new["NAXIS2"]]]]).astype(float)
    block_centres = factor * p - (factor - 1) / 2
    sky_old = old_w.all_pix2world(block_centres, 1)
    sky_new = new_w.all_pix2world(p, 1)
    if old_w.wcs.lngtyp:
        dlon = (sky_old[:, 0] - sky_new[:, 0]) * np.cos(np.radians(sky_old[:, 1]))
        dist = np.hypot(dlon, sky_old[:, 1] - sky_new[:, 1])
    else:
        dist = np.hypot(*(sky_old - sky_new).T)
    return dist.max() / _pixel_scale(new_w)


@pytest.mark.parametrize("kind", sorted(WCS_KINDS))
@pytest.mark.parametrize("factor", [2, 3, 7])
def test_pixel_centres_keep_their_sky_positions(kind, factor):
    h = WCS_KINDS[kind](_base())
    new = shrink_header(h, factor)
    assert _max_offset_in_shrunk_pixels(h, new, factor) < 0.1
    # The bound is not loose: with exact rescaling the error is rounding.
    assert _max_offset_in_shrunk_pixels(h, new, factor) < 1e-6


@pytest.mark.parametrize("factor", [2, 4])
def test_dachs_convention_is_half_a_block_off(factor):
    # DaCHS's CRPIX/f + 0.5 misses the block centres by 0.5/f shrunk pixel
    # on each axis (so the 0.1-pixel check above would catch it) ...
    h = _cd(_base())
    new = shrinkWCSHeader(h, factor, convention="dachs")
    assert _max_offset_in_shrunk_pixels(h, new, factor) > 0.1
    p = np.array([[3.0, 5.0], [40.0, 17.0]])
    sky = WCS(h).all_pix2world(factor * p - (factor - 1) / 2, 1)
    assert np.allclose(WCS(new).all_world2pix(sky, 1) - p, 0.5 / factor)
    assert new["CRPIX1"] == pytest.approx(h["CRPIX1"] / factor + 0.5)
    # ... and follows DaCHS's x' = x/f + 0.5 (its test, for f = 2: pixel
    # (1, 1) stays put on the sky).
    old_w, new_w = WCS(h), WCS(new)
    corner = 1 / factor + 0.5
    assert np.allclose(old_w.all_pix2world([[1, 1]], 1),
                       new_w.all_pix2world([[corner, corner]], 1), rtol=0, atol=1e-10)


def test_sip_inverse_coefficients_rescaled():
    factor = 3
    h = _sip(_base())
    new = shrink_header(h, factor)
    old_w, new_w = WCS(h), WCS(new)
    p = np.random.default_rng(1).uniform(1, 250, (100, 2))
    foc_old = old_w.sip_pix2foc(factor * p - (factor - 1) / 2, 1)
    foc_new = new_w.sip_pix2foc(p, 1)
    assert np.allclose(foc_new, foc_old / factor, rtol=1e-12, atol=1e-9)
    back_old = old_w.sip_foc2pix(foc_old, 1)
    back_new = new_w.sip_foc2pix(foc_new, 1)
    assert np.allclose(back_new, (back_old - 0.5) / factor + 0.5, atol=1e-9)
    assert new["A_2_0"] == pytest.approx(h["A_2_0"] * factor)
    assert new["A_3_0"] == pytest.approx(h["A_3_0"] * factor ** 2)
    assert new["AP_1_0"] == pytest.approx(h["AP_1_0"])
    assert new["A_DMAX"] == pytest.approx(h["A_DMAX"] / factor)


def test_alternate_wcs_rescaled():
    h = _alternate(_base())
    new = shrink_header(h, 4)
    assert _max_offset_in_shrunk_pixels(h, new, 4, key="A") < 1e-6
    assert new["CDELT1A"] == pytest.approx(0.06)


def test_iraf_physical_coordinates_follow():
    factor = 4
    h = _cd(_base())
    h.update(LTV1=-100.0, LTV2=-50.0, LTM1_1=1.0, LTM2_2=1.0)
    new = shrink_header(h, factor)
    # A block centre's physical coordinate, computed both ways.
    p = np.array([10.0, 20.0])
    x = factor * p - (factor - 1) / 2
    phys_old = x - np.array([h["LTV1"], h["LTV2"]])
    phys_new = (p - np.array([new["LTV1"], new["LTV2"]])) / np.array(
        [new["LTM1_1"], new["LTM2_2"]])
    assert np.allclose(phys_old, phys_new)


def test_wcs_without_crpix_and_stray_sip_like_cards():
    h = _cd(_base())
    del h["CRPIX1"], h["CRPIX2"]  # both default to 0
    h["A_1_1"] = 7.0  # looks like SIP, but there is no A_ORDER
    new = shrink_header(h, 4)
    assert new["A_1_1"] == 7.0
    assert _max_offset_in_shrunk_pixels(h, new, 4) < 1e-6


def test_bookkeeping_cards():
    h = _cd(_base(1001, 799))
    h.update(BZERO=32768, BSCALE=1, BLANK=-32768, DATAMIN=0, DATAMAX=65535,
             CHECKSUM="0000000000000000", DATASUM="0", OBJECT="M 31")
    new = shrink_header(h, 4)
    for key in ("BZERO", "BSCALE", "BLANK", "DATAMIN", "DATAMAX", "CHECKSUM",
                "DATASUM"):
        assert key not in new
    assert (new["BITPIX"], new["NAXIS1"], new["NAXIS2"]) == (-32, 251, 200)
    assert new["OBJECT"] == "M 31"
    assert new["IMSHRINK"] == "Image scaled down 4-fold by fitsmill"
    assert list(new.keys())[:5] == ["SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2"]
    assert h["BITPIX"] == 16 and "BZERO" in h  # the input is not modified


def test_extension_header_becomes_primary_and_cube_becomes_2d():
    h = fits.ImageHDU(np.zeros((3, 40, 30), np.int16)).header
    h.update(CTYPE1="RA---TAN", CTYPE2="DEC--TAN", CRPIX1=15.0, CRPIX2=20.0,
             CDELT1=-0.01, CDELT2=0.01, CRVAL1=10.0, CRVAL2=10.0)
    new = shrink_header(h, 2)
    assert "XTENSION" not in new and "PCOUNT" not in new and "GCOUNT" not in new
    assert list(new.keys())[0] == "SIMPLE"
    assert new["NAXIS"] == 2 and "NAXIS3" not in new
    assert (new["NAXIS1"], new["NAXIS2"]) == (15, 20)


@pytest.mark.parametrize("bad", [0, -2])
def test_bad_factor(bad):
    with pytest.raises(ValueError, match="factor"):
        shrink_header(_cd(_base()), bad)


def test_bad_convention_and_1d():
    with pytest.raises(ValueError, match="convention"):
        shrink_header(_cd(_base()), 2, convention="corner")
    h = fits.Header({"SIMPLE": True, "BITPIX": 16, "NAXIS": 1, "NAXIS1": 10})
    with pytest.raises(ValueError, match="NAXIS = 1"):
        shrink_header(h, 2)


# ------------------------------------------------------------ shrunk files


def _plate(tmp_path, shape=(203, 157)):
    rng = np.random.default_rng(5)
    raw = rng.integers(-32000, 32000, shape, dtype=np.int16)
    raw[10:14, 20:30] = -32768  # BLANK
    hdu = fits.PrimaryHDU(raw)
    hdu.header.update(_sip(_base(shape[1], shape[0])))
    hdu.header["BITPIX"] = 16
    hdu.header.update(BZERO=32768, BSCALE=1.0, BLANK=-32768, OBJECT="plate")
    path = tmp_path / "plate.fits"
    hdu.writeto(path)
    values = raw.astype(np.float64) + 32768
    values[raw == -32768] = np.nan
    return path, values


@pytest.mark.parametrize("factor", [1, 4, 10])
def test_shrink_fits_pixels_wcs_and_validity(tmp_path, factor):
    src, values = _plate(tmp_path)
    dest = tmp_path / "out" / "small.fits"
    assert shrink_fits(src, dest, factor) == str(dest)
    fitsverify(dest)
    with fits.open(dest) as hdus:
        assert len(hdus) == 1 and hdus[0].header["BITPIX"] == -32
        data = hdus[0].data
        expected = block_mean(values, factor)
        assert data.shape == expected.shape
        assert np.allclose(data, expected, rtol=1e-6, equal_nan=True)
        assert hdus[0].header["OBJECT"] == "plate"
        new = hdus[0].header
    old = fits.getheader(src)
    assert _max_offset_in_shrunk_pixels(old, new, factor) < 0.1
    assert dest.stat().st_size % 2880 == 0


def test_iter_scaled_bytes_is_the_file_and_takes_extra_cards(tmp_path):
    src, _ = _plate(tmp_path)
    chunks = list(iterScaledBytes(str(src), 8, {"ORIGIN": ("test", "who made it")}))
    blob = b"".join(chunks)
    assert len(chunks[0]) % 2880 == 0 and len(blob) % 2880 == 0
    assert len(chunks) == 1 + 26 + 1  # header, ceil(203/8) rows, padding
    path = tmp_path / "stream.fits"
    path.write_bytes(blob)
    fitsverify(path)
    assert fits.getheader(path)["ORIGIN"] == "test"
    shrink_fits(src, tmp_path / "file.fits", 8, extra_cards={"ORIGIN": ("test", "who made it")})
    # Only the SIMPLE comment carries a time stamp.
    a, b = fits.getheader(path), fits.getheader(tmp_path / "file.fits")
    assert [c.image for c in a.cards if c.keyword != "SIMPLE"] == \
        [c.image for c in b.cards if c.keyword != "SIMPLE"]
    assert np.array_equal(fits.getdata(path), fits.getdata(tmp_path / "file.fits"))


def test_shrink_extension_cube_plane(tmp_path):
    cube = np.arange(3 * 20 * 30, dtype=np.float32).reshape(3, 20, 30)
    cube[1, :4, :4] = np.nan
    img = fits.ImageHDU(cube, name="SCI")
    img.header.update(CTYPE1="RA---TAN", CTYPE2="DEC--TAN", CRPIX1=15.0, CRPIX2=10.0,
                      CDELT1=-0.01, CDELT2=0.01, CRVAL1=10.0, CRVAL2=10.0)
    fits.HDUList([fits.PrimaryHDU(), img]).writeto(tmp_path / "cube.fits")
    shrink_fits(tmp_path / "cube.fits", tmp_path / "s.fits", 4, ext="SCI", plane=1)
    fitsverify(tmp_path / "s.fits")
    data = fits.getdata(tmp_path / "s.fits")
    assert np.isnan(data[0, 0])
    assert np.allclose(data, block_mean(cube[1], 4), equal_nan=True)


def test_shrink_tile_compressed(tmp_path):
    raw = np.random.default_rng(2).integers(0, 5000, (64, 48)).astype(np.int16)
    comp = fits.CompImageHDU(raw, compression_type="RICE_1")
    comp.header.update(CTYPE1="RA---TAN", CTYPE2="DEC--TAN", CRPIX1=24.0, CRPIX2=32.0,
                       CD1_1=-1e-3, CD2_2=1e-3, CD1_2=0.0, CD2_1=0.0,
                       CRVAL1=1.0, CRVAL2=2.0)
    fits.HDUList([fits.PrimaryHDU(), comp]).writeto(tmp_path / "c.fits.fz")
    shrink_fits(tmp_path / "c.fits.fz", tmp_path / "s.fits", 4)
    fitsverify(tmp_path / "s.fits")
    hdr = fits.getheader(tmp_path / "s.fits")
    assert "ZIMAGE" not in hdr and hdr["NAXIS1"] == 12 and hdr["CD1_1"] == -4e-3
    assert np.allclose(fits.getdata(tmp_path / "s.fits"), block_mean(raw, 4))


def test_failed_shrink_leaves_nothing(tmp_path):
    src, _ = _plate(tmp_path)
    with pytest.raises(KeyError):
        shrink_fits(src, tmp_path / "s.fits", 2, ext=5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plate.fits"]
