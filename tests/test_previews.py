"""Preview naming (DaCHS's macros) and the PreviewMaker processor."""

import base64
import os

import pytest
from hypothesis import given, settings, strategies as st

from fitsmill.naming import (NamingPolicy, accref_from_flat_name, flat_name,
                             split_preview_path, standard_preview_path,
                             validate_accref)


def test_standard_name_matches_dachs_test():
    # tests/grammartest.py testStandardPreviewPath in DaCHS.
    assert flat_name("data/a.imp") == "ZGF0YS9hLmltcA=="
    assert flat_name("data/b.imp") == "ZGF0YS9iLmltcA=="
    assert standard_preview_path("data/a.imp", "prefoo") == "prefoo/ZGF0YS9hLmltcA=="


def test_standard_name_uses_dollar_and_bang():
    # ">>>" encodes to "Pj4+" and "???" to "Pz8/" in standard base64.
    assert flat_name("a>>>") == base64.b64encode(b"a>>>").decode().replace("+", "$")
    assert "!" in flat_name("x???") and "/" not in flat_name("x???")


_accref_chars = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\")
_components = st.text(_accref_chars, min_size=1, max_size=12).filter(
    lambda s: s != ".." and s.isprintable())


@settings(derandomize=True, max_examples=200, database=None)
@given(st.lists(_components, min_size=1, max_size=4))
def test_flat_name_round_trip(parts):
    accref = "/".join(parts)
    name = flat_name(accref)
    assert "/" not in name and "+" not in name
    assert accref_from_flat_name(name) == accref


def test_split_mirrors_the_tree():
    assert split_preview_path("data/x/a.fits", "/p", ".jpeg") == "/p/data/x/a.fits.jpeg"
    policy = NamingPolicy("split:.png")
    assert policy.preview_path("a/b.fits", "/p") == "/p/a/b.fits.png"
    assert policy.accref_for("/p/a/b.fits.png", "/p") == "a/b.fits"
    assert policy.accref_for("/p/a/b.fits.jpeg", "/p") is None
    assert policy.accref_for("/p/a/.b.fits.png.x1.tmp", "/p") is None
    assert str(policy) == "split:.png"


def test_standard_policy_inverse_ignores_strays():
    policy = NamingPolicy("standard")
    assert policy.accref_for("/p/ZGF0YS9hLmltcA==", "/p") == "data/a.imp"
    for stray in ("/p/README", "/p/.ZGF0YS9hLmltcA==.abc.tmp", "/p/sub/ZGF0YS9hLmltcA=="):
        assert policy.accref_for(stray, "/p") is None


@pytest.mark.parametrize("bad", ["", "/etc/passwd", "../x", "a/../../x", "a/..",
                                 "a\0b", "a\\..\\..\\x"])
def test_escaping_accrefs_refused(bad):
    with pytest.raises(ValueError):
        validate_accref(bad)
    with pytest.raises(ValueError):
        split_preview_path(bad, "/p", ".png")
    with pytest.raises(ValueError):
        flat_name(bad)


@pytest.mark.parametrize("spec", ["split", "standard:.png", "flat", "split:a/b"])
def test_bad_naming_specs(spec):
    with pytest.raises(ValueError, match="naming|extension"):
        NamingPolicy(spec)
