"""What calamine can't say about a workbook cell, read from the file itself.

calamine reads an error cell (`#N/A`, `#REF!`) and a formula with no saved value as "",
and a date-time at exactly midnight as a date. Each would be sent as something the sheet
does not show. The format readers (xlsx_facts.py, ods_facts.py, xls_facts.py) find those
cells in one streaming pass, and overlay.py puts the facts into calamine's row. Here: the
facts themselves, which the readers make and the overlay reads (no import back to either).

Facts come as (row number, {0-based column: fact}) in row order, only for rows that have one,
so they can be merged with calamine's rows as both stream.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

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
