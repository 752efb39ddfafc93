"""Run a processor over its sources: serially, in a process pool, on Dask.

All three give the same results.  The parent process selects the
identifiers (``--filter``, ``--shard``), cuts them into chunks and applies
every chunk's outcome in source order through a :class:`Collector`, so
counts, failures, ``--report`` classes, return values and gathered state
(:mod:`fitsmill.gather`) come out as in a serial run.

Workers are forked when that is safe (Linux, no other Python thread in
the parent; see :func:`worker_context`), else they start clean (forkserver
with the common imports preloaded, else spawn).  Each worker rebuilds the
processor from its class, options and data descriptor (the class is
pickled by reference, or by value with cloudpickle when it cannot be
imported, e.g. one defined interactively) and so runs
``_createAuxiliaries`` itself.  A processor script run with ``-j`` must
guard its ``procmain`` call with ``if __name__ == "__main__":``, as the
DaCHS manual's examples do (clean workers import the main module).  Pool
workers ignore SIGINT; the parent stops them on Ctrl-C or ``--bail``.
"""

import concurrent.futures
import copy
import importlib
import logging
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import traceback
import uuid
from concurrent.futures.process import BrokenProcessPool

from fitsmill import config, gather
from fitsmill.errors import FitsmillError, SkipThis
from fitsmill.sources import DataDescriptor

__all__ = ["OK", "SKIP", "FAIL", "Bail", "WorkerDied", "Collector", "call_one",
           "describe_failure", "run", "run_serial", "run_pool", "run_dask",
           "make_payload", "chunk_size_for", "worker_context"]

log = logging.getLogger(__name__)

#: Outcome kinds of one source.
OK, SKIP, FAIL = 0, 1, 2


class Bail(Exception):
    """Raised by the collector to stop a run at the first error (``--bail``)."""


def describe_failure(exc, with_traceback=True):
    """Return ``(one-line reason, traceback text)`` for an exception."""
    text = str(exc).strip().splitlines()
    reason = type(exc).__name__ + (f": {text[0]}" if text else "")
    trace = ("".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
             if with_traceback else "")
    return reason, trace


def call_one(func, ident):
    """Call ``func(ident)`` and return its outcome ``(kind, value)``.

    ``SkipThis`` gives ``(SKIP, None)``; an exception, or an exception
    object returned instead of raised (as DaCHS counts it), gives
    ``(FAIL, (reason, traceback))``; otherwise ``(OK, return value)``.
    """
    try:
        value = func(ident)
    except SkipThis:
        return SKIP, None
    except Exception as exc:  # noqa: BLE001 -- one bad source must not stop the run
        return FAIL, describe_failure(exc)
    if isinstance(value, BaseException):
        return FAIL, describe_failure(value, with_traceback=False)
    return OK, value


def chunk_size_for(n_sources, n_workers):
    """Sources per task: enough tasks for load balance (about 8 per worker),
    few enough that per-task overhead stays negligible."""
    return max(1, min(256, -(-n_sources // (8 * max(n_workers, 1)))))


class Collector:
    """Applies outcomes to the parent-side processor and the summary.

    Parameters
    ----------
    proc : FileProcessor
        The processor procmain returns.
    summary : fitsmill.report.RunSummary
        Counts and failures.
    progress : fitsmill.progress.Progress
        Live display.
    report_mode : bool
        Values are ``classify`` labels, gathered in ``proc.reportDict``.
    bail : bool
        Stop (raise :class:`Bail`) at the first failure, after printing
        ``*** source`` and the traceback to stderr.
    keep_traces : bool
        Keep each failure's traceback in the summary (for ``--verbose`` and
        ``--summary-json``); without, a run with many failures stays small.
    """

    def __init__(self, proc, summary, progress, report_mode=False, bail=False,
                 keep_traces=True):
        self.proc = proc
        self.summary = summary
        self.progress = progress
        self.report_mode = report_mode
        self.bail = bail
        self.keep_traces = keep_traces

    def add(self, ident, kind, value):
        """Account for one source's outcome."""
        summary = self.summary
        if kind == OK:
            summary.succeeded += 1
            if self.report_mode:
                self.proc.reportDict.setdefault(value, []).append(
                    os.path.basename(str(ident)))
            elif value is not None:
                self.proc.collectResult(ident, value)
            self.progress.update()
        elif kind == SKIP:
            summary.skipped += 1
            self.progress.update()
        else:
            reason, trace = value
            summary.failed += 1
            summary.failures.append((str(ident), reason,
                                     trace if self.keep_traces else ""))
            self.progress.update(1, 1)
            if self.bail:
                sys.stderr.write(f"*** {ident}\n{trace or reason + chr(10)}")
                sys.stderr.flush()
                raise Bail(ident)

    def add_chunk(self, idents, future):
        """Account for a finished chunk (a future holding pickled outcomes
        and state changes, or the exception that lost the chunk)."""
        try:
            outcomes, changes = pickle.loads(future.result())
        except (KeyboardInterrupt, Bail):
            raise
        except BaseException as exc:  # noqa: BLE001 -- a lost chunk fails its sources
            failure = describe_failure(exc)
            failure = (f"worker failed: {failure[0]}", failure[1])
            outcomes, changes = [(FAIL, failure)] * len(idents), {}
        if changes:
            self.proc.mergeWorkerState(changes)
        for ident, (kind, value) in zip(idents, outcomes):
            self.add(ident, kind, value)


# ---------------------------------------------------------------- worker side

def _dumps(obj, by_value=False):
    error = None
    if not by_value:
        try:
            return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 -- fall back to pickling by value
            error = exc
    try:
        import cloudpickle
    except ImportError:
        raise FitsmillError(
            f"cannot send the processor to worker processes ({error}); define"
            " the class at module level or install cloudpickle") from None
    return cloudpickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def make_payload(proc, report_mode, by_value=False):
    """Pickle what a worker needs to rebuild ``proc``.

    Parameters
    ----------
    proc : FileProcessor
        The parent-side processor.
    report_mode : bool
        Workers call ``classify`` instead of ``process``.
    by_value : bool
        Pickle classes of the main script by value (cloudpickle), for
        workers that cannot import the script (a remote Dask cluster);
        otherwise only what plain pickle refuses goes by value.
    """
    overrides = config.get_overrides()
    overrides["inputsdir"] = proc.inputsDir
    dd = proc.dd
    if isinstance(dd, DataDescriptor):
        # Only the parent iterates the sources; they need not travel (and a
        # long list or a generator would be costly or impossible to pickle).
        dd = copy.copy(dd)
        dd.sources = []
    return _dumps((type(proc), proc.opts, dd, report_mode, overrides), by_value)


class _WorkerSide:
    """A processor rebuilt in a worker process."""

    def __init__(self, payload):
        cls, opts, dd, report_mode, overrides = pickle.loads(payload)
        for key, value in overrides.items():
            config.set_override(key, value)
        self.proc = cls(opts, dd)
        self.func = self.proc.classify if report_mode else self.proc.process

    def run_chunk(self, idents, stop=None):
        """Process ``idents``; return pickled ``(outcomes, state changes)``.
        When ``stop`` (a shared flag) is set, the remaining sources are left
        out (Ctrl-C in the parent)."""
        proc, func = self.proc, self.func
        before = gather.snapshot(proc.gatherableState())
        if stop is None:
            outcomes = [call_one(func, ident) for ident in idents]
        else:
            outcomes = []
            for ident in idents:
                if stop.value:
                    break
                outcomes.append(call_one(func, ident))
        changes = gather.diff(before, proc.gatherableState())
        # Long-lived workers would otherwise hold a processor's prints back
        # until they exit.
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        try:
            return pickle.dumps((outcomes, changes), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 -- find and replace what cannot travel
            return pickle.dumps(_sendable(outcomes, changes),
                                protocol=pickle.HIGHEST_PROTOCOL)


def _picklable(obj):
    try:
        pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        return True
    except Exception:  # noqa: BLE001
        return False


def _sendable(outcomes, changes):
    fixed = []
    for kind, value in outcomes:
        if kind == OK and not _picklable(value):
            kind, value = FAIL, (f"return value of type {type(value).__name__}"
                                 " cannot be sent to the parent process", "")
        fixed.append((kind, value))
    kept = {}
    for name, change in changes.items():
        if _picklable(change):
            kept[name] = change
        else:
            log.warning("attribute %s cannot be sent to the parent process;"
                        " name it with a leading underscore to keep it"
                        " worker-local", name)
    return fixed, kept


_pool_worker = None
_pool_error = None
_pool_started = None
_pool_stop = None


class _ParentStreams:
    """The parent's environment and stdout/stderr, handed to a new worker.

    A forkserver child inherits the server's environment and output
    descriptors, which may be older than the parent's (a redirected
    stdout, a changed variable): the worker takes the parent's current
    ones, as a spawned worker would.  The descriptors travel as
    ``DupFd`` objects made while the worker process is being launched, so
    the start method passes them along.
    """

    def __init__(self):
        self.environ = dict(os.environ)

    def __reduce__(self):
        from multiprocessing.reduction import DupFd
        return _adopt_parent_streams, (self.environ, DupFd(1), DupFd(2))


def _adopt_parent_streams(environ, out, err):
    os.environ.clear()
    os.environ.update(environ)
    for target, dup in ((1, out), (2, err)):
        fd = dup.detach()
        if fd != target:
            os.dup2(fd, target)
            os.close(fd)


def _pool_init(payload, started, stop, _streams):
    global _pool_worker, _pool_error, _pool_started, _pool_stop
    # Ctrl-C reaches the whole process group; the parent decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _pool_started, _pool_stop = started, stop
    try:
        _pool_worker = _WorkerSide(payload)
    except Exception as exc:  # noqa: BLE001 -- reported with every chunk instead
        _pool_error = describe_failure(exc)[0]


def _pool_chunk(slot, idents):
    # Tell the parent this task started: if the pool breaks, only started
    # tasks can have killed it.
    _pool_started[slot] = 1
    if _pool_worker is None:
        raise RuntimeError(f"processor setup failed in the worker: {_pool_error}")
    return _pool_worker.run_chunk(idents, _pool_stop)


# Dask workers are long-lived and may run several threads: one rebuilt
# processor per (run, thread).
_dask_workers = {}
_dask_lock = threading.Lock()


def _dask_chunk(token, payload, idents):
    key = (token, threading.get_ident())
    with _dask_lock:
        worker = _dask_workers.get(key)
        if worker is None:
            for stale in [k for k in _dask_workers if k[0] != token]:
                del _dask_workers[stale]
    if worker is None:
        worker = _WorkerSide(payload)
        with _dask_lock:
            _dask_workers[key] = worker
    return worker.run_chunk(idents)


# ---------------------------------------------------------------- parent side

def _chunks(idents, n_workers):
    """Cut ``idents`` into consecutive tasks: of :func:`chunk_size_for`'s
    size while much work remains, then smaller, each about a quarter of
    one worker's share of what is left, down to single sources, so that
    the workers run out of work together (with equal tasks, one worker
    idles for up to a whole task at the end of the run)."""
    cap = chunk_size_for(len(idents), n_workers)
    share = 4 * max(n_workers, 1)
    chunks, start = [], 0
    while start < len(idents):
        size = min(cap, max(1, (len(idents) - start) // share))
        chunks.append(idents[start:start + size])
        start += size
    return chunks


class WorkerDied(FitsmillError, RuntimeError):
    """A worker process died (e.g. a crash in compiled code or the OOM
    killer) while it was processing a source."""


class _Task:
    """Part of a chunk: ``key`` orders the parts of a chunk that was split."""
    __slots__ = ("chunk", "key", "idents")

    def __init__(self, chunk, key, idents):
        self.chunk, self.key, self.idents = chunk, key, idents


class _Lost:
    """Stands in for the result of a task whose worker died."""

    def __init__(self, message="the worker process died while processing"
                 " this source"):
        self.message = message

    def result(self):
        raise WorkerDied(self.message)


class _InOrder:
    """Hands finished tasks to the collector in source order."""

    def __init__(self, chunks, collector):
        self.collector = collector
        self.tasks = [_Task(i, (), chunk) for i, chunk in enumerate(chunks)]
        self.outstanding = [{()} for _ in chunks]
        self.finished = [{} for _ in chunks]
        self.next_chunk = 0

    def split(self, task):
        """Replace ``task`` by one task per source; return them."""
        singles = [_Task(task.chunk, task.key + (j,), [ident])
                   for j, ident in enumerate(task.idents)]
        self.outstanding[task.chunk].discard(task.key)
        self.outstanding[task.chunk].update(t.key for t in singles)
        return singles

    def flush_finished(self):
        """Deliver every finished task now, in order, skipping the gaps
        (a run that stops early)."""
        for index in range(self.next_chunk, len(self.finished)):
            for key in sorted(self.finished[index] or {}):
                self.collector.add_chunk(*self.finished[index][key])
            self.finished[index] = None
        self.next_chunk = len(self.finished)

    def done(self, task, result):
        """Record a task's result (an object with ``result()``)."""
        self.finished[task.chunk][task.key] = (task.idents, result)
        self.outstanding[task.chunk].discard(task.key)
        while (self.next_chunk < len(self.outstanding)
               and not self.outstanding[self.next_chunk]):
            parts = self.finished[self.next_chunk]
            self.finished[self.next_chunk] = None
            self.next_chunk += 1
            for key in sorted(parts):
                self.collector.add_chunk(*parts[key])


def _stop_pool(executor, processes):
    """Shut ``executor`` down and terminate its worker ``processes`` (the
    dict from :func:`_new_pool`)."""
    workers = list(processes.values())
    executor.shutdown(wait=False, cancel_futures=True)
    for proc in workers:
        proc.terminate()
    for proc in workers:
        proc.join(5)


class _Interrupts:
    """Ctrl-C handling for a run: the first Ctrl-C asks for a stop after the
    sources in progress (so no source is cut off half-written), the second
    aborts at once (KeyboardInterrupt).

    Parameters
    ----------
    shared : multiprocessing value, optional
        Set to 1 on the first Ctrl-C, for workers to see.
    """

    def __init__(self, shared=None):
        self.shared = shared
        self.requested = False
        self._previous = None

    def __enter__(self):
        # Only the main thread gets signals, and a handler the program
        # installed itself stays in charge.
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        if self.shared is not None:
            self.shared.value = 1
        sys.stderr.write("\ninterrupted: finishing the sources in progress"
                         " (Ctrl-C again to abort them)\n")
        sys.stderr.flush()

    def __exit__(self, *exc_info):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


def run_serial(proc, idents, collector, report_mode):
    """Run in this process.

    The first Ctrl-C lets the current source finish, then stops the run
    (KeyboardInterrupt); a second one interrupts the source.

    Parameters
    ----------
    proc : FileProcessor
        The processor.
    idents : list
        Selected identifiers.
    collector : Collector
        Receives every outcome.
    report_mode : bool
        Call ``classify`` instead of ``process``.
    """
    func = proc.classify if report_mode else proc.process
    add = collector.add
    with _Interrupts() as interrupts:
        for ident in idents:
            if interrupts.requested:
                raise KeyboardInterrupt
            kind, value = call_one(func, ident)
            add(ident, kind, value)
        if interrupts.requested:
            raise KeyboardInterrupt


def _clean_context():
    # A forkserver gives clean workers (no inherited locks, descriptors or
    # connections, as with "spawn": it forks from a server process that
    # never ran user code and re-imports the main module) without each
    # worker importing numpy, astropy and fitsmill again.
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(_PRELOAD))
    return ctx


# What workers import anyway: done once, before they start.
_PRELOAD = ("numpy", "fitsmill.processor", "fitsmill.header", "fitsmill.fitsfile",
            "fitsmill.scaledrows", "fitsmill.imaging")


_CLEAN_CTX = _clean_context()
_START_METHODS = ("fork", "forkserver", "spawn")


def worker_context():
    """The multiprocessing context that starts this run's pool workers.

    Starting the forkserver costs about half a second (its imports), which
    is most of a short run's gain from ``-j``; a fork costs milliseconds.
    So on Linux, when this process runs no other Python thread (a fork
    copies only the calling thread, and a lock another thread held would
    stay locked in the child), workers are forked; otherwise they come
    from the forkserver (or "spawn" where there is none).  Either way each
    worker rebuilds its processor from the pickled payload, so behaviour
    is the same.  ``FITSMILL_START_METHOD`` (fork, forkserver or spawn)
    overrides the choice.
    """
    method = os.environ.get("FITSMILL_START_METHOD", "")
    if method:
        if method not in _START_METHODS:
            raise FitsmillError(f"FITSMILL_START_METHOD must be one of "
                                f"{', '.join(_START_METHODS)}, not {method!r}")
        return _CLEAN_CTX if method == _CLEAN_CTX.get_start_method() \
            else multiprocessing.get_context(method)
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        # imported here, the forked workers share them instead of each
        # importing them on its first source
        for name in _PRELOAD:
            importlib.import_module(name)
        return multiprocessing.get_context("fork")
    return _CLEAN_CTX


def _new_pool(ctx, payload, n_workers, n_slots, stop):
    """Return ``(executor, started flags, its worker processes)``."""
    started = ctx.RawArray("b", max(n_slots, 1))
    executor = concurrent.futures.ProcessPoolExecutor(
        max_workers=max(1, n_workers), mp_context=ctx,
        initializer=_pool_init, initargs=(payload, started, stop, _ParentStreams()))
    # ProcessPoolExecutor has no public way to stop running tasks, and it
    # forgets its processes on shutdown; keep the (live) dict of them so a
    # worker busy on a long file can be terminated on --bail or Ctrl-C.
    return executor, started, executor._processes


def _pool_round(ctx, payload, tasks, n_workers, order, interrupts):
    """Run ``tasks`` on a fresh pool; return ``(suspects, unstarted)``, the
    tasks lost to a dead worker that had or had not started."""
    executor, started, processes = _new_pool(
        ctx, payload, min(n_workers, len(tasks)), len(tasks), interrupts.shared)
    lost = []
    try:
        futures = {}
        for slot, task in enumerate(tasks):
            try:
                futures[executor.submit(_pool_chunk, slot, task.idents)] = slot
            except BrokenProcessPool:
                lost.append(slot)
        handled = set()
        for fut in concurrent.futures.as_completed(futures):
            handled.add(fut)
            if isinstance(fut.exception(), BrokenProcessPool):
                lost.append(futures[fut])
            else:
                order.done(tasks[futures[fut]], fut)
            if interrupts.requested:
                break
        if interrupts.requested:
            executor.shutdown(wait=False, cancel_futures=True)
            # Cancelled futures never wake as_completed or wait; cancelling
            # here (not leaving it to the executor's thread, which does it
            # later) tells which ones are still running.
            running = [f for f in futures if f not in handled and not f.cancel()]
            concurrent.futures.wait(running)
            for fut in running:
                if not isinstance(fut.exception(), BrokenProcessPool):
                    order.done(tasks[futures[fut]], fut)
            order.flush_finished()
            raise KeyboardInterrupt
    except BaseException:
        _stop_pool(executor, processes)
        raise
    executor.shutdown(wait=True)
    return ([tasks[i] for i in lost if started[i]],
            [tasks[i] for i in lost if not started[i]])


def _isolate(ctx, payload, suspects, order, interrupts):
    """Run suspect tasks one source at a time on a single worker."""
    executor = processes = None
    try:
        for task in suspects:
            for single in order.split(task):
                if interrupts.requested:
                    order.flush_finished()
                    raise KeyboardInterrupt
                if executor is None:
                    executor, _, processes = _new_pool(ctx, payload, 1, 1,
                                                       interrupts.shared)
                fut = executor.submit(_pool_chunk, 0, single.idents)
                if isinstance(fut.exception(), BrokenProcessPool):
                    order.done(single, _Lost())
                    executor.shutdown(wait=True)
                    executor = None
                else:
                    order.done(single, fut)
    except BaseException:
        if executor is not None:
            _stop_pool(executor, processes)
        raise
    if executor is not None:
        executor.shutdown(wait=True)


def run_pool(proc, idents, collector, report_mode, n_workers):
    """Run on a process pool (workers started by :func:`worker_context`).

    Parameters are those of :func:`run_serial`, plus ``n_workers``, the
    number of worker processes.  On any exception escaping the collector
    (``--bail``, Ctrl-C) the workers are terminated before it propagates.

    The first Ctrl-C lets the workers finish the sources they are on and
    stops the run (KeyboardInterrupt after their results are in); a second
    one terminates the workers.

    A worker that dies (a crash in compiled code, the OOM killer) takes
    the pool down with every queued task.  Tasks that had not started run
    again on a new pool; those that had are rerun one source at a time on a
    single worker, so only the source that kills its worker fails
    (:class:`WorkerDied`) and the run goes on.
    """
    if not idents:
        return
    payload = make_payload(proc, report_mode)
    order = _InOrder(_chunks(idents, n_workers),
                     collector)
    tasks, suspects = order.tasks, []
    ctx = worker_context()
    with _Interrupts(ctx.RawValue("b", 0)) as interrupts:
        while tasks:
            new_suspects, unstarted = _pool_round(ctx, payload, tasks, n_workers,
                                                  order, interrupts)
            if not new_suspects and len(unstarted) == len(tasks):
                # Workers die before taking any work (a script failing on
                # import in the worker, a crash while setting up): rerunning
                # would never end.
                for task in unstarted:
                    order.done(task, _Lost("worker processes exit before"
                                           " starting any work (see their"
                                           " error output)"))
                break
            suspects += new_suspects
            tasks = unstarted
        _isolate(ctx, payload, suspects, order, interrupts)


def run_dask(proc, idents, collector, report_mode, address, n_workers):
    """Run on Dask (``dask.distributed``).

    Parameters are those of :func:`run_serial`, plus ``address``:
    ``"local"`` starts a LocalCluster of ``n_workers`` single-threaded
    worker processes for this run, anything else is the address of a
    running scheduler such as ``tcp://host:8786`` (whose workers must be
    able to import fitsmill and the processor's module).  Pending tasks are
    cancelled when the run stops early.
    """
    from dask.distributed import Client, LocalCluster, as_completed
    cluster = None
    if address == "local":
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1,
                               processes=True, dashboard_address=":0",
                               silence_logs=logging.ERROR)
        client = Client(cluster)
    else:
        client = Client(address)
    futures = []
    try:
        if idents:
            chunks = _chunks(idents, len(client.scheduler_info()["workers"]) or n_workers)
            # Dask workers, remote ones especially, need not be able to
            # import the user's script.
            [payload] = client.scatter([make_payload(proc, report_mode, True)],
                                       broadcast=True)
            token = uuid.uuid4().hex
            order = _InOrder(chunks, collector)
            task_of = {client.submit(_dask_chunk, token, payload, task.idents,
                                     pure=False): task for task in order.tasks}
            futures = list(task_of)
            for fut in as_completed(futures):
                order.done(task_of[fut], fut)
    finally:
        if futures:
            client.cancel(futures)
        client.close()
        if cluster is not None:
            cluster.close()


def run(proc, idents, collector, report_mode):
    """Run ``proc`` over ``idents`` as its options ask.

    ``--dask`` selects :func:`run_dask` (``local`` with ``-j N`` workers, or
    all CPUs when ``-j`` is 1), ``-j N`` with N > 1 :func:`run_pool`,
    otherwise :func:`run_serial`; the parameters are those of
    :func:`run_serial`.
    """
    opts = proc.opts
    n_workers = int(getattr(opts, "nParallel", 1) or 1)
    address = getattr(opts, "daskAddress", None)
    if address:
        if address == "local" and n_workers <= 1:
            n_workers = os.cpu_count() or 1
        run_dask(proc, idents, collector, report_mode, address, n_workers)
    elif n_workers > 1 and len(idents) > 1:
        run_pool(proc, idents, collector, report_mode, n_workers)
    else:
        run_serial(proc, idents, collector, report_mode)
