"""The cell facts of a legacy .xls sheet (see cell_facts.py), through xlrd.

xlrd reads every cell's type (an error cell is XL_CELL_ERROR) and, with formatting_info,
its number format. It does not say whether an error came from a formula, so an #N/A in
an .xls can't be told from a failed lookup: such a cell makes its row invalid.
"""

from __future__ import annotations

from pathlib import Path

import xlrd

from .cell_facts import ErrorValue, Fact, PaddedNumber, RowFacts, ShownAs
from .xlsx_facts import format_kind, padding_width


def xls_facts(path: Path, sheet_name: str) -> RowFacts:
    book = xlrd.open_workbook(str(path), formatting_info=True, on_demand=True)
    try:
        sheet = book.sheet_by_name(sheet_name)
        kinds: dict[int, bool | None] = {}
        widths: dict[int, int | None] = {}
        for row in range(sheet.nrows):
            facts: dict[int, Fact] = {}
            for column, (kind, value) in enumerate(zip(sheet.row_types(row), sheet.row_values(row))):
                if kind == xlrd.XL_CELL_NUMBER:
                    xf = sheet.cell_xf_index(row, column)
                    if xf not in widths:
                        widths[xf] = padding_width(book.format_map[book.xf_list[xf].format_key].format_str)
                    if (width := widths[xf]) is not None:
                        facts[column] = PaddedNumber(width)
                elif kind == xlrd.XL_CELL_ERROR:
                    facts[column] = ErrorValue(xlrd.error_text_from_code.get(value, "#VALUE!"), origin_known=False)
                elif kind == xlrd.XL_CELL_DATE:
                    xf = sheet.cell_xf_index(row, column)
                    if xf not in kinds:
                        kinds[xf] = format_kind(book.format_map[book.xf_list[xf].format_key].format_str)
                    with_time = kinds[xf]
                    if with_time is not None and with_time == float(value).is_integer():
                        facts[column] = ShownAs(with_time)
            if facts:
                yield row + 1, facts
    finally:
        book.release_resources()
