"""Helpers shared by the test modules (oracles that several modules use)."""

import hashlib
import math
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest
from astropy.io import fits

__all__ = ["data_digests", "fitsverify", "require_program", "shift_unit"]


def require_program(name):
    """Return the path of an external program, or fail the test clearly.

    The test command installs every program the suite needs, so a missing one
    is a broken install, not a reason to skip.
    """
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; run scripts/install-system-deps.sh")
    return path


def fitsverify(path):
    """Run Debian's fitsverify on ``path`` and assert it reports no error.

    Returns fitsverify's report, so a test can also look at its warnings.
    """
    exe = require_program("fitsverify")
    proc = subprocess.run([exe, "-e", str(path)], capture_output=True, text=True)
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "0 error" in report, report
    return report


def data_digests(path):
    """SHA-256 of every HDU's data bytes, located by astropy.

    Comparing the digests before and after an edit proves that no data byte
    changed, wherever the header edit moved the data.
    """
    raw = pathlib.Path(path).read_bytes()
    with fits.open(path) as hdul:
        spans = [(h.fileinfo()["datLoc"], h.size) for h in hdul]
    return [hashlib.sha256(raw[o:o + n]).hexdigest() for o, n in spans]


def shift_unit(directory):
    """Bytes per shift step in ``directory``; the test is skipped when its
    file system cannot shift."""
    from fitsmill._fileops import insert_range
    fd, probe = tempfile.mkstemp(dir=directory)
    try:
        bsize = os.fstatvfs(fd).f_bsize
        os.pwrite(fd, b"x" * 2 * bsize, 0)
        insert_range(fd, 0, bsize)
    except OSError as exc:
        pytest.skip(f"the file system of {directory} cannot insert ranges: {exc}")
    finally:
        os.close(fd)
        os.unlink(probe)
    return math.lcm(2880, bsize)
