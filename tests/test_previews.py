"""Preview naming (DaCHS's macros) and the PreviewMaker processor."""

import base64
import io
import math
import os
import subprocess
import sys

import numpy
import pytest
from astropy.io import fits
from hypothesis import given, settings, strategies as st
from PIL import Image

from fitsmill import api
from fitsmill.cli import main as fitsmill_main
from fitsmill.imaging import PreviewStyle, render
from fitsmill.naming import (NamingPolicy, accref_from_flat_name, flat_name,
                             split_preview_path, standard_preview_path,
                             validate_accref)
from fitsmill.previews import PreviewMaker

from reference import block_mean


def test_standard_name_matches_dachs_test():
    # tests/grammartest.py testStandardPreviewPath in DaCHS.
    assert flat_name("data/a.imp") == "ZGF0YS9hLmltcA=="
    assert flat_name("data/b.imp") == "ZGF0YS9iLmltcA=="
    assert standard_preview_path("data/a.imp", "prefoo") == "prefoo/ZGF0YS9hLmltcA=="


def test_standard_name_uses_dollar_and_bang():
    # ">>>" encodes to "Pj4+" and "???" to "Pz8/" in standard base64.
    assert flat_name("a>>>") == base64.b64encode(b"a>>>").decode().replace("+", "$")
    assert "!" in flat_name("x???") and "/" not in flat_name("x???")


_accref_chars = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\")
_components = st.text(_accref_chars, min_size=1, max_size=12).filter(
    lambda s: s != ".." and s.isprintable())


@settings(derandomize=True, max_examples=200, database=None)
@given(st.lists(_components, min_size=1, max_size=4))
def test_flat_name_round_trip(parts):
    accref = "/".join(parts)
    name = flat_name(accref)
    assert "/" not in name and "+" not in name
    assert accref_from_flat_name(name) == accref


def test_atomic_write_long_names_and_failing_generators(tmp_path):
    from fitsmill.atomic import atomic_write
    long_name = tmp_path / ("x" * 250)
    atomic_write(long_name, [b"a", b"b"], fsync=True)
    assert long_name.read_bytes() == b"ab"

    def broken():
        yield b"partial"
        raise RuntimeError("source went away")

    with pytest.raises(RuntimeError):
        atomic_write(tmp_path / "new" / "f", broken())
    with pytest.raises(RuntimeError):
        atomic_write(long_name, broken())
    assert long_name.read_bytes() == b"ab"  # the old content survives
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["new", "x" * 250]


def test_split_mirrors_the_tree():
    assert split_preview_path("data/x/a.fits", "/p", ".jpeg") == "/p/data/x/a.fits.jpeg"
    policy = NamingPolicy("split:.png")
    assert policy.preview_path("a/b.fits", "/p") == "/p/a/b.fits.png"
    assert policy.accref_for("/p/a/b.fits.png", "/p") == "a/b.fits"
    assert policy.accref_for("/p/a/b.fits.jpeg", "/p") is None
    assert policy.accref_for("/p/a/.b.fits.png.x1.tmp", "/p") is None
    assert str(policy) == "split:.png"


def test_standard_policy_inverse_ignores_strays():
    policy = NamingPolicy("standard")
    assert policy.accref_for("/p/ZGF0YS9hLmltcA==", "/p") == "data/a.imp"
    for stray in ("/p/README", "/p/.ZGF0YS9hLmltcA==.abc.tmp", "/p/sub/ZGF0YS9hLmltcA=="):
        assert policy.accref_for(stray, "/p") is None


@pytest.mark.parametrize("bad", ["", "/etc/passwd", "../x", "a/../../x", "a/..",
                                 "a\0b", "a\\..\\..\\x"])
def test_escaping_accrefs_refused(bad):
    with pytest.raises(ValueError):
        validate_accref(bad)
    with pytest.raises(ValueError):
        split_preview_path(bad, "/p", ".png")
    with pytest.raises(ValueError):
        flat_name(bad)


@pytest.mark.parametrize("spec", ["split", "standard:.png", "flat", "split:a/b"])
def test_bad_naming_specs(spec):
    with pytest.raises(ValueError, match="naming|extension"):
        NamingPolicy(spec)


# ---------------------------------------------------------------- PreviewMaker


CALLS = []


class ManualPILPreviewMaker(api.PreviewMaker):
    """The DaCHS manual's PIL example, with io.BytesIO for cStringIO."""

    def getPreviewData(self, accref):
        CALLS.append(accref)
        srcName = os.path.join(api.getConfig("inputsDir"), accref)
        im = Image.open(srcName)
        scale = max(im.size) / 200.
        resized = im.resize((int(im.size[0] / scale), int(im.size[1] / scale)))
        rendered = io.BytesIO()
        resized.save(rendered, format="jpeg")
        return rendered.getvalue()


def _png_sources(inputs, n=4):
    (inputs / "data" / "sub").mkdir(parents=True, exist_ok=True)
    accrefs = []
    for k in range(n):
        accref = f"data/{'sub/' if k % 2 else ''}im{k}.png"
        Image.new("L", (400, 100 + 100 * k), 40 * k).save(inputs / accref)
        accrefs.append(accref)
    return accrefs


def _run(cls, inputs, *argv, **kwargs):
    kwargs.setdefault("sources", [str(inputs / "data" / "**" / "*.png")])
    kwargs.setdefault("properties", {"previewDir": "previews"})
    return api.procmain(cls, inputs_dir=str(inputs), argv=["--no-progress", *argv],
                        exit=False, **kwargs)


def test_manual_pil_example_standard_names(tmp_path):
    inputs = tmp_path / "inputs"
    accrefs = _png_sources(inputs)
    CALLS.clear()
    proc = _run(ManualPILPreviewMaker, inputs)
    assert proc.exit_status == 0 and proc.summary.succeeded == 4
    assert sorted(CALLS) == sorted(accrefs)
    assert proc.previewDir == str(inputs / "previews")
    for k, accref in enumerate(accrefs):
        with Image.open(inputs / "previews" / flat_name(accref)) as im:
            assert im.format == "JPEG"
            assert im.size == (200, int((100 + 100 * k) / 2))
    assert sorted(os.listdir(inputs / "previews")) == sorted(map(flat_name, accrefs))


def test_up_to_date_stale_force_and_report(tmp_path, capsys):
    inputs = tmp_path / "inputs"
    accrefs = _png_sources(inputs)
    _run(ManualPILPreviewMaker, inputs)
    CALLS.clear()
    again = _run(ManualPILPreviewMaker, inputs)
    assert CALLS == [] and again.summary.skipped == 4 and again.exit_status == 0

    stale = inputs / accrefs[2]
    preview = inputs / "previews" / flat_name(accrefs[2])
    os.utime(preview, ns=(10**18, 10**18))
    os.utime(stale, ns=(10**18 + 1, 10**18 + 1))
    (inputs / "previews" / flat_name(accrefs[0])).unlink()
    # An empty preview (a crash before its data reached the disk) is missing.
    (inputs / "previews" / flat_name(accrefs[3])).write_bytes(b"")
    capsys.readouterr()
    report = _run(ManualPILPreviewMaker, inputs, "--report")
    assert CALLS == []
    assert {k: sorted(v) for k, v in report.reportDict.items()} == {
        "with": ["im1.png"], "stale": ["im2.png"], "without": ["im0.png", "im3.png"]}
    assert "stale" in capsys.readouterr().out

    _run(ManualPILPreviewMaker, inputs, "--fsync")
    assert sorted(CALLS) == sorted([accrefs[0], accrefs[2], accrefs[3]])
    CALLS.clear()
    _run(ManualPILPreviewMaker, inputs, "--force")
    assert sorted(CALLS) == sorted(accrefs)
    assert not [p for p in (inputs / "previews").iterdir() if p.name.startswith(".")]


def test_split_naming_dirs_and_rd(tmp_path):
    inputs = tmp_path / "inputs"
    _png_sources(inputs)
    (inputs / "res").mkdir()
    (inputs / "res" / "q.rd").write_text(
        '<resource schema="x" resdir="."><data id="import">'
        '<property key="previewDir">res/prev</property>'
        '<sources pattern="data/*.png" recurse="True"/></data></resource>')
    proc = api.procmain(ManualPILPreviewMaker, "res/q", "import", exit=False,
                        argv=["--no-progress", "--inputs-dir", str(inputs),
                              "--naming", "split:.jpeg"])
    assert proc.exit_status == 0 and proc.summary.succeeded == 4
    made = sorted(str(p.relative_to(inputs / "res" / "prev"))
                  for p in (inputs / "res" / "prev").rglob("*") if p.is_file())
    assert made == ["data/im0.png.jpeg", "data/im2.png.jpeg",
                    "data/sub/im1.png.jpeg", "data/sub/im3.png.jpeg"]


class EscapingPreviewMaker(ManualPILPreviewMaker):
    def iterIdentifiers(self):
        yield from ["data/im0.png", "../outside.png", "/etc/passwd"]


def test_escaping_accrefs_fail_and_write_nothing_outside(tmp_path):
    inputs = tmp_path / "inputs"
    _png_sources(inputs, 1)
    (inputs / "outside.png").write_bytes(b"")
    proc = _run(EscapingPreviewMaker, inputs, "--naming", "split:.jpeg")
    assert proc.summary.succeeded == 1 and proc.summary.failed == 2
    assert proc.exit_status == 1
    assert not (inputs / "outside.png.jpeg").exists()
    assert sorted(p.name for p in tmp_path.rglob("*.jpeg")) == ["im0.png.jpeg"]


class FailingPreviewMaker(PreviewMaker):
    def getPreviewData(self, accref):
        if accref.endswith("im1.png"):
            raise RuntimeError("broken source")
        if accref.endswith("im2.png"):
            return "not bytes"
        return b"\x89PNG fake"


def test_failures_leave_no_partial_files(tmp_path):
    inputs = tmp_path / "inputs"
    _png_sources(inputs)
    proc = _run(FailingPreviewMaker, inputs)
    assert proc.summary.failed == 2 and proc.summary.succeeded == 2
    assert sorted(os.listdir(inputs / "previews")) == sorted(
        [flat_name("data/im0.png"), flat_name("data/sub/im3.png")])


def test_missing_preview_dir_is_a_clear_error(tmp_path, capsys):
    inputs = tmp_path / "inputs"
    _png_sources(inputs, 1)
    from fitsmill.processor import run_cli
    status = run_cli(ManualPILPreviewMaker, ["--no-progress", "--inputs-dir", str(inputs),
                                             str(inputs / "data" / "im0.png")])
    assert status == 1
    assert "no preview directory" in capsys.readouterr().err


def test_parallel_run_gives_identical_previews(tmp_path):
    inputs = tmp_path / "inputs"
    _png_sources(inputs, 6)
    _run(ManualPILPreviewMaker, inputs, "--preview-dir", str(tmp_path / "serial"))
    proc = _run(ManualPILPreviewMaker, inputs, "-j", "2", "--preview-dir",
                str(tmp_path / "par"))
    assert proc.exit_status == 0 and proc.summary.succeeded == 6
    names = sorted(os.listdir(tmp_path / "serial"))
    assert names == sorted(os.listdir(tmp_path / "par")) and len(names) == 6
    for name in names:
        assert (tmp_path / "serial" / name).read_bytes() == (tmp_path / "par" / name).read_bytes()


def test_modes_follow_the_umask(tmp_path):
    # In a subprocess: the umask is process-wide state.
    inputs = tmp_path / "inputs"
    _png_sources(inputs, 2)
    code = (
        "import os, sys; os.umask(0o027); sys.path.insert(0, sys.argv[1]);"
        "import test_previews as t, pathlib;"
        "t._run(t.ManualPILPreviewMaker, pathlib.Path(sys.argv[2]), '--naming', 'split:.jpg')")
    subprocess.run([sys.executable, "-c", code, os.path.dirname(__file__), str(inputs)],
                   check=True, capture_output=True)
    preview = inputs / "previews" / "data" / "sub" / "im1.png.jpg"
    assert preview.stat().st_mode & 0o777 == 0o640
    assert (inputs / "previews" / "data" / "sub").stat().st_mode & 0o777 == 0o750


# ----------------------------------------------------- FITS previews, CLI


PREVIEW_SIZE = 200


class ManualFITSPreviewMaker(api.PreviewMaker):
    """The DaCHS manual's FITS example (binary mode: Python 3 needs it)."""

    def getPreviewData(self, srcName):
        with open(os.path.join(api.getConfig("inputsDir"), srcName), "rb") as inFile:
            pixels = numpy.array([row
                                  for row in api.fitstools.iterScaledRows(
                                      inFile, destSize=PREVIEW_SIZE)])
        return api.imgtools.jpegFromNumpyArray(pixels)


def _getArrayFor(srcName, extInd):
    return numpy.array(list(
        api.fitstools.iterScaledRows(srcName, destSize=200, extInd=extInd)))


class ManualColourPreviewMaker(api.PreviewMaker):
    """The manual's colour example (bands 1, 2, 1 as printed there)."""

    def getPreviewData(self, srcName):
        srcName = os.path.join(api.getConfig("inputsDir"), srcName)
        return api.imgtools.colorJpegFromNumpyArrays(
            _getArrayFor(srcName, 1), _getArrayFor(srcName, 2), _getArrayFor(srcName, 1))


def _fits_sources(inputs, shapes=((300, 500), (64, 64), (1000, 210))):
    (inputs / "plates").mkdir(parents=True, exist_ok=True)
    rng = numpy.random.default_rng(11)
    arrays = {}
    for k, shape in enumerate(shapes):
        yy, xx = numpy.mgrid[:shape[0], :shape[1]]
        data = (1000 + 20 * xx + 5 * yy + rng.normal(0, 30, shape)).astype(numpy.int16)
        accref = f"plates/p{k}.fits"
        hdu = fits.PrimaryHDU(data)
        hdu.header.update(BZERO=32768, OBJECT=f"field {k}")
        hdu.writeto(inputs / accref)
        arrays[accref] = data.astype(numpy.float64) + 32768
    return arrays


def _rgb_source(inputs):
    (inputs / "colour").mkdir(parents=True, exist_ok=True)
    yy, xx = numpy.mgrid[:120, :90]
    bands = [xx.astype(numpy.float32), yy.astype(numpy.float32), (xx + yy).astype(numpy.float32)]
    hdus = [fits.PrimaryHDU()] + [fits.ImageHDU(b, name=n) for b, n in zip(bands, "RGB")]
    fits.HDUList(hdus).writeto(inputs / "colour" / "rgb.fits")
    return bands


def _reference_preview(values, size, style):
    """Block means in NumPy (factor = ceil(max side / size)), then render."""
    factor = math.ceil(max(values.shape) / size)
    return render(block_mean(values, factor), style)


def _decode(path_or_bytes):
    if isinstance(path_or_bytes, bytes):
        path_or_bytes = io.BytesIO(path_or_bytes)
    with Image.open(path_or_bytes) as im:
        return im.format, numpy.asarray(im).astype(int)


def test_manual_fits_example(tmp_path):
    inputs = tmp_path / "inputs"
    arrays = _fits_sources(inputs)
    proc = _run(ManualFITSPreviewMaker, inputs, sources=[str(inputs / "plates" / "*.fits")])
    assert proc.exit_status == 0 and proc.summary.succeeded == 3
    for accref, values in arrays.items():
        fmt, pixels = _decode(str(inputs / "previews" / flat_name(accref)))
        factor = max(values.shape) // PREVIEW_SIZE + 1  # DaCHS's rule
        assert fmt == "JPEG"
        assert pixels.shape == (values.shape[0] // factor, values.shape[1] // factor)


def test_manual_colour_example(tmp_path):
    inputs = tmp_path / "inputs"
    _rgb_source(inputs)
    proc = _run(ManualColourPreviewMaker, inputs, sources=[str(inputs / "colour" / "rgb.fits")])
    assert proc.exit_status == 0
    with Image.open(inputs / "previews" / flat_name("colour/rgb.fits")) as im:
        assert (im.format, im.mode, im.size) == ("JPEG", "RGB", (90, 120))
        px = numpy.asarray(im).astype(int)
    # Red is band 1 (x), green band 2 (y; FITS row 0 is the picture's bottom).
    assert px[60, -1, 0] > px[60, 0, 0] + 150
    assert px[0, 45, 1] > px[-1, 45, 1] + 150


def test_cli_previews_match_reference_rendering(tmp_path):
    inputs = tmp_path / "inputs"
    arrays = _fits_sources(inputs)
    argv = ["previews", "--no-progress", "--inputs-dir", str(inputs), "--preview-dir",
            str(tmp_path / "prev"), "--naming", "split:.png", "--format", "png",
            "--limits", "minmax", "--invert", "--size", "100", str(inputs / "plates" / "*.fits")]
    assert fitsmill_main(argv) == 0
    style = PreviewStyle(format="png", limits="minmax", invert=True)
    for accref, values in arrays.items():
        fmt, got = _decode(str(tmp_path / "prev" / (accref + ".png")))
        _, want = _decode(_reference_preview(values, 100, style))
        assert fmt == "PNG" and got.shape == want.shape and max(got.shape) <= 100
        assert numpy.abs(got - want).max() <= 1
    # The gradient rises to the right; inverted, the right edge is dark.
    _, p0 = _decode(str(tmp_path / "prev" / "plates" / "p0.fits.png"))
    assert p0[:, -1].mean() < 30 and p0[:, 0].mean() > 225


def test_cli_rgb_parallel_report_and_rd(tmp_path, capsys):
    inputs = tmp_path / "inputs"
    _fits_sources(inputs)
    _rgb_source(inputs)
    (inputs / "q.rd").write_text(
        '<resource schema="x"><data id="import">'
        '<property key="previewDir">prev</property>'
        '<sources pattern="plates/*.fits"/></data></resource>')
    base = ["previews", "--no-progress", "--inputs-dir", str(inputs)]
    assert fitsmill_main(base + ["--rd", "q", "--dd", "import"]) == 0
    serial = {p.name: p.read_bytes() for p in (inputs / "prev").iterdir()}
    assert sorted(serial) == sorted(flat_name(f"plates/p{k}.fits") for k in range(3))
    assert fitsmill_main(base + ["--rd", "q", "--dd", "import", "-j", "2",
                                 "--preview-dir", str(tmp_path / "par")]) == 0
    assert {p.name: p.read_bytes() for p in (tmp_path / "par").iterdir()} == serial
    capsys.readouterr()
    assert fitsmill_main(base + ["--rd", "q", "--dd", "import", "--report"]) == 0
    assert "3  with" in capsys.readouterr().out

    assert fitsmill_main(base + ["--preview-dir", str(tmp_path / "c"), "--rgb", "R,G,B",
                                 "--rgb-method", "per-band",
                                 str(inputs / "colour" / "rgb.fits")]) == 0
    with Image.open(tmp_path / "c" / flat_name("colour/rgb.fits")) as im:
        assert (im.mode, im.size) == ("RGB", (90, 120))


def test_cli_failures_and_usage(tmp_path, capsys):
    inputs = tmp_path / "inputs"
    _fits_sources(inputs, shapes=((20, 30),))
    (inputs / "plates" / "broken.fits").write_bytes(b"SIMPLE  = nonsense" + b" " * 100)
    argv = ["previews", "--no-progress", "--inputs-dir", str(inputs), "--preview-dir",
            str(tmp_path / "prev"), str(inputs / "plates" / "*.fits")]
    assert fitsmill_main(argv) == 1
    out = capsys.readouterr().out
    assert "plates/broken.fits" in out and "failed: 1" in out
    assert fitsmill_main(["previews", "--rd", "q"]) == 2
    assert "--rd and --dd" in capsys.readouterr().err
    assert fitsmill_main(argv[:-1] + ["--naming", "bogus", str(inputs / "plates" / "p0.fits")]) == 1
    assert "unknown naming policy" in capsys.readouterr().err
    assert fitsmill_main(argv[:-1] + ["--rgb", "1,2", str(inputs / "plates" / "p0.fits")]) == 1


class OwnPathPreviewMaker(ManualPILPreviewMaker):
    """A naming scheme of its own: no preview directory needed."""

    def getPreviewPath(self, accref):
        return os.path.join(self.inputsDir, "thumbs", accref.replace("/", "__") + ".jpg")


class OwnDirPreviewMaker(ManualPILPreviewMaker):
    """Sets previewDir itself, as DaCHS's own _createAuxiliaries did."""

    def _createAuxiliaries(self, dd):
        self.previewDir = os.path.join(self.inputsDir, "mine")


def test_preview_dir_set_in_create_auxiliaries(tmp_path):
    inputs = tmp_path / "inputs"
    _png_sources(inputs, 1)
    proc = _run(OwnDirPreviewMaker, inputs, properties={})
    assert proc.exit_status == 0
    assert os.listdir(inputs / "mine") == [flat_name("data/im0.png")]


def test_get_preview_path_override_needs_no_preview_dir(tmp_path):
    inputs = tmp_path / "inputs"
    _png_sources(inputs, 2)
    proc = _run(OwnPathPreviewMaker, inputs, properties={})
    assert proc.exit_status == 0 and proc.summary.succeeded == 2
    assert sorted(os.listdir(inputs / "thumbs")) == ["data__im0.png.jpg",
                                                    "data__sub__im1.png.jpg"]


def test_cli_ext_stretch_quality_match_reference(tmp_path):
    inputs = tmp_path / "inputs"
    bands = _rgb_source(inputs)
    def argv(quality):
        return ["previews", "--no-progress", "--inputs-dir", str(inputs), "--preview-dir",
                str(tmp_path / "p"), "--ext", "G", "--stretch", "asinh", "--quality",
                quality, "--size", "50", "--force", str(inputs / "colour" / "rgb.fits")]

    assert fitsmill_main(argv("60")) == 0
    got = (tmp_path / "p" / flat_name("colour/rgb.fits")).read_bytes()
    style = PreviewStyle(stretch="asinh", quality=60)
    fmt, pixels = _decode(got)
    _, want = _decode(_reference_preview(bands[1].astype(numpy.float64), 50, style))
    assert fmt == "JPEG" and pixels.shape == want.shape == (40, 30)
    assert numpy.abs(pixels - want).max() <= 2
    # The quality option reaches the encoder: a lower quality, fewer bytes.
    assert fitsmill_main(argv("5")) == 0
    assert len((tmp_path / "p" / flat_name("colour/rgb.fits")).read_bytes()) < len(got)


@pytest.mark.parametrize("argv", [["--format", "png", "--naming", "split:.jpg"],
                                  ["--naming", "split:.JPEG", "--spectra"],
                                  ["--naming", "split:.png"]])
def test_split_extension_must_match_the_format(tmp_path, capsys, argv):
    from fitsmill.cli import previews as cli
    status = cli.main(["--inputs-dir", str(tmp_path), "--preview-dir",
                       str(tmp_path / "p"), "--no-progress", *argv, str(tmp_path / "*.fits")])
    err = capsys.readouterr().err
    assert status != 0 and "--naming split:" in err and "images; name them" in err
