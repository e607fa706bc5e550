"""What calamine can't say about a workbook cell, read from the file itself.

calamine reads an error cell (`#N/A`, `#REF!`) and a formula with no saved value as "",
and a date-time at exactly midnight as a date. Each would be sent as something the sheet
does not show. The format readers (xlsx_facts.py, ods_facts.py, xls_facts.py) find those
cells in one streaming pass, and `overlay` puts the facts into calamine's row.

Facts come as (row number, {0-based column: fact}) in row order, only for rows that have one,
so they can be merged with calamine's rows as both stream.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

NA = "#N/A"


@dataclass(frozen=True)
class ErrorValue:
    """A cell showing an error value, typed (`formula` None) or computed by a formula."""

    code: str
    formula: str | None = None
    # False: the file does not say whether a formula made it (.xls), so it can't be taken as typed.
    origin_known: bool = True

    @property
    def means_clear(self) -> bool:
        """A typed #N/A or =NA(): the admin wrote "no value" on purpose. A failed lookup's #N/A is not that."""
        return self.code == NA and self.origin_known and (self.formula is None or is_na_formula(self.formula))


@dataclass(frozen=True)
class NoSavedValue:
    """A formula whose result the file does not hold (a script wrote it; no spreadsheet computed it)."""

    formula: str


@dataclass(frozen=True)
class ShownAs:
    """A date-time the cell's format shows otherwise than calamine reads it.

    `with_time`: a date-time format on a whole-day value (midnight), which calamine reads as a date.
    Otherwise a date-only format on a value with a time of day: the sheet shows only the date.
    """

    with_time: bool


@dataclass(frozen=True)
class PaddedNumber:
    """A whole number under a format that pads it with zeros (`00000`: 7 shows as 00007)."""

    width: int


Fact = ErrorValue | NoSavedValue | ShownAs | PaddedNumber
RowFacts = Iterator[tuple[int, dict[int, Fact]]]


def is_na_formula(formula: str) -> bool:
    """A formula that can only mean "no value": =NA(), or the error constant alone, =#N/A.

    LibreOffice saves such a cell as the formula `of:=#N/A` with an error result (7.4 does so for
    `=#N/A`; a plain `#N/A` typed there it keeps as text, which is the clear token). Either is
    as deliberate as Excel's typed error cell, unlike a lookup whose result is #N/A.
    """
    return formula.strip().lstrip("=").replace(" ", "").upper() in ("NA()", "_XLFN.NA()", "OF:=NA()", NA, "OF:=" + NA)


def read_facts(path: Path, sheet_name: str) -> RowFacts:
    """The facts of `sheet_name` in `path`, by format (suffix)."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        from .xlsx_facts import xlsx_facts

        return xlsx_facts(path, sheet_name)
    if suffix == ".ods":
        from .ods_facts import ods_facts

        return ods_facts(path, sheet_name)
    if suffix == ".xls":
        from .xls_facts import xls_facts

        return xls_facts(path, sheet_name)
    return iter(())


def overlay(cells: list[object], facts: dict[int, Fact]) -> FactRow:
    """calamine's cells of one row, with what the file says about some of them put in."""
    cells = FactRow(cells)
    for column, fact in facts.items():
        if column >= len(cells):
            cells.extend([""] * (column + 1 - len(cells)))
        value = cells[column]
        if isinstance(fact, ShownAs):
            cells[column] = _shown(value, fact)
        elif isinstance(fact, PaddedNumber):
            cells[column] = _padded(value, fact.width)
        else:
            cells[column] = fact
    return cells


def _padded(value: object, width: int) -> object:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer() and value >= 0:
        return str(int(value)).zfill(width)  # text from here on: sent as the sheet shows it
    return value


def _shown(value: object, fact: ShownAs) -> object:
    if fact.with_time and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time())
    if not fact.with_time and isinstance(value, dt.datetime):
        return value.date()
    return value


class FactRow(list):
    """A row of cells some of which are facts: the reader looks closer only at these rows."""


def merged(rows: Iterator[tuple[int, list[object]]], facts: RowFacts) -> Iterator[tuple[int, list[object]]]:
    """calamine's rows with the facts of the same row numbers put in; both come in row order."""
    pending = next(facts, None)
    for number, cells in rows:
        while pending is not None and pending[0] < number:
            pending = next(facts, None)
        if pending is not None and pending[0] == number:
            cells = overlay(cells, pending[1])
        yield number, cells
