"""FileProcessor and procmain: DaCHS's programming model for bulk jobs.

A processor script looks exactly as under DaCHS::

    import os
    from fitsmill import api

    class SizeChecker(api.FileProcessor):
        def process(self, srcName):
            if os.path.getsize(srcName) % 2880:
                print(srcName, "is not a multiple of 2880 bytes")

    if __name__ == "__main__":
        api.procmain(SizeChecker, "potsdam/q", "import")

The subclassing contract
------------------------
Hooks a subclass overrides (all optional):

``addOptions(parser)`` (static)
    Declare options with ``parser.add_option(...)`` (optparse style) or
    ``parser.add_argument(...)``; always make the upward call
    ``api.FileProcessor.addOptions(parser)``.  Values land on ``self.opts``.
``_createAuxiliaries(self, dd)``
    Per-run setup: read catalogues, initialise gathered state
    (``self.mess = []``).  Runs once in the parent and once in every worker
    process, so it must not assume it runs only once.  The legacy spelling
    ``_createAuxillaries`` is honoured.
``process(self, srcName)``
    The work for one source; runs in a worker with ``-j``/``--dask``.
    ``raise api.SkipThis()`` skips the source silently; any other exception
    marks it failed (the run goes on unless ``--bail``).  A non-None return
    value travels to the parent and is passed to ``collectResult``.
``classify(self, srcName)``
    Used instead of ``process`` with ``--report``; returns a class label.
``iterIdentifiers(self)``
    What to process; by default the data descriptor's sources.  Runs in the
    parent only.
``collectResult(self, srcName, result)``
    Parent side: receives ``process``'s non-None return values, in source
    order; the default appends ``(srcName, result)`` to
    ``self.processResults``.
``mergeWorkerState(self, changes)``
    Parent side: applies what a worker's ``process`` calls changed on the
    worker's copy of the processor (lists appended to, counters increased,
    dicts and sets filled; see :mod:`fitsmill.gather`), in source order.
    Override it for state those rules do not fit.  Attributes whose names
    start with "_", and those named in ``workerLocalAttributes``, stay in
    the worker.

So under ``-j`` and Dask the processor :func:`procmain` returns holds the
same gathered data as after a serial run.  Utility methods:
:meth:`~FileProcessor.getProductKey`,
:meth:`~FileProcessor.getPrimaryHeader`.

After a run the processor has ``summary`` (a
:class:`fitsmill.report.RunSummary`), ``exit_status`` (0 nothing failed,
1 a source failed, 2 interrupted), ``reportDict`` with ``--report`` and
``processResults``.

Running
-------
``-j N`` starts N spawn-started worker processes, ``--dask`` runs the same
tasks on a Dask cluster (see :mod:`fitsmill.runners`); the ``if __name__ ==
"__main__":`` guard around ``procmain`` is needed for both, as for any
spawn-based multiprocessing.  Results are identical to a serial run.  A
worker that dies (a crash in compiled code) fails only the source it was
processing.  :func:`procmain` behaves as DaCHS's: it exits the process on
``--bail`` (status 1) and Ctrl-C (status 2) and otherwise returns the
processor, even when sources failed, so a script can still use what was
gathered; end such a script with ``sys.exit(proc.exit_status)``, or pass
``exit=True``.  CLI commands use :func:`run_cli`.
"""

import inspect
import logging
import multiprocessing
import sys
import time
import zlib

from fitsmill import config, runners
from fitsmill.errors import FitsmillError
from fitsmill.options import OptionParser
from fitsmill.progress import Progress, choose_mode
from fitsmill.report import RunSummary, format_report, format_verbose_report
from fitsmill.sources import (DataDescriptor, PathSources, ResourceDescriptor,
                              load_rd, relative_to_inputs)

__all__ = ["FileProcessor", "procmain", "run_cli", "parse_options", "make_dd", "shard_of",
           "build_parser"]

log = logging.getLogger(__name__)


class _InputsDir:
    """``FileProcessor.inputsDir``: resolved when read (DaCHS froze it at
    import), fixed per processor instance when it is constructed."""

    def __get__(self, instance, owner):
        return config.inputs_dir()


def _parse_shard(text):
    """Parse ``K/N`` (1 <= K <= N) into ``(K, N)``."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise FitsmillError(f"--shard {text!r}: expected K/N, e.g. 3/10") from None
    if not 1 <= k <= n:
        raise FitsmillError(f"--shard {text!r}: need 1 <= K <= N")
    return k, n


def shard_of(ident, n_shards):
    """Return the shard an identifier belongs to (``--shard K/N``).

    A CRC-32 of the identifier's UTF-8 text: stable across runs, machines
    and Python versions (unlike ``hash``), so the N shards of separate
    batch jobs cover every source exactly once.

    Parameters
    ----------
    ident : object
        The identifier (its ``str``).
    n_shards : int
        N.

    Returns
    -------
    int
        K in 1..N.
    """
    data = str(ident).encode("utf-8", "surrogateescape")
    return zlib.crc32(data) % n_shards + 1


class FileProcessor:
    """Base class of source processors (DaCHS's ``api.FileProcessor``).

    See the module docstring for the hooks a subclass overrides and where
    each runs.

    Parameters
    ----------
    opts : argparse.Namespace or optparse.Values, optional
        Parsed options; by default the class's option defaults.
    dd : DataDescriptor, optional
        What to process (``dd.rd.resdir``, ``dd.getProperty``,
        ``dd.sources``); by default one without sources rooted at the
        inputs directory.

    Attributes
    ----------
    opts, dd
        As passed.
    inputsDir : str
        The inputs directory, resolved when the processor is created.
    """

    inputsDir = _InputsDir()

    #: Public attributes that are worker-local under -j/Dask (not merged
    #: back); extend it in a subclass for large read-only auxiliaries.
    workerLocalAttributes = frozenset({
        "opts", "dd", "inputsDir", "reportDict", "processResults", "summary",
        "exit_status"})

    def __init__(self, opts=None, dd=None):
        self.opts = opts if opts is not None else parse_options(type(self), [])
        self.dd = dd if dd is not None else make_dd()
        if isinstance(inspect.getattr_static(type(self), "inputsDir"), _InputsDir):
            self.inputsDir = config.inputs_dir()
        self._createAuxiliaries(self.dd)

    def _createAuxiliaries(self, dd):
        """Per-run setup hook (see the module docstring); the default calls
        the legacy ``_createAuxillaries`` if a subclass defines it."""
        legacy = getattr(self, "_createAuxillaries", None)
        if legacy is not None:
            legacy(dd)

    @staticmethod
    def addOptions(parser):
        """Declare the framework's options on ``parser``.

        Subclasses add their own and call this (the upward call).

        Parameters
        ----------
        parser : fitsmill.options.OptionParser
            Accepts ``add_option`` (optparse style) and ``add_argument``.
        """
        parser.add_option("--filter", dest="requireFrag", metavar="STR",
                          default=None, help="only process sources whose name"
                          " contains STR")
        parser.add_option("--bail", action="store_true", dest="bailOnError",
                          default=False, help="stop at the first error, with"
                          " its traceback (exit status 1)")
        parser.add_option("--report", action="store_true", dest="doReport",
                          default=False, help="classify the sources instead of"
                          " processing them and print a report")
        parser.add_option("--verbose", action="store_true", dest="beVerbose",
                          default=False, help="more output: debug logging,"
                          " tracebacks of failed sources, verbose report")
        parser.add_option("--n-procs", "-j", action="store", dest="nParallel",
                          default=1, metavar="NUM", type=int,
                          help="run NUM worker processes (default 1)")
        parser.add_option("--shard", dest="shard", metavar="K/N", default=None,
                          help="process only shard K of N (1 <= K <= N), a"
                          " stable split by identifier, e.g. for array jobs")
        parser.add_option("--dask", dest="daskAddress", metavar="ADDRESS",
                          default=None, help="run on Dask: 'local' starts a"
                          " LocalCluster with -j workers, tcp://HOST:PORT uses"
                          " a running scheduler")
        parser.add_option("--inputs-dir", dest="inputsDir", metavar="DIR",
                          default=None, help="the inputs directory (default:"
                          " FITSMILL_INPUTS_DIR, GAVO_INPUTSDIR, DaCHS config,"
                          " /var/gavo/inputs, the current directory)")
        parser.add_option("--no-progress", action="store_false",
                          dest="showProgress", default=True,
                          help="do not show progress")
        parser.add_option("--summary-json", dest="summaryJson", metavar="FILE",
                          default=None, help="also write the summary as JSON"
                          " to FILE")
        parser.add_option("--sources", action="append", dest="sourcePatterns",
                          metavar="PATTERN", default=None,
                          help="process these files instead of the RD's"
                          " sources: a path, a glob (** recurses) or @FILE"
                          " listing paths; repeatable")

    def process(self, srcName):
        """Process one source (override); the default does nothing."""

    def classify(self, srcName):
        """Return a class label for ``--report`` (override); default
        ``"unknown"``."""
        return "unknown"

    def iterIdentifiers(self):
        """Iterate over what to process; default: the dd's sources."""
        return iter(self.dd.sources)

    def collectResult(self, srcName, result):
        """Receive a non-None return value of ``process`` (parent side)."""
        self.processResults.append((srcName, result))

    def gatherableState(self):
        """Return the attributes that travel from workers to the parent."""
        local = self.workerLocalAttributes
        return {name: value for name, value in vars(self).items()
                if not name.startswith("_") and name not in local}

    def mergeWorkerState(self, changes):
        """Apply a worker's state changes to this (parent) processor.

        Parameters
        ----------
        changes : dict
            Attribute name -> change, as computed by
            :func:`fitsmill.gather.diff`.
        """
        from fitsmill import gather
        gather.merge(self, changes)

    def getProductKey(self, fName):
        """Return ``fName`` relative to the inputs directory.

        Raises
        ------
        ValueError
            When ``fName`` is not below the inputs directory (a path-aware
            test: ``/data/inputs2/x`` is not below ``/data/inputs``).
        """
        return relative_to_inputs(fName, self.inputsDir)

    @staticmethod
    def getPrimaryHeader(srcName):
        """Return the primary header of the FITS file ``srcName``
        (a :class:`fitsmill.header.Header`)."""
        from fitsmill.fitsfile import read_header
        return read_header(srcName)

    # ------------------------------------------------------------ running

    def _selectIdentifiers(self, summary):
        """Return the identifiers this run handles (``--filter``,
        ``--shard`` applied); an iteration error is recorded, not raised."""
        frag = getattr(self.opts, "requireFrag", None)
        shard = getattr(self.opts, "shard", None)
        k, n = _parse_shard(shard) if shard else (None, None)
        selected = []
        seen = 0
        try:
            for ident in self.iterIdentifiers():
                seen += 1
                if frag is not None and frag not in (
                        ident if isinstance(ident, str) else str(ident)):
                    continue
                if n is not None and shard_of(ident, n) != k:
                    continue
                selected.append(ident)
        except KeyboardInterrupt:
            summary.interrupted = True
        except Exception as exc:  # noqa: BLE001 -- reported in the summary
            reason, trace = runners.describe_failure(exc)
            summary.iteration_error = (f"{reason} (after {seen} identifiers)", trace)
        summary.not_selected = seen - len(selected)
        summary.selected = len(selected)
        return selected

    def processAll(self):
        """Run ``process`` (or ``classify`` with ``--report``) over all
        selected sources as the options ask, then print the report.

        Returns
        -------
        tuple of int
            ``(processed, failed)`` as DaCHS: processed counts failures.
        """
        opts = self.opts
        report_mode = bool(getattr(opts, "doReport", False))
        if report_mode:
            self.reportDict = {}
        self.processResults = []
        summary = self.summary = RunSummary()
        start = time.monotonic()
        idents = self._selectIdentifiers(summary)
        progress = Progress(len(idents), choose_mode(
            getattr(opts, "showProgress", True)))
        collector = runners.Collector(
            self, summary, progress, report_mode,
            bail=bool(getattr(opts, "bailOnError", False)),
            keep_traces=bool(getattr(opts, "beVerbose", False)
                             or getattr(opts, "summaryJson", None)))
        try:
            if not summary.interrupted:
                runners.run(self, idents, collector, report_mode)
        except runners.Bail:
            summary.bailed = True
        except KeyboardInterrupt:
            summary.interrupted = True
        finally:
            progress.close()
        summary.elapsed = time.monotonic() - start
        self.exit_status = summary.exit_status
        if report_mode:
            if getattr(opts, "beVerbose", False):
                self.printVerboseReport(summary.processed, summary.failed)
            else:
                self.printReport(summary.processed, summary.failed)
        return summary.processed, summary.failed

    def printReport(self, processed, ignored):
        """Print DaCHS's ``--report`` output."""
        sys.stdout.write(format_report(self.reportDict, ignored))

    def printVerboseReport(self, processed, ignored):
        """Print DaCHS's ``--report --verbose`` output."""
        sys.stdout.write(format_verbose_report(self.reportDict, ignored))


def make_dd(sources=None, inputs_dir=None, properties=None, resdir=None):
    """Build a data descriptor without an RD.

    Parameters
    ----------
    sources : sequence of str, optional
        Paths, globs or ``@listfile`` entries (see
        :class:`fitsmill.sources.PathSources`).
    inputs_dir : str, optional
        The resdir when ``resdir`` is not given; default the configured
        inputs directory.
    properties : dict, optional
        What ``dd.getProperty`` answers, e.g. ``{"previewDir": "previews"}``.
    resdir : str, optional
        The resource directory (``dd.rd.resdir``).

    Returns
    -------
    DataDescriptor
    """
    base = resdir or inputs_dir or config.inputs_dir()
    rd = ResourceDescriptor(None, base)
    dd = DataDescriptor("sources", rd, PathSources(sources) if sources else [],
                        properties)
    rd.datas[dd.id] = dd
    return dd


def build_parser(processorClass, prog=None, description=None):
    """Return the option parser procmain uses for ``processorClass``."""
    # only the class's own docstring: an inherited one describes the base
    own_doc = inspect.cleandoc(vars(processorClass).get("__doc__") or "")
    parser = OptionParser(prog=prog, description=description or
                          own_doc.split("\n\n")[0] or None)
    processorClass.addOptions(parser)
    parser.add_argument("sourceArgs", nargs="*", metavar="SOURCE",
                        help="like --sources")
    return parser


def parse_options(processorClass, argv=None):
    """Parse ``argv`` (default ``sys.argv[1:]``) with the processor's options.

    Returns
    -------
    argparse.Namespace
    """
    return build_parser(processorClass).parse_args(argv)


def _build_dd(rdId, ddId, sources, properties, opts):
    if rdId is not None:
        if ddId is None:
            raise FitsmillError("procmain: an rdId needs a ddId")
        dd = load_rd(rdId).getById(ddId)
        dd.properties.update(properties or {})
    else:
        dd = make_dd(sources, properties=properties)
    cli_sources = (getattr(opts, "sourcePatterns", None) or []) + list(
        getattr(opts, "sourceArgs", None) or [])
    if cli_sources:
        dd.sources = PathSources(cli_sources)
    return dd


def _setup_logging(verbose):
    if verbose:
        if not logging.getLogger().handlers:
            logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger("fitsmill").setLevel(logging.DEBUG)


def _importing_main_in_worker():
    # multiprocessing marks a spawn-started child that is still importing
    # the parent's main module this way (its own check against unguarded
    # scripts reads the same flag).
    return bool(getattr(multiprocessing.current_process(), "_inheriting", False))


def procmain(processorClass, rdId=None, ddId=None, *, sources=None,
             inputs_dir=None, properties=None, argv=None, exit=None,
             prog=None, description=None):
    """Parse the command line, run a processor, print the summary.

    Either ``procmain(cls, rdId, ddId)`` (DaCHS: the sources and properties
    come from ``inputsDir/<rdId>.rd``, element ``<data id=ddId>``) or
    ``procmain(cls, sources=[...], inputs_dir=..., properties={...})``.
    Sources on the command line (``--sources``, positional arguments,
    ``@listfile``) replace either.

    Parameters
    ----------
    processorClass : type
        A :class:`FileProcessor` subclass.
    rdId, ddId : str, optional
        Resource descriptor id and data id.
    sources : sequence of str, optional
        Paths, globs and ``@listfile`` entries.
    inputs_dir : str, optional
        Inputs directory unless ``--inputs-dir`` is given; during the run it
        is also what ``getConfig("inputsDir")`` answers (in workers too).
    properties : dict, optional
        Data descriptor properties (added to the RD's).
    argv : list of str, optional
        Arguments; default ``sys.argv[1:]``.
    exit : bool or None
        None (DaCHS behaviour): exit the process only on ``--bail`` (1) and
        Ctrl-C (2); otherwise return, with the status in
        ``processor.exit_status``.  True: also exit 1 when any source
        failed.  False: never exit; setup errors raise (for CLI commands,
        see :func:`run_cli`).
    prog, description : str, optional
        For ``--help``.

    Returns
    -------
    FileProcessor or None
        The processor, with ``summary``, ``exit_status`` and whatever it
        gathered; None when called while a ``-j`` worker imports a script
        that lacks the ``if __name__ == "__main__":`` guard (the job runs
        in the parent only).
    """
    if _importing_main_in_worker():
        # A spawn-started worker is importing a script that calls procmain
        # without the __main__ guard: running the job here would process
        # every source once more per worker.
        log.warning("procmain(%s) ignored in a worker process: guard the call"
                    " with `if __name__ == \"__main__\":`", processorClass.__name__)
        return None
    parser = build_parser(processorClass, prog, description)
    opts = parser.parse_args(argv)
    _setup_logging(bool(getattr(opts, "beVerbose", False)))
    # --inputs-dir holds while the run lasts (processor.inputsDir keeps
    # it), so one procmain call cannot leak into the next.
    saved = config.get_overrides()
    try:
        return _run(processorClass, parser, opts, rdId, ddId, sources,
                    inputs_dir, properties, exit)
    finally:
        config.set_overrides(saved)


def _run(processorClass, parser, opts, rdId, ddId, sources, inputs_dir,
         properties, exit):
    verbose = bool(getattr(opts, "beVerbose", False))
    try:
        if getattr(opts, "inputsDir", None) or inputs_dir:
            config.set_override("inputsDir", opts.inputsDir or inputs_dir)
        if getattr(opts, "shard", None):
            _parse_shard(opts.shard)
        if int(getattr(opts, "nParallel", 1)) < 1:
            raise FitsmillError(f"-j {opts.nParallel}: need at least 1 process")
        if getattr(opts, "daskAddress", None):
            try:
                import dask.distributed  # noqa: F401 -- checked before the run
            except ImportError:
                raise FitsmillError("--dask needs dask.distributed"
                                    " (pip install 'fitsmill[dask]')") from None
        dd = _build_dd(rdId, ddId, sources, properties, opts)
        proc = processorClass(opts, dd)
    except Exception as exc:
        if exit is False:
            raise
        name = parser.prog
        if isinstance(exc, FitsmillError):
            sys.stderr.write(f"{name}: error: {exc}\n")
        else:
            reason, trace = runners.describe_failure(exc)
            sys.stderr.write((trace if verbose else "") +
                             f"{name}: error: setting up {processorClass.__name__}"
                             f" failed: {reason}\n")
        sys.exit(1)
    proc.processAll()
    summary = proc.summary
    sys.stdout.write(summary.format(verbose=verbose))
    sys.stdout.flush()
    if getattr(opts, "summaryJson", None):
        try:
            summary.write_json(opts.summaryJson, getattr(proc, "reportDict", None))
        except OSError as exc:
            sys.stderr.write(f"{parser.prog}: error: cannot write --summary-json"
                             f" {opts.summaryJson}: {exc.strerror}\n")
            proc.exit_status = max(proc.exit_status, 1)
    status = proc.exit_status
    if status and (exit or (exit is None and (summary.bailed or summary.interrupted))):
        sys.exit(status)
    return proc


def run_cli(processorClass, argv=None, **kwargs):
    """Run :func:`procmain` for a CLI subcommand and return its exit status.

    Setup errors (unreadable RD, bad ``--shard``, a failing
    ``_createAuxiliaries``) print one line to stderr and give status 1;
    ``--help`` and usage errors exit as argparse does.

    Parameters
    ----------
    processorClass : type
        A :class:`FileProcessor` subclass.
    argv : list of str, optional
        The subcommand's arguments.
    **kwargs
        Passed to :func:`procmain` (``prog``, ``description``, ``sources``,
        ``properties``, ...).

    Returns
    -------
    int
        0, 1 or 2 (see :attr:`fitsmill.report.RunSummary.exit_status`).
    """
    try:
        return procmain(processorClass, argv=argv, exit=False, **kwargs).exit_status
    except FitsmillError as exc:
        sys.stderr.write(f"{kwargs.get('prog') or 'fitsmill'}: error: {exc}\n")
        return 1
    except Exception as exc:  # noqa: BLE001 -- setup failure, one line
        sys.stderr.write(f"{kwargs.get('prog') or 'fitsmill'}: error: setting up"
                         f" {processorClass.__name__} failed:"
                         f" {runners.describe_failure(exc)[0]}\n")
        return 1
