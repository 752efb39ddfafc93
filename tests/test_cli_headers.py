"""The headers, checksum and verify command lines, end to end.

Oracles: astropy (values, comments, checksums), fitsverify for every file
written, data hashes before and after.
"""

import pathlib
import subprocess
import sys
import types
import warnings

import numpy as np
import pytest
from astropy.io import fits

from common import data_digests, fitsverify
from fitsmill.cli import checksum as checksum_cli
from fitsmill.cli import headers, verify
from fitsmill.headeredit import Edit, parse_assignment, parse_script


@pytest.fixture(autouse=True)
def undo_dir(tmp_path, monkeypatch):
    directory = tmp_path / "undo"
    monkeypatch.setenv("FITSMILL_UNDO_DIR", str(directory))
    return directory


def make_files(tmp_path, n=3, checksum=False):
    paths = []
    for i in range(n):
        path = tmp_path / f"plate{i}.fits"
        hdu = fits.PrimaryHDU((np.arange(600) * (i + 1) % 4000).astype(">i2").reshape(20, 30))
        hdu.header["OBSERVER"] = ("Someone", "who observed")
        hdu.header["DATE-OBS"] = "1931-05-02"
        hdu.header["DATE-END"] = "1931-05-03"
        fits.HDUList([hdu, fits.ImageHDU(np.ones((4, 4), ">f4"), name="AUX")]).writeto(
            path, checksum=checksum)
        paths.append(path)
    return paths


def check_written(paths, before):
    for path, digests in zip(paths, before):
        assert data_digests(path) == digests
        fitsverify(path)


def run(main, argv, capsys):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


# ---------------------------------------------------------------- parsing

def test_assignment_values():
    assert parse_assignment("NAXIS3=5") == Edit("set", "NAXIS3", 5)
    assert parse_assignment("exptime=30.5/seconds") == Edit("set", "EXPTIME", 30.5, "seconds")
    assert parse_assignment("FLAG=T") == Edit("set", "FLAG", True)
    assert parse_assignment("OBJECT=M 31") == Edit("set", "OBJECT", "M 31")
    assert parse_assignment("DATE='1931/05/02' / slashes quoted") == \
        Edit("set", "DATE", "1931/05/02", "slashes quoted")
    assert parse_assignment("NOTE='it''s'") == Edit("set", "NOTE", "it's")
    assert parse_assignment("X=1.5D3") == Edit("set", "X", 1500.0)
    assert parse_assignment("U=") == Edit("set", "U", None)
    for bad in ("NOVALUE", "'X'=1", "A='open"):
        with pytest.raises(ValueError):
            parse_assignment(bad)


def test_script_parsing():
    script = """
OBJECT = 'M 31' / the object
EXPTIME 30.5 / s
-DATE*
-OBSERVER OBSERVR
HISTORY plate re-measured
COMMENT scanned 2024
HIERARCH ESO DET ID = 'CCD-1'
"""
    assert parse_script(script) == [
        Edit("set", "OBJECT", "M 31", "the object"),
        Edit("set", "EXPTIME", 30.5, "s"),
        Edit("delete", "DATE*"),
        Edit("rename", "OBSERVER", "OBSERVR"),
        Edit("history", "HISTORY", "plate re-measured"),
        Edit("comment", "COMMENT", "scanned 2024"),
        Edit("set", "HIERARCH ESO DET ID", "CCD-1")]
    with pytest.raises(ValueError, match="fix.txt, line 2"):
        parse_script("A = 1\n-A B C\n", "fix.txt")


# ---------------------------------------------------------------- headers

def test_set_many_files_then_undo(tmp_path, capsys, undo_dir):
    paths = make_files(tmp_path)
    originals = [p.read_bytes() for p in paths]
    before = [data_digests(p) for p in paths]
    listfile = tmp_path / "list.txt"
    listfile.write_text("\n".join(str(p) for p in paths[1:]) + "\n")
    status, out, err = run(headers.main, [
        "set", "TELESCOP='Zeiss / 40cm' / the telescope", "EXPTIME=1200/seconds",
        "PLATENUM=42", "FLIPPED=F", "OBSERVER=Nobody", paths[0], f"@{listfile}"], capsys)
    assert status == 0, err
    assert "3 in place" in out
    check_written(paths, before)
    for path in paths:
        with fits.open(path) as hdul:
            h = hdul[0].header
            assert h["TELESCOP"] == "Zeiss / 40cm"
            assert h.comments["TELESCOP"] == "the telescope"
            assert (h["EXPTIME"], h.comments["EXPTIME"]) == (1200, "seconds")
            assert h["PLATENUM"] == 42 and h["FLIPPED"] is False
            # Replaced where it stood, its comment kept.
            assert (h["OBSERVER"], h.comments["OBSERVER"]) == ("Nobody", "who observed")
            assert list(h).index("OBSERVER") == 6
    log = out.split("undo log: ")[1].strip()
    assert pathlib.Path(log).parent == undo_dir
    status, out, err = run(headers.main, ["undo", log], capsys)
    assert status == 0 and out.count("undone") == 3
    assert [p.read_bytes() for p in paths] == originals


def test_del_wildcards_rename_and_extension(tmp_path, capsys):
    paths = make_files(tmp_path, 2)
    before = [data_digests(p) for p in paths]
    status, _, err = run(headers.main, ["del", "DATE-*", "OBSERVER", *paths], capsys)
    assert status == 0, err
    status, _, err = run(headers.main, ["rename", "EXTNAME", "HDUNAME", "--ext", "AUX",
                                        *paths], capsys)
    assert status == 0, err
    check_written(paths, before)
    with fits.open(paths[0]) as hdul:
        assert not {"DATE-OBS", "DATE-END", "OBSERVER"} & set(hdul[0].header)
        assert hdul[1].header["HDUNAME"] == "AUX" and "EXTNAME" not in hdul[1].header


def test_edit_script_with_history(tmp_path, capsys):
    paths = make_files(tmp_path, 2, checksum=True)
    before = [data_digests(p) for p in paths]
    script = tmp_path / "fix.txt"
    script.write_text("OBJECT = 'Plate field 7' / target\n-DATE-END\n"
                      "-OBSERVER OBSERVR\nHISTORY remeasured\nCOMMENT from the edit\n")
    status, _, err = run(headers.main, ["edit", "--script", script, "--history",
                                        *paths], capsys)
    assert status == 0, err
    check_written(paths, before)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with fits.open(paths[1], checksum=True) as hdul:
            h = hdul[0].header
    assert h["OBJECT"] == "Plate field 7" and "DATE-END" not in h
    assert h["OBSERVR"] == "Someone"
    history = list(h["HISTORY"])
    assert history[0] == "remeasured"
    assert "fitsmill" in history[1] and "OBJECT=" in "".join(history[1:])
    assert list(h["COMMENT"])[-1] == "from the edit"


def test_dry_run_writes_nothing(tmp_path, capsys, undo_dir):
    path, = make_files(tmp_path, 1)
    content = path.read_bytes()
    status, out, _ = run(headers.main, ["set", "--dry-run", "OBJECT=M31", "OBSERVER=X",
                                        path], capsys)
    assert status == 0
    assert path.read_bytes() == content
    assert "-OBSERVER= 'Someone '" in out and "+OBJECT  = 'M31     '" in out
    assert not list(undo_dir.glob("*.undo"))


def test_one_bad_file_does_not_stop_the_run(tmp_path, capsys):
    paths = make_files(tmp_path, 2)
    bad = tmp_path / "bad.fits"
    bad.write_bytes(b"SIMPLE  =                    T" + b"\0" * 5000)
    argv = ["set", "OBJECT=M31", paths[0], bad, tmp_path / "missing.fits", paths[1]]
    status, out, err = run(headers.main, argv, capsys)
    assert status == 1
    lines = err.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(str(bad)) and "at byte 30" in lines[0]
    assert "missing.fits" in lines[1] and "No such file" in lines[1]
    assert "2 in place" in out and "2 failed" in out
    assert all(fits.getval(p, "OBJECT") == "M31" for p in paths)
    status, out, err = run(headers.main, ["set", "--bail", *argv[1:]], capsys)
    assert status == 1 and len(err.strip().splitlines()) == 1


def test_layout_keywords_protected(tmp_path, capsys):
    path, = make_files(tmp_path, 1)
    content = path.read_bytes()
    status, _, err = run(headers.main, ["del", "NAXIS*", path], capsys)
    assert status == 1 and "data layout" in err and "\n" not in err.strip()
    assert path.read_bytes() == content


def test_grow_forbid_and_reserve(tmp_path, capsys):
    path, = make_files(tmp_path, 1)
    many = [f"KEY{i}={i}" for i in range(40)]
    status, _, err = run(headers.main, ["set", "--grow", "forbid", *many, path], capsys)
    assert status == 1 and "1 more block" in err
    status, out, _ = run(headers.main, ["set", "--reserve", "1", *many, path], capsys)
    assert status == 0 and "1 rewritten" in out
    fitsverify(path)
    more = [f"MORE{i}={i}" for i in range(30)]
    status, out, _ = run(headers.main, ["set", *more, path], capsys)
    assert "1 in place" in out


def test_show(tmp_path, capsys):
    path, = make_files(tmp_path, 1)
    status, out, _ = run(headers.main, ["show", path, "--ext", "AUX"], capsys)
    assert status == 0
    lines = out.splitlines()
    with fits.open(path) as hdul:
        assert lines == [str(c).rstrip() for c in hdul[1].header.cards]


def test_recover_with_nothing_to_do(capsys):
    status, out, _ = run(headers.main, ["recover"], capsys)
    assert status == 0 and "nothing to recover" in out


def test_from_table_is_dispatched(monkeypatch):
    seen = []
    fake = types.ModuleType("fitsmill.cli.fromtable")
    fake.main = lambda argv: seen.append(argv) or 7
    monkeypatch.setitem(sys.modules, "fitsmill.cli.fromtable", fake)
    import fitsmill.cli
    monkeypatch.setattr(fitsmill.cli, "fromtable", fake, raising=False)
    assert headers.main(["from-table", "cat.txt", "--apply"]) == 7
    assert seen == [["cat.txt", "--apply"]]


def test_fitsmill_command(tmp_path):
    path, = make_files(tmp_path, 1)
    proc = subprocess.run([sys.executable, "-m", "fitsmill", "headers", "set",
                           "OBJECT=M31", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert fits.getval(path, "OBJECT") == "M31"


# ---------------------------------------------------------------- checksum

def test_checksum_update_verify_remove(tmp_path, capsys):
    paths = make_files(tmp_path, 2)
    before = [data_digests(p) for p in paths]
    status, out, _ = run(checksum_cli.main, ["verify", *paths], capsys)
    assert status == 1 and out.count("MISSING") == 2
    assert run(checksum_cli.main, ["verify", "--ignore-missing", *paths], capsys)[0] == 0
    status, out, _ = run(checksum_cli.main, ["update", *paths], capsys)
    assert status == 0
    check_written(paths, before)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for path in paths:
            with fits.open(path, checksum=True) as hdul:
                assert all("CHECKSUM" in h.header and "DATASUM" in h.header for h in hdul)
    status, out, _ = run(checksum_cli.main, ["verify", *paths], capsys)
    assert status == 0 and out.count(": OK") == 2
    # Damage one data byte: verify names the HDU and the card.
    raw = bytearray(paths[0].read_bytes())
    with fits.open(paths[0]) as hdul:
        raw[hdul[1].fileinfo()["datLoc"] + 2] ^= 0x40
    paths[0].write_bytes(bytes(raw))
    status, out, _ = run(checksum_cli.main, ["verify", *paths], capsys)
    assert status == 1
    assert "FAILED: HDU 1 CHECKSUM, HDU 1 DATASUM" in out.splitlines()[0]
    status, _, _ = run(checksum_cli.main, ["remove", paths[1]], capsys)
    assert status == 0
    with fits.open(paths[1]) as hdul:
        assert not any("CHECKSUM" in h.header or "DATASUM" in h.header for h in hdul)
    fitsverify(paths[1])


# ---------------------------------------------------------------- verify

def _damaged(tmp_path, good):
    raw = good.read_bytes()
    end = raw.index(b"END     ")
    cases = {
        "extra bytes": (raw + b"\0" * 100, "100 bytes after the last HDU"),
        "short fill": (raw[:-100], "file ends 100 bytes before"),
        "order": (raw[:80] + raw[160:240] + raw[80:160] + raw[240:],
                  "card 2 is NAXIS, must be BITPIX"),
        "header padding": (raw[:end + 100] + b"X" + raw[end + 101:],
                           "header padding after END is not blank"),
        "no END": (raw[:end] + b"XND" + raw[end + 3:], "not printable"),
    }
    with fits.open(good) as hdul:
        fill = hdul[0].fileinfo()["datLoc"] + hdul[0].size + 5
    cases["data fill"] = (raw[:fill] + b"\1" + raw[fill + 1:], "not all zeros")
    return cases


@pytest.mark.parametrize("case", ["extra bytes", "short fill", "order",
                                  "header padding", "no END", "data fill"])
def test_verify_finds_damage(tmp_path, capsys, case):
    good, = make_files(tmp_path, 1, checksum=True)
    assert run(verify.main, [good], capsys)[:2] == (0, f"{good}: OK\n")
    content, reason = _damaged(tmp_path, good)[case]
    bad = tmp_path / "bad.fits"
    bad.write_bytes(content)
    status, out, _ = run(verify.main, [good, bad], capsys)
    assert status == 1
    lines = out.splitlines()
    assert lines[0] == f"{good}: OK"
    assert lines[1].startswith(f"{bad}: FAILED: ") and reason in lines[1]
    assert len(lines) == 2


def test_verify_checks_checksums(tmp_path, capsys):
    good, = make_files(tmp_path, 1, checksum=True)
    raw = bytearray(good.read_bytes())
    with fits.open(good) as hdul:
        raw[hdul[0].fileinfo()["datLoc"] + 10] ^= 1
    good.write_bytes(bytes(raw))
    status, out, _ = run(verify.main, [good], capsys)
    assert status == 1 and "CHECKSUM does not verify" in out
    assert run(verify.main, ["--no-checksums", good], capsys)[0] == 0
