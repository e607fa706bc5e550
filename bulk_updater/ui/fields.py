"""The map step's suggestions from the account: the fields of the first row's activity.

No documented call lists an activity type's fields, so, as the safety net's field check
does before a run, one RetrieveById of the first activity the sheet would update tells
which SchemaNames it has. The page offers them as SchemaNames to map to, and warns (with
the field check's own wording) about mapped columns it does not list. A column that matches one
of its fields only when case is ignored is refused, as a run refuses it, until it is mapped to
that field or ticked "send as spelled". One read, through a limiter at the page's rate; only
when connected.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

from ..calls import LeadSquaredClient, RetryPolicy, account_limiter, open_session
from ..rows import ReadOptions, open_sheet
from ..safety.activity import read_activity
from ..safety.confirm import FIX_ON_PAGE, case_clashes, case_refusal, unknown_columns
from ..settings import CLEAR_TOKEN, SendSettings
from ..updates import UpdateRequest, plan_row

# Rows looked at for one the run would send: the first few, never the whole sheet.
ROWS_LOOKED_AT = 100


@dataclass(frozen=True)
class ActivityFields:
    activity_id: str = ""
    fields: list[str] = field(default_factory=list)  # the SchemaNames the activity lists
    warnings: list[str] = field(default_factory=list)  # the field check's, for the mapped columns
    problem: str = ""  # why there are none: no row to send yet, or the read failed
    refusal: str = ""  # columns whose case clashes with a field's: nothing starts until they are mapped
    clashing: list[str] = field(default_factory=list)  # those columns, as mapped


def first_request(path: Path, read: ReadOptions) -> tuple[list[str], UpdateRequest | None]:
    """The sheet's columns (as mapped) and the first update it would send, among its first rows."""
    sheet = open_sheet(path, read)
    for row in itertools.islice(sheet.rows(), ROWS_LOOKED_AT):
        plan = plan_row(row, CLEAR_TOKEN)
        if isinstance(plan, UpdateRequest):
            return sheet.columns, plan
    return sheet.columns, None


async def first_activity_fields(columns: list[str], first: UpdateRequest | None, send: SendSettings, named: frozenset[str] = frozenset()) -> ActivityFields:
    """`named`: the SchemaNames the page's map names (sent as spelled, as --map's are)."""
    if first is None:
        return ActivityFields(problem="Map the id column to CompanyActivityId to see the fields of the first row's activity.")
    limiter = account_limiter(send)
    async with open_session(1) as session:
        client = LeadSquaredClient(session, send.host, send.credentials, send.timeout)
        result, activity = await read_activity(client, limiter, first.activity_id, RetryPolicy.of(send))
    if activity is None:
        return ActivityFields(first.activity_id, problem=f"could not read activity {first.activity_id} ({result.error_type}: {result.error_message})")
    clashes = case_clashes(columns, activity, named)
    refusal = str(case_refusal(clashes, first.activity_id, "", FIX_ON_PAGE)) if clashes else ""
    return ActivityFields(
        first.activity_id, sorted(activity.fields), unknown_columns(columns, activity), refusal=refusal, clashing=[clash.column for clash in clashes]
    )


