"""Runners and what travels between processes: gathered state merges to
the serial result under -j and Dask, worker failures, progress output."""

import collections
import io
import os
import pickle

import pytest

from fitsmill import config, gather, runners
from fitsmill.errors import FitsmillError
from fitsmill.processor import FileProcessor, procmain
from fitsmill.progress import Progress, choose_mode
from fitsmill.runners import chunk_size_for

from framework_processors import Crasher, Stateful, Unsendable, WorkerOnlyFailure
from test_processor import dask_address, mode_args, run  # noqa: F401 -- fixtures


@pytest.fixture(autouse=True)
def clean_config(monkeypatch):
    monkeypatch.setattr(config, "_overrides", {})


STATE = ["names", "total", "labels", "by_parity", "kinds", "nested", "last"]


@pytest.fixture
def numbered(tmp_path):
    for i in range(300):
        (tmp_path / str(i)).write_text("")
    return [str(tmp_path / "*")]


def test_gathered_state_equals_serial(numbered, mode_args):
    serial = run(Stateful, sources=numbered)
    other = run(Stateful, mode_args, sources=numbered)
    # the expected values, computed without the framework
    order = sorted(range(300), key=str)
    assert serial.names == order
    assert serial.total == sum(n * n for n in order)
    assert serial.labels == collections.Counter(even=150, odd=150)
    assert serial.nested == {"squares": {r: sum(n * n for n in order if n % 3 == r)
                                         for r in range(3)}}
    for name in STATE:
        assert getattr(other, name) == getattr(serial, name), name
    if mode_args:
        assert other._scratch == [], "underscore attributes must stay in workers"


def test_gather_rules():
    class Obj:
        pass

    obj = Obj()
    obj.items, obj.count, obj.flag, obj.text = [1], 10, False, "a"
    obj.members, obj.table = {1}, {"k": [1], "n": 1, "d": {"x": 1}}
    snap = gather.snapshot(vars(obj))
    obj.items.append(2)
    obj.count += 5
    obj.flag, obj.text = True, "b"
    obj.members.add(2)
    obj.table["k"].append(2)
    obj.table["n"] += 2
    obj.table["d"]["y"] = [3]
    obj.table["new"] = collections.Counter(a=1)
    obj.fresh = [7]
    changes = pickle.loads(pickle.dumps(gather.diff(snap, vars(obj))))

    parent = Obj()
    parent.items, parent.count, parent.flag, parent.text = [1, 9], 11, False, "a"
    parent.members = {1, 5}
    parent.table = {"k": [1, 8], "n": 2, "d": {"x": 1, "y": [4]},
                    "new": collections.Counter(a=2)}
    gather.merge(parent, changes)
    assert parent.items == [1, 9, 2] and parent.count == 16
    assert parent.flag is True and parent.text == "b"
    assert parent.members == {1, 2, 5}
    assert parent.table == {"k": [1, 8, 2], "n": 4, "d": {"x": 1, "y": [4, 3]},
                            "new": collections.Counter(a=3)}
    assert parent.fresh == [7]
    assert gather.diff(gather.snapshot(vars(obj)), vars(obj)) == {}


def test_replaced_list_replaces():
    class Obj:
        pass

    obj = Obj()
    obj.items = [1, 2, 3]
    snap = gather.snapshot(vars(obj))
    obj.items = [4]
    parent = Obj()
    parent.items = [1, 2, 3]
    gather.merge(parent, gather.diff(snap, vars(obj)))
    assert parent.items == [4]


def test_worker_setup_failure_fails_every_source(numbered, monkeypatch):
    monkeypatch.setenv("FITSMILL_TEST_PARENT", str(os.getpid()))
    proc = run(WorkerOnlyFailure, ["-j", "2"], sources=numbered)
    assert proc.summary.failed == 300 and proc.exit_status == 1
    assert {r for _, r, _ in proc.summary.failures} == {
        "worker failed: RuntimeError: processor setup failed in the worker:"
        " RuntimeError: no catalogue here"}


def test_unpicklable_return_value_fails_that_source(tmp_path):
    for i in range(10):
        (tmp_path / f"f{i}").write_text("")
    proc = run(Unsendable, ["-j", "2"], sources=[str(tmp_path / "f*")])
    assert [v for _, v in proc.processResults] == [f"f{i}" for i in range(10) if i != 7]
    assert proc.summary.failures == [(str(tmp_path / "f7"),
                                      "return value of type function cannot be"
                                      " sent to the parent process", "")]


def test_class_that_cannot_be_imported_runs_in_pool(tmp_path):
    class Local(FileProcessor):
        def _createAuxiliaries(self, dd):
            self.seen = []

        def process(self, srcName):
            self.seen.append(os.path.basename(srcName))

    for i in range(6):
        (tmp_path / f"f{i}").write_text("")
    proc = procmain(Local, argv=["-j", "2", "--no-progress"], exit=False,
                    sources=[str(tmp_path / "f*")])
    assert proc.seen == [f"f{i}" for i in range(6)]


@pytest.mark.slow
def test_worker_crash_fails_only_its_source(tmp_path):
    for i in range(40):
        (tmp_path / f"f{i:02d}").write_text("")
    proc = run(Crasher, ["-j", "2"], sources=[str(tmp_path / "f*")])
    assert proc.done == [f"f{i:02d}" for i in range(40) if i != 13]
    assert proc.summary.failures == [(
        str(tmp_path / "f13"), "worker failed: WorkerDied: the worker process"
        " died while processing this source", "")]
    assert proc.exit_status == 1


def test_chunk_sizes():
    assert chunk_size_for(0, 2) == 1
    assert chunk_size_for(10, 2) == 1
    assert chunk_size_for(1600, 2) == 100
    assert chunk_size_for(10**6, 2) == 256


@pytest.mark.parametrize("n, workers", [(0, 2), (1, 2), (7, 2), (300, 2), (1000, 4),
                                        (100_000, 2)])
def test_tasks_shrink_towards_the_end(n, workers):
    # Every source once, in order; no task above chunk_size_for; sizes
    # never grow; the tail is single sources, so workers finish together.
    from fitsmill.runners import _chunks
    idents = list(range(n))
    chunks = _chunks(idents, workers)
    assert [i for chunk in chunks for i in chunk] == idents
    sizes = [len(chunk) for chunk in chunks]
    assert all(0 < size <= chunk_size_for(n, workers) for size in sizes)
    assert sizes == sorted(sizes, reverse=True)
    if n >= 4 * workers:
        assert sizes[-4 * workers:] == [1] * (4 * workers)
        # the shrinking costs few extra tasks
        assert len(chunks) <= -(-n // chunk_size_for(n, workers)) + 12 * workers * 4


def test_progress_modes():
    stream = io.StringIO()
    progress = Progress(4, "plain", stream, interval=0.0)
    progress.update()
    progress.update(1, 1)
    progress.close()
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("1/4 sources done, 0 failed, ")
    assert lines[1].startswith("2/4 sources done, 1 failed, ") and "ETA" in lines[1]
    assert lines[-1].startswith("2/4 sources done, 1 failed, ")

    short = io.StringIO()
    progress = Progress(4, "plain", short, interval=3600.0)
    progress.update(4)
    progress.close()
    assert short.getvalue() == "", "a run shorter than the interval is silent"

    quiet = io.StringIO()
    progress = Progress(4, "off", quiet)
    progress.update(4)
    progress.close()
    assert quiet.getvalue() == "" and progress.done == 4

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    term = Terminal()
    assert choose_mode(True, term) == "bar"
    assert choose_mode(True, io.StringIO()) == "plain"
    assert choose_mode(False, term) == "off"
    progress = Progress(3, choose_mode(True, term), term)
    progress.update(2, 1)
    progress.update()
    progress.close()
    assert "3/3" in term.getvalue() and "1 failed" in term.getvalue()


def test_worker_context_forks_only_without_other_threads(monkeypatch):
    monkeypatch.delenv("FITSMILL_START_METHOD", raising=False)
    monkeypatch.setattr(runners.sys, "platform", "linux")
    # (other tests may leave threads behind: the count is what is decided on)
    monkeypatch.setattr(runners.threading, "active_count", lambda: 1)
    assert runners.worker_context().get_start_method() == "fork"
    monkeypatch.setattr(runners.threading, "active_count", lambda: 2)
    assert runners.worker_context().get_start_method() in ("forkserver", "spawn")
    monkeypatch.setattr(runners.sys, "platform", "darwin")
    monkeypatch.setattr(runners.threading, "active_count", lambda: 1)
    assert runners.worker_context().get_start_method() in ("forkserver", "spawn")


def test_worker_context_override(monkeypatch):
    monkeypatch.setenv("FITSMILL_START_METHOD", "spawn")
    assert runners.worker_context().get_start_method() == "spawn"
    monkeypatch.setenv("FITSMILL_START_METHOD", "vfork")
    with pytest.raises(FitsmillError, match="FITSMILL_START_METHOD"):
        runners.worker_context()
