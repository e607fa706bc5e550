"""The cell facts of an .ods sheet (see cell_facts.py), from its content.xml.

An error cell carries `calcext:value-type="error"`, its formula and the shown text
(`#N/A`); a midnight date-time carries `office:date-value="2024-03-01"` with no time, and
a style whose data style shows hours. The file is streamed (iterparse), row by row.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from pathlib import Path

from .cell_facts import ErrorValue, Fact, NoSavedValue, RowFacts, ShownAs, is_na_formula
from .reach import Extent, cell_name

TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
STYLE = "{urn:oasis:names:tc:opendocument:xmlns:style:1.0}"
NUMBER = "{urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0}"
CALCEXT = "{urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0}"
TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
CELLS = (TABLE + "table-cell", TABLE + "covered-table-cell")
TIME_PARTS = (NUMBER + "hours", NUMBER + "seconds", NUMBER + "am-pm")


def ods_facts(path: Path, sheet_name: str) -> RowFacts:
    with zipfile.ZipFile(path) as book:
        sheet = _Sheet(sheet_name)
        sheet.read_styles(book)
        with book.open("content.xml") as content:
            yield from sheet.facts(content)


class _Sheet:
    def __init__(self, name: str) -> None:
        self.name = name
        self.data_styles: dict[str, bool] = {}  # data style name -> shows a time
        self.cell_styles: dict[str, str] = {}  # cell style name -> data style name
        self.column_styles: list[str] = []  # each column's default cell style

    def read_styles(self, book: zipfile.ZipFile) -> None:
        """The named styles of styles.xml; content.xml's automatic ones are read as it streams."""
        try:
            root = ET.fromstring(book.read("styles.xml"))
        except KeyError:
            return
        for element in root.iter():
            self._style(element)

    def _style(self, element: ET.Element) -> None:
        name, data_style = element.get(STYLE + "name", ""), element.get(STYLE + "data-style-name")
        if element.tag == STYLE + "style" and data_style:
            self.cell_styles[name] = data_style
        elif element.tag == NUMBER + "date-style":
            self.data_styles[name] = any(part.tag in TIME_PARTS for part in element)

    def facts(self, content) -> RowFacts:
        inside, row = False, 0
        for event, element in ET.iterparse(content, events=("start", "end")):
            tag = element.tag
            if event == "start":
                if tag == TABLE + "table":
                    inside = element.get(TABLE + "name") == self.name
                continue
            if not inside:
                self._style(element)
            if inside and tag == TABLE + "table-column":
                repeat = int(element.get(TABLE + "number-columns-repeated", 1))
                self.column_styles += [element.get(TABLE + "default-cell-style-name", "")] * min(repeat, 16384)
            elif inside and tag == TABLE + "table-row":
                facts = self._row(element)
                if facts:
                    yield row + 1, facts
                row += int(element.get(TABLE + "number-rows-repeated", 1))
                element.clear()
            elif tag == TABLE + "table":
                if inside:
                    return
                element.clear()

    def _row(self, row: ET.Element) -> dict[int, Fact]:
        facts: dict[int, Fact] = {}
        column = 0
        for cell in row:
            if cell.tag not in CELLS:
                continue
            if (fact := self._fact(cell, column)) is not None:
                facts[column] = fact
            column += int(cell.get(TABLE + "number-columns-repeated", 1))
        return facts

    def _fact(self, cell: ET.Element, column: int) -> Fact | None:
        formula = cell.get(TABLE + "formula")
        kind = cell.get(OFFICE + "value-type")
        if formula is not None:
            formula = formula.split(":", 1)[1] if formula.startswith(("of:", "oooc:", "msoxl:")) else formula
            formula = formula.lstrip("=")
            if is_na_formula(formula):
                return ErrorValue("#N/A", formula)
        if cell.get(CALCEXT + "value-type") == "error":
            paragraph = cell.find(TEXT + "p")
            shown = "".join(paragraph.itertext()) if paragraph is not None else "#N/A"
            return ErrorValue(shown.strip() or "#N/A", formula)
        if formula is not None and kind is None:
            return NoSavedValue(formula)
        if kind != "date":
            return None
        style = cell.get(TABLE + "style-name") or (self.column_styles[column] if column < len(self.column_styles) else "")
        with_time = self.data_styles.get(self.cell_styles.get(style, ""))
        value = cell.get(OFFICE + "date-value", "")
        midnight = "T" not in value or value.endswith("T00:00:00")
        if with_time is not None and with_time == midnight:
            return ShownAs(with_time)
        return None



# --- how far each sheet reaches, for extent.py ---------------------------------------------
# calamine reads every sheet of an .ods when it opens it. A cell or row repeated N times is N
# cells or rows; trailing empty ones (LibreOffice writes a row repeated a million times at
# the end of every sheet) are left out, as calamine leaves them out.


def ods_extents(path: Path) -> Iterator[tuple[str, Extent]]:
    with zipfile.ZipFile(path) as book, book.open("content.xml") as content:
        name, row, rows, columns = "", 0, 0, 0
        for event, element in ET.iterparse(content, events=("start", "end")):
            tag = element.tag
            if event == "start":
                if tag == TABLE + "table":
                    name, row, rows, columns = element.get(TABLE + "name", ""), 0, 0, 0
                continue
            if tag == TABLE + "table-row":
                repeated = _repeated(element, "number-rows-repeated")
                if reach := _row_reach(element):
                    rows, columns = row + repeated, max(columns, reach)
                row += repeated
                element.clear()
            elif tag == TABLE + "table":
                if rows and columns:
                    yield name, Extent(rows, columns, cell_name(rows, columns))
                element.clear()


def _row_reach(row: ET.Element) -> int:
    """The columns up to the row's last cell that holds anything (a value, a formula, text)."""
    column = reach = 0
    for cell in row:
        if cell.tag not in CELLS:
            continue
        repeated = _repeated(cell, "number-columns-repeated")
        if len(cell) or any(key in cell.attrib for key in (OFFICE + "value-type", TABLE + "formula", CALCEXT + "value-type")):
            reach = column + repeated
        column += repeated
    return reach


def _repeated(element: ET.Element, attribute: str) -> int:
    try:
        return max(int(element.get(TABLE + attribute, 1)), 1)
    except ValueError:
        return 1
