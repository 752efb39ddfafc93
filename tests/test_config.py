"""inputsDir precedence and the other getConfig items."""

import os
import tempfile

import pytest

from fitsmill import api, config


@pytest.fixture
def env(tmp_path, monkeypatch):
    """No overrides, no environment, DaCHS files and /var/gavo moved into
    tmp_path (so the machine's own configuration cannot interfere)."""
    monkeypatch.setattr(config, "_overrides", {})
    for var in ("FITSMILL_INPUTS_DIR", "GAVO_INPUTSDIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GAVOSETTINGS", str(tmp_path / "gavo.rc"))
    monkeypatch.setenv("GAVOCUSTOM", str(tmp_path / "gavorc"))
    monkeypatch.setattr(config, "_DEFAULT_ROOT", str(tmp_path / "var-gavo"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_precedence_chain(env, monkeypatch):
    # 6. nothing at all: the current directory
    assert config.inputs_dir() == str(env)
    # 5. the DaCHS default directory, if it exists
    (env / "var-gavo" / "inputs").mkdir(parents=True)
    assert config.inputs_dir() == str(env / "var-gavo" / "inputs")
    # 4. DaCHS config files: system-wide, then the user's over it
    (env / "gavo.rc").write_text("[general]\nrootDir: /srv/gavo\n")
    assert config.inputs_dir() == "/srv/gavo/inputs"
    (env / "gavorc").write_text("[general]\ninputsDir = archive\n")
    assert config.inputs_dir() == "/srv/gavo/archive"
    (env / "gavorc").write_text("[general]\ninputsDir = /data/in\n")
    assert config.inputs_dir() == "/data/in"
    # 3. GAVO_INPUTSDIR, 2. FITSMILL_INPUTS_DIR
    monkeypatch.setenv("GAVO_INPUTSDIR", "/gavo/env")
    assert config.inputs_dir() == "/gavo/env"
    monkeypatch.setenv("FITSMILL_INPUTS_DIR", "/fm/env")
    assert config.inputs_dir() == "/fm/env"
    # 1. the command line (--inputs-dir)
    config.set_override("inputsDir", "rel/dir")
    assert config.inputs_dir() == str(env / "rel" / "dir")
    assert api.getConfig("inputsDir") == str(env / "rel" / "dir")
    assert api.getConfig("general", "inputsdir") == str(env / "rel" / "dir")
    config.set_override("inputsDir", None)
    assert api.getConfig("inputsDir") == "/fm/env"


def test_other_items_follow_root_dir(env):
    (env / "gavo.rc").write_text(
        "[general]\nrootDir: /srv/g\ncacheDir: /fast/cache\nwebDir: www\n"
        "operator: someone@example.org\n[web]\npreviewCache: pc\n")
    assert api.getConfig("rootDir") == "/srv/g"
    assert api.getConfig("cacheDir") == "/fast/cache"
    assert api.getConfig("logDir") == "/srv/g/logs"
    assert api.getConfig("stateDir") == "/srv/g/state"
    assert api.getConfig("webDir") == "/srv/g/www"
    assert api.getConfig("web", "previewCache") == "/srv/g/www/pc"
    assert api.getConfig("tempDir") == tempfile.gettempdir()
    assert api.getConfig("operator") == "someone@example.org"


def test_defaults_without_files(env):
    root = str(env / "var-gavo")
    assert api.getConfig("rootDir") == root
    assert api.getConfig("cacheDir") == os.path.join(root, "cache")
    assert api.getConfig("web", "previewCache") == os.path.join(root, "web", "previewcache")
    with pytest.raises(config.ConfigError, match=r"\[general\] nosuchitem"):
        api.getConfig("noSuchItem")
    assert api.getConfig("noSuchItem", default=None) is None


def test_unreadable_config_file_is_ignored(env):
    (env / "gavo.rc").write_text("this is [not an ini file\n")
    assert config.inputs_dir() == str(env)
