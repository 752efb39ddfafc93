"""``fitsmill calibrate``: astrometric calibration of plates and images.

The DaCHS manual's ``calibrate.py`` as a command: SExtractor finds the
sources (``--minarea`` = DETECT_MINAREA, ``--detectthreshold`` =
DETECT_THRESH, defaults 300 and 4, suited to plate scans), astrometry.net
solves, and the WCS goes into a ``.hdr`` cache beside each file;
``--apply`` writes the cached headers into the files (in place, data bytes
untouched).  Examples::

    fitsmill calibrate 'plates/*.fits'                 # compute caches
    fitsmill calibrate --apply -j 2 'plates/*.fits'    # and write them
    fitsmill calibrate --minarea 10 --detectthreshold 6 --copy-to debug \\
        --bail plates/hard.fits

Scale and position hints come from the headers (PLTSCALE with PIXSIZE1 or
SCANRES1, CDELT/CD; RA/DEC) unless ``--blind``.
"""

import os

from fitsmill.anetproc import AnetHeaderProcessor
from fitsmill.errors import FitsmillError
from fitsmill.processor import run_cli

__all__ = ["main", "CalibrateProcessor", "calibrate_directory", "calibration_demo"]

_PROG = "fitsmill calibrate"


class CalibrateProcessor(AnetHeaderProcessor):
    """AnetHeaderProcessor configured from the command line."""

    @staticmethod
    def addOptions(parser):
        """Add the extraction and solver options to AnetHeaderProcessor's."""
        AnetHeaderProcessor.addOptions(parser)
        group = parser.add_argument_group("source extraction")
        group.add_argument("--minarea", type=int, default=300, dest="minArea",
                           help="SExtractor DETECT_MINAREA in pixels (default 300)")
        group.add_argument("--detectthreshold", type=float, default=4.0,
                           dest="detectThreshold",
                           help="SExtractor DETECT_THRESH in sigma (default 4)")
        group.add_argument("--anet-extraction", action="store_true",
                           dest="anetExtraction", default=False,
                           help="let astrometry.net find the sources instead"
                           " of SExtractor (--minarea and --detectthreshold"
                           " then do not apply)")
        group.add_argument("--invert", action="store_true", default=False,
                           help="the plates are negatives (dark stars on a"
                           " bright background)")
        group.add_argument("--skip-brightest", type=int, default=0,
                           dest="skipBrightest", metavar="N",
                           help="drop the N brightest (saturated) sources")
        group.add_argument("--max-objects", type=int, default=None,
                           dest="maxObjects", metavar="M",
                           help="keep at most M sources")
        group = parser.add_argument_group("solver")
        group.add_argument("--indices", nargs="+", default=None, metavar="GLOB",
                           help="index files (globs relative to --index-dir)")
        group.add_argument("--index-dir", default=None, dest="indexDir",
                           help="astrometry.net index directory (default"
                           " FITSMILL_ANET_INDEX_DIR or /usr/share/astrometry)")
        group.add_argument("--scale-low", type=float, default=None,
                           dest="scaleLow", metavar="ARCSEC",
                           help="lowest pixel scale, arcsec per pixel")
        group.add_argument("--scale-high", type=float, default=None,
                           dest="scaleHigh", metavar="ARCSEC",
                           help="highest pixel scale, arcsec per pixel")
        group.add_argument("--blind", action="store_false", dest="headerHints",
                           default=True, help="ignore scale and position"
                           " hints in the headers")
        group.add_argument("--depth", type=int, default=None, metavar="N",
                           help="give up after the first N sources (endob)")
        group.add_argument("--downsample", type=int, default=None, metavar="N",
                           help="let astrometry.net downsample the image")
        group.add_argument("--tweak-order", type=int, default=3,
                           dest="tweakOrder", metavar="K",
                           help="SIP distortion order (default 3)")

    def _createAuxiliaries(self, dd):
        super()._createAuxiliaries(dd)
        opts = self.opts
        if opts.minArea < 1:
            raise FitsmillError(f"--minarea must be at least 1, not {opts.minArea}")
        if not opts.detectThreshold > 0:
            raise FitsmillError(f"--detectthreshold must be positive, not {opts.detectThreshold:g}")
        if not opts.anetExtraction:
            self.sexControl = (f"DETECT_MINAREA {opts.minArea}\n"
                               f"DETECT_THRESH {opts.detectThreshold:g}\n")
        settings = {
            "indices": opts.indices, "index_dir": opts.indexDir,
            "lower_pix": opts.scaleLow, "upper_pix": opts.scaleHigh,
            "header_hints": opts.headerHints, "endob": opts.depth,
            "downsample": opts.downsample, "tweak_order": opts.tweakOrder,
            "skip_brightest": opts.skipBrightest, "max_objects": opts.maxObjects,
            "invert": opts.invert,
        }
        for key, value in settings.items():
            setattr(self, "sp_" + key, value)


_DESCRIPTION = ("Astrometric calibration with astrometry.net (SExtractor"
                " sources, header hints, SIP order 3); computes .hdr caches,"
                " --apply writes them.")


def main(argv=None):
    """Run ``fitsmill calibrate``; return the exit status."""
    return run_cli(CalibrateProcessor, argv, prog=_PROG, description=_DESCRIPTION)


def calibrate_directory(directory, pattern="*.fits", apply=True, jobs=1,
                        minarea=5, threshold=4.0, extra=()):
    """Calibrate every plate in a directory (the demo's calibration step).

    Parameters
    ----------
    directory : str or os.PathLike
    pattern : str
        Glob of the files to calibrate.
    apply : bool
        Write the solutions into the files (else only ``.hdr`` caches).
    jobs : int
        Worker processes.
    minarea, threshold : float
        SExtractor DETECT_MINAREA and DETECT_THRESH (small stars: 5 and 4).
    extra : sequence of str
        More ``fitsmill calibrate`` options.

    Returns
    -------
    CalibrateProcessor
        The processor after the run (``summary``, ``exit_status``).
    """
    from fitsmill.processor import procmain

    argv = ["--no-progress", "-j", str(jobs), "--minarea", str(minarea),
            "--detectthreshold", str(threshold), *extra]
    if apply:
        argv.append("--apply")
    return procmain(CalibrateProcessor, sources=[os.path.join(os.fspath(directory), pattern)],
                    argv=argv, exit=False, prog=_PROG)


def calibration_demo(directory, count=2, shape=(800, 800), jobs=1):
    """Render solvable plates into ``directory``, calibrate them, report.

    The ``fitsmill demo`` calibration step: plates of real Tycho-2 stars
    (:func:`fitsmill.skyplates.write_plate_set`, with the plate-header hints
    PLTSCALE, PIXSIZE1, RA, DEC) are solved with astrometry.net and the WCS
    is written into them.  Needs astrometry.net with Tycho-2 indexes and
    SExtractor; takes a few seconds of CPU per plate.

    Parameters
    ----------
    directory : str or os.PathLike
        Created when missing.
    count : int
        Number of plates.
    shape : tuple of int
        Plate size in pixels (10.8 arcsec per pixel).
    jobs : int
        Worker processes.

    Returns
    -------
    list of str
        One line per plate: the solved centre and scale against the truth,
        or why it failed.
    """
    import numpy as np
    from astropy.io import fits
    from astropy.wcs import WCS

    from fitsmill.skyplates import write_plate_set

    plates = write_plate_set(directory, count=count, shape=shape)
    proc = calibrate_directory(directory, pattern="skyplate*.fits", jobs=jobs)
    failed = {os.path.abspath(src): reason for src, reason, _ in proc.summary.failures}
    centre = [[(shape[1] - 1) / 2, (shape[0] - 1) / 2]]
    lines = []
    for path, truth in plates:
        name = os.path.basename(path)
        if os.path.abspath(path) in failed:
            lines.append(f"{name}: not calibrated: {failed[os.path.abspath(path)]}")
            continue
        solved = WCS(fits.getheader(path))
        (ra, dec), = solved.all_pix2world(centre, 0)
        (tra, tdec), = truth.all_pix2world(centre, 0)
        scale = np.sqrt(abs(np.linalg.det(solved.pixel_scale_matrix))) * 3600
        lines.append(f"{name}: centre {ra:.4f} {dec:+.4f} (true {tra:.4f} {tdec:+.4f}),"
                     f" {scale:.3f} arcsec/px (true 10.800)")
    return lines
