"""HeaderProcessor's one-read compute + apply, and the merge of a cache
with the file's data-describing cards.

A run with ``--apply`` that computes a header locks the file, reads its
header once, computes, caches and writes before unlocking; these tests pin
what that must keep from the two-step flow: a file that _isProcessed calls
done after the compute is left alone, a file that cannot be written still
gets its cache and reports the same error, overridden hooks are honoured.
``_fixHeaderDataKeys`` is compared with a plain card-by-card reference.
astropy reads the results back; fitsverify checks every file written.
"""

import fcntl
import os
from types import SimpleNamespace

import numpy as np
from astropy.io import fits
from hypothesis import given, settings, strategies as st

from common import data_digests, fitsverify
from fitsmill import fitsfile
from fitsmill.errors import FitsFormatError
from fitsmill.header import Card, Header
from fitsmill.headerproc import DATA_KEYS, HeaderProcessor, ImmediateHeaderProcessor
from fitsmill.processor import procmain
from fitsmill.sortheaders import AXIS_KEYWORDS, CardList, shape_of, sort_card_list


def run(cls, tmp_path, *argv, pattern="*.fits"):
    return procmain(cls, sources=[str(tmp_path / pattern)], exit=False,
                    argv=["--no-progress", "--no-fsync", *argv])


def make_files(tmp_path, count=3, suffix=".fits"):
    for n in range(count):
        hdu = fits.PrimaryHDU(np.arange(6 * (n + 1), dtype=np.int16).reshape(n + 1, 6))
        hdu.header["SEED"] = n
        # (renamed after writing: astropy would compress a .gz name)
        hdu.writeto(tmp_path / f"f{n}.fits")
        os.rename(tmp_path / f"f{n}.fits", tmp_path / f"f{n}{suffix}")


class Square(HeaderProcessor):
    def _mungeHeader(self, srcName, hdr):
        hdr["SQUARE"] = hdr["SEED"] ** 2
        return hdr


# --------------------------------------------------- one read, one lock

class DoneOnceCached(Square):
    """Calls a file done as soon as its cache exists: the second
    _isProcessed, after the compute, must stop the apply."""

    def _isProcessed(self, srcName):
        return os.path.exists(self.cachePath(srcName))


def test_processed_after_compute_is_not_applied(tmp_path):
    make_files(tmp_path, 2)
    before = {p: p.read_bytes() for p in tmp_path.glob("*.fits")}
    proc = run(DoneOnceCached, tmp_path, "--apply")
    assert proc.processResults == [] and proc.summary.failed == 0
    for path, raw in before.items():
        assert path.read_bytes() == raw
        assert fits.getheader(str(path) + ".hdr")["SQUARE"] == \
            fits.getheader(path)["SEED"] ** 2


class WatchLock(Square):
    """Records whether the file is locked while its header is computed."""

    locked = None

    def _mungeHeader(self, srcName, hdr):
        fd = os.open(srcName, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            type(self).locked = False
        except BlockingIOError:
            type(self).locked = True
        finally:
            os.close(fd)
        return super()._mungeHeader(srcName, hdr)


def test_compute_and_apply_happen_under_the_files_lock(tmp_path):
    make_files(tmp_path, 1)
    digest = data_digests(tmp_path / "f0.fits")
    run(WatchLock, tmp_path, "--apply")
    assert WatchLock.locked is True
    assert fits.getheader(tmp_path / "f0.fits")["SQUARE"] == 0
    assert data_digests(tmp_path / "f0.fits") == digest
    fitsverify(tmp_path / "f0.fits")
    # computing without --apply takes no lock
    run(WatchLock, tmp_path, "--reprocess")
    assert WatchLock.locked is False


def test_unwritable_file_still_gets_its_cache_and_error(tmp_path):
    # a plain FITS file under a gzip name: readable, but never edited
    make_files(tmp_path, 1, suffix=".fits.gz")
    proc = run(Square, tmp_path, "--apply", pattern="*.gz")
    assert proc.summary.failed == 1
    (source, reason, _), = proc.summary.failures
    assert "gzip-compressed files cannot be edited" in reason
    cache = tmp_path / "f0.fits.gz.hdr"
    assert fits.getheader(cache)["SQUARE"] == 0
    fitsverify(cache)


def test_malformed_file_reports_the_read_error(tmp_path):
    (tmp_path / "bad.fits").write_bytes(b"NOT A FITS FILE".ljust(2880))
    proc = run(Square, tmp_path, "--apply")
    (source, reason, _), = proc.summary.failures
    assert "not a FITS header" in reason
    assert not (tmp_path / "bad.fits.hdr").exists()


class Failing(Square):
    def _mungeHeader(self, srcName, hdr):
        self.calls = getattr(self, "calls", 0) + 1
        raise ValueError("no luck")


def test_compute_failure_computes_once_and_writes_nothing(tmp_path):
    make_files(tmp_path, 1)
    raw = (tmp_path / "f0.fits").read_bytes()
    proc = run(Failing, tmp_path, "--apply")
    assert proc.calls == 1 and proc.summary.failed == 1
    assert (tmp_path / "f0.fits").read_bytes() == raw
    assert not (tmp_path / "f0.fits.hdr").exists()


class OwnWriter(Square):
    def _writeHeader(self, srcName, hdr):
        self.written = getattr(self, "written", []) + [os.path.basename(srcName)]
        return super()._writeHeader(srcName, hdr)


def test_overridden_write_header_is_called(tmp_path):
    make_files(tmp_path, 2)
    proc = run(OwnWriter, tmp_path, "--apply")
    assert proc.written == ["f0.fits", "f1.fits"]
    assert fits.getheader(tmp_path / "f1.fits")["SQUARE"] == 1
    fitsverify(tmp_path / "f1.fits")


def test_apply_of_existing_caches_reads_no_header_besides_the_write(tmp_path, monkeypatch):
    make_files(tmp_path, 2)
    run(Square, tmp_path)
    reads = []
    real_read = fitsfile.read_header
    monkeypatch.setattr(fitsfile, "read_header",
                        lambda source, *a: reads.append(os.fspath(source))
                        or real_read(source, *a))
    proc = run(Square, tmp_path, "--apply")
    # only the caches are read; the files' headers come from the locked write
    assert sorted(reads) == sorted(str(p) + ".hdr" for p in tmp_path.glob("*.fits"))
    assert [r for _, r in proc.processResults] == ["in place", "in place"]
    for path in tmp_path.glob("*.fits"):
        assert fits.getheader(path)["SQUARE"] == fits.getheader(path)["SEED"] ** 2
        fitsverify(path)
    # the applied caches are not stale
    assert run(Square, tmp_path, "--apply", "--reheader").staleCaches == []


# --------------------------------------------------- _fixHeaderDataKeys

def reference_fix(file_cards, cached_cards, keep):
    """The merge, card by card: the file's first card of every keyword in
    ``keep`` replaces the cache's first one or is appended (in file order);
    cache cards of data keywords the file lacks, and repeats of replaced
    data keywords, are dropped."""
    data = DATA_KEYS | AXIS_KEYWORDS
    from_file = {}
    for card in file_cards:
        if card.keyword in keep and card.keyword not in from_file:
            from_file[card.keyword] = card.image
    out = []
    for card in cached_cards:
        if card.keyword in from_file:
            out.append((card.keyword, from_file.pop(card.keyword)))
        elif card.keyword not in data:
            out.append((card.keyword, card.image))
    return out + list(from_file.items())


MERGE_KEYWORDS = ["BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "NAXIS3", "BZERO", "BLANK",
                  "EXTEND", "CHECKSUM", "DATASUM", "EXPTIME", "OBJECT", "DUP",
                  "HISTORY", "COMMENT", ""]


def merge_card(keyword, n):
    # (n = 0: an empty blank card, a repeated commentary text)
    if keyword in ("HISTORY", "COMMENT", ""):
        return Card(keyword, f"note {n}" if n else "")
    return Card(keyword, n)


merge_cards = st.lists(st.builds(merge_card, st.sampled_from(MERGE_KEYWORDS),
                                 st.integers(0, 5)), max_size=20)


@settings(derandomize=True, max_examples=300, deadline=None)
@given(merge_cards, merge_cards, st.booleans())
def test_fix_header_data_keys_matches_the_reference(file_cards, cached_cards, extra):
    proc = HeaderProcessor.__new__(HeaderProcessor)
    if extra:
        proc.keepKeys = proc.keepKeys | {"EXPTIME"}
    file_cards = [Card("SIMPLE", True)] + file_cards
    cached_cards = [Card("SIMPLE", True)] + cached_cards
    proc._headerMemo = ("src.fits", Header(file_cards), None)
    cached = CardList(Header(cached_cards))
    snapshot = (list(cached.keys), list(cached.images))
    merged = proc._fixHeaderDataKeys("src.fits", cached)
    keep = proc._keepSet()
    assert list(zip(merged.keys, merged.images)) == \
        reference_fix(file_cards, cached_cards, keep)
    assert (cached.keys, cached.images) == snapshot
    # the apply merges and sorts in one pick: as sorting the merge does
    assert sorted_or_error(proc._mergedAndSorted, "src.fits", cached) == \
        sorted_or_error(sort_card_list, merged)


def sorted_or_error(sort, *args):
    try:
        cards = sort(*args)
    except FitsFormatError as exc:
        return "error", str(exc)
    return cards.keys, cards.images, cards.checked


def reference_cache(cards):
    """The cards of a cache before sorting, card by card: SIMPLE, BITPIX 8
    and NAXIS 0 added where missing, BITPIX and NAXIS replaced by those,
    the axes, extension keywords and checksums dropped."""
    made = {"SIMPLE": Card("SIMPLE", True, "file conforms to FITS standard"),
            "BITPIX": Card("BITPIX", 8, "number of bits per data pixel"),
            "NAXIS": Card("NAXIS", 0, "no data")}
    keys = {card.keyword for card in cards}
    out = [(k, card.image) for k, card in made.items() if k not in keys]
    for card in cards:
        if card.keyword in AXIS_KEYWORDS or card.keyword in (
                "XTENSION", "PCOUNT", "GCOUNT", "CHECKSUM", "DATASUM"):
            continue
        image = made[card.keyword].image if card.keyword in ("BITPIX", "NAXIS") \
            else card.image
        out.append((card.keyword, image))
    return out


CACHE_KEYWORDS = ["SIMPLE", "XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "PCOUNT",
                  "GCOUNT", "CHECKSUM", "DATASUM", "EXTEND", "OBJECT", "DUP", "HISTORY",
                  "COMMENT", ""]


@settings(derandomize=True, max_examples=300, deadline=None)
@given(st.lists(st.builds(merge_card, st.sampled_from(CACHE_KEYWORDS), st.integers(0, 5)),
                max_size=20))
def test_write_cache_matches_the_reference(tmp_path_factory, cards):
    # (the card orders are kept per header shape: the many examples of
    # one shape with other values check that the values are the file's)
    proc = HeaderProcessor.__new__(HeaderProcessor)
    proc.opts = SimpleNamespace(noFsync=True)
    src = str(tmp_path_factory.mktemp("cache") / "src.fits")
    header = Header(cards)
    before = header.tostring()
    cache = proc._writeCache(src, header)
    expected = sort_card_list(CardList.from_lists(*map(list, zip(*reference_cache(cards)))))
    assert (cache.keys, cache.images) == (expected.keys, expected.images)
    assert header.tostring() == before
    with open(src + ".hdr", "rb") as f:
        assert f.read() == cache.tobytes()
    assert [c.keyword for c in fits.Header.fromfile(src + ".hdr").cards] == cache.keys


# --------------------------------------------------- ImmediateHeaderProcessor

class Stamp(ImmediateHeaderProcessor):
    """Adds STAMP; records whether the file was locked meanwhile."""

    locked = None

    def _isProcessed(self, srcName, hdr):
        return "STAMP" in hdr

    def _changeHeader(self, srcName, hdr):
        fd = os.open(srcName, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            type(self).locked = False
        except BlockingIOError:
            type(self).locked = True
        finally:
            os.close(fd)
        hdr["STAMP"] = hdr["SEED"] + 100


def test_immediate_processor_reads_once_under_the_lock(tmp_path, monkeypatch):
    make_files(tmp_path, 2)
    digest = data_digests(tmp_path / "f1.fits")
    reads = []
    real_read = fitsfile.read_header
    monkeypatch.setattr(fitsfile, "read_header",
                        lambda source, *a: reads.append(source) or real_read(source, *a))
    proc = run(Stamp, tmp_path)
    assert reads == [] and Stamp.locked is True
    assert [r for _, r in proc.processResults] == ["in place", "in place"]
    assert fits.getheader(tmp_path / "f1.fits")["STAMP"] == 101
    assert data_digests(tmp_path / "f1.fits") == digest
    fitsverify(tmp_path / "f1.fits")
    # done files are skipped; --reprocess changes nothing new
    assert run(Stamp, tmp_path).processResults == []
    assert [r for _, r in run(Stamp, tmp_path, "--reprocess").processResults] == \
        ["unchanged", "unchanged"]


def test_immediate_processor_on_a_file_it_cannot_write(tmp_path):
    make_files(tmp_path, 1, suffix=".fits.gz")
    proc = run(Stamp, tmp_path, pattern="*.gz")
    (source, reason, _), = proc.summary.failures
    assert "gzip-compressed files cannot be edited" in reason
    # a file already done is skipped without an error, as before
    path = tmp_path / "f0.fits.gz"
    raw = bytearray(path.read_bytes())
    end = raw.index(b"END" + b" " * 77)
    raw[end:end + 160] = Card("STAMP", 1).image.encode() + b"END".ljust(80)
    path.write_bytes(bytes(raw))
    proc = run(Stamp, tmp_path, pattern="*.gz")
    assert proc.summary.failed == 0 and proc.processResults == []


class OwnReader(Stamp):
    def getPrimaryHeader(self, srcName):
        hdr = fitsfile.read_header(srcName)
        hdr["SEED"] = 7
        return hdr


def test_immediate_processor_with_its_own_reader(tmp_path):
    make_files(tmp_path, 1)
    run(OwnReader, tmp_path)
    assert fits.getheader(tmp_path / "f0.fits")["STAMP"] == 107


def test_shapes_tell_keyword_lists_apart():
    # the card orders of the cache and the merge are kept per shape string
    lists = [[], [""], ["", ""], ["A"], ["A", ""], ["", "A"], ["AB"], ["A", "B"],
             ["HISTORY", "COMMENT"], ["HISTORY COMMENT"]]
    shapes = [shape_of(keys) for keys in lists]
    assert len(set(shapes)) == len(lists)
    header = Header([("SIMPLE", True), ("BITPIX", 8), ("NAXIS", 0), ("A", 1)])
    assert CardList(header).shape() == shape_of(header.keys())
    assert CardList.from_lists(["X"], [Card("X", 1).image]).shape() == shape_of(("X",))


class ManyReads(HeaderProcessor):
    """Asks for the file's header three times and changes each copy."""

    def _isProcessed(self, srcName):
        hdr = self.getPrimaryHeader(srcName)
        hdr["ISPROC"] = 1           # changes this caller's copy only
        return False

    def _getHeader(self, srcName):
        first = self.getPrimaryHeader(srcName)
        del first["NAXIS1"]
        first["SEEN"] = (1, "first copy")
        second = self.getPrimaryHeader(srcName)
        self.seen.append((second.tostring(), second["SEED"], "SEEN" in second,
                          "ISPROC" in second))
        second["SQUARE"] = second["SEED"] ** 2
        return second

    def _createAuxiliaries(self, dataDesc):
        self.seen = []


def test_every_caller_of_get_primary_header_gets_the_files_header(tmp_path):
    # the first caller under the lock gets the header as read, the others
    # headers of their own: none sees another's changes, and the merge
    # takes the data cards from the file
    make_files(tmp_path, 3)
    before = {p.name: fits.getheader(p) for p in tmp_path.glob("*.fits")}
    proc = run(ManyReads, tmp_path, "--apply")
    assert proc.summary.failed == 0 and len(proc.seen) == 3
    for text, seed, seen, isproc in proc.seen:
        assert not seen and not isproc
        expected = before[f"f{seed}.fits"]
        assert fits.Header.fromstring(text) == expected
    for path in tmp_path.glob("*.fits"):
        hdr = fits.getheader(path)
        assert hdr["SQUARE"] == hdr["SEED"] ** 2 and "SEEN" not in hdr
        assert hdr["NAXIS1"] == 6
        fitsverify(path)
