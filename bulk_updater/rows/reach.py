"""How far a sheet reaches, and Excel's names for its cells: what extent.py checks and each format's
facts reader (xlsx_facts.py, ods_facts.py, xls_facts.py) measures, below both so neither imports the other back."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Extent:
    """How far a sheet reaches: `rows` x `columns` cells from A1, as the file declares it or its cells place it."""

    rows: int
    columns: int
    reach: str  # as Excel names it: the furthest cell (XFD1048576), or the range the sheet declares (A1:XFD1048576)
    declared: bool = False  # from the sheet's own dimension, not from its cells

    @property
    def cells(self) -> int:
        return self.rows * self.columns


def column_letters(index: int) -> str:
    """0 -> A, 16383 -> XFD."""
    letters = ""
    index += 1
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def cell_name(rows: int, columns: int) -> str:
    """The name of the cell `rows` down and `columns` across: (1048576, 16384) -> XFD1048576."""
    return f"{column_letters(columns - 1)}{rows}"
