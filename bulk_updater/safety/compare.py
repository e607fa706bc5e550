"""Whether a value read back from LeadSquared is the value that was sent.

LeadSquared may store a value in its own form: surrounding spaces trimmed, a date-time
rewritten in another format, a number with another number of decimals. Those are not
changes. So two values are the same when, after trimming, they are equal as text, or both
read as the same instant, or both read as the same number. An absent field is empty.
Verify and undo's "changed since the run" check use this one comparison.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

# Date-time forms LeadSquared and spreadsheets write; naive ones are UTC (what the API takes).
_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S.%f%z",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
)
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def same_value(sent: object, now: object) -> bool:
    a, b = _text(sent).strip(), _text(now).strip()
    if a == b:
        return True
    if (x := _number(a)) is not None and (y := _number(b)) is not None:
        return x == y
    if (t := _instant(a)) is not None and (u := _instant(b)) is not None:
        return t == u
    return False


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _number(text: str) -> Decimal | None:
    if not _NUMBER.fullmatch(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _instant(text: str) -> dt.datetime | None:
    text = text.replace("Z", "+0000") if text.endswith("Z") else text
    for fmt in _DATE_FORMATS:
        try:
            moment = dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
    return None
