"""Read a CSV or Excel sheet into `Row`s whose cells are the text the admin sees.

This is the only module that knows about pandas and file formats. Rows are streamed
in chunks, so memory does not grow with the file.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import InputError

ACTIVITY_ID = "CompanyActivityId"
NOTE = "ActivityNote"
RESERVED = (ACTIVITY_ID, NOTE)
CSV_SUFFIXES = {".csv"}
EXCEL_SUFFIXES = {".xlsx"}
CHUNK_ROWS = 20_000
HEADER_ROW = 1


@dataclass(frozen=True)
class Row:
    """One data row. `number` is the row a spreadsheet shows for it (the header is row 1)."""

    number: int
    cells: dict[str, str]
    # The `_` columns of a report fed back as input (`_row`, `_outcome`...): never sent.
    meta: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Sheet:
    """An opened input: its usable columns, and a way to stream its rows (more than once)."""

    path: Path
    columns: list[str]
    # Positions in the raw record of each usable column; `_` and unnamed columns are left out.
    positions: list[int]
    meta_columns: dict[str, int] = field(default_factory=dict)

    def rows(self) -> Iterator[Row]:
        """Yield the data rows in file order; fully blank rows are passed over."""
        for number, record in _records(self.path, first_row=HEADER_ROW + 1):
            cells = {name: _cell(record, pos) for name, pos in zip(self.columns, self.positions)}
            if any(value.strip() for value in cells.values()):
                meta = {name: _cell(record, pos) for name, pos in self.meta_columns.items()}
                yield Row(number, cells, meta)


def open_sheet(path: str | Path) -> Sheet:
    """Open `path`, check its header, and return a `Sheet`. Raises InputError if unusable."""
    path = Path(path)
    _check_file(path)
    header = next(_records(path, first_row=HEADER_ROW, header_only=True), None)
    if header is None:
        raise InputError("the file is empty", where=str(path), hint="Export the sheet again with a header row.")
    names = [cell_text(name).strip() for name in header]
    columns, positions = _usable_columns(path, names)
    meta = {name: pos for pos, name in enumerate(names) if name.startswith("_")}
    return Sheet(path, columns, positions, meta)


def _check_file(path: Path) -> None:
    if not path.exists():
        raise InputError("no such file", where=str(path), hint="Check the path and try again.")
    if path.is_dir():
        raise InputError("this is a folder, not a file", where=str(path), hint="Give the path of a .csv or .xlsx file.")
    if path.suffix.lower() not in CSV_SUFFIXES | EXCEL_SUFFIXES:
        raise InputError(
            f"unknown file type {path.suffix or '(none)'!r}",
            where=str(path),
            hint="Save the sheet as .csv or .xlsx.",
        )


def _usable_columns(path: Path, header: list[str]) -> tuple[list[str], list[int]]:
    columns: list[str] = []
    positions: list[int] = []
    for pos, raw in enumerate(header):
        name = _canonical(raw)
        if not name or name.startswith("_"):
            continue  # report columns (_row, _outcome...) and unnamed spacer columns
        if name in columns:
            raise InputError(
                f"the column {name!r} appears twice in the header",
                where=f"{path}, row {HEADER_ROW}",
                hint="Rename or delete one of them.",
            )
        columns.append(name)
        positions.append(pos)
    if ACTIVITY_ID not in columns:
        raise InputError(
            f"there is no {ACTIVITY_ID} column",
            where=f"{path}, row {HEADER_ROW}",
            hint=f"Add a column named {ACTIVITY_ID} holding each activity's id.",
        )
    return columns, positions


def _canonical(name: str) -> str:
    """Reserved column names are matched ignoring case; activity fields are kept as written."""
    for reserved in RESERVED:
        if name.lower() == reserved.lower():
            return reserved
    return name


def _records(path: Path, first_row: int, header_only: bool = False) -> Iterator[tuple[int, tuple]]:
    """Yield (row number, raw record) from `first_row` on, or the header record alone."""
    frames = _csv_frames(path) if path.suffix.lower() in CSV_SUFFIXES else _excel_frames(path)
    number = 0
    for frame in frames:
        for record in frame.itertuples(index=False, name=None):
            number += 1
            if header_only:
                yield record
                return
            if number >= first_row:
                yield number, record


def _csv_frames(path: Path) -> Iterator[pd.DataFrame]:
    try:
        # Every cell is text exactly as written: no "NA" -> NaN, no "007" -> 7.
        reader = pd.read_csv(
            path,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            encoding="utf-8-sig",
            chunksize=CHUNK_ROWS,
        )
        with reader:
            yield from reader
    except pd.errors.EmptyDataError:
        return
    except pd.errors.ParserError as exc:
        raise InputError(f"the file can't be read as CSV ({exc})", where=str(path), hint="Check the quoting and the number of cells on that line.") from None
    except UnicodeDecodeError:
        raise InputError("the file is not UTF-8 text", where=str(path), hint="Save it again as 'CSV UTF-8'.") from None


def _excel_frames(path: Path) -> Iterator[pd.DataFrame]:
    try:
        yield pd.read_excel(path, header=None, dtype=object, sheet_name=0, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for a bad workbook
        raise InputError(f"the workbook can't be opened ({type(exc).__name__})", where=str(path), hint="Open it in Excel and save it again as .xlsx.") from None


def _cell(record: tuple, pos: int) -> str:
    value = record[pos] if pos < len(record) else ""
    return cell_text(value)


def cell_text(value: object) -> str:
    """The text a spreadsheet shows for a typed cell."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    return str(value)
