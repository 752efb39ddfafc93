"""Running SExtractor (``source-extractor``) for astrometric calibration.

fitsmill writes its own control, parameter and filter files (Debian's
default parameter file has every column commented out), scales the memory
stacks to the image size (big plates otherwise die with "pixel stack
overflow") and produces a FITS_1.0 catalogue ``img.axy`` with the columns
astrometry.net needs.
"""

import functools
import math
import os
import shutil

__all__ = [
    "find_sextractor", "CATALOG_COLUMNS", "control_text", "filter_text",
    "write_config", "run_sextractor",
]

#: columns of the catalogue handed to astrometry.net and objectFilter
CATALOG_COLUMNS = ("X_IMAGE", "Y_IMAGE", "MAG_ISO", "FLUX_AUTO", "ELONGATION")

CONTROL_NAME = "anet.control"
PARAM_NAME = "anet.param"
FILTER_NAME = "anet.filter"
CATALOG_NAME = "img.axy"

# keys that tie SExtractor's output to what fitsmill reads back
_RESERVED = ("CATALOG_TYPE", "CATALOG_NAME", "PARAMETERS_NAME")

_NAMES = ("source-extractor", "sex", "sextractor")


@functools.lru_cache(maxsize=8)
def find_sextractor(configured=None):
    """Locate the SExtractor binary.

    Parameters
    ----------
    configured : str, optional
        An explicit path or name; otherwise ``$FITSMILL_SEXTRACTOR``, then
        ``source-extractor``, ``sex`` and ``sextractor`` on PATH (the name
        differs between distributions).

    Returns
    -------
    str
        The absolute path.

    Raises
    ------
    FileNotFoundError
        When no SExtractor is found.
    """
    candidates = [configured] if configured else []
    if os.environ.get("FITSMILL_SEXTRACTOR"):
        candidates.append(os.environ["FITSMILL_SEXTRACTOR"])
    candidates += _NAMES
    for name in candidates:
        path = shutil.which(name)
        if path:
            return path
    raise FileNotFoundError(
        "SExtractor not found (tried " + ", ".join(candidates) + ")")


def filter_text(fwhm=2.0, size=5):
    """A normalised Gaussian convolution kernel in SExtractor's format.

    Parameters
    ----------
    fwhm : float
        FWHM of the Gaussian in pixels.
    size : int
        Odd kernel width.

    Returns
    -------
    str
    """
    sigma = fwhm / (2 * math.sqrt(2 * math.log(2)))
    half = size // 2
    rows = []
    for j in range(-half, half + 1):
        rows.append(" ".join(
            f"{math.exp(-(i * i + j * j) / (2 * sigma * sigma)):.6f}"
            for i in range(-half, half + 1)))
    return f"CONV NORM\n# {size}x{size} Gaussian, FWHM {fwhm:g} px\n" + "\n".join(rows) + "\n"


def _parse_control(text):
    """Parse SExtractor control text into an ordered {KEY: value} dict."""
    settings = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, _, value = line.partition(" ")
        settings[key.upper()] = value.strip()
    return settings


def control_text(user_control, shape):
    """Build the SExtractor control file for an image.

    Parameters
    ----------
    user_control : str
        The user's settings (e.g. ``DETECT_MINAREA 300``); they override
        fitsmill's defaults, except the catalogue settings, which must not be
        given.
    shape : tuple of int
        ``(ny, nx)`` of the image, for the memory settings.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        When the user's text sets CATALOG_TYPE, CATALOG_NAME or
        PARAMETERS_NAME.
    """
    user = _parse_control(user_control)
    bad = [k for k in _RESERVED if k in user]
    if bad:
        raise ValueError("sexControl must not set " + ", ".join(bad))
    ny, nx = shape
    settings = {
        "CATALOG_TYPE": "FITS_1.0",
        "CATALOG_NAME": CATALOG_NAME,
        "PARAMETERS_NAME": PARAM_NAME,
        "FILTER": "Y",
        "FILTER_NAME": FILTER_NAME,
        "DETECT_MINAREA": "5",
        "DETECT_THRESH": "4",
        "ANALYSIS_THRESH": "4",
        "DEBLEND_NTHRESH": "32",
        "DEBLEND_MINCONT": "0.005",
        "CLEAN": "Y",
        "BACK_SIZE": "64",
        "CHECKIMAGE_TYPE": "NONE",
        # SExtractor's default (300000) is about one stacked pixel per 32
        # pixels of a 2k x 4k CCD; keep that ratio for big plate scans, whose
        # bloated bright stars otherwise overflow the stack
        "MEMORY_PIXSTACK": str(max(300000, min(nx * ny // 32, 50_000_000))),
        "MEMORY_OBJSTACK": str(max(3000, min(nx * ny // 1000, 200_000))),
        "MEMORY_BUFSIZE": str(max(1024, min(ny, 8192))),
        "VERBOSE_TYPE": "NORMAL",
        "NTHREADS": "1",
    }
    settings.update(user)
    return "".join(f"{k:<16} {v}\n" for k, v in settings.items())


def write_config(sandbox, user_control, shape):
    """Write the control, parameter and filter files into a sandbox.

    Parameters
    ----------
    sandbox : fitsmill.sandbox.Sandbox
    user_control : str
        See :func:`control_text`.
    shape : tuple of int
        ``(ny, nx)`` of the image.
    """
    sandbox.write_text(CONTROL_NAME, control_text(user_control, shape))
    sandbox.write_text(PARAM_NAME, "\n".join(CATALOG_COLUMNS) + "\n")
    sandbox.write_text(FILTER_NAME, filter_text())


def run_sextractor(sandbox, user_control, shape, image="img.fits",
                   executable=None):
    """Extract sources from the sandbox's image into ``img.axy``.

    Parameters
    ----------
    sandbox : fitsmill.sandbox.Sandbox
    user_control : str
        Extra control settings (see :func:`control_text`).
    shape : tuple of int
        ``(ny, nx)`` of the image.
    image : str
        The image's name inside the sandbox.
    executable : str, optional
        SExtractor to use (see :func:`find_sextractor`).

    Returns
    -------
    str
        Path of the catalogue (a FITS table with :data:`CATALOG_COLUMNS`).

    Raises
    ------
    fitsmill.errors.ShellCommandFailed
        When SExtractor fails or times out.
    """
    write_config(sandbox, user_control, shape)
    exe = find_sextractor(executable)
    sandbox.run([exe, "-c", CONTROL_NAME, image], what="SExtractor")
    return sandbox.path(CATALOG_NAME)
