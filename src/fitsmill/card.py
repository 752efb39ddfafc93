"""One FITS header card: keyword, value and comment, with its image.

A :class:`Card` made from an image keeps that image and parses it only when
its keyword, value or comment is first asked for; a card made from values
is formatted at once (FITS 4.0 fixed format, see :mod:`fitsmill.cardvalue`).
"""

from fitsmill.cardvalue import (
    CARD, KIND_HIERARCH, BadValue, card_problems, format_card, parse_card)
from fitsmill.errors import FitsFormatError

__all__ = ["Card", "as_card"]

class Card:
    """One header card: keyword, value and comment, with its image.

    Parameters
    ----------
    keyword : str
        A standard keyword, ``COMMENT``/``HISTORY``/``""`` for commentary,
        or a longer name written with the HIERARCH convention.
    value : bool, int, float, complex, str or None, optional
        ``None`` is an undefined value (commentary: empty text).
    comment : str, optional

    Notes
    -----
    Cards are immutable; a :class:`Header` replaces a card to edit it.
    """

    __slots__ = ("_image", "_fields")

    def __init__(self, keyword="", value=None, comment=None):
        self._image = format_card(keyword, value, comment)
        self._fields = None

    @classmethod
    def fromstring(cls, image):
        """The card with this image, parsed when first looked at.

        Parameters
        ----------
        image : str or bytes
            80 characters (shorter is padded with blanks), or a multiple of
            80 for a long string with its CONTINUE cards.

        Returns
        -------
        Card

        Raises
        ------
        FitsFormatError
            For characters outside printable ASCII or a bad length.
        """
        if isinstance(image, (bytes, bytearray)):
            image = image.decode("latin-1")
        if len(image) < CARD:
            image = f"{image:{CARD}}"
        for pos, char in enumerate(image):
            if not " " <= char <= "~":
                raise FitsFormatError(f"character {char!r} in a card is not printable ASCII",
                                      offset=pos)
        if len(image) % CARD:
            raise FitsFormatError(f"card image of {len(image)} characters is not a "
                                  "whole number of 80-character cards")
        return cls._from_image(image)

    @classmethod
    def _from_image(cls, image):
        card = cls.__new__(cls)
        card._image = image
        card._fields = None
        return card

    def _parsed(self):
        if self._fields is None:
            self._fields = parse_card(self._image)
        return self._fields

    @property
    def keyword(self):
        """The keyword as readers report it (str)."""
        return self._parsed()[1]

    @property
    def value(self):
        """The value: bool, int, float, complex, str, or None if undefined.

        Raises
        ------
        FitsFormatError
            When the value field cannot be parsed.
        """
        fields = self._fields
        if fields is None:
            fields = self._fields = parse_card(self._image)
        value = fields[2]
        if value.__class__ is BadValue:
            raise FitsFormatError(f"card {self.keyword!r} has an unparsable value "
                                  f"{value.text!r}")
        return value

    @property
    def comment(self):
        """The comment (str, empty when there is none)."""
        return self._parsed()[3]

    @property
    def image(self):
        """The card image (str of 80 characters, more for CONTINUE)."""
        return self._image

    @property
    def is_hierarch(self):
        """Whether the card uses the HIERARCH convention (bool)."""
        return self._parsed()[0] == KIND_HIERARCH

    @property
    def is_blank(self):
        """Whether the card is entirely blank (bool)."""
        return not self._image.strip()

    def verify(self):
        """Ways in which the card breaks the FITS rules.

        Returns
        -------
        list of str
        """
        return card_problems(self._image)

    def _keyword_for_format(self):
        """The keyword to write when this card's value is replaced."""
        return f"HIERARCH {self.keyword}" if self.is_hierarch else self.keyword

    def __str__(self):
        return self._image

    def __repr__(self):
        return repr((self.keyword, self._parsed()[2], self.comment))

    def __len__(self):
        return 3

    def __getitem__(self, index):
        return (self.keyword, self.value, self.comment)[index]


def as_card(card):
    """A :class:`Card` from a Card, a keyword, a ``(keyword, value[,
    comment])`` tuple or any object with a card ``image`` (astropy's Card).

    Parameters
    ----------
    card : Card, str, tuple or card-like

    Returns
    -------
    Card
    """
    if isinstance(card, Card):
        return card
    if isinstance(card, str):
        return Card(card)
    if isinstance(card, tuple):
        return Card(*card)
    image = getattr(card, "image", None)
    if isinstance(image, str):
        return Card.fromstring(image)
    raise ValueError("a header card must be a Card, a keyword or a "
                     f"(keyword, value[, comment]) tuple, not {card!r}")
