"""`undo DIR`: send DIR/undo.csv back, but never over a colleague's edit.

Before restoring an activity it is read again. If a field this run snapshotted no longer
holds a value the run may have left there (nor its value from before the run), someone
changed it since: the activity is not touched, and the row is `skipped` with
"changed since the run: Status is now 'Won'". `--force` restores anyway (and reads nothing).
The comparison is verify's (compare.py), so LeadSquared's own normalising is no edit.
"""

from __future__ import annotations

import csv
import dataclasses
import re
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from ..calls import CallResult, Kind, LeadSquaredClient
from ..errors import InputError
from ..outcomes import Outcome, RowOutcome
from ..report import files
from ..report.folder import REPORT
from ..report.run_record import RunRecord
from ..requests import UpdateRequest
from ..rows import ACTIVITY_ID
from ..settings import CLEAR_TOKEN
from . import written
from .activity import Activity
from .backup import UNDO_FILE
from .compare import same_value
from .options import recorded

CHANGED_SINCE_RUN = "ChangedSinceRun"
INDEX_FILE = ".state-undo.sqlite"


@dataclass(frozen=True)
class UndoSource:
    """The run to undo: its folder, its undo.csv and the clear token that file uses."""

    run_dir: Path
    undo_csv: Path
    clear_token: str
    run_clear_token: str  # the run's own, to read what its report says it sent

    @classmethod
    def find(cls, run_dir: Path) -> UndoSource:
        record = RunRecord.load(run_dir)
        if record is None:
            raise InputError(f"{run_dir} holds no run (no run.json)", hint="Give the --out folder of a run made with --backup.")
        token = recorded(record).get("undo_clear_token")
        if not token or not files.is_present(run_dir / UNDO_FILE):
            raise InputError(
                f"{run_dir} has no {UNDO_FILE}: its {record.command} was not made with --backup",
                hint="Only a run made with --backup can be undone.",
            )
        return cls(run_dir, run_dir / UNDO_FILE, token, record.clear_token or CLEAR_TOKEN)

    def open_guard(self, out_dir: Path, force: bool) -> UndoGuard:
        db = written.build(self.run_dir / REPORT, self.run_clear_token, out_dir / INDEX_FILE)
        db.execute("CREATE TABLE snap (activity TEXT, field TEXT, old TEXT)")
        with db:
            db.executemany("INSERT INTO snap VALUES (?, ?, ?)", _snapshots(self.undo_csv, self.clear_token))
        db.execute("CREATE INDEX snap_by_activity ON snap (activity)")
        return UndoGuard(db, force)


def retry_clear_token(report: Path, asked: str) -> str:
    """The clear token to read an earlier report with: the one its run read its rows with, so the
    cells mean what they meant then (an undo's own token, a run's --clear-token, a retry's, down a
    chain of retries). `asked` (the command's) counts only where no run is found behind the report;
    asking for another token than the run's, other than the default, is refused."""
    record = _record_of(report.parent)
    written_with = record.clear_token if record is not None else None
    if not written_with or asked == written_with:
        return asked
    if asked != CLEAR_TOKEN:
        raise InputError(
            f"{report} was written by a run that read its cells with --clear-token {written_with!r}, not {asked!r}",
            hint=f"Retry it with --clear-token {written_with!r} (or without --clear-token): read with another token, its cleared fields would be sent as text.",
        )
    return written_with


def _record_of(folder: Path) -> RunRecord | None:
    """The run in `folder`, or None when it holds none that can be read."""
    try:
        return RunRecord.load(folder)
    except InputError:
        return None


def _snapshots(undo_csv: Path, token: str):
    with files.open_read(undo_csv, encoding="utf-8-sig") as f:
        for line in csv.DictReader(f):
            for name, value in line.items():
                if name and name not in (ACTIVITY_ID, "_row") and value.strip():
                    yield line[ACTIVITY_ID].strip().lower(), name, "" if value.strip() == token else value


class UndoGuard:
    def __init__(self, db: sqlite3.Connection, force: bool) -> None:
        self._db, self.force = db, force

    def send(self, client: LeadSquaredClient, acquire: Callable[[], Awaitable[None]]) -> Callable[[UpdateRequest], Awaitable[CallResult]]:
        async def restore(request: UpdateRequest) -> CallResult:
            if not self.force:
                result, payload = await client.retrieve_activity(request.activity_id)
                if result.kind is not Kind.SUCCESS:
                    return dataclasses.replace(result, error_message=f"reading the activity before restoring it failed: {result.error_message}")
                changed = self.changes(request.activity_id, Activity.from_json(payload))
                if changed:
                    return CallResult(Kind.PERMANENT, 200, CHANGED_SINCE_RUN, f"changed since the run: {changed}")
                await acquire()  # the check used the runner's slot
            return await client.send_update(request)

        return restore

    def changes(self, activity_id: str, now: Activity) -> str:
        """The fields someone else changed since the run, as "Status is now 'Won'"; "" if none."""
        left = written.may_have_left(self._db, activity_id)
        changed = []
        for field, old in self._db.execute("SELECT field, old FROM snap WHERE activity = ? ORDER BY rowid", (activity_id,)):
            value = now.value(field)
            if not any(same_value(expected, value) for expected in [old, *left.get(field, [])]):
                changed.append(f"{field} is now {value!r}")
        return ", ".join(changed)

    @staticmethod
    def translate(result: RowOutcome) -> RowOutcome:
        """A row held back by the check is `skipped`, not failed: nothing is wrong with it. It was not
        restored, though: its message names the fields that changed up front, "changed since the run
        (Status): Status is now 'Won'", so the summary groups such rows by them (report/summary.py),
        and failed.csv lists them (report/writer.py)."""
        if result.outcome is not Outcome.FAILED or result.error_type != CHANGED_SINCE_RUN:
            return result
        said, details = "changed since the run", result.error_message.removeprefix("changed since the run: ")

        def named_at(name: str) -> int:
            """Where the details first name `name` as a changed field ("Status is now ..., Owner is now ..."); -1 if nowhere."""
            starts = (found.start() for found in re.finditer(re.escape(f"{name} is now "), details))
            return min((start for start in starts if details[max(start - 2, 0) : start] in ("", ", ")), default=-1)

        at = {name: named_at(name) for name in result.row.cells if name != ACTIVITY_ID}
        fields = ", ".join(name for _, name in sorted((start, name) for name, start in at.items() if start >= 0))
        message = f"{said} ({fields}): {details}" if fields else result.error_message
        return dataclasses.replace(result, outcome=Outcome.SKIPPED, error_message=message)

    def close(self) -> None:
        self._db.close()
