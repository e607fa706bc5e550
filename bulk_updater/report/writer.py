"""Write one report line per row as it finishes, flushed, so a crash loses at most the rows in flight."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TextIO

from ..outcomes import FINISHED_VALUES, RowOutcome

META_COLUMNS = ["_row", "_outcome", "_attempts", "_http_status", "_error_type", "_error_message"]


class ReportWriter:
    """report.csv: the row's own columns exactly as read, then the META_COLUMNS.

    An existing report (a resumed run's, already repaired) is continued: lines are appended.
    """

    def __init__(self, path: Path, columns: list[str]) -> None:
        self.path = path
        self._columns = columns
        self._file: TextIO = path.open("a", newline="", encoding="utf-8")
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
                result.error_type,
                result.error_message,
            ]
        )
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def report_header(columns: list[str]) -> list[str]:
    return [*columns, *META_COLUMNS]


def write_failed(report: Path, failed: Path) -> int:
    """Copy the report lines whose outcome needs another look into `failed`; return how many."""
    count = 0
    with report.open(newline="", encoding="utf-8") as source, failed.open("w", newline="", encoding="utf-8") as target:
        lines = csv.reader(source)
        header = next(lines)
        outcome_at = header.index("_outcome")
        out = csv.writer(target)
        out.writerow(header)
        for line in lines:
            if line[outcome_at] not in FINISHED_VALUES:
                out.writerow(line)
                count += 1
    return count
