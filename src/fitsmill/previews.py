"""Precomputed previews: PreviewMaker, the built-in FITS preview maker and
SpectralPreviewMaker (DaCHS's ``api.PreviewMaker`` family).

A DaCHS preview script runs unchanged with ``from fitsmill import api``::

    class PreviewMaker(api.PreviewMaker):
        def getPreviewData(self, accref):
            ...return the encoded picture as bytes...

    if __name__ == "__main__":
        api.procmain(PreviewMaker, "example/q", "import")

Identifiers are accrefs: the sources' paths relative to the inputs
directory (DaCHS read them from the products table; fitsmill derives them
from the data descriptor's sources).  For every accref, :meth:`process`

1. finds the preview path (:meth:`PreviewMaker.getPreviewPath`: the naming
   policy applied in the preview directory; override it for a policy of
   your own);
2. skips the accref (as "skipped" in the summary) when the preview is up
   to date: it exists and is not older than the source (DaCHS only asked
   whether it existed); ``--force`` rebuilds anyway;
3. calls :meth:`PreviewMaker.getPreviewData` and writes the bytes
   atomically (temporary file in the target directory, then rename),
   creating directories as needed; modes follow the umask (DaCHS forced
   0664/0775).

The preview directory is ``--preview-dir`` or the data descriptor's
``previewDir`` property, relative to the resource directory as in DaCHS.
The naming policy is ``--naming`` or the class attribute ``naming``:
``"standard"`` (DaCHS's ``\\standardPreviewPath``) or ``"split:EXT"``
(``\\splitPreviewPath{EXT}``); see :mod:`fitsmill.naming`.  Accrefs that are
absolute or contain ``..`` are refused, so no preview lands outside the
preview directory.

``--report`` classifies every accref as ``with`` (up to date),
``stale`` (older than its source) or ``without`` (missing).
"""

import os

from fitsmill.atomic import atomic_write
from fitsmill.errors import FitsmillError, SkipThis
from fitsmill.naming import NamingPolicy, validate_accref
from fitsmill.processor import FileProcessor

__all__ = ["PreviewMaker", "FitsPreviewMaker", "SpectralPreviewMaker"]


class PreviewMaker(FileProcessor):
    """Base class of preview makers: subclasses define ``getPreviewData``.

    Class attributes a subclass may set:

    ``naming``
        The default naming policy (``"standard"``), see
        :mod:`fitsmill.naming`; ``--naming`` overrides it.
    ``fsyncPreviews``
        Flush every preview to disk before renaming it into place (default
        False; ``--fsync`` sets it).  A flush per file costs more than
        making a small preview, and previews can be remade: without it, a
        crash may leave empty previews, which count as missing.

    Options added to the framework's: ``--force``, ``--preview-dir DIR``,
    ``--naming POLICY``, ``--fsync``.
    """

    naming = "standard"
    fsyncPreviews = False

    @staticmethod
    def addOptions(parser):
        """Add ``--force``, ``--preview-dir``, ``--naming`` and ``--fsync``
        (upward call to :meth:`FileProcessor.addOptions` included)."""
        FileProcessor.addOptions(parser)
        parser.add_option("--force", action="store_true", dest="force",
                          default=False, help="rebuild previews even when they"
                          " are up to date")
        parser.add_option("--preview-dir", dest="previewDir", metavar="DIR",
                          default=None, help="where the previews go (default:"
                          " the data descriptor's previewDir property,"
                          " relative to the resource directory)")
        parser.add_option("--naming", dest="naming", metavar="POLICY",
                          default=None, help="preview file names: 'standard'"
                          " (DaCHS's flat base64 names, no extension) or"
                          " 'split:EXT' (the accref tree mirrored, EXT"
                          " appended, e.g. split:.jpeg)")
        parser.add_option("--fsync", action="store_true", dest="fsync",
                          default=False, help="flush each preview to disk"
                          " before renaming it into place (slow)")

    def __init__(self, opts=None, dd=None):
        super().__init__(opts, dd)
        # Configuration errors surface once, before the run, not once per
        # source; a subclass with its own getPreviewPath needs no directory.
        self.namingPolicy  # noqa: B018 -- resolves and validates
        if type(self).getPreviewPath is PreviewMaker.getPreviewPath:
            self.previewDir  # noqa: B018

    # Resolved lazily rather than in _createAuxiliaries, so that subclasses
    # overriding that hook without the upward call still work.
    @property
    def previewDir(self):
        """The absolute preview directory: a value assigned to it (as DaCHS
        scripts may do in ``_createAuxiliaries``), else ``--preview-dir``,
        else the ``previewDir`` property relative to the resource directory.

        Raises
        ------
        FitsmillError
            Neither ``--preview-dir`` nor the ``previewDir`` property is set.
        """
        resolved = self.__dict__.get("_previewDir")
        if resolved is None:
            given = getattr(self.opts, "previewDir", None)
            if given:
                resolved = os.path.abspath(given)
            else:
                prop = self.dd.getProperty("previewDir", None)
                if not prop:
                    raise FitsmillError(
                        "no preview directory: give --preview-dir or the data"
                        " descriptor's previewDir property")
                resolved = os.path.abspath(self.dd.rd.getAbsPath(prop))
            self._previewDir = resolved
        return resolved

    @previewDir.setter
    def previewDir(self, value):
        # DaCHS scripts may set it themselves in _createAuxiliaries.
        self._previewDir = os.path.abspath(value)

    @property
    def namingPolicy(self):
        """The :class:`fitsmill.naming.NamingPolicy` in force."""
        policy = self.__dict__.get("_namingPolicy")
        if policy is None:
            policy = self._namingPolicy = NamingPolicy(
                getattr(self.opts, "naming", None) or self.naming)
        return policy

    def _check_extension(self, fmt):
        """Refuse ``split:EXT`` naming whose extension names another image
        format than the previews made (``fmt``: "jpeg" or "png"): browsers
        and the gallery go by the name."""
        named = _EXTENSION_FORMATS.get(self.namingPolicy.ext.lower())
        if named is not None and named != fmt:
            raise FitsmillError(
                f"--naming {self.namingPolicy}: the previews are {fmt.upper()} images;"
                f" name them split:.{'jpeg' if fmt == 'jpeg' else 'png'}")

    def iterIdentifiers(self):
        """Yield the accrefs of the data descriptor's sources.

        Raises
        ------
        ValueError
            A source that is not below the inputs directory.
        """
        for source in self.dd.sources:
            yield self.getProductKey(source).replace(os.sep, "/")

    def getSourcePath(self, accref):
        """Return the file of ``accref``: ``inputsDir/accref``."""
        return os.path.join(self.inputsDir, validate_accref(accref))

    def getPreviewPath(self, accref):
        """Return where the preview of ``accref`` goes (override for a
        naming scheme of your own)."""
        return self.namingPolicy.preview_path(accref, self.previewDir)

    def getPreviewData(self, accref):
        """Return the encoded preview of ``accref`` as bytes (override)."""
        raise NotImplementedError(
            f"{type(self).__name__} must define getPreviewData(accref)")

    def _previewState(self, accref):
        """``"with"``, ``"stale"`` or ``"without"`` for ``accref``."""
        try:
            st = os.stat(self.getPreviewPath(accref))
        except FileNotFoundError:
            return "without"
        if not st.st_size:
            return "without"  # what a crash before the data reached disk leaves
        try:
            source = os.stat(self.getSourcePath(accref)).st_mtime_ns
        except FileNotFoundError:
            # Virtual accrefs (e.g. spectra made on the fly) have no file
            # to compare with: existence is all we can check.
            return "with"
        return "with" if st.st_mtime_ns >= source else "stale"

    def classify(self, accref):
        """Classify the preview of ``accref`` for ``--report``: ``with``
        (up to date), ``stale`` (older than the source) or ``without``.

        Unlike DaCHS, ``--force`` does not change the classification: the
        report describes the previews as they are."""
        return self._previewState(accref)

    def process(self, accref):
        """Make the preview of ``accref`` unless it is up to date.

        Raises
        ------
        SkipThis
            The preview is up to date (counted as skipped).
        TypeError
            ``getPreviewData`` did not return bytes.
        """
        path = self.getPreviewPath(accref)
        if not getattr(self.opts, "force", False) and self._previewState(accref) == "with":
            raise SkipThis(f"{accref}: preview up to date")
        data = self.getPreviewData(accref)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"getPreviewData returned {type(data).__name__},"
                            " not bytes")
        atomic_write(path, data,
                     fsync=self.fsyncPreviews or bool(getattr(self.opts, "fsync", False)))


# Extensions of split naming that say which image format a file holds.
_EXTENSION_FORMATS = {".jpeg": "jpeg", ".jpg": "jpeg", ".png": "png"}


def _ext_value(text):
    """An HDU given on the command line: index if numeric, else EXTNAME."""
    return int(text) if text.lstrip("-").isdigit() else text


class FitsPreviewMaker(PreviewMaker):
    """Previews of FITS images without writing code (``fitsmill previews``).

    Each preview is the image shrunk by streaming block means
    (:func:`fitsmill.scaledrows.scaled_image`) so that its longer side is
    at most ``--size`` pixels, rendered with :func:`fitsmill.imaging.render`
    in the look the imaging options describe (``--limits``, ``--stretch``,
    ``--invert``, ``--format``, ``--quality``, ...).  ``--rgb 2,3,4``
    makes a colour preview from three image HDUs (red, green, blue), as
    the DaCHS manual's colour example.
    """

    @staticmethod
    def addOptions(parser):
        """Add the image options to :meth:`PreviewMaker.addOptions`'s."""
        from fitsmill.imaging import add_style_arguments

        PreviewMaker.addOptions(parser)
        group = add_style_arguments(parser)
        group.add_argument("--size", dest="previewSize", type=int, default=200,
                           metavar="PIXELS", help="longest side of the preview"
                           " at most PIXELS (default 200)")
        group.add_argument("--ext", dest="previewExt", type=_ext_value, default=None,
                           metavar="HDU", help="image HDU, index or EXTNAME"
                           " (default: the first HDU holding an image)")
        group.add_argument("--plane", dest="previewPlane", type=int, default=0,
                           help="plane of a cube (default 0)")
        group.add_argument("--rgb", dest="previewRgb", default=None,
                           metavar="R,G,B", help="colour preview from three"
                           " image HDUs, e.g. 2,3,4")
        group.add_argument("--rgb-method", dest="previewRgbMethod",
                           choices=("lupton", "per-band"), default="lupton",
                           help="colour mapping (default lupton asinh)")

    def __init__(self, opts=None, dd=None):
        super().__init__(opts, dd)
        # Import the reader and its HDU lookup now, not inside the first
        # preview of the run (pool workers forked later inherit them).
        import fitsmill.fitsfile  # noqa: F401
        import fitsmill.scaledrows  # noqa: F401
        # Bad look options fail the run once, up front (not per source).
        self._check_extension(self.style.format)
        self._bands()
        if getattr(self.opts, "previewSize", 200) < 1:
            raise FitsmillError(f"--size {self.opts.previewSize}: need at least 1 pixel")

    @property
    def style(self):
        """The :class:`fitsmill.imaging.PreviewStyle` from the options."""
        style = self.__dict__.get("_style")
        if style is None:
            from fitsmill.imaging import style_from_args
            style = self._style = style_from_args(self.opts)
        return style

    def _bands(self):
        text = getattr(self.opts, "previewRgb", None)
        if not text:
            return None
        bands = [_ext_value(part.strip()) for part in text.split(",")]
        if len(bands) != 3:
            raise FitsmillError(f"--rgb {text!r}: give three HDUs, e.g. 2,3,4")
        return bands

    def getPreviewData(self, accref):
        """Shrink and render the FITS image of ``accref``."""
        from fitsmill import imaging
        from fitsmill.scaledrows import scaled_image

        path = self.getSourcePath(accref)
        size = getattr(self.opts, "previewSize", 200)
        plane = getattr(self.opts, "previewPlane", 0)
        bands = self._bands()
        if bands is None:
            image = scaled_image(path, size=size, ext=getattr(self.opts, "previewExt", None),
                                 plane=plane)
            return imaging.render(image, self.style)
        r, g, b = (scaled_image(path, size=size, ext=ext, plane=plane) for ext in bands)
        if not r.shape == g.shape == b.shape:
            raise ValueError(f"{path}: the --rgb HDUs shrink to different shapes"
                             f" {r.shape}, {g.shape}, {b.shape}")
        return imaging.render_rgb(r, g, b, self.style,
                                  method=getattr(self.opts, "previewRgbMethod", "lupton"))


class SpectralPreviewMaker(PreviewMaker):
    """Spectrum previews: a small plot of flux against spectral coordinate.

    Standalone, without DaCHS's SDM machinery: the spectrum of an accref
    comes from :meth:`getSpectrum`, which by default reads the accref's
    file with :func:`fitsmill.spectra.read_spectrum` (a FITS table or
    VOTable with columns ``spectralColumn`` / ``fluxColumn``, or a 1-D FITS
    image with a linear spectral WCS).  Override ``getSpectrum(accref)``
    to return ``(spectral, flux)`` arrays from anywhere else.

    The plot is :func:`fitsmill.spectra.plot_spectrum`: ``previewSize``
    (200 x 100) PNG, black on white, no axes, as DaCHS draws it; NaN fluxes
    (and fluxes <= 0 on the log axis) break the line and are marked by grey
    ticks along the bottom edge, never silently dropped.

    Class attributes (DaCHS's names):

    ``linearFluxes``
        False: logarithmic flux axis (default); True: linear.
    ``connectPoints``
        True: a line through the points (default); False: single points,
        better for noisy spectra.
    ``spectralColumn``, ``fluxColumn``
        Column names, default ``"spectral"`` and ``"flux"``.
    ``sdmId``
        Kept so DaCHS scripts run unchanged.  In DaCHS it names the data
        element that builds an SDM spectrum from an accref; fitsmill never
        executes RD code, so it is not used: the spectrum is read from the
        accref's own file (or from an overridden ``getSpectrum``).
    ``spectrumExt``
        The FITS HDU holding the spectrum (default: the first that does).
    """

    linearFluxes = False
    connectPoints = True
    spectralColumn = "spectral"
    fluxColumn = "flux"
    sdmId = None
    spectrumExt = None
    previewSize = (200, 100)

    def __init__(self, opts=None, dd=None):
        super().__init__(opts, dd)
        # Import the plotting module now, not inside the first preview.
        import fitsmill.spectra  # noqa: F401
        self._check_extension("png")

    def getSpectrum(self, accref):
        """Return ``(spectral, flux)`` arrays for ``accref`` (override to
        take spectra from elsewhere)."""
        from fitsmill.spectra import read_spectrum

        return read_spectrum(self.getSourcePath(accref), self.spectralColumn,
                             self.fluxColumn, self.spectrumExt)

    def getPreviewData(self, accref):
        """Return the PNG plot of the spectrum of ``accref``."""
        from fitsmill.spectra import plot_spectrum

        spectral, flux = self.getSpectrum(accref)
        width, height = self.previewSize
        return plot_spectrum(spectral, flux, width=width, height=height,
                             linear_fluxes=self.linearFluxes,
                             connect_points=self.connectPoints)

    @staticmethod
    def get2DPlot(tuples, linear=False, connectPoints=True):
        """DaCHS's plot function: PNG bytes of a list of (spectral, flux)
        pairs, 200 x 100 pixels."""
        from fitsmill.spectra import plot_spectrum

        pairs = list(tuples)
        spectral = [p[0] for p in pairs]
        flux = [p[1] for p in pairs]
        return plot_spectrum(spectral, flux, linear_fluxes=linear,
                             connect_points=connectPoints)
