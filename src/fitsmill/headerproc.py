"""Header surgery processors: ImmediateHeaderProcessor and HeaderProcessor.

:class:`ImmediateHeaderProcessor` edits each primary header in place
(``_changeHeader``) and writes it back at once.

:class:`HeaderProcessor` works in two steps, as in DaCHS: it computes the new
header of every file into a cache beside it (``<file>.hdr``: a valid,
data-less FITS header) and, with ``--apply``, writes the cached headers into
the files.  The cards that describe the data (:attr:`~HeaderProcessor.keepKeys`
plus every NAXISn, BLANK, PCOUNT, GCOUNT, XTENSION) always come from the file
itself.  Headers are written by :func:`fitsmill.fitsfile.write_header`: in
place when they fit, data bytes untouched.

Options (on top of the FileProcessor ones):

``--reprocess``
    recompute caches that exist (after fixing a bug in ``_getHeader``);
``--no-compute``
    use existing caches only; files without one are counted and listed;
``--apply``
    write the cached headers into the files;
``--reheader``
    write even where ``_isProcessed(srcName)`` says the file is done.

A cache older than its file (the file changed after the cache was computed
or last applied) is *stale*: it is not applied, and it is listed in the
summary and classified ``"stale cache"`` by ``--report``; ``--reprocess``
recomputes it.  Applying a cache sets the cache's modification time to the
time of the write, so a cache is stale only when something else changed the
file.

With ``--apply``, each file is locked for writing while its cached header is
merged with the file's own header and written, so the data-describing cards
are those of the file as written.  When a header must be computed as well,
the file is locked and read once: the header is computed from that read,
cached and applied before the lock is released (hooks must not write the
file themselves).

Several processors on one dataset need distinct :attr:`headerExt` values so
their caches do not overwrite each other.  Run each one's compute and
``--apply`` before the next one computes, so that every processor starts from
the header its predecessors left (its cache would otherwise be stale, and
applying it would drop their cards).
"""

import os
import sys
from itertools import compress

from fitsmill import fitsfile
from fitsmill.atomic import atomic_write
from fitsmill.errors import CannotComputeHeader
from fitsmill.header import Card, as_header
from fitsmill.processor import FileProcessor
from fitsmill.sortheaders import (AXIS_KEYWORDS, CardList, CardPick, ShapeMemo,
                                  sort_card_list, sort_headers, sortHeaders)

__all__ = ["ImmediateHeaderProcessor", "HeaderProcessor", "sort_headers",
           "sortHeaders", "DATA_KEYS", "cache_status"]

#: Cards describing the data: they always come from the file on apply and
#: are removed from a new header when the file lacks them.
DATA_KEYS = frozenset(("SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND",
                       "BZERO", "BSCALE", "BLANK", "PCOUNT", "GCOUNT",
                       "XTENSION"))

# Keywords the cache file must not have: extension keywords (it is a
# primary header) and the file's checksums (wrong for the cache; the apply
# recomputes them from the file's DATASUM).
_CHECKSUMS = frozenset(("CHECKSUM", "DATASUM"))
_NOT_IN_CACHE = frozenset(("XTENSION", "PCOUNT", "GCOUNT")) | _CHECKSUMS | AXIS_KEYWORDS

# The keywords _writeCache replaces or drops.
_CACHE_WATCH = _NOT_IN_CACHE | frozenset(("SIMPLE", "BITPIX", "NAXIS"))

# Cards always taken from the file on apply, besides keepKeys.
_FROM_FILE = DATA_KEYS | _CHECKSUMS | AXIS_KEYWORDS

# Cards of a cached header replaced by the file's or, absent there, dropped.
_DATA_OR_AXIS = DATA_KEYS | AXIS_KEYWORDS

# The cards that make a cache a data-less primary header.
_CACHE_CARDS = {
    "SIMPLE": Card("SIMPLE", True, "file conforms to FITS standard").image,
    "BITPIX": Card("BITPIX", 8, "number of bits per data pixel").image,
    "NAXIS": Card("NAXIS", 0, "no data").image,
}


# The keywords and images of _CACHE_CARDS, in order: they follow a
# header's own cards in the source lists the cache orders index, and a
# blank card (the sort's separator) ends those lists.
_BLANK = " " * 80
_CACHE_KEYS = tuple(_CACHE_CARDS)
_CACHE_SOURCE = list(_CACHE_CARDS.values()) + [_BLANK]

# Card orders kept per header shape (CardList.shape; headers of one
# archive share a few shapes), so that the cards of each file are merely
# picked: see _cache_order and _merge_order.
_CACHE_ORDERS, _MERGE_ORDERS = ShapeMemo(), ShapeMemo()


def _cache_order(cards):
    """Where the cards of the cache of ``cards`` (a CardList) come from,
    before sorting: a :class:`~fitsmill.sortheaders.CardPick` of them from
    ``cards.images + _CACHE_SOURCE``.  The structural cards a data-less
    header needs are added (sorting puts them in their places), BITPIX and
    NAXIS replaced (SIMPLE is kept as it is), the rest of
    :data:`_CACHE_WATCH` dropped."""
    keys = cards.keys
    shape = cards.shape()
    found = _CACHE_ORDERS.get(shape)
    if found is not None:
        return found
    size = len(keys)
    order, kept = list(range(size)), [True] * size
    # Only the watched cards are visited (found with C loops), not all.
    present = _CACHE_WATCH.intersection(keys)
    for keyword in present:
        for pos in cards.positions(keyword):
            if keyword in _NOT_IN_CACHE:
                kept[pos] = False
            elif keyword != "SIMPLE":
                order[pos] = size + _CACHE_KEYS.index(keyword)
    order = [size + number for number, keyword in enumerate(_CACHE_KEYS)
             if keyword not in present] + list(compress(order, kept))
    # (a pick holds about five tuples of the shape's length)
    return _CACHE_ORDERS.remember(shape, 5 * size,
                                  CardPick(order, keys + list(_CACHE_KEYS)))


def _merge_order(cached, current, keep):
    """Where the cards of a cached header (CardList ``cached``) merged with
    the file's (``current``) come from: a
    :class:`~fitsmill.sortheaders.CardPick` of them from ``cached.images +
    current.images + [blank card]``.  See
    :meth:`HeaderProcessor._fixHeaderDataKeys`; ``keep`` is its set of
    keywords taken from the file."""
    cached_keys, file_keys = cached.keys, current.keys
    shape = (cached.shape(), current.shape(), keep)
    found = _MERGE_ORDERS.get(shape)
    if found is not None:
        return found
    size = len(cached_keys)
    # The file's first card of each kept keyword, in the file's order
    # (only those cards are visited: C loops find them).
    from_file = {file_keys[pos]: size + pos for pos in
                 sorted(map(file_keys.index, keep.intersection(file_keys)))}
    order, kept = list(range(size)), [True] * size
    for keyword in keep.intersection(cached_keys):
        positions = cached.positions(keyword)
        source = from_file.pop(keyword, None)
        if source is not None:
            # the first card takes the file's image, any others stay (or
            # go, if they describe data)
            order[positions.pop(0)] = source
        if keyword in _DATA_OR_AXIS:
            for pos in positions:
                kept[pos] = False
    order = list(compress(order, kept)) + list(from_file.values())
    return _MERGE_ORDERS.remember(shape, 3 * (size + len(file_keys)),
                                  CardPick(order, cached_keys + file_keys))


class _AlreadyProcessed(Exception):
    """Raised inside a header update to leave the file as it is."""


def _add_fsync_option(parser):
    parser.add_option("--no-fsync", help="do not flush each written file to"
                      " disk before going on (faster; a crash may lose the"
                      " latest changes)", action="store_true", dest="noFsync",
                      default=False)


def _fsync(opts):
    return not getattr(opts, "noFsync", False)


def _stat_mtime(path):
    try:
        return os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return None


def cache_status(source, cache_path):
    """Say whether a cached header is usable.

    Parameters
    ----------
    source, cache_path : str
        The FITS file and its cache.

    Returns
    -------
    str
        ``"missing"``, ``"stale"`` (the file is newer than the cache) or
        ``"ok"``.
    """
    cached = _stat_mtime(cache_path)
    if cached is None:
        return "missing"
    return "stale" if os.stat(source).st_mtime_ns > cached else "ok"


class ImmediateHeaderProcessor(FileProcessor):
    """Edit primary headers in place, one file at a time.

    Override :meth:`_changeHeader` (and, to skip files already done,
    :meth:`_isProcessed`).  The header is a :class:`fitsmill.header.Header`,
    which also has pyfits's ``update(key, value, comment, before=, after=)``
    and ``has_key``.  It is written back only when it changed.
    """

    @staticmethod
    def addOptions(parser):
        """Add ``--reprocess`` and ``--no-fsync`` to the FileProcessor options."""
        FileProcessor.addOptions(parser)
        parser.add_option("--reprocess", help="change headers even of files"
                          " that _isProcessed says are done", action="store_true",
                          dest="reProcess", default=False)
        _add_fsync_option(parser)

    def _isProcessed(self, srcName, hdr):
        """Return True when ``srcName`` (with header ``hdr``) needs no change.

        The default is False: every file is processed.
        """
        return False

    def _changeHeader(self, srcName, hdr):
        """Change ``hdr``, the primary header of ``srcName``, in place."""
        raise NotImplementedError(
            f"{type(self).__name__} must override _changeHeader(srcName, hdr)")

    def process(self, srcName):
        """Read, change and write back the primary header of ``srcName``.

        The file is locked and its header read once; ``_isProcessed`` and
        ``_changeHeader`` run on that header and the result is written
        before the lock is released (so the hooks must not write the file
        themselves).

        Returns
        -------
        str or None
            None when ``_isProcessed`` said done, else what
            :func:`fitsmill.fitsfile.update_header` did (``"unchanged"``,
            ``"in place"``, ``"rewritten"``).
        """
        if type(self).getPrimaryHeader is not FileProcessor.getPrimaryHeader:
            # A header of the subclass's own making: read it its way.
            return self._changeAndWrite(srcName, self.getPrimaryHeader(srcName))
        started = []

        def edit(hdr):
            started.append(True)
            if not self.opts.reProcess and self._isProcessed(srcName, hdr):
                raise _AlreadyProcessed
            self._changeHeader(srcName, hdr)
            return hdr

        try:
            return fitsfile.update_header(srcName, edit, fsync=_fsync(self.opts))
        except _AlreadyProcessed:
            return None
        except Exception:
            if started:
                raise
            # The file could not be opened for writing or read under the
            # lock (read-only, compressed, malformed): read it plainly, so
            # that a file already done is still skipped and any other gets
            # the error the separate read and write would give.
            return self._changeAndWrite(srcName, self.getPrimaryHeader(srcName))

    def _changeAndWrite(self, srcName, hdr):
        """The hooks on ``hdr``, read beforehand, then the write."""
        if not self.opts.reProcess and self._isProcessed(srcName, hdr):
            return None
        self._changeHeader(srcName, hdr)
        return fitsfile.write_header(srcName, hdr, fsync=_fsync(self.opts))


class HeaderProcessor(FileProcessor):
    """Compute new primary headers into caches, then apply them.

    Override :meth:`_mungeHeader` (gets the file's header, returns the new
    one) or :meth:`_getHeader` (gets the file name), and usually
    :meth:`_isProcessed`.  Returning None, or raising
    :class:`~fitsmill.errors.CannotComputeHeader`, marks the file as failed
    with a reason.

    Attributes
    ----------
    headerExt : str
        Suffix of the cache files, ``".hdr"``.  Give every processor that
        works on the same files its own.
    keepKeys : set of str
        Cards always taken from the file when a cached header is applied
        (besides :data:`DATA_KEYS` and NAXISn).  Extend it per instance:
        ``self.keepKeys = self.keepKeys | {"EXPTIME"}``.
    cardSequence : list or None
        Passed to :func:`sort_headers`: cards placed right after the
        structural ones.
    missingCaches, staleCaches : list of str
        After a run: files skipped for want of a cache (``--no-compute``)
        or because their cache is older than the file.
    maxHeaderBlocks : int
        Kept for DaCHS subclasses that set it; headers are not capped.
    """

    headerExt = ".hdr"
    maxHeaderBlocks = 40
    cardSequence = None
    keepKeys = {"SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND",
                "BZERO", "BSCALE"}

    @staticmethod
    def addOptions(parser):
        """Add ``--reprocess``, ``--no-compute``, ``--apply``, ``--reheader``
        and ``--no-fsync``."""
        FileProcessor.addOptions(parser)
        parser.add_option("--reprocess", help="recompute cached headers that"
                          " exist", action="store_true", dest="reProcess",
                          default=False)
        parser.add_option("--no-compute", help="only use cached headers, never"
                          " compute new ones", action="store_false",
                          dest="compute", default=True)
        parser.add_option("--apply", help="write cached headers into the files",
                          action="store_true", dest="applyHeaders", default=False)
        parser.add_option("--reheader", help="write headers even into files that"
                          " _isProcessed says are done", action="store_true",
                          dest="reHeader", default=False)
        _add_fsync_option(parser)

    # The primary header of the file process() is working on, read once per
    # call, while process() runs (None otherwise): (srcName, the Header as
    # read or None once handed out, a CardList of its cards or None until
    # needed).
    _headerMemo = None

    # ------------------------------------------------------------- hooks

    def getPrimaryHeader(self, srcName):
        """Return the primary header of the FITS file ``srcName``.

        While :meth:`process` works on a file its header is read once; each
        call returns a Header of its own, so changing it in place is safe.
        """
        memo = self._headerMemo
        if memo is not None and memo[0] == srcName:
            header, cards = memo[1], self._memoCards(memo)
            if header is None:
                return cards.header()
            # The header as read goes to the first caller, not copied: its
            # cards are kept for the merge and for any later caller.
            self._headerMemo = (srcName, None, cards)
            return header
        hdr = fitsfile.read_header(srcName)
        if memo is not None:
            self._headerMemo = (srcName, None, CardList(hdr))
        return hdr

    def _fileCards(self, srcName):
        """The file's primary header as a CardList, read at most once per
        :meth:`process` call."""
        memo = self._headerMemo
        if memo is not None and memo[0] == srcName:
            return self._memoCards(memo)
        return CardList(self.getPrimaryHeader(srcName))

    def _memoCards(self, memo):
        """The cards of the header in ``memo`` (the current
        :attr:`_headerMemo`), made once."""
        cards = memo[2]
        if cards is None:
            cards = CardList(memo[1])
            self._headerMemo = (memo[0], memo[1], cards)
        return cards

    def _isProcessed(self, srcName):
        """Return True when ``srcName`` already has its new header.

        Such files are skipped unless ``--reprocess`` or ``--reheader`` is
        given.  The default is False.
        """
        return False

    def _mungeHeader(self, srcName, hdr):
        """Return the new header of ``srcName`` made from its header ``hdr``.

        The default returns ``hdr`` unchanged.
        """
        return hdr

    def _getHeader(self, srcName):
        """Return the complete new header of ``srcName``."""
        return self._mungeHeader(srcName, self.getPrimaryHeader(srcName))

    def commentFilter(self, value):
        """Return True to keep a COMMENT card with text ``value``."""
        return True

    def historyFilter(self, value):
        """Return True to keep a HISTORY card with text ``value``."""
        return True

    # ------------------------------------------------------------- caches

    def cachePath(self, srcName):
        """The cache file of ``srcName``."""
        return os.fspath(srcName) + self.headerExt

    def _readCache(self, srcName):
        """The cached header of ``srcName``, or None when there is none."""
        try:
            return fitsfile.read_header(self.cachePath(srcName))
        except FileNotFoundError:
            return None

    def _sorted(self, cards):
        # The default filters keep everything: pass None and spare parsing
        # every COMMENT and HISTORY card.
        cls = type(self)
        return sort_card_list(
            cards,
            None if cls.commentFilter is HeaderProcessor.commentFilter
            else self.commentFilter,
            None if cls.historyFilter is HeaderProcessor.historyFilter
            else self.historyFilter,
            self.cardSequence)

    def _sortedPick(self, pick, source, checked):
        """``self._sorted(pick.cards(source, checked))``: in one pick when
        the sort has no filters or card sequence (the usual case)."""
        cls = type(self)
        if cls.commentFilter is HeaderProcessor.commentFilter and \
                cls.historyFilter is HeaderProcessor.historyFilter and \
                self.cardSequence is None:
            return pick.sorted(source, checked)
        return self._sorted(pick.cards(source, checked))

    def _writeCache(self, srcName, hdr):
        """Write ``hdr`` as the cache of ``srcName``: a data-less FITS header.

        BITPIX becomes 8, NAXIS 0; NAXISn, the extension keywords
        (XTENSION, PCOUNT, GCOUNT) and the checksums go, so the cache is a
        valid primary header (they come back from the file on apply, the
        checksums recomputed).  The file is replaced atomically.

        Returns
        -------
        CardList
            The cards as cached (what :meth:`_writeHeader` takes).
        """
        cards = CardList(as_header(hdr))
        cache = self._sortedPick(_cache_order(cards), cards.images + _CACHE_SOURCE,
                                 cards.checked)
        atomic_write(self.cachePath(srcName), cache.tobytes(),
                     fsync=_fsync(self.opts))
        return cache

    def _makeCache(self, srcName):
        """Compute the header of ``srcName`` and cache it.

        Returns
        -------
        CardList or None
            The cached cards; None with ``--no-compute``.
        """
        if not self.opts.compute:
            return None
        if getattr(self.opts, "beVerbose", False):
            print(f"Now computing for {srcName}", file=sys.stderr)
        hdr = self._getHeader(srcName)
        if hdr is None:
            raise CannotComputeHeader(f"{type(self).__name__}._getHeader"
                                      " returned None")
        return self._writeCache(srcName, hdr)

    # ------------------------------------------------------------- apply

    def _fixHeaderDataKeys(self, srcName, hdr):
        """Return ``hdr`` with its data-describing cards from the file.

        The file's cards for :attr:`keepKeys`, :data:`DATA_KEYS`, every
        NAXISn and the checksums (CHECKSUM, DATASUM) replace those of
        ``hdr`` (byte for byte) or are added; the :data:`DATA_KEYS` and NAXISn
        cards the file lacks are removed.  The write then refreshes CHECKSUM
        from the file's DATASUM.

        Parameters
        ----------
        srcName : str
            The FITS file.
        hdr : Header, CardList or astropy Header
            The cached header; it is not changed.

        Returns
        -------
        CardList
            The merged cards.
        """
        pick, source, checked = self._mergeSource(srcName, hdr)
        return pick.cards(source, checked)

    def _mergeSource(self, srcName, hdr):
        """(:class:`~fitsmill.sortheaders.CardPick` of the merged cards,
        its source, whether the source is checked) for
        :meth:`_fixHeaderDataKeys`."""
        current = self._fileCards(srcName)
        cached = CardList(hdr if isinstance(hdr, CardList) else as_header(hdr))
        return (_merge_order(cached, current, self._keepSet()),
                cached.images + current.images + [_BLANK],
                cached.checked and current.checked)

    def _mergedAndSorted(self, srcName, hdr):
        """``self._sorted(self._fixHeaderDataKeys(srcName, hdr))``, in one
        pick unless a subclass changes the merge (or the sort has filters)."""
        if type(self)._fixHeaderDataKeys is not HeaderProcessor._fixHeaderDataKeys:
            return self._sorted(self._fixHeaderDataKeys(srcName, hdr))
        return self._sortedPick(*self._mergeSource(srcName, hdr))

    # (frozenset(keepKeys), the keywords taken from the file): keepKeys may
    # be changed at any time, the union is rebuilt only when it was.
    _keepMemo = (frozenset(), _FROM_FILE)

    def _keepSet(self):
        """All keywords :meth:`_fixHeaderDataKeys` takes from the file."""
        memo = self._keepMemo
        if memo[0] != self.keepKeys:
            memo = self._keepMemo = (frozenset(self.keepKeys),
                                     _FROM_FILE | self.keepKeys)
        return memo[1]

    def _writeHeader(self, srcName, hdr):
        """Write the cached header ``hdr`` into ``srcName``.

        The file is locked, its header read, the cache merged with it
        (:meth:`_fixHeaderDataKeys`) and sorted, and the result written,
        all under one lock: the data-describing cards are those of the file
        as it is when written.

        Parameters
        ----------
        srcName : str
            The FITS file.
        hdr : Header, CardList or astropy Header
            The cached header.

        Returns
        -------
        str
            What :func:`fitsfile.update_header <fitsmill.fitsfile.update_header>`
            did.
        """
        return self._update(srcName, lambda: hdr)

    def _update(self, srcName, cached):
        """Apply ``cached()``, the cache of ``srcName``, under the file's lock.

        While ``cached`` and the hooks run, :meth:`getPrimaryHeader` answers
        with the header just read under the lock.
        """
        inside = self._headerMemo is not None

        def edit(current):
            self._headerMemo = (srcName, current, None)
            return self._mergedAndSorted(srcName, cached()).header()

        try:
            result = fitsfile.update_header(srcName, edit, fsync=_fsync(self.opts))
        finally:
            # The file's header may have changed: it is read again if asked for.
            self._headerMemo = ("", None, None) if inside else None
        if result != "unchanged":
            # The cache now matches the file: only a later change of the
            # file (a later time) makes it stale.
            os.utime(self.cachePath(srcName))
        return result

    def _computeAndApply(self, srcName):
        """Compute, cache and apply the header of ``srcName`` with one read.

        The file is locked and read once; the header is computed from that
        read, cached, and (unless :meth:`_isProcessed` says done) merged
        and written before the lock is released.

        Returns
        -------
        str or None
            What the write did, or None when ``_isProcessed`` said done.
        """
        started = []

        def cached():
            started.append(True)
            cache = self._makeCache(srcName)
            if not self.opts.reHeader and self._isProcessed(srcName):
                raise _AlreadyProcessed
            return cache

        try:
            return self._update(srcName, cached)
        except _AlreadyProcessed:
            return None
        except Exception:
            if started:
                raise
            # The file could not be opened for writing or read (read-only,
            # compressed, malformed): compute and cache from a plain read as
            # the two steps would, so that the same error is reported (the
            # computation's first) and the cache is written when it can be.
            self._makeCache(srcName)
            raise

    # ------------------------------------------------------------- flow

    def classify(self, srcName):
        """``--report`` label: "processed", "stale cache", "cached" or
        "no cache"."""
        if self._isProcessed(srcName):
            return "processed"
        return {"ok": "cached", "stale": "stale cache",
                "missing": "no cache"}[cache_status(srcName, self.cachePath(srcName))]

    def process(self, srcName):
        """Compute, cache and (with ``--apply``) apply the header of a file.

        Returns
        -------
        str or None
            ``"no cache"`` (``--no-compute`` and none there), ``"stale
            cache"`` (not applied), what the write did with ``--apply``, or
            None.
        """
        self._headerMemo = ("", None, None)
        try:
            return self._process(srcName)
        finally:
            self._headerMemo = None

    def _process(self, srcName):
        opts = self.opts
        if not (opts.reProcess or opts.reHeader) and self._isProcessed(srcName):
            return None
        cache = None
        status = cache_status(srcName, self.cachePath(srcName))
        if status == "missing" or opts.reProcess:
            if opts.compute and opts.applyHeaders and \
                    type(self)._writeHeader is HeaderProcessor._writeHeader:
                return self._computeAndApply(srcName)
            cache = self._makeCache(srcName)
            if cache is not None:
                status = "ok"
        if status != "ok":
            return f"{status} cache" if status == "stale" else "no cache"
        if not opts.applyHeaders:
            return None
        if opts.reHeader or not self._isProcessed(srcName):
            if cache is None:
                cache = self._readCache(srcName)
            return self._writeHeader(srcName, cache)
        return None

    def collectResult(self, srcName, result):
        """Note files without a usable cache; see :attr:`missingCaches`."""
        super().collectResult(srcName, result)
        if result == "no cache":
            self.missingCaches.append(srcName)
        elif result == "stale cache":
            self.staleCaches.append(srcName)

    def processAll(self):
        """Run as FileProcessor does, then list the files left without a
        usable cache (before procmain's summary)."""
        self.missingCaches, self.staleCaches = [], []
        result = super().processAll()
        for names, what in ((self.missingCaches, "had no cached header"
                             " (--no-compute)"),
                            (self.staleCaches, "have a cached header older than"
                             " the file (not applied; --reprocess recomputes)")):
            if names:
                print(f"{len(names)} files {what}:")
                print("".join(f"  {name}\n" for name in names), end="")
        return result
