"""sort_headers: put a header's cards into a FITS-valid, tidy order.

DaCHS's ``fitstools.sortHeaders`` with its flaws fixed: running it twice
gives the same header (DaCHS adds blank cards on every pass), extension
headers (XTENSION first) and any number of axes are supported, a keyword
that appears twice keeps both cards, and the blank card before the HISTORY
and COMMENT blocks appears only when the block has a card left after
filtering.
"""

from itertools import compress

from fitsmill.card import Card
from fitsmill.errors import FitsFormatError
from fitsmill.header import Header

__all__ = ["sort_headers", "sortHeaders", "sort_card_list", "structural_sequence",
           "CardList", "header_from_images", "AXIS_KEYWORDS"]

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
    """

    def __init__(self, header):
        self._cards = None
        if isinstance(header, Header):
            self.keys = header.keys()
            # Images straight from the Header: no Card object per card.
            self.images = header.card_images()
        elif isinstance(header, CardList):
            self.keys, self.images = header.keys, header.images
        else:
            cards = list(getattr(header, "cards", header))
            self.keys = [card.keyword for card in cards]
            self.images = [_card_image(card) for card in cards]
            self._cards = cards

    @classmethod
    def from_lists(cls, keys, images):
        """A CardList of the given (equally long) keyword and image lists."""
        self = cls.__new__(cls)
        self.keys, self.images, self._cards = keys, images, None
        return self

    def positions(self, keyword):
        """Every position of ``keyword``, in order (list of int)."""
        keys = self.keys
        positions = []
        pos = -1
        # list.index scans in C; most keywords occur once or not at all
        for _ in range(keys.count(keyword)):
            pos = keys.index(keyword, pos + 1)
            positions.append(pos)
        return positions

    def card(self, pos):
        """The card at ``pos`` (parsed on demand)."""
        if self._cards is not None:
            return self._cards[pos]
        return Header.fromstring(self.images[pos] + _END).cards[0]

    def header(self):
        """The cards as a new :class:`~fitsmill.header.Header`."""
        return header_from_images(self.images)

    def tobytes(self):
        """The cards, END and blank padding to whole 2880-byte blocks (bytes)."""
        text = "".join(self.images) + _END
        return (text + " " * (-len(text) % 2880)).encode("ascii")


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
    # The structural keywords present, found by one set operation (a C
    # loop), are located with list.index; the cards that stay in their
    # order are copied with itertools.compress.
    present = _SPECIAL.intersection(keys)
    if cardSequence is None:
        moved = list(map(keys.index, _structure(present)))
        # (map instead of comprehensions: fewer frames for short lists)
        out_keys = list(map(keys.__getitem__, moved))
        out_images = list(map(images.__getitem__, moved))
    else:
        out_keys, out_images, moved = _sequence_cards(cards, present, cardSequence)
    stay = [True] * len(keys)
    for pos in moved:
        stay[pos] = False
    history, comments = [], []
    if not present.isdisjoint(_NOT_REAL):
        for pos, keyword in enumerate(keys):
            if keyword in _NOT_REAL:
                if keyword == "HISTORY":
                    history.append(pos)
                elif keyword == "COMMENT":
                    comments.append(pos)
                elif not images[pos][8:80].isspace():
                    continue  # a separator card stays in place
                stay[pos] = False
    out_keys += compress(keys, stay)
    out_images += compress(images, stay)
    for keyword, block, keep in (("HISTORY", history, historyFilter),
                                 ("COMMENT", comments, commentFilter)):
        block = _commentary(cards, block, keep)
        if block:
            out_keys.append("")
            out_images.append(_BLANK)
            out_keys += [keyword] * len(block)
            out_images += map(images.__getitem__, block)
    return CardList.from_lists(out_keys, out_images)


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


def _sequence_cards(cards, present, card_sequence):
    """Keywords and images of the structural cards followed by the
    ``card_sequence`` items, and the positions of the header's cards they
    use up or replace."""
    keys, images = cards.keys, cards.images
    first = {}
    moved = set()
    out_keys, out_images = [], []
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
            out_keys.append(item.keyword)
            out_images.append(image)
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
        out_keys.append(keys[pos])
        out_images.append(images[pos])
    return out_keys, out_images, list(moved)


#: DaCHS spelling.
sortHeaders = sort_headers
