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
from ..report import Summary
from ..requests import Plan, UpdateRequest, activity_to_update, plan_row
from ..rows import Row
from ..settings import SendSettings
from .activity import read_activity
from .backup import BackupSend, UndoLog
from .confirm import SendPlan, about_to_update, unknown_columns
from .failing import FailureWatch
from .undo import UndoGuard

Send = Callable[[UpdateRequest], Awaitable[CallResult]]


@dataclass
class Counted:
    """The counting pass: every row read, and those that will be sent."""

    total: int = 0
    to_send: int = 0
    first: UpdateRequest | None = None  # the first request that will be sent (the field check reads its activity)
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
        if counted.first is None:
            planned = planned or plan_row(row, clear_token)
            counted.first = planned if isinstance(planned, UpdateRequest) else None
        if counted._ids is not None:
            counted._ids.add(hash(activity_id))
            if len(counted._ids) > MAX_DISTINCT:
                counted._ids = None
    return counted


async def before_sending(
    columns: list[str],
    counted: Counted,
    calls_per_row: int,
    identity: Identity,
    send: SendSettings,
    limiter: WindowLimiter,
    confirm: Callable[[str], bool] | None,
    say: Callable[[str], None],
    may_ask: bool = True,
) -> FieldCheck | None:
    """Warn about columns the first activity does not have, then say what is about to change and ask.

    When nobody will be asked (`may_ask` False: --yes, or no terminal), nothing waits on the
    field check's warnings, so its one read does not hold the first updates up: it goes out with
    them, and the FieldCheck returned says its warnings when it answers. A short job then starts
    a whole read (up to the server's latency) sooner; the warnings are the same.
    """
    if confirm is None or not counted.to_send:
        return None
    check = FieldCheck(asyncio.ensure_future(check_fields(columns, counted.first, send, limiter)))
    if may_ask:
        _say_warnings(await check.reading, say)
    plan = SendPlan(counted.to_send, counted.activities, calls_per_row)
    if not confirm(about_to_update(plan, identity.org, identity.user, send.host, send.rate)):
        check.reading.cancel()
        raise Declined("Nothing was sent.")
    return None if may_ask else check


# How often a field check still waited for looks for a stop.
STOP_POLL_SECONDS = 0.05


@dataclass
class FieldCheck:
    """The field check's read, going out with the first updates (see before_sending)."""

    reading: asyncio.Future[list[str]]

    def say_when_answered(self, say: Callable[[str], None]) -> None:
        """Say the warnings as soon as the read answers: mid-run, where a Ctrl-C can still act on them."""
        self.reading.add_done_callback(lambda done: None if done.cancelled() or done.exception() else _say_warnings(done.result(), say))

    async def finish(self, stopped: Callable[[], bool]) -> None:
        """Wait for the answer, which belongs to this run's output; after a stop, drop it instead.

        A stop may come while waiting (the rows all done, the read hanging): it is polled for,
        or the run would outlast the "waiting up to N s" it printed by the read's whole timeout.
        """
        while not self.reading.done():
            if stopped():
                self.reading.cancel()
            await asyncio.wait([self.reading], timeout=STOP_POLL_SECONDS)
        if not self.reading.cancelled() and (failure := self.reading.exception()) is not None:
            raise failure


def _say_warnings(warnings: list[str], say: Callable[[str], None]) -> None:
    for warning in warnings:
        say(f"Warning: {warning}")


async def check_fields(columns: list[str], first: UpdateRequest | None, send: SendSettings, limiter: WindowLimiter) -> list[str]:
    """One read of the first activity to be sent; warnings for the sheet's columns it does not list."""
    if first is None or not columns:
        return []
    async with open_session(1) as session:
        client = LeadSquaredClient(session, send.host, send.credentials, send.timeout)
        result, activity = await read_activity(client, limiter, first.activity_id, send.max_attempts)
    if activity is None:
        return [f"could not read activity {first.activity_id} to check the column names ({result.error_type}: {result.error_message})"]
    return unknown_columns(columns, activity)


def open_undo_log(out_dir: Path, columns: list[str], clear_token: str) -> UndoLog:
    return UndoLog(out_dir, columns, clear_token)


class Sender:
    """The runner's `send`: the plain update, the backup step before it, or undo's check."""

    def __init__(self, log: UndoLog | None, guard: UndoGuard | None) -> None:
        self._log, self._guard = log, guard
        self.backup: BackupSend | None = None

    def send(self, client: LeadSquaredClient, acquire: Callable[[], Awaitable[None]]) -> Send:
        if self._guard is not None:
            return self._guard.send(client, acquire)
        if self._log is not None:
            self.backup = BackupSend(client, self._log, acquire)
            return self.backup
        return client.send_update

    def close(self) -> None:
        for part in (self._log, self._guard):
            if part is not None:
                part.close()


def finish_summary(summary: Summary, watch: FailureWatch | None, sender: Sender) -> None:
    if sender.backup is not None:
        summary.backup_reads = sender.backup.reads
    if watch is not None and watch.tripped and summary.stop_reason in ("", "max_calls"):
        tripped = watch.tripped
        summary.stop_reason = "failing"
        summary.stop_detail = (
            f"{tripped.rule} with {tripped.error_type or 'the same error'}"
            + (f" ({tripped.error_message})" if tripped.error_message else "")
            + f", e.g. row {tripped.example_row}"
        )
