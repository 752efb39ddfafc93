"""DaCHS-compatible names: ``from fitsmill import api`` stands in for
``from gavo import api`` in existing processor scripts.

Names resolve lazily, so importing this module costs almost nothing.
"""

from fitsmill._lazy import install_lazy_names

_NAMES = {
    "FileProcessor": "fitsmill.processor:FileProcessor",
    "procmain": "fitsmill.processor:procmain",
    "getConfig": "fitsmill.config:getConfig",
    "ImmediateHeaderProcessor": "fitsmill.headerproc:ImmediateHeaderProcessor",
    "HeaderProcessor": "fitsmill.headerproc:HeaderProcessor",
    "AnetHeaderProcessor": "fitsmill.anet:AnetHeaderProcessor",
    "PreviewMaker": "fitsmill.previews:PreviewMaker",
    "SpectralPreviewMaker": "fitsmill.previews:SpectralPreviewMaker",
    "FitsPreviewMaker": "fitsmill.previews:FitsPreviewMaker",
    "iterScaledRows": "fitsmill.scaledrows:iterScaledRows",
    "jpegFromNumpyArray": "fitsmill.imaging:jpegFromNumpyArray",
    "colorJpegFromNumpyArrays": "fitsmill.imaging:colorJpegFromNumpyArrays",
    "sortHeaders": "fitsmill.headerproc:sortHeaders",
    "makeHeaderFromTemplate": "fitsmill.templates:makeHeaderFromTemplate",
    "Header": "fitsmill.header:Header",
    "SkipThis": "fitsmill.errors:SkipThis",
    "CannotComputeHeader": "fitsmill.errors:CannotComputeHeader",
    "ShellCommandFailed": "fitsmill.errors:ShellCommandFailed",
    "NotSolved": "fitsmill.errors:NotSolved",
    "FitsFormatError": "fitsmill.errors:FitsFormatError",
    "fitstools": "fitsmill.compat.fitstools",
    "imgtools": "fitsmill.compat.imgtools",
    "fitstricks": "fitsmill.compat.fitstricks",
}

install_lazy_names(globals(), _NAMES)
