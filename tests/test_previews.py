"""Preview naming (DaCHS's macros) and the PreviewMaker processor."""

import base64
import os

import pytest
from hypothesis import given, settings, strategies as st

from fitsmill.naming import (NamingPolicy, accref_from_flat_name, flat_name,
                             split_preview_path, standard_preview_path,
                             validate_accref)


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

import io  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

from PIL import Image  # noqa: E402

from fitsmill import api  # noqa: E402
from fitsmill.previews import PreviewMaker  # noqa: E402

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
    capsys.readouterr()
    report = _run(ManualPILPreviewMaker, inputs, "--report")
    assert CALLS == []
    assert {k: sorted(v) for k, v in report.reportDict.items()} == {
        "with": ["im1.png", "im3.png"], "stale": ["im2.png"], "without": ["im0.png"]}
    assert "stale" in capsys.readouterr().out

    _run(ManualPILPreviewMaker, inputs)
    assert sorted(CALLS) == sorted([accrefs[0], accrefs[2]])
    CALLS.clear()
    _run(ManualPILPreviewMaker, inputs, "--force")
    assert sorted(CALLS) == sorted(accrefs)


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
