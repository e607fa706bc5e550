"""Turn a row into an update request, or a plain reason it is not sent. Pure: no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..rows import ACTIVITY_ID, NOTE, Row
from ..settings import CLEAR_TOKEN

GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class UpdateRequest:
    """The body of one "Update an Account Activity" call."""

    activity_id: str
    note: str | None
    fields: tuple[tuple[str, str], ...]

    def to_json(self) -> dict:
        body: dict = {"CompanyActivityId": self.activity_id}
        if self.note is not None:
            body["ActivityNote"] = self.note
        body["Fields"] = [{"SchemaName": name, "Value": value} for name, value in self.fields]
        return body


@dataclass(frozen=True)
class Invalid:
    """The row can't be sent as it is; `reason` says what to fix."""

    reason: str


@dataclass(frozen=True)
class NothingToChange:
    """Every cell besides the id is blank, so there is nothing to send."""


Plan = UpdateRequest | Invalid | NothingToChange


def plan_row(row: Row, clear_token: str = CLEAR_TOKEN) -> Plan:
    """Decide what to send for `row`: blank cells are left alone, `clear_token` clears a field."""
    activity_id = row.cells.get(ACTIVITY_ID, "").strip()
    if not activity_id:
        return Invalid(f"{ACTIVITY_ID} is blank")
    if not GUID.fullmatch(activity_id):
        # The reason names no value, so the summary can group the rows that share it.
        return Invalid(f"{ACTIVITY_ID} is not a GUID (like 255539a4-0380-4b8c-84db-7746b46c3fe2)")
    note = _value(row.cells.get(NOTE, ""), clear_token)
    fields = tuple(
        (name, value)
        for name, cell in row.cells.items()
        if name not in (ACTIVITY_ID, NOTE) and (value := _value(cell, clear_token)) is not None
    )
    if note is None and not fields:
        return NothingToChange()
    return UpdateRequest(activity_id.lower(), note, fields)


def _value(cell: str, clear_token: str) -> str | None:
    """None means "leave alone"; an empty string means "clear"."""
    if not cell.strip():
        return None
    if cell.strip() == clear_token:
        return ""
    return cell
