"""``fitsmill previews``: make previews of FITS images or spectra, no code needed.

Examples::

    fitsmill previews --inputs-dir /data --preview-dir /data/previews \\
        --naming split:.jpeg -j 2 'plates/**/*.fits'
    fitsmill previews --rd plts/q --dd import --stretch asinh --invert
    fitsmill previews --spectra --spectral-column WAVE --flux-column FLUX \\
        --inputs-dir /data --preview-dir /data/specprev 'spec/*.fits'

Sources are paths or globs (relative to the current directory, ``**``
recursing) or ``@FILE`` lists; with ``--rd ID --dd ID`` they and the
``previewDir`` property come from a DaCHS resource descriptor instead.
"""

import argparse
import sys

from fitsmill.previews import FitsPreviewMaker, SpectralPreviewMaker
from fitsmill.processor import run_cli

__all__ = ["main", "CliFitsPreviewMaker", "CliSpectralPreviewMaker"]

_PROG = "fitsmill previews"


def _add_selection(parser):
    """Declare the options :func:`main` reads before choosing the processor
    (so that they show in ``--help`` and are accepted)."""
    group = parser.add_argument_group("what to run")
    group.add_argument("--rd", metavar="ID", default=None,
                       help="DaCHS resource descriptor inputsDir/ID.rd: sources"
                       " and previewDir property from it (needs --dd)")
    group.add_argument("--dd", metavar="ID", default=None,
                       help="the <data> element of --rd")
    group.add_argument("--spectra", action="store_true", default=False,
                       help="plot spectra (FITS tables, VOTables, 1-D images)"
                       " instead of previewing images")


class CliFitsPreviewMaker(FitsPreviewMaker):
    """FitsPreviewMaker with the command's selection options."""

    @staticmethod
    def addOptions(parser):
        """Add ``--rd``, ``--dd``, ``--spectra`` to the image options."""
        FitsPreviewMaker.addOptions(parser)
        _add_selection(parser)


class CliSpectralPreviewMaker(SpectralPreviewMaker):
    """SpectralPreviewMaker configured from the command line."""

    @staticmethod
    def addOptions(parser):
        """Add the spectrum and selection options to
        :meth:`SpectralPreviewMaker.addOptions`'s."""
        SpectralPreviewMaker.addOptions(parser)
        group = parser.add_argument_group("spectra")
        group.add_argument("--spectral-column", dest="spectralColumn", default="spectral",
                           help="spectral coordinate column (default spectral)")
        group.add_argument("--flux-column", dest="fluxColumn", default="flux",
                           help="flux column (default flux)")
        group.add_argument("--linear-fluxes", dest="linearFluxes", action="store_true",
                           default=False, help="linear flux axis (default log)")
        group.add_argument("--points", dest="connectPoints", action="store_false",
                           default=True, help="draw points, not a line")
        _add_selection(parser)

    def _createAuxiliaries(self, dd):
        super()._createAuxiliaries(dd)
        for name in ("spectralColumn", "fluxColumn", "linearFluxes", "connectPoints"):
            setattr(self, name, getattr(self.opts, name))


_DESCRIPTION = (
    "Make previews of FITS images (shrunk by block means, rendered in the look"
    " the preview options describe) or, with --spectra, small plots of spectra."
    "  Up-to-date previews are skipped.")


def main(argv):
    """Run ``fitsmill previews``; return the exit status (0, 1 or 2)."""
    argv = list(argv)
    pre = argparse.ArgumentParser(add_help=False)
    _add_selection(pre)
    known, _ = pre.parse_known_args(argv)
    if (known.rd is None) != (known.dd is None):
        print(f"{_PROG}: error: --rd and --dd go together", file=sys.stderr)
        return 2
    cls = CliSpectralPreviewMaker if known.spectra else CliFitsPreviewMaker
    extra = {"rdId": known.rd, "ddId": known.dd} if known.rd else {}
    return run_cli(cls, argv, prog=_PROG, description=_DESCRIPTION, **extra)
