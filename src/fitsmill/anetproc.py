"""AnetHeaderProcessor: astrometric calibration as a header processor.

A :class:`~fitsmill.headerproc.HeaderProcessor` whose computed header is the
file's own header plus the WCS astrometry.net finds.  Solver parameters are
the ``sp_*`` class attributes (see :mod:`fitsmill.anet`); ``sexControl`` and
``objectFilter`` choose and post-process the source extraction, as in the
DaCHS manual::

    from fitsmill import api

    class MyProcessor(api.AnetHeaderProcessor):
        sp_indices = ["index-tycho2-1*"]
        sp_lower_pix = 9
        sp_upper_pix = 12
        sp_endob = 50

        def _mungeHeader(self, srcName, hdr):
            hdr["OBSERVAT"] = "Somewhere"
            return hdr

Differences from DaCHS, all deliberate: the file's own COMMENT and HISTORY
cards survive the filters (only astrometry.net's chatter is dropped); WCS
cards already in the file are replaced, not mixed with the new solution; a
HISTORY card records the astrometry.net version and parameters; sandboxes
live under ``--anet-temp-dir``; ``--copy-to`` never deletes anything but an
earlier sandbox copy; a wall-clock limit stops runaway solves.
"""

import re

from fitsmill import anet
from fitsmill.errors import CannotComputeHeader, NotSolved
from fitsmill.header import Header
from fitsmill.headerproc import HeaderProcessor

__all__ = ["AnetHeaderProcessor", "is_wcs_keyword", "has_celestial_wcs"]

# keywords of a (primary, unprimed) WCS including the SIP distortion
_WCS_KEYWORD = re.compile(
    r"WCSAXES|CTYPE\d|CRVAL\d|CRPIX\d|CUNIT\d|CDELT\d|CROTA\d|CD\d_\d|PC\d_\d"
    r"|EQUINOX|EPOCH|LONPOLE|LATPOLE|RADESYS|RADECSYS|[AB]P?_ORDER|[AB]P?_\d+_\d+"
    r"|[AB]_DMAX")

_CELESTIAL = (("RA--", "DEC-"), ("GLON", "GLAT"), ("ELON", "ELAT"))

# astrometry.net's bookkeeping lines in its WCS file: they say nothing about
# the solution, so the filters drop them; matched on astrometry.net's exact
# wording so a file's own cards are not hit
_ANET_COMMENT_CHATTER = re.compile(
    r"-- onefield solver parameters: --|-- properties of the matching quad: --"
    r"|Index\(\d+\):|Field name: .*|[XY] col name: .*|Solved_(in|out): .*"
    r"|Parity: .*|Codetol: .*|Verify pixels: .*|Maxquads: .*|Maxmatches: .*"
    r"|(Total )?(Cpu|CPU|time|Time) limit: .*|index (healpix|hpnside): .*"
    r"|odds: .*|quadno: .*|stars: .*|field: .*|nconflict: .*|nfield: .*"
    r"|nindex: .*|parity: .*|quads (tried|matched|verified): .*"
    r"|objs tried: .*|cpu time: .*")
_ANET_HISTORY_CHATTER = re.compile(
    r"For more details, see http://astrometry\.net\.|Git URL https://github\.com/"
    r"dstndstn/astrometry\.net|Git date .*|This is a WCS header was created by"
    r" Astrometry\.net\.")


def is_wcs_keyword(keyword):
    """True for the keywords of a primary WCS with SIP distortion."""
    return bool(_WCS_KEYWORD.fullmatch(keyword))


def has_celestial_wcs(hdr):
    """True when a header has a celestial WCS (axis types and a scale)."""
    ctype1 = str(hdr.get("CTYPE1", "")).upper()
    ctype2 = str(hdr.get("CTYPE2", "")).upper()
    typed = any(ctype1.startswith(a) and ctype2.startswith(b) for a, b in _CELESTIAL)
    scaled = any(k in hdr for k in ("CD1_1", "CDELT1", "PC1_1"))
    return typed and scaled


class AnetHeaderProcessor(HeaderProcessor):
    """A HeaderProcessor that adds an astrometric solution to each file.

    Attributes
    ----------
    sexControl : str or None
        None: astrometry.net extracts the sources; "": solve-field runs
        SExtractor; other text: fitsmill runs SExtractor with these control
        settings (``DETECT_MINAREA 300`` etc.).
    objectFilter : callable or None
        A method ``objectFilter(self, inName)`` that may rewrite the source
        table ``inName`` (``img.axy``, relative to the sandbox, which is the
        working directory while it runs) in place.
    noCopyHeaders : set of str
        Keywords of astrometry.net's WCS file not merged into the header:
        they describe the data-less WCS file, not the image.
    sp_* : solver parameters, see :mod:`fitsmill.anet`.

    Hooks
    -----
    ``_shouldRunAnet(srcName, hdr)``
        Return False to leave a file uncalibrated (its header is still
        munged).
    ``_runAnet(srcName)``
        Solve one file; return the WCS cards or None when unsolved.
        Override it to vary parameters (the DaCHS manual's retry loop over
        DETECT_MINAREA works unchanged).
    ``_mungeHeader(srcName, hdr)``
        Add cards of your own after the WCS is merged.
    """

    sexControl = None
    objectFilter = None
    noCopyHeaders = {"SIMPLE", "BITPIX", "NAXIS", "IMAGEH", "IMAGEW", "NAXIS1",
                     "NAXIS2", "DATAMIN", "DATAMAX", "DATE", "EXTEND"}

    @staticmethod
    def addOptions(parser):
        """Add ``--no-anet``, ``--copy-to``, ``--anet-temp-dir``,
        ``--cpu-limit`` and ``--wall-limit`` to the HeaderProcessor options."""
        HeaderProcessor.addOptions(parser)
        parser.add_option("--no-anet", help="do not run astrometry.net; reuse"
                          " the WCS of the existing cached headers",
                          action="store_false", dest="runAnet", default=True)
        parser.add_option("--copy-to", help="copy each file's sandbox to"
                          " DIR/<file name>/ for debugging (only an earlier"
                          " sandbox copy is ever replaced)", metavar="DIR",
                          dest="copyTo", default=None)
        parser.add_option("--anet-temp-dir", help="make the private sandboxes"
                          " under DIR (default: the system temp directory)",
                          metavar="DIR", dest="anetTempDir", default=None)
        parser.add_option("--cpu-limit", help="astrometry.net CPU seconds per"
                          " file (overrides sp_total_timelimit)", metavar="SEC",
                          dest="cpuLimit", type=float, default=None)
        parser.add_option("--wall-limit", help="wall-clock seconds per file"
                          " after which the solver is killed (overrides"
                          " sp_wall_timelimit)", metavar="SEC",
                          dest="wallLimit", type=float, default=None)

    @property
    def solverParameters(self):
        """The ``sp_*`` parameters (inherited too) with the command line's
        limits applied."""
        params = anet.solver_parameters(self)
        if getattr(self.opts, "cpuLimit", None) is not None:
            params["total_timelimit"] = self.opts.cpuLimit
        if getattr(self.opts, "wallLimit", None) is not None:
            params["wall_timelimit"] = self.opts.wallLimit
        return anet.SolverParameters(params)

    def _isProcessed(self, srcName):
        """True when the file already has a celestial WCS."""
        return has_celestial_wcs(self.getPrimaryHeader(srcName))

    def _shouldRunAnet(self, srcName, hdr):
        """Return False to skip calibration of ``srcName``; default True."""
        return True

    def _runAnet(self, srcName):
        """Solve ``srcName``; return its WCS cards (a Header) or None.

        Raises
        ------
        fitsmill.errors.ShellCommandFailed
            When a program failed or ran out of time.
        """
        try:
            solution = anet.solve(
                srcName, self.solverParameters, sex_control=self.sexControl,
                object_filter=self.objectFilter,
                copy_to=getattr(self.opts, "copyTo", None),
                temp_root=getattr(self.opts, "anetTempDir", None),
                verbose=getattr(self.opts, "beVerbose", False))
        except NotSolved:
            return None
        cards = solution.header
        for line in solution.history:
            cards.add_history(line)
        return cards

    def _cachedWCS(self, srcName):
        """The WCS cards (and added commentary) of the existing cache."""
        cache = self._readCache(srcName)
        if cache is None:
            raise CannotComputeHeader(
                "no cached header and you asked not to run astrometry.net (--no-anet)")
        own = {(c.keyword, str(c.value)) for c in self.getPrimaryHeader(srcName).cards
               if c.keyword in ("COMMENT", "HISTORY")}
        cards = [c for c in cache.cards
                 if is_wcs_keyword(c.keyword)
                 or (c.keyword in ("COMMENT", "HISTORY")
                     and (c.keyword, str(c.value)) not in own)]
        if not any(is_wcs_keyword(c.keyword) for c in cards):
            raise CannotComputeHeader("the cached header has no WCS (--no-anet)")
        return Header(cards)

    def _solveAnet(self, srcName):
        """The WCS cards for ``srcName``: solved, or from the cache with
        ``--no-anet``."""
        if getattr(self.opts, "runAnet", True):
            return self._runAnet(srcName)
        return self._cachedWCS(srcName)

    def _mergeWCS(self, hdr, cards):
        """Put the solution's cards into ``hdr``, replacing any old WCS."""
        for keyword in {k for k in hdr.keys() if is_wcs_keyword(k)}:
            del hdr[keyword]
        for card in cards.cards if hasattr(cards, "cards") else cards:
            keyword = card.keyword
            if keyword in self.noCopyHeaders or not keyword:
                continue
            if keyword == "COMMENT":
                hdr.add_comment(str(card.value))
            elif keyword == "HISTORY":
                hdr.add_history(str(card.value))
            else:
                hdr[keyword] = (card.value, card.comment)

    def _getHeader(self, srcName):
        """The file's header with the astrometric solution, then munged.

        Raises
        ------
        CannotComputeHeader
            When astrometry.net found no solution.
        """
        hdr = self.getPrimaryHeader(srcName)
        if self._shouldRunAnet(srcName, hdr):
            cards = self._solveAnet(srcName)
            if not cards:
                raise CannotComputeHeader("astrometry.net did not find a solution")
            self._mergeWCS(hdr, cards)
        return self._mungeHeader(srcName, hdr)

    def commentFilter(self, value):
        """Keep every COMMENT but astrometry.net's bookkeeping lines.

        Kept from astrometry.net: the index files used, the scale range,
        the object range, tweak settings, the matching quad's index id,
        code error, log odds, match counts and scale.
        """
        return not _ANET_COMMENT_CHATTER.fullmatch(str(value).strip())

    def historyFilter(self, value):
        """Keep every HISTORY but astrometry.net's boilerplate lines."""
        return not _ANET_HISTORY_CHATTER.fullmatch(str(value).strip())
