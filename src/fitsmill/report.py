"""What a run tells the user at the end: the summary and DaCHS's reports.

:class:`RunSummary` collects the outcome of every source (succeeded,
skipped, failed with a one-line reason and a traceback) and prints DaCHS's
closing line ``"N files processed, M files with errors"`` (N counts
succeeded and failed sources, as DaCHS does) followed by the counts and
every failed source.  :func:`format_report` and
:func:`format_verbose_report` render ``--report`` output in DaCHS's two
formats.
"""

import json
import textwrap

__all__ = ["RunSummary", "format_report", "format_verbose_report",
           "format_simple_table"]

_REPORT_HEAD = "\n\nProcessor Report\n================\n\n"


def format_simple_table(rows):
    """Render rows with every column right-aligned to its widest entry and
    columns separated by two spaces (DaCHS's ``formatSimpleTable``)."""
    rows = [[str(cell) for cell in row] for row in rows]
    if not rows:
        return ""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.rjust(w) for cell, w in zip(row, widths))
                     for row in rows)


def _warning(ignored):
    return (f"Warning: There were {ignored} errors during classification\n"
            if ignored else "")


def format_report(report_dict, ignored=0):
    """DaCHS's normal ``--report`` output.

    Parameters
    ----------
    report_dict : dict
        Class label -> list of source basenames.
    ignored : int
        Sources whose classification failed.

    Returns
    -------
    str
        The header, a warning when ``ignored``, ``count  label`` rows sorted
        by count then label, and two newlines.
    """
    rows = sorted((len(names), str(label)) for label, names in report_dict.items())
    table = format_simple_table(rows)
    return _REPORT_HEAD + _warning(ignored) + table + "\n" + "\n\n"


def format_verbose_report(report_dict, ignored=0):
    """DaCHS's ``--report --verbose`` output: the largest class with its
    count only, every other class with its sorted member names wrapped at
    70 columns.  Unlike DaCHS, an empty report does not crash."""
    parts = [_REPORT_HEAD, _warning(ignored)]
    classes = sorted(((names, str(label)) for label, names in report_dict.items()),
                     key=lambda item: -len(item[0]))
    for index, (names, label) in enumerate(classes):
        parts.append(f"\n{label}\n{'-' * len(label)}\n\n")
        if index == 0:
            parts.append(f"{len(names)} items\n\n")
        else:
            parts.append(f"{len(names)} items:\n\n")
            parts.append("\n".join(textwrap.wrap(", ".join(sorted(names)))) + "\n")
    if not classes:
        parts.append("Nothing was classified.\n")
    parts.append("\n\n")
    return "".join(parts)


class RunSummary:
    """The outcome of a processor run.

    Attributes
    ----------
    succeeded, skipped, failed : int
        Source counts; skipped means ``SkipThis``.
    not_selected : int
        Identifiers left out by ``--filter`` or ``--shard``.
    selected : int
        Identifiers the run was asked to handle.
    failures : list of (str, str, str)
        ``(source, one-line reason, traceback)`` in source order.
    iteration_error : tuple or None
        ``(reason, traceback)`` when ``iterIdentifiers`` raised.
    interrupted, bailed : bool
        Ctrl-C, or ``--bail`` stopped the run.
    elapsed : float
        Wall-clock seconds.
    """

    def __init__(self):
        self.succeeded = self.skipped = self.failed = 0
        self.not_selected = self.selected = 0
        self.failures = []
        self.iteration_error = None
        self.interrupted = self.bailed = False
        self.elapsed = 0.0

    @property
    def processed(self):
        """Sources ``process`` was called on and that did not skip (DaCHS's
        count: failures included)."""
        return self.succeeded + self.failed

    @property
    def exit_status(self):
        """0 when nothing failed, 1 when a source or the iteration failed,
        2 when interrupted."""
        if self.interrupted:
            return 2
        if self.failed or self.iteration_error is not None or self.bailed:
            return 1
        return 0

    def dachs_line(self):
        """Return DaCHS's closing line."""
        return f"{self.processed} files processed, {self.failed} files with errors"

    def format(self, verbose=False):
        """Return the summary text.

        Parameters
        ----------
        verbose : bool
            Include each failure's traceback.
        """
        lines = [self.dachs_line(),
                 f"succeeded: {self.succeeded}, skipped: {self.skipped},"
                 f" failed: {self.failed}"
                 + (f", not selected: {self.not_selected}" if self.not_selected else "")]
        if self.iteration_error is not None:
            lines.append("error while listing the sources (iterIdentifiers): "
                         + self.iteration_error[0])
            if verbose:
                lines.append(textwrap.indent(self.iteration_error[1].rstrip(), "    "))
        if self.interrupted:
            left = self.selected - self.succeeded - self.failed - self.skipped
            lines.append(f"interrupted: {left} sources not processed")
        if self.bailed:
            lines.append("stopped at the first error (--bail)")
        if self.failures:
            lines.append("failed sources:")
            for source, reason, trace in self.failures:
                lines.append(f"  {source}: {reason}")
                if verbose and trace:
                    lines.append(textwrap.indent(trace.rstrip(), "    "))
        return "\n".join(lines) + "\n"

    def as_dict(self, report_dict=None):
        """Return the summary as JSON-ready data (``--summary-json``)."""
        data = {
            "processed": self.processed, "errors": self.failed,
            "succeeded": self.succeeded, "skipped": self.skipped,
            "failed": self.failed, "selected": self.selected,
            "not_selected": self.not_selected,
            "failures": [{"source": s, "reason": r, "traceback": t}
                         for s, r, t in self.failures],
            "iteration_error": (None if self.iteration_error is None else
                                {"reason": self.iteration_error[0],
                                 "traceback": self.iteration_error[1]}),
            "interrupted": self.interrupted, "bailed": self.bailed,
            "exit_status": self.exit_status,
            "elapsed_seconds": round(self.elapsed, 3),
        }
        if report_dict is not None:
            data["report"] = {str(label): sorted(names)
                              for label, names in report_dict.items()}
        return data

    def write_json(self, path, report_dict=None):
        """Write :meth:`as_dict` to ``path`` atomically."""
        from fitsmill.atomic import atomic_write
        text = json.dumps(self.as_dict(report_dict), indent=2) + "\n"
        atomic_write(path, text.encode("utf-8"), makedirs=False)
