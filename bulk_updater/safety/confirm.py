"""Before the first update: say what is about to change, where and as whom; warn about unknown columns,
and about date-times sent as UTC by a user whose zone is not UTC; refuse a column that names one of
the activity's fields only when case is ignored.

    About to update 1,204 rows (1,180 activities) in "Education 101" as Priya Rao,
    at api-in21.leadsquared.com, 25 calls per 5 s (about 4 min).
"""

from __future__ import annotations

import datetime as dt
import difflib
import zoneinfo
from dataclasses import dataclass

from ..errors import InputError
from ..hosts import netloc
from ..rows import ACTIVITY_ID, NOTE
from ..settings import Rate
from ..wording import counted
from .activity import Activity
from .canary import reads_needed


@dataclass(frozen=True)
class SendPlan:
    """What a command is about to send, for the line shown before it starts."""

    rows: int
    activities: int | None  # distinct activities, when the counting pass knows them
    calls_per_row: int  # 2 with --backup (a snapshot read before each update), and for undo's re-read
    # The keys' user's time zone, when the sheet's date-time cells go as UTC though it is not UTC
    # (zone_to_warn_of); "" when there is nothing to say.
    datetimes_not_in: str = ""
    check_reads: int = 0  # the first updates' check (safety/canary.py): its reads per row sent alone, besides the rows' own calls

    @classmethod
    def of(cls, rows: int, activities: int | None, *, reads_first: bool, canary: bool, datetimes_not_in: str = "") -> SendPlan:
        """The plan of a job that sends `rows` updates: 2 calls a row when each update goes after a read of its
        activity (`reads_first`), and the canary's reads, one fewer when that read serves as its read before."""
        return cls(rows, activities, 2 if reads_first else 1, datetimes_not_in, reads_needed(canary, reads_first))


def reads_first(backup: bool, undo: bool = False, force: bool = False) -> bool:
    """Whether each update goes after a read of its activity: --backup's snapshot, or undo's "changed since
    the run" check, which --force skips."""
    return backup or (undo and not force)


def about_to_update(plan: SendPlan, org: str, user: str, host: str, rate: Rate) -> str:
    activities = f" ({counted(plan.activities, 'activity', 'activities')})" if plan.activities is not None else ""
    seconds = (plan.rows * plan.calls_per_row + plan.check_reads) * rate.period / rate.calls
    calls = f", {plan.calls_per_row} calls per row" if plan.calls_per_row > 1 else ""
    zone = plan.datetimes_not_in
    datetimes = f" Date-times go as UTC, not {zone} time ({timezone_flag(zone)} to shift them)." if zone else ""
    if plan.check_reads:
        calls += f", {counted(plan.check_reads, 'read')} per row sent alone to check the first updates"
    return (
        f'About to update {counted(plan.rows, "row")}{activities} in {_named(org, "an org the key check did not name")} as {user.strip() or "a user it did not name"}, at {netloc(host)}, '
        f"{rate.calls} calls per {rate.period:g} s{calls} (about {_duration(seconds)}).{datetimes}"
    )


# Names a user's TimeZone may give for UTC itself (IANA's aliases, and the Windows name).
UTC_NAMES = frozenset(
    name.lower() for name in (
        "UTC", "Etc/UTC", "UCT", "Etc/UCT", "GMT", "Etc/GMT", "GMT0", "Etc/GMT0", "GMT+0", "Etc/GMT+0", "GMT-0", "Etc/GMT-0",
        "Greenwich", "Etc/Greenwich", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu", "Z", "Coordinated Universal Time", "UTC+00:00",
    )
)


def zone_to_warn_of(time_zone: str, utc_datetimes: int) -> str:
    """The user's zone when `utc_datetimes` date-time cells go as UTC (a workbook read without
    --timezone) and that zone is not UTC; "" when none do, or the user's zone is UTC or not given."""
    zone = time_zone.strip()
    return zone if utc_datetimes and zone and zone.lower() not in UTC_NAMES else ""


def timezone_warning(zone: str, utc_datetimes: int, remedy: str = "") -> str:
    """The warning said before anything is sent (zone from zone_to_warn_of); `remedy` replaces the CLI's."""
    cells = f"{counted(utc_datetimes, 'date-time cell')} {'is' if utc_datetimes == 1 else 'are'}"
    return (
        f"the sheet's {cells} sent as UTC (no --timezone was given), but the keys' user is in {zone}{_offset(zone)}: "
        f"if they were typed in that zone, they land off by its difference from UTC. "
        + (remedy or f"Stop, and run again with {timezone_flag(zone)}.")
    )


def timezone_flag(zone: str) -> str:
    """`--timezone Asia/Kolkata`; for a zone name Python does not know (a Windows name), what to give instead."""
    return f"--timezone {zone}" if _zone(zone) else f"--timezone and the IANA name of {zone} (like Asia/Kolkata)"


def _offset(zone: str) -> str:
    """ (UTC+05:30) now, or "" for a zone Python does not know."""
    known = _zone(zone)
    offset = dt.datetime.now(known).utcoffset() if known else None
    if offset is None:
        return ""
    minutes = int(offset.total_seconds()) // 60
    return f" (UTC{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d})"


def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def _named(name: str, unnamed: str) -> str:
    return f'"{name}"' if name.strip() else unnamed


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


@dataclass(frozen=True)
class CaseClash:
    """A sheet column that is one of the activity's fields only when case is ignored."""

    column: str  # as the sheet (after --map) names it: `status`
    field: str  # as the activity lists it: `Status`


def case_clashes(columns: list[str], activity: Activity, named: frozenset[str]) -> list[CaseClash]:
    """The columns that match a field of `activity` only when case is ignored, but those `named` (by --map).

    Whether LeadSquared matches SchemaNames ignoring case is not documented. If it does, `status`
    sets `Status`, while a --backup snapshot of `status` keeps it as empty and undo then clears it:
    such a column is refused unless the admin named it (the activity may list both spellings).
    """
    by_folded: dict[str, str] = {}
    for listed in activity.fields:
        by_folded.setdefault(listed.casefold(), listed)
    clashes = []
    for name in columns:
        if name in (ACTIVITY_ID, NOTE) or name in activity.fields or name in named:
            continue
        if (field_name := by_folded.get(name.casefold())) is not None:
            clashes.append(CaseClash(name, field_name))
    return clashes


def may_clash(columns: list[str], named: frozenset[str]) -> bool:
    """Whether a read could find a case clash among `columns`: one of them is a field column --map did not name."""
    return any(name not in (ACTIVITY_ID, NOTE) and name not in named for name in columns)


# What the admin can do about a clash, by where it was found.
FIX_IN_SHEET = "sheet"  # run and retry: rename the column, or name it in --map
FIX_IN_UNDO = "undo"  # undo: undo.csv holds the run's columns; --map is the run's
FIX_ON_PAGE = "page"  # the web page: its map step is the --map


def case_refusal(clashes: list[CaseClash], activity_id: str, where: str, fix: str = FIX_IN_SHEET) -> InputError:
    """The refusal for `clashes` (exit 2, nothing sent), naming both spellings and what to do."""
    pairs = "; ".join(f"the column {clash.column} matches the field {clash.field} only when case is ignored" for clash in clashes)
    first = clashes[0]
    problem = (
        f"{pairs}, in activity {activity_id} (the first one to send). LeadSquared does not say whether it matches "
        f"SchemaNames ignoring case; if it does, {first.column} would change {first.field}, and a --backup would keep "
        f"{first.column} as empty, so undo would clear {first.field}. Nothing was sent"
    )
    if fix == FIX_ON_PAGE:
        hint = (
            f"In the Sheet step, map the column to {first.field} if it is meant for that field. If the activity really has a "
            f'field spelled {first.column}, tick "send as spelled" beside it.'
        )
    elif fix == FIX_IN_UNDO:
        hint = (
            f"undo.csv's {first.column} holds the run's snapshot of a field this activity does not list, so it may be empty "
            f"where {first.field} had a value: sending it could clear {first.field}. Take the {first.column} "
            f"column out of undo.csv to restore the other fields, and check {first.field} on the run's activities by hand."
        )
    else:
        hint = (
            f"Rename the column to {first.field} if it is meant for that field. If the activity really has a field spelled "
            f'{first.column}, name it in --map (an entry "{first.column}": "{first.column}") to send it as it is.'
        )
    return InputError(problem, where=where, hint=hint)
