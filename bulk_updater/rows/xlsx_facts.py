"""The cell facts of an .xlsx/.xlsm sheet (see cell_facts.py), from its XML.

The facts are in the sheet's XML: `t="e"` marks an error cell, `<f>` a formula (with its
result in `<v>`, or none), `s="N"` the cell's format in styles.xml. Parsing every cell as
XML would double the time `check` takes on a big sheet, so the sheet is streamed in blocks
and a regular expression picks out only the cells that can hold a fact; most blocks of a
plain sheet are passed over after a substring test.
"""

from __future__ import annotations

import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from html import unescape
from pathlib import Path

from .cell_facts import ErrorValue, Fact, NoSavedValue, PaddedNumber, RowFacts, ShownAs, is_na_formula

BLOCK = 4 << 20
# Built-in number formats that show a date (14-17) or a date and a time (22).
BUILTIN_DATES = {14: False, 15: False, 16: False, 17: False, 22: True}
RELATIONSHIPS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
ROW_END = re.compile(rb"</(?:\w+:)?row>")
CELL = rb"<(?:\w+:)?c\b%s([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)"
ALL_CELLS = re.compile(CELL % b"", re.S)
FORMULA = re.compile(rb"<(?:\w+:)?f\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?f>)", re.S)
VALUE = re.compile(rb"<(?:\w+:)?v>(.*?)</(?:\w+:)?v>", re.S)
REF = re.compile(rb'\br="([A-Z]+)([0-9]+)"')
STYLE = re.compile(rb'\bs="([0-9]+)"')
TYPE = re.compile(rb'\bt="(\w+)"')
SHARED_INDEX = re.compile(rb'\bsi="([0-9]+)"')
WHOLE = re.compile(rb"-?[0-9]+")
SPACES = b" \t\r\n"
# Parts of a format code that are not date or time letters: quoted text, escaped characters, [Red], [$-409].
FORMAT_NOISE = re.compile(r'"[^"]*"|\\.|_.|\*.|\[(?![hms]+\])[^\]]*\]')


def xlsx_facts(path: Path, sheet_name: str) -> RowFacts:
    with zipfile.ZipFile(path) as book:
        part, recomputes = _sheet_part(book, sheet_name)
        if part is None:
            return
        date_styles, padded_styles = _styles(book)
        try:
            with book.open(part) as sheet:
                yield from _Scan(date_styles, padded_styles, recomputes).blocks(sheet)
        except _NoCellReferences:
            # Rows already given are given again; the merge passes over rows it has gone by.
            with book.open(part) as sheet:
                yield from _Scan(date_styles, padded_styles, recomputes).by_position(sheet)


class _Scan:
    """Turns the interesting cells of each block of sheet XML into facts."""

    def __init__(self, date_styles: dict[int, bool], padded_styles: dict[int, int], recomputes: bool) -> None:
        self.date_styles = date_styles
        self.padded_styles = padded_styles
        # fullCalcOnLoad: the writer asks Excel to compute every formula on opening (xlsxwriter
        # writes 0 as every formula's result): the saved results can't be trusted.
        self.recomputes = recomputes
        self.shared: dict[bytes, str] = {}  # shared formula index -> the formula its first cell holds
        styles = b"|".join(str(s).encode() for s in sorted({*date_styles, *padded_styles}))
        # The attributes that mark a cell worth a look; found by a plain search, then the cell around each is read.
        self.marks = re.compile(rb't="e"' + (rb'|s="(?:' + styles + rb')"' if styles else b""))
        self.style_marks = [b's="%d"' % s for s in {*date_styles, *padded_styles}]

    def blocks(self, sheet) -> Iterator[tuple[int, dict[int, Fact]]]:
        rest = b""
        while True:
            block = sheet.read(BLOCK)
            data = rest + block
            if block:
                ends = list(ROW_END.finditer(data, max(0, len(data) - (1 << 16))))
                cut = ends[-1].end() if ends else _last_row_end(data)
                data, rest = data[:cut], data[cut:]
            yield from self._rows(data)
            if not block:
                return

    def by_position(self, sheet) -> Iterator[tuple[int, dict[int, Fact]]]:
        """The slow way, for a writer that leaves out cell references: parse every cell, count places."""
        number = 0
        for _, element in ET.iterparse(sheet):
            if element.tag.rpartition("}")[2] != "row":
                continue
            number = int(element.get("r", number + 1))
            facts: dict[int, Fact] = {}
            column = -1
            for cell in element:
                ref = cell.get("r")
                found = REF.search(b'r="%s"' % ref.encode()) if ref else None
                column = _column(found[1]) if found else column + 1
                xml = ET.tostring(cell)
                attributes, _, inner = xml.partition(b">")
                if (fact := self._fact(attributes, inner)) is not None:
                    facts[column] = fact
            element.clear()
            if facts:
                yield number, facts

    def _rows(self, data: bytes) -> Iterator[tuple[int, dict[int, Fact]]]:
        has_formulas = b"<f" in data or b":f>" in data or b":f " in data
        if not has_formulas and b't="e"' not in data and not any(mark in data for mark in self.style_marks):
            return
        row, facts = 0, {}  # type: tuple[int, dict[int, Fact]]
        for match in ALL_CELLS.finditer(data) if has_formulas else self._marked_cells(data):
            ref = REF.search(match[1])
            fact = self._fact(match[1], match[2] or b"")
            if fact is None:
                continue
            if ref is None:
                raise _NoCellReferences()
            number = int(ref[2])
            if number != row and facts:
                yield row, facts
                facts = {}
            row = number
            facts[_column(ref[1])] = fact
        if facts:
            yield row, facts

    def _marked_cells(self, data: bytes) -> Iterator[re.Match]:
        """The cells whose start tag holds a mark, in order: each mark's `<c` is the last `<` before it."""
        end = 0
        for mark in self.marks.finditer(data):
            if mark.start() < end or data[mark.start() - 1] not in SPACES:
                continue  # a second mark in the same cell, or the end of another attribute's name
            cell = ALL_CELLS.match(data, data.rfind(b"<", 0, mark.start()))
            if cell is not None:
                end = cell.end()
                yield cell

    def _fact(self, attributes: bytes, inner: bytes) -> Fact | None:
        typed = TYPE.search(attributes)
        kind = typed[1] if typed else b"n"
        value = VALUE.search(inner)
        formula = FORMULA.search(inner)
        if formula is not None:
            text = self._formula_text(formula)
            if is_na_formula(text):
                return ErrorValue("#N/A", text)
            if value is None or not value[1] or self.recomputes:
                return NoSavedValue(text)
        if kind == b"e":
            return ErrorValue(unescape(value[1].decode()) if value else "#N/A", self._formula_text(formula) if formula else None)
        style = STYLE.search(attributes)
        if style is None or kind != b"n" or value is None:
            return None
        if (width := self.padded_styles.get(int(style[1]))) is not None:
            return PaddedNumber(width)
        with_time = self.date_styles.get(int(style[1]))
        if with_time is None:
            return None
        whole = WHOLE.fullmatch(value[1].strip()) is not None
        if with_time == whole:  # midnight under a date-time format, or a time under a date format
            return ShownAs(with_time)
        return None

    def _formula_text(self, formula: re.Match) -> str:
        text = unescape((formula[2] or b"").decode())
        index = SHARED_INDEX.search(formula[1])
        if index is not None:
            if text:
                self.shared[index[1]] = text
            else:
                text = self.shared.get(index[1], "")
        return text


class _NoCellReferences(Exception):
    """A cell without its `r="D7"`: the scan can't place it (see xlsx_facts)."""


def _last_row_end(data: bytes) -> int:
    ends = list(ROW_END.finditer(data))
    return ends[-1].end() if ends else 0


def _column(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number - 1


def _sheet_part(book: zipfile.ZipFile, sheet_name: str) -> tuple[str | None, bool]:
    """The sheet's XML part, and whether the workbook asks for every formula to be computed on opening."""
    workbook = ET.fromstring(book.read("xl/workbook.xml"))
    calc = workbook.find("{*}calcPr")
    recomputes = calc is not None and calc.get("fullCalcOnLoad", "0").lower() in ("1", "true")
    relation = next((s.get(RELATIONSHIPS) for s in workbook.iterfind(".//{*}sheet") if s.get("name") == sheet_name), None)
    rels = ET.fromstring(book.read("xl/_rels/workbook.xml.rels"))
    target = next((r.get("Target") for r in rels.iterfind("{*}Relationship") if r.get("Id") == relation), None)
    if target is None:
        return None, recomputes
    part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
    return part, recomputes


def _styles(book: zipfile.ZipFile) -> tuple[dict[int, bool], dict[int, int]]:
    """Cell format index -> True for a date-time format, False for a date-only one; and
    cell format index -> width for a zero-padding format (`00000`, Excel's "Zip Code")."""
    try:
        styles = ET.fromstring(book.read("xl/styles.xml"))
    except KeyError:
        return {}, {}
    custom = {int(f.get("numFmtId", -1)): f.get("formatCode", "") for f in styles.iterfind(".//{*}numFmt")}
    kinds: dict[int, bool] = {}
    padded: dict[int, int] = {}
    cell_formats = styles.find("{*}cellXfs")
    for index, xf in enumerate(cell_formats.iterfind("{*}xf") if cell_formats is not None else ()):
        number_format = int(xf.get("numFmtId", 0))
        kind = format_kind(custom[number_format]) if number_format in custom else BUILTIN_DATES.get(number_format)
        if kind is not None:
            kinds[index] = kind
        elif (width := padding_width(custom.get(number_format, ""))) is not None:
            padded[index] = width
    return kinds, padded


def padding_width(code: str) -> int | None:
    """`00000` -> 5: a format that shows a whole number with leading zeros; None for any other."""
    code = code.split(";")[0].strip()
    return len(code) if len(code) >= 2 and set(code) == {"0"} else None


def format_kind(code: str) -> bool | None:
    """True: shows a date and a time; False: a date only; None: no date (a number, a time, text)."""
    letters = FORMAT_NOISE.sub("", code.split(";")[0]).lower()
    has_date = "y" in letters or "d" in letters
    has_time = "h" in letters or "s" in letters or "am/pm" in letters
    if not has_date:
        return None
    return has_time
