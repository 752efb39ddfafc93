"""Live progress of a processor run.

On a terminal a tqdm bar shows done/total, rate, ETA and failures; when
the output is not a terminal (logs, batch jobs) a plain line is written
every ``interval`` seconds and, if any was, once more at the end (a short
run writes nothing); with ``--no-progress`` nothing is written.  Progress goes to stderr, so a processor's own output
on stdout stays clean.
"""

import sys
import time

__all__ = ["Progress", "choose_mode"]


def _bar_class():
    """tqdm without its monitor thread: a second thread in the parent would
    make the process pool start workers the slow way (see
    :func:`fitsmill.runners.worker_context`), and the bar is updated often
    enough not to need it."""
    from tqdm import tqdm

    class _Bar(tqdm):
        monitor_interval = 0
    return _Bar


def _duration(seconds):
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def choose_mode(enabled=True, stream=None):
    """Return ``"bar"``, ``"plain"`` or ``"off"`` for a stream.

    Parameters
    ----------
    enabled : bool
        False gives ``"off"`` (``--no-progress``).
    stream : file, optional
        Where progress would go; default ``sys.stderr``.
    """
    stream = sys.stderr if stream is None else stream
    if not enabled:
        return "off"
    isatty = getattr(stream, "isatty", None)
    return "bar" if isatty is not None and isatty() else "plain"


class Progress:
    """Progress display for ``total`` sources.

    Parameters
    ----------
    total : int
        Number of sources selected.
    mode : {"bar", "plain", "off"}
        See :func:`choose_mode`.
    stream : file, optional
        Default ``sys.stderr``.
    interval : float
        Seconds between plain lines.
    label : str
        What is counted, e.g. ``"sources"``.
    """

    def __init__(self, total, mode="plain", stream=None, interval=10.0,
                 label="sources"):
        self.total = total
        self.mode = mode
        self.stream = sys.stderr if stream is None else stream
        self.interval = interval
        self.label = label
        self.done = 0
        self.failed = 0
        self._start = time.monotonic()
        self._next_line = self._start + interval
        self._lines_written = 0
        self._bar = None
        if mode == "bar":
            self._bar = _bar_class()(total=total, file=self.stream, unit="src",
                                     dynamic_ncols=True, smoothing=0.1)

    def update(self, done=1, failed=0):
        """Count ``done`` more finished sources, ``failed`` of them failed."""
        self.done += done
        if failed:
            self.failed += failed
        if self.mode == "off":
            return
        if self._bar is not None:
            if failed:
                self._bar.set_postfix_str(f"{self.failed} failed", refresh=False)
            self._bar.update(done)
        elif time.monotonic() >= self._next_line:
            self._write_line()

    def line(self):
        """Return the plain progress line for the current state."""
        elapsed = max(time.monotonic() - self._start, 1e-9)
        rate = self.done / elapsed
        text = (f"{self.done}/{self.total} {self.label} done,"
                f" {self.failed} failed, {rate:.1f}/s")
        if 0 < self.done < self.total and rate > 0:
            text += f", ETA {_duration((self.total - self.done) / rate)}"
        return text

    def _write_line(self):
        self._lines_written += 1
        self.stream.write(self.line() + "\n")
        self.stream.flush()
        self._next_line = time.monotonic() + self.interval

    def close(self):
        """Finish the display (final plain line, bar closed)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.mode == "plain" and self._lines_written:
            # a run shorter than one interval stays silent (clean stderr)
            self._write_line()
