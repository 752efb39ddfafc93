"""The HTML gallery: page structure, captions from FITS headers, and a real
headless-Chromium rendering checked pixel by pixel."""

import gzip
import html.parser
import os
import subprocess

import numpy as np
import pytest
from astropy.io import fits
from PIL import Image

from fitsmill.gallery import collect_previews, describe_source, write_gallery
from fitsmill.naming import flat_name

from common import require_program

COLOURS = [(230, 20, 20), (20, 200, 20), (20, 40, 230), (230, 200, 0),
           (200, 0, 200), (0, 200, 210), (120, 60, 0)]


class _Figures(html.parser.HTMLParser):
    """Collects img src/alt and figure classes of a gallery page."""

    def __init__(self):
        super().__init__()
        self.images, self.figure_classes, self.links = [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs)
        elif tag == "figure":
            self.figure_classes.append(attrs.get("class", ""))
        elif tag == "a" and "href" in attrs:
            self.links.append(attrs["href"])


def _parse(text):
    parser = _Figures()
    parser.feed(text)
    return parser


def _make_previews(preview_dir, n=7):
    """n coloured JPEG previews with standard names; accref data/fK.fits."""
    os.makedirs(preview_dir, exist_ok=True)
    for k in range(n):
        Image.new("RGB", (200, 150), COLOURS[k]).save(
            os.path.join(preview_dir, flat_name(f"data/f{k}.fits")), "JPEG", quality=95)


def _chromium(tmp_path, page, *extra):
    exe = require_program("chromium")
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--force-device-scale-factor=1", "--window-size=1200,900",
           f"--user-data-dir={tmp_path / 'chromium-profile'}",
           "--virtual-time-budget=5000", *extra, f"file://{page}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def _colour_pixels(shot, colour, tol=40):
    diff = np.abs(shot.astype(int) - np.array(colour)).max(axis=2)
    return int(np.count_nonzero(diff < tol))


@pytest.mark.browser
def test_chromium_draws_every_preview_of_each_page(tmp_path):
    _make_previews(tmp_path / "previews")
    pages = write_gallery(tmp_path / "previews", tmp_path / "site" / "index.html",
                          page_size=5)
    assert [os.path.basename(p) for p in pages] == ["index.html", "index-2.html"]
    for page, shown in ((pages[0], range(5)), (pages[1], range(5, 7))):
        shot_path = tmp_path / (os.path.basename(page) + ".png")
        _chromium(tmp_path, page, f"--screenshot={shot_path}")
        shot = np.asarray(Image.open(shot_path).convert("RGB"))
        assert shot.shape == (900, 1200, 3)
        for k, colour in enumerate(COLOURS):
            drawn = _colour_pixels(shot, colour)
            if k in shown:
                # Each 200x150 preview is drawn at full size, not blank.
                assert drawn >= 0.95 * 200 * 150, (page, k, drawn)
            else:
                # (link text may share a colour with a preview)
                assert drawn < 0.05 * 200 * 150, (page, k, drawn)


@pytest.mark.browser
def test_chromium_dom_counts_and_broken_preview(tmp_path):
    _make_previews(tmp_path / "p", n=3)
    # A corrupt preview: the page must still hold it, visibly marked.
    (tmp_path / "p" / flat_name("data/zz.fits")).write_bytes(b"not an image")
    page = write_gallery(tmp_path / "p", tmp_path / "p" / "index.html")[0]
    dom = _parse(_chromium(tmp_path, page, "--dump-dom"))
    assert len(dom.images) == 4
    assert [img["alt"] for img in dom.images] == [
        "data/f0.fits", "data/f1.fits", "data/f2.fits", "data/zz.fits"]
    assert dom.figure_classes == ["", "", "", "broken"]


def test_pagination_of_many_previews(tmp_path):
    previews = tmp_path / "p"
    for k in range(1001):
        path = previews / "d" / f"{k:05d}.fits.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    pages = write_gallery(previews, tmp_path / "g.html", page_size=200, naming="split:.png")
    assert len(pages) == 6
    counts = []
    for number, page in enumerate(pages, 1):
        dom = _parse(open(page, encoding="utf-8").read())
        counts.append(len(dom.images))
        assert all(img["loading"] == "lazy" for img in dom.images)
        if number < 6:
            assert f"g-{number + 1}.html" in dom.links
    assert counts == [200] * 5 + [1]
    last = _parse(open(pages[-1], encoding="utf-8").read())
    assert last.images[0]["alt"] == "d/01000.fits"
    assert last.images[0]["src"] == "p/d/01000.fits.png"


def test_naming_policies_and_strays(tmp_path):
    _make_previews(tmp_path, n=2)
    (tmp_path / ".ZGF0YS9hLmltcA==.x.tmp").write_bytes(b"")  # in-flight temp file
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    Image.new("L", (4, 4)).save(tmp_path / "sub" / "a.fits.jpeg")
    auto = [i.accref for i in collect_previews(tmp_path)]
    assert auto == ["data/f0.fits", "data/f1.fits", "sub/a.fits"]
    assert [i.accref for i in collect_previews(tmp_path, "standard")] == auto[:2]
    assert [i.accref for i in collect_previews(tmp_path, "split:.jpeg")] == ["sub/a.fits"]


def test_captions_from_fits_headers(tmp_path):
    inputs = tmp_path / "inputs"
    (inputs / "data").mkdir(parents=True)
    hdu = fits.PrimaryHDU(np.zeros((30, 40), np.int16))
    hdu.header.update(OBJECT="NGC 891 <b>", DATE="2020-01-01")
    hdu.header["DATE-OBS"] = "1921-10-03T21:10:00"
    hdu.writeto(inputs / "data" / "f0.fits")
    # A compressed image: the size comes from ZNAXISn of the extension.
    fits.HDUList([fits.PrimaryHDU(),
                  fits.CompImageHDU(np.zeros((16, 24), np.float32))]).writeto(
        inputs / "data" / "f1.fits")
    assert describe_source(str(inputs / "data" / "f0.fits")) == {
        "object": "NGC 891 <b>", "date_obs": "1921-10-03T21:10:00", "size": "40 x 30"}
    assert describe_source(str(inputs / "data" / "f1.fits")) == {"size": "24 x 16"}
    assert describe_source(str(inputs / "nope.fits")) == {}
    # A gzipped source: the primary header is read through the stream.
    with open(inputs / "data" / "f0.fits", "rb") as raw, \
            gzip.open(inputs / "data" / "f2.fits.gz", "wb") as packed:
        packed.write(raw.read())
    assert describe_source(str(inputs / "data" / "f2.fits.gz"))["object"] == "NGC 891 <b>"
    (inputs / "data" / "junk.fits").write_bytes(b"junk" * 1000)
    assert describe_source(str(inputs / "data" / "junk.fits")) == {}
    _make_previews(tmp_path / "p", n=3)
    page = write_gallery(tmp_path / "p", tmp_path / "i.html", inputs_dir=inputs)[0]
    text = open(page, encoding="utf-8").read()
    assert "NGC 891 &lt;b&gt; &middot; 1921-10-03T21:10:00 &middot; 40 x 30" in text
    assert "24 x 16" in text and "<b>" not in text


def test_empty_directory_and_bad_arguments(tmp_path):
    (tmp_path / "p").mkdir()
    pages = write_gallery(tmp_path / "p", tmp_path / "index.html")
    assert len(pages) == 1 and len(_parse(open(pages[0]).read()).images) == 0
    with pytest.raises(FileNotFoundError):
        write_gallery(tmp_path / "missing", tmp_path / "x.html")
    with pytest.raises(ValueError):
        write_gallery(tmp_path / "p", tmp_path / "x.html", page_size=0)


def test_cli_gallery(tmp_path, capsys):
    from fitsmill.cli import main
    _make_previews(tmp_path / "p", n=3)
    assert main(["gallery", str(tmp_path / "p"), "--page-size", "2", "--title", "Plates"]) == 0
    assert "2 page(s) written" in capsys.readouterr().out
    first = open(tmp_path / "p" / "index.html", encoding="utf-8").read()
    assert "<title>Plates (1/2)</title>" in first and len(_parse(first).images) == 2
    assert (tmp_path / "p" / "index-2.html").exists()
    assert main(["gallery", str(tmp_path / "nope"), "-o", str(tmp_path / "x.html")]) == 1
    assert "no such preview directory" in capsys.readouterr().err
