"""The cell facts of an .xlsx/.xlsm sheet (see cell_facts.py), from its XML.

The facts are in the sheet's XML: `t="e"` marks an error cell, `<f>` a formula (with its
result in `<v>`, or none), `s="N"` the cell's format in styles.xml. Parsing every cell as
XML would double the time `check` takes on a big sheet, so the sheet is streamed in blocks
and a regular expression picks out only the cells that can hold a fact; most blocks of a
plain sheet are passed over after a substring test.
"""

from __future__ import annotations

import functools
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from html import unescape
from pathlib import Path

from .cell_facts import ErrorValue, Fact, NoSavedValue, PaddedNumber, RowFacts, ShownAs, is_na_formula
from .reach import Extent, cell_name, column_letters

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


# --- how far a sheet reaches, for extent.py ------------------------------------------------

SHARED_STRINGS = re.compile(rb"<(?:[\w.-]+:)?sst\b[^>]*?\suniqueCount\s*=\s*[\"']\s*([0-9]+)")
DIMENSION = re.compile(rb"<(?:[\w.-]+:)?dimension\b[^>]*?\sref\s*=\s*[\"']([^\"']*)[\"']")
SHEET_DATA = re.compile(rb"<(?:[\w.-]+:)?sheetData\b")
REFERENCE = re.compile(rb"([A-Za-z]*)([0-9]+)")
# The reference of a cell whose start tag begins `<c r="`: every cell of a sheet a program wrote.
PLAIN_REFERENCE = re.compile(rb'<c r="([A-Za-z]+)([0-9]+)"')
# A cell start tag that does not begin so.
NOT_PLAIN = re.compile(rb'<c(?! r=")[\s/>]')
# Start and end tags of rows and cells, any prefix, for a sheet whose cells are placed by counting.
PLACING_TAG = re.compile(rb"<(/?)(?:[\w.-]+:)?(row|c)(?=[\s/>])([^>]*?)(/?)>")
R_ATTRIBUTE = re.compile(rb"\sr\s*=\s*[\"']([^\"']*)[\"']")
PREFIXED_TAG = re.compile(rb"<[\w.-]+:c[\s/>]")
HEAD_BYTES = 1 << 20


def shared_strings_declared(path: Path) -> int:
    """The count of distinct strings the workbook declares (calamine reserves room for them on opening)."""
    with zipfile.ZipFile(path) as book:
        declared = 0
        for name in book.namelist():
            if name.lower().endswith("sharedstrings.xml"):
                with book.open(name) as part:
                    found = SHARED_STRINGS.search(part.read(HEAD_BYTES))
                declared = max(declared, int(found[1]) if found else 0)
        return declared


def xlsx_extents(path: Path, sheet_name: str) -> list[Extent]:
    """What the sheet's dimension declares, and how far its cells reach (see extent.py)."""
    with zipfile.ZipFile(path) as book:
        part, _ = _sheet_part(book, sheet_name)
        if part is None:
            raise KeyError(f"no part for the sheet {sheet_name!r}")
        part = {name.lower(): name for name in book.namelist()}.get(part.lower(), part)  # calamine finds parts whatever their case
        with book.open(part) as sheet:
            reach = _Reach()
            if not reach.by_reference(sheet):
                with book.open(part) as again:  # some cells have no reference: placed by counting, as calamine places them
                    reach = _Reach()
                    reach.by_position(again)
    extents = [reach.declared] if reach.declared is not None else []
    if reach.rows and reach.columns:
        extents.append(Extent(reach.rows, reach.columns, cell_name(reach.rows, reach.columns)))
    return extents


class _Reach:
    """The furthest row and column any cell of a sheet's XML is placed at (1-based), and its declared dimension."""

    def __init__(self) -> None:
        self.rows = self.columns = 0
        self.declared: Extent | None = None
        self._in_data = False

    def by_reference(self, sheet) -> bool:
        """The fast way: every cell's tag starts `<c r="`, so only references beyond the furthest yet are looked at,
        by a search that passes over the rest of the block in C. False when some cell is not written so."""
        for data in _tag_blocks(sheet):
            self._head(data)
            if not _plain_cells(data):
                return False
            last = data.rfind(b'<c r="')
            if last >= 0 and (found := PLAIN_REFERENCE.match(data, last)) is not None:
                self._cell(_row(found[2]), _column_of(found[1]))  # rows come in order: the block's last is usually its furthest
            self._beyond(data)
        return True

    def by_position(self, sheet) -> None:
        """The slow way, calamine's own: a cell without a reference is at the next column of the current row."""
        row = column = 0  # 0-based, as calamine counts
        for data in _tag_blocks(sheet):
            self._head(data)
            for closing, name, attributes, empty in PLACING_TAG.findall(data):
                reference = R_ATTRIBUTE.search(attributes)
                if name == b"row":
                    if closing:
                        row, column = row + 1, 0
                        continue
                    if reference and (place := REFERENCE.fullmatch(reference[1])):
                        row = _row(place[2]) - 1
                    if empty:  # <row/> is a start and an end
                        row, column = row + 1, 0
                elif not closing:
                    if reference and (place := REFERENCE.fullmatch(reference[1])) and place[1]:
                        row_at, column = _row(place[2]) - 1, _column_of(place[1]) - 1
                    else:
                        row_at = row
                    self._cell(row_at + 1, column + 1)
                    column += 1

    def _beyond(self, data: bytes) -> None:
        position = 0
        while (found := _beyond_pattern(self.rows, self.columns).search(data, position)) is not None:
            position = found.end()
            letters, digits = (found[1], found[2]) if found[1] else (found[3], found[4])
            self._cell(_row(digits), _column_of(letters))

    def _cell(self, row: int, column: int) -> None:
        self.rows, self.columns = max(self.rows, row), max(self.columns, column)

    def _head(self, data: bytes) -> None:
        """The dimension, declared before the cells (calamine reads it there)."""
        if self._in_data or self.declared is not None:
            return
        start = SHEET_DATA.search(data)
        found = DIMENSION.search(data, 0, start.start() if start else len(data))
        self._in_data = start is not None
        if found is None:
            return
        corners = [corner for part in found[1].split(b":") if (corner := REFERENCE.fullmatch(part)) is not None and corner[1]]
        if len(corners) in (1, 2) and len(corners) == found[1].count(b":") + 1:  # as calamine reads it; else it refuses the sheet
            first, last = corners[0], corners[-1]
            rows = _row(last[2]) - _row(first[2]) + 1
            columns = _column_of(last[1]) - _column_of(first[1]) + 1
            if rows > 0 and columns > 0:
                self.declared = Extent(rows, columns, found[1].decode("ascii", "replace").upper(), declared=True)


def _tag_blocks(sheet) -> Iterator[bytes]:
    """The sheet's XML in blocks cut after a `>`, so no start tag is split."""
    rest = b""
    while block := sheet.read(BLOCK):
        data = rest + block
        cut = data.rfind(b">") + 1 or len(data)
        rest = data[cut:]
        yield data[:cut]
    if rest:
        yield rest


def _plain_cells(data: bytes) -> bool:
    """Whether every cell start tag in the block begins `<c r="` (no prefix, the reference first).
    Counted first (a pass in C); a block with other tags starting `<c` (`<col>`) is searched."""
    if data.count(b"<c") != data.count(b'<c r="') and NOT_PLAIN.search(data):
        return False
    # A prefixed cell tag (`<x:c>`) is not counted above. (Rows don't matter here: every cell names its own.)
    return b":c" not in data or PREFIXED_TAG.search(data) is None


def _row(digits: bytes) -> int:
    return int(digits)


def _column_of(letters: bytes) -> int:
    """1-based: A -> 1, XFD -> 16384 (any case, as calamine reads it)."""
    return _column(letters.upper()) + 1


@functools.lru_cache(maxsize=64)
def _beyond_pattern(rows: int, columns: int) -> re.Pattern[bytes]:
    """A plain cell reference beyond `columns` (1-based), or beyond `rows`: one search for both."""
    letters = _above(column_letters(columns - 1) if columns else "", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", either_case=True)
    digits = _above(str(rows), "0123456789")
    # The lookahead for as many digits as `rows` has passes over most references at once (twice as fast).
    return re.compile(rb'<c r="(?:(' + letters + rb')([0-9]+)|([A-Za-z]++)(?=[0-9]{%d})(' % len(str(rows)) + digits + rb'))"')


def _above(text: str, alphabet: str, either_case: bool = False) -> bytes:
    """A pattern for the strings of `alphabet` that count beyond `text` (more places, or the same places and beyond
    at the first that differs). Leading zeros make a candidate too many, which the caller compares as numbers."""

    def span(first: str, last: str) -> str:
        return f"{first}-{last}" + (f"{first.lower()}-{last.lower()}" if either_case else "")

    def same(char: str) -> str:
        return f"[{char}{char.lower()}]" if either_case else char

    low, high = alphabet[0], alphabet[-1]
    choices = [f"[{span(low, high)}]{{{len(text) + 1},}}"]
    for place, char in enumerate(text):
        if char != high:
            following = alphabet[alphabet.index(char) + 1]
            rest = len(text) - place - 1
            choices.append("".join(map(same, text[:place])) + f"[{span(following, high)}]" + (f"[{span(low, high)}]{{{rest}}}" if rest else ""))
    return "|".join(choices).encode()
