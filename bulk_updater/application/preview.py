"""What a job will do, before it starts: the facts of the line shown before the first update.

    About to update 1,204 rows (1,180 activities) in "Education 101" as Priya Rao,
    at api-in21.leadsquared.com, 25 calls per 5 s (about 4 min).

A job says it itself before sending (the CLI prints it and asks); the page shows it before Start,
from the sheet's check or the backup an undo sends. The rules (calls per row, the canary's reads)
are safety/confirm.py's, the ones the job applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..check import CheckResult
from ..preflight import Identity
from ..safety.confirm import SendPlan, about_to_update, reads_first, timezone_warning, zone_to_warn_of
from ..safety.undo import UndoSource
from ..settings import Rate
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
