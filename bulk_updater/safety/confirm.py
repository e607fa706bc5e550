"""Before the first update: say what is about to change, where and as whom; warn about unknown columns.

    About to update 1,204 rows (1,180 activities) in "Education 101" as Priya Rao,
    at api-in21.leadsquared.com, 25 calls per 5 s (about 4 min).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from ..hosts import netloc
from ..rows import ACTIVITY_ID, NOTE
from ..settings import Rate
from ..wording import counted
from .activity import Activity


@dataclass(frozen=True)
class SendPlan:
    """What a command is about to send, for the line shown before it starts."""

    rows: int
    activities: int | None  # distinct activities, when the counting pass knows them
    calls_per_row: int  # 2 with --backup (a snapshot read before each update), and for undo's re-read


def about_to_update(plan: SendPlan, org: str, user: str, host: str, rate: Rate) -> str:
    activities = f" ({counted(plan.activities, 'activity', 'activities')})" if plan.activities is not None else ""
    seconds = plan.rows * plan.calls_per_row * rate.period / rate.calls
    calls = f", {plan.calls_per_row} calls per row" if plan.calls_per_row > 1 else ""
    return (
        f'About to update {counted(plan.rows, "row")}{activities} in "{org}" as {user}, at {netloc(host)}, '
        f"{rate.calls} calls per {rate.period:g} s{calls} (about {_duration(seconds)})."
    )


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def unknown_columns(columns: list[str], activity: Activity) -> list[str]:
    """Warnings for the sheet's SchemaNames the activity does not list, with the closest names it does."""
    if not activity.fields:
        return []  # an activity that lists no field tells nothing
    known = list(activity.fields)
    warnings = []
    for name in columns:
        if name in (ACTIVITY_ID, NOTE) or name in activity.fields:
            continue
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        suggestion = f"; did you mean {' or '.join(close)}?" if close else ""
        warnings.append(f"{name} is not among this activity's fields{suggestion}")
    return warnings
