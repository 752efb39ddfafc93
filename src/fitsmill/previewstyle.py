"""PreviewStyle: how a preview looks (limits, stretch, NaN, encoding).

A style is a frozen, picklable dataclass, so one style can be shared by
every worker of a parallel run and every preview of a batch looks alike.
It can be built from keyword arguments, from strings
(:meth:`PreviewStyle.from_options`), or from a command line through
:func:`add_style_arguments` and :func:`style_from_args`.
"""

import dataclasses
import functools
import math
import numbers

__all__ = [
    "PreviewStyle", "LIMITS", "STRETCHES", "FORMATS", "LOOKS",
    "add_style_arguments", "style_from_args",
]

#: names accepted for :attr:`PreviewStyle.limits`
LIMITS = ("minmax", "percentile", "zscale", "manual")
#: names accepted for :attr:`PreviewStyle.stretch`
STRETCHES = ("linear", "sqrt", "power", "log", "asinh", "histeq")
#: names accepted for :attr:`PreviewStyle.format`
FORMATS = ("jpeg", "png")

# The usual softening of the log and asinh stretches (astropy's defaults).
_DEFAULT_A = {"log": 1000.0, "asinh": 0.1}


@dataclasses.dataclass(frozen=True)
class PreviewStyle:
    """The look of a preview.

    Parameters
    ----------
    limits : {"percentile", "minmax", "zscale", "manual"}
        How the values mapped to black and white are found; always from the
        finite pixels only.  ``"manual"`` uses ``vmin`` and ``vmax``.
    percentiles : (float, float)
        Lower and upper percentile for ``limits="percentile"``.
    vmin, vmax : float or None
        The limits for ``limits="manual"``; ``vmin <= vmax``.
    n_samples, contrast, max_reject, min_npixels, krej, max_iterations
        Parameters of ``limits="zscale"``, named and defaulted as in
        astropy's ``ZScaleInterval`` (see :func:`fitsmill.limits.zscale_limits`).
    stretch : {"linear", "sqrt", "power", "log", "asinh", "histeq"}
        Applied to the value normalised to ``[0, 1]`` between the limits:
        ``x``, ``sqrt(x)``, ``x**gamma``, ``log(a*x + 1)/log(a + 1)``,
        ``asinh(x/a)/asinh(1/a)``, or histogram equalisation.
    gamma : float
        Exponent of the power stretch (0.25 is DaCHS's preview look).
    a : float or None
        Softening of the log (default 1000) and asinh (default 0.1)
        stretches; None takes the default for the stretch.
    invert : bool
        Black for bright pixels (photographic plates are negatives).
    nan_grey : int
        Grey level 0-255 of non-finite pixels (scaled to 16 bits in 16-bit
        PNGs).
    nan_transparent : bool
        Make non-finite pixels transparent (8-bit PNG only).
    format : {"jpeg", "png"}
        Encoding of the picture.
    quality : int
        JPEG quality 1-95.
    png_bits : {8, 16}
        Bit depth of greyscale PNGs.
    """

    limits: str = "percentile"
    percentiles: tuple[float, float] = (0.5, 99.5)
    vmin: float | None = None
    vmax: float | None = None
    n_samples: int = 1000
    contrast: float = 0.25
    max_reject: float = 0.5
    min_npixels: int = 5
    krej: float = 2.5
    max_iterations: int = 5
    stretch: str = "linear"
    gamma: float = 0.25
    a: float | None = None
    invert: bool = False
    nan_grey: int = 0
    nan_transparent: bool = False
    format: str = "jpeg"
    quality: int = 85
    png_bits: int = 8

    def __post_init__(self):
        _choice("limits", self.limits, LIMITS)
        _choice("stretch", self.stretch, STRETCHES)
        fmt = str(self.format).lower()
        if fmt == "jpg":
            fmt = "jpeg"
        object.__setattr__(self, "format", fmt)
        _choice("format", self.format, FORMATS)
        lo, hi = _pair("percentiles", self.percentiles)
        if not 0.0 <= lo <= hi <= 100.0:
            raise ValueError(
                f"percentiles must satisfy 0 <= lower <= upper <= 100, got {lo}, {hi}")
        object.__setattr__(self, "percentiles", (lo, hi))
        if self.limits == "manual":
            if self.vmin is None or self.vmax is None:
                raise ValueError("limits='manual' needs vmin and vmax")
            if not (math.isfinite(self.vmin) and math.isfinite(self.vmax)):
                raise ValueError(f"vmin and vmax must be finite, got {self.vmin}, {self.vmax}")
            if self.vmin > self.vmax:
                raise ValueError(
                    f"vmin ({self.vmin}) is above vmax ({self.vmax}); use invert=True "
                    "for a negative")
        _positive("gamma", self.gamma)
        if self.a is not None:
            _positive("a", self.a)
        for name, lo, hi in (("n_samples", 1, None), ("min_npixels", 1, None),
                             ("max_iterations", 1, None), ("nan_grey", 0, 255),
                             ("quality", 1, 95)):
            object.__setattr__(self, name, _integer(name, getattr(self, name), lo, hi))
        if not 0 <= self.contrast <= 1:
            raise ValueError(f"contrast must be in [0, 1], got {self.contrast}")
        if not 0 <= self.max_reject <= 1:
            raise ValueError(f"max_reject must be in [0, 1], got {self.max_reject}")
        _positive("krej", self.krej)
        if self.png_bits not in (8, 16):
            raise ValueError(f"png_bits must be 8 or 16, got {self.png_bits!r}")
        if self.nan_transparent and self.format != "png":
            raise ValueError("nan_transparent needs format='png' (JPEG has no alpha)")
        if self.nan_transparent and self.png_bits == 16:
            raise ValueError("nan_transparent is only available for 8-bit PNG")

    @property
    def softening(self):
        """The ``a`` of the log and asinh stretches, with the default filled in.

        Returns
        -------
        float or None
            None for stretches that take no ``a``.
        """
        if self.a is not None:
            return float(self.a)
        return _DEFAULT_A.get(self.stretch)

    @property
    def mime_type(self):
        """The media type of the encoded picture (``image/jpeg`` or ``image/png``)."""
        return f"image/{self.format}"

    def replace(self, **changes):
        """Return a copy with some fields changed (validated again).

        Parameters
        ----------
        **changes
            Field names and new values.

        Returns
        -------
        PreviewStyle
            ``self`` without changes; equal calls (same values of the same
            types) share one validated result, since styles are immutable:
            ``render(image, stretch="asinh")`` in a loop validates once.
        """
        if not changes:
            return self
        # The types belong to the key: 85 and 85.0 compare equal but only
        # one of them is a valid quality.
        key = tuple(sorted((name, type(value), value) for name, value in changes.items()))
        try:
            hash(key)
        except TypeError:
            return _replace(self, key)
        return _replace_cached(self, key)

    @classmethod
    def from_options(cls, options, base=None):
        """Build a style from string values, as they come from a command line
        or a configuration file.

        Parameters
        ----------
        options : mapping or str
            Field name -> string (or already typed) value; or one string
            ``"name=value,name=value"`` (e.g. ``"stretch=asinh,a=0.05"``;
            ``percentiles`` takes ``LOW:HIGH`` there).  Booleans accept
            ``1/0, true/false, yes/no, on/off``.  ``vmin``/``vmax``
            without ``limits`` imply ``limits="manual"``.
        base : PreviewStyle, optional
            Values not given are taken from here (default: the defaults).

        Returns
        -------
        PreviewStyle
        """
        if isinstance(options, str):
            options = _split_option_string(options)
        types = {f.name: f.type for f in dataclasses.fields(cls)}
        typed = {}
        for name, value in options.items():
            key = name.replace("-", "_")
            if key not in types:
                raise ValueError(f"unknown preview style option {name!r}")
            typed[key] = _convert(key, value)
        if ("vmin" in typed or "vmax" in typed) and "limits" not in typed:
            typed["limits"] = "manual"
        return (base or cls()).replace(**typed)


def _replace(style, key):
    changes = {name: value for name, _, value in key}
    unknown = set(changes) - {f.name for f in dataclasses.fields(style)}
    if unknown:
        raise TypeError(f"unknown preview style option(s): {', '.join(sorted(unknown))}")
    return dataclasses.replace(style, **changes)


# Validating a style costs ~30 us, a visible part of rendering a preview.
_replace_cached = functools.lru_cache(maxsize=256)(_replace)


def _choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


def _positive(name, value):
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")


def _integer(name, value, lo, hi=None):
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not ok or value < lo or (hi is not None and value > hi):
        span = f"{lo}-{hi}" if hi is not None else f">= {lo}"
        raise ValueError(f"{name} must be an integer {span}, got {value!r}")
    # Plain int, so equal styles compare and hash alike.
    return int(value)


def _pair(name, value):
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be two numbers, got {value!r}") from None
    return lo, hi


_INT_FIELDS = {"n_samples", "min_npixels", "max_iterations", "nan_grey", "quality",
               "png_bits"}
_FLOAT_FIELDS = {"vmin", "vmax", "contrast", "max_reject", "krej", "gamma", "a"}
_BOOL_FIELDS = {"invert", "nan_transparent"}
_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f"}


def _convert(name, value):
    if not isinstance(value, str):
        return value
    text = value.strip()
    try:
        if name in _INT_FIELDS:
            return int(text)
        if name in _FLOAT_FIELDS:
            return None if text.lower() in ("", "none") else float(text)
    except ValueError:
        raise ValueError(f"{name}: not a number: {value!r}") from None
    if name in _BOOL_FIELDS:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError(f"{name}: not a yes/no value: {value!r}")
    if name == "percentiles":
        parts = text.replace(":", ",").split(",")
        if len(parts) != 2:
            raise ValueError(f"percentiles: expected LOW,HIGH, got {value!r}")
        return _pair(name, parts)
    return text.lower()


def _split_option_string(text):
    options = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"expected name=value in preview style, got {item!r}")
        options[name.strip()] = value.strip()
    return options


#: named starting points for a style (``--look``): ``"default"``;
#: ``"dachs"``, DaCHS's preview look (min/max limits, power 0.25, JPEG
#: quality 75; rounded to 8 bits where DaCHS truncates); ``"ds9"``, the
#: zscale quick look of DS9 and IRAF.
LOOKS = {
    "default": PreviewStyle(),
    "dachs": PreviewStyle(limits="minmax", stretch="power", gamma=0.25, quality=75),
    "ds9": PreviewStyle(limits="zscale"),
}


def add_style_arguments(parser, group_title="preview look"):
    """Add the preview-look options to an argparse parser.

    The options are ``--look`` (a name from :data:`LOOKS`), ``--limits``,
    ``--percentiles LOW,HIGH``, ``--vmin``,
    ``--vmax`` (either implies ``--limits manual``), ``--zscale-contrast``,
    ``--zscale-samples``, ``--stretch``, ``--gamma``, ``--softening`` (the
    ``a`` of log/asinh), ``--invert``, ``--nan-grey``,
    ``--nan-transparent``, ``--format``, ``--quality`` and ``--png-bits``.
    Their values land in attributes prefixed ``style_``; read them back
    with :func:`style_from_args`.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    group_title : str
        Title of the argument group in ``--help``.

    Returns
    -------
    argparse._ArgumentGroup
        The group, should a caller want to add more options to it.
    """
    g = parser.add_argument_group(group_title)
    d = PreviewStyle()
    add = g.add_argument
    add("--look", dest="style_look", choices=sorted(LOOKS), default=None,
        help="start from a named look; the options below change it (default: default)")
    add("--limits", dest="style_limits", choices=LIMITS, default=None,
        help=f"how black and white levels are found (default {d.limits})")
    add("--percentiles", dest="style_percentiles", metavar="LOW,HIGH", default=None,
        help="percentiles for --limits percentile (default %g,%g)" % d.percentiles)
    add("--vmin", dest="style_vmin", type=float, default=None, metavar="V",
        help="value shown black (implies --limits manual)")
    add("--vmax", dest="style_vmax", type=float, default=None, metavar="V",
        help="value shown white (implies --limits manual)")
    add("--zscale-contrast", dest="style_contrast", type=float, default=None, metavar="C",
        help=f"zscale contrast (default {d.contrast})")
    add("--zscale-samples", dest="style_n_samples", type=int, default=None, metavar="N",
        help=f"number of pixels zscale samples (default {d.n_samples})")
    add("--stretch", dest="style_stretch", choices=STRETCHES, default=None,
        help=f"tone curve (default {d.stretch})")
    add("--gamma", dest="style_gamma", type=float, default=None, metavar="G",
        help=f"exponent of --stretch power (default {d.gamma})")
    add("--softening", dest="style_a", type=float, default=None, metavar="A",
        help="softening a of --stretch log (default 1000) or asinh (default 0.1)")
    add("--invert", dest="style_invert", action="store_true", default=None,
        help="show bright as black (plate negatives)")
    add("--nan-grey", dest="style_nan_grey", type=int, default=None, metavar="0-255",
        help=f"grey level of NaN/blank pixels (default {d.nan_grey})")
    add("--nan-transparent", dest="style_nan_transparent", action="store_true",
        default=None, help="make NaN/blank pixels transparent (8-bit PNG)")
    add("--format", dest="style_format", choices=FORMATS + ("jpg",), default=None,
        help=f"picture format (default {d.format})")
    add("--quality", dest="style_quality", type=int, default=None, metavar="Q",
        help=f"JPEG quality 1-95 (default {d.quality})")
    add("--png-bits", dest="style_png_bits", type=int, choices=(8, 16), default=None,
        help=f"bit depth of greyscale PNG (default {d.png_bits})")
    return g


def style_from_args(args, base=None):
    """The :class:`PreviewStyle` described by parsed command-line options.

    Parameters
    ----------
    args : argparse.Namespace
        From a parser prepared with :func:`add_style_arguments`.
    base : PreviewStyle, optional
        Values for options not given on the command line (``--look``
        replaces it).

    Returns
    -------
    PreviewStyle

    Raises
    ------
    ValueError
        For inconsistent options, with a message naming the option.
    """
    given = {k[len("style_"):]: v for k, v in vars(args).items()
             if k.startswith("style_") and v is not None}
    look = given.pop("look", None)
    if look is not None:
        base = LOOKS[look]
    return PreviewStyle.from_options(given, base=base)

