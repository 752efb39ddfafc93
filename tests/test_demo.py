"""`fitsmill demo` runs end to end on a fresh directory and leaves real output."""

import subprocess
import sys

from astropy.io import fits
from astropy.wcs import WCS
from PIL import Image


def test_demo_end_to_end(tmp_path):
    out = tmp_path / "demo"
    proc = subprocess.run(
        [sys.executable, "-m", "fitsmill", "demo", str(out), "--plate-size", "512"],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "gallery:" in proc.stdout
    # The calibration step solved both Tycho-2 plates (the test command
    # installs astrometry.net, so it must not be skipped).
    assert proc.stdout.count("arcsec/px (true 10.800)") == 2, proc.stdout

    plates = sorted((out / "calibration").glob("*.fits"))
    assert len(plates) == 2
    for plate in plates:
        assert WCS(fits.getheader(plate)).has_celestial, plate

    archive = sorted(p.relative_to(out / "archive").as_posix()
                     for p in (out / "archive").rglob("*") if p.is_file())
    previews = sorted(p for p in (out / "previews").rglob("*") if p.is_file())
    # One preview per sample file, mirroring the archive tree.
    assert sorted(p.relative_to(out / "previews").as_posix().rsplit(".", 1)[0]
                  for p in previews) == archive
    for path in previews:
        with Image.open(path) as img:
            img.load()
            assert min(img.size) > 10
            lo, hi = img.convert("L").getextrema()
            assert hi - lo > 50, f"{path} is nearly blank"

    html = (out / "index.html").read_text()
    assert html.count("<img") == len(previews)

