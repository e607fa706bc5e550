"""Turn a row into an update request, or a plain reason it is not sent. Pure: no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..rows import ACTIVITY_ID, NOTE, Row
from ..settings import CLEAR_TOKEN

GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# SQL Server and .NET write GUIDs in braces: {6513270E-...}. The braces are not part of the id.
BRACED_GUID = re.compile(r"\{(" + GUID.pattern + r")\}")
# What a spreadsheet shows for an error value, and Excel writes into a CSV export as text.
# Sending one would write "#REF!" into the CRM; only the clear token (#N/A by default) means something.
# The shape of an undo.csv's clear token (safety/backup.py): read with another token, such a cell would
# be sent as text where the undo means to clear the field.
UNDO_CLEAR_TOKEN = re.compile(r"#CLEAR-[0-9a-f]{8}#")
ERROR_VALUES = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#SPILL!", "#CALC!", "#GETTING_DATA"})


@dataclass(frozen=True)
class UpdateRequest:
    """The body of one "Update an Account Activity" call."""

    activity_id: str
    note: str | None
    fields: tuple[tuple[str, str], ...]
    # The input row it came from, for the undo log (--backup); not part of the call.
    row: int = field(default=0, compare=False)

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
    damage: bool = False  # a retry's check refused it: a spreadsheet changed a value the run had sent


@dataclass(frozen=True)
class NothingToChange:
    """Nothing is left to send: every cell besides the id is blank, or (retry) a later row set every field."""

    reason: str = "no cells to change"
    superseded: bool = False  # a retry's: later rows of the sheet set every field it had


Plan = UpdateRequest | Invalid | NothingToChange


def plan_row(row: Row, clear_token: str = CLEAR_TOKEN) -> Plan:
    """Decide what to send for `row`: blank cells are left alone, `clear_token` clears a field."""
    shown_id = row.cells.get(ACTIVITY_ID, "").strip()
    if not shown_id:
        return Invalid(f"{ACTIVITY_ID} is blank")
    activity_id = _bare_guid(shown_id)
    if activity_id is None:
        # The value is quoted, so the summary can group the rows without it (report/summary.py).
        return Invalid(f"{ACTIVITY_ID} {_quoted(shown_id)} is not a GUID (like 255539a4-0380-4b8c-84db-7746b46c3fe2)")
    if row.problems:
        return Invalid(row.problems[0])
    note: str | None = None
    fields: list[tuple[str, str]] = []
    # One pass: each cell is left alone (blank), cleared (the clear token), refused (an error
    # value, see ERROR_VALUES) or sent as written.
    for name, cell in row.cells.items():
        if name == ACTIVITY_ID:
            continue
        shown = cell.strip()
        if not shown:
            continue
        if shown == clear_token:
            value = ""
        elif shown in ERROR_VALUES:
            return _error_value(row, name, shown, clear_token)
        elif UNDO_CLEAR_TOKEN.fullmatch(shown):
            return Invalid(
                f"{name} holds {shown}, the clear token of an undo.csv, read here with {clear_token!r}: it would be sent as text. "
                f"Send undo.csv with `bulk-updater undo`, retry an undo's report from its own folder, or give --clear-token {shown!r}"
            )
        else:
            value = cell
        if name == NOTE:
            note = value
        else:
            fields.append((name, value))
    if note is None and not fields:
        return NothingToChange()
    return UpdateRequest(activity_id, note, tuple(fields), row.number)


def activity_to_update(row: Row, clear_token: str = CLEAR_TOKEN) -> str | None:
    """The activity id `plan_row` would send an update to, or None: the same tests, without building
    the request (a counting pass over a million rows would build a million). Keep the two in step."""
    activity_id = _bare_guid(row.cells.get(ACTIVITY_ID, "").strip())
    if activity_id is None or row.problems:
        return None
    sends = False
    for name, cell in row.cells.items():
        shown = cell.strip()
        if name == ACTIVITY_ID or not shown:
            continue
        if shown != clear_token and (shown in ERROR_VALUES or UNDO_CLEAR_TOKEN.fullmatch(shown)):
            return None
        sends = True
    return activity_id if sends else None


def activity_key(text: str) -> str:
    """An activity id as LeadSquared matches it: the one spelling the tool sends, and compares two ids by.

    A GUID, bare or in one pair of braces, with spaces around it, is its bare GUID in lower case
    (LeadSquared matches ids in any case). Any other text is no id an update is sent to: it stays
    as written, spaces around it aside, so it shares its key with no other text and with no GUID.
    Reads, the backup, verify and retry's history all compare ids through this; a looser rule in
    one of them would let one activity's values stand for another's."""
    text = text.strip()
    return _bare_guid(text) or text


def _bare_guid(text: str) -> str | None:
    """`activity_key` of `text` (already stripped) when it is a GUID, else None: the payload's test
    and its key in one pass (a counting pass runs it on every row of the sheet)."""
    if GUID.fullmatch(text):
        return text.lower()
    braced = BRACED_GUID.fullmatch(text) if text[:1] == "{" else None
    return braced[1].lower() if braced else None


def _quoted(value: str) -> str:
    """A row's own value in a message: quoted, cut short if long."""
    return repr(value if len(value) <= 60 else value[:57] + "...")


def _error_value(row: Row, name: str, shown: str, clear_token: str) -> Invalid:
    """A cell showing a spreadsheet error (#REF!...) is never sent: not as text, not as a blank."""
    return Invalid(f"{name} holds {shown}{_cell_in(row, name)}: correct it in the sheet, or type the value to send" + _clear_hint(shown, clear_token))


def _clear_hint(shown: str, clear_token: str) -> str:
    return f" (the clear token is {clear_token}, not {shown})" if shown == "#N/A" else ""


def _cell_in(row: Row, column: str) -> str:
    """` (cell D7)`, naming where a value is, or "" when the row has no letters. The summary groups without it."""
    name = row.cell_name(column)
    return f" (cell {name})" if name else ""
