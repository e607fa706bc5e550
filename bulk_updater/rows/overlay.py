"""The cell facts of a workbook (cell_facts.py) put into calamine's rows as both stream.

`read_facts` picks the format's reader (xlsx_facts.py, ods_facts.py, xls_facts.py); `merged`
overlays each row's facts on calamine's cells of the same row number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from .cell_facts import Fact, PaddedNumber, RowFacts, ShownAs


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
