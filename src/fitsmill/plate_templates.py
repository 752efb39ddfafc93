"""The built-in header templates: minimal image, WFPDB (DaCHS) and plate.

``MINIMAL_IMAGE_TEMPLATE`` and ``WFPDB_TEMPLATE`` keep DaCHS's keyword order
with its mistakes fixed: EXTEND follows the NAXISn cards, EQUINOX is spelled
right, JD-AVG and JD-AVG1-3 appear once, SIP terms of any order and NAXISn
beyond 2 get their place, every card has a meaningful comment.

``PLATE_TEMPLATE`` follows the FITS header format for digitised
photographic plates (Tuvikene et al., as used by APPLAUSE and pyplate): eight
groups, groups 2-8 opened by a separator rule, numbered keywords for the
2nd ... 99th exposure after their base keyword.  ``PLATE_TEMPLATE_2014``
is the same with the 2014 proposal's telescope keywords (TELAPER, TELFOC,
TELSCALE) in place of the current ones (OTA-NAME, OTA-DIAM, OTA-APER, FOCLEN,
PLTSCALE); :data:`PLATE_KEYWORDS_2014_TO_CURRENT` maps one set to the other.

Comments carry units in square brackets, as the standard recommends.
Separators look like DaCHS's in the DaCHS templates (20 dashes, then the
title) and like pyplate's in the plate templates (a 72-character rule
ending in the title).
"""

from fitsmill.template_items import ExtraCards, Fixed, Matching, Numbered, separator

__all__ = ["MINIMAL_IMAGE_TEMPLATE", "WCS_TEMPLATE", "WFPDB_TEMPLATE",
           "PLATE_TEMPLATE", "PLATE_TEMPLATE_2014",
           "PLATE_KEYWORDS_2014_TO_CURRENT"]

def _dachs_rule(title):
    """A separator card as DaCHS writes them."""
    return Fixed("", f"{'-' * 20} {title}")


# NAXIS3 and up, so that cubes keep a valid card order.
_HIGHER_AXES = Matching(r"NAXIS([3-9]|[1-9][0-9]+)", "length of data axis {0}")

#: SIMPLE, BITPIX, NAXIS, NAXISn, EXTEND, BZERO, BSCALE (DaCHS's minimal image
#: template, with EXTEND moved after the axis lengths as FITS requires).
MINIMAL_IMAGE_TEMPLATE = [
    Fixed("SIMPLE", True, "file conforms to FITS standard"),
    ("BITPIX", "number of bits per data pixel"),
    Fixed("NAXIS", 2, "number of data axes"),
    ("NAXIS1", "length of data axis 1"),
    ("NAXIS2", "length of data axis 2"),
    _HIGHER_AXES,
    Fixed("EXTEND", True, "file may contain extensions"),
    ("BZERO", "physical value = BZERO + BSCALE * stored value"),
    ("BSCALE", "physical value = BZERO + BSCALE * stored value"),
]


def _sip(prefix):
    """The SIP polynomial of one kind (A, B, AP, BP), of any order."""
    return [(f"{prefix}_ORDER", f"order of the SIP {prefix} polynomial"),
            Matching(rf"{prefix}_(\d+)_(\d+)",
                     f"SIP {prefix} coefficient of x^{{0}} y^{{1}}")]


#: The celestial WCS of a plate solution: linear part, SIP and TPV terms.
WCS_TEMPLATE = [
    _dachs_rule("Spatial WCS"),
    ("EQUINOX", "[yr] equinox of the celestial coordinates"),
    ("RADESYS", "celestial reference frame"),
    ("WCSAXES", "number of WCS axes"),
    ("CTYPE1", "projection type of axis 1"),
    ("CTYPE2", "projection type of axis 2"),
    ("LONPOLE", "[deg] native longitude of the celestial pole"),
    ("LATPOLE", "[deg] native latitude of the celestial pole"),
    ("CRVAL1", "[deg] world coordinate of the reference point, axis 1"),
    ("CRVAL2", "[deg] world coordinate of the reference point, axis 2"),
    ("CRPIX1", "reference pixel on axis 1"),
    ("CRPIX2", "reference pixel on axis 2"),
    ("CUNIT1", "unit of CRVAL1 and CD1_n"),
    ("CUNIT2", "unit of CRVAL2 and CD2_n"),
    ("CD1_1", "linear transformation matrix"),
    ("CD1_2", "linear transformation matrix"),
    ("CD2_1", "linear transformation matrix"),
    ("CD2_2", "linear transformation matrix"),
    ("PC1_1", "linear transformation matrix"),
    ("PC1_2", "linear transformation matrix"),
    ("PC2_1", "linear transformation matrix"),
    ("PC2_2", "linear transformation matrix"),
    ("CDELT1", "[deg] coordinate increment on axis 1"),
    ("CDELT2", "[deg] coordinate increment on axis 2"),
    *_sip("A"), *_sip("B"), *_sip("AP"), *_sip("BP"),
    Matching(r"PV(\d+)_(\d+)", "projection parameter {1} of axis {0}"),
]


def _per_exposure(keyword_format, comment_format, count=3):
    """WFPDB's explicit cards for exposures 1 to ``count``."""
    return [(keyword_format % n, comment_format % n) for n in range(1, count + 1)]


#: DaCHS's WFPDB plate template (MINIMAL plus the WFPDB groups and the WCS).
WFPDB_TEMPLATE = MINIMAL_IMAGE_TEMPLATE + [
    _dachs_rule("Original data of observation"),
    ("DATEORIG", "original recorded date of the observation"),
    ("TMS-ORIG", "start of the observation as logged"),
    ("TME-ORIG", "end of the observation as logged"),
    ("TIMEFLAG", "quality flag of the recorded time"),
    ("RA-ORIG", "right ascension of the centre as given in the source"),
    ("DEC-ORIG", "declination of the centre as given in the source"),
    ("COORFLAG", "quality flag of the recorded coordinates"),
    ("OBJECT", "observed object or field"),
    ("OBJTYPE", "object type (WFPDB code)"),
    ("EXPTIME", "[s] exposure time of the first exposure"),
    ("NUMEXP", "number of exposures"),
    *_per_exposure("DATEOR%d", "original recorded date of exposure %d"),
    *_per_exposure("TMS-OR%d", "logged start of exposure %d"),
    *_per_exposure("TME-OR%d", "logged end of exposure %d"),
    *_per_exposure("OBJECT%d", "object or field of exposure %d"),
    *_per_exposure("OBJTYP%d", "object type of exposure %d"),
    *_per_exposure("EXPTIM%d", "[s] exposure time of exposure %d"),
    _dachs_rule("Observatory and instrument"),
    ("OBSERVAT", "observatory name"),
    ("SITENAME", "observatory site"),
    ("SITELONG", "[deg] east longitude of the site"),
    ("SITELAT", "[deg] latitude of the site"),
    ("SITEELEV", "[m] elevation of the site"),
    ("TELESCOP", "telescope name"),
    ("TELAPER", "[m] clear aperture of the telescope"),
    ("TELFOC", "[m] focal length of the telescope"),
    ("TELSCALE", "[arcsec/mm] plate scale"),
    ("INSTRUME", "instrument"),
    ("DETNAM", "detector"),
    ("METHOD", "method of observation (WFPDB code)"),
    ("FILTER", "filter type"),
    ("PRISM", "objective prism"),
    ("PRISMANG", "prism angle, deg:min"),
    ("DISPERS", "[Angstrom/mm] dispersion"),
    ("GRATING", "grating"),
    ("FOCUS", "focus position"),
    ("TEMPERAT", "[deg C] air temperature"),
    ("CALMNESS", "sky calmness (seeing), scale 1-5"),
    ("SHARPNES", "sky sharpness, scale 1-5"),
    ("TRANSPAR", "sky transparency, scale 1-5"),
    ("SKYCOND", "other sky conditions"),
    ("OBSERVER", "observer name"),
    ("OBSNOTES", "observer notes"),
    _dachs_rule("Photographic plate"),
    ("PLATENUM", "plate number in the logbook"),
    ("WFPDB-ID", "plate identifier in the WFPDB"),
    ("SERIES", "plate series"),
    ("PLATEFMT", "plate format in cm"),
    ("PLATESZ1", "[cm] plate size along axis 1"),
    ("PLATESZ2", "[cm] plate size along axis 2"),
    ("FOV1", "[deg] field of view along axis 1"),
    ("FOV2", "[deg] field of view along axis 2"),
    ("EMULSION", "emulsion type"),
    ("PQUALITY", "plate quality"),
    ("PLATNOTE", "plate notes"),
    _dachs_rule("Derived observation data"),
    ("DATE-OBS", "UT start of the first exposure"),
    *_per_exposure("DT-OBS%d", "UT start of exposure %d"),
    ("DATE-AVG", "UT mid-point of the first exposure"),
    *_per_exposure("DT-AVG%d", "UT mid-point of exposure %d"),
    ("DATE-END", "UT end of the first exposure"),
    *_per_exposure("DT-END%d", "UT end of exposure %d"),
    ("YEAR", "[yr] Julian year at the start of the first exposure"),
    *_per_exposure("YEAR%d", "[yr] Julian year at the start of exposure %d"),
    ("YEAR-AVG", "[yr] Julian year at the mid-point of the first exposure"),
    *_per_exposure("YR-AVG%d", "[yr] Julian year at the mid-point of exposure %d"),
    ("JD", "[d] Julian date at the start of the first exposure"),
    *_per_exposure("JD%d", "[d] Julian date at the start of exposure %d"),
    ("JD-AVG", "[d] Julian date at the mid-point of the first exposure"),
    *_per_exposure("JD-AVG%d", "[d] Julian date at the mid-point of exposure %d"),
    ("RA", "right ascension of the centre (ICRS), h:m:s"),
    ("DEC", "declination of the centre (ICRS), d:m:s"),
    ("RA_DEG", "[deg] right ascension of the centre (ICRS)"),
    ("DEC_DEG", "[deg] declination of the centre (ICRS)"),
    *_per_exposure("RA_DEG%d", "[deg] right ascension of exposure %d"),
    *_per_exposure("DEC_DE%d", "[deg] declination of exposure %d"),
    ("AIRMASS", "airmass at the mean epoch"),
    ("HA", "hour angle at the mean epoch"),
    ("ZD", "[deg] zenith distance at the mean epoch"),
    _dachs_rule("Scan details"),
    ("SCANNER", "scanner name"),
    ("SCANRES1", "[in-1] scan resolution along axis 1"),
    ("SCANRES2", "[in-1] scan resolution along axis 2"),
    ("PIXSIZE1", "[um] pixel size along axis 1"),
    ("PIXSIZE2", "[um] pixel size along axis 2"),
    ("SCANSOFT", "scanning software"),
    ("SCANGAM", "scan gamma"),
    ("SCANFOC", "scan focus"),
    ("WEDGE", "type of the photometric step wedge"),
    ("DATESCAN", "date and time of the scan"),
    ("SCANAUTH", "author of the scan"),
    ("SCANNOTE", "scan notes"),
    ("DATAMIN", "minimum data value"),
    ("DATAMAX", "maximum data value"),
    _dachs_rule("Data files"),
    ("FILENAME", "file name of this scan"),
    ("FN-WEDGE", "file name of the wedge scan"),
    ("FN-PRE", "file name of the preview image"),
    ("FN-COVER", "file name of the envelope image"),
    ("FN-LOGB", "file name of the logbook image"),
    ("ORIGIN", "institution that created this file"),
    ("DATE", "UTC date of the last change of this file"),
    *WCS_TEMPLATE,
    _dachs_rule("Other header cards"),
    ExtraCards(),
]


def _plate_template(telescope_items):
    """The plate standard's layout around a set of telescope keywords."""
    return [
        # 1: mandatory cards and the array description
        Fixed("SIMPLE", True, "file conforms to FITS standard"),
        Fixed("BITPIX", 16, "number of bits per data pixel"),
        Fixed("NAXIS", 2, "number of data axes"),
        ("NAXIS1", "length of data axis 1"),
        ("NAXIS2", "length of data axis 2"),
        _HIGHER_AXES,
        ("BSCALE", "physical value = BZERO + BSCALE * stored value"),
        ("BZERO", "physical value = BZERO + BSCALE * stored value"),
        ("MINVAL", "minimum image value"),
        ("MAXVAL", "maximum image value"),
        Fixed("EXTEND", True, "file may contain extensions"),
        # 2: the observation as recorded in logbooks, site and instrument
        separator("Original data of the observation"),
        ("DATEORIG", "recorded date of the observation"),
        Numbered("DATEOR{n}", "recorded date of exposure {n}", "DATEORIG"),
        ("TMS-ORIG", "recorded start of exposure 1"),
        Numbered("TMS-OR{n}", "recorded start of exposure {n}", "TMS-ORIG"),
        ("TME-ORIG", "recorded end of exposure 1"),
        Numbered("TME-OR{n}", "recorded end of exposure {n}", "TME-ORIG"),
        ("TZ-ORIG", "time zone of the recorded times (ST = sidereal)"),
        ("JDA-ORIG", "[d] recorded Julian date, mid-point of exposure 1"),
        Numbered("JDA-OR{n}", "[d] recorded Julian date, mid-point of exposure {n}",
                 "JDA-ORIG"),
        ("TIMEFLAG", "quality flag of the recorded time"),
        ("RA-ORIG", "recorded right ascension of exposure 1"),
        ("DEC-ORIG", "recorded declination of exposure 1"),
        Numbered("RA-OR{n}", "recorded right ascension of exposure {n}", "RA-ORIG"),
        Numbered("DEC-OR{n}", "recorded declination of exposure {n}", "DEC-ORIG"),
        ("COORFLAG", "quality flag of the recorded coordinates"),
        ("OBJECT", "object or field of exposure 1"),
        Numbered("OBJECT{n}", "object or field of exposure {n}", "OBJECT"),
        ("OBJTYPE", "object type of exposure 1"),
        Numbered("OBJTYP{n}", "object type of exposure {n}", "OBJTYPE"),
        ("EXPTIME", "[s] exposure time of exposure 1"),
        ("NUMEXP", "number of exposures on the plate"),
        Numbered("EXPTIM{n}", "[s] exposure time of exposure {n}", "EXPTIME"),
        ("OBSERVAT", "observatory name"),
        ("SITENAME", "observatory site"),
        ("SITELONG", "[deg] east longitude of the site"),
        ("SITELAT", "[deg] latitude of the site"),
        ("SITEELEV", "[m] elevation of the site"),
        ("TELESCOP", "telescope name"),
        *telescope_items,
        ("INSTRUME", "instrument"),
        ("DETNAM", "detector"),
        ("METHOD", "method of observation"),
        ("FILTER", "filter type"),
        ("PRISM", "objective prism"),
        ("PRISMANG", "prism angle, deg:min"),
        ("DISPERS", "[Angstrom/mm] dispersion"),
        ("GRATING", "grating"),
        ("FOCUS", "focus position of exposure 1"),
        Numbered("FOCUS{n}", "focus position of exposure {n}", "FOCUS"),
        ("TEMPERAT", "[deg C] air temperature"),
        ("CALMNESS", "sky calmness, scale 1-5"),
        ("SHARPNES", "sky sharpness, scale 1-5"),
        ("TRANSPAR", "sky transparency, scale 1-5"),
        ("SKYCOND", "other sky conditions"),
        ("OBSERVER", "observer name"),
        ("OBSNOTES", "observer notes"),
        ("NOTES", "miscellaneous notes"),
        ("BIBCODE", "bibcode of a related paper"),
        # 3: the plate
        separator("Photographic plate"),
        ("PLATENUM", "plate number in the archive"),
        ("PNUMORIG", "original plate number"),
        ("WFPDB-ID", "plate identifier in the WFPDB"),
        ("SERIES", "plate series"),
        ("PLATEFMT", "plate format in cm"),
        ("PLATESZ1", "[cm] plate size along axis 1"),
        ("PLATESZ2", "[cm] plate size along axis 2"),
        ("FOV1", "[deg] field of view along axis 1"),
        ("FOV2", "[deg] field of view along axis 2"),
        ("EMULSION", "emulsion type"),
        ("DEVELOP", "development details"),
        ("PQUALITY", "plate quality"),
        ("PLATNOTE", "plate notes"),
        # 4: times and pointing computed from the recorded data
        separator("Computed data of the observation"),
        ("DATE-OBS", "UT start of exposure 1"),
        Numbered("DT-OBS{n}", "UT start of exposure {n}", "DATE-OBS"),
        ("DATE-AVG", "UT mid-point of exposure 1"),
        Numbered("DT-AVG{n}", "UT mid-point of exposure {n}", "DATE-AVG"),
        ("DATE-END", "UT end of exposure 1"),
        Numbered("DT-END{n}", "UT end of exposure {n}", "DATE-END"),
        ("YEAR", "[yr] decimal year, start of exposure 1"),
        Numbered("YEAR{n}", "[yr] decimal year, start of exposure {n}", "YEAR"),
        ("YEAR-AVG", "[yr] decimal year, mid-point of exposure 1"),
        Numbered("YR-AVG{n}", "[yr] decimal year, mid-point of exposure {n}",
                 "YEAR-AVG"),
        ("YEAR-END", "[yr] decimal year, end of exposure 1"),
        Numbered("YR-END{n}", "[yr] decimal year, end of exposure {n}", "YEAR-END"),
        ("JD", "[d] Julian date, start of exposure 1"),
        Numbered("JD{n}", "[d] Julian date, start of exposure {n}", "JD"),
        ("JD-AVG", "[d] Julian date, mid-point of exposure 1"),
        Numbered("JD-AVG{n}", "[d] Julian date, mid-point of exposure {n}", "JD-AVG"),
        ("JD-END", "[d] Julian date, end of exposure 1"),
        Numbered("JD-END{n}", "[d] Julian date, end of exposure {n}", "JD-END"),
        ("HJD-AVG", "[d] heliocentric Julian date, mid-point of exposure 1"),
        Numbered("HJD-AV{n}", "[d] heliocentric Julian date, mid-point of "
                 "exposure {n}", "HJD-AVG"),
        ("RA", "right ascension of the pointing (J2000), h:m:s"),
        ("DEC", "declination of the pointing (J2000), d:m:s"),
        Numbered("RA{n}", "right ascension of exposure {n} (J2000), h:m:s", "RA"),
        Numbered("DEC{n}", "declination of exposure {n} (J2000), d:m:s", "DEC"),
        ("RA_DEG", "[deg] right ascension of the pointing (J2000)"),
        ("DEC_DEG", "[deg] declination of the pointing (J2000)"),
        Numbered("RA_DEG{n}", "[deg] right ascension of exposure {n} (J2000)",
                 "RA_DEG"),
        Numbered("DEC_DE{n}", "[deg] declination of exposure {n} (J2000)",
                 "DEC_DEG"),
        # 5: the scan
        separator("Scan"),
        ("SCANNER", "scanner name"),
        ("SCANRES1", "[dpi] scan resolution along axis 1"),
        ("SCANRES2", "[dpi] scan resolution along axis 2"),
        ("PIXSIZE1", "[um] pixel size along axis 1"),
        ("PIXSIZE2", "[um] pixel size along axis 2"),
        ("SCANSOFT", "scanning software"),
        ("SCANHCUT", "scan high cut"),
        ("SCANLCUT", "scan low cut"),
        ("SCANGAM", "scan gamma"),
        ("SCANFOC", "scan focus"),
        ("WEDGE", "type of the photometric step wedge"),
        ("DATESCAN", "date and time of the scan"),
        ("SCANAUTH", "author of the scan"),
        ("SCANNOTE", "scan notes"),
        # 6: files
        separator("Data files"),
        ("FILENAME", "file name of this scan"),
        Numbered("FN-SCN{n}", "file name of scan {n} of this plate"),
        ("FN-WEDGE", "file name of the wedge scan"),
        ("FN-PRE", "file name of the preview image"),
        ("FN-COVER", "file name of the plate cover image"),
        Numbered("FN-LOG{n}", "file name of logbook image {n}"),
        ("ORIGIN", "institution that created this file"),
        ("DATE", "UTC date of the last change of this file"),
        # 7: the astrometric solution, then cards the standard lacks
        separator("WCS"),
        *WCS_TEMPLATE[1:],
        ExtraCards("Other header cards"),
        # 8: licence and checksums; HISTORY and COMMENT (acknowledgements)
        # follow as the last blocks of the header
        separator("Licence, acknowledgements and history"),
        ("LICENCE", "licence of the data (URL)"),
        ("CHECKSUM", "HDU checksum"),
        ("DATASUM", "data unit checksum"),
    ]


#: The telescope keywords of the current plate standard (pyplate 4).
_CURRENT_TELESCOPE = [
    ("OTA-NAME", "optical tube assembly (OTA)"),
    ("OTA-DIAM", "[m] diameter of the OTA"),
    ("OTA-APER", "[m] clear aperture of the OTA"),
    ("FOCLEN", "[m] focal length of the OTA"),
    ("PLTSCALE", "[arcsec/mm] plate scale of the OTA"),
]

#: The telescope keywords of the 2014 proposal.
_TELESCOPE_2014 = [
    ("TELAPER", "[m] clear aperture of the telescope"),
    ("TELFOC", "[m] focal length of the telescope"),
    ("TELSCALE", "[arcsec/mm] plate scale"),
]

#: The plate header standard with its current keyword names.
PLATE_TEMPLATE = _plate_template(_CURRENT_TELESCOPE)

#: The plate header standard with the 2014 proposal's keyword names.
PLATE_TEMPLATE_2014 = _plate_template(_TELESCOPE_2014)

#: 2014 keyword -> current keyword, for moving values between the two.
PLATE_KEYWORDS_2014_TO_CURRENT = {
    "TELAPER": "OTA-APER",
    "TELFOC": "FOCLEN",
    "TELSCALE": "PLTSCALE",
}
