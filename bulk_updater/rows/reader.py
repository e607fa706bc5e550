"""Open a sheet (delimited text or a workbook) into `Row`s whose cells are the text the admin sees.

This package is the only place that knows file formats: delimited.py (csv, tsv, txt),
workbook.py (xlsx, xlsm, xls, ods), cells.py (typed cells -> text), mapping.py (--map).
Here: the header (which column is which), and rows streamed from either kind of file.
"""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .. import notes
from ..errors import InputError
from ..option_spec import READ, READING
from ..option_spec import option as declared_option  # (`option` names a flag below)
from . import delimited, mixed_lines, workbook
from .cell_facts import ErrorValue, NoSavedValue
from .cells import cell_text
from .mapping import ColumnMap, load_map
from .overlay import FactRow

ACTIVITY_ID = "CompanyActivityId"
NOTE = "ActivityNote"
RESERVED = (ACTIVITY_ID, NOTE)
# The activity's own attributes, as RetrieveById answers them beside ActivityFields: no Update body
# sets them. A column so named would be sent as a SchemaName, and verify would compare it with a
# field that isn't there. (Documented: ActivityDateTime, ActivityEvent, CreatedOn, ModifiedOn,
# RelatedCompanyId; the usual companions of such answers too. Owner and Status are fields.)
NOT_FIELDS = (
    "ActivityDateTime", "ActivityEvent", "ActivityEventNote", "CreatedOn", "CreatedBy", "ModifiedOn", "ModifiedBy", "RelatedCompanyId", "Id",
)


def _absolute(path: str | Path | None) -> str | None:
    # Absolute, so that `resume DIR` finds the file from any folder.
    return os.path.abspath(path) if path is not None else None


@dataclass(frozen=True)
class ReadOptions:
    """How to read the input, as the admin gave it (None: find out / the default).

    The first five fields are read-class options (option_spec.py): recorded in run.json, and a
    later command on the same run folder that reads differently is refused.
    """

    sheet: str | None = declared_option(
        READ, "--sheet", "the workbook's sheet to read, by name or number from 1; ignored for text files", default=None, metavar="NAME|N",
        shown="the first", group=READING,
    )
    encoding: str | None = declared_option(
        READ, "--encoding", "the text file's encoding, e.g. utf-8, utf-16, cp1252; ignored for workbooks", default=None, metavar="NAME",
        shown="found from the file", group=READING,
    )
    delimiter: str | None = declared_option(
        READ, "--delimiter", "the text file's separator: comma, semicolon, tab, or the character; ignored for workbooks", default=None, metavar="SEP",
        shown="found from the header", group=READING,
    )
    # Where the sheet's date-time cells were written; they are sent as UTC. None: they are UTC already.
    timezone: str | None = declared_option(
        READ, "--timezone", "the time zone the workbook's date-times were written in, e.g. Asia/Kolkata; they are sent as UTC, and "
        "without it a run by a user in another zone is warned", default=None, metavar="TZ", shown="UTC", group=READING,
    )
    # Recorded as an absolute path (a resume finds it from any folder), never compared: its content's hash is (options.MAP_HASH).
    map_path: str | Path | None = declared_option(
        READ, "--map", "a .json or .csv file mapping sheet headers to SchemaNames (the id column maps to CompanyActivityId)", default=None,
        metavar="FILE", group=READING, dump=_absolute, compared=False,
    )
    # Refuse a text file that is UTF-8 but for some bytes (rows/delimited.py). A reader of the
    # tool's own reports that flags such lines one by one passes False.
    strict_utf8: bool = True
    # A tool report fed to `retry`: a mixed-encoding text file is decoded line by line (mixed_lines.py).
    mixed_lines: bool = False


@dataclass(frozen=True)
class Row:
    """One data row. `number` is the row a spreadsheet shows for it (the header is row 1)."""

    number: int
    cells: dict[str, str]
    # The `_` columns of a report fed back as input (`_row`, `_outcome`...): never sent.
    meta: dict[str, str] = field(default_factory=dict)
    # Why a cell can't be taken as the text it reads as (a failed lookup's #N/A, a formula
    # never computed): any one makes the row invalid. Found by the reader, which sees the cell.
    problems: tuple[str, ...] = ()
    # Column name -> spreadsheet letter, to name a cell in messages (shared by every row of a sheet).
    letters: Mapping[str, str] = field(default_factory=dict)

    def cell_name(self, column: str) -> str:
        """`D7`, or "" when the row's columns have no letters (a report read back for retry)."""
        letter = self.letters.get(column)
        return f"{letter}{self.number}" if letter else ""


class Source(Protocol):
    """Delimited text or one sheet of a workbook: where it is, and its raw rows."""

    is_workbook: bool

    @property
    def where(self) -> str: ...

    def records(self) -> Iterator[tuple[int, Sequence[object]]]: ...


# A number of this size or more has more digits than a spreadsheet keeps (15): `check` warns.
LONG_NUMBER = 1e15


@dataclass
class ReadFindings:
    """What a pass over the rows noticed that is worth a warning (filled in as rows are read)."""

    long_numbers: int = 0
    first_long_number: str = ""  # "mx_Custom_2 (cell E7)"
    # Date-time cells taken as UTC because no --timezone was given: counted as the rows are read, so
    # the counting pass that comes before sending says whether the sheet holds any (no second pass).
    utc_datetimes: int = 0
    row: int = 0  # the row being read, for the message


@dataclass(frozen=True)
class Sheet:
    """An opened input: its usable columns, and a way to stream its rows (more than once)."""

    path: Path
    source: Source
    columns: list[str]
    # Positions in the raw record of each usable column; `_` and unnamed columns are left out.
    positions: list[int]
    meta_columns: dict[str, int] = field(default_factory=dict)
    header_row: int = 1
    timezone: dt.tzinfo | None = None
    findings: ReadFindings = field(default_factory=ReadFindings)

    @property
    def is_workbook(self) -> bool:
        return self.source.is_workbook

    @property
    def sheet_name(self) -> str | None:
        """The workbook sheet read, or None for delimited text."""
        return getattr(self.source, "sheet_name", None)

    @property
    def where(self) -> str:
        """The file, and the sheet for a workbook: for messages."""
        return self.source.where

    def rows(self) -> Iterator[Row]:
        """Yield the data rows in file order; fully blank rows are passed over."""
        named = list(zip(self.columns, self.positions))
        letters = {name: _column_letter(pos) for name, pos in named}
        self.findings.long_numbers = self.findings.utc_datetimes = 0
        # Text cells need no look for long numbers: a text file's rows take the short way.
        text = self._text if self.is_workbook else self._plain_text
        for number, record in self.source.records():
            if number <= self.header_row:
                continue
            problems: tuple[str, ...] = ()
            if type(record) is FactRow:  # a workbook row with an error value or a formula in it
                cells, problems = self._cells_with_facts(record, named, letters, number)
            else:
                self.findings.row = number
                cells = {name: text(record, pos) for name, pos in named}
            if any(value.strip() for value in cells.values()) or problems:
                meta = {name: self._text(record, pos) for name, pos in self.meta_columns.items()}
                yield Row(number, cells, meta, problems, letters)

    def _plain_text(self, record: Sequence[object], pos: int) -> str:
        return cell_text(record[pos], self.timezone) if pos < len(record) else ""

    def _text(self, record: Sequence[object], pos: int) -> str:
        if pos >= len(record):
            return ""
        value = record[pos]
        if type(value) is float and not -LONG_NUMBER < value < LONG_NUMBER:
            self._note_long_number(pos)
        elif isinstance(value, dt.datetime) and self.timezone is None and value.tzinfo is None:
            self.findings.utc_datetimes += 1
        return cell_text(value, self.timezone)

    def _cells_with_facts(self, record: Sequence[object], named, letters, number: int) -> tuple[dict[str, str], tuple[str, ...]]:
        cells, problems = {}, []
        self.findings.row = number
        for name, pos in named:
            value = record[pos] if pos < len(record) else ""
            where = f" (cell {letters[name]}{number})"
            if isinstance(value, ErrorValue):
                # A failed lookup's #N/A reads as blank: its text would clear the field.
                cells[name] = value.code if value.means_clear or value.code != "#N/A" else ""
                if value.code == "#N/A" and not value.origin_known:
                    problems.append(
                        f"{name} holds #N/A{where}, and an .xls file does not say whether a failed lookup made it: "
                        "save the file as .xlsx, or type the value"
                    )
                elif value.code == "#N/A" and not value.means_clear:
                    problems.append(
                        f"{name} holds #N/A from the formula {'=' + (value.formula or '')!r}{where}: a failed lookup is not a clear. "
                        "Fix the formula or type the value; a typed #N/A clears the field"
                    )
            elif isinstance(value, NoSavedValue):
                cells[name] = ""
                problems.append(
                    f"{name} holds a formula with no saved value, {'=' + value.formula!r}{where}: "
                    "open and save the file in Excel (or LibreOffice), which computes it, then run again"
                )
            else:
                cells[name] = self._text(record, pos)
        return cells, tuple(problems)

    def _note_long_number(self, pos: int) -> None:
        """A number cell of 1e15 or more (text cells keep every digit, so only a workbook has them)."""
        if not self.findings.long_numbers:
            name = self.columns[self.positions.index(pos)] if pos in self.positions else f"column {_column_letter(pos)}"
            self.findings.first_long_number = f"{name} (cell {_column_letter(pos)}{self.findings.row})"
        self.findings.long_numbers += 1


def open_sheet(path: str | Path, options: ReadOptions = ReadOptions()) -> Sheet:
    """Open `path`, check its header and that it has data, and return a `Sheet`.

    Raises InputError, saying what is wrong, where and what to do, if it can't be used.
    """
    path = Path(path)
    timezone = _zone(options.timezone)
    column_map = load_map(options.map_path) if options.map_path else ColumnMap()
    try:
        source = _open_source(path, options)
        records = source.records()
        header_row, header = _header(source, records)
    except OSError as exc:  # e.g. no permission, or the file is open and locked elsewhere
        raise InputError(f"the file can't be opened ({exc.strerror or exc})", where=str(path), hint="Close it in other programs and check you may read it.") from None
    raw_names = [cell_text(value).strip() for value in header]
    _warn_unused(source, options, column_map, raw_names)
    names = [column_map.rename(name) for name in raw_names]
    columns, positions = _usable_columns(source, header_row, names, column_map)
    meta = {name: pos for pos, name in enumerate(names) if name.startswith("_")}
    sheet = Sheet(path, source, columns, positions, meta, header_row, timezone)
    _check_has_data(sheet, records)
    return sheet


def read_header(path: str | Path, options: ReadOptions = ReadOptions()) -> list[str]:
    """The header row's names as the sheet has them, before any map and without requiring the id
    column: what the web page offers to map to SchemaNames."""
    path = Path(path)
    try:
        source = _open_source(path, options)
        _, header = _header(source, source.records())
    except OSError as exc:
        raise InputError(f"the file can't be opened ({exc.strerror or exc})", where=str(path), hint="Close it in other programs and check you may read it.") from None
    names = [cell_text(value).strip() for value in header]
    return [name for name in names if name and not name.startswith("_")]


def _open_source(path: Path, options: ReadOptions) -> Source:
    if not path.exists():
        raise InputError("no such file", where=str(path), hint="Check the path and try again.")
    if path.is_dir():
        raise InputError("this is a folder, not a file", where=str(path), hint="Give the path of a .csv or .xlsx file.")
    if path.stat().st_size == 0:
        raise InputError("the file is empty", where=str(path), hint="Export the sheet again with a header row and data rows.")
    suffix = path.suffix.lower()
    if suffix in delimited.SUFFIXES:
        if options.mixed_lines and not options.encoding and mixed_lines.is_mixed(path):
            return mixed_lines.open_mixed(path, options.delimiter)
        return delimited.open_delimited(path, options.encoding, options.delimiter, options.strict_utf8)
    if suffix in workbook.SUFFIXES:
        return workbook.open_workbook(path, options.sheet)
    known = ", ".join(sorted(delimited.SUFFIXES | workbook.SUFFIXES))
    raise InputError(f"unknown file type {path.suffix or '(none)'!r}", where=str(path), hint=f"Save the sheet as one of {known}.")


UNUSED_OPTION_REASONS = {
    "--timezone": "text cells are never shifted",
    "--sheet": "it has no sheets",
    "--encoding": "a workbook has no text encoding",
    "--delimiter": "a workbook has no separator",
}


def _warn_unused(source: Source, options: ReadOptions, column_map: ColumnMap, header: list[str]) -> None:
    """An option that does nothing for this file is most likely a mistake: say so, and go on."""
    kind = "a workbook" if source.is_workbook else "a text file"
    given = {"--timezone": options.timezone, "--sheet": options.sheet} if not source.is_workbook else {"--encoding": options.encoding, "--delimiter": options.delimiter}
    for option, value in given.items():
        if value:
            what = UNUSED_OPTION_REASONS[option]
            notes.warn(f"{option} {value} does nothing for {source.where}: it is {kind}, and {what}", stacklevel=3)
    for name in column_map.unmatched(header):
        notes.warn(f"the map {column_map.source} names the header {name!r}, which {source.where} does not have: that entry does nothing", stacklevel=3)


def _zone(name: str | None) -> dt.tzinfo | None:
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InputError(f"--timezone {name!r} is not a time zone", hint="Use a name like Asia/Kolkata, Europe/London or UTC.") from None


def _header(source: Source, records: Iterator[tuple[int, Sequence[object]]]) -> tuple[int, Sequence[object]]:
    """The first row that is not blank is the header (a workbook may start lower down)."""
    for number, record in records:
        if any(cell_text(value).strip() for value in record):
            return number, record
    raise InputError("the file is empty", where=source.where, hint="Export the sheet again with a header row and data rows.")


def _check_has_data(sheet: Sheet, records: Iterator[tuple[int, Sequence[object]]]) -> None:
    # Continue the same pass that read the header: a workbook is not loaded a second time.
    for _, record in records:
        if any(sheet._text(record, pos).strip() for pos in sheet.positions):
            return
    raise InputError(f"there are no data rows below the header (row {sheet.header_row})", where=sheet.where, hint="Add one row per activity to update below the header.")


def _usable_columns(source: Source, header_row: int, header: list[str], column_map: ColumnMap) -> tuple[list[str], list[int]]:
    where = f"{source.where}, row {header_row}"
    columns: list[str] = []
    positions: list[int] = []
    for pos, raw in enumerate(header):
        name = _canonical(raw)
        if not name or name.startswith("_"):
            continue  # report columns (_row, _outcome...) and unnamed spacer columns
        if name in columns:
            raise InputError(f"the column {name!r} appears twice in the header", where=f"{where}, column {_column_letter(pos)}", hint="Rename or delete one of them.")
        columns.append(name)
        positions.append(pos)
    if ACTIVITY_ID not in columns:
        raise InputError(f"there is no {ACTIVITY_ID} column", where=where, hint=_missing_id_hint(column_map))
    _refuse_attributes(columns, positions, where)
    return columns, positions


def _refuse_attributes(columns: list[str], positions: list[int], where: str) -> None:
    """Columns named like the activity's attributes (NOT_FIELDS, any case) are refused: Update does not set them."""
    attributes = {name.lower() for name in NOT_FIELDS}
    found = [(name, pos) for name, pos in zip(columns, positions) if name.lower() in attributes]
    if not found:
        return
    names = " and ".join(", ".join(name for name, _ in found).rsplit(", ", 1))
    what = "is an attribute of the activity, not a field" if len(found) == 1 else "are attributes of the activity, not fields"
    raise InputError(
        f"{names} {what}: the Update call does not set {'it' if len(found) == 1 else 'them'}",
        where=f"{where}, column{'s' if len(found) > 1 else ''} {', '.join(_column_letter(pos) for _, pos in found)}",
        hint=f'Remove the column, or --map it to the field it stands for (e.g. {{"{found[0][0]}": "mx_Custom_1"}} in a .json map file).',
    )


def _missing_id_hint(column_map: ColumnMap) -> str:
    mapped = column_map.header_for(ACTIVITY_ID)
    if mapped:
        return f"The map {column_map.source} names {mapped!r} as the id column, but the header has no such column: fix the map or the header."
    return f"Add a column named {ACTIVITY_ID} holding each activity's id, or name the id column with --map."


def _canonical(name: str) -> str:
    """Reserved column names are matched ignoring case; activity fields are kept as written."""
    for reserved in RESERVED:
        if name.lower() == reserved.lower():
            return reserved
    return name


def _column_letter(pos: int) -> str:
    """0 -> A, 26 -> AA: the column as a spreadsheet labels it."""
    letters = ""
    pos += 1
    while pos:
        pos, rest = divmod(pos - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters
