"""FileProcessor and procmain: the DaCHS manual's examples, serial, with -j 2
and on Dask, plus exit codes, failures, reports and the option shim."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from astropy.io import fits

from fitsmill import api, config
from fitsmill.processor import FileProcessor, parse_options, procmain, run_cli
from fitsmill.sources import PathSources, load_rd

from manual_examples import accrefs, catprocessor, classifier, sizechecker

HERE = pathlib.Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def clean_config(monkeypatch):
    monkeypatch.setattr(config, "_overrides", {})
    for var in ("FITSMILL_INPUTS_DIR", "GAVO_INPUTSDIR"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="module")
def dask_address():
    distributed = pytest.importorskip("dask.distributed")
    import logging
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                       processes=True, dashboard_address=":0",
                                       silence_logs=logging.ERROR)
    yield cluster.scheduler_address
    cluster.close()


MODES = ["serial", "j2", "j2-clean", pytest.param("dask", marks=pytest.mark.slow)]


@pytest.fixture(params=MODES)
def mode_args(request):
    if request.param == "serial":
        return []
    if request.param.startswith("j2"):
        # forked workers by default; clean ones (forkserver) as a fork
        # is not always safe (runners.worker_context)
        if request.param == "j2-clean":
            request.getfixturevalue("monkeypatch").setenv("FITSMILL_START_METHOD",
                                                          "forkserver")
        return ["-j", "2"]
    return ["--dask", request.getfixturevalue("dask_address")]


def run(cls, argv=(), **kwargs):
    """procmain without progress output and without exiting."""
    return procmain(cls, argv=list(argv) + ["--no-progress"], exit=False, **kwargs)


def write_rd(inputs, rd_id, body):
    path = inputs / f"{rd_id}.rd"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(body))
    return path


@pytest.fixture
def size_archive(tmp_path):
    """inputs/potsdam/data with files whose names carry their expected size;
    every third one is off by a different amount."""
    inputs = tmp_path / "inputs"
    data = inputs / "potsdam" / "data"
    data.mkdir(parents=True)
    wrong = {}
    for i in range(12):
        expected = 100 + 10 * i
        actual = expected + (i if i % 3 == 0 and i else 0)
        path = data / f"plate{i:02d}_{expected}.dat"
        path.write_bytes(b"x" * actual)
        if actual != expected:
            wrong[str(path)] = (expected, actual)
    write_rd(inputs, "potsdam/q", """\
        <resource schema="potsdam">
          <data id="import"><sources pattern="data/*.dat"/></data>
        </resource>""")
    return inputs, wrong


def test_size_checker(size_archive, mode_args, capfd):
    inputs, wrong = size_archive
    if "--dask" in mode_args:
        # workers of the shared cluster started before capfd took over the
        # output; a cluster of our own (also testing "--dask local") prints
        # where capfd looks
        mode_args = ["--dask", "local", "-j", "2"]
    proc = run(sizechecker.SizeChecker, mode_args + ["--inputs-dir", str(inputs)],
               rdId="potsdam/q", ddId="import")
    out = capfd.readouterr().out.splitlines()
    printed = sorted(ln for ln in out if ": is " in ln)
    assert printed == sorted(f"{name}: is {a}, should be {e}"
                             for name, (e, a) in wrong.items())
    assert "12 files processed, 0 files with errors" in out
    assert proc.exit_status == 0


def test_gathering_data(size_archive, mode_args):
    inputs, wrong = size_archive
    res = run(sizechecker.GatheringSizeChecker, mode_args,
              rdId="potsdam/q", ddId="import", inputs_dir=str(inputs))
    # gathered in source order in every mode, so -j and Dask equal serial
    assert res.mess == [(n, e, a) for n, (e, a) in sorted(wrong.items())]
    lines = sizechecker.sorted_mess_report(res)
    expected = sorted(wrong.items(), key=lambda kv: abs(kv[1][0] - kv[1][1]))
    assert lines == ["%10d %10d %8d %s" % (e, a, e - a, n)
                     for n, (e, a) in expected]


@pytest.fixture
def cat_archive(tmp_path):
    inputs = tmp_path / "inputs"
    (inputs / "plates" / "res").mkdir(parents=True)
    (inputs / "plates" / "scans").mkdir()
    names = [f"p{i}.fits" for i in range(9)]
    for name in names:
        (inputs / "plates" / "scans" / name).write_bytes(b"")
    (inputs / "plates" / "res" / "plates.cat").write_text(
        "".join(f"{n} {i * 7}\n" for i, n in enumerate(names[:-1])))
    (inputs / "plates" / "res" / "other.cat").write_text(
        "".join(f"{n} X{i}\n" for i, n in enumerate(names)))
    write_rd(inputs, "plates/q", """\
        <resource schema="plates" resdir="plates">
          <data id="import">
            <sources><pattern>scans/*.fits</pattern></sources>
          </data>
        </resource>""")
    return inputs, names


def test_cat_name_option_and_auxiliaries(cat_archive, mode_args):
    inputs, names = cat_archive
    proc = run(catprocessor.Processor, mode_args + ["--inputs-dir", str(inputs)],
               rdId="plates/q", ddId="import")
    # default --cat-name: the last plate is missing from res/plates.cat
    assert proc.opts.catPath == "res/plates.cat"
    assert proc.catEntriesUsed == 8
    assert proc.used == {n: str(i * 7) for i, n in enumerate(names[:-1])}
    assert [(os.path.basename(s), v) for s, v in proc.processResults] == [
        (n, str(i * 7)) for i, n in enumerate(names[:-1])]
    assert proc.exit_status == 1
    [(source, reason, _)] = proc.summary.failures
    assert source.endswith("p8.fits") and reason == "KeyError: 'p8.fits not in catalogue'"

    proc = run(catprocessor.Processor, mode_args + [
        "--inputs-dir", str(inputs), "--cat-name", "res/other.cat"],
        rdId="plates/q", ddId="import")
    assert proc.catEntriesUsed == 9 and proc.exit_status == 0
    assert proc.used == {n: f"X{i}" for i, n in enumerate(names)}


@pytest.fixture
def header_files(tmp_path):
    """FITS files with and without FILTER_A, plus one that is not FITS."""
    paths = []
    for i in range(7):
        hdu = fits.PrimaryHDU(np.zeros((2, 2), dtype=np.int16))
        if i % 3 == 0:
            hdu.header["FILTER_A"] = True
        path = tmp_path / f"img{i}.fits"
        hdu.writeto(path)
        paths.append(path)
    (tmp_path / "broken.fits").write_bytes(b"this is not FITS" * 200)
    return tmp_path


def expected_classes(directory):
    classes = {}
    for path in sorted(directory.glob("img*.fits")):
        label = "ok" if fits.getheader(path).get("FILTER_A") else "nofilter"
        classes.setdefault(label, []).append(path.name)
    return classes


def test_classify_report(header_files, mode_args, capfd):
    proc = run(classifier.Classifier, mode_args + ["--report"],
               sources=[str(header_files / "*.fits")])
    out = capfd.readouterr().out
    classes = expected_classes(header_files)
    assert {k: sorted(v) for k, v in proc.reportDict.items()} == classes
    assert not list(header_files.glob("*.processed")), "--report called process"
    rows = sorted((len(v), k) for k, v in classes.items())
    width = max(len(str(n)) for n, _ in rows)
    lwidth = max(len(k) for _, k in rows)
    table = "\n".join(f"{str(n).rjust(width)}  {k.rjust(lwidth)}" for n, k in rows)
    assert out.startswith(
        "\n\nProcessor Report\n================\n\n"
        "Warning: There were 1 errors during classification\n"
        + table + "\n\n\n")
    assert "8 files processed, 1 files with errors" in out
    assert proc.exit_status == 1


def test_classify_verbose_report(header_files, capfd):
    (header_files / "broken.fits").unlink()
    run(classifier.Classifier, ["--report", "--verbose"],
        sources=[str(header_files / "*.fits")])
    out = capfd.readouterr().out
    classes = expected_classes(header_files)
    big, small = sorted(classes, key=lambda k: -len(classes[k]))
    assert out.startswith(
        "\n\nProcessor Report\n================\n\n"
        f"\n{big}\n{'-' * len(big)}\n\n{len(classes[big])} items\n\n"
        f"\n{small}\n{'-' * len(small)}\n\n{len(classes[small])} items:\n\n"
        + ", ".join(sorted(classes[small])) + "\n\n\n")


def test_empty_report_does_not_crash(tmp_path, capfd):
    for extra in ([], ["--verbose"]):
        proc = run(classifier.Classifier, ["--report"] + extra,
                   sources=[str(tmp_path / "*.fits")])
        assert proc.exit_status == 0 and proc.reportDict == {}
    out = capfd.readouterr().out
    assert out.count("Processor Report") == 2
    assert "0 files processed, 0 files with errors" in out


def test_iter_identifiers_override(tmp_path, mode_args):
    accrefs_list = [f"data/s{i}.fits" if i % 2 else f"data/s{i}.vot"
                    for i in range(11)]
    (tmp_path / "accrefs.txt").write_text("\n".join(accrefs_list) + "\n")
    proc = run(accrefs.AccrefLister, mode_args, inputs_dir=str(tmp_path))
    assert proc.seen == accrefs_list
    proc = run(accrefs.NoVotLister, mode_args, inputs_dir=str(tmp_path))
    assert proc.seen == [a for a in accrefs_list if not a.endswith(".vot")]
    proc = run(accrefs.NoVotLister, mode_args + ["--filter", "s3"],
               inputs_dir=str(tmp_path))
    assert proc.seen == ["data/s3.fits"]
    assert proc.summary.not_selected == 4


class FailingProcessor(FileProcessor):
    """Fails on sources whose name contains "bad", skips "skip" ones."""

    def _createAuxiliaries(self, dd):
        self.done = []

    def process(self, srcName):
        if "bad" in srcName:
            raise ValueError(f"cannot handle {os.path.basename(srcName)}\nmore")
        if "skip" in srcName:
            raise api.SkipThis()
        self.done.append(os.path.basename(srcName))
        return len(srcName)


@pytest.fixture
def mixed(tmp_path):
    names = ["a.dat", "bad1.dat", "c.dat", "skip1.dat", "d.dat", "bad2.dat", "e.dat"]
    for name in names:
        (tmp_path / name).write_text(name)
    return tmp_path, names


def test_failures_summary_and_json(mixed, capfd):
    directory, names = mixed
    summary_path = directory / "summary.json"
    proc = run(FailingProcessor, ["--summary-json", str(summary_path),
                                  "--sources", str(directory / "*.dat")])
    out = capfd.readouterr().out
    assert proc.done == ["a.dat", "c.dat", "d.dat", "e.dat"]
    assert proc.exit_status == 1
    assert out.splitlines()[:5] == [
        "6 files processed, 2 files with errors",
        "succeeded: 4, skipped: 1, failed: 2",
        "failed sources:",
        f"  {directory / 'bad1.dat'}: ValueError: cannot handle bad1.dat",
        f"  {directory / 'bad2.dat'}: ValueError: cannot handle bad2.dat"]
    assert "Traceback" not in out
    data = json.loads(summary_path.read_text())
    assert (data["processed"], data["succeeded"], data["skipped"], data["failed"],
            data["exit_status"]) == (6, 4, 1, 2, 1)
    assert [f["source"] for f in data["failures"]] == [
        str(directory / "bad1.dat"), str(directory / "bad2.dat")]
    assert all("Traceback" in f["traceback"] for f in data["failures"])


def test_verbose_summary_has_tracebacks(mixed, capfd):
    directory, _ = mixed
    run(FailingProcessor, ["--verbose", str(directory / "bad1.dat")])
    out = capfd.readouterr().out
    assert "Traceback (most recent call last)" in out
    assert "ValueError: cannot handle bad1.dat" in out


def test_unwritable_summary_json_is_an_error(mixed, capfd):
    directory, _ = mixed
    target = directory / "no" / "such" / "dir" / "s.json"
    proc = run(FailingProcessor, ["--summary-json", str(target),
                                  str(directory / "a.dat")], prog="t")
    assert proc.summary.failed == 0 and proc.exit_status == 1
    assert (f"t: error: cannot write --summary-json {target}: No such file or"
            " directory") in capfd.readouterr().err


def test_exit_true_exits_on_failure(mixed):
    directory, _ = mixed
    with pytest.raises(SystemExit) as info:
        procmain(FailingProcessor, argv=["--no-progress", str(directory / "bad1.dat")],
                 exit=True)
    assert info.value.code == 1
    proc = procmain(FailingProcessor, argv=["--no-progress", str(directory / "a.dat")],
                    exit=True)
    assert proc.exit_status == 0


def test_run_cli_statuses(mixed, tmp_path, capfd):
    directory, _ = mixed
    assert run_cli(FailingProcessor, ["--no-progress", str(directory / "a.dat")]) == 0
    assert run_cli(FailingProcessor, ["--no-progress", str(directory / "bad1.dat")]) == 1
    status = run_cli(catprocessor.Processor, ["--no-progress",
                     "--inputs-dir", str(tmp_path)], prog="fitsmill demo")
    err = capfd.readouterr().err
    assert status == 1
    assert err.strip().splitlines() == [
        "fitsmill demo: error: setting up Processor failed: FileNotFoundError:"
        f" [Errno 2] No such file or directory: '{tmp_path}/res/plates.cat'"]


def test_process_returning_exception_counts_as_error(tmp_path):
    class Returner(FileProcessor):
        def process(self, srcName):
            return RuntimeError("returned, not raised")

    (tmp_path / "x").write_text("")
    proc = run(Returner, [str(tmp_path / "x")])
    assert proc.summary.failures == [
        (str(tmp_path / "x"), "RuntimeError: returned, not raised", "")]


def test_source_list_with_unreadable_entries(tmp_path, mode_args):
    good = tmp_path / "good.dat"
    good.write_text("hello")
    (tmp_path / "adir").mkdir()
    odd_name = os.fsdecode(b"odd-\xff.dat")
    (tmp_path / odd_name).write_text("odd")
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join([
        "# a comment", str(good), "", str(tmp_path / "missing.dat"),
        str(tmp_path / "adir"), str(tmp_path / odd_name)]) + "\n",
        encoding="utf-8", errors="surrogateescape")

    class Reader(FileProcessor):
        def process(self, srcName):
            with open(srcName, "rb") as f:
                return f.read()

    proc = run(Reader, mode_args + ["@" + str(listing)])
    assert proc.processResults == [(str(good), b"hello"),
                                   (str(tmp_path / odd_name), b"odd")]
    failures = {s: r for s, r, _ in proc.summary.failures}
    assert failures == {
        str(tmp_path / "missing.dat"): "FileNotFoundError: [Errno 2] No such file"
        f" or directory: '{tmp_path / 'missing.dat'}'",
        str(tmp_path / "adir"): "IsADirectoryError: [Errno 21] Is a directory:"
        f" '{tmp_path / 'adir'}'"}
    assert proc.exit_status == 1


def test_iteration_error_is_reported_as_such(tmp_path, capfd):
    class Broken(FileProcessor):
        def _createAuxiliaries(self, dd):
            self.seen = []

        def iterIdentifiers(self):
            yield "one"
            yield "two"
            raise ConnectionError("database went away")

        def process(self, srcName):
            self.seen.append(srcName)

    proc = run(Broken)
    out = capfd.readouterr().out
    assert proc.seen == ["one", "two"]
    assert proc.summary.failed == 0 and proc.exit_status == 1
    assert ("error while listing the sources (iterIdentifiers): ConnectionError:"
            " database went away (after 2 identifiers)") in out
    assert "2 files processed, 0 files with errors" in out


def test_shards_partition_the_sources(tmp_path):
    for i in range(40):
        (tmp_path / f"f{i:03d}").write_text("")
    everything = run(FailingProcessor, [str(tmp_path / "f*")]).done
    parts = [run(FailingProcessor, ["--shard", f"{k}/3", str(tmp_path / "f*")]).done
             for k in (1, 2, 3)]
    assert sorted(sum(parts, [])) == sorted(everything) and len(everything) == 40
    assert all(parts), "a shard of 40 sources is empty"
    # the same split in another process (no hash randomisation involved)
    code = ("import sys; from fitsmill.processor import shard_of; "
            "print([shard_of(f'{sys.argv[1]}/f{i:03d}', 3) for i in range(40)])")
    other = subprocess.run([sys.executable, "-c", code, str(tmp_path)],
                           capture_output=True, text=True, check=True).stdout
    mine = [k for i in range(40) for k in (1, 2, 3)
            if os.path.basename(str(tmp_path / f"f{i:03d}")) in parts[k - 1]]
    assert other.strip() == str(mine)


def test_bad_shard_and_jobs_are_setup_errors(tmp_path, capfd):
    assert run_cli(FailingProcessor, ["--shard", "4/3", str(tmp_path)]) == 1
    assert run_cli(FailingProcessor, ["-j", "0", str(tmp_path)]) == 1
    err = capfd.readouterr().err
    assert "--shard '4/3': need 1 <= K <= N" in err
    assert "-j 0: need at least 1 process" in err


BAIL_SCRIPT = """
import os, sys, time
sys.path.insert(0, {here!r})
from fitsmill import api

class Slow(api.FileProcessor):
    def process(self, srcName):
        if srcName.endswith("03"):
            raise RuntimeError("boom on " + os.path.basename(srcName))
        if srcName.endswith("00"):
            open(srcName + ".started", "w").close()
        slow = float(os.environ.get("SLOW", "0.05"))
        time.sleep(slow if srcName.endswith("00")
                   else float(os.environ.get("OTHERS", slow)))
        open(srcName + ".done", "w").close()

if __name__ == "__main__":
    api.procmain(Slow, sources=[sys.argv.pop(1) + "/f*"])
    print("procmain returned")
"""


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "slow.py"
    path.write_text(BAIL_SCRIPT.format(here=str(HERE)))
    data = tmp_path / "data"
    data.mkdir()
    for i in range(12):
        (data / f"f{i:02d}").write_text("")
    return path, data


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_bail_stops_with_traceback(script, jobs):
    path, data = script
    # timeout only guards against the hang DaCHS had; it asserts nothing
    proc = subprocess.run([sys.executable, str(path), str(data), "--bail",
                           "--no-progress", "-j", jobs],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert f"*** {data / 'f03'}" in proc.stderr
    assert "Traceback (most recent call last)" in proc.stderr
    assert "RuntimeError: boom on f03" in proc.stderr
    assert "stopped at the first error (--bail)" in proc.stdout
    assert "procmain returned" not in proc.stdout


def _kill_session(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _start_and_wait(path, data, jobs, slow, stderr_path, others=None):
    """Start the slow script; return it once the first source is running."""
    # a session of its own, so that cleaning up can kill the workers too
    proc = subprocess.Popen([sys.executable, str(path), str(data), "-j", jobs],
                            stdout=subprocess.PIPE, stderr=open(stderr_path, "w"),
                            text=True, env={**os.environ, "SLOW": slow,
                                            "OTHERS": others or slow},
                            start_new_session=True)
    while not (data / "f00.started").exists():
        if proc.poll() is not None:
            pytest.fail(stderr_path.read_text())
        time.sleep(0.1)  # polling for the worker to start; nothing timed
    return proc


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_finishes_sources_in_progress_then_exits_2(script, jobs, tmp_path):
    path, data = script
    proc = _start_and_wait(path, data, jobs, "2", tmp_path / "err")
    try:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=120)
    finally:
        _kill_session(proc)
    err = (tmp_path / "err").read_text()
    assert proc.returncode == 2, err
    assert "finishing the sources in progress" in err
    # the source that was running when Ctrl-C came was not cut off
    assert (data / "f00.done").exists()
    done = len(list(data.glob("*.done")))
    assert 1 <= done < 12
    assert f"interrupted: {12 - done} sources not processed" in out
    assert f"{done} files processed, 0 files with errors" in out


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_second_ctrl_c_aborts(script, jobs, tmp_path):
    path, data = script
    err_path = tmp_path / "err"
    # f00 takes long; with -j 2 the other worker goes on with quick
    # sources, so the second Ctrl-C comes while f00 alone is awaited
    proc = _start_and_wait(path, data, jobs, "60", err_path, others="0.2")
    try:
        proc.send_signal(signal.SIGINT)
        while "finishing the sources" not in err_path.read_text():
            time.sleep(0.1)  # polling for the first Ctrl-C to land; nothing timed
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=120)
    finally:
        _kill_session(proc)
    assert proc.returncode == 2, err_path.read_text()
    assert not (data / "f00.done").exists()
    done = len(list(data.glob("*.done")))
    assert f"interrupted: {12 - done} sources not processed" in out


UNGUARDED_SCRIPT = """
import sys
from fitsmill import api

class Recorder(api.FileProcessor):
    def process(self, srcName):
        with open(srcName, "a") as f:
            f.write("x")

api.procmain(Recorder, sources=[sys.argv.pop(1) + "/f*"])
"""


@pytest.mark.parametrize("method", ["fork", "forkserver"])
def test_script_without_main_guard_processes_each_source_once(script, tmp_path, method):
    _, data = script
    path = tmp_path / "unguarded.py"
    path.write_text(UNGUARDED_SCRIPT)
    env = dict(os.environ, FITSMILL_START_METHOD=method)
    proc = subprocess.run([sys.executable, str(path), str(data), "-j", "2",
                           "--no-progress"], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "12 files processed, 0 files with errors" in proc.stdout
    assert [p.read_text() for p in sorted(data.glob("f*"))] == ["x"] * 12
    # Clean workers import the main module again: its unguarded procmain
    # call is ignored there, with a hint; forked workers never run it.
    hint = "ignored in a worker process: guard the call" in proc.stderr
    assert hint == (method == "forkserver")


DASK_SCRIPT = """
import sys
from fitsmill import api

def _double(name):
    return name + name

class InScript(api.FileProcessor):
    def _createAuxiliaries(self, dd):
        self.seen = []
    def process(self, srcName):
        self.seen.append(_double(srcName[-1]))

if __name__ == "__main__":
    proc = api.procmain(InScript, sources=[sys.argv.pop(1) + "/f*"])
    print("seen", "".join(proc.seen))
"""


@pytest.mark.slow
def test_script_class_runs_on_a_cluster_that_cannot_import_it(
        script, tmp_path, dask_address):
    _, data = script
    for i in range(12):
        (data / f"f{i:02d}").write_text("")
    path = tmp_path / "inscript.py"
    path.write_text(DASK_SCRIPT)
    proc = subprocess.run([sys.executable, str(path), str(data), "--dask",
                           dask_address, "--no-progress"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "12 files processed, 0 files with errors" in proc.stdout
    assert "seen " + "".join(str(i % 10) * 2 for i in range(12)) in proc.stdout


def test_workers_dying_at_start_fail_the_run_instead_of_looping(script, tmp_path):
    _, data = script
    path = tmp_path / "unguarded_result.py"
    # unguarded, and using the result: each worker importing the script
    # gets None from procmain and dies with AttributeError
    path.write_text(UNGUARDED_SCRIPT.replace(
        "api.procmain(Recorder", "result = api.procmain(Recorder")
        + "print('results', len(result.processResults))\n")
    # (clean workers import the script; forked ones would not)
    proc = subprocess.run([sys.executable, str(path), str(data), "-j", "2",
                           "--no-progress"], capture_output=True, text=True,
                          timeout=300,
                          env=dict(os.environ, FITSMILL_START_METHOD="forkserver"))
    assert "guard the call" in proc.stderr
    assert "12 files processed, 12 files with errors" in proc.stdout
    assert ("WorkerDied: worker processes exit before starting any work (see"
            " their error output)") in proc.stdout
    assert "results 0" in proc.stdout


def test_legacy_create_auxillaries():
    class Old(FileProcessor):
        def _createAuxillaries(self, dd):
            self.legacy_ran_with = dd

    proc = Old()
    assert proc.legacy_ran_with is proc.dd


def test_default_construction_has_default_options():
    proc = FileProcessor()
    assert (proc.opts.nParallel, proc.opts.bailOnError, proc.opts.requireFrag,
            proc.opts.doReport, proc.opts.beVerbose) == (1, False, None, False, False)
    assert proc.classify("x") == "unknown" and proc.process("x") is None


def test_get_product_key_is_path_aware(tmp_path, monkeypatch):
    inputs = tmp_path / "inputs"
    monkeypatch.setenv("FITSMILL_INPUTS_DIR", str(inputs))
    proc = FileProcessor()
    assert proc.inputsDir == str(inputs)
    assert proc.getProductKey(str(inputs / "a" / "b.fits")) == "a/b.fits"
    with pytest.raises(ValueError, match="not below the inputs directory"):
        proc.getProductKey(str(tmp_path / "inputs2" / "b.fits"))
    with pytest.raises(ValueError, match="not below"):
        proc.getProductKey(str(inputs))
    # resolved when used, not at import
    monkeypatch.setenv("FITSMILL_INPUTS_DIR", str(tmp_path / "other"))
    assert FileProcessor.inputsDir == str(tmp_path / "other")


class OptionsProcessor(FileProcessor):
    @staticmethod
    def addOptions(parser):
        FileProcessor.addOptions(parser)
        parser.add_option("--limit", type="int", dest="limit", default=5,
                          help="at most %default items (100% sure)")
        parser.add_option("--ratio", type="float", dest="ratio", default=0.5)
        parser.add_option("--mode", type="choice", choices=["a", "b"],
                          dest="mode", default="a")
        parser.add_option("--tag", action="append", dest="tags", default=[])
        parser.add_option("--loud", action="store_const", const=3, dest="level")
        parser.add_option("--seen", action="callback", callback=_record_seen,
                          type="string", dest="seen")
        parser.add_argument("--modern", type=int, default=1)


def _record_seen(option, opt_str, value, parser):
    parser.values.seen = (opt_str, value)


def test_optparse_style_options(capsys):
    opts = parse_options(OptionsProcessor, [
        "--limit", "7", "--ratio", "2.5", "--mode", "b", "--tag", "x",
        "--tag", "y", "--loud", "--seen", "v", "--modern", "4", "-j", "3"])
    assert (opts.limit, opts.ratio, opts.mode, opts.tags, opts.level, opts.seen,
            opts.modern, opts.nParallel) == (
        7, 2.5, "b", ["x", "y"], 3, ("--seen", "v"), 4, 3)
    with pytest.raises(SystemExit) as info:
        procmain(OptionsProcessor, argv=["--help"], prog="opt-test")
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "at most 5 items (100% sure)" in out
    for option in ("--filter", "--bail", "--report", "--verbose", "-j", "--n-procs",
                   "--shard", "--dask", "--inputs-dir", "--no-progress",
                   "--summary-json", "--sources", "--limit", "--modern"):
        assert option in out
    with pytest.raises(SystemExit):
        parse_options(OptionsProcessor, ["--mode", "c"])


def test_procmain_rd_properties_and_sources_override(tmp_path):
    inputs = tmp_path / "inputs"
    (inputs / "res").mkdir(parents=True)
    for name in ("a.fits", "b.fits", "c.txt"):
        (inputs / "res" / name).write_text("")
    write_rd(inputs, "res/q", """\
        <resource schema="x">
          <data id="import">
            <property key="previewDir">previews</property>
            <sources pattern="*.fits"/>
          </data>
        </resource>""")

    class Lister(FileProcessor):
        def _createAuxiliaries(self, dd):
            self.names = []
            self.preview_dir = dd.rd.getAbsPath(dd.getProperty("previewDir"))
            self.configured = api.getConfig("inputsDir")

        def process(self, srcName):
            self.names.append(os.path.basename(srcName))

    proc = run(Lister, ["--inputs-dir", str(inputs)], rdId="res/q", ddId="import",
               properties={"extra": "1"})
    assert proc.names == ["a.fits", "b.fits"]
    assert proc.preview_dir == str(inputs / "res" / "previews")
    assert proc.dd.getProperty("extra") == "1"
    # --inputs-dir holds during the run, not after it
    assert proc.configured == proc.inputsDir == str(inputs)
    assert api.getConfig("inputsDir") != str(inputs)
    proc = run(Lister, ["--inputs-dir", str(inputs), str(inputs / "res" / "c.txt")],
               rdId="res/q", ddId="import")
    assert proc.names == ["c.txt"]
    assert isinstance(proc.dd.sources, PathSources)
    assert load_rd("res/q", str(inputs)).getById("import").getProperty(
        "missing", None) is None
