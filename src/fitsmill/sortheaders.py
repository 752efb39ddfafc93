"""sort_headers: put a header's cards into a FITS-valid, tidy order.

DaCHS's ``fitstools.sortHeaders`` with its flaws fixed: running it twice
gives the same header (DaCHS adds blank cards on every pass), extension
headers (XTENSION first) and any number of axes are supported, a keyword
that appears twice keeps both cards, and the blank card before the HISTORY
and COMMENT blocks appears only when the block has a card left after
filtering.
"""

import re

from fitsmill.errors import FitsFormatError

__all__ = ["sort_headers", "sortHeaders", "structural_sequence", "CardList",
           "header_from_images"]

_NAXISN = re.compile(r"NAXIS([1-9][0-9]{0,2})")

_BLANK = " " * 80
_END = "END".ljust(80)

# What follows the axis lengths, in the order FITS wants it.
_PRIMARY_TAIL = ("EXTEND", "BZERO", "BSCALE")
_EXTENSION_TAIL = ("PCOUNT", "GCOUNT", "TFIELDS", "BZERO", "BSCALE")


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
    keywords = list(keywords)
    axes = sorted((int(kw[5:]), kw) for kw in keywords
                  if kw.startswith("NAXIS") and _NAXISN.fullmatch(kw))
    primary = "XTENSION" not in keywords or "SIMPLE" in keywords
    head = ["SIMPLE" if primary else "XTENSION", "BITPIX", "NAXIS"]
    tail = _PRIMARY_TAIL if primary else _EXTENSION_TAIL
    return ([(kw, True) for kw in head] + [(kw, False) for _, kw in axes]
            + [(kw, False) for kw in tail])


def _is_card(item):
    return hasattr(item, "keyword")


def _text(image):
    """The text of a blank-keyword card (columns 9-80)."""
    return image[8:80].strip()


class CardList:
    """A header as parallel lists of keywords, card images and cards.

    Keywords come from the Header's scan (no card is parsed); the images are
    moved as they are, so untouched cards keep their bytes.

    Parameters
    ----------
    header : Header or iterable of cards
        fitsmill's Header (fast path), astropy's, or card objects.

    Attributes
    ----------
    keys, images : list of str
    """

    def __init__(self, header):
        from fitsmill.header import Header

        self._header = header
        if isinstance(header, Header):
            self.keys = header.keys()
            # Images straight from the Header: no Card object per card.
            self.images = header._images()
        else:
            cards = list(getattr(header, "cards", header))
            self.keys = [card.keyword for card in cards]
            self.images = [_card_image(card) for card in cards]
            self._cards = cards

    def card(self, pos):
        """The card at ``pos`` (parsed on demand)."""
        cards = getattr(self, "_cards", None)
        return cards[pos] if cards is not None else self._header[pos:pos + 1].cards[0]


def _order(keys, images, card_sequence):
    """Positions (or card images given in the sequence) in sorted order."""
    sequence = structural_sequence(keys)
    for item in card_sequence or ():
        if _is_card(item):
            sequence.append(item)
        elif isinstance(item, str):
            sequence.append((item, False))
        else:
            sequence.append((item[0], bool(item[1])))
    first = {}
    for index, keyword in enumerate(keys):
        if keyword:
            first.setdefault(keyword, index)
    taken = set()
    head = []
    for item in sequence:
        if _is_card(item):
            # A card given in the sequence replaces the header's cards of the
            # same keyword (or, for a separator, the same text), so a second
            # pass does not add it again.
            image = _card_image(item)
            if item.keyword:
                taken.update(i for i, kw in enumerate(keys) if kw == item.keyword)
            else:
                taken.update(i for i, kw in enumerate(keys) if not kw
                             and _text(images[i]) == _text(image))
            head.append(image)
            continue
        keyword, mandatory = item
        index = first.get(keyword)
        if index is None or index in taken:
            if mandatory and index is None:
                raise FitsFormatError(f"mandatory card {keyword!r} missing")
            continue
        taken.add(index)
        head.append(index)
    return head + [i for i in range(len(keys)) if i not in taken]


def _card_image(card):
    """The image of a card object of any card class."""
    image = getattr(card, "image", None)
    if isinstance(image, str):
        return image
    from fitsmill.header import Card
    return Card(card.keyword, card.value, card.comment).image


def header_from_images(images):
    """A Header made from card images (80 characters or CONTINUE groups)."""
    from fitsmill.header import Header

    return Header.fromstring("".join(images) + _END)


def _commentary(cards, positions, keep):
    """The positions whose card text passes ``keep``, each text once."""
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
        keyword or separator text.

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
    cards = CardList(header)
    real, history, comments = [], [], []
    for pos, keyword in enumerate(cards.keys):
        if keyword == "HISTORY":
            history.append(pos)
        elif keyword == "COMMENT":
            comments.append(pos)
        elif keyword or _text(cards.images[pos]):
            real.append(pos)
    real_keys = [cards.keys[pos] for pos in real]
    real_images = [cards.images[pos] for pos in real]
    out = [item if isinstance(item, str) else real_images[item]
           for item in _order(real_keys, real_images, cardSequence)]
    for block in (_commentary(cards, history, historyFilter),
                  _commentary(cards, comments, commentFilter)):
        if block:
            out.append(_BLANK)
            out.extend(cards.images[pos] for pos in block)
    return header_from_images(out)


#: DaCHS spelling.
sortHeaders = sort_headers
