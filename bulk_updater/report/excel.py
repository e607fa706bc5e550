"""report.xlsx and failed.xlsx beside the CSVs, so the admin can fix rows in Excel or LibreOffice.

A CSV does not survive Excel: opening types its cells (`007` becomes `7`, a long number
`1.23457E+19`) and saving writes them back so. These copies are written at the end of every
run, whatever the input's format: every cell a text cell with the Text number format (`@`),
so `#N/A` and `=1+1` stay text, and a value typed into them later (`007`) stays text too.
They are converted from the finished CSVs: the CSV stays the record that is appended and
flushed row by row; the workbook is a copy made for reading and fixing.
"""

from __future__ import annotations

import csv
import itertools
import re
import warnings
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from ..errors import BulkUpdaterWarning
from . import files
from .writer import REPORT_ENCODING

# Excel's rules for a sheet's name (an .ods sheet may have a name Excel refuses).
EXCEL_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
EXCEL_TITLE_CHARS = 31
# A sheet holds at most 1,048,576 rows (the header is one).
EXCEL_MAX_ROWS = 1_048_576
# The copy costs time at the end of a run: `make bench BENCH=xlsx_copy` measured 100,000 report
# lines of 12 columns in 12-18 s on the project's 2-core machine when quiet (54 s with the machine
# shared by eight engineers), so this many take about a minute, at the end of a run of at least
# 3 hours (25 calls / 5 s, the highest plan).
COPY_MAX_LINES = 300_000
TEXT_FORMAT = "@"


def write_workbook_copies(sheet_name: str | None, *csv_paths: Path) -> list[Path]:
    """Write NAME.xlsx beside each NAME.csv (the header and lines of a report); return those written.

    The sheet has the input sheet's name (`sheet_name`, None for text input: the file's
    name), so the same `--sheet NAME` reads it back. A CSV with more lines than a copy may
    hold gets none, with a warning.
    """
    written = []
    for path in csv_paths:
        target = path.with_suffix(".xlsx")
        lines = _count_lines(path)
        if lines > min(COPY_MAX_LINES, EXCEL_MAX_ROWS - 1):
            files.remove(target)
            warnings.warn(
                f"{target.name} was not written: {path.name} has {lines:,} lines, more than the {COPY_MAX_LINES:,} "
                f"a workbook copy is made for. Use {path.name}, or split the input and run each part.",
                BulkUpdaterWarning,
                stacklevel=2,
            )
            continue
        csv_to_xlsx(path, target, sheet_title=sheet_name or path.stem)
        written.append(target)
    return written


def csv_to_xlsx(source: Path, target: Path, sheet_title: str = "report") -> None:
    """Copy a report CSV into a one-sheet workbook of text cells, streaming (openpyxl's write-only mode)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(EXCEL_FORBIDDEN.sub("_", sheet_title)[:EXCEL_TITLE_CHARS] or "report")
    with files.open_read(source, encoding=REPORT_ENCODING) as f:
        lines = csv.reader(f)
        header = next(lines, [])
        # One styled cell per column, refilled for each line: openpyxl writes a row when it is
        # appended, and creating and styling a cell per value would take twice as long.
        cells = [_text_cell(sheet) for _ in header]
        for line in itertools.chain([header], lines):
            if len(line) > len(cells):
                cells += [_text_cell(sheet) for _ in range(len(line) - len(cells))]
            sheet.append([_filled(cell, value) for cell, value in zip(cells, line)])
    with files.replacing(target, binary=True) as out:  # whole or not at all, like the CSVs
        book.save(out)


def _text_cell(sheet) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet)
    cell.number_format = TEXT_FORMAT
    return cell


def _filled(cell: WriteOnlyCell, value: str) -> WriteOnlyCell:
    # Excel can't hold control characters; the CSV keeps the exact text.
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell.value = value or None
    # Text, whatever it looks like: openpyxl would make "#N/A" an error cell and "=1+1" a formula.
    cell.data_type = "s" if value else "n"
    return cell


def _count_lines(path: Path) -> int:
    with files.open_read(path, encoding=REPORT_ENCODING) as f:
        return max(sum(1 for _ in csv.reader(f)) - 1, 0)
