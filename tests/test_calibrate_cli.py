"""``fitsmill calibrate``: the manual's calibrate.py as a command, run for
real on synthetic Tycho-2 plates (tests/plates.py)."""

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from common import fitsverify, require_program
from plates import make_plate, plate_wcs, wcs_discrepancy_px
from fitsmill.cli import calibrate, main as fitsmill_main

pytestmark = pytest.mark.anet


@pytest.fixture(scope="module", autouse=True)
def _programs():
    for name in ("solve-field", "query-starkd", "source-extractor"):
        require_program(name)


@pytest.mark.slow
def test_calibrate_command(tmp_path, capsys):
    truth = make_plate(str(tmp_path / "plate one.fits"), hints=True, seed=21)
    rng = np.random.default_rng(22)
    fits.PrimaryHDU(rng.normal(900, 10, (600, 600)).astype(np.int16)).writeto(
        tmp_path / "noise.fits")
    sources = [str(tmp_path / "*.fits")]
    copies = tmp_path / "debug"

    status = fitsmill_main(["calibrate", "--no-progress", "--minarea", "7",
                            "--detectthreshold", "5", "--copy-to", str(copies),
                            "-j", "2", *sources])
    out = capsys.readouterr().out
    assert status == 1
    assert "noise.fits: CannotComputeHeader" in out
    control = (copies / "plate one.fits" / "anet.control").read_text()
    assert "DETECT_MINAREA   7\n" in control and "DETECT_THRESH    5\n" in control
    assert (tmp_path / "plate one.fits.hdr").exists()
    assert "CTYPE1" not in fits.getheader(tmp_path / "plate one.fits")

    assert calibrate.main(["--report", "--no-progress", *sources]) == 0
    report = capsys.readouterr().out
    assert "cached" in report and "no cache" in report

    assert calibrate.main(["--apply", "--no-compute", "--no-progress", *sources]) == 0
    hdr = fits.getheader(tmp_path / "plate one.fits")
    assert wcs_discrepancy_px(truth, WCS(hdr), (1000, 1000)) < 0.5
    assert "fitsmill SExtractor" in " ".join(str(v) for v in hdr["HISTORY"])
    fitsverify(tmp_path / "plate one.fits")


def test_calibrate_rejects_bad_settings(tmp_path, capsys):
    assert calibrate.main(["--no-progress", "--minarea", "0", str(tmp_path)]) == 1
    assert "--minarea must be at least 1" in capsys.readouterr().err
    assert calibrate.main(["--no-progress", "--detectthreshold", "-1", str(tmp_path)]) == 1
    assert "--detectthreshold must be positive" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        calibrate.main(["--minarea", "many"])


@pytest.mark.slow
def test_calibration_demo(tmp_path):
    lines = calibrate.calibration_demo(tmp_path / "demo", count=1)
    assert len(lines) == 1 and lines[0].startswith("skyplate001.fits: centre ")
    ra, dec, _, tra, tdec = lines[0].split()[2:7]
    assert float(ra) == pytest.approx(float(tra.lstrip("(")), abs=1e-3)
    assert float(dec) == pytest.approx(float(tdec.rstrip("),")), abs=1e-3)
    # the first plate of write_plate_set: 15, +20, rotated by -40 degrees
    path = tmp_path / "demo" / "skyplate001.fits"
    truth = plate_wcs(15.0, 20.0, 10.8, (800, 800), rotation=-40.0)
    assert wcs_discrepancy_px(truth, WCS(fits.getheader(path)), (800, 800)) < 0.5
    fitsverify(path)
