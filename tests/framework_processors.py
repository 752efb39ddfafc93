"""Processors for the runner tests, in a module of their own so that
spawn-started workers import only this (and fitsmill), not the test modules
with their heavier imports."""

import collections
import multiprocessing
import os
import signal

from fitsmill.processor import FileProcessor


class Stateful(FileProcessor):
    """Gathers state of every kind the default merge knows."""

    workerLocalAttributes = FileProcessor.workerLocalAttributes | {"lookup"}

    def _createAuxiliaries(self, dd):
        self.lookup = {str(i): i * i for i in range(500)}
        self.names = []
        self.total = 0
        self.labels = collections.Counter()
        self.by_parity = collections.defaultdict(list)
        self.kinds = set()
        self.nested = {}
        self.last = None
        self._scratch = []

    def process(self, srcName):
        n = int(os.path.basename(srcName))
        self.names.append(n)
        self.total += self.lookup[str(n)]
        self.labels["even" if n % 2 == 0 else "odd"] += 1
        self.by_parity[n % 2].append(n)
        self.kinds.add(n % 5)
        squares = self.nested.setdefault("squares", {})
        squares[n % 3] = squares.get(n % 3, 0) + n * n
        self.last = os.path.basename(srcName)
        self._scratch.append(n)


class WorkerOnlyFailure(FileProcessor):
    def _createAuxiliaries(self, dd):
        if os.environ.get("FITSMILL_TEST_PARENT") != str(os.getpid()):
            raise RuntimeError("no catalogue here")


class Unsendable(FileProcessor):
    def process(self, srcName):
        if srcName.endswith("7"):
            return lambda: None
        return os.path.basename(srcName)


class Crasher(FileProcessor):
    """Kills its worker process on one source, as a segfault would."""

    def _createAuxiliaries(self, dd):
        self.done = []

    def process(self, srcName):
        if srcName.endswith("f13") and multiprocessing.parent_process() is not None:
            os.kill(os.getpid(), signal.SIGKILL)
        self.done.append(os.path.basename(srcName))
