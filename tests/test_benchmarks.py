"""Every benchmark script runs in its --quick smoke mode, so none can rot.

These are not timing tests: they only check that the scripts run to the
end and print their comparison.
"""

import pathlib
import subprocess
import sys

import pytest

BENCH_DIR = pathlib.Path(__file__).resolve().parent.parent / "benchmarks"
SCRIPTS = sorted(p for p in BENCH_DIR.glob("*.py") if not p.name.startswith("_"))


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_benchmark_quick_mode(script, tmp_path):
    proc = subprocess.run([sys.executable, str(script), "--quick"],
                          cwd=tmp_path, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert proc.stdout.strip(), "benchmark printed nothing"
