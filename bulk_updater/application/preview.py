"""What a job will do, before it starts: the facts of the line shown before the first update.

    About to update 1,204 rows (1,180 activities) in "Education 101" as Priya Rao,
    at api-in21.leadsquared.com, 25 calls per 5 s (about 4 min).

A job says it itself before sending (the CLI prints it and asks); the page shows it before Start,
from the sheet's check, the retry's plan (`retry_preview`: damaged, superseded and invalid rows
subtracted, the edits listed) or the backup an undo sends. The rules (calls per row, the canary's reads)
are safety/confirm.py's, the ones the job applies.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..checking import CheckResult
from ..history.rerun import Rerun
from ..preflight import Identity
from ..rows import ReadOptions, Row
from ..safety.confirm import SendPlan, about_to_update, reads_first, timezone_warning, zone_to_warn_of
from ..safety.undo import UndoSource, retry_clear_token
from ..settings import CLEAR_TOKEN, Rate
from ..updates import Invalid, Plan, UpdateRequest
from ..updates.counting import count_rows


@dataclass(frozen=True)
class Preview:
    """What a job will send, where, as whom and how fast."""

    plan: SendPlan
    identity: Identity  # the keys' user and org
    host: str
    rate: Rate
    utc_datetimes: int = 0  # date-time cells that go as UTC (a workbook read without a time zone)

    @property
    def line(self) -> str:
        """"About to update N rows (M activities) in ORG as USER, at HOST, RATE (about T)." """
        return about_to_update(self.plan, self.identity.org, self.identity.user, self.host, self.rate)

    def zone_warning(self, remedy: str = "") -> str:
        """The warning about date-times sent as UTC by a user in another zone ("" when none); `remedy` replaces the CLI's advice."""
        zone = self.plan.datetimes_not_in
        return timezone_warning(zone, self.utc_datetimes, remedy) if zone else ""


def run_preview(check: CheckResult, identity: Identity, host: str, rate: Rate, *, backup: bool, canary: bool) -> Preview:
    """A run of the sheet `check` read: its rows that update, and its distinct activities."""
    zone = zone_to_warn_of(identity.time_zone, check.utc_datetimes)
    plan = SendPlan.of(check.will_update, check.will_update - check.duplicate_ids, reads_first=reads_first(backup), canary=canary, datetimes_not_in=zone)
    return Preview(plan, identity, host, rate, check.utc_datetimes)


def undo_preview(run_dir: Path, identity: Identity, host: str, rate: Rate, *, force: bool, canary: bool) -> Preview:
    """An undo of the run in `run_dir`: the rows its backup restores, counted as the undo counts them
    (a read before each restore, unless forced, which also serves as the canary's read before)."""
    found = UndoSource.find(run_dir)
    counted = count_rows(found.rows(), found.clear_token, found.planned)
    plan = SendPlan.of(counted.to_send, counted.activities, reads_first=reads_first(False, undo=True, force=force), canary=canary)
    return Preview(plan, identity, host, rate)


# Listed on a retry's confirmation screen, each list cut at this many (the counts are whole).
LISTED = 50


@dataclass(frozen=True)
class RetryPreview:
    """A retry of a report, planned as the retry plans it (the runs behind it: supersession, the damage check):
    its line counts only the rows that will be sent, and the screen lists what the admin changed and what is held back."""

    preview: Preview
    rows: int  # the report's rows that need another look
    edits: list[str]  # `row 7, Status: 'Open' -> 'Closed'`, the first LISTED
    edited_cells: int
    damaged: list[tuple[int, str]]  # rows refused as spreadsheet damage, with the reason (the first LISTED)
    damaged_rows: int
    superseded: list[tuple[int, str]]
    superseded_rows: int
    invalid: list[tuple[int, str]]  # invalid for another reason (no id...)
    invalid_rows: int
    sending: list[int]  # the rows that will be sent, the first LISTED
    warnings: list[str]  # the lineage's (a report with no run behind it: no history to check against)

    @property
    def line(self) -> str:
        return self.preview.line

    @property
    def to_send(self) -> int:
        return self.preview.plan.rows


def retry_preview(report: Path, identity: Identity, host: str, rate: Rate, *, backup: bool, canary: bool, clear_token: str = CLEAR_TOKEN,
                  read: ReadOptions = ReadOptions(), accept_changes: bool = False) -> RetryPreview:
    """A retry of `report`: every row planned as `retry` plans it, against the history of the runs behind it, so a row
    refused as damaged, superseded by a later row or invalid is not "about to update". Raises InputError as the retry
    would (a report that is not its run's). The indexes go to a temporary folder, removed after."""
    token = retry_clear_token(report, clear_token)
    rerun = Rerun.open(report, read, accept_changes)
    seen = _Planned()
    with tempfile.TemporaryDirectory(prefix="bulk-updater-preview-") as work:
        rerun.check_run(Path(work))
        rerun.prepare(Path(work))
        try:
            counted = count_rows(rerun.rows(), token, lambda row, token: seen.add(row, rerun.plan(row, token)[1]))
        finally:
            rerun.close()
    plan = SendPlan.of(counted.to_send, counted.activities, reads_first=reads_first(backup), canary=canary)
    return RetryPreview(Preview(plan, identity, host, rate), counted.total, rerun.edits[:LISTED], rerun.edited_cells,
                        seen.damaged, seen.counts["damaged"], seen.superseded, seen.counts["superseded"], seen.invalid, seen.counts["invalid"],
                        seen.sending, list(rerun.lineage.warnings))


@dataclass
class _Planned:
    """Each row's plan, sorted into what the confirmation screen lists."""

    damaged: list[tuple[int, str]] = field(default_factory=list)
    superseded: list[tuple[int, str]] = field(default_factory=list)
    invalid: list[tuple[int, str]] = field(default_factory=list)
    sending: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(("damaged", "superseded", "invalid", "skipped", "sending"), 0))

    def add(self, row: Row, plan: Plan) -> Plan:
        if isinstance(plan, UpdateRequest):
            self._count("sending", self.sending, row.number)
        elif isinstance(plan, Invalid):
            damaged = plan.damage
            self._count("damaged" if damaged else "invalid", self.damaged if damaged else self.invalid, (row.number, plan.reason))
        elif plan.superseded:
            self._count("superseded", self.superseded, (row.number, plan.reason))
        else:
            self.counts["skipped"] += 1
        return plan

    def _count(self, kind: str, listed: list, entry: object) -> None:
        self.counts[kind] += 1
        if len(listed) < LISTED:
            listed.append(entry)
