"""The field check: one read of the first activity to be sent, before the first update.

A column that names one of the activity's fields only when case is ignored is refused (its case may
clash: confirm.case_clashes); a column the activity does not list is warned about. The job's confirm
step (job.py) decides when the read must answer: before anything is sent whenever it can refuse, or
when someone is asked; otherwise it goes out with the first updates, and its warnings follow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..calls import LeadSquaredClient, RetryPolicy, WindowLimiter, open_session
from ..rows import ACTIVITY_ID, NOTE, load_map
from ..settings import SendSettings
from ..updates import UpdateRequest
from .activity import read_activity
from .confirm import FIX_IN_SHEET, case_clashes, case_refusal, may_clash, unknown_columns


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


# How often a field check still waited for looks for a stop.
STOP_POLL_SECONDS = 0.05


@dataclass
class FieldCheck:
    """The field check's read: answered before sending, or going out with the first updates (see the module docstring)."""

    reading: asyncio.Future[list[str]]

    @classmethod
    def start(cls, check: ColumnCheck, first: UpdateRequest | None, send: SendSettings, limiter: WindowLimiter) -> FieldCheck:
        return cls(asyncio.ensure_future(check_fields(check, first, send, limiter)))

    def say_when_answered(self, say: Callable[[str], None]) -> None:
        """Say the warnings as soon as the read answers: mid-run, where a Ctrl-C can still act on them."""
        self.reading.add_done_callback(lambda done: None if done.cancelled() or done.exception() else say_warnings(done.result(), say))

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


def say_warnings(warnings: list[str], say: Callable[[str], None]) -> None:
    for warning in warnings:
        say(f"Warning: {warning}")


async def check_fields(check: ColumnCheck, first: UpdateRequest | None, send: SendSettings, limiter: WindowLimiter) -> list[str]:
    """One read of the first activity to be sent: a case clash raises the refusal; returns warnings for
    the columns it does not list. A read that fails is a warning: nothing is known to refuse."""
    if first is None or not check.needs_read:
        return []
    async with open_session(1) as session:
        client = LeadSquaredClient(session, send.host, send.credentials, send.timeout)
        result, activity = await read_activity(client, limiter, first.activity_id, RetryPolicy.of(send))
    if activity is None:
        return [f"could not read activity {first.activity_id} to check the column names ({result.error_type}: {result.error_message})"]
    clashes = case_clashes(check.columns, activity, check.named)
    if clashes:
        raise case_refusal(clashes, first.activity_id, check.where, check.fix)
    return unknown_columns(check.columns, activity) if check.warn_unknown else []
