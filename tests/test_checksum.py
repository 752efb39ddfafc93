"""The checksum kernel and fitsmill.checksum, against a plain-NumPy reference
and astropy's implementation of the FITS checksum convention."""

import os
import warnings

import numpy as np
import pytest
from astropy.io import fits
from astropy.io.fits.hdu.base import _ValidHDU
from hypothesis import given, settings
from hypothesis import strategies as st

from common import fitsverify

from fitsmill import _checksum, checksum, fitsfile
from fitsmill.header import Header

WORDS = st.binary(max_size=4096).map(lambda b: b[:len(b) // 4 * 4])


def numpy_sum(data, start=0):
    """Reference: big-endian words summed exactly, then the carries folded
    back in (ones'-complement addition)."""
    words = np.frombuffer(data, dtype=">u4").astype(np.uint64)
    total = int(words.sum()) + start
    while total >> 32:
        total = (total & 0xFFFFFFFF) + (total >> 32)
    return total


def astropy_encode(value):
    return _ValidHDU.__new__(_ValidHDU)._char_encode(value)


@settings(derandomize=True, max_examples=300, deadline=None)
@given(WORDS, st.integers(0, 0xFFFFFFFF))
def test_kernel_matches_numpy(data, start):
    assert _checksum.update(data, start) == numpy_sum(data, start)


@settings(derandomize=True, max_examples=100, deadline=None)
@given(WORDS, WORDS)
def test_pieces_combine(a, b):
    whole = _checksum.update(a + b)
    assert _checksum.add(_checksum.update(a), _checksum.update(b)) == whole
    assert _checksum.update(b, _checksum.update(a)) == whole


def test_kernel_on_large_carry_heavy_buffer():
    data = b"\xff" * (1 << 22) + os.urandom(4096)
    assert _checksum.update(data) == numpy_sum(data)
    view = memoryview(bytearray(data))[8:]
    assert checksum.bytes_sum(view) == numpy_sum(data[8:])


def test_kernel_rejects_ragged_length():
    with pytest.raises(ValueError, match="multiple of 4"):
        _checksum.update(b"abcde")


@settings(derandomize=True, max_examples=300, deadline=None)
@given(st.integers(0, 0xFFFFFFFF))
def test_encoding_matches_astropy(value):
    assert _checksum.encode(value) == astropy_encode(value)


def write_hdus(path, with_checksum=True):
    rng = np.random.default_rng(5)
    hdus = [fits.PrimaryHDU(rng.integers(0, 60000, (33, 47)).astype(">u2")),
            fits.ImageHDU(rng.normal(size=(10, 9))),
            fits.BinTableHDU.from_columns([fits.Column("a", "D", array=rng.normal(size=11))]),
            fits.ImageHDU()]
    fits.HDUList(hdus).writeto(path, checksum=with_checksum)
    return path


def test_data_sum_matches_astropy_datasum(tmp_path):
    path = write_hdus(tmp_path / "a.fits")
    with open(path, "rb") as f:
        for info in fitsfile.iter_hdus(path):
            ours = checksum.data_sum(f.fileno(), info.data_offset, info.data_size)
            assert str(ours) == info.header["DATASUM"]


def test_data_sum_counts_missing_fill_as_zeros(tmp_path):
    path = write_hdus(tmp_path / "a.fits")
    info = list(fitsfile.iter_hdus(path))[-2]     # the table, near the end
    full = path.read_bytes()
    short = tmp_path / "short.fits"
    short.write_bytes(full[:info.data_offset + info.data_size])
    with open(path, "rb") as f, open(short, "rb") as g:
        assert checksum.data_sum(g.fileno(), info.data_offset, info.data_size) == \
            checksum.data_sum(f.fileno(), info.data_offset, info.data_size)


def test_data_sum_streams_in_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(checksum, "_CHUNK", 4 * 2880)
    path = write_hdus(tmp_path / "a.fits")
    info = fitsfile.find_hdu(path)
    with open(path, "rb") as f:
        assert str(checksum.data_sum(f.fileno(), info.data_offset, info.data_size)) \
            == info.header["DATASUM"]


def test_fill_checksum_verifies_in_astropy_and_fitsverify(tmp_path):
    path = write_hdus(tmp_path / "a.fits", with_checksum=False)
    with open(path, "r+b") as f:
        for info in fitsfile.iter_hdus(path):
            header = info.header.copy()
            datasum = checksum.data_sum(f.fileno(), info.data_offset, info.data_size)
            checksum.stamp(header, datasum)
            raw = header.tobytes()
            assert len(raw) == info.header_size
            filled = checksum.fill_checksum(raw, datasum)
            assert checksum.bytes_sum(filled, datasum) == checksum.NEGATIVE_ZERO
            os.pwrite(f.fileno(), filled, info.header_offset)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with fits.open(path, checksum=True) as hdul:
            assert all("CHECKSUM" in h.header for h in hdul)
    fitsverify(path)


def test_fill_checksum_needs_zero_card():
    header = Header([("SIMPLE", True), ("BITPIX", 8), ("NAXIS", 0)])
    with pytest.raises(ValueError, match="CHECKSUM"):
        checksum.fill_checksum(header.tobytes(), 0)


@pytest.mark.parametrize("value", ["12", " 4294967295 ", 0])
def test_parse_datasum(value):
    assert checksum.parse_datasum(value) == int(str(value).strip())


@pytest.mark.parametrize("value", ["-1", "4294967296", "abc", None])
def test_parse_datasum_rejects(value):
    with pytest.raises(ValueError, match="DATASUM"):
        checksum.parse_datasum(value, path="x.fits")
