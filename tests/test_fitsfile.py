"""fitsmill.fitsfile: HDU layout scan, header reading and safe header writing.

Oracles: astropy.io.fits (layout, headers, data, checksums) and fitsverify
for every file written.  Data bytes are compared by hash before and after
every kind of edit.
"""

import fcntl
import glob
import gzip
import io
import os
import pathlib
import stat
import warnings

import astropy
import numpy as np
import pytest
from astropy.io import fits
from hypothesis import given, settings
from hypothesis import strategies as st

from common import data_digests, fitsverify
from fitsmill import fitsfile, undolog
from fitsmill.errors import FitsFormatError, FitsmillError, HeaderSpaceError
from fitsmill.header import Header

ASTROPY_DATA = sorted(
    p for d in ("io/fits/tests/data", "io/fits/hdu/compressed/tests/data",
                "wcs/tests/data")
    for p in glob.glob(os.path.join(os.path.dirname(astropy.__file__), d, "*.fits")))


@pytest.fixture(autouse=True)
def undo_dir(tmp_path, monkeypatch):
    """Each test logs to its own undo directory."""
    directory = tmp_path / "undo"
    monkeypatch.setenv("FITSMILL_UNDO_DIR", str(directory))
    return directory


def cards_of(raw):
    """The 80-byte card images of header bytes, up to END."""
    cards = [raw[i:i + 80] for i in range(0, len(raw), 80)]
    return cards[:next(i for i, c in enumerate(cards) if c[:8] == b"END     ")]


def make_image(path, shape=(40, 30), dtype=">i2", checksum=False, cards=(),
               extensions=()):
    data = (np.arange(np.prod(shape)) % 1000).astype(dtype).reshape(shape)
    primary = fits.PrimaryHDU(data)
    for key, value in cards:
        primary.header[key] = value
    fits.HDUList([primary, *extensions]).writeto(path, checksum=checksum)
    return path


def sample_extensions():
    table = fits.BinTableHDU.from_columns(
        [fits.Column("a", "J", array=np.arange(7)),
         fits.Column("v", "PJ()", array=[np.arange(i) for i in range(7)])],
        name="TAB")
    ascii_table = fits.TableHDU.from_columns(
        [fits.Column("x", "E10.4", array=np.linspace(0, 1, 5))], name="ATAB")
    return [fits.ImageHDU(np.ones((3, 4), ">f4"), name="SCI"), table,
            fits.ImageHDU(name="EMPTY"), ascii_table,
            fits.ImageHDU(np.zeros((2, 2), ">i4"), name="SCI", ver=2)]


# ---------------------------------------------------------------- layout


def assert_layout_matches_astropy(path):
    infos = list(fitsfile.iter_hdus(path))
    # Compressed images as the tables they are stored as; astropy's own
    # offsets (fileinfo() is missing on non-standard primaries).
    with fits.open(path, disable_image_compression=True) as hdul:
        assert len(infos) == len(hdul)
        for info, hdu in zip(infos, hdul):
            assert info.header_offset == hdu._header_offset
            assert info.data_offset == hdu._data_offset
            assert info.data_size == hdu.size
            assert info.header_size == hdu._data_offset - hdu._header_offset
            # (keywords themselves are test_header's business)
            assert len(info.header) == len(hdu.header)
            assert info.xtension == (None if info.index == 0
                                     else hdu.header["XTENSION"].rstrip())
    return infos


def test_layout_of_generated_file(tmp_path):
    path = make_image(tmp_path / "ext.fits", extensions=sample_extensions())
    infos = assert_layout_matches_astropy(path)
    assert [i.extname for i in infos] == [None, "SCI", "TAB", "EMPTY", "ATAB", "SCI"]
    assert infos[3].data_size == 0
    assert infos[2].header["PCOUNT"] > 0    # heap of the variable-length column


@pytest.mark.parametrize("path", ASTROPY_DATA, ids=os.path.basename)
def test_layout_of_astropy_files(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with fits.open(path) as hdul:
                hdul.verify("exception")
                len(hdul)
        except Exception:
            pytest.skip("astropy itself flags this file as invalid")
    if fits.getval(path, "SIMPLE") is not True:
        pytest.skip("SIMPLE = F: not a standard FITS file")
    assert_layout_matches_astropy(path)


def test_random_groups(tmp_path):
    data = fits.GroupData(np.arange(30, dtype=">f4").reshape(3, 1, 2, 5),
                          parnames=["u", "v"],
                          pardata=[np.arange(3.0), np.arange(3.0)], bitpix=-32)
    path = tmp_path / "groups.fits"
    fits.GroupsHDU(data).writeto(path)
    info, = fitsfile.iter_hdus(path)
    assert info.header["GROUPS"] is True
    assert info.data_size == 3 * (2 + 10) * 4
    assert_layout_matches_astropy(path)

    def edit(h):
        h["OBJECT"] = "interferometer"
        return {"OBJECT"}

    assert edit_and_check(path, edit) == "in place"
    header = fitsfile.read_header(path)
    header["GCOUNT"] = 2
    with pytest.raises(FitsmillError, match="GCOUNT"):
        fitsfile.write_header(path, header)


def test_read_header_by_index_and_name(tmp_path):
    path = make_image(tmp_path / "ext.fits", extensions=sample_extensions())
    with fits.open(path) as hdul:
        expected = [dict(h.header) for h in hdul]
    assert dict(fitsfile.read_header(path).items()) == expected[0]
    assert fitsfile.read_header(path, 2)["EXTNAME"] == "TAB"
    assert fitsfile.read_header(path, "atab")["EXTNAME"] == "ATAB"
    assert fitsfile.read_header(path, ("SCI", 2))["NAXIS1"] == 2
    assert fitsfile.find_hdu(path, "SCI").index == 1
    with pytest.raises(KeyError, match="NOPE"):
        fitsfile.read_header(path, "NOPE")
    with pytest.raises(ValueError):
        fitsfile.read_header(path, -1)


def test_read_header_bytes_from_streams(tmp_path):
    path = make_image(tmp_path / "a.fits", cards=[("OBJECT", "M31")])
    raw = path.read_bytes()
    header_size = fitsfile.find_hdu(path).header_size
    with gzip.open(io.BytesIO(gzip.compress(raw))) as stream:
        assert fitsfile.read_header_bytes(stream) == raw[:header_size]
        assert stream.read(10) == raw[header_size:header_size + 10]
    with gzip.open(io.BytesIO(gzip.compress(raw))) as stream:
        assert fitsfile.readPrimaryHeaderQuick(stream)["OBJECT"] == "M31"


def test_read_header_bytes_dachs_limits():
    with pytest.raises(FitsFormatError, match="no END card within 2 blocks"):
        fitsfile.readPrimaryHeaderQuick(io.BytesIO(b"SIMPLE  =" + b" " * 7991),
                                        maxHeaderBlocks=2)
    with pytest.raises(FitsFormatError, match="file ends inside"):
        fitsfile.readPrimaryHeaderQuick(io.BytesIO(b" " * 80))


# ---------------------------------------------------------------- bad input

def _bad_files(tmp_path):
    good = make_image(tmp_path / "good.fits").read_bytes()
    end = good.index(b"END     ")
    no_end = bytearray(good)
    no_end[end:end + 3] = b"XND"
    fits.PrimaryHDU().writeto(tmp_path / "nodata.fits")
    no_end_no_data = (tmp_path / "nodata.fits").read_bytes().replace(
        b"END     ", b"XND     ")
    junk = bytearray(good)
    junk[200] = 0x07
    return {
        "no END": (no_end_no_data, "no END card"),
        "no END before data": (bytes(no_end), "not printable"),
        "binary junk": (bytes(junk), "not printable"),
        "truncated data": (good[:-1000], "truncated"),
        "short header block": (good[:2000], "file ends inside"),
        "not FITS": (np.random.default_rng(1).bytes(5760), "not a FITS header"),
        "empty": (b"", "empty"),
        "gzip": (gzip.compress(good), "gzip"),
    }


@pytest.mark.parametrize("case", ["no END", "no END before data", "binary junk",
                                  "truncated data",
                                  "short header block", "not FITS", "empty", "gzip"])
def test_bad_input_is_one_line_error_and_nothing_written(tmp_path, case):
    content, reason = _bad_files(tmp_path)[case]
    path = tmp_path / "bad.fits"
    path.write_bytes(content)
    for call in (lambda: list(fitsfile.iter_hdus(path)),
                 lambda: fitsfile.read_header(path),
                 lambda: fitsfile.write_header(path, fits.Header([("SIMPLE", True)]))):
        with pytest.raises((FitsFormatError, FitsmillError)) as info:
            call()
        text = str(info.value)
        assert "\n" not in text
        assert str(path) in text and reason in text
        if isinstance(info.value, FitsFormatError):
            assert info.value.offset is not None and f"at byte {info.value.offset}" in text
    assert path.read_bytes() == content
    assert not list(tmp_path.glob(".bad.fits.*"))


def test_junk_offset_is_exact(tmp_path):
    content = bytearray(make_image(tmp_path / "a.fits").read_bytes())
    content[417] = 0xff
    path = tmp_path / "junk.fits"
    path.write_bytes(bytes(content))
    with pytest.raises(FitsFormatError) as info:
        fitsfile.read_header(path)
    assert info.value.offset == 417


# ---------------------------------------------------------------- writing

def edit_and_check(path, edit, ext=0, **kwargs):
    """Apply ``edit`` to a header of ``path`` with write_header and check the
    invariants every edit must keep; return write_header's answer."""
    before = data_digests(path)
    old_raw = fitsfile.find_hdu(path, ext).header_bytes
    header = fitsfile.read_header(path, ext)
    touched = edit(header)
    result = fitsfile.write_header(path, header, ext, **kwargs)
    assert data_digests(path) == before
    fitsverify(path)
    new_raw = fitsfile.find_hdu(path, ext).header_bytes
    # Blank padding cards may go; CHECKSUM/DATASUM are recomputed.
    touched_or_sums = set(touched) | {"CHECKSUM", "DATASUM", ""}
    kept = [c for c in cards_of(old_raw)
            if c[:8].rstrip().decode() not in touched_or_sums]
    new_cards = cards_of(new_raw)
    assert [c for c in new_cards if c in kept] == kept
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with fits.open(path, checksum=True) as hdul:
            for key in touched:
                if key in header:
                    assert hdul[ext].header[key] == header[key]
                else:
                    assert key not in hdul[ext].header
    return result


def test_in_place_edit_keeps_inode_and_data(tmp_path):
    path = make_image(tmp_path / "a.fits", extensions=sample_extensions(),
                      cards=[("OBSERVER", "x"), ("DATE-OBS", "1931-05-02")])
    inode = os.stat(path).st_ino
    size = os.path.getsize(path)

    def edit(h):
        h["TELESCOP"] = "Zeiss"
        h["EXPTIME"] = (12.5, "seconds")
        del h["OBSERVER"]
        return {"TELESCOP", "EXPTIME", "OBSERVER"}

    assert edit_and_check(path, edit) == "in place"
    assert os.stat(path).st_ino == inode and os.path.getsize(path) == size


def test_edit_each_kind_of_extension(tmp_path):
    path = make_image(tmp_path / "a.fits", extensions=sample_extensions())

    def edit(h):
        h["OBSERVER"] = "someone"
        return {"OBSERVER"}

    for ext in ("SCI", "TAB", "EMPTY", "ATAB", ("SCI", 2)):
        assert edit_and_check(path, edit, ext) == "in place"


def test_unchanged_header_writes_nothing(tmp_path, undo_dir):
    path = make_image(tmp_path / "a.fits")
    mtime = os.stat(path).st_mtime_ns
    assert fitsfile.write_header(path, fitsfile.read_header(path)) == "unchanged"
    assert os.stat(path).st_mtime_ns == mtime
    assert not list(undo_dir.glob("*.undo")) or all(
        not p.read_bytes() for p in undo_dir.glob("*.undo"))


def test_grow_rewrites_atomically_keeping_mode(tmp_path):
    path = make_image(tmp_path / "a.fits", extensions=sample_extensions())
    os.chmod(path, 0o640)
    inode = os.stat(path).st_ino

    def edit(h):
        for i in range(60):
            h[f"KEY{i}"] = i
        return {f"KEY{i}" for i in range(60)}

    assert edit_and_check(path, edit, reserve=2) == "rewritten"
    st = os.stat(path)
    assert st.st_ino != inode and stat.S_IMODE(st.st_mode) == 0o640
    assert fitsfile.find_hdu(path).header_size == 4 * 2880   # 2 + 2 reserved
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert_layout_matches_astropy(path)

    def more(h):
        for i in range(60, 110):
            h[f"KEY{i}"] = i
        return {f"KEY{i}" for i in range(60, 110)}

    # The reserved blocks take the next edit in place.
    assert edit_and_check(path, more) == "in place"


def test_grow_forbidden(tmp_path):
    path = make_image(tmp_path / "a.fits")
    content = path.read_bytes()
    header = fitsfile.read_header(path)
    for i in range(40):
        header[f"KEY{i}"] = i
    with pytest.raises(HeaderSpaceError, match="1 more block"):
        fitsfile.write_header(path, header, grow="forbid")
    assert path.read_bytes() == content


def test_shrinking_keeps_size_and_dachs_layout(tmp_path):
    """DaCHS testInPlaceShorter: grow, then shrink in place."""
    path = make_image(tmp_path / "a.fits")
    header = fitsfile.read_header(path)
    for i in range(50):
        header[f"KEY{i}"] = i
    assert fitsfile.write_header(path, header) == "rewritten"
    size = os.path.getsize(path)
    for i in range(50):
        del header[f"KEY{i}"]
    assert fitsfile.write_header(path, header) == "in place"
    assert os.path.getsize(path) == size
    raw = path.read_bytes()
    assert b"END     " not in raw[:2880]
    block2 = raw[2880:5760]
    assert block2[-80:].startswith(b"END     ") and block2[:2000] == b" " * 2000
    with fits.open(path) as hdul:
        assert "KEY48" not in hdul[0].header
        assert hdul[0].data[1][4] == (30 + 4) % 1000
    fitsverify(path)
    # Reading back and editing again stays in place: the padding cards are
    # not counted as content.
    header = fitsfile.read_header(path)
    header["NEWKEY"] = 1
    assert fitsfile.write_header(path, header) == "in place"
    fitsverify(path)


def test_layout_change_is_refused(tmp_path):
    path = make_image(tmp_path / "a.fits", extensions=sample_extensions())
    content = path.read_bytes()
    for ext, key, value in [(0, "NAXIS1", 31), (0, "BITPIX", 32), ("TAB", "PCOUNT", 0),
                            ("TAB", "TFORM1", "K"), ("SCI", "NAXIS", 3)]:
        header = fitsfile.read_header(path, ext)
        header[key] = value
        with pytest.raises(FitsmillError, match=f"data layout.*{key}"):
            fitsfile.write_header(path, header, ext)
    header = fitsfile.read_header(path)
    del header["NAXIS2"]
    with pytest.raises(FitsmillError, match="NAXIS2 40 -> \\(absent\\)"):
        fitsfile.write_header(path, header)
    assert path.read_bytes() == content
    header = fitsfile.read_header(path)
    header["BITPIX"] = 8
    header["NAXIS1"] = 60
    assert fitsfile.write_header(path, header, force=True, undo=False) == "in place"
    with fits.open(path) as hdul:
        assert hdul[0].data.shape == (40, 60)


def test_gzip_refused(tmp_path):
    path = make_image(tmp_path / "a.fits")
    gz = tmp_path / "a.fits.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    header = fitsfile.read_header(path)
    with pytest.raises(FitsmillError, match="gzip"):
        fitsfile.write_header(gz, header)
    with pytest.raises(NotImplementedError,
                       match="^replacePrimaryHeaderInPlace no longer supports "
                             "gzipped files.$"):
        fitsfile.replacePrimaryHeaderInPlace(str(gz), header)


def test_symlink_target_is_edited(tmp_path):
    path = make_image(tmp_path / "a.fits")
    link = tmp_path / "link.fits"
    link.symlink_to(path.name)
    header = fitsfile.read_header(link)
    for i in range(60):
        header[f"KEY{i}"] = i
    assert fitsfile.write_header(link, header) == "rewritten"
    assert link.is_symlink() and fitsfile.read_header(path)["KEY59"] == 59


def test_hard_linked_file_is_not_split(tmp_path):
    path = make_image(tmp_path / "a.fits")
    os.link(path, tmp_path / "b.fits")
    header = fitsfile.read_header(path)
    header["SHORT"] = 1
    assert fitsfile.write_header(path, header) == "in place"
    assert fitsfile.read_header(tmp_path / "b.fits")["SHORT"] == 1
    for i in range(60):
        header[f"KEY{i}"] = i
    with pytest.raises(FitsmillError, match="hard links"):
        fitsfile.write_header(path, header)


def test_accepts_astropy_header(tmp_path):
    path = make_image(tmp_path / "a.fits")
    with fits.open(path) as hdul:
        header = hdul[0].header.copy()
    header["OBJECT"] = "M42"
    assert fitsfile.write_header(path, header) == "in place"
    assert fitsfile.read_header(path)["OBJECT"] == "M42"
    fitsverify(path)


def test_argument_checks(tmp_path):
    path = make_image(tmp_path / "a.fits")
    header = fitsfile.read_header(path)
    for kwargs in ({"grow": "yes"}, {"checksum": "maybe"}, {"reserve": -1},
                   {"reserve": 1.5}):
        with pytest.raises(ValueError):
            fitsfile.write_header(path, header, **kwargs)
    with pytest.raises(TypeError):
        fitsfile.write_header(path, header, ext=1.0)


def test_tile_compressed_image_header(tmp_path):
    path = tmp_path / "comp.fits"
    data = (np.arange(64 * 48) % 500).astype(np.int16).reshape(48, 64)
    fits.HDUList([fits.PrimaryHDU(),
                  fits.CompImageHDU(data, compression_type="RICE_1")]).writeto(path)

    def edit(h):
        h["OBJECT"] = "plate 17"
        return {"OBJECT"}

    assert edit_and_check(path, edit, 1) == "in place"
    with fits.open(path) as hdul:
        assert hdul[1].header["OBJECT"] == "plate 17"
        assert np.array_equal(hdul[1].data, data)
    header = fitsfile.read_header(path, 1)
    header["ZCMPTYPE"] = "GZIP_1"
    with pytest.raises(FitsmillError, match="ZCMPTYPE"):
        fitsfile.write_header(path, header, 1)


# ---------------------------------------------------------------- checksums

def test_checksums_kept_valid_without_reading_data(tmp_path):
    path = make_image(tmp_path / "a.fits", checksum=True,
                      extensions=[fits.ImageHDU(np.ones((5, 5)), name="SCI")])
    datasum = fitsfile.read_header(path)["DATASUM"]
    # Flip a data bit: a DATASUM computed from the data would now differ,
    # so an unchanged DATASUM proves it was reused, not recomputed.
    with open(path, "r+b") as f:
        f.seek(2880 + 11)
        byte = f.read(1)[0]
        f.seek(2880 + 11)
        f.write(bytes([byte ^ 1]))
    header = fitsfile.read_header(path)
    header["OBJECT"] = "x"
    fitsfile.write_header(path, header)
    assert fitsfile.read_header(path)["DATASUM"] == datasum
    with open(path, "r+b") as f:
        f.seek(2880 + 11)
        f.write(bytes([byte]))

    def edit(h, grow=0):
        h["OBJECT"] = "M31"
        for i in range(grow):
            h[f"K{i}"] = i
        return {"OBJECT"} | {f"K{i}" for i in range(grow)}

    # edit_and_check opens with checksum=True and warnings as errors.
    assert edit_and_check(path, edit) == "in place"
    assert edit_and_check(path, lambda h: edit(h, 60)) == "rewritten"
    assert edit_and_check(path, edit, "SCI") == "in place"


def test_checksum_true_adds_cards_matching_astropy(tmp_path):
    path = make_image(tmp_path / "a.fits")
    header = fitsfile.read_header(path)
    fitsfile.write_header(path, header, checksum=True)
    ours = fitsfile.read_header(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with fits.open(path, checksum=True) as hdul:
            # Opening verified CHECKSUM (which depends on the time stamp in
            # its comment); DATASUM must be what astropy computes.
            hdul[0].add_datasum()
            assert ours["DATASUM"] == hdul[0].header["DATASUM"]
    fitsverify(path)


def test_checksum_false_leaves_cards(tmp_path):
    path = make_image(tmp_path / "a.fits", checksum=True)
    header = fitsfile.read_header(path)
    old = header["CHECKSUM"]
    header["OBJECT"] = "x"
    fitsfile.write_header(path, header, checksum=False)
    assert fitsfile.read_header(path)["CHECKSUM"] == old


def test_checksum_recompute_repairs_stale_datasum(tmp_path):
    path = make_image(tmp_path / "a.fits", checksum=True)
    header = fitsfile.read_header(path)
    header["DATASUM"] = "12345"
    fitsfile.write_header(path, header, checksum=False)
    fitsfile.write_header(path, fitsfile.read_header(path), checksum="recompute")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with fits.open(path, checksum=True) as hdul:
            hdul[0].data.sum()


# ---------------------------------------------------------------- locking

def test_second_writer_fails_clearly_or_waits(tmp_path):
    path = make_image(tmp_path / "a.fits")
    header = fitsfile.read_header(path)
    header["OBJECT"] = "x"
    with open(path, "rb") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        with pytest.raises(FitsmillError, match="another process is writing"):
            fitsfile.write_header(path, header, wait=False)
    assert fitsfile.write_header(path, header, wait=False) == "in place"


# ---------------------------------------------------------------- undo log

def test_undo_restores_bytes(tmp_path):
    paths = [make_image(tmp_path / f"f{i}.fits", checksum=i % 2 == 0,
                        extensions=sample_extensions()[:2]) for i in range(4)]
    originals = [p.read_bytes() for p in paths]
    with undolog.UndoLog(tmp_path / "logs") as log:
        for n, p in enumerate(paths):
            for round_ in range(2):        # two edits of each file in one run
                header = fitsfile.read_header(p, round_)
                for i in range(40 * n):
                    header[f"K{round_}_{i}"] = i
                header["ROUND"] = round_
                fitsfile.write_header(p, header, round_, undo=log)
    assert all(p.read_bytes() != o for p, o in zip(paths, originals))
    outcomes = undolog.undo(log.path)
    assert [o.action for o in outcomes] == ["undone"] * 8
    assert [p.read_bytes() for p in paths] == originals
    # A second undo finds nothing left to do.
    assert undolog.undo(log.path) == []


def test_undo_refuses_changed_file(tmp_path):
    path = make_image(tmp_path / "a.fits")
    with undolog.UndoLog(tmp_path / "logs") as log:
        header = fitsfile.read_header(path)
        header["A"] = 1
        fitsfile.write_header(path, header, undo=log)
    header["A"] = 2
    fitsfile.write_header(path, header, undo=False)
    outcome, = undolog.undo(log.path)
    assert outcome.action == "skipped" and "changed" in outcome.reason
    assert fitsfile.read_header(path)["A"] == 2


def test_recover_rolls_back_torn_write(tmp_path):
    path = make_image(tmp_path / "a.fits")
    original = path.read_bytes()
    old = fitsfile.find_hdu(path).header_bytes
    header = fitsfile.read_header(path)
    header.set("SIMPLE", True, "a new comment")
    header["OBJECT"] = "new"
    new = header.tobytes()
    assert len(new) == len(old)
    logdir = tmp_path / "logs"
    log = undolog.UndoLog(logdir)
    log.begin(str(path), 0, old, new, os.stat(path), "in place")
    torn = new[:80] + old[80:]
    assert torn not in (old, new)
    with open(path, "r+b") as f:
        f.write(torn)
    assert undolog.recover(logdir)[0].action == "skipped"   # run still live
    log.close()
    outcome, = undolog.recover(logdir)
    assert outcome.action == "rolled back"
    assert path.read_bytes() == original
    assert undolog.recover(logdir) == []


def test_recover_completes_finished_write(tmp_path):
    path = make_image(tmp_path / "a.fits")
    original = path.read_bytes()
    logdir = tmp_path / "logs"
    log = undolog.UndoLog(logdir)
    log.done = lambda seq, st: None         # killed before "done" was logged
    header = fitsfile.read_header(path)
    header["OBJECT"] = "new"
    fitsfile.write_header(path, header, undo=log)
    log.close()
    outcome, = undolog.recover(logdir)
    assert outcome.action == "completed"
    outcome, = undolog.undo(log.path)
    assert outcome.action == "undone" and path.read_bytes() == original


def test_default_undo_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("FITSMILL_UNDO_DIR")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert undolog.default_undo_dir() == str(tmp_path / "state" / "fitsmill" / "undo")
    monkeypatch.setenv("FITSMILL_UNDO_DIR", "/somewhere")
    assert undolog.default_undo_dir() == "/somewhere"


def test_default_log_used_by_default(tmp_path, undo_dir):
    path = make_image(tmp_path / "a.fits")
    original = path.read_bytes()
    header = fitsfile.read_header(path)
    header["OBJECT"] = "x"
    fitsfile.write_header(path, header)
    log_path, = undolog.list_logs()
    assert pathlib.Path(log_path).parent == undo_dir
    undolog.current_log().close()
    assert [o.action for o in undolog.undo(log_path)] == ["undone"]
    assert path.read_bytes() == original


# ---------------------------------------------------------------- DaCHS

def test_dachs_in_place_same_size(tmp_path):
    path = tmp_path / "a.fits"
    fits.PrimaryHDU(np.arange(100, dtype=">i4").reshape(10, 10)).writeto(path)
    header = fitsfile.readPrimaryHeaderQuick(open(path, "rb"))
    header["TELESCOP"] = "Python Telescope"
    header["APERTURE"] = 2
    fitsfile.replacePrimaryHeaderInPlace(str(path), header)
    with fits.open(path) as hdul:
        assert hdul[0].header["BITPIX"] == 32 and hdul[0].header["NAXIS1"] == 10
        assert hdul[0].header["TELESCOP"] == "Python Telescope"
        assert hdul[0].data[1][4] == 14
    fitsverify(path)


def test_dachs_in_place_longer(tmp_path):
    path = tmp_path / "a.fits"
    fits.PrimaryHDU(np.arange(100, dtype=">i4").reshape(10, 10)).writeto(path)
    header = fitsfile.read_header(path)
    for i in range(50):
        header[f"KEY{i}"] = i
    fitsfile.replacePrimaryHeaderInPlace(path, header)
    with fits.open(path) as hdul:
        assert hdul[0].header["KEY49"] == 49 and hdul[0].data[1][4] == 14
    fitsverify(path)


def test_header_type_used(tmp_path):
    path = make_image(tmp_path / "a.fits")
    assert isinstance(fitsfile.read_header(path), Header)


def test_checksums_follow_the_new_header(tmp_path):
    path = make_image(tmp_path / "a.fits", checksum=True)
    header = fitsfile.read_header(path)
    del header["CHECKSUM"]
    del header["DATASUM"]
    before = dict(header.items())
    fitsfile.write_header(path, header)
    assert dict(header.items()) == before          # the caller's header untouched
    with fits.open(path) as hdul:
        assert "CHECKSUM" not in hdul[0].header and "DATASUM" not in hdul[0].header
    fitsverify(path)


def test_waiting_writer_follows_a_rewrite(tmp_path):
    """A writer that waited for the lock while another process replaced the
    file (atomic rewrite) must edit the new file, not the unlinked one."""
    import threading
    path = make_image(tmp_path / "a.fits")
    replacement = make_image(tmp_path / "b.fits", cards=[("OBJECT", "replaced")])
    header = fitsfile.read_header(replacement)
    header["WAITED"] = True
    holder = open(path, "rb")
    fcntl.flock(holder, fcntl.LOCK_EX)
    done = []
    writer = threading.Thread(target=lambda: done.append(
        fitsfile.write_header(path, header, undo=False)))
    writer.start()
    writer.join(0.3)
    assert writer.is_alive() and not done          # waiting for the lock
    os.replace(replacement, path)                 # what a rewrite does
    fcntl.flock(holder, fcntl.LOCK_UN)
    holder.close()
    writer.join(10)
    assert done == ["in place"]
    with fits.open(path) as hdul:
        assert hdul[0].header["OBJECT"] == "replaced" and hdul[0].header["WAITED"]
    fitsverify(path)


def test_scan_of_gzip_and_memory_streams(tmp_path):
    path = make_image(tmp_path / "a.fits", extensions=sample_extensions())
    raw = path.read_bytes()
    expected = [(i.header_offset, i.data_offset, i.data_size)
                for i in fitsfile.iter_hdus(path)]
    for stream in (io.BytesIO(raw), gzip.open(io.BytesIO(gzip.compress(raw)))):
        with stream:
            assert [(i.header_offset, i.data_offset, i.data_size)
                    for i in fitsfile.iter_hdus(stream)] == expected
    with gzip.open(io.BytesIO(gzip.compress(raw))) as stream:
        assert fitsfile.read_header(stream)["NAXIS1"] == 30


def test_reformatted_layout_card_with_same_value_is_accepted(tmp_path):
    path = make_image(tmp_path / "a.fits")
    raw = bytearray(fitsfile.find_hdu(path).header_bytes)
    pos = raw.index(b"NAXIS1  =")
    raw[pos:pos + 80] = b"NAXIS1  = 30 / the same width, free format".ljust(80)
    header = Header.fromstring(bytes(raw))
    header["OBJECT"] = "x"
    before = data_digests(path)
    assert fitsfile.write_header(path, header) == "in place"
    assert data_digests(path) == before
    assert fitsfile.find_hdu(path).header_bytes[pos:pos + 12] == b"NAXIS1  = 30"


def test_fast_layout_keeps_shapes_apart():
    from fitsmill.layout import data_size, fast_layout
    # Same first cards (up to NAXIS1), different NAXIS2 and BITPIX; each
    # twice, so that remembered shapes are used too.
    for _ in range(2):
        for bitpix, naxis2 in [(16, 40), (16, 41), (-32, 41), (16, 40)]:
            header = fits.Header([("SIMPLE", True), ("BITPIX", bitpix), ("NAXIS", 2),
                                  ("NAXIS1", 30), ("NAXIS2", naxis2)])
            raw = header.tostring().encode()
            signature, size = fast_layout(raw, raw.index(b"END     "))
            assert size == data_size(Header.fromstring(raw)) == \
                abs(bitpix) // 8 * 30 * naxis2


def test_layout_card_in_other_case_is_refused(tmp_path):
    # A lower-case keyword is looked up like its upper-case form, so the
    # fast check must see it too.
    path = make_image(tmp_path / "a.fits", extensions=sample_extensions())
    content = path.read_bytes()
    old = fitsfile.read_header(path, "TAB")
    assert "THEAP" not in old
    cards = old.tobytes(padding=False)[:-80] + b"theap   =                  100".ljust(80)
    header = Header.fromstring(cards + b"END".ljust(80))
    assert header["THEAP"] == 100
    with pytest.raises(FitsmillError, match="data layout.*THEAP"):
        fitsfile.write_header(path, header, "TAB")
    assert path.read_bytes() == content


@pytest.mark.parametrize("path", ASTROPY_DATA[::3], ids=os.path.basename)
def test_fast_layout_agrees_with_data_size(path):
    from fitsmill._cards import find_end
    from fitsmill.layout import data_size, fast_layout
    try:
        infos = list(fitsfile.iter_hdus(path))
    except FitsFormatError:
        pytest.skip("not a file fitsmill can scan")
    for info in infos:
        raw = info.header_bytes
        end = len(raw) - 2880 + find_end(raw[-2880:]) * 80
        signature, size = fast_layout(raw, end)
        if size is not None:
            assert size == data_size(info.header)


@pytest.mark.parametrize("path", ASTROPY_DATA, ids=os.path.basename)
def test_plain_primary_agrees_with_astropy(path):
    # The writers' byte-level check: when it accepts a primary header, the
    # header is astropy's, byte for byte, and the keyword fields are those
    # of its cards; it declines whatever astropy would not read as plain.
    from fitsmill._cards import plain_primary
    with open(path, "rb") as f:
        head = f.read(4 * 2880)
    found = plain_primary(head)
    if found is None:
        return
    header, names = found
    oracle = fits.Header.fromstring(header.decode("ascii"))
    assert len(header) % 2880 == 0 and len(header) <= len(head)
    assert header.rstrip(b" ").endswith(b"END")
    assert [names[i:i + 8].decode().rstrip() for i in range(0, len(names), 8)] == \
        [card.image[:8].rstrip() for card in oracle.cards]
    assert header.startswith(b"SIMPLE  =") and b"\0" not in header and header.isascii()


@pytest.mark.parametrize("spoil, accepted", [
    (lambda h: h, True),
    (lambda h: h[:-1] + b"\0", False),          # NUL in the padding
    (lambda h: h[:-1] + b"\xe9", False),        # 8-bit byte in the padding
    (lambda h: h[:100] + b"\t" + h[101:], False),  # tab in a card
    (lambda h: b"XTENSION" + h[8:], False),
    (lambda h: h[:2880], False),                # END beyond the bytes given
])
def test_plain_primary_declines(spoil, accepted):
    from fitsmill._cards import plain_primary
    header = fits.PrimaryHDU(np.zeros((2, 2), np.int16)).header
    for i in range(40):
        header[f"KEY{i}"] = i
    raw = spoil(header.tostring().encode("ascii"))
    assert (plain_primary(raw) is not None) == accepted


def _batch_files(directory):
    """Files for update_headers: plain, checksummed, one whose edit grows
    it, one left unchanged."""
    directory.mkdir()
    return [make_image(directory / f"f{i}.fits", checksum=(i % 2 == 1),
                       cards=[("OBJECT", f"field {i}")]) for i in range(7)]


def _batch_edit(i):
    def edit(header):
        if i != 4:                       # file 4: unchanged (no checksum,
            # whose comment carries the time)
            header["OBSERVER"] = f"obs {i}"
            header["SEQ"] = i
        if i == 3:                       # grows: an atomic rewrite
            for k in range(40):
                header[f"GROW{k}"] = k
        return header
    return edit


@pytest.mark.parametrize("fsync", [False, True])
def test_update_headers_matches_update_header(tmp_path, fsync):
    one = _batch_files(tmp_path / "one")
    many = _batch_files(tmp_path / "many")
    before = [p.read_bytes() for p in many]
    expected = [fitsfile.update_header(p, _batch_edit(i), undo=False)
                for i, p in enumerate(one)]
    log = undolog.UndoLog(tmp_path / "logs")
    # Groups of 2: commits inside the run, after a rewrite and at the end.
    results = fitsfile.update_headers([(p, _batch_edit(i)) for i, p in enumerate(many)],
                                      undo=log, fsync=fsync, group=2)
    log.close()
    assert results == expected
    assert results.count("in place") == 5 and results[3] == "rewritten" and \
        results[4] == "unchanged"
    for a, b in zip(one, many):
        # The same bytes, but for the checksums (their comments carry the
        # time), which must verify.
        ra, rb = a.read_bytes(), b.read_bytes()
        assert len(ra) == len(rb) and data_digests(a) == data_digests(b)
        assert [c for c in cards_of(ra) if c[:8] not in (b"CHECKSUM", b"DATASUM ")] == \
            [c for c in cards_of(rb) if c[:8] not in (b"CHECKSUM", b"DATASUM ")]
        fitsverify(b)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fits.open(b, checksum=True).close()
    assert undolog.log_summary(log.path) == {"done": 6}
    assert all(o.action == "undone" for o in undolog.undo(log.path, fsync=False))
    assert [p.read_bytes() for p in many] == before


def test_update_headers_same_file_twice_and_errors(tmp_path):
    path = make_image(tmp_path / "a.fits", cards=[("COUNTER", 0)])
    other = make_image(tmp_path / "b.fits")
    bad = tmp_path / "bad.fits"
    bad.write_bytes(b"not FITS" * 400)
    later = make_image(tmp_path / "c.fits")
    later_bytes = later.read_bytes()

    def bump(header):
        header["COUNTER"] += 1
        return header

    def mark(header):
        header["MARK"] = True
        return header

    # The second edit of a.fits must see the first: it is still pending in
    # the group, so the group is committed before the file is locked again.
    assert fitsfile.update_headers([(path, bump), (path, bump)], undo=False) == \
        ["in place", "in place"]
    assert fitsfile.read_header(path)["COUNTER"] == 2
    with pytest.raises(FitsFormatError, match="bad.fits"):
        fitsfile.update_headers([(path, bump), (other, mark), (bad, mark),
                                 (later, mark)], undo=False)
    # Files before the bad one are written, the one after is not touched.
    assert fitsfile.read_header(path)["COUNTER"] == 3
    assert fitsfile.read_header(other)["MARK"] is True
    assert later.read_bytes() == later_bytes
    with pytest.raises(ValueError, match="group"):
        fitsfile.update_headers([], group=0)


def test_update_headers_commits_before_waiting_for_a_lock(tmp_path):
    first = make_image(tmp_path / "a.fits")
    locked = make_image(tmp_path / "b.fits")

    def mark(header):
        header["MARK"] = True
        return header

    with open(locked, "rb") as holder:
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX)
        with pytest.raises(FitsmillError, match="lock held"):
            fitsfile.update_headers([(first, mark), (locked, mark)], undo=False,
                                    wait=False)
        # a.fits was committed (and unlocked) before b.fits's lock was
        # asked for.
        assert fitsfile.read_header(first)["MARK"] is True
        assert "MARK" not in fitsfile.read_header(locked)


def test_undo_restores_headers_with_json_special_characters(tmp_path):
    # Quotes and backslashes in the logged header (escaped in the JSON
    # log), and without them (written as they are).
    paths = [make_image(tmp_path / "q.fits", cards=[("NOTE", 'say "hi" \\ C:\\x')]),
             make_image(tmp_path / "p.fits", cards=[("NOTE", "plain")])]
    before = [p.read_bytes() for p in paths]
    log = undolog.UndoLog(tmp_path / "logs", fsync=False)

    def edit(header):
        header["NOTE"] = "changed"
        return header

    assert fitsfile.update_headers([(p, edit) for p in paths], undo=log, fsync=False) \
        == ["in place", "in place"]
    log.close()
    assert [o.action for o in undolog.undo(log.path, fsync=False)] == ["undone"] * 2
    assert [p.read_bytes() for p in paths] == before


# ---------------------------------------------------------------- properties

_KEYS = [f"KEY{i}" for i in range(12)] + ["OBJECT", "OBSERVER", "EXPTIME"]
_VALUES = st.one_of(
    st.integers(-10**12, 10**12), st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False, width=64).filter(
        lambda x: abs(x) < 1e200 and (x == 0 or abs(x) > 1e-200)),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60))
_OPS = st.lists(st.one_of(
    st.tuples(st.just("set"), st.sampled_from(_KEYS), _VALUES),
    st.tuples(st.just("del"), st.sampled_from(_KEYS), st.none()),
    st.tuples(st.just("history"), st.just(""),
              st.text(st.characters(min_codepoint=32, max_codepoint=126),
                      min_size=1, max_size=100))), max_size=40)


@settings(derandomize=True, max_examples=25, deadline=None)
@given(_OPS, st.booleans())
def test_random_edits_match_astropy(tmp_path_factory, ops, with_checksum):
    path = make_image(tmp_path_factory.mktemp("prop") / "a.fits",
                      checksum=with_checksum, cards=[("OBJECT", "start")])
    before = data_digests(path)
    with fits.open(path) as hdul:
        expected = hdul[0].header.copy()

    def edit(header):
        for op, key, value in ops:
            for h in (header, expected):
                if op == "set":
                    h[key] = value
                elif op == "del":
                    if key in h:
                        del h[key]
                else:
                    h.add_history(value)
        return header

    fitsfile.update_header(path, edit, undo=False, fsync=False)
    assert data_digests(path) == before
    fitsverify(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with fits.open(path, checksum=True) as hdul:
            got = hdul[0].header
    skip = {"CHECKSUM", "DATASUM", ""}
    got_cards = [(c.keyword, c.value) for c in got.cards if c.keyword not in skip]
    want_cards = [(c.keyword, c.value) for c in expected.cards if c.keyword not in skip]
    assert got_cards == want_cards


@pytest.mark.parametrize("card, value, message", [
    ("NAXIS2  ", "-40", "NAXIS2"), ("BITPIX  ", "17", "BITPIX"),
    ("NAXIS1  ", "3000000000", "truncated")])
def test_bad_layout_values(tmp_path, card, value, message):
    path = make_image(tmp_path / "a.fits")
    raw = bytearray(path.read_bytes())
    pos = raw.index(card.encode() + b"=")
    raw[pos + 10:pos + 30] = value.rjust(20).encode()
    path.write_bytes(bytes(raw))
    for call in (lambda: list(fitsfile.iter_hdus(path)),
                 lambda: fitsfile.write_header(path, Header.fromstring(bytes(raw)))):
        with pytest.raises(FitsFormatError, match=message):
            call()
    assert path.read_bytes() == bytes(raw)


def test_write_header_bytes_checks_its_input(tmp_path):
    path = make_image(tmp_path / "a.fits")
    content = path.read_bytes()
    no_end = content[:2880].replace(b"END     ", b"XND     ")
    for bad in (b"SIMPLE", b" " * 2880, no_end, content[:2880] + b" " * 80):
        with pytest.raises(ValueError, match="whole 2880-byte blocks ending with END"):
            fitsfile.write_header_bytes(path, 0, 2880, bad, undo=False)
    with pytest.raises(FitsFormatError, match="file ends inside"):
        fitsfile.write_header_bytes(path, len(content) - 80, 2880, content[:2880],
                                    undo=False)
    assert path.read_bytes() == content
