"""FITS headers: fast, byte-preserving, with the astropy.io.fits.Header API.

A :class:`Header` keeps every card's original image.  Cards are parsed only
when they are looked at, and only cards that are edited are formatted again,
so an untouched header serialises to exactly the bytes it was read from.
Setting an existing keyword replaces its card where it stands and keeps its
comment unless a new one is given; a card that breaks the FITS rules is kept
verbatim and reported by :meth:`Header.verify`, never "fixed".

Reading stops at the first 80-byte-aligned card whose keyword field is
``END``.  An END card with non-blank columns 9-80 still ends the header (a
reader cannot tell junk from a damaged blank); it is written back as it
was and reported by :meth:`Header.verify`.  Bytes after the END card
(block padding, data) are not looked at.  Every byte up to and including
the END card must be printable ASCII, or reading fails with a
:class:`~fitsmill.errors.FitsFormatError` giving the byte offset.

Differences from astropy, all deliberate: record-valued keyword cards
(``DP1 = 'AXIS.1: 1'``) are read as plain strings; an undefined value reads
as ``None``; setting a value equal to the current one (same type) keeps the
card image as it is; a comment that does not fit a non-string card raises
instead of being truncated; reading the value of an unparsable card raises
:class:`~fitsmill.errors.FitsFormatError`.
"""

import os
import re
from collections.abc import Sequence
from itertools import takewhile

from fitsmill import _cards
from fitsmill.card import Card, as_card
from fitsmill.cardvalue import (
    CARD, COMMENTARY, KIND_HIERARCH, check_text, coerce_value, format_plain_card,
    is_standard_keyword, normalize_keyword)
from fitsmill.errors import FitsFormatError

__all__ = ["Card", "Header", "as_header", "BLOCK"]

BLOCK = 2880
_END = "END" + " " * 77


# Lookup forms of the keywords callers spell, so that repeated lookups of
# the same names skip normalize_keyword; bounded, so that a stream of
# distinct names cannot grow it without limit.
_LOOKUP = {}


def _lookup(keyword):
    """normalize_keyword(keyword), remembered."""
    name = _LOOKUP.get(keyword)
    if name is None:
        name = normalize_keyword(keyword)
        if len(_LOOKUP) < 4096:
            _LOOKUP[keyword] = name
            if name == keyword and is_standard_keyword(name):
                _SPELT_STANDARD.add(keyword)
    return name


# The keywords of _LOOKUP that are standard value keywords spelt in their
# lookup form: h[key] = value takes its shortest path for them.
_SPELT_STANDARD = set()


# Value types that coerce_value leaves as they are (subclasses such as
# IntEnum take the general path of Card()).
_PLAIN = frozenset((bool, int, float, complex, str, type(None)))
_TEXT_OR_NONE = frozenset((str, type(None)))


def _wildcard(key):
    """The regex of an astropy keyword pattern, or None for a plain keyword:
    ``*`` any characters, ``?`` one, ``...`` any non-blank ones (the same
    replacements, in the same order, as astropy)."""
    if "*" not in key and "?" not in key and "..." not in key:
        return None
    text = key.replace("*", ".*").replace("?", ".").replace("...", r"\S*")
    return re.compile(text + "$", re.IGNORECASE)


def _run_length(predicate, items):
    """How many items from the start pass ``predicate`` (counted in C)."""
    return len(list(takewhile(predicate, items)))


def _split_value(value):
    """(value, comment) from what was assigned to ``h[key]``."""
    if isinstance(value, tuple):
        if len(value) == 1:
            return value[0], None
        if len(value) == 2:
            return value[0], "" if value[1] is None else value[1]
        raise ValueError("a header item is set to a value, a (value,) or a "
                         "(value, comment) tuple")
    return value, None


def _same_value(old, new):
    return type(old) is type(new) and old == new


class _Comments:
    """``header.comments[key]``: read and set the comments of cards."""

    __slots__ = ("_header",)

    def __init__(self, header):
        self._header = header

    def __getitem__(self, key):
        header = self._header
        return header._card(header._position(key)).comment

    def __setitem__(self, key, comment):
        header = self._header
        pos = header._position(key)
        header._replace(pos, header._card(pos).value, comment)

    def __repr__(self):
        header = self._header
        return "\n".join(f"{header._card(i).keyword:8} {header._card(i).comment}"
                         for i in range(len(header)))


class _CardList(Sequence):
    """``header.cards``: a live sequence of the header's cards, indexed by
    position, or like the header by keyword or (keyword, n)."""

    __slots__ = ("_header",)

    def __init__(self, header):
        self._header = header

    def __len__(self):
        return len(self._header)

    def __getitem__(self, key):
        header = self._header
        if isinstance(key, slice):
            return [header._card(pos) for pos in range(*key.indices(len(header)))]
        return header._card(header._position(key))

    def __repr__(self):
        return repr(list(self))


class Header:
    """A FITS header: an ordered list of cards with keyword lookup.

    Parameters
    ----------
    cards : iterable or mapping, optional
        :class:`Card` objects or ``(keyword, value[, comment])`` tuples, a
        mapping of keyword to value or ``(value, comment)``, or another
        :class:`Header` or an astropy Header to copy.

    Notes
    -----
    Keyword lookups are case-insensitive and accept ``HIERARCH name`` or just
    ``name`` for HIERARCH cards; ``h[(key, n)]`` is the n-th card of a
    repeated keyword and ``h[i]`` the i-th card.  Commentary keywords
    (COMMENT, HISTORY, blank) read as the list of their texts.  As in
    astropy, a keyword pattern (``*`` any characters, ``?`` one, ``...``
    any non-blank ones) reads as a new Header of the matching cards, and
    ``del h["DATE*"]`` deletes them all.
    """

    def __init__(self, cards=()):
        self._image_list = []  # the image of each card (str)
        self._cards = []     # its Card once parsed or made, else None
        self._keys = []      # lookup keyword of each card (see _first)
        self._mixed = False  # whether some reported keyword is not upper case
        self._index = None   # lookup keyword -> first position, or None
        self._probes = 0     # lookups since the index was dropped
        self._tail = None    # _append_position(True) while no card changes
        self._end = _END
        if isinstance(cards, Header):
            self._image_list = list(cards._image_list)
            self._cards = list(cards._cards)
            self._keys = list(cards._keys)
            self._mixed = cards._mixed
            self._tail = cards._tail
            self._end = cards._end
            return
        if _is_astropy_header(cards):
            other = Header.from_astropy(cards)
            self._image_list, self._cards = other._image_list, other._cards
            self._keys, self._mixed = other._keys, other._mixed
            return
        if isinstance(cards, (str, bytes, bytearray, memoryview)):
            raise TypeError("Header() takes cards; parse header text with "
                            "Header.fromstring")
        if hasattr(cards, "keys"):
            self.update(cards)
            return
        for card in cards:
            self.append(card, useblanks=False, end=True)

    # -- construction -----------------------------------------------------

    @classmethod
    def fromstring(cls, data, sep="", *, endcard=True, path=None, offset=0):
        """The header at the start of ``data``, up to its END card.

        Parameters
        ----------
        data : bytes-like or str
            80-byte cards; anything after the END card (block padding, data)
            is ignored.
        sep : str, optional
            Card separator, e.g. ``"\\n"`` for headers saved as text lines
            (each line is one card, shorter lines padded with blanks).
        endcard : bool, optional
            Whether an END card is required (otherwise all cards are read).
        path : str, optional
            File name for error messages.
        offset : int, optional
            Offset of ``data`` in that file, for error messages.

        Returns
        -------
        Header

        Raises
        ------
        FitsFormatError
            For bytes outside printable ASCII or a missing END card, with
            the offset of the problem.
        """
        if isinstance(data, str) and not data.isascii():
            pos = next(i for i, c in enumerate(data) if not c.isascii())
            head = data[:pos - pos % CARD]  # the whole cards before it
            if _cards.find_end(head.encode("ascii")) < 0:
                raise FitsFormatError(f"character {data[pos]!r} in the header is not ASCII",
                                      path=path, offset=offset + pos)
            data = head
        if sep:
            data = _join_lines(data, sep, path)
        if not endcard and _cards.find_end(_as_buffer(data)) < 0:
            data = data + (_END if isinstance(data, str) else _END.encode())
        images, keys, end, mixed = _cards.scan_header(data, path, offset)
        header = cls.__new__(cls)
        header._image_list = images
        header._cards = [None] * len(images)
        header._keys = keys
        header._mixed = mixed
        header._index = None
        header._probes = 0
        header._tail = None
        header._end = end
        return header

    @classmethod
    def _from_checked(cls, images, keywords, joined=None):
        """A Header of card images taken from fitsmill Headers (or made by
        fitsmill), so valid and not scanned again, with their keywords as
        :meth:`keys` reports them (both lists are copied); ``joined``: the
        keywords joined by any separator without letters, when the caller
        has them so."""
        header = cls.__new__(cls)
        header._image_list = list(images)
        header._cards = [None] * len(images)
        # Lookup keywords are the reported ones in upper case (one test of
        # all of them: ASCII upper-casing keeps lengths).
        if joined is None:
            joined = "\n".join(keywords)
        header._mixed = joined != joined.upper()
        header._keys = [name.upper() for name in keywords] if header._mixed \
            else list(keywords)
        header._index = None
        header._probes = 0
        header._tail = None
        header._end = _END
        return header

    @classmethod
    def fromfile(cls, fileobj, sep="", endcard=True, padding=True):
        """Read a header from a file, stopping after its END card.

        Parameters
        ----------
        fileobj : str, os.PathLike or binary file object
            Read from its current position.
        sep : str, optional
            Card separator of a text header (then the whole file is read).
        endcard : bool, optional
            Whether an END card is required.
        padding : bool, optional
            Ignored (kept for astropy compatibility): reading stops at END.

        Returns
        -------
        Header
        """
        if isinstance(fileobj, (str, os.PathLike)):
            with open(fileobj, "rb") as stream:
                return cls.fromfile(stream, sep, endcard, padding)
        path = getattr(fileobj, "name", None)
        path = path if isinstance(path, str) else None
        try:
            start = fileobj.tell()
        except (AttributeError, OSError):
            start = 0
        if sep:
            return cls.fromstring(fileobj.read(), sep, endcard=endcard, path=path,
                                  offset=start)
        chunks = []
        while True:
            block = fileobj.read(BLOCK)
            if isinstance(block, str):
                block = block.encode("latin-1")
            chunks.append(block)
            if not block or _cards.find_end(block) >= 0 or len(block) < BLOCK:
                break
        return cls.fromstring(b"".join(chunks), endcard=endcard, path=path,
                              offset=start)

    @classmethod
    def fromtextfile(cls, fileobj, endcard=False):
        """Read a header saved with :meth:`totextfile` (one card a line).

        Parameters
        ----------
        fileobj : str, os.PathLike or file object
        endcard : bool, optional
            Whether an END card is required.

        Returns
        -------
        Header
        """
        return cls.fromfile(fileobj, sep="\n", endcard=endcard)

    @classmethod
    def from_astropy(cls, header):
        """A lossless copy of an astropy.io.fits.Header.

        Parameters
        ----------
        header : astropy.io.fits.Header

        Returns
        -------
        Header
        """
        return cls.fromstring(header.tostring(padding=False))

    def to_astropy(self):
        """A lossless copy as an astropy.io.fits.Header.

        Returns
        -------
        astropy.io.fits.Header
        """
        from astropy.io import fits

        return fits.Header.fromstring(self.tostring(padding=False))

    # -- serialisation ----------------------------------------------------

    def tostring(self, sep="", endcard=True, padding=True):
        """The header as text.

        Parameters
        ----------
        sep : str, optional
            Put between cards (e.g. ``"\\n"``); the default gives FITS bytes.
        endcard : bool, optional
            End with the END card.
        padding : bool, optional
            Pad with blanks to a whole number of 2880-byte blocks (only
            without ``sep``).

        Returns
        -------
        str
        """
        images = self._image_list + [self._end] if endcard else self._image_list
        if sep:
            return sep.join(image[i:i + CARD] for image in images
                            for i in range(0, len(image), CARD))
        text = "".join(images)
        if padding and len(text) % BLOCK:
            text += " " * (BLOCK - len(text) % BLOCK)
        return text

    def card_images(self):
        """The image of every card, in order (CONTINUE groups as one).

        Returns
        -------
        list of str
        """
        return list(self._image_list)

    # sortheaders.py calls the old private name
    _images = card_images

    def tobytes(self, sep="", endcard=True, padding=True):
        """The header as ASCII bytes; see :meth:`tostring`.

        Returns
        -------
        bytes
        """
        return self.tostring(sep, endcard, padding).encode("ascii")

    @property
    def card_count(self):
        """Number of 80-byte cards, CONTINUE cards included, END excluded (int)."""
        return sum(map(len, self._image_list)) // CARD

    @property
    def block_count(self):
        """Number of 2880-byte blocks the serialised header takes (int)."""
        return self.card_count // (BLOCK // CARD) + 1

    @property
    def padded_size(self):
        """Size in bytes of :meth:`tobytes` with END and padding (int)."""
        return self.block_count * BLOCK

    def tofile(self, fileobj, sep="", endcard=True, padding=True, overwrite=False):
        """Write :meth:`tobytes` to a file.

        Parameters
        ----------
        fileobj : str, os.PathLike or binary file object
        sep, endcard, padding : see :meth:`tostring`
        overwrite : bool, optional
            Replace an existing file (otherwise it is an error).
        """
        data = self.tobytes(sep, endcard, padding)
        if isinstance(fileobj, (str, os.PathLike)):
            with open(fileobj, "wb" if overwrite else "xb") as stream:
                stream.write(data)
        else:
            fileobj.write(data)

    def totextfile(self, fileobj, endcard=False, overwrite=False):
        """Write the header as text, one card a line.

        Parameters
        ----------
        fileobj : str, os.PathLike or text file object
        endcard : bool, optional
            End with the END card.
        overwrite : bool, optional
            Replace an existing file (otherwise it is an error).
        """
        text = self.tostring(sep="\n", endcard=endcard, padding=False) + "\n"
        if isinstance(fileobj, (str, os.PathLike)):
            with open(fileobj, "w" if overwrite else "x", encoding="ascii") as stream:
                stream.write(text)
        else:
            fileobj.write(text)

    # -- internals ----------------------------------------------------------

    def _card(self, pos):
        card = self._cards[pos]
        if card is None:
            card = self._cards[pos] = Card._from_image(self._image_list[pos])
        return card

    def _first(self, key):
        """Position of the first card with this lookup keyword, or None.

        Building the dict index costs about as much as eight searches of
        the keyword list (a C loop that stops at the match), so the first
        lookups after cards moved search and later ones build the index.
        """
        index = self._index
        if index is None:
            self._probes += 1
            keys = self._keys
            if self._probes <= 8:
                # (a miss, the usual case when cards are added, costs one
                # scan; catching list.index's ValueError costs more)
                return keys.index(key) if key in keys else None
            index = self._index = dict(zip(reversed(keys), range(len(keys) - 1, -1, -1)))
        return index.get(key)

    def _positions(self, key):
        """Positions of the cards with this lookup keyword."""
        start = self._first(key)
        if start is None:
            return []
        keys = self._keys
        return [pos for pos in range(start, len(keys)) if keys[pos] == key]

    def _position(self, key):
        """The position of the card that ``key`` names."""
        if isinstance(key, int):
            if not -len(self._image_list) <= key < len(self._image_list):
                raise IndexError(f"card index {key} out of range")
            return key % len(self._image_list)
        if isinstance(key, tuple) and len(key) == 2:
            name, nth = key
            found = self._positions(normalize_keyword(name))
            if not isinstance(nth, int) or not -len(found) <= nth < len(found):
                raise KeyError(f"keyword {name!r} occurrence {nth} not found")
            return found[nth]
        if isinstance(key, str):
            pos = self._first(_lookup(key))
            if pos is None:
                raise KeyError(f"keyword {key!r} not found")
            return pos
        raise KeyError(f"a header key is a keyword, an index or a (keyword, n) "
                       f"tuple, not {key!r}")

    def _matching(self, pattern):
        """Positions of the cards whose keyword matches a compiled
        :func:`_wildcard` pattern."""
        return [pos for pos in range(len(self._image_list))
                if pattern.match(self._card(pos).keyword)]

    def _drop_index(self):
        self._index = None
        self._probes = 0

    def _insert(self, pos, card, key=None):
        """Insert ``card`` at ``pos``; ``key``: its lookup keyword when the
        caller knows it is upper case already (saves parsing the card)."""
        if key is None:
            name = card.keyword
            key = name.upper()
            self._mixed = self._mixed or key != name
        self._tail = None
        self._image_list.insert(pos, card.image)
        self._cards.insert(pos, card)
        self._keys.insert(pos, key)
        if pos == len(self._image_list) - 1 and self._index is not None:
            self._index.setdefault(key, pos)
        else:
            self._drop_index()

    def _delete(self, pos):
        self._tail = None
        del self._image_list[pos]
        del self._cards[pos]
        del self._keys[pos]
        self._drop_index()

    def _replace(self, pos, value, comment=None):
        """Give the card at pos a new value (and comment), where it stands."""
        old = self._card(pos)
        kind, key, parsed, old_comment = old._parsed()
        if value.__class__ not in _PLAIN:
            value = coerce_value(value)
        if comment is None:
            comment = old_comment
        if _same_value(parsed, value) and comment == old_comment:
            return
        if (value.__class__ in _PLAIN and comment.__class__ is str
                and kind != KIND_HIERARCH and is_standard_keyword(key)):
            # what format_card does for this keyword and value, minus the
            # checks that cannot fail here
            if comment is not old_comment:
                check_text(comment, "comment")
            self._set(pos, Card._from_image(format_plain_card(key, value, comment)))
            return
        if key in COMMENTARY:
            self._set(pos, Card(key, value))
            return
        card = Card(old._keyword_for_format(), value, comment)
        self._set(pos, card)

    def _set(self, pos, card):
        self._tail = None  # (a blank card may have become text, or back)
        self._image_list[pos] = card.image
        self._cards[pos] = card

    def _commentary(self, key, text):
        """The cards holding commentary text, split at 72 characters."""
        text = "" if text is None else str(text)
        width = CARD - 8
        return [Card(key, text[i:i + width]) for i in range(0, len(text), width)] \
            or [Card(key, "")]

    def _trailing_blanks(self):
        # (images hold printable ASCII: blank means all spaces)
        return _run_length(str.isspace, reversed(self._image_list))

    def _use_blanks(self, count):
        """Drop up to ``count`` blank cards from the end (room taken by new
        cards, so the header keeps its size)."""
        for _ in range(min(count, self._trailing_blanks())):
            self._delete(len(self._image_list) - 1)

    # -- mapping API ----------------------------------------------------------

    def __len__(self):
        return len(self._image_list)

    def __iter__(self):
        return iter(self.keys())

    def __contains__(self, key):
        if not isinstance(key, str):
            return False
        name = key if key in _SPELT_STANDARD else _lookup(key)
        index = self._index
        if index is not None:
            return name in index
        return self._first(name) is not None

    def __getitem__(self, key):
        if isinstance(key, str) and key in _SPELT_STANDARD:
            # no pattern, no commentary: the usual lookup, shortest path
            pos = self._first(key)
            if pos is None:
                raise KeyError(f"keyword {key!r} not found")
            return self._card(pos).value
        if isinstance(key, slice):
            header = Header()
            header._image_list = self._image_list[key]
            header._cards = self._cards[key]
            header._keys = self._keys[key]
            header._mixed = self._mixed
            return header
        if isinstance(key, str):
            pattern = _wildcard(key)
            if pattern is not None:
                header = Header()
                for pos in self._matching(pattern):
                    header.append(self._card(pos), useblanks=False, end=True)
                return header
            name = _lookup(key)
            if name in COMMENTARY:
                found = self._positions(name)
                if not found:
                    raise KeyError(f"keyword {key!r} not found")
                return [self._card(pos).value for pos in found]
            pos = self._first(name)
            if pos is None:
                raise KeyError(f"keyword {key!r} not found")
            return self._card(pos).value
        return self._card(self._position(key)).value

    def __setitem__(self, key, value):
        if value.__class__ is tuple and len(value) == 2:
            # (value, comment), the usual tuple, without a call
            value, comment = value
            if comment is None:
                comment = ""
        elif isinstance(value, tuple):
            value, comment = _split_value(value)
        else:
            comment = None
        if isinstance(key, str):
            self._update(key, value, comment)
        else:
            self._replace(self._position(key), value, comment)

    def __delitem__(self, key):
        if isinstance(key, slice):
            for pos in sorted(range(*key.indices(len(self))), reverse=True):
                self._delete(pos)
            return
        if isinstance(key, str):
            pattern = _wildcard(key)
            found = self._positions(normalize_keyword(key)) if pattern is None \
                else self._matching(pattern)
            if not found and pattern is None:
                raise KeyError(f"keyword {key!r} not found")
            for pos in reversed(found):
                self._delete(pos)
            return
        self._delete(self._position(key))

    def _update(self, keyword, value, comment):
        if keyword in _SPELT_STANDARD:
            name = keyword  # neither commentary nor HIERARCH
        else:
            name = _lookup(keyword)
            if name in COMMENTARY:
                cards = self._commentary(name, value)
                found = self._positions(name)
                if found:
                    pos = found[-1] + 1
                    for card in reversed(cards):
                        self.insert(pos, card, useblanks=bool(name or value))
                else:
                    for card in cards:
                        self.append(card, bottom=True)
                return
        pos = self._first(name)
        if pos is not None:
            self._replace(pos, value, comment)
        elif (value.__class__ in _PLAIN and comment.__class__ in _TEXT_OR_NONE
              and (name is keyword or name == keyword.upper()
                   and is_standard_keyword(name))):
            self._add_plain(name, value, "" if comment is None else comment, keyword)
        else:
            self.append(Card(keyword, value, comment))

    def _add_plain(self, name, value, comment, keyword):
        """Append a card of a standard keyword (upper case, not in the
        header) with a value of a _PLAIN type: what Card() and append()
        make of it, minus the checks that cannot fail here."""
        if not (comment.isascii() and comment.isprintable()):
            check_text(comment, "comment")
        image = format_plain_card(name, value, comment, keyword)
        pos = self._append_position(True)
        images = self._image_list
        images.insert(pos, image)
        self._cards.insert(pos, None)  # parsed if looked at
        self._keys.insert(pos, name)
        self._index = None  # (what _drop_index does)
        self._probes = 0
        if images[-1].isspace():
            self._use_blanks(len(image) // CARD)
        # the next card added goes after this one (dropping trailing blank
        # cards above did not move it)
        self._tail = pos + 1

    def get(self, key, default=None):
        """The value of ``key``, or ``default`` when it is absent.

        Parameters
        ----------
        key : str, int or (str, int)
        default : object, optional

        Returns
        -------
        object
        """
        if key.__class__ is str:
            # the common case without raising and catching KeyError
            name = _lookup(key)
            if name not in COMMENTARY and _wildcard(key) is None:
                pos = self._first(name)
                return default if pos is None else self._card(pos).value
        try:
            return self[key]
        except (KeyError, IndexError):
            return default

    def set(self, keyword, value=None, comment=None, before=None, after=None):
        """Set a keyword's value and comment, adding the card if needed.

        An existing card is changed where it stands (its value and comment
        are kept when ``None`` is passed for them), unless ``before`` or
        ``after`` is given, which moves it.  A new card goes before/after the
        named card, or after the last non-commentary card.

        Parameters
        ----------
        keyword : str
        value : object, optional
        comment : str, optional
        before, after : str, int or (str, int), optional
            The card to put this one before or after.
        """
        name = _lookup(keyword)
        pos = self._first(name)
        if name not in COMMENTARY and pos is not None:
            if value is None:
                value = self._card(pos)._parsed()[2]
            self._replace(pos, value, comment)
            if before is not None or after is not None:
                card = self._card(pos)
                target = self._position(before if before is not None else after)
                if target == pos:
                    return
                self._delete(pos)
                self._insert_relative(card, before, after)
        elif before is not None or after is not None:
            if name in COMMENTARY:
                for card in reversed(self._commentary(name, value)):
                    self._insert_relative(card, before, after)
            else:
                self._insert_relative(Card(keyword, value, comment), before, after)
        else:
            self._update(keyword, value, "" if comment is None else comment)

    def _insert_relative(self, card, before, after):
        key = before if before is not None else after
        if isinstance(key, int) and key >= len(self._image_list):
            pos = len(self._image_list)
        else:
            pos = self._position(key) + (before is None)
        self.insert(pos, card)

    def update(self, *args, **kwargs):
        """Set keywords, in either of two forms.

        ``update(key, value, comment=None, before=None, after=None)`` is the
        old pyfits call (the same as :meth:`set`).  Otherwise, as for a dict:
        ``update(mapping_or_pairs, **keywords)``, where a pair's value may be
        a ``(value, comment)`` tuple, and items may also be Cards or
        ``(keyword, value, comment)`` tuples.
        """
        if args and isinstance(args[0], str):
            names = ("value", "comment", "before", "after")
            unknown = set(kwargs) - set(names) - {"savecomment"}
            if len(args) > 5 or unknown:
                raise TypeError(f"update(key, value, comment, before, after): "
                                f"unexpected {sorted(unknown) or args[5:]}")
            # pyfits' savecomment is what set() always does: a comment is
            # only replaced by a new one
            kwargs.pop("savecomment", None)
            options = dict(zip(names, args[1:]), **kwargs)
            self.set(args[0], **options)
            return
        if len(args) > 1:
            raise TypeError("update expected at most one positional argument")
        items = args[0] if args else ()
        if isinstance(items, Header) or _is_astropy_header(items):
            items = Header(items).cards
        elif hasattr(items, "keys"):
            items = [(key, items[key]) for key in items.keys()]
        for item in list(items) + list(kwargs.items()):
            if isinstance(item, Card):
                self[item.keyword] = (item.value, item.comment)
            elif len(item) == 3:
                self[item[0]] = (item[1], item[2])
            else:
                self[item[0]] = item[1]

    def setdefault(self, key, default=None):
        """The value of ``key``; if absent, set it to ``default`` first.

        Returns
        -------
        object
        """
        try:
            return self[key]
        except KeyError:
            self[key] = default
            return default

    def has_key(self, key):
        """Whether the header has ``key`` (the old pyfits spelling of ``in``).

        Returns
        -------
        bool
        """
        return key in self

    def keys(self):
        """Keywords of all cards, in order (repeats included).

        Returns
        -------
        list of str
        """
        if self._mixed:
            return [self._card(pos).keyword for pos in range(len(self._image_list))]
        return list(self._keys)

    def values(self):
        """Values of all cards, in order.

        Returns
        -------
        list
        """
        return [self._card(pos).value for pos in range(len(self._image_list))]

    def items(self):
        """(keyword, value) of all cards, in order.

        Returns
        -------
        list of tuple
        """
        return list(zip(self.keys(), self.values()))

    @property
    def cards(self):
        """The cards, in order: a live sequence of :class:`Card`, also
        indexed by keyword (``h.cards["OBJECT"].comment``)."""
        return _CardList(self)

    @property
    def comments(self):
        """Accessor of comments: ``h.comments[key]`` gets or sets one."""
        return _Comments(self)

    # -- list API -------------------------------------------------------------

    def append(self, card=None, useblanks=True, bottom=False, end=False):
        """Add a card near the end of the header.

        A non-commentary card goes after the last non-commentary card (so
        it stays above trailing COMMENT/HISTORY blocks); with ``bottom`` it
        goes after the last non-blank card, with ``end`` at the very end.

        Parameters
        ----------
        card : Card, str or tuple, optional
            A blank card if omitted.
        useblanks : bool, optional
            Let the new card take the place of trailing blank cards.
        bottom, end : bool, optional
        """
        card = Card() if card is None else as_card(card)
        if card.is_blank:
            end = True
        if end:
            self._insert(len(self._image_list), card)
            return
        self._append_at(self._append_position(not bottom and card.keyword not in COMMENTARY),
                        card, None, useblanks)

    def _append_position(self, above_commentary):
        """Where append puts a card: after the last non-blank card, and with
        ``above_commentary`` also before the trailing commentary cards (that
        position is kept until a card changes: a header's trailing HISTORY
        block may be long, and cards are often added one after another)."""
        if above_commentary and self._tail is not None:
            return self._tail
        images = self._image_list
        pos = len(images)
        # (each run is counted only when the card before it belongs to it)
        if pos and images[-1].isspace():
            pos -= self._trailing_blanks()
        keys = self._keys
        if above_commentary:
            if pos and keys[pos - 1] in COMMENTARY:
                # (a few cards are stepped over here, a long block is
                # counted in C)
                run = 1
                while run < pos and keys[pos - 1 - run] in COMMENTARY:
                    run += 1
                    if run == 4:
                        run = _run_length(COMMENTARY.__contains__, reversed(keys[:pos]))
                        break
                pos -= run
            self._tail = pos
        return pos

    def _append_at(self, pos, card, key, useblanks):
        self._insert(pos, card, key)
        if useblanks:
            self._use_blanks(len(card.image) // CARD)

    def extend(self, cards):
        """Append several cards (see :meth:`append`).

        Parameters
        ----------
        cards : iterable of Card or tuple, or a Header
        """
        if isinstance(cards, Header):
            cards = cards.cards
        for card in cards:
            self.append(card)

    def insert(self, key, card, useblanks=True, after=False):
        """Insert a card before (or after) the card that ``key`` names.

        Parameters
        ----------
        key : int, str or (str, int)
        card : Card, str or tuple
        useblanks : bool, optional
            Let the new card take the place of trailing blank cards.
        after : bool, optional
        """
        card = as_card(card)
        if isinstance(key, int):
            pos = key + len(self._image_list) if key < 0 else key
            pos = max(0, min(pos + bool(after), len(self._image_list)))
        else:
            pos = self._position(key) + bool(after)
        if pos >= len(self._image_list):
            self._insert(len(self._image_list), card)
            return
        self._insert(pos, card)
        if useblanks:
            self._use_blanks(len(card.image) // CARD)

    def remove(self, keyword, ignore_missing=False, remove_all=False):
        """Remove the first (or every) card with this keyword.

        Parameters
        ----------
        keyword : str
        ignore_missing : bool, optional
            Do nothing if absent (otherwise KeyError).
        remove_all : bool, optional
        """
        found = self._positions(normalize_keyword(keyword))
        if not found:
            if ignore_missing:
                return
            raise KeyError(f"keyword {keyword!r} not found")
        for pos in (reversed(found) if remove_all else found[:1]):
            self._delete(pos)

    def pop(self, *args):
        """Remove a card and return its value (the last card by default).

        Parameters
        ----------
        key : str, int or (str, int), optional
        default : object, optional
            Returned when ``key`` is absent.

        Returns
        -------
        object
        """
        if len(args) > 2:
            raise TypeError("pop expected at most 2 arguments")
        key = args[0] if args else -1
        try:
            pos = self._position(key)
        except (KeyError, IndexError):
            if len(args) == 2:
                return args[1]
            raise
        value = self._card(pos).value
        self._delete(pos)
        return value

    def count(self, keyword):
        """Number of cards with this keyword.

        Returns
        -------
        int
        """
        return len(self._positions(normalize_keyword(keyword)))

    def index(self, keyword, start=None, stop=None):
        """Position of the first card with this keyword in [start, stop).

        Returns
        -------
        int
        """
        lo, hi, _ = slice(start, stop).indices(len(self._image_list))
        for pos in self._positions(normalize_keyword(keyword)):
            if lo <= pos < hi:
                return pos
        raise ValueError(f"keyword {keyword!r} is not in the header")

    def rename_keyword(self, oldkeyword, newkeyword, force=False):
        """Give a card a new keyword, keeping its value and comment.

        Parameters
        ----------
        oldkeyword, newkeyword : str
        force : bool, optional
            Allow a duplicate of an existing keyword.
        """
        new = normalize_keyword(newkeyword)
        if new in COMMENTARY or normalize_keyword(oldkeyword) in COMMENTARY:
            raise ValueError("commentary keywords cannot be renamed")
        if new in self and not force:
            raise ValueError(f"keyword {newkeyword!r} already exists; use force=True")
        pos = self._position(oldkeyword)
        old = self._card(pos)
        self._delete(pos)
        self._insert(pos, Card(newkeyword, old.value, old.comment))

    def add_history(self, value, before=None, after=None):
        """Add HISTORY cards (long text is split at 72 characters).

        Parameters
        ----------
        value : str
        before, after : str, int or (str, int), optional
            Where to put them; by default after the last HISTORY card.
        """
        self.set("HISTORY", value, before=before, after=after)

    def add_comment(self, value, before=None, after=None):
        """Add COMMENT cards (long text is split at 72 characters).

        Parameters
        ----------
        value : str
        before, after : str, int or (str, int), optional
            Where to put them; by default after the last COMMENT card.
        """
        self.set("COMMENT", value, before=before, after=after)

    def add_blank(self, value="", before=None, after=None):
        """Add a card with a blank keyword (a separator, or text).

        Parameters
        ----------
        value : str, optional
        before, after : str, int or (str, int), optional
        """
        self.set("", value, before=before, after=after)

    def copy(self, strip=False):
        """A copy (cards are immutable, so it is cheap).

        Parameters
        ----------
        strip : bool, optional
            Drop the keywords that describe the data layout (see
            :meth:`strip`).

        Returns
        -------
        Header
        """
        header = Header(self)
        if strip:
            header.strip()
        return header

    __copy__ = copy

    def __deepcopy__(self, memo):
        return self.copy()

    def strip(self):
        """Remove the keywords that describe an HDU's data layout: SIMPLE,
        XTENSION, BITPIX, NAXIS*, EXTEND, PCOUNT, GCOUNT, GROUPS and the
        checksums."""
        drop = {"SIMPLE", "XTENSION", "BITPIX", "NAXIS", "EXTEND", "PCOUNT",
                "GCOUNT", "GROUPS", "CHECKSUM", "DATASUM"}
        for pos in range(len(self._image_list) - 1, -1, -1):
            name = self._keys[pos]
            if name in drop or (name.startswith("NAXIS") and name[5:].isdigit()):
                self._delete(pos)

    def clear(self):
        """Remove all cards."""
        self._image_list, self._cards, self._keys, self._mixed = [], [], [], False
        self._tail = None
        self._drop_index()

    # -- checks and display -------------------------------------------------

    def verify(self):
        """Ways in which the header breaks the FITS rules.

        Nothing is changed; problem cards stay as they are.

        Returns
        -------
        list of str
            One line per problem, naming the card (1-based position).
        """
        problems = []
        for pos in range(len(self._image_list)):
            for problem in self._card(pos).verify():
                problems.append(f"card {pos + 1}: {problem}")
        if self._end != _END:
            problems.append("END card: columns 9-80 are not blank")
        seen = {}
        for name in self._keys:
            if name not in COMMENTARY:
                seen[name] = seen.get(name, 0) + 1
        problems += [f"keyword {name!r} appears {count} times"
                     for name, count in seen.items() if count > 1]
        return problems

    def __eq__(self, other):
        if isinstance(other, Header):
            return self.tostring() == other.tostring()
        if _is_astropy_header(other):
            return self.tostring() == other.tostring()
        return NotImplemented

    def __repr__(self):
        return self.tostring(sep="\n", endcard=False, padding=False)

    __str__ = tostring


def _is_astropy_header(obj):
    """Whether obj is an astropy Header (or subclass), without importing
    astropy."""
    return any(cls.__name__ == "Header" and cls.__module__.startswith("astropy.")
               for cls in type(obj).__mro__)


def _as_buffer(data):
    return data.encode("ascii") if isinstance(data, str) else data


def _join_lines(data, sep, path):
    """Fixed 80-character cards from a header saved one card a line."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data).decode("latin-1")
    cards = []
    for number, line in enumerate(data.split(sep), 1):
        line = line.rstrip("\r\n")
        if len(line) > CARD:
            raise FitsFormatError(f"line {number} of the text header is longer "
                                  "than 80 characters", path=path)
        if line:
            cards.append(f"{line:{CARD}}")
    return "".join(cards)


def as_header(obj):
    """A fitsmill Header for whatever a caller passes as a header.

    Every fitsmill function taking a header runs its argument through this.

    Parameters
    ----------
    obj : Header, astropy.io.fits.Header, str, bytes, mapping or iterable
        A fitsmill Header is returned as it is; an astropy Header is copied
        losslessly; text or bytes are parsed; a mapping or iterable of
        cards/tuples is turned into cards.

    Returns
    -------
    Header
    """
    if isinstance(obj, Header):
        return obj
    if _is_astropy_header(obj):
        return Header.from_astropy(obj)
    if isinstance(obj, (str, bytes, bytearray, memoryview)):
        return Header.fromstring(obj)
    return Header(obj)
