"""The backup's own record, DIR/undo-record.jsonl: each old value exactly as the read answered it.

undo.csv is the readable copy; this file is what undo sends back. A spreadsheet that opens
and saves undo.csv (`00501` -> `501`, `1.23457E+19`) can't change what undo writes.

One JSON line each, ASCII only (every other character escaped), appended and flushed before
the update it backs up is sent:

    {"header": ["CompanyActivityId", "ActivityNote", "Status", "_row"]}          (the first line)
    {"row": 2, "activity": "<id asked for>", "answered": "<id the read named>",
     "old": {"Status": ["text", "Open"], "mx_Amount": ["number", "1.50"], "mx_Flag": ["bool", false],
             "mx_Empty": ["null", null], "mx_Gone": ["absent", null]}}

A value keeps its JSON type: text exactly, a number in the digits read (never a float),
true/false, null, or absent (the read did not list the field). An object or a list is never
kept: no update is known to take one back, so its row is not updated (backup.py).
Only the last line can be torn (a kill while it was written): it is dropped, and its update
was never sent. A complete line that can't be read is refused, naming it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from .. import files
from ..errors import InputError
from ..rows import ACTIVITY_ID, NOTE
from ..updates import UpdateRequest
from .activity import Activity, JsonValue, spelled

RECORD_FILE = "undo-record.jsonl"
TEXT, NUMBER, BOOL, NULL, ABSENT = "text", "number", "bool", "null", "absent"
KINDS = (TEXT, NUMBER, BOOL, NULL, ABSENT)

Kept = tuple[str, object]  # (kind, value as JSON holds it: the text, the digits, true/false, null)


def keep(activity: Activity, name: str) -> Kept | str:
    """The note or field `name` as the record keeps it, or why it can't be kept exactly and sent back."""
    if name != NOTE and name not in activity.fields:
        return ABSENT, None
    value = activity.value(name)
    if value is None:
        return NULL, None
    if isinstance(value, bool):
        return BOOL, value
    if isinstance(value, (int, Decimal)):
        return NUMBER, spelled(value)
    if isinstance(value, str):
        if not _utf8(value):
            return f"{name} holds text no UTF-8 file can hold (a lone surrogate); it can't be kept, so the row is not updated"
        return TEXT, value
    if isinstance(value, (dict, list)):
        kind = "an object" if isinstance(value, dict) else "a list"
        return f"{name} holds {kind} ({_short(value)}), which LeadSquared is not known to take back; it can't be restored, so the row is not updated"
    return f"{name} holds {_short(value)}, a value whose digits the read did not give; it can't be kept exactly, so the row is not updated"


def sent(kept: Kept) -> str:
    """The text undo sends for a kept value: true/false, the digits, the text; "" clears an empty field."""
    kind, value = kept
    if kind == BOOL:
        return "true" if value else "false"
    return "" if kind in (NULL, ABSENT) else str(value)


def typed(kept: Kept) -> JsonValue:
    """A kept value as the read gave it, for undo's "changed since the run" comparison."""
    kind, value = kept
    if kind == NUMBER:
        text = str(value)
        return int(text) if text.lstrip("-").isdigit() else Decimal(text)
    return None if kind in (NULL, ABSENT) else value


@dataclass(frozen=True)
class Snapshot:
    """The old values one row's update would change, kept before it was sent."""

    row: int  # the run's row it backs up
    activity: str  # the id asked for, as the update names it
    answered: str  # the id the read's answer named (the same, told apart only by case or braces)
    old: dict[str, Kept] = field(default_factory=dict)

    def line(self) -> str:
        data = {"row": self.row, "activity": self.activity, "answered": self.answered, "old": {name: list(kept) for name, kept in self.old.items()}}
        return json.dumps(data, ensure_ascii=True) + "\n"

    @classmethod
    def from_line(cls, text: str) -> Snapshot:
        """Raises ValueError for a line that is not one of ours."""
        data = json.loads(text)
        old = data["old"]
        if not isinstance(data["row"], int) or not isinstance(data["activity"], str) or not isinstance(old, dict) or not old:
            raise ValueError("not a snapshot")
        kept = {str(name): _kept(pair) for name, pair in old.items()}
        return cls(data["row"], data["activity"], str(data.get("answered", "")), kept)

    def request(self, number: int) -> UpdateRequest:
        """The update that puts every kept value back; `number` is the undo's own row."""
        note = sent(self.old[NOTE]) if NOTE in self.old else None
        fields = tuple((name, sent(kept)) for name, kept in self.old.items() if name != NOTE)
        return UpdateRequest(self.activity, note, fields, number)

    def copy_cells(self, header: list[str], clear_token: str) -> list[str]:
        """undo.csv's line: the values as text, an empty one as the clear token, `_row` the run's row.

        Not defused: the caller makes the cells spreadsheet-safe (backup.copy_line)."""
        own = {ACTIVITY_ID: self.activity, "_row": str(self.row)}
        return [own[name] if name in own else self.cell(name, clear_token) for name in header]

    def cell(self, name: str, clear_token: str) -> str:
        """The value of `name` as undo's report (and undo.csv) shows it: blank when not kept; the token for empty."""
        if name not in self.old:
            return ""
        text = sent(self.old[name])
        return text if text else clear_token


def _kept(pair: object) -> Kept:
    if not isinstance(pair, list) or len(pair) != 2 or pair[0] not in KINDS:
        raise ValueError("not a kept value")
    kind, value = pair
    ok = {
        TEXT: isinstance(value, str),
        NUMBER: isinstance(value, str) and _is_number(value),
        BOOL: isinstance(value, bool),
        NULL: value is None,
        ABSENT: value is None,
    }[kind]
    if not ok:
        raise ValueError("not a kept value")
    return kind, value


def _is_number(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except ArithmeticError:
        return False


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class RecordFile:
    """Reading DIR/undo-record.jsonl: its header, then its snapshots, streamed (memory stays flat)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.torn = False  # set once a read reached a last line cut short

    def exists(self) -> bool:
        return files.is_present(self.path)

    def header(self) -> list[str] | None:
        """The undo.csv columns the first line names; None for an empty record (or a header a kill cut short)."""
        for number, text in self._lines():
            return _header(text, number, self.path)
        return None

    def snapshots(self) -> Iterator[Snapshot]:
        for number, text in self._lines():
            if number == 1:
                _header(text, number, self.path)
                continue
            try:
                yield Snapshot.from_line(text)
            except (ValueError, KeyError, TypeError):
                raise _unreadable(self.path, number) from None

    def _lines(self) -> Iterator[tuple[int, str]]:
        """(line number, text) of each complete line; a last line without its line end is left out."""
        self.torn = False
        if not files.is_present(self.path):
            return
        with files.open_read(self.path, binary=True) as f, files.explained(self.path):
            for number, raw in enumerate(f, start=1):
                if not raw.endswith(b"\n"):
                    self.torn = True
                    return
                try:
                    text = raw.decode("ascii")
                except UnicodeDecodeError:
                    raise _unreadable(self.path, number) from None
                yield number, text


def header_line(header: list[str]) -> str:
    return json.dumps({"header": header}, ensure_ascii=True) + "\n"


def _header(text: str, number: int, path: Path) -> list[str]:
    try:
        header = json.loads(text)["header"]
    except (ValueError, KeyError, TypeError):
        raise _unreadable(path, number) from None
    if not isinstance(header, list) or not all(isinstance(name, str) for name in header):
        raise _unreadable(path, number)
    return header


def _unreadable(path: Path, number: int) -> InputError:
    return InputError(
        f"line {number} of the backup's record can't be read: it is not a line bulk-updater wrote",
        where=str(path),
        hint=f"Put back the record the run wrote (from a copy of the folder). To send undo.csv as it is saved instead, move {path.name} out of the folder.",
    )
