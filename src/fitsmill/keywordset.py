"""Setting keyword values in many files: a header edit with a byte-level
fast path.

:class:`KeywordSet` is an edit for :func:`fitsmill.fitsfile.update_header`
and :func:`~fitsmill.fitsfile.update_headers` that does what
``header[key] = value`` (or ``= (value, comment)``) does for each of its
keywords, in order.  For the usual case (an ordinary primary header of up
to four blocks, plain keywords, no checksum cards) the writer asks
:meth:`KeywordSet.splice` for the new header bytes instead: the cards are
found and replaced in the raw block, so no
:class:`~fitsmill.header.Header` is built.  The result is byte for byte
what the general path writes (tests compare the two); when anything is
unusual, ``splice`` declines and the general path decides, errors
included.
"""

import re

from fitsmill.card import Card
from fitsmill.cardvalue import (
    COMMENTARY, KIND_VALUE, BadValue, check_text, coerce_value, format_plain_card,
    is_standard_keyword, normalize_keyword, parse_card)

__all__ = ["KeywordSet"]

_CARD = 80
_BLOCK = 2880
_BLANK = b" " * _CARD
_BLANK_FIELD = b" " * 8
_END = b"END" + b" " * (_CARD - 3)
_PLAIN = (bool, int, float, complex, str, type(None))

# Keywords that the byte-level path leaves to the general one: those that
# fix or describe the data layout (the general path checks them), those the
# checksum policy rewrites, and the ones with their own card syntax.
_GENERAL_ONLY = re.compile(
    r"SIMPLE|XTENSION|BITPIX|NAXIS\d*|PCOUNT|GCOUNT|GROUPS|EXTEND|END|CONTINUE"
    r"|CHECKSUM|DATASUM|THEAP|TFIELDS|T[A-Z]+\d+|Z[A-Z0-9_-]*|HIERARCH")
_COMMENTARY_FIELDS = frozenset(k.ljust(8).encode() for k in COMMENTARY)
_CACHE_MAX = 1024


class _Item:
    """One keyword to set: its card images, worked out once."""

    __slots__ = ("key", "field", "value", "comment", "new_image", "formatted",
                 "replaced")

    def __init__(self, key, value, comment):
        self.key = key
        self.field = key.ljust(8).encode("ascii")
        self.value = value
        self.comment = comment
        # The card appended where the keyword is missing, as the header's
        # append would make it.
        self.new_image = Card(key, value, comment).image.encode("ascii")
        # Bulk jobs meet the same old cards (a wrong value fixed everywhere)
        # and the same comments again and again: both answers are kept.
        self.replaced = {}    # old card image -> answer of replace()
        self.formatted = {}   # comment -> replacement card image

    def replace(self, old):
        """The image replacing card ``old`` (bytes), None to keep it, or
        False when the general path must decide."""
        answer = self.replaced.get(old, False)
        if answer is False:
            answer = self._replace(old)
            _remember(self.replaced, old, answer)
        return answer

    def _replace(self, old):
        kind, key, value, comment = parse_card(old.decode("ascii"))
        if kind != KIND_VALUE or key != self.key or isinstance(value, BadValue):
            return False
        new_comment = comment if self.comment is None else self.comment
        if type(value) is type(self.value) and value == self.value \
                and new_comment == comment:
            return None
        image = self.formatted.get(new_comment)
        if image is None:
            try:
                image = format_plain_card(self.key, self.value, new_comment).encode("ascii")
            except ValueError:
                return False   # e.g. a comment that does not fit: the error comes from there
            _remember(self.formatted, new_comment, image)
        return image


def _remember(cache, key, answer):
    """cache[key] = answer, the cache bounded by clearing it when full."""
    if len(cache) >= _CACHE_MAX:
        cache.clear()
    cache[key] = answer


class KeywordSet:
    """Set several keywords, like ``header[key] = value`` for each.

    An edit for :func:`fitsmill.fitsfile.update_header` and
    :func:`fitsmill.fitsfile.update_headers` (it is callable with a header,
    which it changes and returns); the writers use its byte-level fast path
    where it applies (see the module documentation).

    Parameters
    ----------
    values : mapping or iterable of pairs
        Keyword to value, or to ``(value, comment)``.  A bare value keeps
        the comment of an existing card; a new card gets no comment.

    Raises
    ------
    ValueError
        For a keyword or text that cannot go into a card, or a keyword
        given twice.

    Examples
    --------
    >>> edit = KeywordSet({"OBSERVER": "Hubble", "EXPTIME": (1.5, "[s]")})
    >>> update_headers((path, edit) for path in paths)  # doctest: +SKIP
    """

    def __init__(self, values):
        pairs = values.items() if hasattr(values, "items") else values
        self._assignments = []
        items = []
        seen = set()
        for keyword, given in pairs:
            value, comment = given if isinstance(given, tuple) else (given, None)
            key = normalize_keyword(keyword)
            if key in seen:
                raise ValueError(f"keyword {keyword!r} given twice")
            seen.add(key)
            value = coerce_value(value)
            if comment is not None:
                comment = str(comment)
                check_text(comment, "comment")
            self._assignments.append((keyword, given))
            items.append((key, value, comment))
        # The byte-level path covers plain keywords with plain values.
        self._items = None
        if all(is_standard_keyword(key) and key not in COMMENTARY
               and not _GENERAL_ONLY.fullmatch(key) and type(value) in _PLAIN
               for key, value, _ in items):
            self._items = [_Item(*item) for item in items]
            self._plans = {}      # keyword fields -> _plan()

    def __call__(self, header):
        """Set the keywords in ``header`` (changed in place and returned)."""
        for keyword, given in self._assignments:
            header[keyword] = given
        return header

    def __repr__(self):
        return f"KeywordSet({dict(self._assignments)!r})"

    def splice(self, block, names):
        """The edited header, from the bytes of the header.

        Parameters
        ----------
        block : bytes
            The header's blocks: cards, END, padding; checked printable up
            to END.
        names : bytes
            The keyword fields of the cards before END, 8 bytes each
            (:func:`fitsmill._cards.check_header`).

        Returns
        -------
        bytes or None
            The new header, as many bytes as ``block``, laid out as the
            general writer lays it out (trailing blank cards dropped, END
            after the last card, or in the last card when fewer blocks would
            do); None when the general path must do the edit.
        """
        if self._items is None:
            return None
        while names.endswith(_BLANK_FIELD) and \
                block[len(names) * 10 - _CARD:len(names) * 10] == _BLANK:
            names = names[:-8]
        plan = self._plans.get(names, False)
        if plan is False:
            plan = self._plan(names)
            _remember(self._plans, names, plan)
        if plan is None:
            return None
        pieces = []
        done = 0
        for pos, item in plan:
            if type(item) is bytes:     # the new cards
                pieces += (block[done:pos], item)
                done = pos
                continue
            if not block.startswith(b"= ", pos + 8):
                return None
            image = item.replace(block[pos:pos + _CARD])
            if image is False:
                return None
            if image is not None:
                pieces += (block[done:pos], image)
                done = pos + _CARD
        pieces.append(block[done:len(names) * 10])   # 80 bytes of card per 8 of keyword
        cards = b"".join(pieces)
        size = len(block)
        if len(cards) + _CARD > size:
            return None      # needs another block: the general path grows it
        if len(cards) + _CARD <= size - _BLOCK:
            # fewer blocks would do: blank cards keep the data where they are
            return cards + b" " * (size - len(cards) - _CARD) + _END
        return (cards + _END).ljust(size, b" ")

    def _plan(self, names):
        """Where this edit touches a header with these keyword fields:
        (byte offset, _Item) in file order, and (byte offset, card images)
        where new cards go; None when the general path must do the edit.
        Archives repeat a few keyword sequences, so plans are kept per
        sequence."""
        # Declined: checksum cards (their policy is the general path's), and
        # keywords the header's lookup would match in other spellings (it
        # folds case and sees HIERARCH names).
        if b"CHECKSUM" in names or b"DATASUM" in names or b"HIERARCH" in names \
                or names.upper() != names:
            return None
        plan = []
        appended = []
        for item in self._items:
            i = names.find(item.field)
            while i > 0 and i % 8:
                i = names.find(item.field, i + 1)
            if i < 0:
                appended.append(item.new_image)
            elif names[i + 8:i + 16] == b"CONTINUE":
                return None
            else:
                plan.append((i * 10, item))
        if appended:
            plan.append((_append_offset(names), b"".join(appended)))
        plan.sort(key=lambda step: step[0])
        return tuple(plan)


def _append_offset(names):
    """Where appended cards go: after the last card that is not commentary
    (COMMENT, HISTORY, blank keyword)."""
    n = len(names)
    while n > 0 and names[n - 8:n] in _COMMENTARY_FIELDS:
        n -= 8
    return n * 10
