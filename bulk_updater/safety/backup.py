"""--backup: before a row's update, read the activity and keep the values the row will change.

The backup's own record, DIR/undo-record.jsonl (record.py), keeps each old value exactly as the
read answered it, and is what undo sends. DIR/undo.csv is its readable copy, defused like every
CSV the tool writes.

- Exact or no snapshot: a row whose old values can't be sent back exactly (a read that answers
  for another activity, an object, a list, the run's undo clear token...) is `failed`, `BackupFailed`.
- Only the first snapshot of each (activity, field) in a run is kept: the state to go back to.
- A snapshot is flushed to the record, then to undo.csv, before its update is sent, so after a
  kill -9 no activity that may have been updated lacks its snapshot. Every session drops the
  record's torn last line, rebuilds the index of snapshots taken (DIR/.state-backup.sqlite) from
  it, and writes undo.csv again when the two differ.

undo.csv: CompanyActivityId, ActivityNote (when the input has it), one column per SchemaName,
and `_row` naming the row it undoes; a field that was empty shows the run's undo clear token.
Why: docs/design.md, "The backup and its record".
"""

from __future__ import annotations

import csv
import secrets
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

from .. import files
from ..calls import CallResult, Kind, LeadSquaredClient
from ..errors import InputError
from ..report.writer import REPORT_ENCODING
from ..rows import ACTIVITY_ID, NOTE
from ..rundir.recovery import CsvRecords as ReportRecords
from ..server_text import spreadsheet_safe
from ..updates import UpdateRequest
from .activity import Activity, wrong_activity
from .record import RECORD_FILE, TEXT, Kept, RecordFile, Snapshot, header_line, keep

UNDO_FILE = "undo.csv"
INDEX_FILE = ".state-backup.sqlite"
BACKUP_FAILED = "BackupFailed"


def new_undo_clear_token() -> str:
    """A clear token no old value will equal (and one that does is refused, never written).

    Its shape is updates.payload.UNDO_CLEAR_TOKEN: a cell of that shape read with another token is refused."""
    return f"#CLEAR-{secrets.token_hex(4)}#"


def undo_header(columns: list[str]) -> list[str]:
    fields = [name for name in columns if name not in (ACTIVITY_ID, NOTE)]
    return [ACTIVITY_ID, *([NOTE] if NOTE in columns else []), *fields, "_row"]


def refuse_replacing_undo_log(out_dir: Path, why: str) -> None:
    """A backup is the only way back for the run that wrote it: never replace it silently."""
    for name in (UNDO_FILE, RECORD_FILE):
        if files.is_present(out_dir / name):
            raise InputError(
                f"{out_dir} holds the {name} of an earlier run ({why})",
                hint=f"Undo that run first (bulk-updater undo {out_dir} --out UNDO_DIR), or move {RECORD_FILE} and {UNDO_FILE} away, or choose another --out folder.",
            )


def refuse_extending_an_older_backup(out_dir: Path) -> None:
    """An unfinished run whose backup an older bulk-updater began (undo.csv, no record) is not resumed
    with --backup: its first snapshots would be in undo.csv alone, and undo would send the record."""
    if files.is_present(out_dir / UNDO_FILE) and not files.is_present(out_dir / RECORD_FILE):
        raise InputError(
            f"the unfinished run in {out_dir} was backed up by an older bulk-updater, in {UNDO_FILE} alone (no {RECORD_FILE})",
            hint=f"Finish it with the version that started it; or undo what it sent (bulk-updater undo {out_dir} --out UNDO_DIR) and start again.",
        )


class UndoLog:
    """The backup's record and its readable copy undo.csv, and the index of the (activity, field) pairs kept."""

    def __init__(self, out_dir: Path, columns: list[str], clear_token: str) -> None:
        self.path = out_dir / UNDO_FILE
        self.header = undo_header(columns)
        self.clear_token = clear_token
        self._record = RecordFile(out_dir / RECORD_FILE)
        self._recover()
        # The record before its copy: a folder with undo.csv and no record is an older version's backup.
        self._record_file = files.open_append(self._record.path, "ascii")
        if self._record_file.tell() == 0:
            self._record_file.write(header_line(self.header))
            self._record_file.flush()
        self._index = _open_index(out_dir / INDEX_FILE, self._record.snapshots())
        if copy_difference(self.path, self.header, self._record.snapshots(), clear_token):
            write_copy(self.path, self.header, self._record.snapshots(), clear_token)
        self._file = files.open_append(self.path, REPORT_ENCODING)
        self._csv = csv.writer(self._file)

    def missing(self, request: UpdateRequest) -> list[str]:
        """The note and fields of `request` that have no snapshot yet in this run."""
        names = ([NOTE] if request.note is not None else []) + [name for name, _ in request.fields]
        taken = {row[0] for row in self._index.execute("SELECT field FROM snapshot WHERE activity = ?", (request.activity_id,))}
        return [name for name in names if name not in taken]

    def write(self, request: UpdateRequest, names: list[str], activity: Activity) -> str:
        """Append and flush the snapshot of `names`; return why it can't be kept ("" when written)."""
        problem = wrong_activity(activity, request.activity_id)
        if problem:
            return f"{problem}; its values can't be kept as this activity's, so the row is not updated"
        old: dict[str, Kept] = {}
        for name in names:
            kept = keep(activity, name)
            if isinstance(kept, str):
                return kept
            if kept[0] == TEXT and str(kept[1]).strip() == self.clear_token:
                return f"{name}'s value is this run's undo clear token {self.clear_token!r}; it can't be kept, so the row is not updated"
            old[name] = kept
        snapshot = Snapshot(request.row, request.activity_id, activity.activity_id, old)
        self._record_file.write(snapshot.line())  # the record first: it is what undo sends
        self._record_file.flush()
        self._csv.writerow(copy_line(snapshot, self.header, self.clear_token))
        self._file.flush()
        with self._index:
            self._index.executemany("INSERT OR IGNORE INTO snapshot VALUES (?, ?)", [(request.activity_id, name) for name in names])
        return ""

    def close(self) -> None:
        self._record_file.close()
        self._file.close()
        self._index.close()

    def _recover(self) -> None:
        """Check an earlier session's record is this run's, and drop a last line a kill cut short
        (its update was never sent: the line is flushed first)."""
        if not self._record.exists():
            return
        header = self._record.header()
        if header is not None and header != self.header:
            raise InputError("the columns of the backup's record are not this run's", where=str(self._record.path), hint="Choose another --out folder.")
        for _ in self._record.snapshots():  # every complete line must read (a damaged one is refused)
            pass
        if self._record.torn or header is None:
            _keep_complete_lines(self._record.path)


def _keep_complete_lines(path: Path) -> None:
    # Read in the inner block: closed before the copy replaces it (Windows replaces no file that is open).
    with files.replacing(path, binary=True) as target, files.open_read(path, binary=True) as source:
        for raw in source:
            if raw.endswith(b"\n"):
                target.write(raw)


def copy_line(snapshot: Snapshot, header: list[str], clear_token: str) -> list[str]:
    """undo.csv's line for a snapshot: never a formula when a spreadsheet opens it."""
    return [spreadsheet_safe(cell) for cell in snapshot.copy_cells(header, clear_token)]


def write_copy(path: Path, header: list[str], snapshots: Iterable[Snapshot], clear_token: str) -> None:
    """undo.csv whole, from the record (a copy a kill left behind or someone edited is replaced)."""
    with files.replacing(path, encoding=REPORT_ENCODING) as f:
        out = csv.writer(f)
        out.writerow(header)
        for snapshot in snapshots:
            out.writerow(copy_line(snapshot, header, clear_token))


def copy_difference(path: Path, header: list[str], snapshots: Iterable[Snapshot], clear_token: str, last_may_lack: bool = False) -> str:
    """Where undo.csv first differs from the copy the record makes ("" when it does not).

    `last_may_lack`: a copy without the record's last snapshot is no difference (a kill between
    the two writes)."""
    if not files.is_present(path):
        return f"{UNDO_FILE} is missing"
    expected = _numbered([header], (copy_line(snapshot, header, clear_token) for snapshot in snapshots))
    try:
        with files.open_read(path, encoding="utf-8-sig") as f, files.explained(path):
            records = CsvRecords(f)
            for (number, want), got in zip(expected, _padded(records)):
                if got is None:
                    left = sum(1 for _ in expected)
                    return "" if last_may_lack and left == 0 else f"{UNDO_FILE} ends at row {number - 1}; the backup holds rows up to {number + left}"
                if got != want:
                    return f"row {number}{_first_cell_differing(header, want, got)}"
            extra = sum(1 for _ in records)
    except UnicodeDecodeError:
        return f"{UNDO_FILE} is no longer UTF-8 text (a spreadsheet saved it in another encoding)"
    return f"{UNDO_FILE} has {extra} row(s) more than the backup" if extra else ""


def _numbered(first: list[list[str]], rest: Iterable[list[str]]) -> Iterator[tuple[int, list[str]]]:
    yield from enumerate(first, start=1)
    yield from enumerate(rest, start=len(first) + 1)


def _padded(records: Iterable[list[str]]) -> Iterator[list[str] | None]:
    yield from records
    while True:
        yield None


def _first_cell_differing(header: list[str], want: list[str], got: list[str]) -> str:
    for pos, (a, b) in enumerate(zip(want, got)):
        if a != b:
            column = header[pos] if pos < len(header) else f"#{pos + 1}"
            return f", column {column}: the backup holds {_shown(a)}, {UNDO_FILE} {_shown(b)}"
    return f": {len(got)} cells where the backup has {len(want)}"


def _shown(cell: str) -> str:
    return repr(cell if len(cell) <= 40 else cell[:37] + "...")


class CsvRecords:
    """The cells of each record of a CSV file of ours that ends with its line end, streamed; a torn
    last record (a kill while it was written) is left out and `torn` set, as report recovery does."""

    def __init__(self, file: IO[str]) -> None:
        self._records = ReportRecords(file)

    @property
    def torn(self) -> bool:
        return self._records.torn

    def __iter__(self) -> Iterator[list[str]]:
        return (cells for cells, _raw in self._records)


def _open_index(path: Path, snapshots: Iterable[Snapshot]) -> sqlite3.Connection:
    """A fresh index built from the record: the record is the backup, this only makes lookups cheap."""
    index = sqlite3.connect(files.claim(path))
    index.execute("PRAGMA synchronous = OFF")  # rebuilt from the record if lost
    index.execute("CREATE TABLE snapshot (activity TEXT, field TEXT, PRIMARY KEY (activity, field))")
    with index:
        for snapshot in snapshots:
            index.executemany("INSERT OR IGNORE INTO snapshot VALUES (?, ?)", [(snapshot.activity, name) for name in snapshot.old])
    return index


class BackupSend:
    """The runner's `send` for a --backup run: snapshot (one call), flush, then the update (a second call)."""

    def __init__(
        self, client: LeadSquaredClient, log: UndoLog, acquire: Callable[[], Awaitable[None]], read_before: dict[str, Activity] | None = None
    ) -> None:
        self._client, self._log, self._acquire = client, log, acquire
        self.reads = 0
        # Reads made just before by the canary (safety/canary.py), by activity id: the snapshot takes one instead of reading.
        self.read_before: dict[str, Activity] = read_before if read_before is not None else {}

    async def __call__(self, request: UpdateRequest) -> CallResult:
        names = self._log.missing(request)
        activity = self.read_before.get(request.activity_id)
        if names:
            self.reads += 1  # a snapshot read: this send's own, or the canary's read just before
        if names and activity is None:
            result, payload = await self._client.retrieve_activity(request.activity_id)
            if result.kind is not Kind.SUCCESS:
                return _snapshot_failed(result)
            activity = Activity.from_json(payload)
            # The snapshot used the runner's slot; the update takes one of its own.
            await self._acquire()
        if names and activity is not None:
            problem = self._log.write(request, names, activity)
            if problem:
                return CallResult(Kind.PERMANENT, None, BACKUP_FAILED, problem)
        return await self._client.send_update(request)


def _snapshot_failed(result: CallResult) -> CallResult:
    """A permanent failure to read makes the row BackupFailed; others keep their kind (429 slows down, 5xx is retried)."""
    message = f"reading the activity before the update failed: {': '.join(p for p in (result.error_type, result.error_message) if p)}"
    if result.kind is Kind.PERMANENT:
        return CallResult(Kind.PERMANENT, result.http_status, BACKUP_FAILED, message)
    return CallResult(result.kind, result.http_status, result.error_type, message)
