"""``fitsmill headers from-table``: plate headers from a metadata table.

::

    fitsmill headers from-table CATALOG --match-column COL
        --template plate|plate2014|wfpdb|minimal|MODULE:NAME
        [--map COL=KEY ...] [--list-separator SEP] SOURCE ... [--apply]

Each source file is matched to the CATALOG row (CSV, or any table astropy
reads) whose COL value equals the file's name, or its name without the
extensions ``.fits``, ``.fit``, ``.fts``, ``.fz``, ``.gz``.  The row's
values fill the template, together with the file's own header (whose cards
are kept; the row wins where both have a value), and the result goes to the
file's ``.hdr`` cache; ``--apply`` writes it into the file, in place when it
fits.  This is DaCHS's HeaderProcessor with a catalogue (the manual's
``--cat-name`` scenario) without writing code; every HeaderProcessor option
works (``--reprocess``, ``--no-compute``, ``--reheader``, ``-j`` ...).

Columns are used when their names are keywords of the template (any case,
"_" for "-": ``date_obs`` fills DATE-OBS); ``--map COL=KEY`` names the
keyword of any other column (``--map COL=`` drops one).  Empty cells and
NaN leave their card out.  The match column
is only a key, written only when mapped (``--map filename=FILENAME``).  Files without a row fail with that reason (exit status 1);
rows without a file, and the columns not used, are listed.
"""

import importlib
import math
import os
import sys

from fitsmill.errors import CannotComputeHeader, FitsmillError
from fitsmill.headerproc import HeaderProcessor
from fitsmill.processor import run_cli
from fitsmill.templates import get_template, make_header_from_template, template_keyword

__all__ = ["main", "CatalogueHeaderProcessor", "match_keys"]

PROG = "fitsmill headers from-table"

_EXTENSIONS = (".gz", ".fz", ".fits", ".fit", ".fts")


def match_keys(path):
    """The names a catalogue row may use for a file: the file name, then the
    name without FITS and compression extensions (``plate1.fits.fz`` ->
    ``plate1``).

    Returns
    -------
    list of str
    """
    name = os.path.basename(os.fspath(path))
    stem = name
    while stem.lower().endswith(_EXTENSIONS):
        stem = stem[:stem.rfind(".")]
    return [name] if stem == name else [name, stem]


def _load_template(spec):
    """A registered template name, or ``module:ATTRIBUTE``."""
    if ":" in spec:
        module, _, attribute = spec.partition(":")
        try:
            return getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError) as exc:
            raise FitsmillError(f"--template {spec}: {exc}") from None
    try:
        return get_template(spec)
    except ValueError as exc:
        raise FitsmillError(f"--template: {exc}") from None


def _read_table(path, table_format):
    from astropy.table import Table

    try:
        if table_format:
            return Table.read(path, format=table_format)
        try:
            return Table.read(path)
        except Exception:  # noqa: BLE001 -- astropy could not guess: try text
            return Table.read(path, format="ascii")
    except FileNotFoundError:
        raise FitsmillError(f"{path}: no such catalogue file") from None
    except Exception as exc:  # noqa: BLE001 -- any reader error, one line
        raise FitsmillError(f"{path}: cannot read the catalogue: {exc}") from None


def _parse_maps(items):
    maps = {}
    for item in items or ():
        column, sep, keyword = item.partition("=")
        if not sep or not column:
            raise FitsmillError(f"--map {item!r}: expected COLUMN=KEYWORD")
        maps[column] = keyword.strip().upper() or None
    return maps


def _split_list(value, separator):
    """A cell holding several exposures' values, as a list of numbers or text."""
    parts = []
    for text in (p.strip() for p in value.split(separator)):
        for convert in (int, float):
            try:
                text = convert(text)
                break
            except ValueError:
                pass
        parts.append(None if text == "" else text)
    return parts


class CatalogueHeaderProcessor(HeaderProcessor):
    """A HeaderProcessor whose headers come from a table row and a template."""

    @staticmethod
    def addOptions(parser):
        """The HeaderProcessor options plus CATALOG, --match-column,
        --template, --map, --list-separator, --table-format."""
        HeaderProcessor.addOptions(parser)
        parser.add_argument("--catalog", dest="catalog", required=True,
                            metavar="CATALOG", help="table of plate metadata"
                            " (CSV or any table astropy reads); may also be"
                            " given as the first argument")
        parser.add_argument("--match-column", dest="matchColumn", required=True,
                            metavar="COL", help="column holding the file name"
                            " (with or without .fits)")
        parser.add_argument("--template", dest="templateName", required=True,
                            metavar="NAME", help="plate, plate2014, wfpdb,"
                            " minimal, or MODULE:ATTRIBUTE of a template")
        parser.add_argument("--map", dest="columnMaps", action="append",
                            metavar="COL=KEY", default=[],
                            help="write column COL as keyword KEY (empty KEY:"
                            " ignore the column); repeatable")
        parser.add_argument("--list-separator", dest="listSeparator",
                            metavar="SEP", default=None,
                            help="split text cells at SEP into per-exposure"
                            " values (EXPTIME '600;300' gives EXPTIME and"
                            " EXPTIM2 with the plate template)")
        parser.add_argument("--table-format", dest="tableFormat", metavar="FMT",
                            default=None, help="astropy table format (default:"
                            " guessed)")

    def _createAuxiliaries(self, dd):
        opts = self.opts
        self.template = _load_template(opts.templateName)
        table = _read_table(opts.catalog, opts.tableFormat)
        if opts.matchColumn not in table.colnames:
            raise FitsmillError(f"{opts.catalog}: no column {opts.matchColumn!r}"
                                f" (columns: {', '.join(table.colnames)})")
        maps = _parse_maps(opts.columnMaps)
        unknown = sorted(set(maps) - set(table.colnames))
        if unknown:
            raise FitsmillError(f"--map: {opts.catalog} has no column"
                                f" {', '.join(map(repr, unknown))}")
        self.columns = {}
        self.unusedColumns = []
        for column in table.colnames:
            if column in maps:
                keyword = maps[column]
            elif column == opts.matchColumn:
                continue
            else:
                keyword = template_keyword(self.template, column)
                if not keyword:
                    self.unusedColumns.append(column)
            if keyword:
                self.columns[column] = keyword
        self._rows = {}
        for row in table:
            key = str(row[opts.matchColumn]).strip()
            if key in self._rows:
                raise FitsmillError(f"{opts.catalog}: more than one row with"
                                    f" {opts.matchColumn} = {key!r}")
            self._rows[key] = row
        self._seen = set()

    def iterIdentifiers(self):
        """The sources, noting which rows they match (parent side)."""
        for ident in super().iterIdentifiers():
            self._seen.update(match_keys(ident))
            yield ident

    def _values(self, row):
        values = {}
        separator = self.opts.listSeparator
        for column, keyword in self.columns.items():
            value = row[column]
            if separator and isinstance(value, str) and separator in value:
                value = _split_list(value, separator)
            elif isinstance(value, float) and math.isnan(value):
                value = None      # a number missing from the table
            values[keyword] = value
        return values

    def _getHeader(self, srcName):
        for key in match_keys(srcName):
            row = self._rows.get(key)
            if row is not None:
                break
        else:
            raise CannotComputeHeader(
                f"no row in {os.path.basename(self.opts.catalog)} with"
                f" {self.opts.matchColumn} = {match_keys(srcName)[-1]!r}")
        return make_header_from_template(
            self.template, originalHeader=self.getPrimaryHeader(srcName),
            **self._values(row))

    def processAll(self):
        """Run, then list the rows that matched no file."""
        if self.unusedColumns:
            print(f"columns not used (no keyword in the template; --map"
                  f" COL=KEY): {', '.join(self.unusedColumns)}")
        result = super().processAll()
        orphans = [key for key in self._rows if key not in self._seen]
        if orphans:
            print(f"{len(orphans)} catalogue rows match no file:")
            print("".join(f"  {key}\n" for key in orphans), end="")
        return result


def main(argv=None):
    """Run ``fitsmill headers from-table``; return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # CATALOG comes first; argparse cannot take it as a positional before
    # options followed by more positionals (the sources).
    if argv and not argv[0].startswith("-"):
        argv[:1] = ["--catalog", argv[0]]
    return run_cli(CatalogueHeaderProcessor, argv, prog=PROG,
                   description="Plate headers from a metadata table: match rows"
                   " to files, fill a template, write .hdr caches (with"
                   " --apply, into the files).")
