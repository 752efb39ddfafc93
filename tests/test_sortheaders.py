"""sort_headers / sort_card_list against a plain reference, and CardList.

``reference_sort`` below follows the documented rules card by card, with no
attempt at speed; hypothesis compares it byte for byte with
:func:`fitsmill.sortheaders.sort_card_list` on random headers (structural
cards in any order and repeated, extensions, many axes, separators, empty
blank cards, repeated commentary, long strings, HIERARCH), with filters and
card sequences.  astropy reads every sorted header back.
"""

import pytest
from astropy.io import fits
from hypothesis import given, settings, strategies as st

from fitsmill.card import Card
from fitsmill.errors import FitsFormatError
from fitsmill.header import Header
from fitsmill.sortheaders import (CardList, sort_card_list, sort_headers,
                                  structural_sequence)

NOTES = ("HISTORY", "COMMENT")


def reference_sort(cards, commentFilter=None, historyFilter=None, cardSequence=None):
    """The documented sort of ``cards`` (Card objects), as a list of
    (keyword, image); raises FitsFormatError like sort_headers."""
    pairs = [(card.keyword, card.image) for card in cards]
    real = {k for k, _ in pairs if k and k not in NOTES}
    given = {item.keyword for item in cardSequence or () if isinstance(item, Card)}
    items = [item for item in structural_sequence(real) if item[0] not in given] \
        + list(cardSequence or ())
    used, out = set(), []
    for item in items:
        if isinstance(item, Card):
            text = item.image[8:80].strip()
            for pos, (keyword, image) in enumerate(pairs):
                if item.keyword and keyword == item.keyword:
                    used.add(pos)
                elif not item.keyword and not keyword and text \
                        and image[8:80].strip() == text:
                    used.add(pos)
            out.append((item.keyword, item.image))
            continue
        keyword, mandatory = (item, False) if isinstance(item, str) else item
        first = next((pos for pos, (k, _) in enumerate(pairs) if k == keyword
                      and keyword in real), None)
        if first is None:
            if mandatory:
                raise FitsFormatError(f"mandatory card {keyword!r} missing")
            continue
        if first not in used:
            used.add(first)
            out.append(pairs[first])
    for pos, (keyword, image) in enumerate(pairs):
        if pos in used or keyword in NOTES or (not keyword and not image[8:].strip()):
            continue
        out.append((keyword, image))
    for name, keep in (("HISTORY", historyFilter), ("COMMENT", commentFilter)):
        block, seen = [], set()
        for card in cards:
            text = card.image[8:]
            if card.keyword != name or text in seen:
                continue
            if keep is not None and not keep(str(card.value)):
                continue
            seen.add(text)
            block.append((name, card.image))
        if block:
            out += [("", " " * 80)] + block
    return out


def sorted_pairs(cards, *args):
    try:
        result = sort_card_list(CardList(Header(cards)), *args)
    except FitsFormatError as exc:
        return ("error", str(exc))
    return list(zip(result.keys, result.images))


def reference_pairs(cards, *args):
    try:
        return reference_sort(cards, *args)
    except FitsFormatError as exc:
        return ("error", str(exc))


KEYWORDS = ["SIMPLE", "XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "NAXIS3",
            "NAXIS12", "EXTEND", "BZERO", "BSCALE", "PCOUNT", "GCOUNT", "TFIELDS",
            "OBJECT", "EXPTIME", "DUP", "LONGSTR", "HIERARCH ESO DET DIT",
            "HISTORY", "COMMENT", ""]


def make_card(keyword, n):
    if keyword in NOTES:
        return Card(keyword, f"text {n % 3}")
    if keyword == "":
        return Card("", ["", "---- group", "   ", "---- other group"][n % 4])
    if keyword == "XTENSION":
        return Card(keyword, "IMAGE")
    if keyword == "LONGSTR":
        return Card(keyword, "x" * (60 + 20 * n), "a long string")
    return Card(keyword, n)


cards_strategy = st.lists(st.builds(make_card, st.sampled_from(KEYWORDS),
                                    st.integers(0, 9)), max_size=40)
sequence_items = st.one_of(
    st.sampled_from(KEYWORDS + ["NOPE"]),
    st.tuples(st.sampled_from(KEYWORDS + ["NOPE"]), st.booleans()),
    st.builds(make_card, st.sampled_from(KEYWORDS), st.integers(0, 9)))
FILTERS = [None, lambda text: "1" not in text, lambda text: False]


@settings(derandomize=True, max_examples=400, deadline=None)
@given(cards_strategy, st.booleans(), st.sampled_from(FILTERS),
       st.sampled_from(FILTERS), st.one_of(st.none(), st.lists(sequence_items, max_size=5)))
def test_sort_matches_the_reference(cards, primary, comment_filter, history_filter,
                                    sequence):
    if primary:
        cards = [Card("SIMPLE", True), Card("BITPIX", 16), Card("NAXIS", 0)] + cards
    args = (comment_filter, history_filter, sequence)
    got = sorted_pairs(cards, *args)
    assert got == reference_pairs(cards, *args)
    if got[0] != "error":
        # idempotent, and astropy reads the result card for card
        again = sorted_pairs([Card.fromstring(image) if len(image) == 80 else
                              Card(*fromimage(image)) for _, image in got], *args)
        assert again == got
        parsed = fits.Header.fromstring("".join(image for _, image in got)
                                        + "END".ljust(80))
        assert [c.keyword for c in parsed.cards] == \
            [k.replace("HIERARCH ", "") for k, _ in got]


def fromimage(image):
    """(keyword, value, comment) of a long-string card group."""
    card = Header.fromstring(image + "END".ljust(80)).cards[0]
    return card.keyword, card.value, card.comment


@pytest.mark.parametrize("keys, expected", [
    # already in order: nothing moves
    (["SIMPLE", "BITPIX", "NAXIS", "A", "B"], ["SIMPLE", "BITPIX", "NAXIS", "A", "B"]),
    # one-card header parts, reversed structure, 1-axis extension
    (["B", "NAXIS1", "NAXIS", "BITPIX", "XTENSION", "GCOUNT", "PCOUNT"],
     ["XTENSION", "BITPIX", "NAXIS", "NAXIS1", "PCOUNT", "GCOUNT", "B"]),
    # a repeated structural keyword: the first goes to the front, the
    # second stays among the others
    (["SIMPLE", "A", "NAXIS", "BITPIX", "NAXIS", "BITPIX"],
     ["SIMPLE", "BITPIX", "NAXIS", "A", "NAXIS", "BITPIX"]),
])
def test_sort_examples(keys, expected):
    cards = CardList.from_lists(keys, [Card(k, 1).image if k != "XTENSION"
                                       else Card(k, "IMAGE").image for k in keys])
    assert sort_card_list(cards).keys == expected


def test_sort_only_commentary_and_blanks():
    cards = [Card("SIMPLE", True), Card("BITPIX", 8), Card("NAXIS", 0),
             Card("", ""), Card("COMMENT", "c"), Card("", ""), Card("HISTORY", "h")]
    out = sort_headers(Header(cards))
    assert out.keys() == ["SIMPLE", "BITPIX", "NAXIS", "", "HISTORY", "", "COMMENT"]
    assert sort_headers(out).tostring() == out.tostring()


def test_missing_mandatory_is_reported_each_time():
    # the answer for a header shape is remembered: the error must be too
    for _ in range(2):
        with pytest.raises(FitsFormatError, match="mandatory card 'NAXIS' missing"):
            sort_headers(Header([Card("SIMPLE", True), Card("BITPIX", 8)]))


def test_cardlist_positions():
    cards = CardList.from_lists(["A", "B", "A", "", "A"], ["a1", "b", "a2", "", "a3"])
    assert cards.positions("A") == [0, 2, 4]
    assert cards.positions("C") == []
    assert cards.positions("") == [3]


def test_orders_kept_per_shape_follow_the_texts():
    # One header shape (the same keywords in the same order) with blank
    # cards empty or not and commentary texts repeated or not: each variant
    # sorts as the reference says, whatever order was kept for the shape
    # before it.
    shape = ["SIMPLE", "", "BITPIX", "HISTORY", "NAXIS", "HISTORY", "A", "",
             "COMMENT", "COMMENT", "B"]
    variants = []
    for blank1 in ("", "---- group"):
        for blank2 in ("", "   ", "notes"):
            for history in (("h1", "h2"), ("h1", "h1")):
                for comment in (("c", "d"), ("c", "c")):
                    texts = iter([blank1, history[0], history[1], blank2, *comment])
                    variants.append([Card(k, next(texts)) if k in ("", *NOTES) else
                                     Card(k, 1 if k != "SIMPLE" else True) for k in shape])
    for cards in variants * 2:
        assert sorted_pairs(cards) == reference_pairs(cards)


def test_sorted_cards_become_a_header_without_parsing():
    # checked CardLists (from fitsmill Headers) hand their images and
    # keywords straight to the Header; it must equal a parsed one
    images = [Card("SIMPLE", True).image, Card("BITPIX", 8).image, Card("NAXIS", 0).image,
              "HIERARCH Eso Det dit = 1 / mixed case".ljust(80),
              "lower   = 2".ljust(80), Card("OBJECT", "x" * 100).image,
              Card("HISTORY", "h").image, " " * 80]
    header = Header.fromstring("".join(images) + "END".ljust(80))
    cards = sort_card_list(CardList(header))
    assert cards.checked
    fast = cards.header()
    parsed = Header.fromstring("".join(cards.images) + "END".ljust(80))
    assert fast.tostring() == parsed.tostring()
    assert fast.keys() == parsed.keys()
    assert fast["Eso Det dit"] == 1 and fast["LOWER"] == 2 and fast["OBJECT"] == "x" * 100
    assert "eso det DIT" in fast and fast.index("OBJECT") == parsed.index("OBJECT")
    unchecked = CardList.from_lists(list(cards.keys), list(cards.images))
    assert not unchecked.checked
    assert unchecked.header().tostring() == parsed.tostring()


def test_kept_orders_compare_commentary_texts_not_images():
    # "history x" (lower case) is a HISTORY card: its text repeats that of
    # "HISTORY x" although the images differ, and a later header of the
    # same shape with other texts must keep both cards
    def cards(first, second):
        images = [Card("SIMPLE", True).image, Card("BITPIX", 8).image,
                  Card("NAXIS", 0).image, f"history {first}".ljust(80),
                  f"HISTORY {second}".ljust(80)]
        return CardList(Header.fromstring("".join(images) + "END".ljust(80)))
    assert sort_card_list(cards("same", "same")).keys.count("HISTORY") == 1
    assert sort_card_list(cards("one", "two")).keys.count("HISTORY") == 2
    assert sort_card_list(cards("same", "same")).keys.count("HISTORY") == 1


def test_orders_are_kept_within_a_budget(monkeypatch):
    # with no room left nothing more is kept, and sorting still follows
    # the reference; with room, a shape is kept once, its order counted
    import fitsmill.sortheaders as sortheaders

    shapes = [[Card("SIMPLE", True), Card("BITPIX", 8), Card("NAXIS", 0)]
              + [Card(f"K{i}", i) for i in range(n)] + [Card("HISTORY", "h")]
              for n in range(5)]
    full = sortheaders.ShapeMemo(limit=0)
    monkeypatch.setattr(sortheaders, "_PLANS", full)
    for cards in shapes * 2:
        assert sorted_pairs(cards) == reference_pairs(cards)
    assert len(full) == 0 and full.room == 0
    room = sortheaders.ShapeMemo(limit=20)
    monkeypatch.setattr(sortheaders, "_PLANS", room)
    for cards in shapes * 2:
        assert sorted_pairs(cards) == reference_pairs(cards)
    # the shape of 4 cards (4) and its order (2 * 4) fit, the next shape
    # (5) only without its order (10), then nothing
    kept = {len(shape): orders for shape, (_, _, orders) in room.items()}
    assert kept == {4: kept[4], 5: {}} and len(kept[4]) == 1 and room.room == 3
