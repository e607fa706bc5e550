"""Whether a value read back from LeadSquared is the value that was sent: the one comparison for
verify, undo's "changed since the run" check and the canary.

Two values are equal only where their difference can't be a loss: identical as an update would
send them, or equal by one of these equivalences, which `compare` names (`Sameness.by`) so that
none is silent: "same instant" (two ISO date-times naming one moment), "trailing zeros" (plain
decimals), "GUID case", "boolean spelling" (true/True/TRUE/JSON true, and 1/0 against one),
"empty" (absent, null and "") and "surrounding spaces" (LeadSquared may trim what it saves).
Everything else is a difference: leading zeros, a sign, an exponent, a thousands separator, a
change of case in text. The rules, their examples and why: docs/design.md, "The one comparison
of values".

`same_value` is the yes/no the callers that need no more use.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

SAME_INSTANT = "same instant"
TRAILING_ZEROS = "trailing zeros"
GUID_CASE = "GUID case"
BOOLEAN_SPELLING = "boolean spelling"
EMPTY = "empty"
SURROUNDING_SPACES = "surrounding spaces"

_TRUTH = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_BIT = {"1": True, "0": False}
_PLAIN_DECIMAL = re.compile(r"([+-]?)(\d+)(?:\.(\d+))?")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# ISO 8601 as LeadSquared and the tool write it: a date, then optionally a time to the minute,
# second or fraction (any number of digits: .NET writes seven), then optionally Z or an offset.
_INSTANT = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?"
)


@dataclass(frozen=True)
class Sameness:
    equal: bool
    by: str = ""  # the equivalences that made two different spellings equal, ", "-joined; "" when identical or unequal


def same_value(sent: object, now: object) -> bool:
    return compare(sent, now).equal


def compare(sent: object, now: object) -> Sameness:
    """Compare a value sent (text) or read (any JSON value) with a value read back."""
    if _structured(sent) or _structured(now):
        return Sameness(_same_structure(sent, now))
    a, b = spelling(sent), spelling(now)
    empty = [EMPTY] if (sent is None) != (now is None) and a.strip() == b.strip() == "" else []
    if a == b:
        return Sameness(True, ", ".join(empty))
    trimmed = [SURROUNDING_SPACES] if a != a.strip() or b != b.strip() else []
    a, b = a.strip(), b.strip()
    if a == b:
        return Sameness(True, ", ".join(trimmed + empty))
    by = _equivalence(a, b)
    return Sameness(True, ", ".join([*trimmed, by])) if by else Sameness(False)


def _equivalence(a: str, b: str) -> str:
    """The one equivalence under which two different, trimmed, non-empty texts are equal; "" if none."""
    if _same_truth(a, b):
        return BOOLEAN_SPELLING
    if (x := _decimal_digits(a)) is not None and x == _decimal_digits(b):
        return TRAILING_ZEROS
    if _GUID.fullmatch(a) and _GUID.fullmatch(b) and a.lower() == b.lower():
        return GUID_CASE
    if (t := _instant(a)) is not None and t == _instant(b):
        return SAME_INSTANT
    return ""


def spelling(value: object) -> str:
    """A scalar as the text an update would send (None as "", booleans as true/false, numbers in
    the digits read). A JSON number whose exponent is positive keeps it: only a float writes one."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        return str(value) if not value.is_finite() or (isinstance(exponent, int) and exponent > 0) else format(value, "f")
    return value if isinstance(value, str) else str(value)


def _same_truth(a: str, b: str) -> bool:
    """Two spellings of one boolean, or 1/0 against a spelling of the boolean it stands for."""
    if a in _TRUTH:
        return _TRUTH[a] == _TRUTH.get(b, _BIT.get(b))
    return a in _BIT and b in _TRUTH and _BIT[a] == _TRUTH[b]


def _decimal_digits(text: str) -> tuple[str, str, str] | None:
    """A plain decimal's sign, whole digits as written and fraction without its trailing zeros."""
    match = _PLAIN_DECIMAL.fullmatch(text)
    return (match[1], match[2], (match[3] or "").rstrip("0")) if match else None


def _instant(text: str) -> tuple[dt.datetime, Decimal] | None:
    """The moment an ISO date-time names, in UTC, to the second, and the fraction of a second after it."""
    match = _INSTANT.fullmatch(text)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = dt.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), tzinfo=_zone(zone))
    except ValueError:  # 2024-02-30, 25:00, an offset past a day
        return None
    return moment.astimezone(dt.timezone.utc), Decimal("0." + (fraction or "0"))


def _zone(zone: str | None) -> dt.timezone:
    if not zone or zone == "Z":
        return dt.timezone.utc
    digits = zone[1:].replace(":", "")
    offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    return dt.timezone(-offset if zone[0] == "-" else offset)


def _structured(value: object) -> bool:
    return isinstance(value, (dict, list, tuple))


def _same_structure(a: object, b: object) -> bool:
    """An object or a list is equal only to one of the same shape holding identical values."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_structure(a[key], b[key]) for key in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same_structure(x, y) for x, y in zip(a, b))
    if _structured(a) or _structured(b):
        return False
    return (a is None) == (b is None) and spelling(a) == spelling(b)
