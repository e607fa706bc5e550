"""The cell facts of a legacy .xls sheet (see cell_facts.py), through xlrd.

xlrd reads every cell's type (an error cell is XL_CELL_ERROR) and, with formatting_info,
its number format. It does not say whether an error came from a formula, so an #N/A in
an .xls can't be told from a failed lookup: such a cell makes its row invalid.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from pathlib import Path

import xlrd
from xlrd import compdoc

from .cell_facts import ErrorValue, Fact, PaddedNumber, RowFacts, ShownAs
from .reach import Extent, cell_name, column_letters
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


# --- how far each sheet reaches, for extent.py -------------------------------------------
# calamine reads every sheet of an .xls when it opens it: it reserves each sheet's declared
# dimension (DIMENSIONS record), then builds the block its cell records reach.

EOF_RECORD, BOF, BOUNDSHEET, DIMENSIONS, FILEPASS, MULRK = 0x000A, 0x0809, 0x0085, 0x0200, 0x002F, 0x00BD
CELL_RECORDS = {0x0203, 0x0204, 0x00D6, 0x0205, 0x027E, 0x00FD, 0x0006}  # number, label, rich label, bool/error, RK, shared label, formula
U32 = 1 << 32


def xls_extents(path: Path) -> Iterator[tuple[str, Extent]]:
    """(sheet, extent) for what each sheet's dimension declares and how far its cells reach."""
    stream = _workbook_stream(path)
    for position, name in _sheets(stream):
        yield from ((name, extent) for extent in _sheet_extents(stream, position))


def _workbook_stream(path: Path) -> bytes:
    data = path.read_bytes()
    if data[:8] != compdoc.SIGNATURE:
        return b""  # not a compound document: calamine refuses it
    try:
        document = compdoc.CompDoc(data, logfile=io.StringIO())
        for name in ("Workbook", "Book"):
            mem, base, size = document.locate_named_stream(name)
            if mem:
                return bytes(mem[base:base + size])
    except compdoc.CompDocError as exc:
        raise ValueError(f"a damaged compound document: {exc}") from None
    return b""


def _records(stream: bytes, position: int = 0) -> Iterator[tuple[int, bytes]]:
    while position + 4 <= len(stream):
        kind, length = struct.unpack_from("<HH", stream, position)
        yield kind, stream[position + 4:position + 4 + length]
        position += 4 + length


def _sheets(stream: bytes) -> list[tuple[int, str]]:
    sheets = []
    for kind, data in _records(stream):
        if kind == FILEPASS and data[:2] != b"\0\0":
            return []  # encrypted: calamine refuses it (a password)
        if kind == BOUNDSHEET and len(data) >= 8:
            sheets.append((struct.unpack_from("<I", data)[0], _sheet_name(data[6:])))
        elif kind == EOF_RECORD:
            break
    return sheets


def _sheet_name(data: bytes) -> str:
    count = data[0]
    if len(data) > 1 and data[1] in (0, 1) and len(data) in (2 + count, 2 + 2 * count):  # BIFF8: a flags byte, then 8- or 16-bit characters
        return data[2:].decode("utf-16-le" if data[1] else "latin-1", "replace")
    return data[1:1 + count].decode("cp1252", "replace")


def _sheet_extents(stream: bytes, position: int) -> list[Extent]:
    extents: list[Extent] = []
    rows = columns = 0
    depth, started = 0, False
    for kind, data in _records(stream, position):
        if depth:  # an embedded chart's records: calamine passes over them
            depth += {BOF: 1, EOF_RECORD: -1}.get(kind, 0)
            continue
        if kind == BOF:
            depth, started = (1, started) if started else (0, True)
        elif kind == EOF_RECORD:
            break
        elif kind == DIMENSIONS and len(data) in (10, 14):
            extents.append(_declared(data))
        elif kind in CELL_RECORDS and len(data) >= 4:
            row, column = struct.unpack_from("<HH", data)
            rows, columns = max(rows, row + 1), max(columns, column + 1)
        elif kind == MULRK and len(data) >= 6:
            row, = struct.unpack_from("<H", data)
            last, = struct.unpack_from("<H", data, len(data) - 2)
            rows, columns = max(rows, row + 1), max(columns, last + 1)
    if rows and columns:
        extents.append(Extent(rows, columns, cell_name(rows, columns)))
    return extents


def _declared(data: bytes) -> Extent:
    """calamine's reading of a DIMENSIONS record, its unsigned 32-bit sums wrapping as they do."""
    first_row, last_row, first_column, last_column = struct.unpack_from("<HHHH" if len(data) == 10 else "<IIHH", data)
    if first_column > 0xFF or last_column < first_column:
        first_column = 0
    end = (last_row - 1, last_column - 1) if last_row >= 1 and last_column >= 1 else (first_row, first_column)
    rows = ((end[0] - first_row) % U32 + 1) % U32
    columns = ((end[1] - first_column) % U32 + 1) % U32
    reach = f"{column_letters(first_column)}{first_row + 1}:{column_letters(end[1] % U32)}{end[0] % U32 + 1}"
    return Extent(rows, columns, reach, declared=True)
