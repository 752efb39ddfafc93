"""FITS header templates: standardised headers from a keyword list and values.

:func:`make_header_from_template` walks a template (see
:mod:`fitsmill.template_items` for what a template is made of) and builds a
:class:`fitsmill.header.Header`:

- a template card takes its value from the keyword arguments (keywords with
  "-" are spelled with "_": ``DATE_OBS``), else from ``originalHeader``, else
  from the template's default; a value of None, or none at all, leaves the
  card out;
- values are given in the template's order, with the template's comments;
- cards the template does not list are kept: first the original header's (in
  their order, with their comments), then values for keywords the template
  lacks (in the order given), at the template's :class:`ExtraCards` item or
  after its last item;
- then the original HISTORY (minus older template stamps), a stamp
  ``HISTORY fitsmill template used: NAME``, a blank card and the original
  COMMENT cards;
- text that is not ASCII is transliterated (``"Tõravere"`` becomes
  ``"Toravere"``), since FITS headers are ASCII.

Templates are registered by name (:func:`register_template`,
:func:`get_template`); the stamp lets :func:`update_templated_header` rebuild
a header with new values later.  DaCHS's stamp ("GAVO DaCHS template used")
is recognised too.

The DaCHS names (``makeHeaderFromTemplate``, ``registerTemplate``,
``getTemplateForName``, ``getNameForTemplate``, ``updateTemplatedHeader``)
are aliases of the functions here.
"""

import datetime
import re
import unicodedata

from fitsmill.errors import FitsFormatError, FitsmillError
from fitsmill.plate_templates import (
    MINIMAL_IMAGE_TEMPLATE, PLATE_KEYWORDS_2014_TO_CURRENT, PLATE_TEMPLATE,
    PLATE_TEMPLATE_2014, WCS_TEMPLATE, WFPDB_TEMPLATE)
from fitsmill.template_items import ExtraCards, Fixed, Matching, Numbered, separator

__all__ = [
    "make_header_from_template", "update_templated_header", "register_template",
    "get_template", "template_name", "template_keyword", "transliterate",
    "STAMP_PREFIX",
    "Fixed", "Numbered", "Matching", "ExtraCards", "separator",
    "MINIMAL_IMAGE_TEMPLATE", "WCS_TEMPLATE", "WFPDB_TEMPLATE", "PLATE_TEMPLATE",
    "PLATE_TEMPLATE_2014", "PLATE_KEYWORDS_2014_TO_CURRENT",
    "makeHeaderFromTemplate", "updateTemplatedHeader", "registerTemplate",
    "getTemplateForName", "getNameForTemplate", "getTemplateNameFromHistory",
    "template_name_from_history",
]

#: The HISTORY text that names the template a header was made from.
STAMP_PREFIX = "fitsmill template used: "

_STAMP_RE = re.compile(r"(?:fitsmill|GAVO DaCHS) template used: (\S+)")

_COMMENTARY = frozenset(("", "COMMENT", "HISTORY"))

_REGISTRY = {
    "minimal": MINIMAL_IMAGE_TEMPLATE,
    "wfpdb": WFPDB_TEMPLATE,
    "plate": PLATE_TEMPLATE,
    "plate2014": PLATE_TEMPLATE_2014,
}

# Characters NFKD decomposition does not reduce to ASCII.
_SPECIAL = str.maketrans({
    "ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L",
    "đ": "d", "Đ": "D", "þ": "th", "Þ": "Th", "œ": "oe", "Œ": "OE", "ı": "i",
    "ð": "d", "Ð": "D", "‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"',
    "„": '"', "–": "-", "—": "-", "…": "...", "°": " deg", "′": "'", "″": '"',
    "×": "x", "µ": "u", "μ": "u", "\t": " ", "\n": " ", "\r": " ",
})
_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue",
                         "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})


def transliterate(text, german=False):
    """Return ``text`` reduced to printable ASCII, as FITS headers need.

    Accents are dropped (``"é"`` to ``"e"``), ligatures, Greek letters and a
    few symbols are spelled out (``"ß"`` to ``"ss"``, ``"α"`` to ``"alpha"``,
    ``"°"`` to ``" deg"``), anything left over becomes ``"?"``.

    Parameters
    ----------
    text : str
        Any text.
    german : bool, optional
        Spell umlauts the German way (``"ä"`` to ``"ae"``) instead of
        dropping the dots.

    Returns
    -------
    str

    Examples
    --------
    >>> transliterate("Tõravere Observatory, Förster")
    'Toravere Observatory, Forster'
    >>> transliterate("Förster", german=True)
    'Foerster'
    """
    if text.isascii() and text.isprintable():
        return text
    if german:
        text = text.translate(_GERMAN)
    text = unicodedata.normalize("NFKD", text.translate(_SPECIAL))
    return "".join(
        ch if " " <= ch <= "~" else _spelled(ch)
        for ch in text if not unicodedata.combining(ch))


def _spelled(char):
    """A Greek letter by name (star names: "alpha Ori"), else "?"."""
    name = unicodedata.name(char, "")
    for prefix, case in (("GREEK SMALL LETTER ", str.lower),
                         ("GREEK CAPITAL LETTER ", str.capitalize)):
        if name.startswith(prefix) and " " not in name[len(prefix):]:
            return case(name[len(prefix):])
    return "?"


def _lookup_key(keyword):
    """Argument spelling of a keyword: upper case, "-" as "_"."""
    return keyword.upper().replace("-", "_")


def _plain(value):
    """A value a FITS card can hold: numpy scalars unwrapped, masked values
    (missing table cells) as None, dates as ISO text, text as ASCII."""
    if value is None or isinstance(value, (bool, int, float, complex)):
        return value
    if isinstance(value, str):
        return transliterate(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=None).isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if getattr(value, "mask", False) is True or type(value).__name__ == "MaskedConstant":
        return None
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        return _plain(value.item())
    return value


class _Verbatim:
    """An original card whose value cannot be parsed, kept as it is."""

    __slots__ = ("card",)

    def __init__(self, card):
        self.card = card


def _card_parts(card):
    """(keyword, value, comment) of a header card of any card class."""
    return card.keyword, card.value, card.comment


class _Sources:
    """The values a template is filled from: arguments over original header.

    Keys are argument spellings (:func:`_lookup_key`).
    """

    def __init__(self, values, original):
        self.given = {}
        for key, value in values.items():
            self.given[_lookup_key(key)] = (key.upper(), _plain(value))
        self.original = {}
        self.history, self.comments, self.others = [], [], []
        for card in original.cards if original is not None else ():
            try:
                keyword, value, comment = _card_parts(card)
            except FitsFormatError:
                # An unparsable card goes through verbatim, never "fixed".
                self.others.append((card.keyword, _Verbatim(card), ""))
                continue
            if keyword == "HISTORY":
                if not _STAMP_RE.match(str(value)):
                    self.history.append(str(value))
            elif keyword == "COMMENT":
                self.comments.append(str(value))
            elif keyword == "":
                if value and not str(value).strip().startswith("---"):
                    self.others.append(("", _plain(value), ""))
            elif _lookup_key(keyword) not in self.original:
                self.original[_lookup_key(keyword)] = (keyword, value, comment)
                self.others.append((keyword, value, comment))
        for kind, target in (("HISTORY", self.history), ("COMMENT", self.comments)):
            extra = self.given.pop(kind, (None, None))[1]
            target.extend([extra] if isinstance(extra, str) else extra or [])

    def keywords(self):
        """Every keyword with a value: original ones, then given ones."""
        seen = dict.fromkeys(self.original)
        seen.update(dict.fromkeys(self.given))
        return list(seen)

    def get(self, key, default=None):
        """(keyword or None, value, comment or None) for an argument key."""
        if key in self.given:
            orig = self.original.get(key)
            return (orig[0] if orig else None), self.given[key][1], (
                orig[2] if orig else None)
        if key in self.original:
            return self.original[key]
        return None, default, None

    def spelling(self, key):
        """The keyword as the original header or the caller spelled it."""
        if key in self.original:
            return self.original[key][0]
        return self.given[key][0]


def _numbered_regex(item):
    """Regex for a Numbered item's keywords in argument spelling."""
    head, _, tail = _lookup_key(item.pattern).partition("{N}")
    return re.compile(f"{re.escape(head)}([1-9][0-9]?){re.escape(tail)}")


def _natural(keyword):
    """Sort key putting A_2_0 before A_10_0."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", keyword)]


class _Filler:
    """One application of a template: a list of (keyword, value, comment)."""

    def __init__(self, template, sources):
        self.template = template
        self.sources = sources
        self.cards = []
        self.lists = {}
        explicit = {_lookup_key(_item_keyword(item)) for item in template
                    if _item_keyword(item)}
        explicit.update(_lookup_key(item.list_keyword) for item in template
                        if isinstance(item, Numbered) and item.base is None)
        patterns = [(i, _numbered_regex(item) if isinstance(item, Numbered)
                     else re.compile(item.regex))
                    for i, item in enumerate(template)
                    if isinstance(item, (Numbered, Matching))]
        # Which pattern item claims which keyword, decided before the walk so
        # that a later explicit item never loses its card to an earlier
        # pattern and nothing is placed twice.
        self.claims = {}
        for key in sources.keywords():
            if key in explicit:
                continue
            spelled = sources.spelling(key)
            for index, regex in patterns:
                target = key if isinstance(template[index], Numbered) else spelled
                match = regex.fullmatch(target)
                if match:
                    self.claims.setdefault(index, []).append((key, match))
                    break
        claimed = {key for found in self.claims.values() for key, _ in found}
        self.extras = dict.fromkeys(key for key in sources.keywords()
                                    if key not in explicit and key not in claimed)

    def emit(self, keyword, value, comment):
        if value is not None:
            self.cards.append((keyword, value, comment or ""))

    def run(self):
        """Walk the template; return the cards."""
        extras_done = False
        for index, item in enumerate(self.template):
            if isinstance(item, ExtraCards):
                if not extras_done:
                    self.add_extras(item.title)
                extras_done = True
            elif isinstance(item, Numbered):
                self.add_numbered(index, item)
            elif isinstance(item, Matching):
                self.add_matching(index, item)
            elif isinstance(item, tuple) and not isinstance(item, Fixed):
                self.add_card(item[0], None, item[1])
            else:
                keyword, value, comment = _card_parts(item)
                if keyword in _COMMENTARY:
                    self.cards.append((keyword, value, ""))
                else:
                    self.add_card(keyword, value, comment)
        if not extras_done:
            self.add_extras("")
        leftover = [k for k, v in self.lists.items() if any(x is not None for x in v)]
        if leftover:
            raise ValueError(
                f"list values given for {', '.join(leftover)}, but the template "
                "has no numbered keywords for further exposures")
        return self.cards

    def add_card(self, keyword, default, comment):
        key = _lookup_key(keyword)
        _, value, _ = self.sources.get(key, default)
        if isinstance(value, list):
            self.lists[keyword] = value[1:]
            value = value[0] if value else None
        self.emit(keyword, value, comment)

    def add_numbered(self, index, item):
        by_number = {}
        if item.base is None:
            key = _lookup_key(item.list_keyword)
            _, listed, _ = self.sources.get(key)
            listed = listed if isinstance(listed, list) else [listed]
        else:
            listed = self.lists.pop(item.base, [])
        for number, value in enumerate(listed, item.first):
            if value is not None:
                by_number[number] = value
        for key, match in self.claims.get(index, ()):
            by_number[int(match.group(1))] = self.sources.get(key)[1]
        for number in sorted(by_number):
            self.emit(item.pattern.format(n=number), by_number[number],
                      item.comment.format(n=number))

    def add_matching(self, index, item):
        found = sorted(self.claims.get(index, ()),
                       key=lambda km: _natural(self.sources.spelling(km[0])))
        for key, match in found:
            keyword, value, _ = self.sources.get(key)
            self.emit(keyword or self.sources.spelling(key), value,
                      item.comment.format(*match.groups()))

    def add_extras(self, title):
        first = len(self.cards)
        for keyword, value, comment in self.sources.others:
            if keyword == "":
                self.cards.append(("", value, ""))
            elif isinstance(value, _Verbatim):
                if _lookup_key(keyword) not in self.sources.given:
                    self.cards.append((keyword, value, ""))
            elif _lookup_key(keyword) in self.extras:
                self.emit(keyword, self.sources.get(_lookup_key(keyword))[1],
                          comment)
        for key in self.extras:
            if key not in self.sources.original:
                self.emit(self.sources.spelling(key), self.sources.get(key)[1], "")
        if title and len(self.cards) > first:
            self.cards.insert(first, _card_parts(separator(title)))


def _item_keyword(item):
    """The keyword an explicit template item places, or None."""
    if isinstance(item, (Numbered, Matching, ExtraCards)):
        return None
    keyword = item[0] if isinstance(item, tuple) else item.keyword
    return None if keyword in _COMMENTARY else keyword


def template_keyword(template, keyword):
    """The keyword ``template`` places for a value given as ``keyword``.

    Parameters
    ----------
    template : list or str
        A template or a registered name.
    keyword : str
        A keyword in either spelling (``DATE_OBS`` or ``DATE-OBS``), any case.

    Returns
    -------
    str or None
        The template's spelling (``"DATE-OBS"``), or None when the template
        has no place for it (the value would go among the extra cards).

    Examples
    --------
    >>> template_keyword("plate", "exptim3"), template_keyword("plate", "FOO")
    ('EXPTIM3', None)
    """
    _, template = _resolve(template)
    key = _lookup_key(keyword)
    for item in template:
        if isinstance(item, Numbered):
            match = _numbered_regex(item).fullmatch(key)
            if match:
                return item.pattern.format(n=int(match.group(1)))
            if item.base is None and key == _lookup_key(item.list_keyword):
                return item.list_keyword
        elif isinstance(item, Matching):
            if re.fullmatch(item.regex, keyword.upper()):
                return keyword.upper()
        elif _item_keyword(item) and _lookup_key(_item_keyword(item)) == key:
            return _item_keyword(item)
    return None


def _resolve(template):
    """(name, template) for a template or its registered name."""
    if isinstance(template, str):
        return template, get_template(template)
    return template_name(template) or "anonymous", template


def _to_header(cards, history, comments):
    """Build the Header; a card that cannot be made names its keyword."""
    from fitsmill.header import Card, Header

    made = []
    for keyword, value, comment in cards:
        if isinstance(value, _Verbatim):
            made.append(value.card)
            continue
        try:
            made.append(Card(keyword, value, comment))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"While constructing card {keyword}: {exc}") from None
    made += [Card("HISTORY", text) for text in history]
    if comments:
        made.append(Card())
        made += [Card("COMMENT", text) for text in comments]
    return Header(made)


def make_header_from_template(template, originalHeader=None, **values):
    """Build a header from a template and values.

    Parameters
    ----------
    template : list or str
        A template (a list of items, see :mod:`fitsmill.template_items`) or
        the name of a registered one (``"minimal"``, ``"wfpdb"``,
        ``"plate"``, ``"plate2014"`` or one of :func:`register_template`).
    originalHeader : Header, optional
        A header (fitsmill's or astropy's) whose cards fill the template
        where no value is given, and whose other cards, HISTORY and COMMENT
        are kept.
    **values
        Card values by keyword, "-" spelled "_" (``DATE_OBS="1931-03-01"``).
        None removes a card, even one of ``originalHeader``.  A list for a
        keyword with numbered exposure keywords in the template gives the
        values of exposure 1, 2, ...  ``HISTORY`` and ``COMMENT`` take a
        string or a list of strings, added after the original ones.

    Returns
    -------
    fitsmill.header.Header
        A new header; the template and ``originalHeader`` are unchanged.

    Raises
    ------
    ValueError
        When a card cannot be built (the message names its keyword), a
        template name is unknown, or list values have nowhere to go.

    Examples
    --------
    >>> hdr = make_header_from_template("wfpdb", BITPIX=16, NAXIS1=10,
    ...     NAXIS2=10, OBJECT="M 31", EXPTIME=600)
    >>> hdr["OBJECT"], hdr.comments["EXPTIME"]
    ('M 31', '[s] exposure time of the first exposure')
    """
    name, template = _resolve(template)
    sources = _Sources(values, originalHeader)
    cards = _Filler(template, sources).run()
    return _to_header(cards, sources.history + [STAMP_PREFIX + name],
                      sources.comments)


def update_templated_header(hdr, templateName=None, **values):
    """Rebuild a templated header with new values.

    Parameters
    ----------
    hdr : Header
        A header made from a registered template (fitsmill's or DaCHS's
        HISTORY stamp names it).
    templateName : str or list, optional
        The template to use when the header has no stamp or a different one
        is wanted.
    **values
        New values, as for :func:`make_header_from_template`.

    Returns
    -------
    fitsmill.header.Header
        A new header: the template order, the old values where no new one is
        given, every other card, HISTORY and COMMENT kept, one fresh stamp.

    Raises
    ------
    FitsmillError
        When no template is given and the header carries no stamp.
    """
    if templateName is None:
        templateName = template_name_from_history(hdr)
    return make_header_from_template(templateName, originalHeader=hdr, **values)


def template_name_from_history(hdr):
    """Return the template name in a header's HISTORY stamp (the last one).

    Both fitsmill's and DaCHS's stamps are recognised.

    Raises
    ------
    FitsmillError
        When the header carries no stamp.
    """
    names = [m.group(1) for m in map(_STAMP_RE.match, (
        str(card.value) for card in hdr.cards if card.keyword == "HISTORY")) if m]
    if not names:
        raise FitsmillError("template signature not found in the header's "
                            "HISTORY; pass templateName")
    return names[-1]


def register_template(name, template, replace=False):
    """Make a template available by name.

    Parameters
    ----------
    name : str
        The name, written into the HISTORY stamp; use a personal prefix
        (``"myarchive-plates"``).  No white space.
    template : list
        The template.
    replace : bool, optional
        Allow replacing a different template registered under ``name``.

    Raises
    ------
    ValueError
        When ``name`` is taken by another template and ``replace`` is false,
        or contains white space.
    """
    if not name or re.search(r"\s", name):
        raise ValueError(f"template name must be non-empty without spaces: {name!r}")
    old = _REGISTRY.get(name)
    if old is not None and old is not template and not replace:
        raise ValueError(f"a different template is already registered as {name!r}")
    _REGISTRY[name] = template


def get_template(name):
    """Return the template registered as ``name``.

    Raises
    ------
    ValueError
        When no template has that name; the message lists the known ones.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"no header template named {name!r}; known: "
                         f"{', '.join(sorted(_REGISTRY))}") from None


def template_name(template):
    """Return the name ``template`` (the same object) is registered as, or None."""
    for name, registered in _REGISTRY.items():
        if registered is template:
            return name
    return None


#: DaCHS spellings.
makeHeaderFromTemplate = make_header_from_template
updateTemplatedHeader = update_templated_header
registerTemplate = register_template
getTemplateForName = get_template
getNameForTemplate = template_name
getTemplateNameFromHistory = template_name_from_history
