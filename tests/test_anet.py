"""fitsmill.anet, fitsmill.sandbox, fitsmill.sextractor: real solves with
astrometry.net on synthetic plates of real Tycho-2 stars (tests/plates.py).

The oracle is the WCS each plate was rendered with: a recovered solution
must map every point of the image within 0.5 px of the truth.
"""

import gzip
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from common import require_program
from plates import BARREL_SIP, make_plate, plate_wcs, wcs_discrepancy_px
from fitsmill import anet, sextractor
from fitsmill.errors import NotSolved, ShellCommandFailed
from fitsmill.sandbox import COPY_MARKER, Sandbox

SHAPE = (1000, 1000)

pytestmark = pytest.mark.anet


@pytest.fixture(scope="module", autouse=True)
def _programs():
    for name in ("solve-field", "query-starkd", "image2xy", "source-extractor"):
        require_program(name)


@pytest.fixture(scope="module")
def plates_dir(tmp_path_factory):
    """A TAN plate with header hints and a barrel-distorted plate without."""
    d = tmp_path_factory.mktemp("plates")
    truths = {
        "tan": make_plate(str(d / "tan.fits"), hints=True, seed=1),
        "sip": make_plate(str(d / "sip.fits"), sip=BARREL_SIP, ra=210.0,
                          dec=-20.0, rotation=-35.0, seed=2),
    }
    return d, truths


def _error(truth, solution):
    hdr = solution.astropy_header()
    hdr["NAXIS"] = 2  # solve-field's WCS file is data-less; astropy warns
    return wcs_discrepancy_px(truth, WCS(hdr), SHAPE)


def _leftover_sandboxes(root):
    return [p for p in os.listdir(root) if not p.endswith(".log")]


@pytest.mark.slow
def test_tan_plate_with_header_hints(plates_dir, tmp_path):
    d, truths = plates_dir
    solution = anet.solve(d / "tan.fits", temp_root=tmp_path)
    assert _error(truths["tan"], solution) < 0.5
    text = " ".join(solution.history)
    assert "astrometry.net 0.93" in text and "header scale hint 10.8" in text
    assert "--scale-low" in solution.command and "--ra" in solution.command
    assert _leftover_sandboxes(tmp_path) == []


@pytest.mark.slow
def test_sip_plate_blind_needs_sip(plates_dir, tmp_path):
    d, truths = plates_dir
    solution = anet.solve(d / "sip.fits", temp_root=tmp_path)
    hdr = solution.astropy_header()
    assert hdr["CTYPE1"] == "RA---TAN-SIP" and hdr["A_ORDER"] == 3
    assert _error(truths["sip"], solution) < 0.5
    # the distortion is real: plain TAN misses by several pixels
    tan_only = anet.solve(d / "sip.fits", {"tweak": False}, temp_root=tmp_path)
    assert "A_ORDER" not in tan_only.astropy_header()
    assert _error(truths["sip"], tan_only) > 2.0


@pytest.mark.slow
def test_refine_against_densest_index(tmp_path):
    # this field first solves with a sparse index (index-tycho2-11): about
    # 18 matched stars; the refine pass re-fits with index-tycho2-10
    path = tmp_path / "refine.fits"
    truth = make_plate(str(path), ra=52.0, dec=-27.0, rotation=-27.0, hints=True, seed=1)
    solution = anet.solve(path, temp_root=tmp_path)
    note = solution.history[-1]
    assert note.startswith("refined against index 4110: ")
    after, before = (int(w) for w in note.split() if w.isdigit() and w != "4110")
    assert after > 2 * before
    assert _error(truth, solution) < 0.5
    assert anet._comment_number(solution.wcs_text, "index id") == 4110


@pytest.mark.slow
def test_negative_plate_with_invert(plates_dir, tmp_path):
    d, truths = plates_dir
    negative = tmp_path / "negative.fits"
    with fits.open(d / "tan.fits") as hdus:
        data = 40000 - hdus[0].data.astype(np.int32)
        fits.PrimaryHDU(data.astype(np.uint16), hdus[0].header).writeto(negative)
    with pytest.raises(NotSolved):
        anet.solve(negative, {"refine": False}, temp_root=tmp_path)
    for sex_control in (None, "DETECT_MINAREA 5"):
        solution = anet.solve(negative, {"invert": True}, sex_control=sex_control,
                              temp_root=tmp_path)
        assert _error(truths["tan"], solution) < 0.5
        assert "invert=True" in " ".join(solution.history)


def _manual_object_filter(inName):
    """The manual's objectFilter, on astropy instead of the old pyfits (and a
    narrower border than the manual's 0.3, which leaves too few Tycho-2 stars
    on a 3 degree plate)."""
    hdulist = fits.open(inName)
    data = hdulist[1].data
    width = max(data.field("X_IMAGE"))
    height = max(data.field("Y_IMAGE"))
    badBorder = 0.1
    data = data[data.field("ELONGATION") < 1.2]
    data = data[data.field("X_IMAGE") > width * badBorder]
    data = data[data.field("X_IMAGE") < width - width * badBorder]
    data = data[data.field("Y_IMAGE") > height * badBorder]
    data = data[data.field("Y_IMAGE") < height - height * badBorder]
    hdu = fits.BinTableHDU(data)
    hdu.writeto("foo.xyls")
    hdulist.close()
    os.rename("foo.xyls", inName)


@pytest.mark.slow
def test_sexcontrol_and_object_filter(plates_dir, tmp_path):
    d, truths = plates_dir
    calls = []

    def object_filter(name):
        calls.append(name)
        _manual_object_filter(name)

    solution = anet.solve(
        d / "tan.fits", sex_control="DETECT_MINAREA 5\nDETECT_THRESH 4",
        object_filter=object_filter, temp_root=tmp_path / "root",
        copy_to=tmp_path / "copy")
    assert calls == ["img.axy"]
    assert ("sources: fitsmill SExtractor (DETECT_MINAREA 5, DETECT_THRESH 4)"
            " + objectFilter") in " ".join(solution.history)
    copy = tmp_path / "copy" / "tan.fits"
    table = fits.getdata(copy / "img.axy", 1)
    assert set(sextractor.CATALOG_COLUMNS) <= set(table.columns.names)
    assert 20 < len(table) and np.all(table["ELONGATION"] < 1.2)
    assert np.all(table["X_IMAGE"] > 0.1 * 900) and np.all(table["X_IMAGE"] < 900)
    control = (copy / "anet.control").read_text()
    assert "DETECT_MINAREA   5" in control and "CATALOG_NAME     img.axy" in control
    # the filter kept only the inner 80%: SIP extrapolates to the border
    assert _error(truths["tan"], solution) < 1.0
    assert not (tmp_path / "foo.xyls").exists()


@pytest.mark.slow
def test_solve_field_sextractor_mode(plates_dir, tmp_path):
    d, truths = plates_dir
    solution = anet.solve(d / "tan.fits", sex_control="", temp_root=tmp_path)
    assert "--use-source-extractor" in solution.command
    assert _error(truths["tan"], solution) < 0.5


@pytest.mark.slow
def test_own_xy_list_skips_saturated_and_caps(plates_dir, tmp_path):
    d, truths = plates_dir
    solution = anet.solve(d / "sip.fits", {"skip_brightest": 5, "max_objects": 60},
                          temp_root=tmp_path, copy_to=tmp_path / "copy")
    assert _error(truths["sip"], solution) < 0.5
    table = fits.getdata(tmp_path / "copy" / "sip.fits" / "img.axy", 1)
    assert len(table) == 60
    assert np.all(np.diff(table["FLUX"]) <= 0)
    # image2xy on the plate itself is the oracle: brightest five dropped
    subprocess.run(["image2xy", "-O", "-o", str(tmp_path / "all.xy"),
                    str(d / "sip.fits")], check=True, capture_output=True)
    everything = np.sort(fits.getdata(tmp_path / "all.xy", 1)["FLUX"])[::-1]
    np.testing.assert_allclose(table["FLUX"], everything[5:65])


@pytest.mark.slow
def test_unsolvable_noise_field(tmp_path):
    rng = np.random.default_rng(5)
    path = tmp_path / "noise.fits"
    fits.PrimaryHDU(rng.normal(1000, 12, SHAPE).astype(np.int16)).writeto(path)
    with pytest.raises(NotSolved, match="noise.fits"):
        anet.solve(path, temp_root=tmp_path / "root")
    assert anet.getWCSFieldsFor(str(path), {}) is None
    assert _leftover_sandboxes(tmp_path / "root") == []


def _processes_mentioning(text):
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if text in _cmdline(pid) or text in cwd:
            found.append(pid)
    return found


@pytest.mark.slow
def test_wall_clock_limit_kills_runaway_solve(plates_dir, tmp_path):
    d, _ = plates_dir
    root = tmp_path / "root"
    # a scale range that excludes the true one keeps the solver searching
    # far past its (loose) CPU limit
    params = {"lower_pix": 30, "upper_pix": 40, "header_hints": False,
              "total_timelimit": 600, "wall_timelimit": 3}
    with pytest.raises(ShellCommandFailed, match="did not finish within 3 s") as info:
        anet.solve(d / "tan.fits", params, temp_root=root)
    assert info.value.returncode is None
    assert info.value.command[0].endswith("solve-field")
    with open(info.value.log_path) as f:
        log = f.read()
    assert "Now running: " in log and "killed after 3 s" in log
    assert _processes_mentioning(str(root)) == []
    assert _leftover_sandboxes(root) == []


@pytest.mark.slow
def test_ctrl_c_kills_solver_and_cleans_up(plates_dir, tmp_path):
    d, _ = plates_dir
    root = tmp_path / "root"
    script = (
        "import sys\n"
        "from fitsmill import anet\n"
        "anet.solve(sys.argv[1], {'lower_pix': 30, 'upper_pix': 40,"
        " 'header_hints': False}, temp_root=sys.argv[2])\n")
    child = subprocess.Popen([sys.executable, "-c", script, str(d / "tan.fits"), str(root)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        # wait (generously) until the solver itself runs in the sandbox
        for _ in range(600):
            if any("solve-field" in _cmdline(pid) for pid in _processes_mentioning(str(root))):
                break
            time.sleep(0.1)
        else:
            pytest.fail("solve-field never started")
        child.send_signal(signal.SIGINT)
        output = child.communicate(timeout=120)[0].decode()
    finally:
        child.kill()
    assert "KeyboardInterrupt" in output
    assert _processes_mentioning(str(root)) == []
    assert os.listdir(root) == []


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


@pytest.mark.slow
def test_copy_to_holds_sandbox_and_replaces_only_copies(plates_dir, tmp_path):
    d, _ = plates_dir
    dest = tmp_path / "debug"
    fast = {"refine": False}
    anet.solve(d / "tan.fits", fast, copy_to=dest, temp_root=tmp_path / "root")
    copy = dest / "tan.fits"
    for name in ("img.fits", "backend.cfg", "img.axy", "lastCommand.log", COPY_MARKER):
        assert (copy / name).is_file(), name
    assert not (copy / "img.fits").is_symlink()
    assert (copy / "img.fits").read_bytes() == (d / "tan.fits").read_bytes()
    assert "Now running: " in (copy / "lastCommand.log").read_text()
    assert "autoindex" in (copy / "backend.cfg").read_text()
    # a later copy replaces the earlier one
    (copy / "stale").write_text("x")
    anet.solve(d / "tan.fits", fast, copy_to=dest, temp_root=tmp_path / "root")
    assert not (copy / "stale").exists()
    # but never a directory that is not a sandbox copy
    (copy / COPY_MARKER).unlink()
    (copy / "precious").write_text("keep")
    with pytest.raises(FileExistsError, match="not a sandbox copy"):
        anet.solve(d / "tan.fits", fast, copy_to=dest, temp_root=tmp_path / "root")
    assert (copy / "precious").read_text() == "keep"


@pytest.mark.slow
def test_awkward_name_and_compressed_inputs(plates_dir, tmp_path):
    d, truths = plates_dir
    fast = {"refine": False}
    odd = tmp_path / "plate 'one'; rm -rf x.fits"
    shutil.copyfile(d / "tan.fits", odd)
    assert _error(truths["tan"], anet.solve(odd, fast, temp_root=tmp_path / "r")) < 0.5
    gz = tmp_path / "my plate.fits.gz"
    with open(d / "tan.fits", "rb") as fin, gzip.open(gz, "wb") as fout:
        shutil.copyfileobj(fin, fout)
    assert _error(truths["tan"], anet.solve(gz, fast, temp_root=tmp_path / "r")) < 0.5
    fz = tmp_path / "plate.fits.fz"
    data = fits.getdata(d / "tan.fits")
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data, fits.getheader(d / "tan.fits"))]
                 ).writeto(fz)
    assert _error(truths["tan"], anet.solve(fz, fast, temp_root=tmp_path / "r")) < 0.5
    disguised = tmp_path / "compressed.fits"
    shutil.copyfile(fz, disguised)
    assert _error(truths["tan"], anet.solve(disguised, fast, temp_root=tmp_path / "r")) < 0.5


# ---------------------------------------------------------------- no solving

def test_backend_config_from_indices(tmp_path):
    cfg = tmp_path / "backend.cfg"
    anet.write_backend_config(cfg, ["index-tycho2-1[01]"], anet.DEFAULT_INDEX_DIR)
    lines = cfg.read_text().splitlines()
    assert lines[0] == "add_path " + anet.DEFAULT_INDEX_DIR
    assert lines[1:3] == [f"index {anet.DEFAULT_INDEX_DIR}/index-tycho2-1{i}.littleendian.fits"
                          for i in (0, 1)]
    assert lines[-1] == "inparallel"
    anet.write_backend_config(cfg, ["index-tycho2-12"], anet.DEFAULT_INDEX_DIR)
    assert "index-tycho2-12.littleendian.fits" in cfg.read_text()
    with pytest.raises(ValueError, match="matches no index"):
        anet.write_backend_config(cfg, ["index-4215"], anet.DEFAULT_INDEX_DIR)


def test_solver_parameters_inherited_and_checked():
    class Base:
        sp_endob = 50
        sp_indices = ["index-tycho2-1*"]

    class Child(Base):
        sp_lower_pix = 0.1

    params = anet.SolverParameters(anet.solver_parameters(Child()))
    assert params["endob"] == 50 and params["lower_pix"] == 0.1
    assert params["total_timelimit"] == 600 and params["tweak_order"] == 3
    assert params.wall_limit == 660
    # the manual's stray comma: sp_indices = ["index-4215"],
    assert anet.SolverParameters({"indices": (["a*", "b"],)})["indices"] == ["a*", "b"]
    with pytest.raises(ValueError, match="sp_endob"):
        anet.SolverParameters({"endob": 0})
    with pytest.warns(UserWarning, match="sp_lower_pixel"):
        anet.SolverParameters({"lower_pixel": 1})


@pytest.mark.parametrize("cards, expected", [
    ({"PLTSCALE": 720.0, "PIXSIZE1": 15.0}, 10.8),
    ({"PLTSCALE": 60.0, "SCANRES1": 1270}, 1.2),
    ({"CDELT1": -0.0003}, 1.08),
    ({"CD1_1": 0.0, "CD1_2": 0.001, "CD2_1": 0.001, "CD2_2": 0.0}, 3.6),
    ({"OBJECT": "M31"}, None),
])
def test_scale_hint(cards, expected):
    assert anet.scale_hint(cards) == pytest.approx(expected)


@pytest.mark.parametrize("cards, expected", [
    ({"RA_DEG": 10.5, "DEC_DEG": -3.25, "RA": "junk", "DEC": "junk"}, (10.5, -3.25)),
    ({"RA": "01:30:00", "DEC": "-05:30:00"}, (22.5, -5.5)),
    ({"RA": "01 30 00.0", "DEC": "+05 30 00"}, (22.5, 5.5)),
    ({"RA": 150.0, "DEC": 30.0}, (150.0, 30.0)),
    ({"RA": "nowhere", "DEC": "x"}, None),
    ({"CTYPE1": "RA---TAN", "CRVAL1": 12.0, "CRVAL2": 34.0}, (12.0, 34.0)),
    ({"CTYPE1": "GLON-TAN", "CRVAL1": 12.0, "CRVAL2": 34.0}, None),
])
def test_position_hint(cards, expected):
    got = anet.position_hint(cards)
    assert got == (None if expected is None else pytest.approx(expected))


def test_sextractor_files():
    control = sextractor.control_text("DETECT_MINAREA 300\nMEMORY_OBJSTACK 9999",
                                      (20000, 20000))
    settings = dict(line.split(None, 1) for line in control.splitlines())
    assert settings["DETECT_MINAREA"] == "300"
    assert settings["MEMORY_OBJSTACK"] == "9999"
    assert int(settings["MEMORY_PIXSTACK"]) == 20000 * 20000 // 32
    assert int(sextractor.control_text("", (100, 100)).split(
        "MEMORY_PIXSTACK")[1].split()[0]) == 300000
    with pytest.raises(ValueError, match="CATALOG_NAME"):
        sextractor.control_text("CATALOG_NAME other.cat", (10, 10))
    rows = sextractor.filter_text(2.0, 5).splitlines()
    assert rows[0] == "CONV NORM"
    kernel = np.array([[float(v) for v in r.split()] for r in rows[2:]])
    y, x = np.mgrid[-2:3, -2:3]
    sigma = 2.0 / (2 * np.sqrt(2 * np.log(2)))
    np.testing.assert_allclose(kernel, np.exp(-(x ** 2 + y ** 2) / (2 * sigma ** 2)),
                               atol=1e-6)


def test_failing_program_reports_status_command_and_log(plates_dir, tmp_path):
    d, _ = plates_dir
    with pytest.raises(ShellCommandFailed) as info:
        anet.solve(d / "tan.fits", sex_control="SATUR_LEVEL 1e40",
                   temp_root=tmp_path)
    err = info.value
    assert err.returncode == 1 and "SATUR_LEVEL" in str(err)
    assert os.path.basename(err.command[0]) in ("source-extractor", "sex", "sextractor")
    assert err.command[1:] == ["-c", "anet.control", "img.fits"]
    assert str(err.log_path) in str(err)
    with open(err.log_path) as f:
        assert f.read().startswith("Now running: ")


def test_sandbox_is_private_and_removed(tmp_path):
    src = tmp_path / "a b.fits"
    src.write_bytes(b"x")
    with Sandbox(src, temp_root=tmp_path / "root") as box:
        assert os.stat(box.dir).st_mode & 0o777 == 0o700
        fed = box.feed()
        assert os.path.realpath(fed) == str(src)
        box.run(["sh", "-c", 'echo "$0"', "it's; fine"])
        with open(box.path("lastCommand.log")) as f:
            assert "it's; fine\n" in f.read()
    assert not os.path.exists(box.dir)


def test_sip_sanity_check():
    good = plate_wcs(150, 30, 10.8, SHAPE, sip=BARREL_SIP).to_header(relax=True)
    assert anet._sip_is_sane(good.tostring(), SHAPE)
    wild = dict(BARREL_SIP, A_3_0=5e-5)
    bad = plate_wcs(150, 30, 10.8, SHAPE, sip=wild).to_header(relax=True)
    assert not anet._sip_is_sane(bad.tostring(), SHAPE)
