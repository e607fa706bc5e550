"""report.xlsx and failed.xlsx beside the CSVs, so the admin can fix rows in Excel or LibreOffice.

A CSV does not survive Excel: opening types its cells (`007` becomes `7`, a long number
`1.23457E+19`) and saving writes them back so. These copies are written at the end of every
run, whatever the input's format: every cell a text cell with the Text number format (`@`),
so `#N/A` and `=1+1` stay text, and a value typed into them later (`007`) stays text too.
They are converted from the finished CSVs: the CSV stays the record that is appended and
flushed row by row; the workbook is a copy made for reading and fixing. xlsxwriter writes it:
made for writing workbooks, it streams the rows faster than openpyxl (`make bench BENCH=xlsx_copy`).
"""

from __future__ import annotations

import csv
import itertools
import re
import shutil
import tempfile
import threading
from pathlib import Path

from .. import files, notes
from .writer import REPORT_ENCODING

# Excel's rules for a sheet's name (an .ods sheet may have a name Excel refuses).
EXCEL_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
EXCEL_TITLE_CHARS = 31
# A sheet holds at most 1,048,576 rows (the header is one).
EXCEL_MAX_ROWS = 1_048_576
# The copy costs time at the end of a run: `make bench BENCH=xlsx_copy` measures it (docs/report.md
# gives the figures); this many lines take well under a minute, at the end of a run of at least
# 3 hours (25 calls / 5 s, the highest plan).
COPY_MAX_LINES = 300_000
TEXT_FORMAT = "@"
# Every value is written as a string cell, exactly as the report holds it: xlsxwriter must not
# turn text into numbers, formulas (`=1+1`) or links.
WRITER_OPTIONS = {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False}
# What Excel can't hold in a cell (the XML 1.0 control characters).
ILLEGAL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# xlsxwriter's temporary files (a copy's rows, tens of MB) go in a folder of their own in the run folder,
# removed after the copy; a kill's leftover is removed by the next copy (a resume's, at its end).
COPYING_PREFIX = ".copying-"
# Where older versions let xlsxwriter put them: in the run folder itself, as tempfile names them.
LEFTOVER_TEMPORARY = re.compile(r"tmp[a-z0-9_]{8}")
LINES_BETWEEN_LOOKS = 2000
# Set when the process is stopping (the web page's server, on SIGTERM): copies are not started and one under
# way is given up, so that the job saves run.json and ends within the server's --stop-wait. The CSVs are whole;
# the next session of the run writes the copies.
_STOPPING = threading.Event()


class _GivenUp(Exception):
    """The process is stopping: the copy under way is left unwritten."""


def stop_copies() -> None:
    _STOPPING.set()


def remove_leftovers(folder: Path) -> None:
    """What a kill during a copy left in a run folder: xlsxwriter's temporary files, and NAME.xlsx.tmp."""
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if path.name.startswith(COPYING_PREFIX) and path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif (LEFTOVER_TEMPORARY.fullmatch(path.name) or path.name.endswith(".xlsx" + files.TEMPORARY_SUFFIX)) and path.is_file() and not path.is_symlink():
            path.unlink(missing_ok=True)


def write_workbook_copies(sheet_name: str | None, *csv_paths: Path) -> list[Path]:
    """Write NAME.xlsx beside each NAME.csv (the header and lines of a report); return those written.

    The sheet has the input sheet's name (`sheet_name`, None for text input: the file's
    name), so the same `--sheet NAME` reads it back. A CSV with more lines than a copy may
    hold gets none, with a warning.
    """
    written = []
    for folder in {path.parent for path in csv_paths}:
        remove_leftovers(folder)
    for path in csv_paths:
        target = path.with_suffix(".xlsx")
        if _STOPPING.is_set():
            files.remove(target)  # an earlier session's copy: it no longer holds what the CSV holds
            continue
        lines = _count_lines(path)
        if lines > min(COPY_MAX_LINES, EXCEL_MAX_ROWS - 1):
            files.remove(target)
            notes.warn(
                f"{target.name} was not written: {path.name} has {lines:,} lines, more than the {COPY_MAX_LINES:,} "
                f"a workbook copy is made for. Use {path.name}, or split the input and run each part.",
            )
            continue
        try:
            csv_to_xlsx(path, target, sheet_title=sheet_name or path.stem)
        except _GivenUp:
            files.remove(target)
            continue
        written.append(target)
    return written


def csv_to_xlsx(source: Path, target: Path, sheet_title: str = "report") -> None:
    """Copy a report CSV into a one-sheet workbook of text cells, streaming (xlsxwriter's constant-memory mode)."""
    import xlsxwriter  # only at the end of a run: start-up stays light

    # Rows go to temporary files while written: keep them in the run folder, beside the data they hold.
    temporary = Path(tempfile.mkdtemp(prefix=COPYING_PREFIX, dir=target.parent))
    try:
        _copy(source, target, sheet_title, xlsxwriter, temporary)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def _copy(source: Path, target: Path, sheet_title: str, xlsxwriter, temporary: Path) -> None:
    with files.replacing(target, binary=True) as out:  # whole or not at all, like the CSVs
        book = xlsxwriter.Workbook(out, {**WRITER_OPTIONS, "tmpdir": str(temporary)})
        sheet = book.add_worksheet(EXCEL_FORBIDDEN.sub("_", sheet_title)[:EXCEL_TITLE_CHARS] or "report")
        text = book.add_format({"num_format": TEXT_FORMAT})
        with files.open_read(source, encoding=REPORT_ENCODING) as f:
            lines = csv.reader(f)
            header = next(lines, [])
            # Empty cells too are Text, so a value typed into them later (`007`) stays text.
            sheet.set_column(0, max(len(header) - 1, 0), None, text)
            for number, line in enumerate(itertools.chain([header], lines)):
                if number % LINES_BETWEEN_LOOKS == 0 and _STOPPING.is_set():
                    book.fileclosed = True  # given up: nothing to close (its destructor would write the workbook)
                    raise _GivenUp
                for column, value in enumerate(line):
                    # Excel can't hold control characters; the CSV keeps the exact text.
                    if value := ILLEGAL_CHARACTERS.sub("", value):
                        sheet.write_string(number, column, value, text)
        book.close()


def _count_lines(path: Path) -> int:
    with files.open_read(path, encoding=REPORT_ENCODING) as f:
        return max(sum(1 for _ in csv.reader(f)) - 1, 0)
