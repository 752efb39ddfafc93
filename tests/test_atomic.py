"""atomic_write: the target gets the whole content or keeps its old one,
for every spelling of the target's path; nothing else is left behind."""

import errno
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
    # "/name" lives in "/" (not ""), a bare name in "."; the unnamed
    # file's way gets the same
    seen, unnamed = [], []

    def create_temp(prefix, base, directory, makedirs):
        seen.append((prefix, base, directory))
        raise OSError("not created")

    def write_unnamed(path, prefix, base, directory, data, fsync):
        unnamed.append((prefix, base, directory))
        return False

    monkeypatch.setattr(atomic, "_create_temp", create_temp)
    monkeypatch.setattr(atomic, "_write_unnamed", write_unnamed)
    monkeypatch.setattr(atomic, "_unnamed", True)
    monkeypatch.setattr(os, "access", lambda *args: False)  # none of them exists
    for path in ("/name", "//name", "rel/x/", "name"):
        with pytest.raises(OSError):
            atomic_write(path, b"")
    assert seen == unnamed == [("/", "name", "/"), ("//", "name", "/"),
                               ("rel/x/", "", "rel/x"), ("", "name", ".")]


@pytest.mark.parametrize("unnamed", [True, False])
@pytest.mark.parametrize("fsync", [True, False])
def test_new_and_replaced_files_both_ways(tmp_path, monkeypatch, unnamed, fsync):
    # with and without unnamed files (O_TMPFILE, named through /proc): the
    # same content, mode and no leftovers, for new and existing targets
    # and through a symbolic link to the directory
    unnamed = unnamed and atomic._unnamed
    monkeypatch.setattr(atomic, "_unnamed", unnamed)
    temps = []
    create_temp = atomic._create_temp
    monkeypatch.setattr(atomic, "_create_temp", lambda *a: temps.append(a) or create_temp(*a))
    os.umask(umask := os.umask(0o022))
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to("real")
    for name in ("real/a", "link/b", "real/a", "link/b", "new/dir/c"):
        for content in (b"one", b"two" * 3000):
            atomic_write(tmp_path / name, content, fsync=fsync)
            target = tmp_path / name
            assert target.read_bytes() == content
            assert target.stat().st_mode & 0o777 == 0o666 & ~umask
            assert not target.is_symlink()
    assert sorted(os.listdir(tmp_path / "real")) == ["a", "b"]
    assert os.listdir(tmp_path / "new" / "dir") == ["c"]
    # (the unnamed way makes the new files but the one of a new directory)
    assert len(temps) == (8 if unnamed else 10)


def test_unnamed_files_fall_back_where_proc_cannot_name_them(tmp_path, monkeypatch):
    if not atomic._unnamed:
        pytest.skip("no O_TMPFILE and /proc here")
    real_link = os.link

    def link(src, dst, **kwargs):
        if src.startswith("/proc/self/fd/"):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real_link(src, dst, **kwargs)

    monkeypatch.setattr(os, "link", link)
    atomic_write(tmp_path / "t", b"content")
    assert (tmp_path / "t").read_bytes() == b"content" and not atomic._unnamed
    assert os.listdir(tmp_path) == ["t"]


def test_directories_without_unnamed_files_are_remembered(tmp_path, monkeypatch):
    if not hasattr(os, "O_TMPFILE"):
        pytest.skip("no O_TMPFILE here")
    real_open = os.open
    tried = []

    def fake_open(path, flags, *args, **kwargs):
        if flags & getattr(os, "O_TMPFILE", 0) == getattr(os, "O_TMPFILE", -1):
            tried.append(path)
            raise OSError(errno.EOPNOTSUPP, "not supported")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(atomic, "_unnamed", True)
    monkeypatch.setattr(atomic, "_NO_UNNAMED", set())
    monkeypatch.setattr(os, "open", fake_open)
    for content in (b"1", b"2"):
        atomic_write(tmp_path / "t", content)
        assert (tmp_path / "t").read_bytes() == content
    assert tried == [str(tmp_path)] and atomic._NO_UNNAMED == {str(tmp_path)}


def test_failing_chunks_leave_nothing(tmp_path):
    def chunks():
        yield b"part"
        raise RuntimeError("stop")

    target = tmp_path / "t"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        atomic_write(target, chunks())
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["t"]
