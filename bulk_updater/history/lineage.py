"""Finding the run behind a report, and what its chain of runs recorded (docs/design.md, "Finding the run behind a report").

A report given to `retry` (report.csv, failed.csv, report.xlsx or failed.xlsx) sits in the
folder of the run that wrote it: run.json and report.csv beside it. A retry's run.json names
the run it retried (`retry_of`), so the chain leads back to the first run, whose report.csv
holds the sheet's cells as they were read.

`History` indexes the chain's report.csv files in SQLite, in the retry's own folder, so memory
stays flat for a million rows:
- every success, per (activity, field): a failed row is not sent a field a later row
  (a higher `_row`) already set;
- each run's cells per `_row`: a retried row is compared with them for spreadsheet damage.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .. import files
from ..errors import InputError
from ..outcomes import FINISHED_VALUES, Outcome
from ..rows import NOTE, Row
from ..rundir.run_record import RUN_FILE, RunRecord, RunState
from ..settings import CLEAR_TOKEN
from ..updates import UpdateRequest, activity_key, plan_row

RUN_REPORT = "report.csv"
STATE_FILE = ".state-lineage.sqlite"
BATCH = 10_000
# A report.csv written more than this after its run.json was edited afterwards (by hand, or in a spreadsheet).
MTIME_SLACK = 2.0

_SCHEMA = """
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
CREATE TABLE success (activity TEXT NOT NULL, field TEXT NOT NULL, row INTEGER NOT NULL);
CREATE TABLE cells (row INTEGER NOT NULL, run INTEGER NOT NULL, cells TEXT NOT NULL, PRIMARY KEY (row, run)) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class RunFolder:
    folder: Path
    record: RunRecord
    # False when report.csv changed after the run ended: its cells are then no record of what was read.
    cells_trusted: bool


@dataclass
class Lineage:
    """The runs behind a report, the first run first and the report's own run last; empty if not found."""

    runs: list[RunFolder] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def folder(self) -> Path | None:
        """The folder of the run that wrote the report: what the retry's run.json records."""
        return self.runs[-1].folder if self.runs else None


def find_lineage(report: Path) -> Lineage:
    """The chain of runs behind `report`, followed back through each retry's `retry_of`."""
    folder = report.resolve().parent
    if not _is_run_folder(folder):
        return Lineage(warnings=[
            f"{report} is not in the folder of the run that wrote it (no {RUN_FILE} and {RUN_REPORT} beside it), "
            "so the supersession check (fields a later row already set) and the damage check (cells a spreadsheet changed) "
            "are skipped, and the run is not told that this retry took over its rows left (its resume would send them again). "
            "Give the failed.csv or failed.xlsx inside the run's folder to have all three."
        ])
    lineage, seen = Lineage(), set()
    while True:
        seen.add(folder)
        record = _load(folder, lineage)
        if record is None:
            break
        lineage.runs.append(RunFolder(folder, record, _unchanged_since_run(folder, record)))
        if not record.retry_of:
            break
        earlier = Path(record.retry_of)
        if earlier in seen or not _is_run_folder(earlier):
            lineage.warnings.append(
                f"the run {folder} retried ({earlier}) is gone: supersession uses only the runs found, "
                "and the damage check compares with the earliest run found."
            )
            break
        folder = earlier
    lineage.runs.reverse()
    _warn_untrusted(lineage)
    return lineage


def _is_run_folder(folder: Path) -> bool:
    return (folder / RUN_FILE).is_file() and (folder / RUN_REPORT).is_file()


def _load(folder: Path, lineage: Lineage) -> RunRecord | None:
    try:
        return RunRecord.load(folder)
    except InputError:
        lineage.warnings.append(f"{folder / RUN_FILE} can't be read: the runs before it are not followed.")
        return None


def _unchanged_since_run(folder: Path, record: RunRecord) -> bool:
    if record.state is RunState.RUNNING:
        return True  # a crashed run wrote report lines after its run.json: that is no edit
    return (folder / RUN_REPORT).stat().st_mtime <= (folder / RUN_FILE).stat().st_mtime + MTIME_SLACK


def _warn_untrusted(lineage: Lineage) -> None:
    for run in lineage.runs:
        if not run.cells_trusted:
            lineage.warnings.append(
                f"{run.folder / RUN_REPORT} was changed after its run ended (saved from a spreadsheet?): its cells are not "
                "used as the values the run read."
            )
    if lineage.runs and not any(run.cells_trusted for run in lineage.runs):
        lineage.warnings.append("No run's report.csv is as it was written: the damage check is skipped.")


class History:
    """The chain's successes and cells, indexed on disk (rebuilt by every session of the retry)."""

    def __init__(self, path: Path, lineage: Lineage) -> None:
        files.claim(path)  # stale ones removed; a planted symlink refused (files.py)
        self.path = path
        self._db = sqlite3.connect(path)
        self._db.executescript(_SCHEMA)
        self._headers: list[list[str]] = []  # each run's columns: its cells are stored as lists
        for index, run in enumerate(lineage.runs):
            self._load_run(index, run)
        self._db.execute("CREATE INDEX success_by_activity ON success (activity, row)")
        self._db.commit()

    def superseding(self, activity_id: str, row: int) -> dict[str, int]:
        """field -> the highest `_row` above `row` that set it with success, for this activity."""
        query = "SELECT field, MAX(row) FROM success WHERE activity = ? AND row > ? GROUP BY field"
        return dict(self._db.execute(query, (activity_key(activity_id), row)))

    def cells(self, row: int) -> list[dict[str, str]]:
        """The row's cells as each run of the chain read them, the first run first."""
        query = "SELECT run, cells FROM cells WHERE row = ? ORDER BY run"
        return [dict(zip(self._headers[run], json.loads(text))) for run, text in self._db.execute(query, (row,))]

    def close(self) -> None:
        self._db.close()

    def _load_run(self, index: int, run: RunFolder) -> None:
        successes: list[tuple[str, str, int]] = []
        cells: list[tuple[int, int, str]] = []
        self._headers.append([])
        for number, outcome, line in report_lines(run.folder / RUN_REPORT):
            if outcome == Outcome.SUCCESS.value:
                successes += _fields_set(number, line, _clear_token(run.record))
            elif run.cells_trusted and outcome not in FINISHED_VALUES:
                # Only these rows can come back in a later retry: a finished row is never sent again.
                if not self._headers[index]:
                    self._headers[index] = list(line)
                cells.append((number, index, json.dumps(list(line.values()), ensure_ascii=False)))
            if len(cells) >= BATCH or len(successes) >= BATCH:
                self._insert(successes, cells)
        self._insert(successes, cells)

    def _insert(self, successes: list, cells: list) -> None:
        self._db.executemany("INSERT INTO success VALUES (?, ?, ?)", successes)
        self._db.executemany("INSERT OR REPLACE INTO cells VALUES (?, ?, ?)", cells)
        successes.clear()
        cells.clear()


def _clear_token(record: RunRecord) -> str:
    # A run.json of an older bulk-updater may not say: it then used the default.
    return CLEAR_TOKEN if record.clear_token is None else record.clear_token


def _fields_set(number: int, cells: dict[str, str], clear_token: str) -> list[tuple[str, str, int]]:
    """(activity, field, row) for each field (and the note) a successful line sent."""
    plan = plan_row(Row(number, cells), clear_token)
    if not isinstance(plan, UpdateRequest):
        return []
    names = [name for name, _ in plan.fields] + ([NOTE] if plan.note is not None else [])
    return [(activity_key(plan.activity_id), name, number) for name in names]


def report_lines(path: Path) -> Iterator[tuple[int, str, dict[str, str]]]:
    """(`_row`, `_outcome`, cells) of each readable line of a tool's report.csv."""
    with files.open_read(path, encoding="utf-8-sig", errors="replace") as f:
        lines = csv.reader(f)
        header = next(lines, [])
        if "_row" not in header or "_outcome" not in header:
            return
        row_at, outcome_at = header.index("_row"), header.index("_outcome")
        columns = list(_cell_columns(header))
        for line in lines:
            if len(line) != len(header) or not (line[row_at].isascii() and line[row_at].isdigit()):
                continue  # a torn last line
            yield int(line[row_at]), line[outcome_at], {name: line[pos] for pos, name in columns}


def report_columns(path: Path) -> list[str]:
    """The cell columns of a tool's report.csv: the columns its run read."""
    with files.open_read(path, encoding="utf-8-sig", errors="replace") as f:
        header = next(csv.reader(f), [])
    return [name for _, name in _cell_columns(header)]


def _cell_columns(header: list[str]) -> Iterator[tuple[int, str]]:
    """(position, name) of the row's own columns: not the `_` columns the report adds, nor unnamed ones."""
    return ((pos, name) for pos, name in enumerate(header) if name and not name.startswith("_"))
