"""--backup: before a row's update, read the activity and keep the values the row will change in DIR/undo.csv.

Only the first snapshot of each (activity, field) in a run is kept: that is the state to go
back to. Row 2 may change X's Status and row 4 X's Owner; both originals are kept, each on
the line of the row that first changed it. A snapshot line is appended and flushed *before*
its update is sent, so after a kill -9 no activity that may have been updated lacks its
snapshot. The index of snapshots taken lives in DIR/.state-backup.sqlite, rebuilt from
undo.csv at the start of every session (so a kill between the two never loses one).

undo.csv is an input sheet: CompanyActivityId, ActivityNote (when the input has it), one
column per SchemaName, and `_row` naming the row it undoes. A field that was empty is
written as the run's undo clear token, so sending undo.csv clears it again.
"""

from __future__ import annotations

import csv
import io
import secrets
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TextIO

from ..calls import CallResult, Kind, LeadSquaredClient
from ..errors import InputError
from ..report import files
from ..report.writer import REPORT_ENCODING
from ..requests import UpdateRequest
from ..rows import ACTIVITY_ID, NOTE
from .activity import Activity, spelled

UNDO_FILE = "undo.csv"
INDEX_FILE = ".state-backup.sqlite"
BACKUP_FAILED = "BackupFailed"


def new_undo_clear_token() -> str:
    """A clear token no old value will equal (and one that does is refused, never written).

    Its shape is requests.payload.UNDO_CLEAR_TOKEN: a cell of that shape read with another token is refused."""
    return f"#CLEAR-{secrets.token_hex(4)}#"


def undo_header(columns: list[str]) -> list[str]:
    fields = [name for name in columns if name not in (ACTIVITY_ID, NOTE)]
    return [ACTIVITY_ID, *([NOTE] if NOTE in columns else []), *fields, "_row"]


def refuse_replacing_undo_log(out_dir: Path, why: str) -> None:
    """An undo.csv is the only way back for the run that wrote it: never replace it silently."""
    if files.is_present(out_dir / UNDO_FILE):
        raise InputError(
            f"{out_dir} holds the {UNDO_FILE} of an earlier run ({why})",
            hint=f"Undo that run first (bulk-updater undo {out_dir} --out UNDO_DIR), or move {UNDO_FILE} away, or choose another --out folder.",
        )


class UndoLog:
    """DIR/undo.csv and the index of the (activity, field) pairs it holds."""

    def __init__(self, out_dir: Path, columns: list[str], clear_token: str) -> None:
        self.path = out_dir / UNDO_FILE
        self.header = undo_header(columns)
        self.clear_token = clear_token
        records = self._recover()
        self._index = _open_index(out_dir / INDEX_FILE, records, self.header)
        self._file: TextIO = _open_append(self.path)
        self._csv = csv.writer(self._file)
        if self._file.tell() == 0:
            self._csv.writerow(self.header)
            self._file.flush()

    def missing(self, request: UpdateRequest) -> list[str]:
        """The note and fields of `request` that have no snapshot yet in this run."""
        names = ([NOTE] if request.note is not None else []) + [name for name, _ in request.fields]
        taken = {row[0] for row in self._index.execute("SELECT field FROM snapshot WHERE activity = ?", (request.activity_id,))}
        return [name for name in names if name not in taken]

    def write(self, request: UpdateRequest, names: list[str], activity: Activity) -> str:
        """Append and flush the snapshot of `names`; return why it can't be kept ("" when written)."""
        values = {}
        for name in names:
            value = spelled(activity.value(name))
            if value is None:
                return f"{name} holds {activity.value(name)!r}, a value an update can't send back; it can't be kept"
            if value.strip() == self.clear_token:
                return f"{name}'s value is the undo clear token {self.clear_token!r}; it can't be kept"
            values[name] = value if value.strip() else self.clear_token
        own = {ACTIVITY_ID: request.activity_id, "_row": str(request.row)}
        self._csv.writerow([own.get(name, values.get(name, "")) for name in self.header])
        self._file.flush()
        with self._index:
            self._index.executemany("INSERT OR IGNORE INTO snapshot VALUES (?, ?)", [(request.activity_id, name) for name in names])
        return ""

    def close(self) -> None:
        self._file.close()
        self._index.close()

    def _recover(self) -> list[list[str]]:
        """The complete lines of an earlier session's undo.csv; a line a kill cut short is dropped
        (its update was never sent: the line is flushed first)."""
        if not files.is_present(self.path):
            return []
        with files.open_read(self.path, encoding="utf-8-sig") as f, files.explained(self.path):
            text = f.read()  # newline="": line ends exactly as written, inside quoted cells too
        records = _complete_records(text)
        if records and records[0][0] != self.header:
            raise InputError(f"the columns of {UNDO_FILE} are not this run's", where=str(self.path), hint="Choose another --out folder.")
        if sum(len(raw) for _, raw in records) < len(text):
            files.replace_text(self.path, "".join(raw for _, raw in records), REPORT_ENCODING)
        return [cells for cells, _ in records[1:]]


def _open_append(path: Path) -> TextIO:
    # The one place undo.csv is opened for writing; with a BOM at the start, as the reports.
    return files.open_append(path, REPORT_ENCODING)  # type: ignore[return-value]


def _complete_records(text: str) -> list[tuple[list[str], str]]:
    """(cells, raw text) of each record that ends with its line end; a torn last one is left out."""
    lines = io.StringIO(text, newline="")
    consumed = 0

    def counted() -> Iterator[str]:
        nonlocal consumed
        for line in lines:
            consumed += len(line)
            yield line

    records: list[tuple[list[str], str]] = []
    start = 0
    try:
        for cells in csv.reader(counted(), strict=True):  # strict: a record cut inside quotes raises
            raw, start = text[start:consumed], consumed
            if not raw.endswith("\n"):
                break
            records.append((cells, raw))
    except csv.Error:
        pass
    return records


def _open_index(path: Path, records: list[list[str]], header: list[str]) -> sqlite3.Connection:
    """A fresh index built from undo.csv's lines: the file is the record, this only makes lookups cheap."""
    index = sqlite3.connect(files.claim(path))
    index.execute("PRAGMA synchronous = OFF")  # rebuilt from undo.csv if lost
    index.execute("CREATE TABLE snapshot (activity TEXT, field TEXT, PRIMARY KEY (activity, field))")
    fields = [(pos, name) for pos, name in enumerate(header) if name not in (ACTIVITY_ID, "_row")]
    with index:
        for cells in records:
            index.executemany(
                "INSERT OR IGNORE INTO snapshot VALUES (?, ?)", [(cells[0], name) for pos, name in fields if pos < len(cells) and cells[pos].strip()]
            )
    return index


class BackupSend:
    """The runner's `send` for a --backup run: snapshot (one call), flush, then the update (a second call)."""

    def __init__(self, client: LeadSquaredClient, log: UndoLog, acquire: Callable[[], Awaitable[None]]) -> None:
        self._client, self._log, self._acquire = client, log, acquire
        self.reads = 0
        # Reads made just before by the canary (safety/canary.py), by activity id: the snapshot takes one instead of reading.
        self.read_before: dict[str, Activity] = {}

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
