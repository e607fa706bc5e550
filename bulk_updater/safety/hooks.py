"""Where the safety net plugs into a job (job.py): counting, the line before sending, the send step, the summary.

Kept apart from job.py so the job only calls a few named steps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..calls import CallResult, LeadSquaredClient, WindowLimiter, open_session
from ..errors import Declined
from ..preflight import Identity
from ..report import Summary, files
from ..requests import Plan, UpdateRequest, activity_to_update, plan_row
from ..rows import ACTIVITY_ID, NOTE, Row, load_map
from ..settings import SendSettings
from .activity import read_activity
from .backup import BackupSend, UndoLog
from .canary import CANARY_FILE, Canary, reads_record
from .canary import report as canary_report
from .confirm import FIX_IN_SHEET, SendPlan, about_to_update, case_clashes, case_refusal, may_clash, timezone_warning, unknown_columns, zone_to_warn_of
from .failing import FailureWatch
from .undo import UndoGuard

Send = Callable[[UpdateRequest], Awaitable[CallResult]]


@dataclass
class Counted:
    """The counting pass: every row read, and those that will be sent."""

    total: int = 0
    to_send: int = 0
    first: UpdateRequest | None = None  # the first request that will be sent (the field check reads its activity)
    # The canary's row when it is not the first (safety/canary.py): the first row that clears a field
    # or the note, if no earlier row names its activity (sent first, it then changes nothing's order).
    clearing: int | None = None
    clears: bool = False  # some row clears a field or the note (the canary must see a clear work)
    leaves_note: bool = False  # some row does not set the note (the canary must see a note kept)
    # Hashes of the ids, to count distinct activities (the count is shown, never acted on); None past MAX_DISTINCT.
    _ids: set[int] | None = field(default_factory=set, repr=False)

    @property
    def activities(self) -> int | None:
        return len(self._ids) if self._ids is not None else None


# Past this many distinct activities the line leaves their count out: memory stays flat (a set of
# this many id hashes is about 6 MB; a million would be 60 MB, the whole memory of a run).
MAX_DISTINCT = 100_000


def count_rows(rows: Iterable[Row], clear_token: str, plan: Callable[[Row, str], Plan] | None = None) -> Counted:
    """Count what will be sent; `plan` plans each row when its cells are not what is sent (undo sends its record)."""
    counted = Counted()
    for row in rows:
        counted.total += 1
        planned = None if plan is None else plan(row, clear_token)
        if planned is None:
            activity_id = activity_to_update(row, clear_token)
        else:
            activity_id = planned.activity_id if isinstance(planned, UpdateRequest) else None
        if activity_id is None:
            continue
        counted.to_send += 1
        counted.clears = counted.clears or _clears(row, clear_token)
        counted.leaves_note = counted.leaves_note or _leaves_note(row, planned)
        if counted.first is None:
            planned = planned or plan_row(row, clear_token)
            counted.first = planned if isinstance(planned, UpdateRequest) else None
        if counted._ids is not None:
            if counted.clearing is None and hash(activity_id) not in counted._ids and _clears(row, clear_token):
                counted.clearing = row.number
            counted._ids.add(hash(activity_id))
            if len(counted._ids) > MAX_DISTINCT:
                counted._ids = None
    return counted


@dataclass(frozen=True)
class ColumnCheck:
    """What the field check looks at: the columns a job sends, those --map named, and how to word a refusal."""

    columns: list[str]
    named: frozenset[str] = frozenset()  # SchemaNames --map named (and the runs behind a retry or undo): sent as they are
    where: str = ""  # the input, for the refusal
    fix: str = FIX_IN_SHEET  # what the refusal tells the admin to do (confirm.case_refusal)
    warn_unknown: bool = True  # undo: its columns are the run's, warned about then; only a clash is refused

    @property
    def may_refuse(self) -> bool:
        return may_clash(self.columns, self.named)

    @property
    def needs_read(self) -> bool:
        return self.may_refuse or (self.warn_unknown and any(name not in (ACTIVITY_ID, NOTE) for name in self.columns))


def names_mapped(map_path: str | Path | None) -> list[str]:
    """The SchemaNames a --map file names: a column it names is sent as it is, even one that clashes in case."""
    return sorted({schema_name for _, schema_name in load_map(map_path).entries}) if map_path else []


def _leaves_note(row: Row, planned: Plan | None) -> bool:
    if isinstance(planned, UpdateRequest):
        return planned.note is None  # undo: its record, not its cells, says what is sent
    return not row.cells.get(NOTE, "").strip()  # plan_row sends no note for a blank cell


def _clears(row: Row, clear_token: str) -> bool:
    if not any(cell.strip() == clear_token for cell in row.cells.values()):
        return False  # most rows: no plan needed
    plan = plan_row(row, clear_token)
    return isinstance(plan, UpdateRequest) and (plan.note == "" or any(value == "" for _, value in plan.fields))


async def before_sending(
    check: ColumnCheck,
    counted: Counted,
    calls_per_row: int,
    identity: Identity,
    send: SendSettings,
    limiter: WindowLimiter,
    confirm: Callable[[str], bool] | None,
    say: Callable[[str], None],
    may_ask: bool = True,
    stopped: Callable[[], bool] = lambda: False,
    utc_datetimes: int = 0,
    check_reads: int = 0,
) -> FieldCheck | None:
    """Check the columns against the first activity (refuse a case clash, warn about unknown
    columns), then say what is about to change and ask. Raises InputError for a clash.

    The field check's read answers before anything is sent whenever it can refuse (a field
    column --map did not name: its case may clash), and when someone is asked (the warnings come
    before the question). Only when it can do neither (every field column named, nobody asked)
    does the read go out with the first updates: the FieldCheck returned says its warnings when
    it answers. A stop (`stopped()`, the caller's stop token) during the read ends the wait: the
    read is dropped and nothing is asked; the job then stops before sending anything.

    `utc_datetimes` date-time cells go as UTC (a workbook read without --timezone): when the keys'
    user is in another zone, a warning names it and the flag, and so does the line.
    """
    if confirm is None or not counted.to_send:
        return None
    reading = FieldCheck(asyncio.ensure_future(check_fields(check, counted.first, send, limiter)))
    zone = zone_to_warn_of(identity.time_zone, utc_datetimes)
    if zone:
        _say_warnings([timezone_warning(zone, utc_datetimes)], say)
    answered_first = may_ask or check.may_refuse
    if answered_first:
        if not await reading.answered(stopped):
            return None
        _say_warnings(reading.reading.result(), say)  # or raises the refusal
    plan = SendPlan(counted.to_send, counted.activities, calls_per_row, datetimes_not_in=zone, check_reads=check_reads)
    if not confirm(about_to_update(plan, identity.org, identity.user, send.host, send.rate)):
        reading.reading.cancel()
        raise Declined("Nothing was sent.")
    return None if answered_first else reading


# How often a field check still waited for looks for a stop.
STOP_POLL_SECONDS = 0.05


@dataclass
class FieldCheck:
    """The field check's read: answered before sending, or going out with the first updates (see before_sending)."""

    reading: asyncio.Future[list[str]]

    def say_when_answered(self, say: Callable[[str], None]) -> None:
        """Say the warnings as soon as the read answers: mid-run, where a Ctrl-C can still act on them."""
        self.reading.add_done_callback(lambda done: None if done.cancelled() or done.exception() else _say_warnings(done.result(), say))

    async def answered(self, stopped: Callable[[], bool]) -> bool:
        """Wait for the answer before sending; False when a stop came first (the read is then dropped)."""
        await self._wait(stopped)
        return not self.reading.cancelled()

    async def finish(self, stopped: Callable[[], bool]) -> None:
        """Wait for the answer, which belongs to this run's output; after a stop, drop it instead.

        A stop may come while waiting (the rows all done, the read hanging): it is polled for,
        or the run would outlast the "waiting up to N s" it printed by the read's whole timeout.
        """
        await self._wait(stopped)
        if not self.reading.cancelled() and (failure := self.reading.exception()) is not None:
            raise failure

    async def _wait(self, stopped: Callable[[], bool]) -> None:
        while not self.reading.done():
            if stopped():
                self.reading.cancel()
            await asyncio.wait([self.reading], timeout=STOP_POLL_SECONDS)


def _say_warnings(warnings: list[str], say: Callable[[str], None]) -> None:
    for warning in warnings:
        say(f"Warning: {warning}")


async def check_fields(check: ColumnCheck, first: UpdateRequest | None, send: SendSettings, limiter: WindowLimiter) -> list[str]:
    """One read of the first activity to be sent: a case clash raises the refusal; returns warnings for
    the columns it does not list. A read that fails is a warning: nothing is known to refuse."""
    if first is None or not check.needs_read:
        return []
    async with open_session(1) as session:
        client = LeadSquaredClient(session, send.host, send.credentials, send.timeout)
        result, activity = await read_activity(client, limiter, first.activity_id, send.max_attempts)
    if activity is None:
        return [f"could not read activity {first.activity_id} to check the column names ({result.error_type}: {result.error_message})"]
    clashes = case_clashes(check.columns, activity, check.named)
    if clashes:
        raise case_refusal(clashes, first.activity_id, check.where, check.fix)
    return unknown_columns(check.columns, activity) if check.warn_unknown else []


def open_undo_log(out_dir: Path, columns: list[str], clear_token: str) -> UndoLog:
    return UndoLog(out_dir, columns, clear_token)


class Sender:
    """The runner's `send`: the plain update, the backup step before it, or undo's check."""

    def __init__(self, log: UndoLog | None, guard: UndoGuard | None) -> None:
        self._log, self.guard = log, guard
        self.backup: BackupSend | None = None
        self.canary: Canary | None = None  # set by the job when the first update is checked

    def send(self, client: LeadSquaredClient, acquire: Callable[[], Awaitable[None]]) -> Send:
        if self.guard is not None:
            return self.guard.send(client, acquire)
        if self._log is not None:
            self.backup = BackupSend(client, self._log, acquire)
            return self.backup
        return client.send_update

    def close(self) -> None:
        for part in (self._log, self.guard):
            if part is not None:
                part.close()


def keep_canary_reads(out_dir: Path, sender: Sender) -> None:
    """The first update's activity, read before and after, in DIR/canary.json (when it was checked)."""
    record = reads_record(sender.canary) if sender.canary is not None else None
    if record is not None:
        files.replace_text(out_dir / CANARY_FILE, record)


def finish_summary(summary: Summary, watch: FailureWatch | None, sender: Sender) -> None:
    if sender.backup is not None:
        summary.backup_reads = sender.backup.reads
    canary = sender.canary
    if canary is not None and (canary.decided or canary.reads):
        summary.canary = canary_report(canary)
        if canary.decided and not canary.passed and summary.stop_reason in ("", "max_calls"):
            summary.stop_reason = "canary"
            summary.stop_detail = "; ".join(finding.sentence() for finding in canary.found or []) or canary.failure
    if watch is not None and watch.tripped and summary.stop_reason in ("", "max_calls"):
        tripped = watch.tripped
        summary.stop_reason = "failing"
        summary.stop_detail = (
            f"{tripped.rule} with {tripped.error_type or 'the same error'}"
            + (f" ({tripped.error_message})" if tripped.error_message else "")
            + f", e.g. row {tripped.example_row}"
        )
