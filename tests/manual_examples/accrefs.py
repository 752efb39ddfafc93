"""The manual's "Overriding the Sources" example: identifiers that are not
file paths (accrefs listed in a resdir file standing in for the database
table), filtered by an ``iterIdentifiers`` override as the manual's
PreviewMaker does."""

import os

from fitsmill import api


class AccrefLister(api.FileProcessor):

    def _createAuxiliaries(self, dd):
        self.seen = []

    def iterIdentifiers(self):
        with open(os.path.join(self.dd.rd.resdir, "accrefs.txt")) as f:
            for ln in f:
                yield ln.strip()

    def process(self, srcName):
        self.seen.append(srcName)


class NoVotLister(AccrefLister):

    def iterIdentifiers(self):
        for id in AccrefLister.iterIdentifiers(self):
            if not id.endswith(".vot"):
                yield id
