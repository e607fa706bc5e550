"""The counting pass: every row read, those that will be sent, and the distinct activities they name.

It comes before anything is sent: it finds unreadable lines early, sizes the progress, and gives
the line before sending its numbers (application/preview.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..rows import NOTE, Row
from .payload import Plan, UpdateRequest, activity_to_update, plan_row


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


def _leaves_note(row: Row, planned: Plan | None) -> bool:
    if isinstance(planned, UpdateRequest):
        return planned.note is None  # undo: its record, not its cells, says what is sent
    return not row.cells.get(NOTE, "").strip()  # plan_row sends no note for a blank cell


def _clears(row: Row, clear_token: str) -> bool:
    if not any(cell.strip() == clear_token for cell in row.cells.values()):
        return False  # most rows: no plan needed
    plan = plan_row(row, clear_token)
    return isinstance(plan, UpdateRequest) and (plan.note == "" or any(value == "" for _, value in plan.fields))
