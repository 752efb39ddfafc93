"""Header templates: DaCHS's TemplatingTest, the WFPDB order with its bugs
fixed, the plate header standard, and the template engine's rules.

astropy.io.fits parses every header we make (the oracle for card images and
values); fitsverify checks every FITS file written.
"""

import copy
import hashlib

import numpy as np
import pytest
from astropy.io import fits

from common import fitsverify
from fitsmill import templates
from fitsmill.errors import FitsmillError
from fitsmill.header import Header
from fitsmill.templates import (
    MINIMAL_IMAGE_TEMPLATE, PLATE_TEMPLATE, PLATE_TEMPLATE_2014, WFPDB_TEMPLATE,
    ExtraCards, Fixed, Matching, Numbered, make_header_from_template,
    register_template, separator, update_templated_header)


def keywords(hdr):
    """Keywords of a header as astropy parses it (blank cards as '')."""
    return [card.keyword for card in as_astropy(hdr).cards]


def as_astropy(hdr):
    return fits.Header.fromstring(hdr.tostring())


def write_fits(path, hdr, data):
    """A FITS file from our header and a big-endian array (padded)."""
    raw = hdr.tostring().encode("ascii")
    body = data.astype(data.dtype.newbyteorder(">")).tobytes()
    body += b"\0" * (-len(body) % 2880)
    path.write_bytes(raw + body)
    return hashlib.sha256(body).hexdigest()


# ------------------------------------------------- DaCHS TemplatingTest

@pytest.fixture(scope="module")
def dachstest():
    template = MINIMAL_IMAGE_TEMPLATE + [
        fits.Card("", "---- Separator"),   # DaCHS writes pyfits.Card separators
        ("ADDLATER", "Added later"),
        ("CHGLATER", "Changed later"),
        ("TESTVAL", "Just some random junk"),
    ]
    register_template("dachstest", template)
    return template


def make_dachstest(**more):
    return make_header_from_template(
        "dachstest", BITPIX=-32, NAXIS1=10, NAXIS2=20, CHGLATER="Really",
        TESTVAL="Really", **more)


def test_dachs_templating_sequence(dachstest):
    hdr = make_dachstest()
    # DaCHS: SIMPLE, EXTEND, BITPIX ... ; EXTEND now follows the axes.
    assert keywords(hdr) == ["SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2",
                             "EXTEND", "", "CHGLATER", "TESTVAL", "HISTORY"]
    assert "BZERO" not in hdr          # no value given: card left out
    ahdr = as_astropy(hdr)
    assert ahdr.cards[6].value == "---- Separator"
    assert str(ahdr.cards["TESTVAL"]).rstrip() == \
        "TESTVAL = 'Really  '           / Just some random junk"
    assert ahdr["HISTORY"][-1] == "fitsmill template used: dachstest"


def test_dachs_update_templated_header(dachstest):
    hdr = make_dachstest().copy()
    hdr.add_history("this was a test")
    hdr.add_comment("and here's some comment")
    hdr.add_comment("and another one")
    new = update_templated_header(hdr, ADDLATER=42.25, CHGLATER=24)
    assert keywords(new) == [
        "SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND", "",
        "ADDLATER", "CHGLATER", "TESTVAL", "HISTORY", "HISTORY", "",
        "COMMENT", "COMMENT"]
    ahdr = as_astropy(new)
    assert (ahdr["ADDLATER"], ahdr["CHGLATER"], ahdr["TESTVAL"]) == (42.25, 24, "Really")
    assert list(ahdr["HISTORY"]) == ["this was a test",
                                     "fitsmill template used: dachstest"]
    assert list(ahdr["COMMENT"]) == ["and here's some comment", "and another one"]
    # Updating again changes nothing: one stamp, one blank, same cards.
    assert update_templated_header(new).tostring() == new.tostring()


# ------------------------------------------------- the WFPDB template

def _explicit(template):
    """Keywords of the template's fixed and caller-filled cards, in order."""
    return [item[0] for item in template
            if not isinstance(item, (Numbered, Matching, ExtraCards))]


def _seq(fmt):
    return [fmt % n for n in (1, 2, 3)]


# DaCHS's WFPDB keyword order (dachs-behaviour.md section 5) with the fixes:
# EXTEND after NAXISn, EQUINOX spelled right, JD-AVG once, RADESYS and CDELTn
# added to the WCS, SIP terms placed by pattern.
WFPDB_ORDER = (
    ["SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND", "BZERO", "BSCALE",
     "", "DATEORIG", "TMS-ORIG", "TME-ORIG", "TIMEFLAG", "RA-ORIG", "DEC-ORIG",
     "COORFLAG", "OBJECT", "OBJTYPE", "EXPTIME", "NUMEXP"]
    + _seq("DATEOR%d") + _seq("TMS-OR%d") + _seq("TME-OR%d") + _seq("OBJECT%d")
    + _seq("OBJTYP%d") + _seq("EXPTIM%d")
    + ["", "OBSERVAT", "SITENAME", "SITELONG", "SITELAT", "SITEELEV", "TELESCOP",
       "TELAPER", "TELFOC", "TELSCALE", "INSTRUME", "DETNAM", "METHOD", "FILTER",
       "PRISM", "PRISMANG", "DISPERS", "GRATING", "FOCUS", "TEMPERAT", "CALMNESS",
       "SHARPNES", "TRANSPAR", "SKYCOND", "OBSERVER", "OBSNOTES",
       "", "PLATENUM", "WFPDB-ID", "SERIES", "PLATEFMT", "PLATESZ1", "PLATESZ2",
       "FOV1", "FOV2", "EMULSION", "PQUALITY", "PLATNOTE",
       "", "DATE-OBS"] + _seq("DT-OBS%d") + ["DATE-AVG"] + _seq("DT-AVG%d")
    + ["DATE-END"] + _seq("DT-END%d") + ["YEAR"] + _seq("YEAR%d") + ["YEAR-AVG"]
    + _seq("YR-AVG%d") + ["JD"] + _seq("JD%d") + ["JD-AVG"] + _seq("JD-AVG%d")
    + ["RA", "DEC", "RA_DEG", "DEC_DEG"] + _seq("RA_DEG%d") + _seq("DEC_DE%d")
    + ["AIRMASS", "HA", "ZD",
       "", "SCANNER", "SCANRES1", "SCANRES2", "PIXSIZE1", "PIXSIZE2", "SCANSOFT",
       "SCANGAM", "SCANFOC", "WEDGE", "DATESCAN", "SCANAUTH", "SCANNOTE",
       "DATAMIN", "DATAMAX",
       "", "FILENAME", "FN-WEDGE", "FN-PRE", "FN-COVER", "FN-LOGB", "ORIGIN", "DATE",
       "", "EQUINOX", "RADESYS", "WCSAXES", "CTYPE1", "CTYPE2", "LONPOLE", "LATPOLE",
       "CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2", "CUNIT1", "CUNIT2",
       "CD1_1", "CD1_2", "CD2_1", "CD2_2", "PC1_1", "PC1_2", "PC2_1", "PC2_2",
       "CDELT1", "CDELT2", "A_ORDER", "B_ORDER", "AP_ORDER", "BP_ORDER", ""])


def test_wfpdb_keyword_order():
    assert _explicit(WFPDB_TEMPLATE) == WFPDB_ORDER
    # separators as DaCHS writes them
    rules = [item.value for item in WFPDB_TEMPLATE
             if isinstance(item, Fixed) and not item.keyword]
    assert rules[0] == "-------------------- Original data of observation"
    assert rules[-2:] == ["-------------------- Spatial WCS",
                          "-------------------- Other header cards"]
    explicit = [kw for kw in WFPDB_ORDER if kw]
    assert len(explicit) == len(set(explicit))      # JD-AVG and friends once
    assert "EQUNIOX" not in explicit


def test_wfpdb_full_header_sip_any_order_and_fitsverify(tmp_path):
    values = {kw.replace("-", "_"): 1.5 for kw in WFPDB_ORDER if kw and kw not in
              ("SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND", "BZERO",
               "BSCALE", "CTYPE1", "CTYPE2", "CUNIT1", "CUNIT2", "RADESYS",
               "WCSAXES", "A_ORDER", "B_ORDER", "AP_ORDER", "BP_ORDER")}
    # fitsverify checks the types of reserved keywords: text and dates.
    for key in values:
        if key.startswith(("DATE", "DT_")):
            values[key] = "1931-03-01T20:00:00"
        elif key in ("ORIGIN", "TELESCOP", "INSTRUME", "OBSERVER"):
            values[key] = "some text"
    values.update(CTYPE1="RA---TAN-SIP", CTYPE2="DEC--TAN-SIP", CUNIT1="deg",
                  CUNIT2="deg", RADESYS="ICRS", WCSAXES=2, A_ORDER=3, B_ORDER=3,
                  A_0_3=1e-9, A_2_1=2e-9, A_0_2=3e-7, A_10_0=0.0, B_3_0=4e-9,
                  EQUINOX=2000.0, OBJECT="M 31", BZERO=32768, BSCALE=1)
    values.pop("PC1_1"), values.pop("PC1_2"), values.pop("PC2_1"), values.pop("PC2_2")
    values.pop("CDELT1"), values.pop("CDELT2")
    hdr = make_header_from_template(WFPDB_TEMPLATE, BITPIX=16, NAXIS1=7,
                                    NAXIS2=5, **values)
    kws = keywords(hdr)
    # SIP terms of order 3 (and a silly order 10) sit between A_ORDER and
    # B_ORDER in natural order; EQUINOX is in the WCS group.
    a = kws.index("A_ORDER")
    assert kws[a:a + 5] == ["A_ORDER", "A_0_2", "A_0_3", "A_2_1", "A_10_0"]
    assert kws[a + 5:a + 7] == ["B_ORDER", "B_3_0"]
    assert kws.index("EQUINOX") > kws.index("DATE")
    assert kws.count("JD-AVG") == 1
    assert kws[-1] == "HISTORY"
    data = (np.arange(35, dtype=np.int32).reshape(5, 7) - 32768).astype(np.int16)
    path = tmp_path / "wfpdb.fits"
    write_fits(path, hdr, data)
    fitsverify(path)
    with fits.open(path) as hdul:
        assert hdul[0].header["A_2_1"] == 2e-9
        np.testing.assert_array_equal(hdul[0].data, data.astype(np.int32) + 32768)


# ------------------------------------------------- the plate standard

PLATE_GROUPS = ["Original data of the observation", "Photographic plate",
                "Computed data of the observation", "Scan", "Data files", "WCS",
                "Licence, acknowledgements and history"]


def separators(hdr):
    return [card.value.lstrip("-").strip() for card in as_astropy(hdr).cards
            if card.keyword == "" and str(card.value).startswith("---")]


def test_plate_template_groups_and_numbered_exposures(tmp_path):
    hdr = make_header_from_template(
        PLATE_TEMPLATE, NAXIS1=12, NAXIS2=8, BSCALE=1.0, BZERO=32768,
        DATEORIG="1931-03-01", TMS_ORIG=["ST 18:11:16", "ST 19:00:00"],
        RA_ORIG=["05:35", "05:40", "05:45"], DEC_ORIG=["+22", "+23", "+24"],
        OBJECT="Orion", EXPTIME=[600, 300, 300], NUMEXP=3, EXPTIM12=5,
        OTA_APER=0.4, FOCLEN=2.0, DATE_OBS=["1931-03-01T20:00:00"],
        FN_SCN=["a.fits", "b.fits"], LICENCE="https://creativecommons.org/"
        "publicdomain/zero/1.0/", COMMENT=["Acknowledgement text."])
    assert separators(hdr) == PLATE_GROUPS
    kws = keywords(hdr)
    assert kws[:10] == ["SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2",
                        "BSCALE", "BZERO", "EXTEND", "", "DATEORIG"]
    # numbered keywords follow their base keyword, in ascending number
    i = kws.index("RA-ORIG")
    assert kws[i:i + 6] == ["RA-ORIG", "DEC-ORIG", "RA-OR2", "RA-OR3", "DEC-OR2",
                            "DEC-OR3"]
    i = kws.index("EXPTIME")
    assert kws[i:i + 5] == ["EXPTIME", "NUMEXP", "EXPTIM2", "EXPTIM3", "EXPTIM12"]
    assert kws[kws.index("TMS-ORIG") + 1] == "TMS-OR2"
    assert "DT-OBS2" not in kws
    assert kws[kws.index("FN-SCN1"):kws.index("FN-SCN1") + 2] == ["FN-SCN1", "FN-SCN2"]
    assert separators(hdr).index("Data files") == 4
    ahdr = as_astropy(hdr)
    assert ahdr["EXPTIM2"] == 300 and ahdr["TMS-OR2"] == "ST 19:00:00"
    assert ahdr.comments["EXPTIM3"] == "[s] exposure time of exposure 3"
    assert ahdr.comments["DEC-OR2"] == "recorded declination of exposure 2"
    assert ahdr["FN-SCN2"] == "b.fits"
    assert "OTA-APER" in ahdr and "TELAPER" not in ahdr
    assert list(ahdr["COMMENT"]) == ["Acknowledgement text."]
    data = np.zeros((8, 12), dtype=np.int16)
    path = tmp_path / "plate.fits"
    write_fits(path, hdr, data)
    fitsverify(path)


def test_plate_template_2014_names():
    current = make_header_from_template("plate", NAXIS1=1, NAXIS2=1, OTA_APER=0.4,
                                        FOCLEN=2.0, PLTSCALE=103.0, OTA_NAME="x")
    old = make_header_from_template("plate2014", NAXIS1=1, NAXIS2=1, TELAPER=0.4,
                                    TELFOC=2.0, TELSCALE=103.0)
    assert [k for k in keywords(current) if k in ("OTA-NAME", "OTA-APER", "FOCLEN",
                                                  "PLTSCALE")] == \
        ["OTA-NAME", "OTA-APER", "FOCLEN", "PLTSCALE"]
    assert [k for k in keywords(old) if k.startswith("TEL")] == \
        ["TELESCOP", "TELAPER", "TELFOC", "TELSCALE"][1:]
    # the two name sets map one to one
    for old_kw, new_kw in templates.PLATE_KEYWORDS_2014_TO_CURRENT.items():
        assert old[old_kw] == current[new_kw]
    assert templates.template_name(PLATE_TEMPLATE_2014) == "plate2014"


def test_plate_unknown_cards_go_to_their_own_group():
    original = Header()
    original["SIMPLE"] = True
    original["BITPIX"] = 16
    original["NAXIS"] = 2
    original["NAXIS1"] = 3
    original["NAXIS2"] = 4
    original["MYKEY"] = (7, "mine")
    original["OBJECT"] = "Pleiades"
    hdr = make_header_from_template("plate", originalHeader=original)
    assert separators(hdr)[-2:] == ["Other header cards",
                                    "Licence, acknowledgements and history"]
    ahdr = as_astropy(hdr)
    assert ahdr["OBJECT"] == "Pleiades"           # into its template slot
    assert ahdr.comments["MYKEY"] == "mine"
    assert separators(make_header_from_template("plate", NAXIS1=1, NAXIS2=1)) == \
        PLATE_GROUPS


# ------------------------------------------------- engine rules

def test_module_templates_are_never_mutated():
    before = copy.deepcopy(WFPDB_TEMPLATE), copy.deepcopy(MINIMAL_IMAGE_TEMPLATE)
    hdr = make_header_from_template(MINIMAL_IMAGE_TEMPLATE, BITPIX=8, NAXIS=3,
                                    NAXIS1=1, NAXIS2=2, NAXIS3=3, SIMPLE=True)
    assert keywords(hdr)[:6] == ["SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2",
                                 "NAXIS3"]
    make_header_from_template(WFPDB_TEMPLATE, BITPIX=8, NAXIS=1, NAXIS1=1)
    assert (WFPDB_TEMPLATE, MINIMAL_IMAGE_TEMPLATE) == before
    fresh = make_header_from_template(MINIMAL_IMAGE_TEMPLATE, BITPIX=8,
                                      NAXIS1=1, NAXIS2=2)
    assert fresh["NAXIS"] == 2


def test_none_or_missing_drops_card_even_from_original():
    original = make_header_from_template("wfpdb", BITPIX=8, NAXIS1=1, NAXIS2=1,
                                         OBJECT="x", OBSERVER="y", MYKEY=1)
    new = update_templated_header(original, OBJECT=None, MYKEY=None)
    assert "OBJECT" not in new and "MYKEY" not in new
    assert new["OBSERVER"] == "y"


def test_leftover_values_in_call_order_never_lost():
    hdr = make_header_from_template("minimal", BITPIX=8, NAXIS1=1, NAXIS2=1,
                                    ZETA=1, ALPHA=2, **{"FN-X": "a", "MID": 3})
    kws = keywords(hdr)
    assert kws[-5:] == ["ZETA", "ALPHA", "FN-X", "MID", "HISTORY"]
    original = Header()
    for kw, value in (("SIMPLE", True), ("BITPIX", 8), ("NAXIS", 0),
                      ("OLDKEY", 1), ("SHARED", 2)):
        original[kw] = value
    hdr = make_header_from_template("minimal", originalHeader=original,
                                    NEWKEY=5, SHARED=6)
    ahdr = as_astropy(hdr)
    assert (ahdr["OLDKEY"], ahdr["SHARED"], ahdr["NEWKEY"]) == (1, 6, 5)
    assert keywords(hdr).index("SHARED") < keywords(hdr).index("NEWKEY")


def test_non_ascii_is_transliterated():
    hdr = make_header_from_template(
        "wfpdb", BITPIX=8, NAXIS1=1, NAXIS2=1, OBSERVAT="Tõravere Observatory",
        OBSERVER="Öpik, Ernst; Schröder", SITENAME="Pułkowo",
        OBJECT="α Ori, 5° field")
    ahdr = as_astropy(hdr)
    assert ahdr["OBSERVAT"] == "Toravere Observatory"
    assert ahdr["OBSERVER"] == "Opik, Ernst; Schroder"
    assert ahdr["SITENAME"] == "Pulkowo"
    assert ahdr["OBJECT"] == "alpha Ori, 5 deg field"
    assert templates.transliterate("Müller", german=True) == "Mueller"


def test_dachs_stamp_is_recognised_and_replaced():
    hdr = Header()
    for kw, value in (("SIMPLE", True), ("BITPIX", 8), ("NAXIS", 0),
                      ("OBJECT", "old")):
        hdr[kw] = value
    hdr.add_history("GAVO DaCHS template used: wfpdb")
    assert templates.getTemplateNameFromHistory(hdr) == "wfpdb"
    new = update_templated_header(hdr, OBJECT="new")
    assert templates.template_name_from_history(new) == "wfpdb"
    ahdr = as_astropy(new)
    assert list(ahdr["HISTORY"]) == ["fitsmill template used: wfpdb"]
    assert ahdr["OBJECT"] == "new"
    assert keywords(new).index("OBJECT") > keywords(new).index("NAXIS")


def test_update_without_stamp_is_an_error():
    hdr = Header()
    hdr["SIMPLE"] = True
    with pytest.raises(FitsmillError, match="template signature not found"):
        update_templated_header(hdr, OBJECT="x")
    assert update_templated_header(hdr, "minimal", BITPIX=8)["BITPIX"] == 8


def test_bad_value_names_the_card():
    with pytest.raises(ValueError, match="While constructing card OBJECT"):
        make_header_from_template("wfpdb", BITPIX=8, OBJECT={"not": "a value"})
    with pytest.raises(ValueError, match="no numbered keywords"):
        make_header_from_template("wfpdb", BITPIX=8, OBJTYPE=["a", "b"])


def test_numpy_and_masked_values():
    table_row = np.ma.array([600.0, 0.0], mask=[False, True])
    hdr = make_header_from_template("wfpdb", BITPIX=np.int16(16), NAXIS1=np.int64(3),
                                    NAXIS2=3, EXPTIME=table_row[0],
                                    NUMEXP=table_row[1], OBJECT=np.str_("M 1"))
    ahdr = as_astropy(hdr)
    assert ahdr["BITPIX"] == 16 and ahdr["EXPTIME"] == 600.0
    assert ahdr["OBJECT"] == "M 1" and "NUMEXP" not in ahdr


def test_registry():
    tpl = [Fixed("SIMPLE", True), ("BITPIX", "")]
    register_template("test-registry", tpl)
    register_template("test-registry", tpl)          # same object: fine
    with pytest.raises(ValueError, match="already registered"):
        register_template("test-registry", list(tpl))
    assert templates.get_template("test-registry") is tpl
    with pytest.raises(ValueError, match="known: .*minimal"):
        templates.get_template("no-such-template")
    assert "anonymous" in str(make_header_from_template(list(tpl), BITPIX=8)
                              ["HISTORY"])
    assert separator("X").value == "-" * 70 + " X"


def test_dachs_names():
    from fitsmill.compat import fitstricks
    assert fitstricks.makeHeaderFromTemplate is make_header_from_template
    assert fitstricks.getTemplateForName("wfpdb") is fitstricks.WFPDB_TEMPLATE
    hdr = fitstricks.makeHeaderFromTemplate(fitstricks.WFPDB_TEMPLATE, BITPIX=8,
                                            NAXIS1=1, NAXIS2=1, OBJECT="some star",
                                            SITELAT=0.0)
    assert hdr["SITELAT"] == 0.0


def test_unparsable_original_card_is_kept_verbatim():
    broken = "DATE-OBS= 1931-03-01 / unquoted date".ljust(80)
    original = Header.fromstring(
        "".join(c.ljust(80) for c in ("SIMPLE  =                    T",
                                      "BITPIX  =                   16",
                                      "NAXIS   =                    0")) + broken
        + "END".ljust(80))
    hdr = make_header_from_template("plate", originalHeader=original, OBJECT="x")
    assert broken in hdr.tostring()
    assert "DATE-OBS" in keywords(hdr)
    # a value given for it replaces the broken card
    fixed = make_header_from_template("plate", originalHeader=original,
                                      DATE_OBS="1931-03-01")
    assert broken not in fixed.tostring()
    assert as_astropy(fixed)["DATE-OBS"] == "1931-03-01"
