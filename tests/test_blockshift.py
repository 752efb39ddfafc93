"""Growing a header at the start of a big file by shifting the data
(fitsmill.blockshift): the data bytes stay put on disk, the file keeps its
inode, the undo log can roll back every interrupted step and undo restores
the file byte for byte.  The oracles are astropy (header and data),
fitsverify and the original bytes.

The file system of the test directory must be able to insert ranges
(ext4, XFS); where it cannot, the shifting tests are skipped and the
fallback test (on tmpfs) still runs.
"""

import os
import stat

import numpy as np
import pytest
from astropy.io import fits

from common import data_digests, fitsverify, shift_unit
from fitsmill import blockshift, fitsfile, undolog
from fitsmill._fileops import collapse_range, insert_range

BLOCK = 2880


def make_plate(path, rows):
    """An int16 image of ``rows`` x 4000 pixels (8000 bytes per row) with
    distinct values, written row band by row band."""
    header = fits.Header([("SIMPLE", True), ("BITPIX", 16), ("NAXIS", 2),
                          ("NAXIS1", 4000), ("NAXIS2", rows), ("OBJECT", "shift test")])
    row = np.arange(4000, dtype=np.int16)
    with open(path, "wb") as f:
        f.write(header.tostring().encode("ascii"))
        for i in range(0, rows, 100):
            band = np.vstack([row + j for j in range(i, min(i + 100, rows))])
            f.write(band.astype(">i2").tobytes())
        f.write(b"\0" * (-f.tell() % BLOCK))
    return path


def grow(header, n=50):
    for i in range(n):
        header[f"GROW{i}"] = (i, f"card {i}")
    return header


@pytest.fixture
def plate(tmp_path):
    """A plate with more data after its header than blockshift.MIN_SHIFTED."""
    rows = blockshift.MIN_SHIFTED // 8000 + 100
    return make_plate(tmp_path / "plate.fits", rows)


def test_big_header_grows_by_shifting(tmp_path, plate):
    unit = shift_unit(tmp_path)
    os.chmod(plate, 0o640)
    link = tmp_path / "link.fits"
    os.link(plate, link)
    original = plate.read_bytes()
    digests = data_digests(plate)
    old_blocks = fitsfile.find_hdu(plate).header_size // BLOCK
    inode = os.stat(plate).st_ino
    log = undolog.UndoLog(tmp_path / "logs")

    assert fitsfile.update_header(plate, grow, undo=log) == "grown"

    st = os.stat(plate)
    assert st.st_ino == inode and stat.S_IMODE(st.st_mode) == 0o640
    grown = fitsfile.find_hdu(plate).header_size
    assert (grown - old_blocks * BLOCK) % unit == 0 and grown > old_blocks * BLOCK
    assert st.st_size == len(original) + grown - old_blocks * BLOCK
    assert link.read_bytes() == plate.read_bytes()     # one file, two names
    assert data_digests(plate) == digests
    expected = grow(fits.Header.fromstring(original[:old_blocks * BLOCK].decode()))
    with fits.open(plate) as hdul:
        got = hdul[0].header
        assert [(c.keyword, c.value, c.comment) for c in got.cards if c.keyword] == \
            [(c.keyword, c.value, c.comment) for c in expected.cards if c.keyword]
        assert hdul[0].data[1234, 17] == 1234 + 17
    fitsverify(plate)

    # The headroom takes later edits in place.
    assert fitsfile.update_header(plate, lambda h: grow(h, 200), undo=log) == "in place"
    log.close()

    outcomes = undolog.undo(log.path)
    assert [o.action for o in outcomes] == ["undone", "undone"]
    assert plate.read_bytes() == original
    assert os.stat(plate).st_ino == inode


def test_without_undo_log_the_file_is_copied(tmp_path, plate):
    shift_unit(tmp_path)
    inode = os.stat(plate).st_ino
    needed = fitsfile.find_hdu(plate).header_size // BLOCK + 1
    assert fitsfile.update_header(plate, grow, undo=False) == "rewritten"
    assert os.stat(plate).st_ino != inode
    assert fitsfile.find_hdu(plate).header_size == needed * BLOCK   # no headroom


def test_grow_copy_never_shifts(tmp_path, plate):
    shift_unit(tmp_path)
    inode = os.stat(plate).st_ino
    needed = fitsfile.find_hdu(plate).header_size // BLOCK + 1
    log = undolog.UndoLog(tmp_path / "logs")
    assert fitsfile.update_header(plate, grow, undo=log, grow="copy") == "rewritten"
    log.close()
    assert os.stat(plate).st_ino != inode
    assert fitsfile.find_hdu(plate).header_size == needed * BLOCK


def test_cli_grow_policies(tmp_path, plate):
    """``fitsmill headers set`` shifts by default and copies with --grow copy."""
    from fitsmill.cli import main
    shift_unit(tmp_path)
    keys = [f"NEW{i}=1" for i in range(40)]
    other = tmp_path / "other.fits"
    other.write_bytes(plate.read_bytes())
    inodes = os.stat(plate).st_ino, os.stat(other).st_ino
    assert main(["headers", "set", *keys, str(plate)]) == 0
    assert main(["headers", "set", "--grow", "copy", *keys, str(other)]) == 0
    assert os.stat(plate).st_ino == inodes[0] and os.stat(other).st_ino != inodes[1]
    assert fitsfile.read_header(plate)["NEW39"] == fitsfile.read_header(other)["NEW39"] == 1
    assert data_digests(plate) == data_digests(other)


def test_small_files_are_copied(tmp_path):
    shift_unit(tmp_path)
    path = make_plate(tmp_path / "small.fits", 100)
    log = undolog.UndoLog(tmp_path / "logs")
    assert fitsfile.update_header(path, grow, undo=log) == "rewritten"
    assert fitsfile.find_hdu(path).header_size == 2 * BLOCK
    log.close()


def test_extension_headers_are_copied(tmp_path):
    shift_unit(tmp_path)
    path = tmp_path / "ext.fits"
    fits.HDUList([fits.PrimaryHDU(),
                  fits.ImageHDU(np.zeros((2200, 4000), ">i2"), name="SCI")]).writeto(path)
    log = undolog.UndoLog(tmp_path / "logs")
    assert fitsfile.update_header(path, grow, ext="SCI", undo=log) == "rewritten"
    log.close()
    fitsverify(path)


def interrupted(tmp_path, path, old, new, how, written):
    """Log a resize as blockshift does, shift the file, write ``written``
    bytes of the new header and stop (as a killed process would); return
    the log's directory."""
    logdir = tmp_path / "logs"
    log = undolog.UndoLog(logdir)
    log.begin(str(path), 0, old, new, os.stat(path), how)
    fd = os.open(path, os.O_RDWR)
    try:
        delta = len(new) - len(old)
        if delta > 0:
            insert_range(fd, 0, delta)
        else:
            collapse_range(fd, 0, -delta)
        os.pwrite(fd, new[:written], 0)
    finally:
        os.close(fd)
    log.close()
    return logdir


def grown_header(path, unit, edit=grow):
    """The old header bytes of ``path`` and the edited header laid out in
    one shift step more, as blockshift writes it."""
    old = fitsfile.find_hdu(path).header_bytes
    cards = edit(fitsfile.read_header(path)).tobytes(padding=False)[:-80]
    return old, cards + b" " * (len(old) + unit - len(cards) - 80) + b"END".ljust(80)


@pytest.mark.parametrize("written", [0, 5000, "all but one block"])
def test_recover_rolls_back_an_interrupted_insert(tmp_path, plate, written):
    unit = shift_unit(tmp_path)
    original = plate.read_bytes()
    old, new = grown_header(plate, unit)
    if written == "all but one block":
        written = len(new) - BLOCK
    logdir = interrupted(tmp_path, plate, old, new, "insert", written)
    broken = plate.read_bytes()
    assert broken != original and broken[:len(new)] != new
    outcome, = undolog.recover(logdir)
    assert outcome.action == "rolled back"
    assert plate.read_bytes() == original
    assert undolog.recover(logdir) == []


def test_recover_completes_a_finished_insert(tmp_path, plate):
    unit = shift_unit(tmp_path)
    old, new = grown_header(plate, unit, edit=lambda h: h)
    logdir = interrupted(tmp_path, plate, old, new, "insert", len(new))
    outcome, = undolog.recover(logdir)
    assert outcome.action == "completed"
    assert fitsfile.find_hdu(plate).header_size == len(new)


@pytest.mark.parametrize("written", [0, 1000])
def test_recover_rolls_back_an_interrupted_collapse(tmp_path, plate, written):
    shift_unit(tmp_path)
    new = fitsfile.find_hdu(plate).header_bytes     # shrinking back, as undo does
    log = undolog.UndoLog(tmp_path / "grow-log")
    assert fitsfile.update_header(plate, grow, undo=log) == "grown"
    log.close()
    grown = plate.read_bytes()
    old = fitsfile.find_hdu(plate).header_bytes
    logdir = interrupted(tmp_path, plate, old, new, "collapse", written)
    outcome, = undolog.recover(logdir)
    assert outcome.action == "rolled back"
    assert plate.read_bytes() == grown


def test_file_systems_that_cannot_shift_get_a_copy(monkeypatch, tmp_path):
    """tmpfs cannot insert ranges: the write falls back to the atomic copy,
    and the log records the shift as void."""
    shm = "/dev/shm"
    if not os.access(shm, os.W_OK):
        pytest.skip("no writable /dev/shm")
    monkeypatch.setattr(blockshift, "MIN_SHIFTED", 0)
    directory = os.path.join(shm, f"fitsmill-test-{os.getpid()}")
    os.makedirs(directory)
    try:
        path = make_plate(os.path.join(directory, "a.fits"), 200)
        digests = data_digests(path)
        log = undolog.UndoLog(tmp_path / "logs")
        assert fitsfile.update_header(path, grow, undo=log) == "rewritten"
        log.close()
        assert data_digests(path) == digests
        fitsverify(path)
        assert undolog.log_summary(log.path) == {"void": 1, "done": 1}
    finally:
        for name in os.listdir(directory):
            os.unlink(os.path.join(directory, name))
        os.rmdir(directory)
