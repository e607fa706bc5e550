"""A report retried from a run's folder must be that run's report: its rows are planned against
that run's history (lineage.py), and another run's report would lose its fixes as "superseded".

Before anything is sent, each line of the report is matched by `_row` with the run's report.csv.
What the admin has no reason to edit must agree: the row is one the run recorded; the activity
is the same (unless the run read no usable id); a row to send again is not one the run finished;
and every column is one the run read, or one renamed where it stood. Cells that differ are the
admin's fixes, judged by the damage check (damage.py). Both sides go into SQLite in the retry's
folder, so memory stays flat, and one query finds the lowest `_row` that differs.

The rules and why: docs/design.md, "A retried report must be its run's report".
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from .. import files
from ..errors import InputError
from ..outcomes import FINISHED_VALUES
from ..rows import ACTIVITY_ID, Row, Sheet
from ..updates import GUID, activity_key
from .damage import spreadsheet_change
from .lineage import RUN_REPORT, RunFolder, report_columns, report_lines

MATCH_FILE = ".state-match.sqlite"
BATCH = 10_000

_SCHEMA = """
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
-- activity: the id's key, or NULL where the run read no usable id
CREATE TABLE run (row INTEGER PRIMARY KEY, id TEXT NOT NULL, activity TEXT, outcome TEXT NOT NULL);
CREATE TABLE report (row INTEGER PRIMARY KEY, line INTEGER NOT NULL, id TEXT NOT NULL, activity TEXT NOT NULL, outcome TEXT NOT NULL);
"""
_FINISHED = ", ".join(f"'{value}'" for value in sorted(FINISHED_VALUES))
# The lowest `_row` of the report that the run's record contradicts: not the run's row, another activity, or a finished row sent again.
_FIRST_MISMATCH = f"""
SELECT r.row, r.line, r.id, r.outcome, m.row IS NOT NULL, m.id, m.outcome
FROM report r LEFT JOIN run m ON m.row = r.row
WHERE m.row IS NULL
   OR (m.activity IS NOT NULL AND m.activity != r.activity)
   OR (r.outcome NOT IN ({_FINISHED}) AND m.outcome IN ({_FINISHED}))
ORDER BY r.row LIMIT 1
"""


@dataclass(frozen=True)
class _Mismatch:
    row: int
    line: int
    report_id: str
    report_outcome: str
    in_run: bool
    run_id: str
    run_outcome: str


def check_report_matches_run(sheet: Sheet, run: RunFolder, state_dir: Path) -> None:
    """Raise InputError (nothing sent) if `sheet`, a report in `run`'s folder, is not `run`'s report."""
    record = run.folder / RUN_REPORT
    if sheet.path.resolve() == record.resolve():
        return  # the record itself (edited or not): nothing to match it with
    _check_columns(sheet, run, report_columns(record))
    index = files.claim(state_dir / MATCH_FILE)
    db = sqlite3.connect(index)
    try:
        db.executescript(_SCHEMA)
        _insert(db, "INSERT OR REPLACE INTO run VALUES (?, ?, ?, ?)", _run_rows(record))  # a later line wins, as in a resumed report
        _insert(db, "INSERT OR IGNORE INTO report VALUES (?, ?, ?, ?, ?)", _report_rows(sheet))  # a `_row` twice: Rerun refuses it
        found = db.execute(_FIRST_MISMATCH).fetchone()
    except sqlite3.Error as exc:  # a full disk, as SQLite says it
        raise files.sqlite_error(exc, index) from None
    finally:
        db.close()
        files.claim(index)  # removes it and its journal
    if found is not None:
        raise _refusal(sheet, run, _Mismatch(*found))


def _check_columns(sheet: Sheet, run: RunFolder, read: list[str]) -> None:
    """Refuse a column the run never read, unless it is a header renamed where it stood.

    A renamed header is the fix the tool itself asks for when a misspelled column made every
    row fail (docs/safety-net.md, "Stop on systematic failure"). A column added can't be an edit of the
    run's rows: another sheet's, or a field the run never sent. A header a spreadsheet changed
    (`StraÃŸe`) is neither: it would be sent as a field of its own.
    """
    for at, column in enumerate(sheet.columns):
        if column in read:
            continue
        damaged = next(((name, kind) for name in read if (kind := spreadsheet_change(name, column))), None)
        if damaged is not None:
            raise InputError(
                f"the column {column!r} is the run's column {damaged[0]!r} put through a spreadsheet change ({damaged[1]})",
                where=f"{sheet.where}, row {sheet.header_row}",
                hint=f"Put back the header as the run wrote it ({damaged[0]!r}), then retry it.",
            )
        if at < len(read) and read[at] not in sheet.columns:
            continue  # renamed in place: the run's column that stood there is gone
        raise InputError(
            f"the column {column!r} is not one the run in {run.folder} read (its {RUN_REPORT} has no such column, "
            "and it takes the place of none): this is not that run's report, or a column was added to it",
            where=f"{sheet.where}, row {sheet.header_row}",
            hint=_hint(run, "To send a column the run did not have, put it in a new sheet and `bulk-updater run` it."),
        )


def _insert(db: sqlite3.Connection, statement: str, rows: Iterator[tuple]) -> None:
    while batch := list(islice(rows, BATCH)):
        db.executemany(statement, batch)


def _run_rows(record: Path) -> Iterator[tuple[int, str, str | None, str]]:
    for number, outcome, cells in report_lines(record):
        run_id = cells.get(ACTIVITY_ID, "")
        key = activity_key(run_id)
        yield number, run_id, key if GUID.fullmatch(key) else None, outcome.strip()


def _report_rows(sheet: Sheet) -> Iterator[tuple[int, int, str, str, str]]:
    line: Row
    for line in sheet.rows():
        number = line.meta["_row"].strip()
        if number.isascii() and number.isdigit():  # any other `_row` is refused by Rerun, naming it
            report_id = line.cells.get(ACTIVITY_ID, "")
            yield int(number), line.number, report_id, activity_key(report_id), line.meta["_outcome"].strip()


def _refusal(sheet: Sheet, run: RunFolder, found: _Mismatch) -> InputError:
    record = f"the run in {run.folder}"
    if not found.in_run:
        problem = f"_row {found.row} is not a row of {record}: its {RUN_REPORT} has no line for it"
        column, extra = "_row", ""
    elif found.run_outcome.strip() in FINISHED_VALUES and found.report_outcome not in FINISHED_VALUES:
        problem = (
            f"_row {found.row} is {found.report_outcome!r} here, but {record} finished it ({found.run_outcome!r} in its {RUN_REPORT}): "
            "this is another run's report, or one written before the run's last session"
        )
        column, extra = "_outcome", "If it is this run's report from before a resume, retry the run's own failed.csv or failed.xlsx instead."
    else:
        problem = (
            f"_row {found.row} names the activity {found.report_id!r} here, but {record} recorded {found.run_id!r} for it "
            f"(in its {RUN_REPORT}): this is not that run's report"
        )
        column, extra = ACTIVITY_ID, "To send an edit to another activity, put it in a new sheet and `bulk-updater run` it."
    return InputError(problem, where=f"{sheet.where}, row {found.line}, column {column}", hint=_hint(run, extra))


def _hint(run: RunFolder, extra: str) -> str:
    parts = [
        "A retry reads the history of the run whose folder holds the report, so the report must be that run's. "
        f"Put it back in the folder of the run that wrote it and retry it from there; or copy it out of {run.folder} "
        "to retry it without history (no supersession, no damage check).",
    ]
    if not run.cells_trusted:
        parts.append(f"{run.folder / RUN_REPORT} was changed after its run ended: if it was replaced, put back the run's own.")
    if extra:
        parts.append(extra)
    return " ".join(parts)
