"""The DaCHS-compatible namespaces resolve every name they promise."""

import importlib
import subprocess
import sys

import pytest

from fitsmill import api
from fitsmill.compat import fitstools, fitstricks, imgtools

NAMESPACES = [api, fitstools, fitstricks, imgtools]


@pytest.mark.parametrize(
    "namespace, name",
    [(ns, name) for ns in NAMESPACES for name in ns.__all__],
    ids=lambda v: v if isinstance(v, str) else v.__name__)
def test_name_resolves(namespace, name):
    obj = getattr(namespace, name)
    assert obj is not None
    target = namespace._NAMES[name]
    mod_name, _, attr = target.partition(":")
    expected = importlib.import_module(mod_name)
    assert obj is (getattr(expected, attr) if attr else expected)


def test_unknown_name_is_attribute_error():
    with pytest.raises(AttributeError, match="nosuchname"):
        api.nosuchname


def test_importing_api_is_cheap():
    # A processor script imports api before parsing options: importing it
    # must not drag in astropy, numpy or the compiled core.
    code = ("import sys; from fitsmill import api; "
            "print(sorted(m for m in ('astropy', 'numpy', 'fitsmill._rows') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "[]"


def test_dachs_script_import_style():
    # DaCHS scripts do `from gavo import api` then `api.FileProcessor`;
    # the module-level names must also work with `from ... import`.
    from fitsmill.api import FileProcessor, procmain  # noqa: F401
    assert callable(procmain)
