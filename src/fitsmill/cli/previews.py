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

__all__ = ["main", "CliSpectralPreviewMaker"]

_PROG = "fitsmill previews"


class CliSpectralPreviewMaker(SpectralPreviewMaker):
    """SpectralPreviewMaker configured from the command line."""

    @staticmethod
    def addOptions(parser):
        """Add the spectrum options to :meth:`SpectralPreviewMaker.addOptions`'s."""
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

    def _createAuxiliaries(self, dd):
        super()._createAuxiliaries(dd)
        for name in ("spectralColumn", "fluxColumn", "linearFluxes", "connectPoints"):
            setattr(self, name, getattr(self.opts, name))


def _split_args(argv):
    """Take ``--rd``, ``--dd`` and ``--spectra`` off the argument list."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--rd", dest="rd")
    pre.add_argument("--dd", dest="dd")
    pre.add_argument("--spectra", action="store_true")
    return pre.parse_known_args(argv)


_DESCRIPTION = (
    "Make previews of FITS images (shrunk by block means, rendered in the look"
    " the preview options describe) or, with --spectra, small plots of spectra."
    "  Up-to-date previews are skipped.  With --rd ID --dd ID the sources and"
    " the previewDir property come from a DaCHS resource descriptor.")


def main(argv):
    """Run ``fitsmill previews``; return the exit status (0, 1 or 2)."""
    known, rest = _split_args(list(argv))
    if (known.rd is None) != (known.dd is None):
        print(f"{_PROG}: error: --rd and --dd go together", file=sys.stderr)
        return 2
    cls = CliSpectralPreviewMaker if known.spectra else FitsPreviewMaker
    extra = {"rdId": known.rd, "ddId": known.dd} if known.rd else {}
    return run_cli(cls, rest, prog=_PROG, description=_DESCRIPTION + " Options"
                   " --rd ID, --dd ID and --spectra select what to run.", **extra)
