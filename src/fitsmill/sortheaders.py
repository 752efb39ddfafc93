"""sort_headers: put a header's cards into a FITS-valid, tidy order.

DaCHS's ``fitstools.sortHeaders`` with its flaws fixed: running it twice
gives the same header (DaCHS adds blank cards on every pass), extension
headers (XTENSION first) and any number of axes are supported, a keyword
that appears twice keeps both cards, and the blank card before the HISTORY
and COMMENT blocks appears only when the block has a card left after
filtering.

Without filters and card sequence, the order of a header's cards depends
only on its keywords, on which blank-keyword cards are empty and on
whether a commentary text repeats; it is worked out once per such header
shape and kept (bounded), so that sorting the headers of an archive,
which share a few shapes, merely picks each file's cards.
"""

from itertools import compress
from operator import itemgetter

from fitsmill.card import Card
from fitsmill.errors import FitsFormatError
from fitsmill.header import Header

__all__ = ["sort_headers", "sortHeaders", "sort_card_list", "structural_sequence",
           "CardList", "CardPick", "header_from_images", "shape_of", "AXIS_KEYWORDS"]

#: Every NAXISn keyword FITS allows (n = 1 ... 999): one set operation
#: finds a header's axes, where a pattern match per card would cost more.
AXIS_KEYWORDS = frozenset(f"NAXIS{n}" for n in range(1, 1000))

_BLANK = " " * 80
_END = "END".ljust(80)

# Commentary keywords (their cards go to blocks at the end) and, with the
# blank keyword, the keywords that are not looked up by name.
_NOTES = frozenset(("HISTORY", "COMMENT"))
_NOT_REAL = _NOTES | {""}

# (keyword, mandatory) before and after the axis lengths, in FITS order.
_PRIMARY_HEAD = (("SIMPLE", True), ("BITPIX", True), ("NAXIS", True))
_EXTENSION_HEAD = (("XTENSION", True), ("BITPIX", True), ("NAXIS", True))
_PRIMARY_TAIL = (("EXTEND", False), ("BZERO", False), ("BSCALE", False))
_EXTENSION_TAIL = (("PCOUNT", False), ("GCOUNT", False), ("TFIELDS", False),
                   ("BZERO", False), ("BSCALE", False))

# Every keyword sort_card_list treats specially.
_SPECIAL = frozenset(keyword for keyword, _ in _PRIMARY_HEAD + _EXTENSION_HEAD
                     + _PRIMARY_TAIL + _EXTENSION_TAIL) | AXIS_KEYWORDS | _NOT_REAL


def _axis_number(keyword):
    return int(keyword[5:])


def structural_sequence(keywords):
    """The data-describing keywords of a header, in their FITS order.

    Parameters
    ----------
    keywords : iterable of str
        The header's keywords.

    Returns
    -------
    list of (str, bool)
        ``(keyword, mandatory)`` pairs: SIMPLE or XTENSION, BITPIX, NAXIS,
        every NAXISn present (ascending n), then EXTEND, BZERO, BSCALE for a
        primary header or PCOUNT, GCOUNT, TFIELDS, BZERO, BSCALE for an
        extension.
    """
    if not isinstance(keywords, (set, frozenset, dict)):
        keywords = set(keywords)
    axes = sorted(AXIS_KEYWORDS.intersection(keywords), key=_axis_number)
    if "XTENSION" not in keywords or "SIMPLE" in keywords:
        head, tail = _PRIMARY_HEAD, _PRIMARY_TAIL
    else:
        head, tail = _EXTENSION_HEAD, _EXTENSION_TAIL
    return [*head, *[(kw, False) for kw in axes], *tail]


def _is_card(item):
    return not isinstance(item, tuple) and hasattr(item, "keyword")


def _text(image):
    """The text of a blank-keyword card (columns 9-80)."""
    return image[8:80].strip()


class CardList:
    """A header as parallel lists of keywords and card images.

    Keywords come from the Header's scan (no card is parsed); the images are
    moved as they are, so untouched cards keep their bytes.  Header
    processors pass CardLists between their steps instead of Headers, which
    would parse every image again.

    Parameters
    ----------
    header : Header, CardList or iterable of cards
        fitsmill's Header (fast path), a CardList (shares its lists),
        astropy's Header, or card objects.

    Attributes
    ----------
    keys, images : list of str
    checked : bool
        Whether the images are known to be valid cards with these keywords
        (they came from a fitsmill Header), so that :meth:`header` need
        not parse them again.
    """

    def __init__(self, header):
        self._cards = None
        self._shape = None
        self.checked = False
        if isinstance(header, Header):
            self.keys = header.keys()
            # Images straight from the Header: no Card object per card.
            self.images = header.card_images()
            self.checked = True
        elif isinstance(header, CardList):
            self.keys, self.images = header.keys, header.images
            self._cards, self.checked = header._cards, header.checked
            self._shape = header._shape
        else:
            cards = list(getattr(header, "cards", header))
            self.keys = [card.keyword for card in cards]
            self.images = [_card_image(card) for card in cards]
            self._cards = cards

    @classmethod
    def from_lists(cls, keys, images, checked=False, shape=None):
        """A CardList of the given (equally long) keyword and image lists.

        Parameters
        ----------
        keys, images : list of str
            Used as they are (not copied).
        checked : bool, optional
            True when the images are cards of fitsmill Headers (or formatted
            by fitsmill) and ``keys`` their keywords as ``Header.keys()``
            reports them; :meth:`header` then takes them without parsing.
        shape : str, optional
            :meth:`shape` of ``keys``, when the caller has it.
        """
        self = cls.__new__(cls)
        self.keys, self.images, self._cards, self.checked = keys, images, None, checked
        self._shape = shape
        return self

    def shape(self):
        """The keywords in order as one string: the key under which orders
        are kept per header shape (see :class:`ShapeMemo`).

        Keywords are printable text, so a line break cannot occur in one
        and the string stands for the list.  A string is hashed once and
        compared with one memory comparison, where a tuple of fresh
        keyword strings would compare each of them on every lookup.
        """
        shape = self._shape
        if shape is None:
            shape = self._shape = shape_of(self.keys)
        return shape

    def positions(self, keyword):
        """Every position of ``keyword``, in order (list of int)."""
        return _positions(self.keys, keyword)

    def card(self, pos):
        """The card at ``pos`` (parsed on demand)."""
        if self._cards is not None:
            return self._cards[pos]
        return Header.fromstring(self.images[pos] + _END).cards[0]

    def header(self):
        """The cards as a new :class:`~fitsmill.header.Header`."""
        if self.checked:
            return Header._from_checked(self.images, self.keys, self._shape)
        return header_from_images(self.images)

    def tobytes(self):
        """The cards, END and blank padding to whole 2880-byte blocks (bytes)."""
        text = "".join(self.images)
        return f"{text}{_END}{' ' * (-(len(text) + len(_END)) % 2880)}".encode("ascii")


def _positions(keys, keyword):
    """Every position of ``keyword`` in the sequence ``keys``, in order."""
    positions = []
    pos = -1
    # list.count and list.index scan in C (a scan of a few dozen keys
    # costs less than building a dict of them); most keywords occur once
    # or not at all
    for _ in range(keys.count(keyword)):
        pos = keys.index(keyword, pos + 1)
        positions.append(pos)
    return positions


def shape_of(keys):
    """:meth:`CardList.shape` of a sequence of keywords.

    Parameters
    ----------
    keys : sequence of str

    Returns
    -------
    str
        A line break before each keyword (so that a list of one blank
        keyword differs from the empty list).
    """
    return "\n" + "\n".join(keys) if keys else ""


def _card_image(card):
    """The image of a card object of any card class."""
    image = getattr(card, "image", None)
    if isinstance(image, str):
        return image
    return Card(card.keyword, card.value, card.comment).image


def header_from_images(images):
    """A Header made from card images (80 characters or CONTINUE groups)."""
    return Header.fromstring("".join(images) + _END)


def _commentary(cards, positions, keep):
    """The positions whose card text passes ``keep``, each text once."""
    if keep is None and len(positions) < 2:
        return positions
    seen = set()
    result = []
    for pos in positions:
        text = cards.images[pos][8:]
        if text in seen or (keep is not None and not keep(str(cards.card(pos).value))):
            continue
        seen.add(text)
        result.append(pos)
    return result


def sort_headers(header, commentFilter=None, historyFilter=None,
                 cardSequence=None):
    """Return a copy of ``header`` with its cards in FITS order.

    The result holds: the structural cards (SIMPLE or XTENSION, BITPIX,
    NAXIS, NAXISn, then EXTEND, BZERO, BSCALE or PCOUNT, GCOUNT, TFIELDS ...);
    the ``cardSequence`` cards; all other cards in their original order
    (separator cards with text included); a blank card and the HISTORY cards;
    a blank card and the COMMENT cards.  Empty blank cards are dropped, so
    sorting a sorted header changes nothing.

    Parameters
    ----------
    header : Header or iterable of cards
        The header (fitsmill's or astropy's); it is not changed.
    commentFilter, historyFilter : callable, optional
        Called with a COMMENT (HISTORY) card's text; return True to keep the
        card.  By default all are kept.  Repeated texts are kept once.
    cardSequence : sequence, optional
        More cards to place after the structural ones, in order: keywords,
        ``(keyword, mandatory)`` pairs, or card objects, inserted as they
        are (for separator cards) and replacing the header's cards of that
        keyword or separator text (a structural keyword given as a card
        goes where the sequence puts it).

    Returns
    -------
    fitsmill.header.Header
        The sorted header.  Cards are moved, not re-formatted.

    Raises
    ------
    FitsFormatError
        When a mandatory card (SIMPLE or XTENSION, BITPIX, NAXIS, or one
        marked so in ``cardSequence``) is missing.
    """
    return sort_card_list(CardList(header), commentFilter, historyFilter,
                          cardSequence).header()


def sort_card_list(cards, commentFilter=None, historyFilter=None,
                   cardSequence=None):
    """:func:`sort_headers` on a :class:`CardList`, returning a CardList.

    The images are moved, not parsed again: header processors chain this
    with other steps and build a Header only for the final write.
    """
    keys, images = cards.keys, cards.images
    if commentFilter is None and historyFilter is None and cardSequence is None:
        planned = _planned_order(cards)
        if planned is not None:
            pick, out_keys, out_shape = planned
            return CardList.from_lists(list(out_keys), list(pick(images + [_BLANK])),
                                       cards.checked, out_shape)
    order, extra = _order(cards, commentFilter, historyFilter, cardSequence)
    source_keys, source_images = keys + [""], images + [_BLANK]
    for keyword, image in extra:
        source_keys.append(keyword)
        source_images.append(image)
    pick = picker(order)
    return CardList.from_lists(list(pick(source_keys)), list(pick(source_images)),
                               cards.checked and not extra)


def picker(order):
    """A function giving the tuple of a list's items at the positions
    ``order`` (in C: operator.itemgetter, which gives a bare item for one
    position)."""
    if len(order) > 1:
        return itemgetter(*order)
    if order:
        position = order[0]
        return lambda items: (items[position],)
    return lambda items: ()


def _order(cards, commentFilter, historyFilter, cardSequence):
    """Where the sorted cards come from: positions in the header, its
    length for the blank card before a commentary block, and beyond that
    the cards ``cardSequence`` gives, returned as (keyword, image) pairs.

    Returns
    -------
    order : list of int
    extra : list of (str, str)
    """
    keys, images = cards.keys, cards.images
    separator = len(keys)
    # The special keywords present, found by one set operation (a C loop),
    # are located with list.index and list.count (C loops too); the cards
    # that stay in their order are picked with itertools.compress.  No
    # Python loop runs over all cards.
    present = _SPECIAL.intersection(keys)
    if cardSequence is None:
        order = list(map(keys.index, _structure(present)))
        moved, extra = list(order), []
    else:
        order, moved, extra = _sequence_order(cards, present, cardSequence, separator + 1)
    stay = [True] * separator
    history = cards.positions("HISTORY") if "HISTORY" in present else ()
    comments = cards.positions("COMMENT") if "COMMENT" in present else ()
    # Blank cards go (a separator card with text stays in place).
    blanks = [pos for pos in cards.positions("") if images[pos][8:80].isspace()] \
        if "" in present else ()
    for positions in (moved, history, comments, blanks):
        for pos in positions:
            stay[pos] = False
    order += compress(range(separator), stay)
    for block, keep in ((history, historyFilter), (comments, commentFilter)):
        block = _commentary(cards, block, keep)
        if block:
            order.append(separator)
            order += block
    return order, extra


class ShapeMemo(dict):
    """A dict of things kept per header shape that stops growing once its
    entries hold ``limit`` keywords in all (an archive whose headers all
    differ would otherwise fill memory with shapes never seen again)."""

    def __init__(self, limit=100_000):
        super().__init__()
        self.room = limit

    def charge(self, size):
        """Whether ``size`` more keywords fit (they are then counted)."""
        if size > self.room:
            return False
        self.room -= size
        return True

    def remember(self, key, size, value):
        """Keep ``value`` under ``key`` if ``size`` more keywords fit;
        return ``value``."""
        if self.charge(size):
            self[key] = value
        return value


# Sort orders without filters or sequence, kept per header shape (the
# keywords in order): keywords -> (positions of the blank-keyword cards,
# positions of the HISTORY and COMMENT cards, {which blank-keyword cards
# are empty: (picker of the order, sorted keywords, their
# CardList.shape)}).  The order depends on nothing else as long as no
# commentary text repeats.  (Sorted keywords come from such kept orders,
# so the tuples of the keywords of the headers that processors sort
# compare item by item with identical strings, which is quick.)
_PLANS = ShapeMemo()
# The text of a card image, columns 9 on (what _commentary compares; a
# lower-case "history" card has the keyword HISTORY too).
_TEXT = itemgetter(slice(8, None))
# The text of a blank-keyword card, as _order looks at it.
_BLANK_TEXT = itemgetter(slice(8, 80))


def _repeats(images, notes):
    """Whether a text repeats among the commentary cards of ``images`` at
    the positions ``notes``."""
    # (most headers have one HISTORY and one COMMENT card at most: the
    # cheap test first)
    if len(notes) < 2:
        return False
    if len(notes) == 2:
        return images[notes[0]][8:] == images[notes[1]][8:]
    return len(set(map(_TEXT, map(images.__getitem__, notes)))) < len(notes)


def _emptiness(images, blanks):
    """Which blank-keyword cards of ``images`` at the positions ``blanks``
    are empty (a tuple of bool)."""
    # (blank-keyword cards are mostly wholly blank: the cheap test first)
    return tuple([images[pos].isspace() or _BLANK_TEXT(images[pos]).isspace()
                  for pos in blanks]) if blanks else ()


def _planned_order(cards):
    """(:func:`picker` of the order :func:`_order` gives without filters
    or sequence, sorted keywords, their :meth:`CardList.shape`), from a
    plan kept per header shape; None when a HISTORY or COMMENT text
    repeats (then :func:`_order` decides)."""
    keys, images = cards.keys, cards.images
    shape = tuple(keys)
    plan = _PLANS.get(shape)
    if plan is None:
        present = _SPECIAL.intersection(keys)
        plan = _PLANS.remember(shape, len(shape), (
            cards.positions("") if "" in present else (),
            cards.positions("HISTORY") + cards.positions("COMMENT")
            if not present.isdisjoint(_NOTES) else (),
            {}))
    blanks, notes, orders = plan
    if _repeats(images, notes):
        return None
    empty = _emptiness(images, blanks)
    planned = orders.get(empty)
    if planned is None:
        pick = picker(_order(cards, None, None, None)[0])
        out_keys = pick(keys + [""])
        planned = (pick, out_keys, shape_of(out_keys))
        # (an order holds two tuples of the shape's length, and a string)
        if shape in _PLANS and _PLANS.charge(2 * len(shape)):
            orders[empty] = planned
    return planned


class CardPick:
    """Cards picked from a source list at fixed positions, and their sort.

    Header processors make a header's cards out of other lists (the cache
    out of a header plus the structural cards a data-less header needs,
    the merge out of the cache plus the file's data cards) and then sort
    them.  For the headers of one shape both steps pick the same
    positions every time, so one CardPick is kept per shape and the sorted
    cards of each file are picked from the source in one go: the order of
    :func:`sort_card_list` without filters or card sequence, composed with
    this pick, kept per pattern of empty blank-keyword cards as
    :func:`_planned_order` keeps it.

    Parameters
    ----------
    order : sequence of int
        The source positions of the picked cards, in order.
    source_keys : list of str
        The keywords of a source list (the keywords of every source of
        this pick).

    Attributes
    ----------
    keys : tuple of str
        The keywords of the picked cards.
    shape : str
        :func:`shape_of` ``keys``.
    """

    __slots__ = ("order", "pick", "keys", "shape", "_blanks", "_notes", "_sorted")

    # Patterns of empty blank-keyword cards kept per pick (headers of one
    # shape rarely differ in them; the memory of a kept pick stays bounded).
    _PATTERNS = 8

    def __init__(self, order, source_keys):
        self.order = tuple(order)
        self.pick = picker(self.order)
        self.keys = keys = self.pick(source_keys)
        self.shape = shape_of(keys)
        present = _SPECIAL.intersection(keys)
        self._blanks = [self.order[pos] for pos in _positions(keys, "")] \
            if "" in present else []
        self._notes = [self.order[pos] for pos in _positions(keys, "HISTORY")
                       + _positions(keys, "COMMENT")] \
            if not present.isdisjoint(_NOTES) else []
        self._sorted = {}

    def cards(self, source, checked):
        """The picked cards of ``source`` (a list of images) as a CardList;
        ``checked`` as for :meth:`CardList.from_lists`."""
        return CardList.from_lists(list(self.keys), list(self.pick(source)), checked,
                                   self.shape)

    def sorted(self, source, checked):
        """``sort_card_list(self.cards(source, checked))``, with one pick.

        Parameters
        ----------
        source : list of str
            The source images followed by one blank card (the separator
            the sort puts before a commentary block), so that the result
            is picked from it without building the picked list first.
        checked : bool

        Returns
        -------
        CardList
        """
        if _repeats(source, self._notes):
            # a repeated commentary text: the general sort decides
            return sort_card_list(self.cards(source, checked))
        empty = _emptiness(source, self._blanks)
        found = self._sorted.get(empty)
        if found is None:
            found = self._compose(source, checked)
            if len(self._sorted) < self._PATTERNS:
                self._sorted[empty] = found
        pick, keys, shape = found
        return CardList.from_lists(list(keys), list(pick(source)), checked, shape)

    def _compose(self, source, checked):
        """(picker of the sorted cards from ``source``, their keywords,
        their shape), worked out on the picked cards of ``source``."""
        order = _order(self.cards(source, checked), None, None, None)[0]
        picked, blank = self.order, len(source) - 1
        size = len(picked)
        pick = picker([picked[pos] if pos < size else blank for pos in order])
        keys = picker(order)(list(self.keys) + [""])
        return pick, keys, shape_of(keys)


# present special keywords (frozenset) -> the structural keywords among
# them in FITS order, or the FitsFormatError message for a missing
# mandatory one.  Headers of one archive share a few shapes, so this stays
# small; it is bounded all the same.
_STRUCTURES = {}


def _structure(present):
    """The structural keywords of a header whose special keywords are
    ``present``, in their FITS order."""
    found = _STRUCTURES.get(present)
    if found is None:
        found = []
        for keyword, mandatory in structural_sequence(present):
            if keyword in present:
                found.append(keyword)
            elif mandatory:
                found = f"mandatory card {keyword!r} missing"
                break
        if len(_STRUCTURES) < 1024:
            _STRUCTURES[present] = found
    if isinstance(found, str):
        raise FitsFormatError(found)
    return found


def _sequence_order(cards, present, card_sequence, first_extra):
    """The start of :func:`_order` with a ``card_sequence``: the order of
    the structural cards and the sequence's items (the given cards
    numbered from ``first_extra`` on), the positions of the header's cards
    they use up or replace, and the given cards as (keyword, image)."""
    keys, images = cards.keys, cards.images
    first = {}
    moved = set()
    order, extra = [], []
    card_sequence = list(card_sequence)
    # A structural keyword given as a card is placed where the sequence
    # puts it, like any other given card; taking the header's card as well
    # would add it twice on the next pass.
    given = {item.keyword for item in card_sequence if _is_card(item)}
    for item in [item for item in structural_sequence(present)
                 if item[0] not in given] + card_sequence:
        if _is_card(item):
            # A card given in the sequence replaces the header's cards of the
            # same keyword (or, for a separator, the same text), so a second
            # pass does not add it again.
            image = _card_image(item)
            text = _text(image)
            if not item.keyword:
                moved.update(pos for pos in cards.positions("")
                             if text and _text(images[pos]) == text)
            elif item.keyword not in _NOTES:
                moved.update(cards.positions(item.keyword))
            order.append(first_extra + len(extra))
            extra.append((item.keyword, image))
            continue
        keyword, mandatory = (item, False) if isinstance(item, str) else \
            (item[0], bool(item[1]))
        if keyword not in first:
            first[keyword] = keys.index(keyword) \
                if keyword in keys and keyword not in _NOT_REAL else None
        pos = first[keyword]
        if pos is None or pos in moved:
            if mandatory and pos is None:
                raise FitsFormatError(f"mandatory card {keyword!r} missing")
            continue
        moved.add(pos)
        order.append(pos)
    return order, list(moved), extra


#: DaCHS spelling.
sortHeaders = sort_headers
