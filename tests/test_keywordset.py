"""KeywordSet: its byte-level fast path writes exactly what the general
path (a Header edited with ``h[key] = value``) writes, and declines every
header it cannot handle the same way."""

import os

import numpy as np
import pytest
from astropy.io import fits
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common import data_digests, fitsverify
from fitsmill import fitsfile
from fitsmill.errors import FitsFormatError
from fitsmill.keywordset import KeywordSet

BLOCK = 2880


def write_fits(path, cards, data_rows=4):
    """A small int16 image with ``cards`` appended to its primary header
    (astropy writes it, so the file is standard)."""
    hdu = fits.PrimaryHDU(np.arange(data_rows * 10, dtype=np.int16).reshape(data_rows, 10))
    for card in cards:
        hdu.header.append(card)
    hdu.writeto(path)
    return path


def both_ways(tmp_path, cards, values, name="f"):
    """Write the same edit through the fast path and the general path;
    return (results or errors, file bytes) for each."""
    outcomes = []
    for how in ("fast", "general"):
        path = str(tmp_path / f"{name}-{how}.fits")
        if not os.path.exists(path):
            write_fits(path, cards)
        edit = KeywordSet(values)
        if how == "general":
            edit = edit.__call__   # a plain callable: the Header path
        try:
            result = fitsfile.update_header(path, edit, undo=False, fsync=False)
        except Exception as exc:   # the error must be the same too
            result = (type(exc), str(exc).replace(path, "PATH"))
        with open(path, "rb") as f:
            outcomes.append((result, f.read()))
    return outcomes


def block_of(path):
    with open(path, "rb") as f:
        return f.read(BLOCK)


def test_common_case_takes_the_fast_path_and_matches(tmp_path):
    cards = [("OBSERVER", "Hubble", "who"), ("EXPTIME", 30.0, "[s] exposure"),
             ("PLATENUM", 117), ("HISTORY", "scanned 2024")]
    path = write_fits(str(tmp_path / "a.fits"), cards)
    values = {"OBSERVER": "Baade", "EXPTIME": (45.5, "[s] corrected"),
              "NEWKEY": ("x", "added"), "SEQ": 3}
    from fitsmill._cards import check_header
    block = block_of(path)
    assert KeywordSet(values).splice(block, check_header(block)) is not None
    (fast_result, fast), (general_result, general) = both_ways(tmp_path, cards, values)
    assert fast_result == general_result == "in place"
    assert fast == general
    out = str(tmp_path / "f-fast.fits")
    fitsverify(out)
    header = fits.getheader(out)
    assert header["OBSERVER"] == "Baade" and header.comments["OBSERVER"] == "who"
    assert header["EXPTIME"] == 45.5 and header.comments["EXPTIME"] == "[s] corrected"
    assert header["NEWKEY"] == "x" and header["SEQ"] == 3
    # new cards go above the HISTORY block, in the order given
    keys = list(header.keys())
    assert keys.index("NEWKEY") < keys.index("SEQ") < keys.index("HISTORY")
    assert data_digests(out) == data_digests(path)


def test_same_value_leaves_the_file_unchanged(tmp_path):
    cards = [("OBSERVER", "Hubble", "who")]
    (fast_result, fast), (general_result, general) = both_ways(
        tmp_path, cards, {"OBSERVER": "Hubble"})
    assert fast_result == general_result == "unchanged" and fast == general


@pytest.mark.parametrize("cards, values", [
    ([("CHECKSUM", "0000000000000000"), ("DATASUM", "0")], {"A": 1}),
    ([("HIERARCH ESO DET CHIP", 3)], {"OBSERVER": "x"}),
    ([("OBSERVER", "x" * 100)], {"OBSERVER": "y"}),                # CONTINUE
    ([(f"K{i}", i) for i in range(28)], {"NEWONE": 1, "NEWTWO": 2}),   # full block
    ([], {"BITPIX": 32}),                                           # layout
    ([], {"COMMENT": "text"}),
])
def test_declined_headers_get_the_general_path(tmp_path, cards, values):
    (fast_result, fast), (general_result, general) = both_ways(tmp_path, cards, values)
    assert fast_result == general_result and fast == general
    path = str(tmp_path / "probe.fits")
    write_fits(path, cards)
    from fitsmill._cards import check_header
    block = block_of(path)
    if values != {"A": 1} and not os.path.getsize(path) == 0:
        names = check_header(block) if b"END     " in block else None
        if names is not None:
            assert KeywordSet(values).splice(block, names) is None


def test_lower_case_keyword_in_the_file_is_found_like_the_header_does(tmp_path):
    path = write_fits(str(tmp_path / "f-fast.fits"), [])
    block = bytearray(block_of(path))
    end = bytes(block).index(b"END     ")
    block[end:end + 80] = b"observer= 'old'".ljust(80)
    block[end + 80:end + 160] = b"END".ljust(80)
    with open(path, "r+b") as f:
        f.write(block)
    general = str(tmp_path / "f-general.fits")
    with open(path, "rb") as src, open(general, "wb") as dst:
        dst.write(src.read())
    fitsfile.update_header(path, KeywordSet({"OBSERVER": "new"}), undo=False, fsync=False)
    fitsfile.update_header(general, KeywordSet({"OBSERVER": "new"}).__call__,
                           undo=False, fsync=False)
    assert block_of(path) == block_of(general)
    assert block_of(path).count(b"OBSERVER") + block_of(path).count(b"observer") == 1


def test_errors_are_the_general_paths(tmp_path):
    path = write_fits(str(tmp_path / "t.fits"), [])
    os.truncate(path, os.path.getsize(path) - BLOCK)
    with pytest.raises(FitsFormatError, match="truncated"):
        fitsfile.update_header(path, KeywordSet({"A": 1}), undo=False, fsync=False)
    path = write_fits(str(tmp_path / "c.fits"), [("OBSERVER", "x")])
    with open(path, "r+b") as f:
        f.seek(BLOCK - 2000)
        block = f.read(10)
        assert block.strip() == b""   # padding after END: not looked at
        f.seek(5 * 80 + 20)
        f.write(b"\t")
    with pytest.raises(FitsFormatError, match="not printable"):
        fitsfile.update_header(path, KeywordSet({"A": 1}), undo=False, fsync=False)


def test_bad_keywordsets_are_refused():
    with pytest.raises(ValueError):
        KeywordSet([("A", 1), ("a", 2)])
    with pytest.raises(ValueError):
        KeywordSet({"A": (1, "tab\there")})


_keys = st.sampled_from(["OBSERVER", "EXPTIME", "SEQ", "OBJECT", "NEWKEY", "PLATE-ID",
                         "DATE_OBS", "A", "Z9"])
_values = st.one_of(
    st.booleans(), st.integers(-10**12, 10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
    st.none())
_comments = st.one_of(st.none(), st.text(st.characters(min_codepoint=32, max_codepoint=126),
                                         max_size=30))
_existing = st.lists(st.tuples(_keys, _values, _comments.map(lambda c: c or "")),
                     max_size=6)
_commentary = st.lists(st.tuples(st.sampled_from(["HISTORY", "COMMENT", ""]),
                                 st.text(st.characters(min_codepoint=32, max_codepoint=126),
                                         max_size=20)), max_size=3)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(existing=_existing, commentary=_commentary, filler=st.integers(0, 70),
       sets=st.dictionaries(_keys, st.tuples(_values, _comments), min_size=1, max_size=4))
def test_fast_path_matches_general_path(tmp_path_factory, existing, commentary, filler,
                                        sets):
    tmp_path = tmp_path_factory.mktemp("ks")
    seen, cards = set(), [(f"FILL{i}", i) for i in range(filler)]   # 1-3 blocks
    for key, value, comment in existing:
        if key not in seen:
            seen.add(key)
            cards.append((key, value, comment))
    cards += commentary
    values = {key: value if comment is None else (value, comment)
              for key, (value, comment) in sets.items()}
    try:
        write_fits(str(tmp_path / "probe.fits"), cards)
    except (ValueError, fits.verify.VerifyError):
        return    # a header astropy will not write: nothing to compare
    (fast_result, fast), (general_result, general) = both_ways(tmp_path, cards, values)
    assert fast_result == general_result
    assert fast == general


def read_header_and_names(path):
    from fitsmill._cards import check_header
    with open(path, "rb") as f:
        data = f.read(10 * BLOCK)
    end = data.index(b"END" + b" " * 77)
    header = data[:(end // BLOCK + 1) * BLOCK]
    return header, check_header(header)


@pytest.mark.parametrize("blanks", [0, 12])
def test_multi_block_headers_take_the_fast_path(tmp_path, blanks):
    # 40 cards: two blocks; with trailing blank cards too, which the writer
    # drops (then the cards need only one block of the two: END goes last)
    cards = [(f"KEY{i}", i) for i in range(25 if blanks else 40)] + [("", "")] * blanks
    probe = write_fits(str(tmp_path / "probe.fits"), cards)
    header, names = read_header_and_names(probe)
    assert len(header) == 2 * BLOCK
    values = {"KEY3": 33, "NEW": 1} if not blanks else {"KEY3": 34}
    assert KeywordSet(values).splice(header, names) is not None
    (fast_result, fast), (general_result, general) = both_ways(tmp_path, cards, values)
    assert fast_result == general_result == "in place" and fast == general
    fitsverify(str(tmp_path / "f-fast.fits"))
    if blanks:   # the cards fit one block now: END is the last card of two
        assert fast[2 * BLOCK - 80:2 * BLOCK].rstrip() == b"END"
