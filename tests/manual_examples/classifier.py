"""The manual's "Processor Report Generation" example, plus a ``process``
that leaves a trace so tests can check ``--report`` never calls it."""

from fitsmill import api


class Classifier(api.FileProcessor):

    def classify(self, srcName):
        hdr = self.getPrimaryHeader(srcName)
        try:
            ignored = "FILTER_A" in hdr  # noqa: F841 -- the manual's probe
            return "ok" if hdr.get("FILTER_A") else "nofilter"
        except ValueError:  # botched cards on board
            return "botched"

    def process(self, srcName):
        with open(srcName + ".processed", "w"):
            pass
