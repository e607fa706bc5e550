"""report.xlsx and failed.xlsx beside the CSVs when the input was a workbook, so the admin stays in Excel.

They are converted from the finished CSVs at the end of a run: the CSV stays the record
that is appended and flushed row by row; the workbook is a copy made for reading.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

# Report columns that hold numbers; everything else is written as text, exactly as read.
NUMBER_COLUMNS = {"_row", "_attempts", "_http_status"}
# Excel's rules for a sheet's name (an .ods sheet may have a name Excel refuses).
EXCEL_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
EXCEL_TITLE_CHARS = 31


def write_workbook_copies(sheet_name: str | None, *csv_paths: Path) -> list[Path]:
    """For a workbook input (`sheet_name` not None), write NAME.xlsx beside each NAME.csv; return them.

    Their sheet has the input sheet's name, so the same `--sheet NAME` reads them back.
    """
    if sheet_name is None:
        return []
    written = []
    for path in csv_paths:
        target = path.with_suffix(".xlsx")
        csv_to_xlsx(path, target, sheet_title=sheet_name)
        written.append(target)
    return written


def csv_to_xlsx(source: Path, target: Path, sheet_title: str = "report") -> None:
    """Copy a report CSV into a one-sheet workbook, streaming (openpyxl's write-only mode)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(EXCEL_FORBIDDEN.sub("_", sheet_title)[:EXCEL_TITLE_CHARS] or "report")
    with source.open(newline="", encoding="utf-8") as f:
        lines = csv.reader(f)
        header = next(lines, [])
        sheet.append(header)
        numeric = [name in NUMBER_COLUMNS for name in header]
        for line in lines:
            sheet.append([_cell(sheet, value, is_number) for value, is_number in zip(line, numeric)])
    book.save(target)


def _cell(sheet, value: str, is_number: bool) -> WriteOnlyCell | int | str:
    if is_number and value.isdigit():
        return int(value)
    # Excel can't hold control characters; the CSV keeps the exact text.
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if not value.startswith("="):
        return value
    # Text, never a formula: a cell that reads "=1+1" was text in the input and stays text.
    cell = WriteOnlyCell(sheet, value)
    cell.data_type = "s"
    return cell
