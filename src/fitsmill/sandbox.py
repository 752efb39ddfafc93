"""Private working directories for external programs (astrometry.net,
SExtractor).

Each source gets its own directory, mode 0700, under a configurable temp
root.  Programs run with that directory as their working directory (the
process's own cwd is never changed, so parallel workers cannot disturb each
other), every command line and its output go to ``lastCommand.log``, and a
wall-clock limit kills the program's whole process group.  On exit the
directory is removed; ``copy_to`` keeps a copy for debugging.
"""

import gzip
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time

from fitsmill.errors import ShellCommandFailed

__all__ = ["Sandbox", "COPY_MARKER"]

#: a file marking a directory as a sandbox copy, the only kind of directory
#: ``copy_to`` will ever replace
COPY_MARKER = ".fitsmill-sandbox-copy"

LOG_NAME = "lastCommand.log"

# seconds a program gets between SIGTERM and SIGKILL
_KILL_GRACE = 3
# polls (0.05 s apart) for a killed process group to be gone
_GROUP_EXIT_POLLS = 100


def _copy_name(src):
    """Directory name for a source's sandbox copy: its base name, made safe."""
    name = os.path.basename(os.path.abspath(src)) or "source"
    return name.replace(os.sep, "_").lstrip(".") or "source"


class Sandbox:
    """A private working directory for processing one source file.

    Use it as a context manager; the directory is removed on exit.

    Parameters
    ----------
    src : str or os.PathLike
        The source file; :meth:`feed` makes it available as ``img.fits``.
    temp_root : str, optional
        Where to create the directory (default: the system temp directory).
    copy_to : str, optional
        If given, on exit the sandbox is copied to
        ``copy_to/<source base name>/`` (symlinks followed, so the image
        itself is copied).  ``copy_to`` is created when missing; inside it,
        only an earlier sandbox copy of the same name is ever replaced.
    verbose : bool
        Print each command line before it runs.
    time_limit : float, optional
        Wall-clock seconds for all the commands run in this sandbox
        together, counted from entering it: one budget per source.
    """

    def __init__(self, src, temp_root=None, copy_to=None, verbose=False,
                 time_limit=None):
        self.src = os.path.abspath(os.fspath(src))
        self.verbose = verbose
        self.time_limit = time_limit
        self._deadline = None
        self.temp_root = temp_root
        self.copy_to = None if copy_to is None else os.path.abspath(copy_to)
        self.dir = None

    def __enter__(self):
        if self.temp_root is not None:
            os.makedirs(self.temp_root, exist_ok=True)
        if self.time_limit is not None:
            self._deadline = time.monotonic() + float(self.time_limit)
        self.dir = tempfile.mkdtemp(prefix="fitsmill-sandbox-", dir=self.temp_root)
        # mkdtemp already uses 0700; insist, whatever the umask or platform
        os.chmod(self.dir, 0o700)
        os.mkdir(self.path("tmp"), 0o700)
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if self.copy_to is not None:
                self._copy_out()
            elif isinstance(exc, ShellCommandFailed) and exc.log_path:
                # the sandbox goes away; the log the error names must not
                shutil.copyfile(self.path(LOG_NAME), exc.log_path)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
        return False

    def path(self, name):
        """Return the absolute path of ``name`` inside the sandbox."""
        return os.path.join(self.dir, name)

    @property
    def log_path(self):
        """Where a command's log can be read after the sandbox is gone."""
        if self.copy_to is not None:
            return os.path.join(self.copy_to, _copy_name(self.src), LOG_NAME)
        return self.dir + ".log"

    def feed(self, name="img.fits", unpack=False):
        """Make the source available as ``name`` inside the sandbox.

        Plain files are symlinked.  Gzipped files (``.gz``) are decompressed
        and tile-compressed files (``.fz``, or any name with ``unpack``) are
        unpacked to a plain image, because astrometry.net misreads both.
        An earlier ``name`` is replaced.

        Returns
        -------
        str
            The path of the fed file.
        """
        dest = self.path(name)
        if os.path.lexists(dest):
            os.unlink(dest)
        lower = self.src.lower()
        if lower.endswith(".gz"):
            with gzip.open(self.src, "rb") as fin, open(dest, "wb") as fout:
                shutil.copyfileobj(fin, fout, 1 << 20)
        elif unpack or lower.endswith(".fz"):
            _unpack_tile_compressed(self.src, dest)
        else:
            os.symlink(self.src, dest)
        return dest

    def write_text(self, name, text):
        """Write a text file into the sandbox; return its path."""
        dest = self.path(name)
        with open(dest, "w", encoding="ascii") as f:
            f.write(text)
        return dest

    def log(self, text):
        """Append a line to the sandbox's command log."""
        with open(self.path(LOG_NAME), "a", encoding="utf-8") as f:
            f.write(text.rstrip("\n") + "\n")

    def run(self, args, what=None):
        """Run a program inside the sandbox.

        When the sandbox's wall-clock budget (``time_limit``) runs out, the
        program's whole process group is terminated (then killed).

        Parameters
        ----------
        args : list of str
            The argument list (never a shell string: names with spaces,
            quotes or ``;`` are safe).
        what : str, optional
            Name used in error messages (default: the program name).

        Raises
        ------
        ShellCommandFailed
            On a non-zero exit status or a timeout; it carries the exit
            status, the argument list and where the log can be read.
        KeyboardInterrupt
            When the program was stopped by SIGINT.
        """
        args = [os.fspath(a) for a in args]
        what = what or os.path.basename(args[0])
        self.log("Now running: " + shlex.join(args))
        if self.verbose:
            print("Running " + shlex.join(args), flush=True)
        with open(self.path(LOG_NAME), "ab") as logf:
            proc = subprocess.Popen(
                args, cwd=self.dir, stdin=subprocess.DEVNULL, stdout=logf,
                stderr=subprocess.STDOUT, start_new_session=True)
            timeout = None
            if self._deadline is not None:
                timeout = max(self._deadline - time.monotonic(), 0.0)
            try:
                rc = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                self.log(f"fitsmill: killed after {self.time_limit:g} s wall-clock time")
                raise ShellCommandFailed(
                    f"{what} did not finish within {self.time_limit:g} s (killed)",
                    None, args, self.log_path) from None
            except BaseException:
                _kill_group(proc)
                raise
        if rc == -signal.SIGINT:
            raise KeyboardInterrupt(f"{what} was interrupted")
        if rc != 0:
            raise ShellCommandFailed(
                f"{what} failed: {self._last_output_line()}", rc, args,
                self.log_path)

    def _last_output_line(self):
        with open(self.path(LOG_NAME), encoding="utf-8", errors="replace") as f:
            lines = [ln.strip() for ln in f if ln.strip()]
        return lines[-1][:200] if lines else "no output"

    def _copy_out(self):
        os.makedirs(self.copy_to, exist_ok=True)
        final = os.path.join(self.copy_to, _copy_name(self.src))
        staging = tempfile.mkdtemp(prefix=".copy-", dir=self.copy_to)
        try:
            tree = os.path.join(staging, "tree")
            shutil.copytree(self.dir, tree, symlinks=False)
            open(os.path.join(tree, COPY_MARKER), "w").close()
            if os.path.lexists(final):
                if not os.path.isfile(os.path.join(final, COPY_MARKER)):
                    raise FileExistsError(
                        f"{final} exists and is not a sandbox copy; not replacing it")
                shutil.rmtree(final)
            os.rename(tree, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _kill_group(proc):
    """Terminate, then kill, a child's process group and reap the child."""
    for sig, grace in ((signal.SIGTERM, _KILL_GRACE), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=grace)
            if sig == signal.SIGTERM:
                # the leader is gone; make sure nothing it started survives
                os.killpg(proc.pid, signal.SIGKILL)
            break
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            break
    proc.wait()
    # killed grandchildren may take a moment to exit (their files in the
    # sandbox are about to be removed); zombies nobody reaps end the wait
    for _ in range(_GROUP_EXIT_POLLS):
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)


def _unpack_tile_compressed(src, dest):
    """Write the first tile-compressed image of ``src`` as a plain FITS file."""
    from astropy.io import fits

    with fits.open(src) as hdus:
        for hdu in hdus:
            if isinstance(hdu, fits.CompImageHDU):
                fits.PrimaryHDU(hdu.data, hdu.header).writeto(dest)
                return
        if hdus[0].data is not None:
            fits.PrimaryHDU(hdus[0].data, hdus[0].header).writeto(dest)
            return
    raise ValueError(f"{src}: no image HDU to unpack")
