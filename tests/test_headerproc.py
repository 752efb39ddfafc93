"""Header processors and sort_headers.

The DaCHS ProcessorTest sequence, the manual's SillyProcessor and LinkAdder,
several processors with their own caches, stale and missing caches,
keepKeys, and DaCHS's SortHeadersTest made idempotent.  astropy.io.fits reads
back every header; fitsverify checks every file and cache written; a hash of
the data bytes proves they never change.
"""

import os

import numpy as np
import pytest
from astropy.io import fits
from hypothesis import given, settings, strategies as st

from common import data_digests, fitsverify
from fitsmill import api
from fitsmill.errors import CannotComputeHeader, FitsFormatError
from fitsmill.header import Card, Header
from fitsmill.headerproc import HeaderProcessor, ImmediateHeaderProcessor, sort_headers
from fitsmill.processor import procmain


def run(cls, tmp_path, *argv, pattern="*.fits"):
    return procmain(cls, sources=[str(tmp_path / pattern)], exit=False,
                    argv=["--no-progress", "--no-fsync", *argv])


def keywords(path_or_header):
    if isinstance(path_or_header, Header):
        return [c.keyword for c in fits.Header.fromstring(
            path_or_header.tostring()).cards]
    return [c.keyword for c in fits.getheader(path_or_header).cards]


# --------------------------------------------------- DaCHS ProcessorTest

def make_seed_files(tmp_path, count=10):
    for seed in range(count):
        hdu = fits.PrimaryHDU(np.arange(2 * (seed + 1), dtype=np.int16)
                              .reshape(2, seed + 1))
        hdu.header["SEED"] = seed
        hdu.header["WEIRD"] = "W" * seed
        hdu.header["RECIP"] = 1.0 / (1 + seed)
        hdu.writeto(tmp_path / f"src{seed}.fits")


class SquareProcessor(api.HeaderProcessor):
    def _createAuxiliaries(self, dd):
        self.headersBuilt = 0

    def _isProcessed(self, srcName):
        return "SQUARE" in self.getPrimaryHeader(srcName)

    def _getHeader(self, srcName):
        hdr = self.getPrimaryHeader(srcName)
        hdr["SQUARE"] = hdr["SEED"] ** 2
        self.headersBuilt += 1
        return hdr


def test_dachs_processor_sequence(tmp_path, capsys, monkeypatch):
    make_seed_files(tmp_path)
    hashes = {p: data_digests(p) for p in tmp_path.glob("*.fits")}

    # 1. --bail: caches for all, files untouched
    proc = run(SquareProcessor, tmp_path, "--bail")
    out, err = capsys.readouterr()
    assert err == ""
    assert "10 files processed, 0 files with errors" in out.split("\r")[-1]
    assert proc.headersBuilt == 10
    assert fits.getheader(tmp_path / "src9.fits.hdr")["SQUARE"] == 81
    assert "SQUARE" not in fits.getheader(tmp_path / "src9.fits")
    for cache in tmp_path.glob("*.hdr"):
        fitsverify(cache)
        with fits.open(cache) as hdul:
            assert (hdul[0].header["BITPIX"], hdul[0].header["NAXIS"]) == (8, 0)
            assert hdul[0].data is None and len(hdul) == 1
    # 2. caches are respected
    assert run(SquareProcessor, tmp_path).headersBuilt == 0
    # 3. --no-compute with a cache missing: nothing built, the file is listed
    os.unlink(tmp_path / "src4.fits.hdr")
    capsys.readouterr()
    proc = run(SquareProcessor, tmp_path, "--no-compute")
    assert proc.headersBuilt == 0
    assert proc.missingCaches == [str(tmp_path / "src4.fits")]
    assert "1 files had no cached header" in capsys.readouterr().out
    # 4. only the missing cache is computed
    assert run(SquareProcessor, tmp_path).headersBuilt == 1
    # 5. --reprocess recomputes all
    assert run(SquareProcessor, tmp_path, "--reprocess").headersBuilt == 10
    # 6. --apply writes the cached headers; the data survive
    assert run(SquareProcessor, tmp_path, "--apply").headersBuilt == 0
    with fits.open(tmp_path / "src9.fits") as hdul:
        assert hdul[0].header["SQUARE"] == 81
        assert hdul[0].data.shape == (2, 10)
        assert hdul[0].header["WEIRD"] == "W" * 9
    for path, digest in hashes.items():
        assert data_digests(path) == digest
        fitsverify(path)
    # 7. --reprocess computes even for processed files
    assert run(SquareProcessor, tmp_path, "--reprocess").headersBuilt == 10

    # 8. a bug fix: recompute with the new _getHeader
    def cube(self, srcName):
        hdr = self.getPrimaryHeader(srcName)
        hdr["SQUARE"] = hdr["SEED"] ** 3
        self.headersBuilt += 1
        return hdr
    monkeypatch.setattr(SquareProcessor, "_getHeader", cube)
    run(SquareProcessor, tmp_path, "--reprocess")
    assert fits.getheader(tmp_path / "src6.fits.hdr")["SQUARE"] == 216


def test_parallel_run_gathers_counts(tmp_path):
    make_seed_files(tmp_path, 6)
    proc = run(SquareProcessor, tmp_path, "-j", "2", "--apply")
    assert proc.headersBuilt == 6
    assert all(fits.getheader(p)["SQUARE"] == fits.getheader(p)["SEED"] ** 2
               for p in tmp_path.glob("*.fits"))


def test_compute_and_apply_read_each_header_once(tmp_path, monkeypatch):
    """One run with --apply reads each source's header once (the hooks
    calling getPrimaryHeader several times included) and never reads back
    the cache it has just written."""
    from fitsmill import fitsfile

    make_seed_files(tmp_path, 4)
    reads = []
    real_read = fitsfile.read_header
    monkeypatch.setattr(fitsfile, "read_header",
                        lambda source, *a: reads.append(os.fspath(source))
                        or real_read(source, *a))
    run(SquareProcessor, tmp_path, "--apply")
    sources = sorted(str(p) for p in tmp_path.glob("*.fits"))
    assert sorted(reads) == sources
    for path in sources:
        assert fits.getheader(path)["SQUARE"] == fits.getheader(path)["SEED"] ** 2
        fitsverify(path)
        fitsverify(path + ".hdr")


def test_stale_cache_is_reported_not_applied(tmp_path, capsys):
    make_seed_files(tmp_path, 3)
    run(SquareProcessor, tmp_path)
    target = tmp_path / "src1.fits"
    st = os.stat(target)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    capsys.readouterr()
    proc = run(SquareProcessor, tmp_path, "--apply")
    assert proc.staleCaches == [str(target)]
    assert "1 files have a cached header older than the file" in capsys.readouterr().out
    assert "SQUARE" not in fits.getheader(target)
    assert fits.getheader(tmp_path / "src2.fits")["SQUARE"] == 4
    report = run(SquareProcessor, tmp_path, "--report").reportDict
    assert report == {"stale cache": ["src1.fits"],
                      "processed": ["src0.fits", "src2.fits"]}
    run(SquareProcessor, tmp_path, "--apply", "--reprocess")
    assert fits.getheader(target)["SQUARE"] == 1
    # applying made the cache as new as the file: not stale any more
    assert run(SquareProcessor, tmp_path, "--apply", "--reheader").staleCaches == []


class PickyProcessor(HeaderProcessor):
    def _mungeHeader(self, srcName, hdr):
        if hdr["SEED"] == 1:
            raise CannotComputeHeader("no catalogue entry for seed 1")
        if hdr["SEED"] == 2:
            return None
        return hdr


def test_cannot_compute_header_is_counted_and_listed(tmp_path, capsys):
    make_seed_files(tmp_path, 3)
    proc = run(PickyProcessor, tmp_path)
    out = capsys.readouterr().out
    assert proc.summary.failed == 2 and proc.exit_status == 1
    reasons = {os.path.basename(s): r for s, r, _ in proc.summary.failures}
    assert "no catalogue entry for seed 1" in reasons["src1.fits"]
    assert "returned None" in reasons["src2.fits"]
    assert "CannotComputeHeader" in reasons["src2.fits"] or \
        "_getHeader returned None" in reasons["src2.fits"]
    assert "src1.fits" in out and "src2.fits" in out
    assert not (tmp_path / "src1.fits.hdr").exists()


# --------------------------------------------------- keepKeys and caches

class Relabel(HeaderProcessor):
    def _mungeHeader(self, srcName, hdr):
        hdr["OBJECT"] = "relabelled"
        # a header computed with wrong data keys: the file's must win
        hdr["BITPIX"] = -32
        hdr["NAXIS3"] = 99
        hdr["PCOUNT"] = 0
        hdr["BZERO"] = 5
        return hdr


def test_keep_keys_come_from_the_file(tmp_path):
    data = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    hdu = fits.PrimaryHDU(data)
    hdu.header["BLANK"] = -1
    hdu.header["OBJECT"] = "original"
    hdu.writeto(tmp_path / "cube.fits")
    digest = data_digests(tmp_path / "cube.fits")
    run(Relabel, tmp_path, "--apply")
    cache = fits.getheader(tmp_path / "cube.fits.hdr")
    assert "NAXIS1" not in cache and "NAXIS3" not in cache
    fitsverify(tmp_path / "cube.fits.hdr")
    hdr = fits.getheader(tmp_path / "cube.fits")
    assert (hdr["BITPIX"], hdr["NAXIS"], hdr["NAXIS3"], hdr["BLANK"]) == (16, 3, 2, -1)
    assert "PCOUNT" not in hdr and "BZERO" not in hdr
    assert hdr["OBJECT"] == "relabelled"
    assert keywords(tmp_path / "cube.fits")[:6] == [
        "SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "NAXIS3"]
    assert data_digests(tmp_path / "cube.fits") == digest
    fitsverify(tmp_path / "cube.fits")
    # no temporary files are left behind by the atomic cache writes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cube.fits", "cube.fits.hdr"]


def test_unchanged_card_images_are_kept(tmp_path):
    hdu = fits.PrimaryHDU(np.zeros((3, 3), dtype=np.int16))
    hdu.writeto(tmp_path / "a.fits")
    raw = bytearray((tmp_path / "a.fits").read_bytes())
    odd = b"ODDCARD =   42  / spaced oddly".ljust(80)
    end = raw.index(b"END" + b" " * 77)
    raw[end:end + 160] = odd + b"END".ljust(80)
    (tmp_path / "a.fits").write_bytes(bytes(raw))
    run(Relabel, tmp_path, "--apply")
    assert odd in (tmp_path / "a.fits").read_bytes()[:2880]


# --------------------------------------------------- manual examples

class SillyProcessor(api.HeaderProcessor):
    # the manual's example, with its syntax error fixed
    def _isProcessed(self, srcName):
        return self.getPrimaryHeader(srcName).has_key("NUMPIXELS")

    def _mungeHeader(self, srcName, hdr):
        hdr.update("NUMPIXELS", hdr["NAXIS1"] * hdr["NAXIS2"])
        return hdr


def test_silly_processor(tmp_path):
    make_seed_files(tmp_path, 4)
    run(SillyProcessor, tmp_path)
    run(SillyProcessor, tmp_path, "--apply", "--no-compute")
    for seed in range(4):
        path = tmp_path / f"src{seed}.fits"
        assert fits.getheader(path)["NUMPIXELS"] == 2 * (seed + 1)
        fitsverify(path)


class LinkAdder(api.ImmediateHeaderProcessor):
    # The manual's example; only _createAuxiliaries differs, since fitsmill
    # has no DaCHS services to ask for a static URL.
    def _createAuxiliaries(self, dd):
        self.staticBase = "http://dc.example.org/kapteyn/q/static"

    def _isProcessed(self, srcName, hdr):
        return hdr.get("FN-PRE", "").startswith("http")

    def _changeHeader(self, srcName, hdr):
        baseName = os.path.splitext(os.path.basename(srcName))[0]
        hdr.update("FN-WEDGE", "%s/wedges/%sw.fits" % (self.staticBase, baseName),
                   after="FILENAME")
        hdr.update("FN-PRE", "%s/jpegs/%s.jpg" % (self.staticBase, baseName),
                   after="FN-WEDGE")


def test_link_adder(tmp_path):
    for name in ("p1", "p2"):
        hdu = fits.PrimaryHDU(np.ones((4, 5), dtype=np.int16))
        hdu.header["FILENAME"] = f"{name}.fits"
        hdu.header["OBSERVER"] = "x"
        hdu.writeto(tmp_path / f"{name}.fits")
    digest = data_digests(tmp_path / "p1.fits")
    proc = run(LinkAdder, tmp_path)
    assert [r for _, r in proc.processResults] == ["in place", "in place"]
    hdr = fits.getheader(tmp_path / "p1.fits")
    kws = list(hdr.keys())
    assert kws[kws.index("FILENAME") + 1:kws.index("FILENAME") + 3] == ["FN-WEDGE",
                                                                        "FN-PRE"]
    assert hdr["FN-PRE"] == "http://dc.example.org/kapteyn/q/static/jpegs/p1.jpg"
    assert data_digests(tmp_path / "p1.fits") == digest
    fitsverify(tmp_path / "p1.fits")
    # done files are skipped, --reprocess does them again (no change: no write)
    assert run(LinkAdder, tmp_path).processResults == []
    assert [r for _, r in run(LinkAdder, tmp_path, "--reprocess").processResults] \
        == ["unchanged", "unchanged"]


class Filtering(HeaderProcessor):
    def _mungeHeader(self, srcName, hdr):
        hdr.add_comment("IMPORTANT: keep me")
        hdr.add_comment("noise")
        hdr.add_history("old step")
        return hdr

    def commentFilter(self, comment):
        return "IMPORTANT" in comment

    def historyFilter(self, history):
        return False


def test_processor_filters(tmp_path):
    make_seed_files(tmp_path, 1)
    run(Filtering, tmp_path, "--apply")
    for path in (tmp_path / "src0.fits.hdr", tmp_path / "src0.fits"):
        hdr = fits.getheader(path)
        assert list(hdr["COMMENT"]) == ["IMPORTANT: keep me"]
        assert "HISTORY" not in hdr


# --------------------------------------------------- several processors

class AddA(HeaderProcessor):
    headerExt = ".a.hdr"

    def _isProcessed(self, srcName):
        return "KEYA" in self.getPrimaryHeader(srcName)

    def _mungeHeader(self, srcName, hdr):
        hdr["KEYA"] = "a"
        return hdr


class AddB(HeaderProcessor):
    headerExt = ".b.hdr"

    def _isProcessed(self, srcName):
        return "KEYB" in self.getPrimaryHeader(srcName)

    def _mungeHeader(self, srcName, hdr):
        hdr["KEYB"] = "b"
        hdr.add_history("B was here")
        return hdr


def test_several_processors_in_sequence(tmp_path):
    make_seed_files(tmp_path, 2)
    digest = data_digests(tmp_path / "src1.fits")
    # the documented way: each processor computes and applies in turn
    run(AddA, tmp_path, "--apply")
    run(AddB, tmp_path, "--apply")
    hdr = fits.getheader(tmp_path / "src1.fits")
    assert (hdr["KEYA"], hdr["KEYB"]) == ("a", "b")
    assert (tmp_path / "src1.fits.a.hdr").exists() and (tmp_path / "src1.fits.b.hdr").exists()
    assert data_digests(tmp_path / "src1.fits") == digest
    fitsverify(tmp_path / "src1.fits")


def test_caches_computed_together_are_not_applied_blindly(tmp_path):
    make_seed_files(tmp_path, 2)
    run(AddA, tmp_path)
    run(AddB, tmp_path)
    # File times tick coarsely (a few ms on ext4): date B's caches clearly
    # before A's apply, as they are in any real sequence of runs.
    for cache in tmp_path.glob("*.b.hdr"):
        st = cache.stat()
        os.utime(cache, ns=(st.st_atime_ns, st.st_mtime_ns - 10**9))
    run(AddA, tmp_path, "--apply")
    # B's cache predates A's change of the files: applying it would drop KEYA
    proc = run(AddB, tmp_path, "--apply")
    assert sorted(proc.staleCaches) == sorted(str(p) for p in tmp_path.glob("*.fits"))
    assert "KEYB" not in fits.getheader(tmp_path / "src0.fits")
    run(AddB, tmp_path, "--apply", "--reprocess")
    hdr = fits.getheader(tmp_path / "src0.fits")
    assert (hdr["KEYA"], hdr["KEYB"]) == ("a", "b")


# --------------------------------------------------- sort_headers

def header(*cards):
    return Header([Card(*c) if isinstance(c, tuple) else c for c in cards])


BASIC = [("SIMPLE", True), ("BITPIX", 8), ("NAXIS", 2), ("NAXIS1", 3),
         ("NAXIS2", 4), ("EXTEND", True)]


def test_sort_headers_preserved():
    assert keywords(sort_headers(header(*BASIC))) == [c[0] for c in BASIC]


def test_sort_headers_comments_history_and_idempotence():
    hdr = header(("COMMENT", "foo"), *BASIC, ("HISTORY", "bar"),
                 ("COMMENT", "baz"), ("HISTORY", "bar"))
    once = sort_headers(hdr)
    assert keywords(once) == ["SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2",
                              "EXTEND", "", "HISTORY", "", "COMMENT", "COMMENT"]
    assert sort_headers(once).tostring() == once.tostring()
    assert sort_headers(sort_headers(once)).tostring() == once.tostring()


def test_sort_headers_filters():
    hdr = header(*BASIC, ("COMMENT", "keep: delete"), ("COMMENT", "drop"),
                 ("HISTORY", "gone"))
    out = sort_headers(hdr, commentFilter=lambda v: "delete" in v,
                       historyFilter=lambda v: False)
    assert fits.Header.fromstring(out.tostring())["COMMENT"][0] == "keep: delete"
    # no separator for a block the filter emptied
    assert keywords(out) == [c[0] for c in BASIC] + ["", "COMMENT"]


def test_sort_headers_order_extension_and_many_axes():
    hdr = header(("FLOB", 1), ("EXTEND", True), ("NAXIS5", 1), ("SIMPLE", True),
                 ("NAXIS", 5), ("NAXIS2", 1), ("NAXIS10", 1), ("BITPIX", 8),
                 ("NAXIS1", 1), ("NAXIS3", 1), ("NAXIS4", 1))
    assert keywords(sort_headers(hdr)) == [
        "SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "NAXIS3", "NAXIS4",
        "NAXIS5", "NAXIS10", "EXTEND", "FLOB"]
    ext = header(("EXTNAME", "SCI"), ("GCOUNT", 1), ("XTENSION", "IMAGE"),
                 ("NAXIS1", 2), ("PCOUNT", 0), ("NAXIS", 1), ("BITPIX", 16))
    assert keywords(sort_headers(ext)) == ["XTENSION", "BITPIX", "NAXIS", "NAXIS1",
                                           "PCOUNT", "GCOUNT", "EXTNAME"]
    with pytest.raises(FitsFormatError, match="mandatory card 'SIMPLE' missing"):
        sort_headers(header(("BITPIX", 8), ("NAXIS", 0)))


def test_sort_headers_card_sequence_exact_bytes():
    hdr = header(("SIMPLE", True), ("BITPIX", 8), ("NAXIS", 0), ("BOOKS", 1),
                 ("CROOKS", 2), ("HOOKS", 3))
    sequence = [("HOOKS", True), Card("", "---- separator"), "CROOKS"]
    out = sort_headers(hdr, cardSequence=sequence)
    expected = "".join(c.ljust(80) for c in (
        "SIMPLE  =                    T", "BITPIX  =                    8",
        "NAXIS   =                    0", "HOOKS   =                    3",
        "        ---- separator", "CROOKS  =                    2",
        "BOOKS   =                    1", "END"))
    assert out.tostring() == expected.ljust(2880)
    assert sort_headers(out, cardSequence=sequence).tostring() == out.tostring()
    with pytest.raises(FitsFormatError, match="'NOPE' missing"):
        sort_headers(hdr, cardSequence=[("NOPE", True)])


def test_sort_headers_keeps_duplicates_and_card_images():
    odd = Card.fromstring("ODDCARD =   42  / spaced oddly")
    hdr = header(*BASIC, odd, ("DUP", 1), ("DUP", 2))
    out = sort_headers(hdr)
    assert odd.image in out.tostring()
    assert [c.value for c in out.cards if c.keyword == "DUP"] == [1, 2]
    assert sort_headers(list(hdr.cards)).tostring() == out.tostring()


def test_dachs_names():
    from fitsmill.compat import fitstools
    assert api.sortHeaders is sort_headers and fitstools.sortHeaders is sort_headers
    assert api.HeaderProcessor is HeaderProcessor
    assert api.ImmediateHeaderProcessor is ImmediateHeaderProcessor


# --------------------------------------------------- properties

_KEYS = ["SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "NAXIS3", "EXTEND",
         "BZERO", "BSCALE", "OBJECT", "EXPTIME", "DUP", "HISTORY", "COMMENT", ""]


def _card(keyword, n):
    if keyword in ("HISTORY", "COMMENT"):
        return Card(keyword, f"text {n % 3}")
    if keyword == "":
        return Card("", "---- group" if n % 2 else "")
    return Card(keyword, n)


@settings(derandomize=True, max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_KEYS), st.integers(0, 9)), max_size=25))
def test_sort_headers_properties(items):
    cards = [Card("SIMPLE", True), Card("BITPIX", 8), Card("NAXIS", 0)]
    cards += [_card(kw, n) for kw, n in items]
    once = sort_headers(Header(cards))
    # idempotent
    assert sort_headers(once).tostring() == once.tostring()
    # nothing but empty blank cards and repeated commentary texts is dropped
    def kept(seq):
        real = sorted(c.image for c in seq
                      if c.keyword not in ("", "HISTORY", "COMMENT")
                      or (c.keyword == "" and c.image.strip()))
        notes = {c.image for c in seq if c.keyword in ("HISTORY", "COMMENT")}
        return real, notes
    assert kept(once.cards) == kept(cards)
    # structural cards lead, in FITS order; astropy reads the result
    keys = once.keys()
    assert keys[:3] == ["SIMPLE", "BITPIX", "NAXIS"]
    axes = [k for k in keys if k.startswith("NAXIS") and k != "NAXIS"]
    assert keys[3:3 + len(axes)] == sorted(set(axes), key=lambda k: int(k[5:])) \
        or len(axes) != len(set(axes))
    parsed = fits.Header.fromstring(once.tostring())
    assert len(parsed.cards) == len(once)


class ManyCards(api.ImmediateHeaderProcessor):
    def _changeHeader(self, srcName, hdr):
        for i in range(60):
            hdr[f"NEW{i:03d}"] = (i * 0.5, "a card that makes the header grow")


def test_immediate_processor_growing_header(tmp_path):
    fits.PrimaryHDU(np.arange(1000, dtype=np.float32).reshape(20, 50)).writeto(
        tmp_path / "g.fits")
    digest = data_digests(tmp_path / "g.fits")
    proc = run(ManyCards, tmp_path)
    assert [r for _, r in proc.processResults] == ["rewritten"]
    hdr = fits.getheader(tmp_path / "g.fits")
    assert hdr["NEW059"] == 29.5 and hdr["NAXIS1"] == 50
    assert data_digests(tmp_path / "g.fits") == digest
    fitsverify(tmp_path / "g.fits")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.fits"]


def test_sort_headers_long_strings_and_hierarch():
    hdr = header(*BASIC, ("HISTORY", "h"), ("LONGSTR", "x" * 150, "long"),
                 ("HIERARCH PPAK P1F1 PVERSION", "1.0"))
    out = sort_headers(hdr)
    parsed = fits.Header.fromstring(out.tostring())
    assert parsed["LONGSTR"] == "x" * 150
    assert parsed["PPAK P1F1 PVERSION"] == "1.0"
    assert list(parsed.keys())[-3:] == ["PPAK P1F1 PVERSION", "", "HISTORY"]
    assert sort_headers(out).tostring() == out.tostring()


def test_apply_keeps_checksums_valid(tmp_path):
    hdu = fits.PrimaryHDU(np.arange(12, dtype=np.int16).reshape(3, 4))
    hdu.header["SEED"] = 3
    hdu.writeto(tmp_path / "sum.fits", checksum=True)
    old_datasum = fits.getheader(tmp_path / "sum.fits")["DATASUM"]
    run(SquareProcessor, tmp_path, "--apply")
    # the cache has no (wrong) checksums of its own
    assert "0 warning" in fitsverify(tmp_path / "sum.fits.hdr")
    assert "CHECKSUM" not in fits.getheader(tmp_path / "sum.fits.hdr")
    hdr = fits.getheader(tmp_path / "sum.fits")
    assert hdr["SQUARE"] == 9 and hdr["DATASUM"] == old_datasum
    assert "0 warning" in fitsverify(tmp_path / "sum.fits")
    with fits.open(tmp_path / "sum.fits", checksum=True) as hdul:
        assert hdul[0].verify_checksum() == 1
