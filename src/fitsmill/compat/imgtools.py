"""DaCHS's ``gavo.utils.imgtools``: the names scripts use, resolved lazily to fitsmill."""

from fitsmill._lazy import install_lazy_names

_NAMES = {
    "jpegFromNumpyArray": "fitsmill.imaging:jpegFromNumpyArray",
    "colorJpegFromNumpyArrays": "fitsmill.imaging:colorJpegFromNumpyArrays",
    "scaleNumpyArray": "fitsmill.imaging:scaleNumpyArray",
}

install_lazy_names(globals(), _NAMES)
