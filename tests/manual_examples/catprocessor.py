"""The manual's "Processor Command line" and "Auxiliaries" examples:
an optparse-style ``--cat-name`` option and a catalogue read in
``_createAuxiliaries``."""

import os

from fitsmill import api


class Processor(api.FileProcessor):

    @staticmethod
    def addOptions(optParser):
        api.FileProcessor.addOptions(optParser)
        optParser.add_option("--cat-name", help="Resdir-relative path to"
            " the plate catalogue", action="store", type="str",
            dest="catPath", default="res/plates.cat")

    def _createAuxiliaries(self, dd):
        self.catEntriesUsed = 0
        catPath = os.path.join(dd.rd.resdir, self.opts.catPath)
        self.catalogue = {}
        for ln in open(catPath):
            id, val = ln.split()
            self.catalogue[id] = val
        # gathered state beyond the manual: which entries were used, by whom
        self.used = {}

    def process(self, srcName):
        key = os.path.basename(srcName)
        if key not in self.catalogue:
            raise KeyError(f"{key} not in catalogue")
        self.catEntriesUsed += 1
        self.used[key] = self.catalogue[key]
        return self.catalogue[key]
