"""Suite-wide fixtures."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_undo_dir(tmp_path_factory):
    # Header writes keep an undo log by default; tests must not leave logs
    # in the user's state directory.
    mp = pytest.MonkeyPatch()
    mp.setenv("FITSMILL_UNDO_DIR", str(tmp_path_factory.mktemp("undo")))
    yield
    mp.undo()
