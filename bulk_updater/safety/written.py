"""What a run wrote, per (activity, field), read back from its report.csv into SQLite.

Verify compares each activity with the value of the successful row with the highest `_row`;
undo's "changed since the run" check accepts any value the run may have left there. The
index is rebuilt from the report each time (it is never the record), in the folder given.
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from .. import files
from ..history.rerun import left_out_fields
from ..outcomes import Outcome
from ..rows import NOTE, Row
from ..updates import UpdateRequest, plan_row
from .backup import BACKUP_FAILED


def build(report: Path, clear_token: str, path: Path) -> sqlite3.Connection:
    """Index the values of the rows that were sent: successes, and failures that may have been applied."""
    db = sqlite3.connect(files.claim(path))
    db.execute("PRAGMA synchronous = OFF")
    db.execute("CREATE TABLE sent (activity TEXT, field TEXT, row INTEGER, value TEXT, success INTEGER)")
    with db:
        db.executemany("INSERT INTO sent VALUES (?, ?, ?, ?, ?)", _sent_values(report, clear_token))
    db.execute("CREATE INDEX sent_by_activity ON sent (activity, field, row)")
    return db


def _sent_values(report: Path, clear_token: str) -> Iterator[tuple[str, str, int, str, int]]:
    with files.open_read(report, encoding="utf-8-sig") as f:
        for line in csv.DictReader(f):
            outcome = line.get("_outcome", "")
            tried = outcome == Outcome.FAILED.value and line.get("_attempts", "0") not in ("", "0") and line.get("_error_type") != BACKUP_FAILED
            if outcome != Outcome.SUCCESS.value and not tried:
                continue
            cells = {name: value for name, value in line.items() if name and not name.startswith("_")}
            plan = plan_row(Row(int(line["_row"]), cells), clear_token)
            if isinstance(plan, UpdateRequest):
                values = ([(NOTE, plan.note)] if plan.note is not None else []) + list(plan.fields)
                # A retry's row sent without the fields later rows had set: those were not written by it.
                left_out = left_out_fields(line.get("_error_message", ""))
                for name, value in (pair for pair in values if pair[0] not in left_out):
                    yield plan.activity_id, name, plan.row, value, int(outcome == Outcome.SUCCESS.value)


def updated_activities(db: sqlite3.Connection) -> Iterator[str]:
    """The activities a successful row updated, in id order."""
    for (activity,) in db.execute("SELECT DISTINCT activity FROM sent WHERE success = 1 ORDER BY activity"):
        yield activity


def count_updated(db: sqlite3.Connection) -> int:
    """How many activities `updated_activities` gives."""
    return db.execute("SELECT COUNT(DISTINCT activity) FROM sent WHERE success = 1").fetchone()[0]


def last_written(db: sqlite3.Connection, activity: str) -> dict[str, str]:
    """Per field, the value of the successful row with the highest `_row`."""
    rows = db.execute("SELECT field, value FROM sent WHERE activity = ? AND success = 1 ORDER BY row", (activity,))
    return dict(rows.fetchall())


def may_have_left(db: sqlite3.Connection, activity: str) -> dict[str, list[str]]:
    """Per field, every value the run may have left: the last success's, and those of failed tries after it
    (a timeout may have been applied); with no success, those of every failed try."""
    left: dict[str, list[str]] = {}
    for field, value, success in db.execute("SELECT field, value, success FROM sent WHERE activity = ? ORDER BY field, row", (activity,)):
        if success:
            left[field] = [value]
        else:
            left.setdefault(field, []).append(value)
    return left
