"""AnetHeaderProcessor end to end: real astrometry.net solves of synthetic
Tycho-2 plates through the header-processor framework, serial and -j 2.

Oracles: the WCS each plate was rendered with (tests/plates.py), astropy for
the written headers, fitsverify for every written file, a hash of the data.
"""

import shutil

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from common import data_digests, fitsverify, require_program
from plates import BARREL_SIP, make_plate, wcs_discrepancy_px
from fitsmill import api
from fitsmill.anet import AnetHeaderProcessor
from fitsmill.errors import ShellCommandFailed
from fitsmill.processor import procmain

SHAPE = (1000, 1000)

pytestmark = pytest.mark.anet


@pytest.fixture(scope="module", autouse=True)
def _programs():
    for name in ("solve-field", "query-starkd", "source-extractor"):
        require_program(name)


@pytest.fixture(scope="module")
def master(tmp_path_factory):
    """Two solvable plates (one with its own COMMENT/HISTORY and header
    hints, one distorted) and a field of pure noise."""
    d = tmp_path_factory.mktemp("master")
    truths = {
        "a plate.fits": make_plate(str(d / "a plate.fits"), hints=True, seed=11),
        "b'sip.fits": make_plate(str(d / "b'sip.fits"), sip=BARREL_SIP, ra=45.0,
                                 dec=10.0, rotation=80.0, seed=12),
    }
    with fits.open(d / "a plate.fits", mode="update") as hdus:
        hdus[0].header["OBSERVER"] = "E. Hubble"
        hdus[0].header.add_comment("Scanned at 15 um; plate slightly warped")
        hdus[0].header.add_history("Digitized 2024 on an Epson scanner")
        hdus[0].header.add_comment("--")
    rng = np.random.default_rng(13)
    fits.PrimaryHDU(rng.normal(1000, 12, SHAPE).astype(np.int16)).writeto(d / "c noise.fits")
    return d, truths


@pytest.fixture
def archive(master, tmp_path):
    d, truths = master
    for name in list(truths) + ["c noise.fits"]:
        shutil.copyfile(d / name, tmp_path / name)
    return tmp_path, truths


def run(cls, directory, *argv):
    return procmain(cls, sources=[str(directory / "*.fits")], exit=False,
                    argv=["--no-progress", "--no-fsync", *argv])


class Calibrator(AnetHeaderProcessor):
    sp_indices = ["index-tycho2-1*"]
    sp_total_timelimit = 60

    def _mungeHeader(self, srcName, hdr):
        hdr["CALIBRTR"] = ("fitsmill", "who solved this plate")
        return hdr


def check_calibrated(directory, truths, hashes):
    for name, truth in truths.items():
        path = directory / name
        hdr = fits.getheader(path)
        assert hdr["CTYPE1"] == "RA---TAN-SIP" and hdr["CALIBRTR"] == "fitsmill"
        assert wcs_discrepancy_px(truth, WCS(hdr), SHAPE) < 0.5, name
        assert "IMAGEW" not in hdr and "DATE" not in hdr
        history = [str(v) for v in hdr["HISTORY"]]
        assert any(h.startswith("fitsmill: WCS by astrometry.net 0.93") for h in history)
        assert "Created by the Astrometry.net suite." in history
        assert "Git date" not in " ".join(history)
        comments = [str(v) for v in hdr["COMMENT"]]
        assert any(c.startswith("Field scale lower:") for c in comments)
        assert not any(c.startswith(("X col name", "Solved_out")) for c in comments)
        assert data_digests(path) == hashes[name]
        fitsverify(path)


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.slow
def test_calibrates_plates_and_survives_unsolvable(archive, jobs):
    d, truths = archive
    hashes = {name: data_digests(d / name) for name in truths}
    proc = run(Calibrator, d, "--apply", "-j", jobs)
    assert proc.summary.succeeded == 2 and proc.summary.failed == 1
    (source, reason, _), = proc.summary.failures
    assert source.endswith("c noise.fits")
    assert "CannotComputeHeader" in reason or "did not find a solution" in reason
    check_calibrated(d, truths, hashes)
    # the file's own cards are kept, even a bare "--" comment
    hdr = fits.getheader(d / "a plate.fits")
    assert hdr["OBSERVER"] == "E. Hubble"
    assert "Scanned at 15 um; plate slightly warped" in [str(v) for v in hdr["COMMENT"]]
    assert "--" in [str(v) for v in hdr["COMMENT"]]
    assert "Digitized 2024 on an Epson scanner" in [str(v) for v in hdr["HISTORY"]]
    assert "header scale hint 10.8 arcsec/px" in " ".join(str(v) for v in hdr["HISTORY"])
    # done files are recognised: a second run touches nothing
    again = run(Calibrator, d, "--apply")
    assert again.summary.succeeded == 3 - 1 and again.summary.failed == 1
    assert data_digests(d / "a plate.fits") == hashes["a plate.fits"]


class RetryingCalibrator(AnetHeaderProcessor):
    """The DaCHS manual's _runAnet override, verbatim but for the list."""

    sexControl_in = "DETECT_MINAREA %d\nDETECT_THRESH 4"
    tried = []

    def _runAnet(self, srcName):
        for minArea in [20000, 5]:
            self.tried.append(minArea)
            try:
                self.sexControl = self.sexControl_in % minArea
                res = api.AnetHeaderProcessor._runAnet(self, srcName)
                if res is not None:
                    return res
            except ShellCommandFailed:  # Ignore failures
                pass
        raise ShellCommandFailed("No anet parameter worked", None)


@pytest.mark.slow
def test_manual_retry_loop_over_minarea(archive):
    d, truths = archive
    (d / "c noise.fits").unlink()
    (d / "b'sip.fits").unlink()
    RetryingCalibrator.tried = []
    proc = run(RetryingCalibrator, d, "--apply")
    assert proc.summary.succeeded == 1 and proc.summary.failed == 0
    assert proc.tried == [20000, 5]
    hdr = fits.getheader(d / "a plate.fits")
    assert "fitsmill SExtractor" in " ".join(str(v) for v in hdr["HISTORY"])
    assert wcs_discrepancy_px(truths["a plate.fits"], WCS(hdr), SHAPE) < 0.5


@pytest.mark.slow
def test_no_anet_reuses_cached_wcs(archive, tmp_path):
    d, truths = archive
    (d / "c noise.fits").unlink()
    assert run(Calibrator, d).summary.succeeded == 2          # caches only
    name = "a plate.fits"
    cache = fits.getheader(str(d / name) + ".hdr")

    class Recalibrator(Calibrator):
        def _mungeHeader(self, srcName, hdr):
            hdr["CALIBRTR"] = "fitsmill, second pass"
            return hdr

    copies = tmp_path / "copies"
    proc = run(Recalibrator, d, "--no-anet", "--reprocess", "--apply",
               "--copy-to", str(copies))
    assert proc.summary.succeeded == 2
    assert not copies.exists()                                  # nothing solved
    hdr = fits.getheader(d / name)
    assert hdr["CALIBRTR"] == "fitsmill, second pass"
    for key in ("CRVAL1", "CRPIX2", "CD1_1", "A_3_0", "BP_2_1"):
        assert hdr[key] == cache[key]
    assert wcs_discrepancy_px(truths[name], WCS(hdr), SHAPE) < 0.5
    history = [str(v) for v in hdr["HISTORY"]]
    assert len(history) == len(set(history))
    fitsverify(d / name)


def test_no_anet_without_cache_is_a_clear_failure(archive):
    d, _ = archive
    proc = run(Calibrator, d, "--no-anet")
    assert proc.summary.failed == 3
    assert all("no cached header" in reason for _, reason, _ in proc.summary.failures)


@pytest.mark.slow
def test_should_run_anet_false_only_munges(archive):
    d, _ = archive

    class Skipper(Calibrator):
        def _shouldRunAnet(self, srcName, hdr):
            return False

    proc = run(Skipper, d, "--apply")
    assert proc.summary.succeeded == 3
    hdr = fits.getheader(d / "c noise.fits")
    assert hdr["CALIBRTR"] == "fitsmill" and "CTYPE1" not in hdr


def test_filters_keep_own_commentary():
    proc = Calibrator()
    assert proc.commentFilter("Field scale lower: 9 arcsec/pixel")
    assert proc.commentFilter("log odds: 269")
    assert proc.commentFilter("Scanned with X col name unknown")
    assert not proc.commentFilter("X col name: X")
    assert not proc.commentFilter("Solved_out: img.solved")
    assert proc.historyFilter("Created by the Astrometry.net suite.")
    assert proc.historyFilter("Plate developed in D-19")
    assert not proc.historyFilter("Git date Mon_Dec_19_16:41:15_2022_-0500")


def test_api_names_resolve():
    assert api.AnetHeaderProcessor is AnetHeaderProcessor
    assert issubclass(AnetHeaderProcessor, api.HeaderProcessor)
