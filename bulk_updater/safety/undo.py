"""`undo DIR`: send back the backup's own record, but never over a colleague's edit.

Undo builds its updates from DIR/undo-record.jsonl (record.py), the old values as the read
answered them: `true`/`false`, numbers in the digits read, text exactly (`#N/A`, `#REF!`,
`=1+2` or `#CLEAR-0a1b2c3d#` are restored as text), and "" for a field that was empty.
DIR/undo.csv is only the readable copy: when it differs from the record (a spreadsheet
opened and saved it: `00501` -> `501`), a warning names the first row and column that
differ, and undo still sends the record. A folder an older bulk-updater wrote has undo.csv
and no record: undo.csv is then read as it is saved now, as a sheet, with a warning saying so.
A torn last line (a kill while it was written) is dropped from either, `--force` or not.

Before restoring an activity it is read again. If a field this run snapshotted no longer
holds a value the run may have left there (nor its value from before the run), someone
changed it since: the activity is not touched, and the row is `skipped` with
"changed since the run: Status is now 'Won'". `--force` restores anyway (and reads nothing).
The comparison is verify's (compare.py), so LeadSquared's own normalising is no edit.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .. import files
from ..calls import CallResult, Kind, LeadSquaredClient
from ..errors import InputError
from ..outcomes import Outcome, RowOutcome
from ..rows import ACTIVITY_ID, Row, open_sheet
from ..rundir.folder import REPORT
from ..rundir.run_record import RunRecord
from ..settings import CLEAR_TOKEN
from ..updates import Plan, UpdateRequest, plan_row
from . import written
from .activity import WRONG_ACTIVITY, Activity, wrong_activity
from .backup import UNDO_FILE, CsvRecords, copy_difference
from .canary import CANARY_FILE
from .compare import same_value
from .record import NULL, RECORD_FILE, TEXT, RecordFile, Snapshot, typed
from .recorded_extras import recorded_safety

CHANGED_SINCE_RUN = "ChangedSinceRun"
INDEX_FILE = ".state-undo.sqlite"
SNAPSHOT = "_snapshot"  # Row.meta key: the record line a row of the undo restores (never written to a report)


@dataclass(frozen=True)
class UndoSource:
    """The run to undo: its folder, what the undo sends from (its record, or undo.csv), and the clear token undo's rows use."""

    run_dir: Path
    input_path: Path  # DIR/undo-record.jsonl; DIR/undo.csv in a folder an older version wrote
    columns: list[str]  # undo.csv's, less `_row`: the columns of the undo's report
    clear_token: str
    run_clear_token: str  # the run's own, to read what its report says it sent
    warnings: list[str] = field(default_factory=list)

    @property
    def from_record(self) -> bool:
        return self.input_path.name == RECORD_FILE

    @property
    def undo_csv(self) -> Path:
        return self.run_dir / UNDO_FILE

    @classmethod
    def find(cls, run_dir: Path) -> UndoSource:
        record = RunRecord.load(run_dir)
        if record is None:
            raise InputError(f"{run_dir} holds no run (no run.json)", hint="Give the --out folder of a run made with --backup.")
        token = recorded_safety(record).get("undo_clear_token")
        backup = RecordFile(run_dir / RECORD_FILE)
        if not token or not (backup.exists() or files.is_present(run_dir / UNDO_FILE)):
            raise InputError(
                f"{run_dir} has no {UNDO_FILE}: its {record.command} was not made with --backup",
                hint="Only a run made with --backup can be undone.",
            )
        run_token = record.clear_token or CLEAR_TOKEN
        if not backup.exists():
            sheet = open_sheet(run_dir / UNDO_FILE)
            return cls(run_dir, run_dir / UNDO_FILE, sheet.columns, token, run_token, [_read_as_saved(run_dir)])
        header = backup.header()
        if header is None:
            raise InputError(f"the backup in {run_dir} holds no snapshot: its run updated nothing", hint="There is nothing to undo.")
        return cls(run_dir, backup.path, [name for name in header if name != "_row"], token, run_token)

    def check(self) -> None:
        """Read everything the undo will send from before anything is sent; note a torn last line and a changed undo.csv."""
        if not self.from_record:
            if _complete_csv(self.undo_csv)[1]:
                self.warnings.append(f"the last line of {UNDO_FILE} was cut short (a kill while it was written): it is left out (its update was never sent)")
            return
        if blanked := _first_update_did_more(self.run_dir):
            self.warnings.append(blanked)
        backup = RecordFile(self.input_path)
        header = backup.header() or []
        for _ in backup.snapshots():  # a damaged line is refused here, before anything is sent
            pass
        if backup.torn:
            self.warnings.append(f"the last line of {RECORD_FILE} was cut short (a kill while it was written): it is left out (its update was never sent)")
        differs = copy_difference(self.undo_csv, header, backup.snapshots(), self.clear_token, last_may_lack=True)
        if differs:
            self.warnings.append(
                f"{UNDO_FILE} is not the copy the run wrote ({differs}): it was changed since the run, e.g. opened and saved in a spreadsheet. "
                f"Undo sends the backup's own record ({RECORD_FILE}), not {UNDO_FILE}."
            )

    def rows(self) -> Iterator[Row]:
        """The undo's rows, numbered as undo.csv's lines (the header is row 1)."""
        if not self.from_record:
            yield from _complete_rows(self.undo_csv)
            return
        for number, snapshot in enumerate(RecordFile(self.input_path).snapshots(), start=2):
            cells = {name: snapshot.activity if name == ACTIVITY_ID else snapshot.cell(name, self.clear_token) for name in self.columns}
            yield Row(number, cells, {SNAPSHOT: snapshot.line()})

    def plan(self, row: Row, clear_token: str) -> tuple[Row, Plan]:
        """What to send for a row: the record's own values; undo.csv's cells only in a folder without a record."""
        line = row.meta.get(SNAPSHOT)
        if line is None:
            return row, plan_row(row, clear_token)
        return row, Snapshot.from_line(line).request(row.number)

    def planned(self, row: Row, clear_token: str) -> Plan:
        return self.plan(row, clear_token)[1]

    def open_guard(self, out_dir: Path, force: bool) -> UndoGuard:
        db = written.build(self.run_dir / REPORT, self.run_clear_token, out_dir / INDEX_FILE)
        db.execute("CREATE TABLE snap (activity TEXT, field TEXT, old TEXT)")
        snapshots = _kept_values(self.input_path) if self.from_record else _saved_values(self.undo_csv, self.clear_token)
        with db:
            db.executemany("INSERT INTO snap VALUES (?, ?, ?)", snapshots)
        db.execute("CREATE INDEX snap_by_activity ON snap (activity)")
        if missing := _updated_without_snapshot(db):
            db.close()
            activity, field_name, row = missing
            raise InputError(
                f"the backup of {self.run_dir} has no snapshot of {field_name} of activity {activity}, which row {row} of the run updated: "
                f"the backup's record ({RECORD_FILE}) was cut short or replaced, so undo could not put that value back",
                hint=f"Put back the {RECORD_FILE} the run wrote (a copy, a backup of the folder), then undo again. Nothing was sent.",
            )
        return UndoGuard(db, force)


def _updated_without_snapshot(db: sqlite3.Connection) -> tuple[str, str, int] | None:
    """The first (activity, field, row) a successful row of the run set that the backup holds no snapshot of.

    Every update of a --backup run follows its snapshot, so there is none unless the record lost lines
    (cut at a line end, replaced by an older copy): undo would then report success and leave them."""
    return db.execute(
        "SELECT activity, field, row FROM sent s WHERE success = 1 AND NOT EXISTS "
        "(SELECT 1 FROM snap p WHERE lower(p.activity) = lower(s.activity) AND p.field = s.field) ORDER BY row LIMIT 1"
    ).fetchone()


def _read_as_saved(run_dir: Path) -> str:
    return (
        f"{run_dir} has no {RECORD_FILE} (an older bulk-updater made this backup): undo reads {UNDO_FILE} as it is saved now. "
        f"If a spreadsheet opened and saved it, its values are sent as the spreadsheet changed them (00501 as 501), and a cell "
        f"such as #N/A can't be restored (its row is invalid)."
    )


def _first_update_did_more(run_dir: Path) -> str:
    """What the run's checked first update changed beyond its row (DIR/canary.json): the backup kept only
    the fields the row sent, so undo can't put those back, and must not let its `success` say it did."""
    path = run_dir / CANARY_FILE
    if not files.is_present(path):
        return ""
    try:
        with files.open_read(path, encoding="utf-8") as f:
            found = json.load(f)
    except (OSError, ValueError):
        return ""
    if not isinstance(found, dict) or not found.get("found"):
        return ""
    return (
        f"the run's first update (row {found.get('row')}, activity {found.get('activity')}) did more than its row asked: "
        f"{'; '.join(map(str, found['found']))}. Undo sends back only what the backup kept (the fields the run sent): "
        f"what else that update changed stays so. Its values from before the run are in {path}: put them back by hand"
    )


def _complete_csv(path: Path) -> tuple[int, bool]:
    """(complete records, whether a torn last one was left out) of undo.csv."""
    with files.open_read(path, encoding="utf-8-sig", errors="replace") as f, files.explained(path):
        records = CsvRecords(f)
        count = sum(1 for _ in records)
    return count, records.torn


def _complete_rows(undo_csv: Path) -> Iterator[Row]:
    """undo.csv read as a sheet, as an older version sent it, without a torn last line."""
    last = _complete_csv(undo_csv)[0]  # the header is record 1
    for row in open_sheet(undo_csv).rows():
        if row.number > last:
            return
        yield row
        if row.number == last:
            return  # the torn record after it is never read (a quote left open in it would refuse the file)


def _kept_values(record: Path) -> Iterator[tuple[str, str, str]]:
    for snapshot in RecordFile(record).snapshots():
        for name, kept in snapshot.old.items():
            yield snapshot.activity.strip().lower(), name, json.dumps(list(kept))


def _saved_values(undo_csv: Path, token: str) -> Iterator[tuple[str, str, str]]:
    """undo.csv's values as text (the token as empty), for a folder without a record."""
    with files.open_read(undo_csv, encoding="utf-8-sig", errors="replace") as f, files.explained(undo_csv):
        records = iter(CsvRecords(f))
        header = next(records, [])
        for cells in records:
            line = dict(zip(header, cells))
            for name, value in line.items():
                if name and name not in (ACTIVITY_ID, "_row") and value.strip():
                    kept = [NULL, None] if value.strip() == token else [TEXT, value]
                    yield line.get(ACTIVITY_ID, "").strip().lower(), name, json.dumps(kept)


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


class UndoGuard:
    def __init__(self, db: sqlite3.Connection, force: bool) -> None:
        self._db, self.force = db, force

    def send(
        self, client: LeadSquaredClient, acquire: Callable[[], Awaitable[None]], read_before: dict[str, Activity] | None = None
    ) -> Callable[[UpdateRequest], Awaitable[CallResult]]:
        """The restore: the check (a read, unless the canary's read of the activity just before is in
        `read_before`), then the update, which takes a slot of its own (`acquire`)."""
        read_before = read_before if read_before is not None else {}

        async def restore(request: UpdateRequest) -> CallResult:
            if not self.force:
                now = read_before.get(request.activity_id)  # the canary's read, just before: no second read
                read_here = now is None
                if now is None:
                    result, payload = await client.retrieve_activity(request.activity_id)
                    if result.kind is not Kind.SUCCESS:
                        return dataclasses.replace(result, error_message=f"reading the activity before restoring it failed: {result.error_message}")
                    now = Activity.from_json(payload)
                wrong = wrong_activity(now, request.activity_id)
                if wrong:  # comparing another activity's values would say nothing about this one
                    return CallResult(Kind.PERMANENT, 200, WRONG_ACTIVITY, f"{wrong}; the activity is not restored")
                changed = self.changes(request.activity_id, now)
                if changed:
                    return CallResult(Kind.PERMANENT, 200, CHANGED_SINCE_RUN, f"changed since the run: {changed}")
                if read_here:
                    await acquire()  # the check used the runner's slot
            return await client.send_update(request)

        return restore

    def changes(self, activity_id: str, now: Activity) -> str:
        """The fields someone else changed since the run, as "Status is now 'Won'"; "" if none."""
        left = written.may_have_left(self._db, activity_id)
        changed = []
        for field_name, old in self._db.execute("SELECT field, old FROM snap WHERE activity = ? ORDER BY rowid", (activity_id,)):
            value = now.value(field_name)
            if not any(same_value(expected, value) for expected in [typed(tuple(json.loads(old))), *left.get(field_name, [])]):
                changed.append(f"{field_name} is now {value!r}")
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
