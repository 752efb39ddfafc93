"""CardPick: cards picked from a source list and sorted in one pick, against
picking them and then sorting them with :func:`sort_card_list` (the plain
path, itself checked against a card-by-card reference in
test_sortheaders.py).  The sorted picks are kept per pattern of empty
blank-keyword cards, so each example sorts several sources of one shape
that differ in their texts: empty or not, repeated commentary or not."""

import pytest
from hypothesis import given, settings, strategies as st

from fitsmill.card import Card
from fitsmill.errors import FitsFormatError
from fitsmill.sortheaders import CardList, CardPick, shape_of, sort_card_list

BLANK = " " * 80
KEYWORDS = ["SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND", "BZERO",
            "OBJECT", "DUP", "HISTORY", "COMMENT", "", "XTENSION", "PCOUNT", "GCOUNT"]
TEXTS = ["", "same", "other", "SAME"]


def image(keyword, text, n):
    if keyword in ("HISTORY", "COMMENT", ""):
        return Card(keyword, text).image
    return Card(keyword, n if keyword != "XTENSION" else "IMAGE").image


def sorted_or_error(sort, *args):
    try:
        cards = sort(*args)
    except FitsFormatError as exc:
        return "error", str(exc)
    return cards.keys, cards.images, cards.checked, cards.shape()


@settings(derandomize=True, max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(KEYWORDS), max_size=14), st.data())
def test_sorted_pick_matches_pick_then_sort(keywords, data):
    # the SIMPLE card first, so that most examples have a valid structure
    keywords = ["SIMPLE", "BITPIX", "NAXIS"][:data.draw(st.integers(0, 3))] + keywords
    order = data.draw(st.permutations(range(len(keywords))))
    order = order[:data.draw(st.integers(0, len(order)))]
    pick = CardPick(order, keywords)
    assert pick.keys == tuple(keywords[pos] for pos in order)
    assert pick.shape == shape_of(pick.keys)
    for _ in range(4):
        texts = data.draw(st.lists(st.sampled_from(TEXTS), min_size=len(keywords),
                                   max_size=len(keywords)))
        source = [image(k, t, n) for n, (k, t) in enumerate(zip(keywords, texts))] \
            + [BLANK]
        checked = data.draw(st.booleans())
        expected = sorted_or_error(lambda: sort_card_list(pick.cards(source, checked)))
        assert sorted_or_error(pick.sorted, source, checked) == expected
        picked = pick.cards(source, checked)
        assert (picked.keys, picked.images) == \
            (list(pick.keys), [source[pos] for pos in order])


def test_patterns_kept_per_pick_are_bounded():
    keywords = ["SIMPLE", "BITPIX", "NAXIS"] + [""] * 5
    pick = CardPick(range(len(keywords)), keywords)
    for mask in range(32):
        texts = ["" if mask >> n & 1 else f"text {n}" for n in range(5)]
        source = [Card(k, 1 if k else "").image for k in keywords[:3]] \
            + [Card("", t).image for t in texts] + [BLANK]
        expected = sort_card_list(pick.cards(source, True))
        assert pick.sorted(source, True).images == expected.images
    assert len(pick._sorted) == CardPick._PATTERNS


@pytest.mark.parametrize("keys", [[], ["SIMPLE"], ["HISTORY", "HISTORY"]])
def test_pick_of_nothing_or_one(keys):
    pick = CardPick([], keys)
    assert pick.keys == () and pick.cards(["x" * 80] * len(keys), True).keys == []
    assert sorted_or_error(pick.sorted, [BLANK], True) == \
        sorted_or_error(lambda: sort_card_list(CardList.from_lists([], [], True)))


@pytest.mark.parametrize("count", [0, 1, 35, 36, 71, 72])
def test_card_list_bytes_are_the_headers(count):
    # END and blank padding to whole blocks, as Header.tobytes gives them
    from fitsmill.header import Header
    header = Header([("SIMPLE", True)] + [(f"K{n}", n) for n in range(count)])
    assert CardList(header).tobytes() == header.tobytes()
    assert len(header.tobytes()) % 2880 == 0
