"""Reading and writing the values of FITS header cards (FITS 4.0, section 4).

:func:`parse_card` turns one card image (80 characters, or a long string
with its CONTINUE cards) into keyword, value and comment; :func:`format_card`
does the reverse in fixed format.  The C scanner (:mod:`fitsmill._cards`)
only reports where things are; all conversions and rules live here.

Values map to Python types as in astropy: ``bool`` (T/F), ``int``,
``float``, ``complex``, ``str`` (trailing blanks dropped, as the standard
says they are insignificant), and ``None`` for an undefined value.
"""

import math

from fitsmill import _cards

__all__ = ["COMMENTARY", "KIND_VALUE", "KIND_COMMENTARY", "KIND_HIERARCH",
           "KIND_CONTINUE", "KIND_NOVALUE", "KIND_END", "BadValue", "parse_card", "format_card",
           "format_plain_card", "is_standard_keyword", "check_text",
           "format_value", "coerce_value",
           "normalize_keyword", "is_hierarch_keyword", "card_problems"]

CARD = 80
COMMENTARY = frozenset(("COMMENT", "HISTORY", ""))
_STANDARD_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")

# Codes of csrc/fm_card.h; the kinds of card are public (parse_card returns one).
KIND_VALUE, KIND_COMMENTARY, KIND_HIERARCH, KIND_CONTINUE, KIND_NOVALUE, KIND_END = range(6)
_KF_LOWER, _KF_BADCHAR, _KF_EQPOS, _KF_JUNK = 1, 2, 4, 8
(_TEXT, _UNDEFINED, _LOGICAL, _INT, _FLOAT, _COMPLEX, _STRING,
 _BAD) = range(8)
_VF_REAL_FLOAT, _VF_IMAG_FLOAT, _VF_DEXP, _VF_LOWEXP = 1, 2, 4, 8
_VF_SPACES, _VF_LONEQUOTE = 16, 32



class BadValue:
    """The value of a card whose value field cannot be parsed.

    The card is kept verbatim; reading its value raises.

    Parameters
    ----------
    text : str
        The unparsable value field.
    """

    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return f"BadValue({self.text!r})"


def _number(text, is_float):
    text = text.replace(" ", "")
    return float(text.replace("D", "E").replace("d", "E")) if is_float else int(text)


def _split(image):
    """The fields of one 80-character card (see _cards.card_fields)."""
    kind, key, kflags, vtype, value, comment, vflags = _cards.card_fields(image)
    if kflags & _KF_LOWER and kind not in (KIND_HIERARCH, KIND_NOVALUE):
        key = key.upper()
    if vtype == _BAD:
        value = BadValue(value)
    elif value.__class__ is str and _INT <= vtype <= _COMPLEX:
        value = _convert(image, vtype)
    return kind, key, kflags, vtype, value, comment, vflags


def _convert(image, vtype):
    """A number the C kernel left to Python (beyond 64 bits, or a C locale
    with another decimal point)."""
    spans = _cards.split_card(image)
    vs, vl, v2s, v2l, vflags = spans[5], spans[6], spans[7], spans[8], spans[11]
    if vtype == _COMPLEX:
        return complex(_number(image[vs:vs + vl], vflags & _VF_REAL_FLOAT),
                       _number(image[v2s:v2s + v2l], vflags & _VF_IMAG_FLOAT))
    return _number(image[vs:vs + vl], vtype == _FLOAT)


def parse_card(image):
    """Keyword, value and comment of a card image.

    Parameters
    ----------
    image : str
        80 characters, or a multiple of 80 for a long string followed by
        its CONTINUE cards.

    Returns
    -------
    kind : int
        The kind of the (first) card: one of the ``KIND_*`` constants.
    keyword : str
        As readers report it: upper case for standard keywords, the name
        after ``HIERARCH`` for HIERARCH cards.
    value : object
        ``bool``, ``int``, ``float``, ``complex``, ``str``, ``None``
        (undefined) or a :class:`BadValue`.
    comment : str
    """
    kind, key, _, vtype, value, comment, _ = _split(image[:CARD])
    if len(image) > CARD:
        return (kind, key) + _join_long_string(image, vtype, value, comment)
    if vtype == _STRING:
        value = value.replace("''", "'").rstrip()
    return kind, key, value, comment


def _join_long_string(image, vtype, value, comment):
    """Value and comment of a string carried on by CONTINUE cards."""
    pieces = [value]
    comments = [comment] if comment else []
    for start in range(CARD, len(image), CARD):
        kind, _, _, more_type, more, more_comment, _ = _split(image[start:start + CARD])
        if kind != KIND_CONTINUE or more_type != _STRING or vtype != _STRING:
            return BadValue(image.rstrip()), comment
        pieces.append(more)
        if more_comment:
            comments.append(more_comment)
    value = "".join(_strip_amp(piece) for piece in pieces)
    return value.replace("''", "'").rstrip(), " ".join(comments)


def _strip_amp(raw):
    raw = raw.rstrip()
    return raw[:-1] if raw.endswith("&") else raw


def normalize_keyword(keyword):
    """The lookup form of a keyword: upper case, without ``HIERARCH``.

    Parameters
    ----------
    keyword : str

    Returns
    -------
    str
    """
    key = keyword.strip().upper()
    if key.startswith("HIERARCH "):
        key = key[9:].strip()
    return key


def is_standard_keyword(keyword):
    """Whether a keyword (lookup form) is written as it is, without HIERARCH,
    and holds a value (not commentary).

    Parameters
    ----------
    keyword : str

    Returns
    -------
    bool
    """
    return (0 < len(keyword) <= 8 and keyword not in COMMENTARY
            and _STANDARD_KEY_CHARS.issuperset(keyword))


def is_hierarch_keyword(keyword):
    """Whether a keyword (lookup form) needs the HIERARCH convention.

    Parameters
    ----------
    keyword : str

    Returns
    -------
    bool
    """
    return len(keyword) > 8 or not _STANDARD_KEY_CHARS.issuperset(keyword)


def check_text(text, what):
    """Raise ValueError unless ``text`` is printable ASCII.

    Parameters
    ----------
    text : str
    what : str
        What the text is, for the message.
    """
    if not (text.isascii() and text.isprintable()):
        raise ValueError(f"{what} {text!r} has characters outside printable ASCII")


def _format_float(value):
    if not math.isfinite(value):
        raise ValueError(f"{value} cannot be written in a FITS header")
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        if "." not in mantissa:
            mantissa += ".0"
        return f"{mantissa}E{exponent}"
    return text


def coerce_value(value):
    """A NumPy scalar as the matching Python value; other values unchanged.

    A float32 becomes the float of its own shortest representation, so it
    is written as ``0.1`` rather than ``0.10000000149011612``.

    Parameters
    ----------
    value : object

    Returns
    -------
    object
    """
    dtype = getattr(value, "dtype", None)
    if dtype is None or getattr(value, "shape", None) != ():
        return value
    if dtype.kind == "f" and dtype.itemsize < 8 and value == value:
        return float(str(value))
    return value.item()


def format_value(value):
    """The fixed-format value field of a non-string value.

    Parameters
    ----------
    value : bool, int, float, complex or None

    Returns
    -------
    str
        Right-justified in 20 columns (ending in column 30) when it fits.

    Raises
    ------
    ValueError
        For NaN or infinity, which FITS headers cannot hold.
    TypeError
        For values of any other type.
    """
    if value is None:
        return " " * 20
    if isinstance(value, bool):
        text = "T" if value else "F"
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = _format_float(value)
    elif isinstance(value, complex):
        text = f"({_format_float(value.real)}, {_format_float(value.imag)})"
    else:
        raise TypeError(f"cannot write a {type(value).__name__} value in a FITS header")
    return f"{text:>20}"


def _key_prefix(keyword):
    """The card text up to and including the value indicator."""
    if keyword.startswith("HIERARCH "):
        return f"{keyword} = "
    return f"{keyword:8}= "


def _assemble(prefix, field, comment, keyword):
    """The card from its parts, padded to 80 columns; the value field loses
    its alignment blanks before the comment is cut, and a comment that still
    does not fit is an error, since truncating it would lose text."""
    text = prefix + field
    if len(prefix) + len(field.strip()) > CARD:
        raise ValueError(f"the value of {keyword!r} does not fit in a card")
    if comment:
        text = f"{text} / {comment}"
        if len(text) > CARD:
            text = f"{prefix}{field.strip()} / {comment}"
    if len(text) > CARD:
        raise ValueError(f"card {keyword!r} is {len(text)} characters long; "
                         "shorten its comment (only string values may "
                         "continue on CONTINUE cards)")
    return f"{text:{CARD}}"


def _string_pieces(escaped, width):
    """Split an escaped string into pieces of at most ``width`` characters
    without separating the two quotes of an escaped quote."""
    pieces = []
    while len(escaped) > width:
        cut = width
        # an odd run of quotes before the cut would split a '' pair
        run = len(escaped[:cut]) - len(escaped[:cut].rstrip("'"))
        if run % 2:
            cut -= 1
        pieces.append(escaped[:cut])
        escaped = escaped[cut:]
    pieces.append(escaped)
    return pieces


def _comment_pieces(comment, width):
    """Split a comment into pieces that join back with single blanks."""
    pieces = []
    while len(comment) > width:
        cut = comment.rfind(" ", 1, width + 1)
        while cut > 0 and (comment[cut - 1] == " " or comment[cut + 1:cut + 2] == " "):
            cut = comment.rfind(" ", 1, cut)
        if cut <= 0:
            # one word longer than a card: cut it (reads back with a blank)
            pieces.append(comment[:width])
            comment = comment[width:]
        else:
            pieces.append(comment[:cut])
            comment = comment[cut + 1:]
    pieces.append(comment)
    return pieces


def _format_string_card(keyword, value, comment):
    escaped = value.replace("'", "''")
    prefix = _key_prefix(keyword)
    quoted = f"'{escaped:8}'"
    if len(prefix) + len(quoted) + (3 + len(comment) if comment else 0) <= CARD:
        return _assemble(prefix, f"{quoted:20}", comment, keyword)
    # CONTINUE long-string convention: every piece but the last ends in '&'.
    first_width = CARD - len(prefix) - 3
    if first_width < 2:  # room for at least an escaped quote
        raise ValueError(f"keyword {keyword!r} leaves no room for a value")
    pieces = _string_pieces(escaped, first_width)
    if len(pieces) > 1:
        pieces = pieces[:1] + _string_pieces("".join(pieces[1:]), CARD - 13)
    lines = [f"{prefix}'{pieces[0]}&'"] + [f"CONTINUE  '{p}&'" for p in pieces[1:]]
    # An empty string is written ' ' (same value): astropy misreads '' when
    # a quote follows in the comment.
    if escaped.endswith("&"):
        # keep the value's own '&' from being read as the marker
        lines.append("CONTINUE  ' '")
    else:
        lines[-1] = lines[-1][:-2] + ("'" if pieces[-1] else " '")
    if comment and len(lines[-1]) + 3 + len(comment) <= CARD:
        lines[-1] += f" / {comment}"
    elif comment:
        lines[-1] = lines[-1][:-1] + "&'"
        parts = _comment_pieces(comment, CARD - len("CONTINUE  '&' / "))
        lines += [f"CONTINUE  '&' / {part}" for part in parts[:-1]]
        lines.append(f"CONTINUE  ' ' / {parts[-1]}")
    return "".join(f"{line:{CARD}}" for line in lines)


def format_card(keyword, value, comment=""):
    """The card image for a keyword, value and comment.

    Parameters
    ----------
    keyword : str
        A standard keyword (at most 8 characters of A-Z 0-9 - _; lower case
        is folded), ``COMMENT``/``HISTORY``/``""`` for commentary, or any
        longer name, written with the HIERARCH convention.
    value : bool, int, float, complex, str or None
        ``None`` writes an undefined value.  For commentary cards, the text.
    comment : str, optional

    Returns
    -------
    str
        80 characters, or a multiple of 80 for long strings (CONTINUE).

    Raises
    ------
    ValueError
        For text outside printable ASCII, NaN/infinity, or a comment that
        does not fit a non-string card.
    """
    comment = "" if comment is None else str(comment)
    check_text(comment, "comment")
    name = keyword.strip()
    hierarch = name.upper().startswith("HIERARCH ")
    if hierarch:
        name = name[9:].strip()
    check_text(name, "keyword")
    if "=" in name:
        raise ValueError(f"keyword {keyword!r} contains '='")
    value = coerce_value(value)
    key = name.upper()
    if key in COMMENTARY and not hierarch:
        text = "" if value is None else str(value)
        check_text(text, "commentary text")
        if len(text) > CARD - 8:
            raise ValueError(f"{key or 'blank'} text longer than 72 characters "
                             "needs several cards")
        return f"{key:8}{text:{CARD - 8}}"
    if hierarch or is_hierarch_keyword(key):
        key = "HIERARCH " + name
    if not key.startswith("HIERARCH "):
        return format_plain_card(key, value, comment, keyword)
    if isinstance(value, str):
        check_text(value, "string value")
        return _format_string_card(key, value, comment)
    return _assemble(_key_prefix(key), format_value(value).lstrip(), comment, keyword)


def format_plain_card(key, value, comment, keyword=None):
    """The card image for a standard keyword.

    The part of :func:`format_card` that is left once the keyword is known
    to be standard; header edits that replace a value call it directly.

    Parameters
    ----------
    key : str
        An upper-case standard keyword of 1-8 characters (not checked).
    value : bool, int, float, complex, str or None
        Already through :func:`coerce_value`.
    comment : str
        Checked for printable ASCII by the caller.
    keyword : str, optional
        The keyword as the caller spelt it, for error messages.

    Returns
    -------
    str
        80 characters, or a multiple of 80 for long strings (CONTINUE).

    Raises
    ------
    ValueError
        For NaN/infinity, a string outside printable ASCII or a comment
        that does not fit.
    """
    cls = value.__class__
    kept = (key, cls, value, comment)
    image = _KEPT_IMAGES.get(kept)
    if image is None:
        image = _format_plain_card(key, value, comment, keyword)
        if cls in _KEPT_CLASSES and (value or cls is not float) and len(image) == CARD \
                and len(_KEPT_IMAGES) < _KEPT_MAX:
            _KEPT_IMAGES[kept] = image
    return image


# Card images of the usual values, kept per (key, value type, value,
# comment): bulk header jobs set the same values with the same comments in
# every file.  Only types whose equal values have one image are kept (not
# a float zero: -0.0 == 0.0; not complex numbers); bounded.
_KEPT_IMAGES = {}
_KEPT_CLASSES = frozenset((str, int, float, bool))
_KEPT_MAX = 4096


def _format_plain_card(key, value, comment, keyword):
    """:func:`format_plain_card`, worked out."""
    cls = value.__class__
    # The usual cards first: a value field of at most 20 characters, at
    # most 47 of comment, so that the card is the fixed-format layout
    # padded to 80 columns (what the general path below gives them too).
    if cls is str:
        if value.isascii() and value.isprintable():
            quoted = f"'{value.replace(_QUOTE, _QUOTE * 2):8}'"
            if len(quoted) <= 20 and len(comment) <= 47:
                return f"{key:8}= {quoted:20} / {comment:47}" if comment \
                    else f"{key:8}= {quoted:20}{_BLANK50}"
        check_text(value, "string value")
        return _format_string_card(key, value, comment)
    if cls is int:
        field = str(value)
    elif cls is float:
        field = _format_float(value)
    else:
        field = None
    if field is not None and len(field) <= 20 and len(comment) <= 47:
        return f"{key:8}= {field:>20} / {comment:47}" if comment \
            else f"{key:8}= {field:>20}{_BLANK50}"
    return _assemble(f"{key:8}= ", format_value(value), comment,
                     key if keyword is None else keyword)


_QUOTE = "'"
_BLANK50 = " " * 50


def card_problems(image):
    """Ways in which a card image breaks the FITS 4.0 rules.

    Parameters
    ----------
    image : str
        One card image (80 characters or a CONTINUE group).

    Returns
    -------
    list of str
        Empty when the card is fine.
    """
    problems = []
    for start in range(0, len(image), CARD):
        kind, key, kflags, vtype, value, _, vflags = _split(image[start:start + CARD])
        name = key or "blank keyword"
        if kflags & _KF_BADCHAR:
            problems.append(f"keyword {name!r} has characters outside A-Z 0-9 - _")
        if kflags & _KF_LOWER and kind != KIND_HIERARCH:
            problems.append(f"keyword {name!r} is not upper case")
        if kflags & _KF_EQPOS:
            problems.append(f"keyword {name!r}: value indicator not in column 9")
        if kind == KIND_NOVALUE:
            problems.append(f"keyword {name!r} has no value indicator ('= ' in column 9)")
        if vflags & _VF_SPACES:
            problems.append(f"keyword {name!r}: number with blanks inside")
        if vflags & _VF_LOWEXP:
            problems.append(f"keyword {name!r}: lower-case exponent letter")
        if vflags & _VF_LONEQUOTE:
            problems.append(f"keyword {name!r}: quote inside a string is not doubled")
        if vtype == _BAD:
            problems.append(f"keyword {name!r}: unparsable value {value.text!r}")
        if kind == KIND_CONTINUE and start == 0:
            problems.append("CONTINUE card does not continue a long string")
        if kind == KIND_END:
            problems.append("END card inside the header")
    return problems
