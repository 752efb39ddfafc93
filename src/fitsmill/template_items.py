"""The building blocks of FITS header templates.

A template is a plain list of items, walked in order by
:func:`fitsmill.templates.make_header_from_template`:

``(KEYWORD, comment)``
    A card whose value the caller supplies (or the original header holds).
    With no value the card is left out.
:class:`Fixed`
    A card with a default value, which the caller or the original header may
    override (``Fixed("NAXIS", 2)``).  Any card object with ``keyword``,
    ``value`` and ``comment`` attributes (astropy's or fitsmill's ``Card``)
    is read the same way, as DaCHS templates use ``pyfits.Card``.
:func:`separator`
    A blank-keyword card carrying a dashed rule with a group title, as the
    plate header standard lays groups out.
:class:`Numbered`
    The numbered keywords of multi-exposure plates (``EXPTIM2``,
    ``DT-OBS3`` ...).
:class:`Matching`
    Every keyword matching a pattern, in natural order (SIP ``A_i_j`` of any
    order, ``NAXISn`` beyond 2).
:class:`ExtraCards`
    Where cards the template does not know go (by default after the last
    item).

Items are immutable; applying a template never changes it.
"""

from typing import NamedTuple, Optional

__all__ = ["Fixed", "Numbered", "Matching", "ExtraCards", "separator",
           "SEPARATOR_WIDTH"]

#: Width of a separator rule: the text columns 9-80 of a blank-keyword card.
SEPARATOR_WIDTH = 72


class Fixed(NamedTuple):
    """A template card with a default value.

    Parameters
    ----------
    keyword : str
        The FITS keyword; an empty keyword makes a separator card whose text
        is ``value``.
    value : object
        The default value, used unless the caller or the original header
        gives one.
    comment : str, optional
        The card comment.
    """

    keyword: str
    value: object
    comment: str = ""


class Numbered(NamedTuple):
    """Numbered keywords for the 2nd, 3rd ... exposure of a plate.

    Values come from the caller under the numbered keyword
    (``EXPTIM2=300``), from a list given for the base keyword
    (``EXPTIME=[600, 300, 300]``: the first element is the base card's value,
    the rest numbered from 2), or from numbered cards of the original
    header.  Cards come out in ascending number.

    Parameters
    ----------
    pattern : str
        The keyword with ``{n}`` for the exposure number, e.g.
        ``"EXPTIM{n}"``.
    comment : str
        The comment, ``{n}`` replaced by the number.
    base : str, optional
        The keyword of exposure 1 whose list value feeds this series.  With
        no base the series numbers from 1 and takes a list under the pattern
        without ``{n}`` (``FN-SCN{n}`` takes ``FN_SCN=[...]``).
    """

    pattern: str
    comment: str
    base: Optional[str] = None

    @property
    def first(self):
        """The number of the first card of the series."""
        return 1 if self.base is None else 2

    @property
    def list_keyword(self):
        """The keyword whose list value feeds the series."""
        return self.base or self.pattern.replace("{n}", "")


class Matching(NamedTuple):
    """Every keyword that matches a regular expression, in natural order.

    Parameters
    ----------
    regex : str
        Matched against the whole keyword.
    comment : str, optional
        The comment; ``{0}``, ``{1}`` ... are replaced by the regex groups.
    """

    regex: str
    comment: str = ""


class ExtraCards(NamedTuple):
    """The place of the cards the template does not list.

    Extra cards are the original header's cards with keywords the template
    lacks (in their original order), then values passed for keywords the
    template lacks (in the order given).

    Parameters
    ----------
    title : str, optional
        When given, a separator with this title precedes the extra cards,
        but only if there are any.
    """

    title: str = ""


def separator(title=""):
    """Return a separator item: a dashed rule ending in ``title``.

    Parameters
    ----------
    title : str, optional
        The group title; without one the rule is all dashes.

    Returns
    -------
    Fixed
        A blank-keyword card item whose 72-character text is right-aligned.

    Examples
    --------
    >>> separator("Scan").value[-6:]
    '- Scan'
    """
    text = f" {title}" if title else ""
    if len(text) > SEPARATOR_WIDTH:
        raise ValueError(f"separator title longer than {SEPARATOR_WIDTH - 1} "
                         f"characters: {title!r}")
    return Fixed("", text.rjust(SEPARATOR_WIDTH, "-"))
