"""atomic_write: the target gets the whole content or keeps its old one,
for every spelling of the target's path; nothing else is left behind."""

import os

import pytest

from fitsmill import atomic
from fitsmill.atomic import atomic_write


def _spellings(tmp_path):
    base = str(tmp_path)
    return ["name", f"{base}/a/name", f"{base}//b//name", "c/name", "./name2", "n" * 250]


@pytest.mark.parametrize("data", [b"bytes", bytearray(b"array"),
                                  memoryview(b"view"), [b"chunk", b"s"]])
def test_paths_and_data(tmp_path, monkeypatch, data):
    monkeypatch.chdir(tmp_path)
    expected = b"".join(data) if isinstance(data, list) else bytes(data)
    for path in _spellings(tmp_path):
        atomic_write(path, data)
        with open(path, "rb") as f:
            assert f.read() == expected
        atomic_write(path, b"again")  # replaces
        with open(path, "rb") as f:
            assert f.read() == b"again"
    left = [n for _, _, names in os.walk(tmp_path) for n in names if n.endswith(".tmp")]
    assert left == []


def test_target_paths_are_split_like_os_path(monkeypatch):
    # the temporary file's prefix and the directory to create or flush:
    # "/name" lives in "/" (not ""), a bare name in "."
    seen = []

    def create_temp(prefix, base, directory, makedirs):
        seen.append((prefix, base, directory))
        raise OSError("not created")

    monkeypatch.setattr(atomic, "_create_temp", create_temp)
    for path in ("/name", "//name", "rel/x/", "name"):
        with pytest.raises(OSError):
            atomic_write(path, b"")
    assert seen == [("/", "name", "/"), ("//", "name", "/"), ("rel/x/", "", "rel/x"),
                    ("", "name", ".")]


def test_failing_chunks_leave_nothing(tmp_path):
    def chunks():
        yield b"part"
        raise RuntimeError("stop")

    target = tmp_path / "t"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        atomic_write(target, chunks())
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["t"]
