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

import re

from fitsmill.errors import FitsFormatError, FitsmillError

__all__ = ["data_size", "fast_layout", "primary_data_size", "same_layout",
           "check_layout"]

CARD = 80
_BITPIX = (8, 16, 32, 64, -32, -64)
_TABLE_LAYOUT = ("TFIELDS", "THEAP")
_TABLE_LAYOUT_PREFIXES = ("TFORM", "TBCOL")
# The compressed image's own checksums describe the uncompressed HDU; they
# are not part of the stored layout.
_Z_NOT_LAYOUT = ("ZHECKSUM", "ZDATASUM")


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

# A fixed-format integer value: "= " and the number right-justified in
# columns 11-30 (blanks, sign, digits only: int() then rejects anything
# else, e.g. two numbers or a lone sign), then any 50 characters.
_FIXED = rb"= ([ 0-9+-]{20}).{50}"
_FIRST_CARDS = re.compile(rb"(?:SIMPLE  =|XTENSION=).{71}BITPIX  " + _FIXED +
                          rb"NAXIS   " + _FIXED, re.DOTALL)
_AXIS_CARDS = {}
# Shapes seen (see _cached_mandatory): keyed by the first cards up to
# NAXIS1, whose value makes most keys distinct; bounded.
_SHAPES = {}
_SHAPES_MAX = 256
_KEY_SIZE = 4 * CARD
# Layout keywords that may stand anywhere after the mandatory cards: exact
# keyword fields in a primary (random groups), prefixes in an extension
# (tables; Z for compressed images).
_PRIMARY_EXTRAS = (b"GROUPS  ", b"PCOUNT  ", b"GCOUNT  ")
_EXTENSION_EXTRAS = (b"TFIELDS ", b"THEAP   ", b"TFORM", b"TBCOL", b"Z")
_PRIMARY_INITIALS = b"GPH"
_EXTENSION_INITIALS = b"TZH"
_HIERARCH = b"HIERARCH"
# primary_data_size's keyword check, remembered per keyword sequence (an
# archive repeats a few; looking one up costs a fraction of the searches).
_PLAIN_NAMES = {}


def _axis_cards(naxis, is_ext):
    """Compiled pattern of the NAXISn cards (and PCOUNT, GCOUNT for an
    extension) that follow NAXIS; built once per shape."""
    pattern = _AXIS_CARDS.get((naxis, is_ext))
    if pattern is None:
        parts = [b"NAXIS%-3d" % i + _FIXED for i in range(1, naxis + 1)]
        if is_ext:
            parts += [b"PCOUNT  " + _FIXED, b"GCOUNT  " + _FIXED]
        pattern = _AXIS_CARDS[naxis, is_ext] = re.compile(b"".join(parts), re.DOTALL)
    return pattern


def _extras(is_ext, raw, start, end):
    """Images of the layout cards in raw[start:end] (whole cards), sorted;
    None when a HIERARCH card may name a layout keyword (only a value
    comparison can tell then).

    Keywords compare upper-cased, like the header's lookup keywords.  The
    first letters of all cards, sliced out in C, are searched for the
    keywords' initials: substring searches of a whole header (mostly
    blanks) cost several times more.
    """
    initials = raw[start:end:CARD].upper()
    names = _EXTENSION_EXTRAS if is_ext else _PRIMARY_EXTRAS
    found = []
    for letter in (_EXTENSION_INITIALS if is_ext else _PRIMARY_INITIALS):
        i = initials.find(letter)
        while i >= 0:
            pos = start + i * CARD
            key = raw[pos:pos + 8].upper()
            if key == _HIERARCH:
                card = raw[pos:pos + CARD].upper()
                if is_ext or any(name.rstrip() in card for name in names):
                    return None
            elif key.startswith(names):
                found.append(raw[pos:pos + CARD])
            i = initials.find(letter, i + 1)
    found.sort()
    return tuple(found)


def _mandatory(raw):
    """(is_ext, bytes of the mandatory cards, data size before random
    groups are considered) from the raw cards, or None."""
    first = _FIRST_CARDS.match(raw)
    if first is None:
        return None
    is_ext = raw.startswith(b"XTENSION=")
    try:
        bitpix, naxis = int(first[1]), int(first[2])
    except ValueError:
        return None
    if bitpix not in _BITPIX or not 0 <= naxis <= 999:
        return None
    axes = _axis_cards(naxis, is_ext).match(raw, 3 * CARD)
    if axes is None:
        return None
    try:
        numbers = list(map(int, axes.groups()))
    except ValueError:
        return None
    if min(numbers, default=0) < 0:
        return None
    product = 1
    for n in numbers[:naxis]:
        product *= n
    if naxis == 0:
        size = 0
    elif is_ext:
        pcount, gcount = numbers[naxis:]
        size = abs(bitpix) // 8 * gcount * (pcount + product)
    else:
        size = abs(bitpix) // 8 * product
    return is_ext, raw[:(3 + naxis + 2 * is_ext) * CARD], size


def _cached_mandatory(raw):
    """_mandatory(raw), remembered per mandatory-card bytes: the files of
    an archive share a few shapes, and a dictionary lookup of the first
    cards costs a fraction of parsing them."""
    key = raw[:_KEY_SIZE]
    known = _SHAPES.get(key)
    if known is not None and raw.startswith(known[1]):
        return known
    found = _mandatory(raw)
    if found is not None and len(found[1]) >= _KEY_SIZE:
        if len(_SHAPES) >= _SHAPES_MAX:
            _SHAPES.clear()
        _SHAPES[key] = found
    return found


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
    found = _cached_mandatory(raw)
    if found is None or len(found[1]) > end:
        return None, None
    is_ext, prefix, size = found
    extras = _extras(is_ext, raw, len(prefix), end)
    if extras is None:
        return None, None
    if extras and not is_ext:
        size = None          # random groups: left to data_size
    return (is_ext, prefix, extras), size


def primary_data_size(raw, names):
    """Data size of an ordinary primary header, from its raw cards.

    The cheap part of :func:`fast_layout` for writers that leave every
    layout card as it is and only need the size to check the file.

    Parameters
    ----------
    raw : bytes
        Header cards (padding may follow).
    names : bytes
        The keyword fields of the cards before END, 8 bytes each
        (:func:`fitsmill._cards.check_header`).

    Returns
    -------
    int or None
        None unless the header is a primary header with the mandatory cards
        in standard order, without random groups and HIERARCH cards.
    """
    found = _cached_mandatory(raw)
    if found is None or found[0] or len(found[1]) > len(names) * (CARD // 8):
        return None
    plain = _PLAIN_NAMES.get(names)
    if plain is None:
        # no HIERARCH card, no random-groups keyword (_PRIMARY_EXTRAS)
        plain = _HIERARCH not in names and not any(k in names for k in _PRIMARY_EXTRAS)
        if len(_PLAIN_NAMES) >= _SHAPES_MAX:
            _PLAIN_NAMES.clear()
        _PLAIN_NAMES[names] = plain
    return found[2] if plain else None


def same_layout(signature, cards):
    """Whether header cards (bytes, up to END) have exactly the layout
    cards of ``signature`` (from :func:`fast_layout` of the old header).

    True proves the layout unchanged; False only means "compare values".
    """
    is_ext, prefix, extras = signature
    return cards.startswith(prefix) and \
        _extras(is_ext, cards, len(prefix), len(cards)) == extras
