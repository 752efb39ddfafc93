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

__all__ = ["sort_headers", "sortHeaders", "structural_sequence"]

_NAXISN = re.compile(r"NAXIS([1-9][0-9]{0,2})")

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
    axes = sorted((int(m.group(1)), kw) for kw in keywords
                  for m in [_NAXISN.fullmatch(kw)] if m)
    primary = "XTENSION" not in keywords or "SIMPLE" in keywords
    head = ["SIMPLE" if primary else "XTENSION", "BITPIX", "NAXIS"]
    tail = _PRIMARY_TAIL if primary else _EXTENSION_TAIL
    return ([(kw, True) for kw in head] + [(kw, False) for _, kw in axes]
            + [(kw, False) for kw in tail])


def _is_card(item):
    return hasattr(item, "keyword")


def _blank_text(card):
    return str(card.value or "").strip()


def _order(real, card_sequence):
    """Sequenced cards first (each keyword once), then the rest in order."""
    sequence = structural_sequence(card.keyword for card in real)
    for item in card_sequence or ():
        if _is_card(item):
            sequence.append(item)
        elif isinstance(item, str):
            sequence.append((item, False))
        else:
            sequence.append((item[0], bool(item[1])))
    first = {}
    for index, card in enumerate(real):
        if card.keyword:
            first.setdefault(card.keyword, index)
    taken = set()
    head = []
    for item in sequence:
        if _is_card(item):
            # A card given in the sequence replaces the header's cards of the
            # same keyword (or, for a separator, the same text), so a second
            # pass does not add it again.
            if item.keyword:
                taken.update(i for i, c in enumerate(real)
                             if c.keyword == item.keyword)
            else:
                taken.update(i for i, c in enumerate(real) if not c.keyword
                             and _blank_text(c) == _blank_text(item))
            head.append(item)
            continue
        keyword, mandatory = item
        index = first.get(keyword)
        if index is None or index in taken:
            if mandatory and index is None:
                raise FitsFormatError(f"mandatory card {keyword!r} missing")
            continue
        taken.add(index)
        head.append(real[index])
    return head + [card for i, card in enumerate(real) if i not in taken]


def _commentary(cards, keep):
    """The cards whose text passes ``keep``, each text once."""
    seen = set()
    result = []
    for card in cards:
        text = str(card.value)
        if text in seen or (keep is not None and not keep(text)):
            continue
        seen.add(text)
        result.append(card)
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
    from fitsmill.header import Card, Header

    real, history, comments = [], [], []
    for card in getattr(header, "cards", header):
        if card.keyword == "HISTORY":
            history.append(card)
        elif card.keyword == "COMMENT":
            comments.append(card)
        elif card.keyword or _blank_text(card):
            real.append(card)
    result = _order(real, cardSequence)
    for block in (_commentary(history, historyFilter),
                  _commentary(comments, commentFilter)):
        if block:
            result.append(Card())
            result.extend(block)
    return Header(result)


#: DaCHS spelling.
sortHeaders = sort_headers
