"""Header edits as data: the ``KEY=VALUE/comment`` command-line syntax and
fthedit-style edit scripts, parsed into operations and applied to a Header.

Edit script lines (one operation per line; blank lines are ignored)::

    KEY = value / comment     add KEY, or replace its value (and comment, if
                              given) where it stands; "=" may be omitted
    -KEY                      delete every card matching KEY; wildcards:
                              * any text, ? one character, # one or more digits
    -OLD NEW                  rename OLD to NEW, keeping value and comment
    HISTORY text              append a HISTORY card
    COMMENT text              append a COMMENT card

Values: ``T``/``F`` are logicals; integers, reals (``E`` or ``D``
exponent) and complex ``(re, im)`` as in FITS; ``'quoted text'`` (with
``''`` for a quote) is a string, and so is any other unquoted text.  An
unquoted value ends at the first ``/``, which starts the comment; quote
values that contain a slash.  An empty value is undefined.
"""

import re

from fitsmill.cardvalue import BadValue, normalize_keyword, parse_card
from fitsmill.errors import FitsmillError

__all__ = ["Edit", "parse_value", "parse_assignment", "parse_script",
           "keyword_pattern", "apply_edits"]

_COMMENTARY_OPS = {"HISTORY": "history", "COMMENT": "comment"}


class Edit:
    """One header operation.

    Attributes
    ----------
    op : {"set", "delete", "rename", "history", "comment"}
    key : str
        Keyword (a pattern for "delete", the old keyword for "rename").
    value : object
        New value ("set"), new keyword ("rename"), text ("history",
        "comment").
    comment : str or None
        New comment for "set"; None keeps the existing one.
    """

    __slots__ = ("op", "key", "value", "comment")

    def __init__(self, op, key, value=None, comment=None):
        self.op, self.key, self.value, self.comment = op, key, value, comment

    def __eq__(self, other):
        return isinstance(other, Edit) and all(
            getattr(self, a) == getattr(other, a) for a in self.__slots__)

    def __repr__(self):
        return f"Edit({self.op!r}, {self.key!r}, {self.value!r}, {self.comment!r})"

    def describe(self):
        """Short text for HISTORY stamps and messages."""
        if self.op == "set":
            value = repr(self.value)
            return f"{self.key}={value if len(value) <= 32 else value[:29] + '...'}"
        if self.op == "delete":
            return f"-{self.key}"
        if self.op == "rename":
            return f"{self.key}->{self.value}"
        return self.op.upper()


def _scalar(text):
    if not text:
        return None
    if len(text) <= 70:
        _, _, value, comment = parse_card(f"{'X':8}= {text}".ljust(80))
        if not isinstance(value, BadValue) and not comment:
            return value
    return text


def _quoted(text):
    """The string at the start of ``text`` (a quote) and what follows it."""
    out = []
    i = 1
    while i < len(text):
        if text[i] == "'":
            if text[i + 1:i + 2] == "'":
                out.append("'")
                i += 2
                continue
            return "".join(out), text[i + 1:]
        out.append(text[i])
        i += 1
    raise ValueError(f"unterminated quoted string: {text}")


def parse_value(text):
    """Value and comment of ``value / comment`` text (see module docstring).

    Returns
    -------
    value : object
    comment : str or None
        None when no ``/`` was given.
    """
    text = text.strip()
    if text.startswith("'"):
        value, rest = _quoted(text)
        rest = rest.strip()
        if rest and not rest.startswith("/"):
            raise ValueError(f"text after the quoted value: {rest!r}")
        return value, rest[1:].strip() if rest else None
    value, slash, comment = text.partition("/")
    return _scalar(value.strip()), comment.strip() if slash else None


def _keyword(text, what="keyword"):
    key = text.strip()
    if not key or any(c in key for c in "=/'"):
        raise ValueError(f"invalid {what} {text!r}")
    return normalize_keyword(key) if len(key) <= 8 else key


def parse_assignment(text):
    """An Edit from command-line ``KEY=VALUE[/comment]``."""
    key, eq, rest = text.partition("=")
    if not eq:
        raise ValueError(f"expected KEY=VALUE, got {text!r}")
    value, comment = parse_value(rest)
    return Edit("set", _keyword(key), value, comment)


def _script_line(line):
    stripped = line.strip()
    if stripped.startswith("-"):
        words = stripped[1:].split()
        if len(words) == 1:
            return Edit("delete", _keyword(words[0], "keyword pattern"))
        if len(words) == 2:
            return Edit("rename", _keyword(words[0]), _keyword(words[1]))
        raise ValueError("expected -KEY or -OLD NEW")
    word = stripped.split(None, 1)[0].upper()
    if word in _COMMENTARY_OPS:
        return Edit(_COMMENTARY_OPS[word], word, stripped[len(word):].strip())
    if word == "HIERARCH":
        match = re.match(r"HIERARCH\s+([^=]+?)\s*=(.*)$", stripped, re.IGNORECASE)
        if match is None:
            raise ValueError("expected HIERARCH name = value")
        key = f"HIERARCH {match.group(1)}"
    else:
        match = re.match(r"([^\s=]+)\s*=?(.*)$", stripped)
        key = match.group(1)
    value, comment = parse_value(match.group(2))
    return Edit("set", _keyword(key), value, comment)


def parse_script(text, source="edit script"):
    """The Edits of an edit script (see module docstring).

    Raises
    ------
    ValueError
        Naming the source and line number of a line that cannot be parsed.
    """
    edits = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            edits.append(_script_line(line))
        except ValueError as exc:
            raise ValueError(f"{source}, line {number}: {exc}") from None
    return edits


def keyword_pattern(pattern):
    """A compiled regex for an fthedit keyword pattern (``*``, ``?``, ``#``)."""
    parts = []
    for char in normalize_keyword(pattern):
        parts.append({"*": ".*", "?": ".", "#": "[0-9]+"}.get(char, re.escape(char)))
    return re.compile("".join(parts) + r"\Z")


def _delete(header, pattern):
    if not any(c in pattern for c in "*?#"):
        while pattern in header:
            del header[pattern]
        return
    regex = keyword_pattern(pattern)
    cards = header.cards
    for pos in range(len(cards) - 1, -1, -1):
        key = normalize_keyword(cards[pos].keyword)
        if key and regex.match(key):
            del header[pos]


def apply_edits(header, edits):
    """A copy of ``header`` with ``edits`` applied in order.

    Raises
    ------
    FitsmillError
        A rename of a keyword that is not there, or to one that exists.
    """
    header = header.copy()
    for edit in edits:
        if edit.op == "set":
            header.set(edit.key, edit.value, edit.comment)
        elif edit.op == "delete":
            _delete(header, edit.key)
        elif edit.op == "rename":
            if edit.key not in header:
                raise FitsmillError(f"cannot rename {edit.key}: not in the header")
            try:
                header.rename_keyword(edit.key, edit.value)
            except ValueError as exc:
                raise FitsmillError(f"cannot rename {edit.key}: {exc}") from None
        elif edit.op == "history":
            header.add_history(edit.value)
        else:
            header.add_comment(edit.value)
    return header
