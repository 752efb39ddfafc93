"""Astrometric calibration with astrometry.net.

:func:`solve` runs ``solve-field`` on one file in a private sandbox (see
:mod:`fitsmill.sandbox`) and returns the WCS cards of the solution.  Solver
parameters are the ``sp_*`` attributes of a processor with the prefix
stripped (:func:`solver_parameters`); the keys are:

=================  =========================================================
key                meaning (default)
=================  =========================================================
indices            index file globs, relative to the index directory or
                   absolute; written to ``backend.cfg`` as ``index`` lines
                   (default: every index in the index directory, via
                   ``autoindex``)
index_dir          the index directory (``$FITSMILL_ANET_INDEX_DIR`` or
                   /usr/share/astrometry)
total_timelimit    CPU limit passed as ``--cpulimit`` (600 s)
wall_timelimit     wall-clock limit per file (all its commands together)
                   fitsmill enforces by killing the running program's
                   process group (``total_timelimit`` + 60 s)
fields             ``--fields`` (1)
lower_pix,         ``--scale-low`` / ``--scale-high`` (from the header when
upper_pix          not given, see below)
pix_units          ``--scale-units`` ("app": arcsec per pixel)
endob              ``--depth``: give up after this many objects
downsample         ``--downsample``
tweak, tweak_order SIP fit (True, order 3); a SIP solution that is not
                   sane is redone as plain TAN
plots              solve-field's plots (False)
ra, dec, radius    position hint in degrees (from the header when not given)
header_hints       take scale and position hints from the header (True)
scale_tolerance    relative width of a header scale hint (0.1)
skip_brightest     drop the brightest N sources (saturated on plates) (0)
max_objects        keep at most M sources after that (no limit)
refine             when a sparser index solved, verify and re-fit the
                   solution against the densest index (True): many more
                   stars constrain the SIP polynomial
invert             the image is a negative (dark stars on a bright plate):
                   extraction runs on a negated copy (False)
=================  =========================================================

Source extraction: by default solve-field's own (image2xy); with
``sex_control=""`` solve-field runs SExtractor; with a non-empty
``sex_control`` fitsmill runs SExtractor itself (:mod:`fitsmill.sextractor`)
and solves from the catalogue.  ``skip_brightest``, ``max_objects`` or an
``object_filter`` also make fitsmill build the x,y list itself (SExtractor
with fitsmill's defaults when ``sex_control=""``, else image2xy), so they
work in every mode.

Header hints: pixel scale from PLTSCALE (arcsec/mm) with PIXSIZE1 (um) or
SCANRES1 (dpi), else from an existing CDELT1 or CD matrix; position from
RA_DEG/DEC_DEG or RA/DEC (degrees, or sexagesimal strings: RA in hours).
"""

import contextlib
import functools
import glob
import os
import re
import shutil
import subprocess
import textwrap
import warnings

import numpy as np

from fitsmill.errors import NotSolved, ShellCommandFailed
from fitsmill.sandbox import Sandbox
from fitsmill import sextractor

__all__ = [
    "DEFAULT_INDEX_DIR", "Solution", "find_solve_field", "anet_version",
    "solver_parameters", "SolverParameters", "resolve_indices",
    "write_backend_config", "densest_indices",
    "scale_hint", "position_hint", "solve", "getWCSFieldsFor",
    "AnetHeaderProcessor",
]

DEFAULT_INDEX_DIR = "/usr/share/astrometry"

_DEFAULTS = {
    "indices": None, "index_dir": None, "total_timelimit": 600,
    "wall_timelimit": None, "fields": "1", "lower_pix": None,
    "upper_pix": None, "pix_units": "app", "endob": None, "downsample": None,
    "tweak": True, "tweak_order": 3, "plots": False, "ra": None, "dec": None,
    "radius": None, "header_hints": True, "scale_tolerance": 0.1,
    "skip_brightest": 0, "max_objects": None, "refine": True, "invert": False,
}

# DaCHS keys with no effect any more; accepted so old scripts keep running
_IGNORED = {"startob"}


def __getattr__(name):
    # the processor needs the header-processor framework; the solver does not
    if name == "AnetHeaderProcessor":
        from fitsmill.anetproc import AnetHeaderProcessor
        return AnetHeaderProcessor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.lru_cache(maxsize=8)
def find_solve_field(configured=None):
    """Locate astrometry.net's ``solve-field``.

    Parameters
    ----------
    configured : str, optional
        A path or name; otherwise ``$FITSMILL_SOLVE_FIELD``, then PATH.

    Returns
    -------
    str

    Raises
    ------
    FileNotFoundError
    """
    name = configured or os.environ.get("FITSMILL_SOLVE_FIELD") or "solve-field"
    path = shutil.which(name)
    if path is None:
        raise FileNotFoundError(f"astrometry.net's solve-field not found ({name})")
    return path


@functools.lru_cache(maxsize=8)
def anet_version(solve_field=None):
    """Return astrometry.net's version string (e.g. ``"0.93"``)."""
    exe = find_solve_field(solve_field)
    proc = subprocess.run([exe, "--version"], capture_output=True, text=True,
                          timeout=60)
    return (proc.stdout.strip() or proc.stderr.strip() or "unknown").splitlines()[0]


def solver_parameters(obj):
    """Collect the ``sp_*`` attributes of ``obj`` (inherited ones too).

    Returns
    -------
    dict
        Keys without the ``sp_`` prefix.
    """
    return {name[3:]: getattr(obj, name) for name in dir(obj)
            if name.startswith("sp_")}


def _flat_patterns(indices):
    """A list of index globs from a string or a (possibly nested) sequence.

    The DaCHS manual's example, ``sp_indices = ["index-4215"],``, has a
    stray comma that makes a tuple of a list; it is accepted as meant.
    """
    if indices is None:
        return None
    if isinstance(indices, (str, os.PathLike)):
        return [os.fspath(indices)]
    flat = []
    for item in indices:
        flat += _flat_patterns(item) or []
    return flat


class SolverParameters(dict):
    """Solver parameters: the defaults updated with the user's, checked.

    Parameters
    ----------
    params : dict, optional
        As from :func:`solver_parameters`.

    Raises
    ------
    ValueError
        On a bad value.
    """

    def __init__(self, params=None):
        super().__init__(_DEFAULTS)
        params = dict(params or {})
        unknown = sorted(set(params) - set(_DEFAULTS) - _IGNORED)
        if unknown:
            warnings.warn("ignoring unknown solver parameters: "
                          + ", ".join("sp_" + k for k in unknown), stacklevel=3)
        self.update({k: v for k, v in params.items() if k in _DEFAULTS})
        self["indices"] = _flat_patterns(self["indices"])
        for key in ("total_timelimit", "wall_timelimit", "radius",
                    "lower_pix", "upper_pix", "scale_tolerance"):
            if self[key] is not None and not float(self[key]) > 0:
                raise ValueError(f"sp_{key} must be positive, not {self[key]!r}")
        for key in ("endob", "downsample", "tweak_order", "max_objects"):
            if self[key] is not None and int(self[key]) < 1:
                raise ValueError(f"sp_{key} must be a positive integer, not {self[key]!r}")
        if int(self["skip_brightest"]) < 0:
            raise ValueError("sp_skip_brightest must not be negative")

    @property
    def index_dir(self):
        """The directory the index globs are relative to."""
        return (self["index_dir"] or os.environ.get("FITSMILL_ANET_INDEX_DIR")
                or DEFAULT_INDEX_DIR)

    @property
    def wall_limit(self):
        """The wall-clock limit in seconds."""
        if self["wall_timelimit"] is not None:
            return float(self["wall_timelimit"])
        return float(self["total_timelimit"]) + 60.0

    def describe(self):
        """The non-default parameters as ``key=value`` words, for HISTORY."""
        return " ".join(f"{k}={self[k]!r}" for k in sorted(self)
                        if self[k] != _DEFAULTS[k])


def resolve_indices(indices, index_dir):
    """The index files ``indices`` name.

    Parameters
    ----------
    indices : list of str or None
        Index file globs, relative to ``index_dir`` or absolute; a pattern
        without a match is also tried with ``*.fits`` appended (so
        ``index-tycho2-10`` works).  None means every ``index-*.fits`` in
        ``index_dir``.
    index_dir : str

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        When a pattern matches nothing.
    """
    if not indices:
        return sorted(glob.glob(os.path.join(index_dir, "index-*.fits")))
    paths = []
    for pattern in indices:
        full = os.path.join(index_dir, pattern)
        matches = sorted(glob.glob(full)) or sorted(glob.glob(full + "*.fits"))
        if not matches:
            raise ValueError(f"sp_indices: {pattern!r} matches no index file in {index_dir}")
        paths += matches
    return paths


def write_backend_config(path, indices, index_dir, explicit=False):
    """Write astrometry.net's backend configuration.

    Parameters
    ----------
    path : str
        The file to write.
    indices : list of str or None
        As for :func:`resolve_indices`; None lets astrometry.net load every
        index in ``index_dir`` (``autoindex``).
    index_dir : str
    explicit : bool
        ``indices`` are paths already (no globbing).

    Raises
    ------
    ValueError
        When a pattern matches nothing or a path contains white space (the
        configuration format cannot quote it).
    """
    lines = [f"add_path {index_dir}"]
    if indices:
        paths = indices if explicit else resolve_indices(indices, index_dir)
        lines += [f"index {p}" for p in paths]
    else:
        lines.append("autoindex")
    lines.append("inparallel")
    if any(len(ln.split()) > 2 for ln in lines):
        raise ValueError("astrometry.net index paths must not contain white space")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


@functools.lru_cache(maxsize=256)
def _index_scale(path):
    """(smallest quad scale in radians, index id) of an index file."""
    from astropy.io import fits

    hdr = fits.getheader(path)
    return float(hdr.get("SCALE_L", 0.0)), int(hdr.get("INDEXID", -1))


def densest_indices(indices, index_dir):
    """The index files with the smallest quads, hence the most stars.

    Returns
    -------
    tuple
        ``(paths, ids)``; empty when no index file is found.
    """
    scales = {}
    for path in resolve_indices(indices, index_dir):
        try:
            scales[path] = _index_scale(path)
        except (OSError, ValueError, TypeError):
            continue
    if not scales:
        return [], set()
    smallest = min(scale for scale, _ in scales.values())
    chosen = [p for p, (scale, _) in scales.items() if scale == smallest]
    return chosen, {scales[p][1] for p in chosen}


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def scale_hint(header):
    """Pixel scale in arcsec/pixel suggested by a header, or None.

    PLTSCALE (arcsec/mm) with PIXSIZE1 (um) or SCANRES1 (dpi) comes first, as
    plate headers carry them; then an existing CDELT1 or CD matrix.
    """
    pltscale = _number(header.get("PLTSCALE"))
    pixsize = _number(header.get("PIXSIZE1"))
    scanres = _number(header.get("SCANRES1"))
    if pltscale and pixsize:
        return abs(pltscale * pixsize / 1000.0)
    if pltscale and scanres:
        return abs(pltscale * 25.4 / scanres)
    cdelt = _number(header.get("CDELT1"))
    if cdelt:
        return abs(cdelt) * 3600.0
    cd = [_number(header.get(k)) for k in ("CD1_1", "CD1_2", "CD2_1", "CD2_2")]
    if all(v is not None for v in cd):
        det = abs(cd[0] * cd[3] - cd[1] * cd[2])
        if det > 0:
            return float(np.sqrt(det)) * 3600.0
    return None


def _sexagesimal(text, hours):
    parts = text.replace(":", " ").replace("h", " ").replace("d", " ").split()
    if not 1 <= len(parts) <= 3:
        raise ValueError(text)
    sign = -1.0 if parts[0].strip().startswith("-") else 1.0
    value = sum(abs(float(p)) / 60 ** i for i, p in enumerate(parts))
    return sign * value * (15.0 if hours else 1.0)


def position_hint(header):
    """(ra, dec) in degrees suggested by a header, or None.

    RA_DEG/DEC_DEG (the plate standard's decimal degrees) come first, then
    RA/DEC and OBJCTRA/OBJCTDEC: numbers are degrees, strings are
    sexagesimal with RA in hours; last, the reference point of an existing
    equatorial WCS.
    """
    pairs = [("RA_DEG", "DEC_DEG"), ("RA", "DEC"), ("OBJCTRA", "OBJCTDEC")]
    if str(header.get("CTYPE1", "")).startswith("RA--"):
        pairs.append(("CRVAL1", "CRVAL2"))
    for rakey, deckey, in pairs:
        ra, dec = header.get(rakey), header.get(deckey)
        if ra is None or dec is None:
            continue
        try:
            ra = float(ra) if _number(ra) is not None else _sexagesimal(str(ra), True)
            dec = float(dec) if _number(dec) is not None else _sexagesimal(str(dec), False)
        except ValueError:
            continue
        if 0 <= ra < 360 and -90 <= dec <= 90:
            return ra, dec
    return None


class Solution:
    """A solved field.

    Attributes
    ----------
    wcs_text : str
        solve-field's WCS header (80-character cards, END included).
    command : list of str
        The solve-field argument list that produced it.
    version : str
        astrometry.net's version.
    history : list of str
        HISTORY lines recording the version and the parameters.
    """

    def __init__(self, wcs_text, command, version, history):
        self.wcs_text = wcs_text
        self.command = command
        self.version = version
        self.history = history

    @property
    def header(self):
        """The WCS cards as a :class:`fitsmill.header.Header`."""
        from fitsmill.header import Header
        return Header.fromstring(self.wcs_text)

    def astropy_header(self):
        """The WCS cards as an :class:`astropy.io.fits.Header`."""
        from astropy.io import fits
        return fits.Header.fromstring(self.wcs_text)


def _image_layout(path):
    """(extension, (ny, nx), header, tile-compressed?) of the first 2-d
    image in a FITS file."""
    from astropy.io import fits

    with fits.open(path, memmap=True, lazy_load_hdus=True) as hdus:
        for ext, hdu in enumerate(hdus):
            hdr = hdu.header
            compressed = isinstance(hdu, fits.CompImageHDU)
            if (compressed or hdr.get("XTENSION", "IMAGE").strip() == "IMAGE") \
                    and hdr.get("NAXIS", 0) >= 2:
                return ext, (int(hdr["NAXIS2"]), int(hdr["NAXIS1"])), hdr.copy(), compressed
    raise ValueError(f"{path}: no 2-d image HDU")


def _invert_image(box, ext, band_rows=256):
    """Replace the sandbox's img.fits by a negated float32 copy.

    Plate scans are often negatives; every extractor wants bright stars.
    The copy is written in bands of rows, so memory stays bounded on big
    plates; only the link (or unpacked copy) in the sandbox is replaced.
    """
    from astropy.io import fits

    src, dest = box.path("img.fits"), box.path("img-negated.fits")
    # no memmap: astropy cannot map scaled (BZERO) data; sections read
    # just their rows either way
    with fits.open(src, memmap=False) as hdus:
        hdu = hdus[ext]
        ny, nx = hdu.header["NAXIS2"], hdu.header["NAXIS1"]
        header = fits.Header([("SIMPLE", True), ("BITPIX", -32), ("NAXIS", 2),
                              ("NAXIS1", nx), ("NAXIS2", ny)])
        out = fits.StreamingHDU(dest, header)
        try:
            for y0 in range(0, ny, band_rows):
                band = np.asarray(hdu.section[y0:min(y0 + band_rows, ny)], dtype=np.float32)
                out.write(-band)
        finally:
            out.close()
    os.replace(dest, src)


@contextlib.contextmanager
def _working_dir(path):
    # objectFilter functions written for DaCHS use relative names in the
    # sandbox; worker processes each have their own cwd, so this is safe there
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def _trim_xylist(path, flux_column, skip, keep):
    """Sort an x,y table by flux (brightest first), drop and cut in place."""
    from astropy.io import fits

    with fits.open(path) as hdus:
        table = hdus[1].data
        order = np.argsort(-np.asarray(table[flux_column], float), kind="stable")
        order = order[skip:]
        if keep is not None:
            order = order[:keep]
        out = fits.BinTableHDU(table[order], header=hdus[1].header)
        primary = hdus[0].copy()
    fits.HDUList([primary, out]).writeto(path + ".tmp", overwrite=True)
    os.replace(path + ".tmp", path)


def _extract(box, params, sex_control, object_filter, ext, shape):
    """Build ``img.axy`` ourselves when asked to; return the column names
    (x, y, sort) or None when solve-field should extract."""
    if not (sex_control or object_filter is not None or params["skip_brightest"]
            or params["max_objects"] is not None):
        return None
    if sex_control is not None:
        # "" asked for SExtractor too: run it with fitsmill's defaults
        sextractor.run_sextractor(box, sex_control, shape,
                                  image=f"img.fits[{ext}]" if ext else "img.fits")
        columns = ("X_IMAGE", "Y_IMAGE", "FLUX_AUTO")
    else:
        image2xy = shutil.which("image2xy")
        if image2xy is None:
            raise FileNotFoundError("astrometry.net's image2xy not found")
        args = [image2xy, "-O", "-o", "img.axy"]
        if ext:
            args += ["-e", str(ext)]
        box.run(args + ["img.fits"])
        columns = ("X", "Y", "FLUX")
    if object_filter is not None:
        with _working_dir(box.dir):
            object_filter("img.axy")
    _trim_xylist(box.path("img.axy"), columns[2], int(params["skip_brightest"]),
                 None if params["max_objects"] is None else int(params["max_objects"]))
    return columns


def _solve_args(exe, params, hints, columns, sex_control, ext, shape, tweak):
    """The solve-field argument list (run inside the sandbox)."""
    args = [exe, "--overwrite", "--dir", ".", "--out", "img",
            "--temp-dir", "tmp", "--backend-config", "backend.cfg",
            "--cpulimit", f"{float(params['total_timelimit']):g}",
            "--fields", str(params["fields"]), "--new-fits", "none",
            "--wcs", "img.wcs", "--solved", "img.solved"]
    if not params["plots"]:
        args.append("--no-plots")
    low, high = params["lower_pix"], params["upper_pix"]
    if low is None and high is None and hints.get("scale"):
        tol = float(params["scale_tolerance"])
        low, high = hints["scale"] * (1 - tol), hints["scale"] * (1 + tol)
        units = "app"
    else:
        units = params["pix_units"]
    if low is not None:
        args += ["--scale-low", f"{float(low):g}"]
    if high is not None:
        args += ["--scale-high", f"{float(high):g}"]
    if low is not None or high is not None:
        args += ["--scale-units", str(units)]
    ra = params["ra"] if params["ra"] is not None else hints.get("ra")
    dec = params["dec"] if params["dec"] is not None else hints.get("dec")
    if ra is not None and dec is not None:
        radius = params["radius"] if params["radius"] is not None else hints.get("radius", 10.0)
        args += ["--ra", f"{float(ra):.6f}", "--dec", f"{float(dec):.6f}",
                 "--radius", f"{float(radius):g}"]
    if params["endob"] is not None:
        args += ["--depth", str(int(params["endob"]))]
    if params["downsample"] is not None:
        args += ["--downsample", str(int(params["downsample"]))]
    if tweak:
        args += ["--tweak-order", str(int(params["tweak_order"]))]
    else:
        args.append("--no-tweak")
    if columns is not None:
        ny, nx = shape
        # our list is the input: keep solve-field's augmented copy apart
        args += ["--x-column", columns[0], "--y-column", columns[1],
                 "--sort-column", columns[2], "--width", str(nx),
                 "--height", str(ny), "--axy", "img-augmented.axy", "img.axy"]
    else:
        if sex_control == "":
            args += ["--use-source-extractor", "--source-extractor-path",
                     sextractor.find_sextractor()]
        if ext:
            args += ["--extension", str(ext)]
        args.append("img.fits")
    return args


def _header_hints(header, shape, params):
    """Scale and position hints from a header, as a dict."""
    hints = {}
    if header is None or not params["header_hints"]:
        return hints
    scale = scale_hint(header)
    if scale:
        hints["scale"] = scale
    pos = position_hint(header)
    if pos:
        hints["ra"], hints["dec"] = pos
        if scale:
            # logbook positions can be off by a good part of a plate
            diagonal = scale * float(np.hypot(*shape)) / 3600.0
            hints["radius"] = max(2.0 * diagonal, 2.0)
    return hints


def _sip_is_sane(wcs_text, shape):
    """False when a SIP solution misbehaves on the image: its inverse does not
    converge or its distortion is a large part of the image."""
    from astropy.io import fits
    from astropy.wcs import WCS

    hdr = fits.Header.fromstring(wcs_text)
    if "A_ORDER" not in hdr:
        return True
    ny, nx = shape
    gx, gy = np.meshgrid(np.linspace(0, nx - 1, 5), np.linspace(0, ny - 1, 5))
    px = np.column_stack([gx.ravel(), gy.ravel()])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wcs = WCS(hdr, naxis=2)
            sky = wcs.all_pix2world(px, 0)
            back = wcs.all_world2pix(sky, 0, tolerance=1e-6, maxiter=50, quiet=False)
            linear = wcs.wcs_world2pix(sky, 0)
    except Exception:
        return False
    if not np.all(np.isfinite(back)) or np.max(np.abs(back - px)) > 0.1:
        return False
    return float(np.max(np.abs(linear - px))) < 0.05 * max(nx, ny)


def _history(version, params, hints, extraction, fallback):
    words = [f"fitsmill: WCS by astrometry.net {version}", f"sources: {extraction}"]
    if hints.get("scale"):
        words.append(f"header scale hint {hints['scale']:.4g} arcsec/px")
    if hints.get("ra") is not None:
        words.append(f"header position hint {hints['ra']:.4f} {hints['dec']:.4f}")
    if fallback:
        words.append("SIP fit rejected, plain TAN")
    described = params.describe()
    if described:
        words.append("parameters: " + described)
    # one HISTORY card per item, wrapped to the 72 characters a card holds
    return [line for item in words for line in textwrap.wrap(item, 72)]


def solve(src, params=None, sex_control=None, object_filter=None,
          copy_to=None, temp_root=None, header=None, verbose=False):
    """Solve one image with astrometry.net.

    Parameters
    ----------
    src : str or os.PathLike
        The image (plain, ``.gz`` or ``.fz``).
    params : dict or SolverParameters, optional
        Solver parameters (module docstring).
    sex_control : str, optional
        None: solve-field extracts; "": solve-field runs SExtractor; other
        text: fitsmill runs SExtractor with these settings.
    object_filter : callable, optional
        Called as ``object_filter("img.axy")`` with the sandbox as working
        directory; it may rewrite that FITS table in place (columns
        X_IMAGE, Y_IMAGE, MAG_ISO, FLUX_AUTO, ELONGATION from SExtractor, or
        X, Y, FLUX, BACKGROUND from image2xy).
    copy_to : str, optional
        Keep a copy of the sandbox in ``copy_to/<file name>/``.
    temp_root : str, optional
        Where sandboxes are made (default: the system temp directory).
    header : mapping, optional
        Header for hints (default: the image's own header).
    verbose : bool
        Print each command line before it runs.

    Returns
    -------
    Solution

    Raises
    ------
    NotSolved
        When no solution was found.
    fitsmill.errors.ShellCommandFailed
        When a program failed or ran out of wall-clock time.
    """
    if not isinstance(params, SolverParameters):
        params = SolverParameters(params)
    exe = find_solve_field()
    with Sandbox(src, temp_root=temp_root, copy_to=copy_to, verbose=verbose,
                 time_limit=params.wall_limit) as box:
        box.feed()
        ext, shape, image_header, compressed = _image_layout(box.path("img.fits"))
        if compressed:
            # a tile-compressed image under a plain name: astrometry.net
            # would misread it as well
            box.feed(unpack=True)
            ext, shape, image_header, _ = _image_layout(box.path("img.fits"))
        hints = _header_hints(image_header if header is None else header, shape, params)
        if params["invert"]:
            _invert_image(box, ext)
            ext = 0
        write_backend_config(box.path("backend.cfg"), params["indices"], params.index_dir)
        columns = _extract(box, params, sex_control, object_filter, ext, shape)
        if columns is None:
            extraction = "solve-field SExtractor" if sex_control == "" else "solve-field image2xy"
        else:
            extraction = ("fitsmill image2xy" if sex_control is None
                          else "fitsmill SExtractor")
        if sex_control:
            settings = [" ".join(ln.split("#", 1)[0].split())
                        for ln in sex_control.splitlines()]
            extraction += " (" + ", ".join(filter(None, settings)) + ")"
        if object_filter is not None:
            extraction += " + objectFilter"
        tweak = bool(params["tweak"])
        fallback = False
        while True:
            args = _solve_args(exe, params, hints, columns, sex_control, ext, shape, tweak)
            box.run(args, what="solve-field")
            wcs_text = _read_solution(box, "img")
            if wcs_text is None:
                raise NotSolved(f"{src}: astrometry.net found no solution")
            if not tweak or _sip_is_sane(wcs_text, shape):
                break
            box.log("fitsmill: SIP solution rejected, solving again without tweak")
            tweak, fallback = False, True
        notes = []
        if params["refine"]:
            if columns is None:
                columns = ("X_IMAGE", "Y_IMAGE") if sex_control == "" else ("X", "Y")
            refined = _refine(box, exe, params, wcs_text, columns, shape, tweak)
            if refined is not None:
                wcs_text, note = refined
                notes.append(note)
        version = anet_version()
        return Solution(wcs_text, args, version,
                        _history(version, params, hints, extraction, fallback) + notes)


def _read_solution(box, base):
    """solve-field's WCS text for output ``base``, or None if unsolved."""
    solved, wcs = box.path(base + ".solved"), box.path(base + ".wcs")
    if not (os.path.exists(solved) and os.path.exists(wcs)):
        return None
    with open(wcs, "rb") as f:
        return f.read().decode("ascii", "replace")


def _comment_number(wcs_text, label):
    """A number from astrometry.net's ``COMMENT label: N`` card, or None."""
    match = re.search(r"COMMENT " + re.escape(label) + r": *(-?\d+)", wcs_text)
    return int(match.group(1)) if match else None


def _refine(box, exe, params, wcs_text, columns, shape, tweak):
    """Verify and re-fit a solution against the densest index.

    A field often solves first with a sparse index (big quads), whose few
    stars leave a SIP polynomial poorly constrained; verifying the solution
    against the index with the most stars refits it with many more.

    Returns
    -------
    tuple or None
        ``(wcs_text, history line)``, or None when not needed or not better.
    """
    from astropy.io import fits
    from astropy.wcs import WCS

    paths, ids = densest_indices(params["indices"], params.index_dir)
    if not paths or _comment_number(wcs_text, "index id") in ids:
        return None
    write_backend_config(box.path("refine.cfg"), paths, params.index_dir, explicit=True)
    with open(box.path("img.wcs.orig"), "w", encoding="ascii") as f:
        f.write(wcs_text)
    hdr = fits.Header.fromstring(wcs_text)
    ny, nx = shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wcs = WCS(hdr, naxis=2)
        (ra, dec), = wcs.all_pix2world([[(nx - 1) / 2, (ny - 1) / 2]], 0)
        scale = float(np.sqrt(abs(np.linalg.det(wcs.pixel_scale_matrix)))) * 3600
    diagonal = scale * float(np.hypot(nx, ny)) / 3600
    # the hints keep a failed verification from turning into a blind search
    args = [exe, "--overwrite", "--dir", ".", "--out", "refine", "--temp-dir", "tmp",
            "--backend-config", "refine.cfg",
            "--cpulimit", f"{min(float(params['total_timelimit']), 60.0):g}",
            "--new-fits", "none", "--wcs", "refine.wcs", "--solved", "refine.solved",
            "--no-plots", "--verify", "img.wcs.orig",
            "--ra", f"{ra:.6f}", "--dec", f"{dec:.6f}", "--radius", f"{diagonal:g}",
            "--scale-low", f"{scale * 0.95:g}", "--scale-high", f"{scale * 1.05:g}",
            "--scale-units", "app", "--x-column", columns[0], "--y-column", columns[1],
            "--width", str(nx), "--height", str(ny), "--axy", "refine-augmented.axy",
            # the first pass cleaned the list; astrometry.net's line removal
            # and uniformisation helpers would cost more than the refit
            "--no-remove-lines", "--uniformize", "0"]
    args += ["--tweak-order", str(int(params["tweak_order"]))] if tweak else ["--no-tweak"]
    args.append("img.axy")
    try:
        box.run(args, what="solve-field (refine)")
    except ShellCommandFailed as exc:
        # refining is a bonus: the first solution stands
        box.log(f"fitsmill: refinement failed ({exc}); first solution kept")
        return None
    refined = _read_solution(box, "refine")
    if refined is None or (tweak and not _sip_is_sane(refined, shape)):
        box.log("fitsmill: refinement against the densest index failed; first solution kept")
        return None
    before = _comment_number(wcs_text, "nmatch") or 0
    after = _comment_number(refined, "nmatch") or 0
    if after <= before:
        return None
    index = _comment_number(refined, "index id")
    return refined, f"refined against index {index}: {after} stars matched, not {before}"


def getWCSFieldsFor(fName, solverParameters, sexControl=None, objectFilter=None,
                    copyTo=None, verbose=False):
    """DaCHS's entry point: the WCS cards for ``fName``, or None if unsolved.

    Parameters are as for :func:`solve` (``solverParameters`` is a dict of
    ``sp_*`` keys without the prefix).

    Returns
    -------
    list of astropy.io.fits.Card or None
    """
    try:
        solution = solve(fName, solverParameters, sex_control=sexControl,
                         object_filter=objectFilter, copy_to=copyTo, verbose=verbose)
    except NotSolved:
        return None
    return list(solution.astropy_header().cards)
