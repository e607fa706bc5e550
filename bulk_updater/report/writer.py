"""Write one report line per row as it finishes, flushed, so a crash loses at most the rows in flight."""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from .. import files
from ..outcomes import RowOutcome
from ..server_text import spreadsheet_safe
from .summary import needs_a_look

# A UTF-8 byte-order mark opens every report CSV, so that Excel reads it as UTF-8 (without one it
# takes the ANSI code page: Müller shows as MÃ¼ller). Readers of the reports use "utf-8-sig".
REPORT_ENCODING = "utf-8-sig"
META_COLUMNS = ["_row", "_outcome", "_attempts", "_http_status", "_error_type", "_error_message"]


class ReportWriter:
    """report.csv: the row's own columns exactly as read, then the META_COLUMNS.

    An existing report (a resumed run's, already repaired) is continued: lines are appended.
    """

    def __init__(self, path: Path, columns: list[str]) -> None:
        self.path = path
        self._columns = columns
        # Appending to a file that has lines writes no second BOM: the encoder starts one only at offset 0.
        self._file: TextIO = files.open_append(path, REPORT_ENCODING)  # type: ignore[assignment]
        self._csv = csv.writer(self._file)
        if self._file.tell() == 0:
            self._csv.writerow(report_header(columns))
            self._file.flush()

    def write(self, result: RowOutcome) -> None:
        cells = result.row.cells
        self._csv.writerow(
            [
                *(cells.get(name, "") for name in self._columns),
                result.row.number,
                result.outcome.value,
                result.attempts,
                "" if result.http_status is None else result.http_status,
                # Server text: never a formula when the report is opened in Excel. The row's own
                # cells above are the user's, and stay exactly as read.
                spreadsheet_safe(result.error_type),
                spreadsheet_safe(result.error_message),
            ]
        )
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def report_header(columns: list[str]) -> list[str]:
    return [*columns, *META_COLUMNS]


def write_failed(report: Path, failed: Path) -> int:
    """Copy the report lines that need another look into `failed`, in sheet order; return how many.

    Those are the lines not finished, and the lines `skipped` by a check that held them back (undo's
    "changed since the run": there to be looked at; `retry` passes a skipped line over, so it never
    restores them; `undo --force` does)."""
    count = 0
    with files.open_read(report, encoding=REPORT_ENCODING) as source, files.replacing(failed, encoding=REPORT_ENCODING) as target:
        lines = csv.reader(source)
        header = next(lines)
        out = csv.writer(target)
        out.writerow(header)
        for line in _in_sheet_order(_needing_a_look(lines, header), header.index("_row"), failed.parent):
            out.writerow(line)
            count += 1
    return count


def _needing_a_look(lines: Iterator[list[str]], header: list[str]) -> Iterator[list[str]]:
    outcome_at = header.index("_outcome")
    type_at = header.index("_error_type") if "_error_type" in header else len(header)  # absent: no line was held back

    def error_type(line: list[str]) -> str:
        return line[type_at] if len(line) > type_at else ""

    return (line for line in lines if needs_a_look(line[outcome_at], error_type(line)))


def _in_sheet_order(lines: Iterable[list[str]], row_at: int, folder: Path) -> Iterator[list[str]]:
    """`lines` sorted by their `_row`. The report is in finish order; the sort runs on disk
    (SQLite in `folder`, removed after) so memory stays flat for any number of rows."""
    index = files.claim(folder / ".state-sort.sqlite")
    db = sqlite3.connect(index)
    try:
        db.execute("CREATE TABLE line (row INTEGER, cells TEXT)")
        db.executemany("INSERT INTO line VALUES (?, ?)", ((_row_key(line[row_at]), json.dumps(line)) for line in lines))
        for (cells,) in db.execute("SELECT cells FROM line ORDER BY row, rowid"):
            yield json.loads(cells)
    except sqlite3.OperationalError as exc:  # a full disk, as SQLite says it
        raise files.sqlite_error(exc, index) from None
    finally:
        db.close()
        files.remove(index)


def _row_key(text: str) -> int:
    return int(text) if text.isascii() and text.isdigit() else 0
