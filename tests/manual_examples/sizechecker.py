"""The manual's "Processors" and "Gathering Data" examples.

The manual leaves ``_getExpectedSize`` to the reader; here the expected
size is written into the file name (``name_<bytes>.dat``), so a test can
create files that match or miss it.
"""

import os

from fitsmill import api


def _getExpectedSize(fName):
    return int(os.path.splitext(os.path.basename(fName))[0].rsplit("_", 1)[1])


class SizeChecker(api.FileProcessor):

    def process(self, srcName):
        found = os.path.getsize(srcName)
        expected = _getExpectedSize(srcName)
        if found != expected:
            print("%s: is %s, should be %s" % (srcName, found, expected))


class GatheringSizeChecker(api.FileProcessor):

    def _createAuxiliaries(self, dd):
        self.mess = []

    def process(self, srcName):
        found = os.path.getsize(srcName)
        expected = _getExpectedSize(srcName)
        if found != expected:
            self.mess.append((srcName, expected, found))


def sorted_mess_report(res):
    """The manual's post-processing of ``procmain``'s result, as lines."""
    res.mess.sort(key=lambda rec: abs(rec[1] - rec[2]))
    return ["%10d %10d %8d %s" % (expected, found, expected - found, name)
            for name, expected, found in res.mess]
