"""How an HDU header lays out its data: the data size, and whether an edit
would change the layout.

Two ways to answer, for speed.  The general one reads values from a parsed
:class:`~fitsmill.header.Header`.  The fast one works on the raw header
bytes: the FITS standard puts the mandatory keywords (SIMPLE or XTENSION,
BITPIX, NAXIS, NAXISn, then PCOUNT and GCOUNT in extensions) first, in that
order, with fixed-format values, so their cards sit at known places and
their integers in columns 11-30.  A header that follows those rules gets a
*signature*: the bytes of all cards that fix the layout.  Since an edit
keeps untouched cards byte for byte, equal signatures prove the layout is
unchanged; anything else falls back to the general comparison.
"""

from fitsmill.errors import FitsFormatError, FitsmillError

__all__ = ["data_size", "fast_layout", "same_layout", "check_layout"]

CARD = 80
_BITPIX = (8, 16, 32, 64, -32, -64)
_TABLE_LAYOUT = ("TFIELDS", "THEAP")
_TABLE_LAYOUT_PREFIXES = ("TFORM", "TBCOL")
# The compressed image's own checksums describe the uncompressed HDU; they
# are not part of the stored layout.
_Z_NOT_LAYOUT = ("ZHECKSUM", "ZDATASUM")
_TABLE_CARD_PREFIXES = (b"TFIELDS ", b"THEAP   ", b"TFORM", b"TBCOL", b"Z")
_PRIMARY_EXTRAS = (b"GROUPS  =", b"PCOUNT  =", b"GCOUNT  =")
_PRIMARY_INITIALS = (b"G", b"P")
_NAXIS_KEYS = [b"NAXIS%-3d" % i for i in range(1000)]


# ---------------------------------------------------------------- general

def _int_card(header, key, default, path, offset):
    value = header.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        if value is default:
            return default
        raise FitsFormatError(f"{key} = {value!r} is not a non-negative integer",
                              path=path, offset=offset)
    return value


def data_size(header, path=None, offset=None):
    """Size in bytes of the data an HDU header describes, without padding.

    Follows the FITS 4.0 rule ``|BITPIX| * GCOUNT * (PCOUNT + NAXIS1 * ...
    * NAXISn) / 8``; random-groups primaries (``GROUPS = T``, ``NAXIS1 = 0``)
    leave NAXIS1 out of the product.

    Parameters
    ----------
    header : fitsmill.header.Header
    path, offset : optional
        For error messages: the file and the header's byte offset.

    Raises
    ------
    FitsFormatError
        Missing or invalid BITPIX, NAXIS, NAXISn, PCOUNT or GCOUNT.
    """
    bitpix = header.get("BITPIX")
    if bitpix not in _BITPIX or isinstance(bitpix, bool):
        raise FitsFormatError(f"invalid BITPIX {bitpix!r}", path=path, offset=offset)
    naxis = _int_card(header, "NAXIS", None, path, offset)
    if naxis is None or naxis > 999:
        raise FitsFormatError(f"invalid NAXIS {header.get('NAXIS')!r}",
                              path=path, offset=offset)
    if naxis == 0:
        return 0
    axes = [_int_card(header, f"NAXIS{i}", None, path, offset)
            for i in range(1, naxis + 1)]
    if None in axes:
        raise FitsFormatError(f"NAXIS{axes.index(None) + 1} missing",
                              path=path, offset=offset)
    is_ext = "XTENSION" in header
    groups = not is_ext and header.get("GROUPS") is True
    if groups and axes[0] == 0:
        axes = axes[1:]
    pcount = _int_card(header, "PCOUNT", 0, path, offset) if (is_ext or groups) else 0
    gcount = _int_card(header, "GCOUNT", 1, path, offset) if (is_ext or groups) else 1
    product = 1
    for n in axes:
        product *= n
    return abs(bitpix) // 8 * gcount * (pcount + product)


def _same_value(a, b):
    if isinstance(a, str) and isinstance(b, str):
        return a.rstrip() == b.rstrip()
    return type(a) is type(b) and a == b


def _layout_keys(old, new):
    """Keywords whose values fix how the data bytes are laid out."""
    keys = ["SIMPLE", "XTENSION", "BITPIX", "NAXIS", "PCOUNT", "GCOUNT", "GROUPS"]
    naxis = max((h.get("NAXIS") for h in (old, new)
                 if isinstance(h.get("NAXIS"), int)), default=0)
    keys += [f"NAXIS{i}" for i in range(1, min(naxis, 999) + 1)]
    if "XTENSION" in old:
        keys += _TABLE_LAYOUT
        keys += [k for h in (old, new) for k in h.keys()
                 if k.startswith(_TABLE_LAYOUT_PREFIXES) and k[5:].isdigit()]
        if old.get("ZIMAGE") is True or new.get("ZIMAGE") is True:
            keys += [k for h in (old, new) for k in h.keys()
                     if k.startswith("Z") and k not in _Z_NOT_LAYOUT]
    return dict.fromkeys(keys)


def check_layout(old, new, path, offset):
    """Raise if header ``new`` lays out the data differently from ``old``.

    Compares values (so formatting does not matter): SIMPLE/XTENSION,
    BITPIX, NAXIS and NAXISn, PCOUNT, GCOUNT, GROUPS, table column formats
    and, in compressed-image tables, the Z keywords; the new header must
    also start with SIMPLE (primary) or XTENSION (extension).

    Raises
    ------
    FitsmillError
        Naming the keywords and their old and new values.
    """
    missing = object()
    changes = []
    for key in _layout_keys(old, new):
        a, b = old.get(key, missing), new.get(key, missing)
        if a is missing and b is missing:
            continue
        if a is missing or b is missing or not _same_value(a, b):
            show = lambda v: "(absent)" if v is missing else repr(v)  # noqa: E731
            changes.append(f"{key} {show(a)} -> {show(b)}")
    if changes:
        raise FitsmillError(
            f"{path}: the new header would change the data layout of the HDU at "
            f"byte {offset} ({'; '.join(changes[:4])}"
            f"{'; ...' if len(changes) > 4 else ''}); pass force=True to write it anyway")
    first = next(iter(new.keys()), None)
    want = "XTENSION" if "XTENSION" in old else "SIMPLE"
    if first != want:
        raise FitsmillError(f"{path}: the new header must start with {want}, "
                            f"not {first!r}")


# ---------------------------------------------------------------- fast

def _fixed_int(raw, card):
    """The fixed-format integer of card number ``card``, or None."""
    pos = card * CARD
    text = raw[pos + 10:pos + 30].strip()
    if raw[pos + 8:pos + 10] != b"= " or not text.lstrip(b"+-").isdigit():
        return None
    return int(text)


def _aligned_cards(raw, start, end):
    """Images of the random-groups cards (GROUPS, PCOUNT, GCOUNT) in
    raw[start:end].  The first bytes of all cards, sliced out in C, are
    searched for the keys' initials: a substring search of a header (mostly
    blanks) for a keyword with blanks in it is much slower."""
    initials = raw[start:end:CARD]
    found = []
    for letter in _PRIMARY_INITIALS:
        i = initials.find(letter)
        while i >= 0:
            pos = start + i * CARD
            if raw.startswith(_PRIMARY_EXTRAS, pos):
                found.append(raw[pos:pos + CARD])
            i = initials.find(letter, i + 1)
    return found


def _table_cards(raw, start, end):
    """Images of the table and compressed-image layout cards in a range."""
    return [raw[pos:pos + CARD] for pos in range(start, end, CARD)
            if raw.startswith(_TABLE_CARD_PREFIXES, pos)]


def _extras(kind, raw, start, end):
    """Layout cards after the mandatory ones, in a canonical order."""
    if kind == "primary":
        return tuple(sorted(_aligned_cards(raw, start, end)))
    if kind == "table":
        return tuple(sorted(_table_cards(raw, start, end)))
    return ()


def fast_layout(raw, end):
    """Layout signature and data size of header bytes, from the raw cards.

    Parameters
    ----------
    raw : bytes
        Header cards (padding may follow).
    end : int
        Byte offset of the END card (or of the end of the cards).

    Returns
    -------
    signature : tuple or None
        The bytes of every card that fixes the data layout, for
        :func:`same_layout`; None when the header does not follow the
        standard's mandatory-keyword rules closely enough for this shortcut.
    size : int or None
        The data size, None when unknown here (use :func:`data_size`).
    """
    is_ext = raw.startswith(b"XTENSION=")
    if raw[CARD:CARD + 8] != b"BITPIX  " or raw[2 * CARD:2 * CARD + 8] != b"NAXIS   ":
        return None, None
    bitpix, naxis = _fixed_int(raw, 1), _fixed_int(raw, 2)
    if bitpix not in _BITPIX or naxis is None or not 0 <= naxis <= 999:
        return None, None
    mandatory = 3 + naxis + (2 if is_ext else 0)
    if mandatory * CARD > end:
        return None, None
    product = 1
    for i in range(1, naxis + 1):
        if not raw.startswith(_NAXIS_KEYS[i], (2 + i) * CARD):
            return None, None
        n = _fixed_int(raw, 2 + i)
        if n is None or n < 0:
            return None, None
        product *= n
    start = mandatory * CARD
    if is_ext:
        if not raw.startswith(b"PCOUNT  ", start - 2 * CARD) or \
                not raw.startswith(b"GCOUNT  ", start - CARD):
            return None, None
        pcount, gcount = _fixed_int(raw, mandatory - 2), _fixed_int(raw, mandatory - 1)
        if pcount is None or gcount is None or pcount < 0 or gcount < 0:
            return None, None
        kind = "image" if raw.startswith(b"'IMAGE  ", 10) else "table"
        size = 0 if naxis == 0 else abs(bitpix) // 8 * gcount * (pcount + product)
    else:
        kind = "primary"
        size = 0 if naxis == 0 else abs(bitpix) // 8 * product
    extras = _extras(kind, raw, start, end)
    if kind == "primary" and extras:
        size = None          # random groups: left to data_size
    return (kind, raw[:start], extras), size


def same_layout(signature, cards):
    """Whether header cards (bytes, up to END) have exactly the layout
    cards of ``signature`` (from :func:`fast_layout` of the old header).

    True proves the layout unchanged; False only means "compare values".
    """
    kind, prefix, extras = signature
    return cards.startswith(prefix) and \
        _extras(kind, cards, len(prefix), len(cards)) == extras
