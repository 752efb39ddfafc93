"""The undo log of header writes: crash recovery and undo.

Before :func:`fitsmill.fitsfile.write_header` touches a file it appends a
``begin`` record to the current run's log: the file's path, the HDU's header
offset, the old header bytes, the size and SHA-256 of the new header bytes,
the file's identity (size, inode, mtime) and, for a rewrite, the name of the
temporary file.  The record is flushed to disk (fsync) before the file is
written; a ``done`` record with the new identity follows the write.

* :func:`recover` finishes the story of every ``begin`` without ``done``
  (a killed or crashed run): a file that already has its new header is
  marked done, one that still has its old header is left alone, and a torn
  in-place write or an interrupted resize by shifting is rolled back to
  the old bytes; leftover temporary files are removed.
* :func:`undo` puts the old header bytes back, byte for byte, for every
  finished write of a run, newest first.  A file whose header or identity
  changed since is left alone and reported.

Where the logs live: ``$FITSMILL_UNDO_DIR`` if set, else
``$XDG_STATE_HOME/fitsmill/undo``, else ``~/.local/state/fitsmill/undo``.
Each run (process, or ``fitsmill`` command) writes one log file named
``<UTC time>-<pid>.undo`` there, JSON lines, one record per line.  A run
holds an exclusive ``flock`` on its log while it is open, so :func:`recover`
never interferes with a live writer.
"""

import atexit
import fcntl
import hashlib
import json
import os
import threading
import time

from fitsmill.errors import FitsmillError
from fitsmill.atomic import fsync_directory
from fitsmill.blockshift import roll_back
from fitsmill.fitsfile import write_header_bytes

__all__ = ["UndoLog", "default_undo_dir", "current_log", "list_logs", "log_summary",
           "recover", "undo", "identity", "Outcome"]


def default_undo_dir():
    """The directory undo logs go to (see the module docstring)."""
    configured = os.environ.get("FITSMILL_UNDO_DIR")
    if configured:
        return configured
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state")
    return os.path.join(state, "fitsmill", "undo")


def identity(st):
    """The identity recorded for a file: [size, inode, mtime in ns]."""
    return [st.st_size, st.st_ino, st.st_mtime_ns]


def _digest(data):
    return hashlib.sha256(data).hexdigest()


# Header bytes that JSON can carry as they are: printable ASCII without
# quote or backslash (the usual case; json's own escaping of a whole
# header costs several times more).  The table changes every other byte,
# so the bytes are plain when it leaves them as they are (one C pass).
_PLAIN_TABLE = bytes(byte if 0x20 <= byte < 0x7f and byte not in b'"\\' else
                     ord("x") for byte in range(256))


def _json_bytes(data):
    """The inside of a JSON string (ASCII bytes, without the quotes) of
    bytes read as latin-1: usually the bytes themselves, not copied."""
    if data.translate(_PLAIN_TABLE) == data:
        return data
    return json.dumps(data.decode("latin-1")).encode("ascii")[1:-1]


def _json_text(text):
    """json.dumps(text), without its machinery for the usual plain text."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return json.dumps(text)


# The JSON of each "how" of a begin record.
_HOWS = {how: json.dumps(how).encode() for how in ("in place", "rewrite", "insert",
                                                  "collapse")}

# The records, as bytes templates: the old header is put in as it is read
# (no conversion to str and back).
_BEGIN = (b'{"op":"begin","seq":%d,"path":%b,"offset":%d,"how":%b,"tmp":%b,'
          b'"old":"%b","new_size":%d,"new_sha256":"%b","id":[%d,%d,%d]}\n')
_DONE = b'{"op":"done","seq":%d,"id":[%d,%d,%d]}\n'


def _begin_line(seq, path, offset, old_bytes, new_bytes, st, how, tmp):
    """The JSON line (bytes) of a ``begin`` record (see the module docstring)."""
    return _BEGIN % (seq, _json_text(path).encode("ascii"), offset,
                     _HOWS.get(how) or json.dumps(how).encode("ascii"),
                     b"null" if tmp is None else _json_text(tmp).encode("ascii"),
                     _json_bytes(old_bytes), len(new_bytes),
                     _digest(new_bytes).encode("ascii"),
                     st.st_size, st.st_ino, st.st_mtime_ns)


def _done_line(seq, st):
    """The JSON line (bytes) of a ``done`` record."""
    return _DONE % (seq, st.st_size, st.st_ino, st.st_mtime_ns)


class UndoLog:
    """One run's undo log, opened for appending.

    Parameters
    ----------
    directory : str, optional
        Where to create the log; default :func:`default_undo_dir`.
    fsync : bool, optional
        Flush each ``begin`` record to disk before the file it describes is
        written.  Without it, the log survives a killed process but not a
        power loss.
    """

    def __init__(self, directory=None, fsync=True):
        directory = os.fspath(directory or default_undo_dir())
        os.makedirs(directory, mode=0o700, exist_ok=True)
        self.directory = directory
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        base = os.path.join(directory, f"{stamp}-{os.getpid()}")
        suffix = 0
        while True:
            self.path = f"{base}{'-%d' % suffix if suffix else ''}.undo"
            try:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT
                                   | os.O_EXCL | os.O_CLOEXEC, 0o600)
                break
            except FileExistsError:
                suffix += 1
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        self.fsync = fsync
        self._seq = 0
        self._pid = os.getpid()
        # Threads of one process may share a log (one writer per file).
        self._lock = threading.Lock()
        if fsync:
            fsync_directory(directory)

    def _append(self, data, sync):
        """Append JSON lines (bytes) with one write (one flush with ``sync``)."""
        if self._fd is None:
            raise FitsmillError(f"{self.path}: undo log is closed")
        # A kill inside this loop leaves a torn last line, which readers
        # drop: none of the writes it describes has started.
        while data:
            data = data[os.write(self._fd, data):]
        if sync:
            os.fdatasync(self._fd)

    def begin(self, path, offset, old_bytes, new_bytes, st, how, tmp=None,
              fsync=None):
        """Record a write that is about to happen; return its sequence number.

        Parameters
        ----------
        path : str
            Absolute path of the file.
        offset : int
            Byte offset of the header being replaced.
        old_bytes, new_bytes : bytes
            The header as it is and as it will be (whole blocks).
        st : os.stat_result
            The file's state before the write.
        how : {"in place", "rewrite", "insert", "collapse"}
            "insert" and "collapse" resize a header at the start of the file
            by shifting the data (:mod:`fitsmill.blockshift`).
        tmp : str, optional
            The temporary file a rewrite creates.
        fsync : bool, optional
            Override the log's own fsync setting for this record.
        """
        # (begin_many's work for one write, without its lists)
        seq = self._take_seqs(1)
        self._append(_begin_line(seq, path, offset, old_bytes, new_bytes, st, how, tmp),
                     self.fsync if fsync is None else fsync)
        return seq

    def begin_many(self, writes, fsync=None):
        """Record several writes about to happen, with one append and at
        most one flush (group commit); return their sequence numbers.

        Parameters
        ----------
        writes : list of tuple
            ``(path, offset, old_bytes, new_bytes, st, how, tmp)`` for each
            write, as the arguments of :meth:`begin`.
        fsync : bool, optional
            Override the log's own fsync setting.
        """
        first = self._take_seqs(len(writes))
        self._append(b"".join([_begin_line(seq, *write)
                              for seq, write in enumerate(writes, first)]),
                     sync=self.fsync if fsync is None else fsync)
        return list(range(first, first + len(writes)))

    def _take_seqs(self, count):
        """Reserve ``count`` sequence numbers (threads may log at once);
        return the first."""
        with self._lock:
            first = self._seq + 1
            self._seq += count
        return first

    @property
    def writes(self):
        """How many writes this log has recorded."""
        return self._seq

    def done(self, seq, st):
        """Record that write ``seq`` finished, leaving the file in state ``st``."""
        # Not flushed: if it is lost, recover() finds the new header and
        # writes the record again.
        self._append(_done_line(seq, st), sync=False)

    def done_many(self, finished):
        """Record several finished writes: ``(seq, st)`` pairs."""
        self._append(b"".join([_done_line(seq, st) for seq, st in finished]), sync=False)

    def void(self, seq):
        """Record that write ``seq`` did not happen (it failed before the
        file changed, or was rolled back)."""
        self._append(b'{"op":"void","seq":%d}\n' % seq, sync=False)

    def close(self):
        """Release the log (idempotent); a log that recorded nothing is
        removed, so runs without writes leave no files behind."""
        if self._fd is not None:
            # (A forked child holds a copy of its parent's log: not its own.)
            if self._seq == 0 and self._pid == os.getpid():
                os.unlink(self.path)
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_CURRENT = {}
_CURRENT_LOCK = threading.Lock()


def _usable(log, directory):
    """Whether ``log`` is this process's open log in ``directory``."""
    return log is not None and log._fd is not None and log._pid == os.getpid() \
        and log.directory == directory


def current_log():
    """The undo log of this process, created on first use.

    One log per process (workers of a pool get their own), closed at exit;
    a new one is started when the configured directory changes.
    """
    directory = default_undo_dir()
    # Called before every header write: the lock is taken only to start a log.
    log = _CURRENT.get("log")
    if _usable(log, directory):
        return log
    with _CURRENT_LOCK:
        log = _CURRENT.get("log")
        if not _usable(log, directory):
            log = UndoLog(directory)
            _CURRENT["log"] = log
            atexit.register(log.close)
    return log


class Outcome:
    """What recover() or undo() did with one logged write.

    Attributes
    ----------
    path : str
    action : str
        ``"completed"``, ``"rolled back"``, ``"not applied"``, ``"undone"``,
        ``"already undone"`` or ``"skipped"``.
    reason : str
        Why, for ``"skipped"``; empty otherwise.
    """

    __slots__ = ("path", "action", "reason")

    def __init__(self, path, action, reason=""):
        self.path = path
        self.action = action
        self.reason = reason

    @property
    def ok(self):
        """False when the entry was skipped (needs a human)."""
        return self.action != "skipped"

    def __str__(self):
        text = f"{self.path}: {self.action}"
        return f"{text}: {self.reason}" if self.reason else text

    def __repr__(self):
        return f"<Outcome {self}>"


def _read_records(log_path):
    """The parsed records of a log; a torn last line (killed mid-append)
    is dropped, since its write never started."""
    with open(log_path, "rb") as f:
        lines = f.read().split(b"\n")
    records = []
    for line in lines:
        if not line:
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


def list_logs(directory=None):
    """Paths of the undo logs in ``directory``, oldest first."""
    directory = os.fspath(directory or default_undo_dir())
    try:
        names = sorted(n for n in os.listdir(directory) if n.endswith(".undo"))
    except FileNotFoundError:
        return []
    return [os.path.join(directory, n) for n in names]


def _entries(records):
    """begin records by seq, each with the later records about it folded in."""
    entries = {}
    for rec in records:
        if rec.get("op") == "begin":
            entries[rec["seq"]] = dict(rec, state="begun", final_id=None)
        elif rec.get("seq") in entries:
            entry = entries[rec["seq"]]
            entry["state"] = rec["op"]
            if "id" in rec:
                entry["final_id"] = rec["id"]
    return entries


def log_summary(log_path):
    """How many writes of a log are in each state.

    Returns
    -------
    dict
        State (``"done"``, ``"undone"``, ``"void"`` for writes found not
        applied by :func:`recover`, ``"begun"`` for interrupted ones) ->
        count.
    """
    states = {}
    for entry in _entries(_read_records(log_path)).values():
        states[entry["state"]] = states.get(entry["state"], 0) + 1
    return states


def _pread_exact(fd, size, offset):
    data = os.pread(fd, size, offset)
    return data if len(data) == size else None


def _locked_log(log_path):
    """An open, exclusively locked descriptor of a log, or None when a live
    run holds it."""
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _note(fd, record):
    os.write(fd, (json.dumps(record, separators=(",", ":")) + "\n").encode("ascii"))
    os.fdatasync(fd)


def _recover_entry(entry, fsync):
    path = entry["path"]
    tmp = entry.get("tmp")
    if tmp:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
    old = entry["old"].encode("latin-1")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return Outcome(path, "skipped", "file no longer exists"), None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        current = _pread_exact(fd, entry["new_size"], entry["offset"])
        if current is not None and _digest(current) == entry["new_sha256"]:
            return Outcome(path, "completed"), identity(os.fstat(fd))
        current = _pread_exact(fd, len(old), entry["offset"])
        if current == old:
            return Outcome(path, "not applied"), None
        if entry["how"] in ("insert", "collapse"):
            return _recover_shift(fd, path, entry, old, fsync), None
        if entry["how"] != "in place" or current is None:
            return Outcome(path, "skipped",
                           "header is neither the old nor the new one"), None
        # A write killed between pages leaves a mix of old and new bytes;
        # the old bytes are complete in the log, so roll back.
        os.pwrite(fd, old, entry["offset"])
        if fsync:
            os.fdatasync(fd)
        return Outcome(path, "rolled back"), None
    finally:
        os.close(fd)


def _recover_shift(fd, path, entry, old, fsync):
    """A header resize by shifting (:mod:`fitsmill.blockshift`) stopped
    after the shift: roll it back (the old header bytes are in the log)."""
    delta = entry["new_size"] - len(old)
    if os.fstat(fd).st_size != entry["id"][0] + delta:
        return Outcome(path, "skipped", "header is neither the old nor the new one")
    roll_back(fd, old, delta)
    if fsync:
        os.fsync(fd)
    return Outcome(path, "rolled back")


def recover(directory=None, logs=None, fsync=True):
    """Finish or roll back every interrupted write (see the module docstring).

    Parameters
    ----------
    directory : str, optional
        Undo directory to scan; default :func:`default_undo_dir`.
    logs : list of str, optional
        Only these log files.
    fsync : bool, optional
        Flush repaired headers to disk.

    Returns
    -------
    list of Outcome
        One per interrupted write found; logs held by a live run are left
        alone (an Outcome with action "skipped" names them).
    """
    outcomes = []
    for log_path in (logs if logs is not None else list_logs(directory)):
        lock = _locked_log(log_path)
        if lock is None:
            outcomes.append(Outcome(log_path, "skipped", "run still in progress"))
            continue
        try:
            for seq, entry in _entries(_read_records(log_path)).items():
                if entry["state"] != "begun":
                    continue
                outcome, final = _recover_entry(entry, fsync)
                outcomes.append(outcome)
                if outcome.action == "completed":
                    _note(lock, {"op": "done", "seq": seq, "id": final})
                elif outcome.ok:
                    _note(lock, {"op": "void", "seq": seq})
        finally:
            os.close(lock)
    return outcomes


def undo(log_path, force=False, fsync=True, undo_log=None):
    """Restore the original headers of every finished write of one run.

    Writes are undone newest first, so several edits of one file in a run
    unwind in order.  The restore itself goes through
    :func:`fitsmill.fitsfile.write_header_bytes` and is logged like any
    write (in ``undo_log``, default a new log), so an interrupted undo can
    be recovered and repeated.

    Parameters
    ----------
    log_path : str
        The run's log file.
    force : bool, optional
        Restore even when the file's identity (size, inode, mtime) differs
        from the one recorded after the write; the header bytes must still
        be the ones the run wrote.
    fsync : bool, optional
    undo_log : UndoLog, optional

    Returns
    -------
    list of Outcome
    """
    lock = _locked_log(log_path)
    if lock is None:
        raise FitsmillError(f"{log_path}: the run is still in progress")
    outcomes = []
    seen = set()
    own_log = undo_log is None
    try:
        entries = _entries(_read_records(log_path))
        todo = [e for e in entries.values() if e["state"] == "done"]
        if any(e["state"] == "begun" for e in entries.values()):
            raise FitsmillError(f"{log_path}: has interrupted writes; run "
                                "'fitsmill headers recover' first")
        if own_log:
            undo_log = UndoLog(os.path.dirname(log_path), fsync=fsync)
        for entry in sorted(todo, key=lambda e: e["seq"], reverse=True):
            outcome = _undo_entry(entry, entry["path"] in seen, force, fsync,
                                  undo_log)
            seen.add(entry["path"])
            outcomes.append(outcome)
            if outcome.action == "undone":
                _note(lock, {"op": "undone", "seq": entry["seq"]})
    finally:
        os.close(lock)
        if own_log and undo_log is not None:
            undo_log.close()
    return outcomes


def _undo_entry(entry, later_edit_undone, force, fsync, undo_log):
    path = entry["path"]
    old = entry["old"].encode("latin-1")
    try:
        st = os.stat(path)
        with open(path, "rb", buffering=0) as f:
            fd = f.fileno()
            current = _pread_exact(fd, entry["new_size"], entry["offset"])
            is_new = current is not None and _digest(current) == entry["new_sha256"]
            is_old = _pread_exact(fd, len(old), entry["offset"]) == old
    except FileNotFoundError:
        return Outcome(path, "skipped", "file no longer exists")
    if is_old and not is_new:
        return Outcome(path, "already undone")
    if not is_new:
        return Outcome(path, "skipped", "header changed since the edit")
    # The newest edit of a file checks its identity; older edits of the same
    # file follow an undo that has just changed it.
    if not later_edit_undone and not force and identity(st) != entry["final_id"]:
        return Outcome(path, "skipped",
                       "file changed since the edit (size, inode or mtime); "
                       "use --force to restore the header anyway")
    write_header_bytes(path, entry["offset"], entry["new_size"], old,
                       undo=undo_log, fsync=fsync)
    return Outcome(path, "undone")
