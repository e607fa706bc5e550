"""LeadSquared's possible behaviours where its documentation is silent: each one a switch of the sandbox.

The sandbox on its own stores what an update sent and reads it back in the documented shape
(strings, every value as stored). A quirk plays one plausible answer of the real server instead;
quirks are independent and combine. docs/leadsquared-api.md says which unknown each stands for,
so each can be checked against a real account.

How a read knows a value's type: the sandbox keeps only the text an update sent (Values are
strings), so it classifies that text, and only these spellings count (anything else is text and is
read back as sent):
- a boolean: `true` or `false`, in any case;
- a number: plain decimal digits, an optional leading `-`, an optional `.` and digits, and no
  leading zero (`007` stays text, as a phone number or a code would);
- a date-time: `YYYY-MM-DD HH:MM:SS`, the one form the API documents;
- a GUID: 8-4-4-4-12 hexadecimal digits, in any case.
Each read quirk respells a value only within what the one comparison holds equal (the same instant,
trailing zeros of a plain decimal, GUID case, a boolean's spelling or 1/0, and absent = null = empty:
docs/design.md, "The one comparison of values"), so a correct tool sees no change.
The note is free text: only `read-null-empty` respells it.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from decimal import Decimal

THROTTLE_403 = "throttle-403"
BLANK_UNSENT = "blank-unsent"
IGNORE_CLEARS = "ignore-clears"
READ_UPPER_GUIDS = "read-upper-guids"
READ_TYPED = "read-typed"
READ_BOOL_DIGITS = "read-bool-digits"
READ_DECIMALS = "read-decimals"
READ_MS_DATES = "read-ms-dates"
READ_OMIT_EMPTY = "read-omit-empty"
READ_NULL_EMPTY = "read-null-empty"
FIELDS_NULL = "fields-null"

# Name -> what it does, for --help and the docs.
QUIRKS: dict[str, str] = {
    THROTTLE_403: "rate-limit answers come with HTTP 403 (the 429's JSON body and text)",
    BLANK_UNSENT: "an update replaces the activity: the note and every field it did not send become empty",
    IGNORE_CLEARS: 'a field or a note sent as "" is left as it was',
    READ_UPPER_GUIDS: "reads spell GUIDs (field values and the ids) in upper case",
    READ_TYPED: "reads give booleans as JSON true/false and numbers as JSON numbers",
    READ_BOOL_DIGITS: "reads give booleans as 1/0",
    READ_DECIMALS: 'reads give numbers with at least two decimals ("3.00")',
    READ_MS_DATES: "reads give date-times as 2024-03-01T10:00:00.000Z",
    READ_OMIT_EMPTY: "reads leave empty fields out of ActivityFields",
    READ_NULL_EMPTY: "reads give empty fields and an empty note as null",
    FIELDS_NULL: "reads give ActivityFields: null for an activity with no field set",
}

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
# The read answer's attributes that are GUIDs or date-times (the documented shape).
GUID_ATTRIBUTES = ("CompanyActivityId", "RelatedCompanyId", "CreatedBy", "ModifiedBy")
DATETIME_ATTRIBUTES = ("ActivityDateTime", "CreatedOn", "ModifiedOn")


def unknown_quirks(names: frozenset[str]) -> list[str]:
    return sorted(set(names) - set(QUIRKS))


class ValueKind(enum.Enum):
    EMPTY = "empty"
    BOOLEAN = "boolean"
    NUMBER = "number"
    DATETIME = "date-time"
    GUID = "guid"
    TEXT = "text"


def kind_of(text: str) -> ValueKind:
    """What a stored value is, told from its text alone (see the module's docstring)."""
    if text == "":
        return ValueKind.EMPTY
    if text.lower() in ("true", "false"):
        return ValueKind.BOOLEAN
    if _NUMBER.fullmatch(text):
        return ValueKind.NUMBER
    if _DATETIME.fullmatch(text):
        return ValueKind.DATETIME
    if _GUID.fullmatch(text):
        return ValueKind.GUID
    return ValueKind.TEXT


class JsonNumber(str):
    """Digits to be written as a bare JSON number, exactly as they are (never through a float)."""


_OMIT = object()  # a field the read leaves out


def apply_update(activity: dict, body: Mapping, quirks: frozenset[str]) -> None:
    """Change the stored `activity` ({"ActivityNote", "Fields"}) as the Update `body` asks, under the quirks."""
    sent = {item["SchemaName"]: item["Value"] for item in body.get("Fields", [])}
    if BLANK_UNSENT in quirks:
        if "ActivityNote" not in body:
            activity["ActivityNote"] = ""
        for name in activity["Fields"]:
            if name not in sent:
                activity["Fields"][name] = ""
    ignore_clears = IGNORE_CLEARS in quirks
    if "ActivityNote" in body and not (ignore_clears and body["ActivityNote"] == ""):
        activity["ActivityNote"] = body["ActivityNote"]
    for name, value in sent.items():
        if not (ignore_clears and value == ""):
            activity["Fields"][name] = value


def spell_read(answer: dict, quirks: frozenset[str]) -> dict:
    """The RetrieveById answer (every value as stored, in text) spelled as the read quirks say.

    The one place a read's spelling changes: a knob that changes what is answered works on
    `answer` before this, and the server writes the result with `answer_text`.
    """
    if not quirks:
        return answer
    spelled = dict(answer)
    for name in GUID_ATTRIBUTES:
        if isinstance(spelled.get(name), str) and READ_UPPER_GUIDS in quirks:
            spelled[name] = spelled[name].upper()
    for name in DATETIME_ATTRIBUTES:
        if isinstance(spelled.get(name), str) and READ_MS_DATES in quirks:
            spelled[name] = _ms_date(spelled[name])
    if spelled.get("ActivityNote") in ("", None):
        spelled["ActivityNote"] = None if READ_NULL_EMPTY in quirks else ""
    spelled["ActivityFields"] = _spell_fields(answer.get("ActivityFields") or {}, quirks)
    return spelled


def _spell_fields(fields: Mapping[str, str], quirks: frozenset[str]) -> dict | None:
    if FIELDS_NULL in quirks and all(value in ("", None) for value in fields.values()):
        return None
    # A value that is not text (an `initial` activity may hold one) is answered as it is.
    spelled = {name: spell_value(value or "", quirks) if isinstance(value, (str, type(None))) else value for name, value in fields.items()}
    return {name: value for name, value in spelled.items() if value is not _OMIT}


def spell_value(text: str, quirks: frozenset[str]) -> object:
    """One field's stored text as the read quirks answer it (a JsonNumber is written bare)."""
    kind, typed = kind_of(text), READ_TYPED in quirks
    if kind is ValueKind.EMPTY:
        if READ_OMIT_EMPTY in quirks:
            return _OMIT
        return None if READ_NULL_EMPTY in quirks else ""
    if kind is ValueKind.BOOLEAN:
        truth = text.lower() == "true"
        if READ_BOOL_DIGITS in quirks:
            digit = "1" if truth else "0"
            return JsonNumber(digit) if typed else digit
        return truth if typed else text
    if kind is ValueKind.NUMBER:
        digits = _two_decimals(text) if READ_DECIMALS in quirks else text
        return JsonNumber(digits) if typed else digits
    if kind is ValueKind.DATETIME and READ_MS_DATES in quirks:
        return _ms_date(text)
    if kind is ValueKind.GUID and READ_UPPER_GUIDS in quirks:
        return text.upper()
    return text


def _two_decimals(digits: str) -> str:
    """3 -> 3.00, 1.5 -> 1.50; more decimals are kept (cutting them would change the value)."""
    whole, _, decimals = digits.partition(".")
    return f"{whole}.{decimals.ljust(2, '0')}"


def _ms_date(text: str) -> str:
    """2024-03-01 10:00:00 -> 2024-03-01T10:00:00.000Z (the same instant: the API's times are UTC)."""
    return f"{text.replace(' ', 'T')}.000Z" if _DATETIME.fullmatch(text) else text


_NUMBER_MARK = "\x00sandbox-number:"


def answer_text(answer: object) -> str:
    """The answer as JSON, with each JsonNumber written as a bare number in its own digits."""
    def mark(value: object) -> object:
        if isinstance(value, JsonNumber):
            return _NUMBER_MARK + value
        if isinstance(value, Decimal):  # a typed `initial` value: its own digits (`1.50`, never `1.5`)
            return _NUMBER_MARK + (format(value, "f") if value.as_tuple().exponent <= 0 else str(value))  # type: ignore[operator]
        if isinstance(value, dict):
            return {name: mark(item) for name, item in value.items()}
        if isinstance(value, list):
            return [mark(item) for item in value]
        return value

    text = json.dumps(mark(answer))
    return re.sub(r'"\\u0000sandbox-number:(-?[0-9.]+(?:E[+-]?[0-9]+)?)"', r"\1", text)
