"""Source expansion: DaCHS RD <sources> (order, recurse, ignore rules,
symlink cycles), RD parsing and errors, command-line path sources."""

import os
import textwrap

import pytest

from fitsmill import config
from fitsmill.sources import (IgnoreSpec, PathSources, PropertyNotFound, RDError,
                              SourceSpec, load_rd, relative_to_inputs)


@pytest.fixture(autouse=True)
def clean_config(monkeypatch):
    monkeypatch.setattr(config, "_overrides", {})
    for var in ("FITSMILL_INPUTS_DIR", "GAVO_INPUTSDIR"):
        monkeypatch.delenv(var, raising=False)


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")


@pytest.fixture
def archive(tmp_path):
    """inputs/arch with files created in non-sorted order, a dot directory,
    a symlink cycle and a symlink to a sibling directory."""
    inputs = tmp_path / "inputs"
    data = inputs / "arch" / "data"
    for rel in ["b.fits", "a.fits", "c.txt", "sub2/x.fits", "sub1/z.fits",
                "sub1/y.fits", "sub1/deep/w.fits", ".hidden/h.fits"]:
        touch(data / rel)
    touch(inputs / "arch" / "other" / "o.fits")
    os.symlink("..", data / "sub1" / "up")          # cycle: sub1/up -> data
    os.symlink("../sub2", data / "sub1" / "link2")  # not a cycle
    (inputs / "arch" / "res").mkdir()
    (inputs / "arch" / "res" / "skip.txt").write_text(
        "# sources we do not want\n\narch/data/sub1/z.fits\n")
    (inputs / "arch" / "q.rd").write_text(textwrap.dedent("""\
        <resource schema="arch" resdir="arch">
          <data id="import">
            <property key="previewDir">previews</property>
            <sources recurse="True">
              <pattern>data/*.fits</pattern>
              <pattern>other/*.fits</pattern>
              <item>virtual/item1</item>
              <item>arch/data/sub1/z.fits</item>
              <ignoreSources fromfile="res/skip.txt" pattern="*/deep/*"/>
            </sources>
          </data>
          <data id="flat"><sources pattern="data/*.fits"/></data>
          <data id="content"><sources>data/c.txt</sources></data>
          <data id="nosources"/>
        </resource>"""))
    return inputs


def test_rd_recursive_order_and_ignores(archive):
    rd = load_rd("arch/q", str(archive))
    d = str(archive / "arch" / "data")
    assert rd.resdir == str(archive / "arch")
    assert list(rd.getById("import").sources) == [
        "virtual/item1",                    # items first, verbatim
        f"{d}/a.fits", f"{d}/b.fits",        # then sorted dirs, sorted globs
        f"{d}/sub1/y.fits",                  # z.fits listed in skip.txt
        # sub1/deep/w.fits matches the ignore pattern; sub1/up is a cycle
        f"{d}/sub1/link2/x.fits", f"{d}/sub2/x.fits",
        str(archive / "arch" / "other" / "o.fits")]


def test_rd_flat_content_and_properties(archive):
    rd = load_rd("arch/q.rd", str(archive))
    d = str(archive / "arch" / "data")
    assert list(rd.getById("flat").sources) == [f"{d}/a.fits", f"{d}/b.fits"]
    assert list(rd.getById("content").sources) == [f"{d}/c.txt"]
    assert list(rd.getById("nosources").sources) == []
    dd = rd.getById("import")
    assert dd.getProperty("previewDir") == "previews"
    assert rd.getAbsPath(dd.getProperty("previewDir")) == str(archive / "arch" / "previews")
    assert dd.getProperty("nothere", "dflt") == "dflt"
    with pytest.raises(PropertyNotFound, match="nothere"):
        dd.getProperty("nothere")


def test_rd_uses_configured_inputs_dir_and_infers_resdir(tmp_path, monkeypatch):
    inputs = tmp_path / "inp"
    touch(inputs / "deep" / "er" / "f.fits")
    (inputs / "deep" / "er" / "q.rd").write_text(
        '<resource xmlns="http://example.org/rd"><data id="d">'
        '<sources><pattern>*.fits</pattern><recurse>false</recurse></sources>'
        '</data></resource>')
    monkeypatch.setenv("FITSMILL_INPUTS_DIR", str(inputs))
    rd = load_rd("deep/er/q")
    assert rd.resdir == str(inputs / "deep" / "er")
    assert list(rd.getById("d").sources) == [str(inputs / "deep" / "er" / "f.fits")]


@pytest.mark.parametrize("body, message", [
    ('<resource><data id="d"><sources pattern="*"><ignoreSources fromdb="select 1"/>'
     '</sources></data></resource>', "needs the DaCHS database"),
    ('<resource><data id="x"/></resource>', r"no <data id='d'> \(data ids: x\)"),
    ('<resource><data id="d">', "malformed resource descriptor"),
    ('<resource><data id="d"><sources pattern="*" recurse="maybe"/></data></resource>',
     "'maybe' is not a boolean"),
])
def test_rd_errors(tmp_path, body, message):
    (tmp_path / "q.rd").write_text(body)
    with pytest.raises(RDError, match=message):
        load_rd("q", str(tmp_path)).getById("d")


def test_missing_rd_names_the_file(tmp_path):
    with pytest.raises(RDError, match=f"{tmp_path}/nope/q.rd: cannot read"):
        load_rd("nope/q", str(tmp_path))


def test_missing_ignore_file_is_an_error_naming_it(tmp_path):
    touch(tmp_path / "a.fits")
    spec = SourceSpec(str(tmp_path), ["*.fits"],
                      ignore=IgnoreSpec([str(tmp_path / "gone.txt")], [], str(tmp_path)))
    with pytest.raises(RDError, match="gone.txt"):
        list(spec)


def test_ignore_patterns_slash_not_special(tmp_path):
    ignore = IgnoreSpec(patterns=["a*.fits"], inputs_dir=str(tmp_path))
    assert ignore.is_ignored(str(tmp_path / "a" / "b" / "x.fits"))
    assert not ignore.is_ignored(str(tmp_path / "b" / "x.fits"))
    assert ignore.is_ignored("abc.fits")


def test_relative_to_inputs_is_path_aware(tmp_path):
    assert relative_to_inputs(str(tmp_path / "in" / "a" / "b"), str(tmp_path / "in")) == "a/b"
    for outside in (tmp_path / "in2" / "a", tmp_path / "in", tmp_path):
        with pytest.raises(ValueError, match="not below the inputs directory"):
            relative_to_inputs(str(outside), str(tmp_path / "in"))


def test_relative_to_inputs_through_symlinks(tmp_path):
    real = tmp_path / "data" / "inputs"
    (real / "a").mkdir(parents=True)
    os.symlink(real, tmp_path / "inputs")
    assert relative_to_inputs(str(real / "a" / "f.fits"), str(tmp_path / "inputs")) == "a/f.fits"
    assert relative_to_inputs(str(tmp_path / "inputs" / "a" / "f.fits"), str(real)) == "a/f.fits"
    with pytest.raises(ValueError):
        relative_to_inputs(str(tmp_path / "data" / "other"), str(tmp_path / "inputs"))


def test_path_sources(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for rel in ["d/b.fits", "d/a.fits", "d/sub/c.fits", "e.fits"]:
        touch(tmp_path / rel)
    (tmp_path / "list.txt").write_text("# listed\ne.fits\n\nd/a.fits\nmissing.fits\n")
    got = list(PathSources(["d/*.fits", "@list.txt", "d/**/*.fits", "zz*.fits"]))
    assert got == [str(tmp_path / p) for p in
                   ["d/a.fits", "d/b.fits", "e.fits", "missing.fits", "d/sub/c.fits"]]
    assert list(PathSources(tmp_path / "e.fits")) == [str(tmp_path / "e.fits")]
    with pytest.raises(FileNotFoundError):
        list(PathSources(["@nolist.txt"]))
