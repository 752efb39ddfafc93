"""``fitsmill headers from-table``: catalogue rows to plate headers.

astropy reads back the caches and files; fitsverify checks them; the data
bytes are hashed before and after.
"""


import numpy as np
import pytest
from astropy.io import fits

from common import data_digests, fitsverify
from fitsmill.cli import fromtable

CSV = """\
filename,object,exptime,date_obs,observer,telescope,notes_internal,plate_sz
plate1.fits,Orion,600;300,1931-03-01T20:00:00,Öpik,Great Refractor,x,16
plate2,Pleiades,1200,,Schröder,Astrograph,y,nan
plate9.fits,Nowhere,5,,Nobody,None,z,9
"""


@pytest.fixture
def archive(tmp_path):
    for name in ("plate1", "plate2", "plate3"):
        hdu = fits.PrimaryHDU((np.arange(60, dtype=np.int32).reshape(6, 10) - 32768)
                              .astype(np.int16))
        hdu.header["FILENAME"] = f"{name}.fits"
        hdu.header["SCANNER"] = "Epson"
        hdu.header.add_history("scanned")
        hdu.writeto(tmp_path / f"{name}.fits")
    catalog = tmp_path / "plates.csv"
    catalog.write_text(CSV, encoding="utf-8")
    return tmp_path, catalog


def cli(catalog, tmp_path, *more):
    return fromtable.main([str(catalog), "--match-column", "filename",
                           "--template", "plate", "--map", "telescope=TELESCOP",
                           "--map", "plate_sz=PLATESZ1", "--list-separator", ";",
                           "--no-progress", "--no-fsync",
                           str(tmp_path / "*.fits"), *more])


def test_from_table_caches_then_apply(archive, capsys):
    tmp_path, catalog = archive
    digests = {p: data_digests(p) for p in tmp_path.glob("*.fits")}
    status = cli(catalog, tmp_path)
    out = capsys.readouterr().out
    assert status == 1                         # plate3 has no row
    assert "plate3.fits: " in out and "no row in plates.csv with filename = 'plate3'" in out
    assert "1 catalogue rows match no file:\n  plate9.fits\n" in out
    assert "columns not used (no keyword in the template; --map COL=KEY):" \
        " notes_internal" in out
    assert not (tmp_path / "plate3.fits.hdr").exists()
    cache = fits.getheader(tmp_path / "plate1.fits.hdr")
    fitsverify(tmp_path / "plate1.fits.hdr")
    assert (cache["OBJECT"], cache["EXPTIME"], cache["EXPTIM2"]) == ("Orion", 600, 300)
    assert cache["OBSERVER"] == "Opik" and cache["TELESCOP"] == "Great Refractor"
    assert cache["PLATESZ1"] == 16 and cache["SCANNER"] == "Epson"
    assert cache["FILENAME"] == "plate1.fits"   # the match column is only a key
    assert cache["DATE-OBS"] == "1931-03-01T20:00:00"
    assert "fitsmill template used: plate" in cache["HISTORY"]
    assert "scanned" in cache["HISTORY"]
    # the file itself is untouched until --apply
    assert "OBJECT" not in fits.getheader(tmp_path / "plate1.fits")

    assert cli(catalog, tmp_path, "--apply") == 1
    for name, obj in (("plate1", "Orion"), ("plate2", "Pleiades")):
        path = tmp_path / f"{name}.fits"
        hdr = fits.getheader(path)
        assert hdr["OBJECT"] == obj and hdr["BITPIX"] == 16 and hdr["NAXIS1"] == 10
        assert data_digests(path) == digests[path]
        fitsverify(path)
    hdr2 = fits.getheader(tmp_path / "plate2.fits")
    assert "DATE-OBS" not in hdr2 and "PLATESZ1" not in hdr2  # empty, NaN: no card
    assert hdr2["OBSERVER"] == "Schroder"
    assert fits.getheader(tmp_path / "plate3.fits").get("OBJECT") is None
    # plate groups are laid out: the separator before the scan group
    keys = list(hdr2.keys())
    assert keys.index("OBJECT") < keys.index("SCANNER") < keys.index("FILENAME")


def test_from_table_setup_errors(archive, capsys):
    tmp_path, catalog = archive
    assert fromtable.main([str(catalog), "--match-column", "nope", "--template",
                           "plate", str(tmp_path / "*.fits")]) == 1
    assert "no column 'nope'" in capsys.readouterr().err
    assert fromtable.main([str(catalog), "--match-column", "filename",
                           "--template", "nosuch", str(tmp_path / "*.fits")]) == 1
    assert "no header template named 'nosuch'" in capsys.readouterr().err
    assert fromtable.main([str(tmp_path / "missing.csv"), "--match-column", "a",
                           "--template", "plate", str(tmp_path / "*.fits")]) == 1
    assert "no such catalogue file" in capsys.readouterr().err
    dup = tmp_path / "dup.csv"
    dup.write_text("filename,object\nplate1,a\nplate1.fits,b\nplate1,c\n")
    assert fromtable.main([str(dup), "--match-column", "filename", "--template",
                           "wfpdb", str(tmp_path / "*.fits")]) == 1
    assert "more than one row with filename = 'plate1'" in capsys.readouterr().err


def test_template_from_a_module(archive, capsys):
    tmp_path, catalog = archive
    status = fromtable.main([str(catalog), "--match-column", "filename",
                             "--template", "fitsmill.plate_templates:WFPDB_TEMPLATE",
                             "--no-progress", "--no-fsync", "--filter", "plate1",
                             str(tmp_path / "*.fits")])
    assert status == 0, capsys.readouterr()
    cache = fits.getheader(tmp_path / "plate1.fits.hdr")
    assert cache["EXPTIME"] == "600;300"       # no --list-separator: text
    assert "fitsmill template used: wfpdb" in cache["HISTORY"]  # found by identity


def test_match_keys():
    assert fromtable.match_keys("/a/plate1.fits.fz") == ["plate1.fits.fz", "plate1"]
    assert fromtable.match_keys("x/B123") == ["B123"]
