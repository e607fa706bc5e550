"""Typed spreadsheet cells -> the text the admin sees in them.

Workbook cells arrive typed (calamine gives every number as a float, dates as
`date`/`datetime`, booleans as `bool`); LeadSquared takes every value as a string, so
each becomes the text a spreadsheet shows for it. Text cells are never touched.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

LEADSQUARED_DATETIME = "%Y-%m-%d %H:%M:%S"
LEADSQUARED_DATE = "%Y-%m-%d"
# Excel keeps 15 significant digits; more would show float noise (0.1 + 0.2 -> 0.30000000000000004).
EXCEL_DIGITS = 15
# Whole numbers below this have at most 15 digits, so they print exactly as they are.
EXACT_WHOLE = 10**EXCEL_DIGITS
HALF_SECOND = dt.timedelta(microseconds=500_000)


def cell_text(value: object, timezone: dt.tzinfo | None = None) -> str:
    """The text for `value`. `timezone` is where the sheet's date-times were written; they become UTC."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _number_text(value)
    if isinstance(value, dt.datetime):
        return _datetime_text(value, timezone)
    if isinstance(value, dt.date):
        # A date has no time of day, so there is nothing to shift to UTC.
        return value.strftime(LEADSQUARED_DATE)
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, dt.timedelta):
        return _duration_text(value)
    return str(value)


def _number_text(value: float) -> str:
    """Plain digits, at most Excel's 15 significant ones, never an exponent: 12.0 -> "12",
    1.23456789012345e18 -> "1234567890123450000" (not ...112), 1e-05 -> "0.00001"."""
    if math.isnan(value) or math.isinf(value):
        return ""
    if value.is_integer() and abs(value) < EXACT_WHOLE:
        return str(int(value))  # the common case, fast: calamine reads every number as a float
    text = format(Decimal(f"{value:.{EXCEL_DIGITS}g}"), "f")
    return "0" if text == "-0" else text


def _datetime_text(value: dt.datetime, timezone: dt.tzinfo | None) -> str:
    if value.microsecond:
        # Excel stores times as fractions of a day, so 14:15:07 may come back as 14:15:06.999999.
        value = value + HALF_SECOND
    if timezone is not None and value.tzinfo is None:
        value = value.replace(tzinfo=timezone).astimezone(dt.timezone.utc)
    return value.strftime(LEADSQUARED_DATETIME)


def _duration_text(value: dt.timedelta) -> str:
    seconds = round(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    hours, rest = divmod(abs(seconds), 3600)
    return f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"
