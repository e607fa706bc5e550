"""Fix and retry in the page: the rows of a run's failed.csv in a grid of inputs, each with its outcome and
message, edited in place or through a failed.xlsx uploaded back, then retried by the library's `retry` as
any report is (the runs behind it: supersession and the damage check; application/preview.retry_preview).

    RUN/fixed.csv            the draft: failed.csv with the page's edits, replaced whole at each save
    RUN/fixed-<retry>.csv    the draft as it was when a retry started: that retry's input (its run.json names
                             it, so a resume reads the same rows)

Both sit in the run's folder beside its report.csv, so the retry finds the run behind them as it finds it
behind failed.csv. The draft is failed.csv's rows with the draft's cells laid over them: a row failed.csv no
longer holds is dropped, and the report's own columns are always failed.csv's.

The grid is a plain table of labelled inputs (templates/fix.html), not a grid library: a screen reader reads
its header cells, Tab and Enter work as in any form, the CSP needs no exception (the libraries worth having
draw cells from script, and some style them inline), and it posts as every other form of the page does.

Nothing the browser sends is trusted. A cell is named by its row's `_row` and its column's position among the
run's columns; a row that is not one of failed.csv's, a column past the run's, any other field, a value
typed over VALUE_CAP characters, or more cells than the grid shows is refused, and nothing is saved. A cell
sent back as the grid showed it is no edit (`_as_sent`). The form carries the draft it showed (DRAFTED): one
shown before another tab saved is refused, not saved over that tab's fixes. Every value is text: the
templates escape it wherever it is shown.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .. import files
from ..credentials import REDACTOR
from ..errors import FolderError, InputError
from ..report.writer import META_COLUMNS, REPORT_ENCODING
from ..rows import ACTIVITY_ID, ReadOptions, open_sheet
from ..rundir.folder import FAILED

FIXED = "fixed.csv"
GRID_ROWS = 200  # rows shown as inputs; the others are fixed in failed.xlsx, uploaded back
ROWS_CAP = 20_000  # a failed.csv with more rows is fixed in a spreadsheet and sent with the command line's retry
VALUE_CAP = 8_000  # characters in one cell
# Fields of one form the server reads (aiohttp's cap, 1,000 by default): the grid's GRID_ROWS rows of up to 250
# columns. Its body stays within aiohttp's cap on a request's size.
FORM_FIELDS = GRID_ROWS * 250 + 10
CELL = re.compile(r"cell-([0-9]{1,9})-([0-9]{1,4})")
ROW_NUMBER = re.compile(r"[0-9]{1,9}")
# The grid form's own fields besides its cells: the button clicked, and the draft the grid showed (its digest): a
# grid shown before another tab saved would send that tab's fixed cells back as they were, undoing them.
DRAFTED = "drafted"
OTHER_FIELDS = frozenset({"action", DRAFTED})
_ROW, _OUTCOME, _TYPE, _MESSAGE = "_row", "_outcome", "_error_type", "_error_message"


class FixRefused(InputError):
    """What the browser sent can't be a fix of this run: the message says what; nothing was saved."""


@dataclass(frozen=True)
class GridRow:
    number: int
    outcome: str
    message: str  # "error type: message", as the report says it
    cells: list[str]  # by column position
    edited: frozenset[int]  # positions whose cell differs from failed.csv's


@dataclass
class Draft:
    """failed.csv's rows with the page's edits laid over them."""

    header: list[str]
    positions: list[int]  # where each of the run's columns sits in the header
    lines: dict[int, list[str]]  # `_row` -> the line, in failed.csv's order
    original: dict[int, list[str]] = field(default_factory=dict)  # failed.csv's lines, for what was edited

    @property
    def columns(self) -> list[str]:
        return [self.header[at] for at in self.positions]

    def cell(self, row: int, column: int) -> str:
        return self.lines[row][self.positions[column]]

    def edited(self) -> list[tuple[int, int]]:
        """(row, column) of every cell that differs from failed.csv's."""
        return [(row, column) for row, line in self.lines.items() for column, at in enumerate(self.positions) if line[at] != self.original[row][at]]

    def grid(self, shown: int = GRID_ROWS) -> list[GridRow]:
        """The first `shown` rows, as the grid shows them."""
        meta = {name: self.header.index(name) for name in (_OUTCOME, _TYPE, _MESSAGE) if name in self.header}
        out = []
        for number, line in list(self.lines.items())[:shown]:
            message = ": ".join(part for part in (line[meta[_TYPE]] if _TYPE in meta else "", line[meta[_MESSAGE]] if _MESSAGE in meta else "") if part)
            edited = frozenset(column for column, at in enumerate(self.positions) if line[at] != self.original[number][at])
            out.append(GridRow(number, line[meta[_OUTCOME]], message, [line[at] for at in self.positions], edited))
        return out

    def apply(self, edits: Mapping[tuple[int, int], str]) -> None:
        for (row, column), value in edits.items():
            self.lines[row][self.positions[column]] = value


def load(run_dir: Path) -> Draft:
    """The run's draft: failed.csv, with the cells of fixed.csv (if any) laid over its rows."""
    header, original = _read(run_dir / FAILED)
    draft = Draft(header, [at for at, name in enumerate(header) if name not in META_COLUMNS], {row: list(line) for row, line in original.items()}, original)
    if files.is_present(run_dir / FIXED):
        fixed_header, fixed = _read(run_dir / FIXED)
        if fixed_header == header:  # a draft of another header (failed.csv written again since) is left
            for row, line in fixed.items():
                if row in draft.lines:
                    for at in draft.positions:
                        draft.lines[row][at] = line[at]
    return draft


def _read(path: Path) -> tuple[list[str], dict[int, list[str]]]:
    with files.open_read(path, encoding=REPORT_ENCODING) as f:
        reader = csv.reader(f)
        header = next(reader, [])
        if _ROW not in header or _OUTCOME not in header:
            raise FixRefused(f"{path.name} has no {_ROW} and {_OUTCOME} columns: it is not a report of this tool")
        at = header.index(_ROW)
        lines: dict[int, list[str]] = {}
        for line in reader:
            line += [""] * (len(header) - len(line))
            if (number := _row_number(line[at])) is not None:
                lines[number] = line[: len(header)]
            if len(lines) > ROWS_CAP:
                raise FixRefused(
                    f"{path.name} holds more than {ROWS_CAP:,} rows: too many to fix in the page",
                    hint="Download failed.xlsx, fix it in Excel or LibreOffice, and send it with `bulk-updater retry`.",
                )
    return header, lines


def save(run_dir: Path, draft: Draft) -> None:
    """The draft into RUN/fixed.csv (files.py: replaced whole, never through a link)."""
    with files.replacing(run_dir / FIXED, encoding=REPORT_ENCODING) as f:
        out = csv.writer(f)
        out.writerow(draft.header)
        out.writerows(draft.lines.values())


def drop(run_dir: Path) -> None:
    """Back to failed.csv as it is."""
    if files.is_present(run_dir / FIXED):
        files.remove(run_dir / FIXED)


def digest(run_dir: Path) -> str:
    """What the draft holds, in short: the confirmation carries it, so a retry sends the draft that was reviewed."""
    if not files.is_present(run_dir / FIXED):
        return ""
    with files.open_read(run_dir / FIXED, binary=True) as f:
        return hashlib.sha256(f.read()).hexdigest()[:32]


def freeze(run_dir: Path, retry_id: str) -> Path:
    """The draft as the retry `retry_id` sends it: its own copy, which a later fix of the run leaves alone."""
    with files.open_read(run_dir / FIXED, binary=True) as source:
        text = source.read()
    frozen = run_dir / f"fixed-{retry_id}.csv"
    with files.replacing(frozen, binary=True) as target:
        target.write(text)
    return frozen


# --- what the browser sent -------------------------------------------------------------------


def edits_from_form(form: Iterable[tuple[str, object]], draft: Draft) -> dict[tuple[int, int], str]:
    """The cells the grid's form changed, each checked: a row of this run's failed.csv, a column of this run, text
    within VALUE_CAP, at most the grid's cells. Raises FixRefused for anything else."""
    edits: dict[tuple[int, int], str] = {}
    sent: set[tuple[int, int]] = set()
    seen = 0
    for name, value in form:
        if name in OTHER_FIELDS:
            continue
        found = CELL.fullmatch(name)
        if found is None:
            raise FixRefused(f"the form sent a field this screen does not have ({_shown(name)})")
        seen += 1
        if seen > GRID_ROWS * len(draft.positions):
            raise FixRefused("the form sent more cells than the grid shows")
        row, column = int(found[1]), int(found[2])
        _check_cell(draft, row, column)
        if (row, column) in sent:
            raise FixRefused(f"row {row}: the form sent the same cell twice")
        sent.add((row, column))
        if not isinstance(value, str):
            raise FixRefused(f"row {row}: a cell must be text, not a file")
        if (kept := _as_sent(value, draft.cell(row, column))) is not None:
            edits[(row, column)] = kept
    return edits


def edits_from_upload(columns: list[str], rows: list[tuple[str, list[str]]], draft: Draft) -> dict[tuple[int, int], str]:
    """The cells an uploaded copy of failed.xlsx (or failed.csv) changed: its columns must be this run's (none
    added; one left out keeps its cells, but for the id), and each line's `_row` one of failed.csv's, once."""
    known = draft.columns
    added = [name for name in columns if name not in known]
    if added:
        raise FixRefused(f"the file has columns this run did not send: {', '.join(map(_shown, added[:5]))}",
                         hint="Upload the run's failed.xlsx with only its cells edited: no column added or renamed.")
    if ACTIVITY_ID in known and ACTIVITY_ID not in columns:  # another run's file has rows 2, 3... too
        raise FixRefused(f"the file has no {ACTIVITY_ID} column: each line's id shows it is a row of this run",
                         hint="Upload the run's failed.xlsx with its CompanyActivityId column kept as it was.")
    at = {name: known.index(name) for name in columns}
    edits: dict[tuple[int, int], str] = {}
    seen: set[int] = set()
    for text, cells in rows:
        row = _row_number(text)
        if row is None:
            raise FixRefused(f"a line has {_shown(text)} in its _row column, not a row number",
                             hint="Put back the _row the downloaded file had there.")
        if row in seen:
            raise FixRefused(f"row {row} appears twice in the file")
        seen.add(row)
        for name, value in zip(columns, cells):
            _check_cell(draft, row, at[name])
            if value != draft.cell(row, at[name]):
                if len(value) > VALUE_CAP:  # the cap is on what was typed: a long cell the run read comes back as it was
                    raise FixRefused(f"row {row}, {_shown(name)}: longer than {VALUE_CAP:,} characters")
                edits[(row, at[name])] = value
    return edits


def _row_number(text: str) -> int | None:
    """A `_row` as this tool writes it: ASCII digits ("²" passes str.isdigit, and int() then fails)."""
    return int(text) if ROW_NUMBER.fullmatch(text.strip()) else None


def _check_cell(draft: Draft, row: int, column: int) -> None:
    if row not in draft.lines:
        raise FixRefused(f"row {row} is not one of this run's rows to fix (they are the rows of its failed.csv)")
    if column >= len(draft.positions):
        raise FixRefused(f"row {row}: column {column + 1} is not one of this run's columns")


def _as_sent(posted: str, current: str) -> str | None:
    """The posted value, or None when it is the current one as a browser gives it back: a textarea (every cell
    with a line break is shown in one, `multiline`) sends them as CR LF, the page shows a key masked. Such a cell
    was not edited; a line break taken out was. The cap is on an edit: a cell the run read longer than it comes
    back as it was."""
    if posted == current:
        return None
    masked = REDACTOR.redact(current)
    if _as_shown(posted) in {_as_shown(current), _as_shown(masked)}:
        return None
    if masked != current:  # the grid showed the key masked: an edit of it would send the mask, not the key
        raise FixRefused("a cell that holds the account's key is shown masked and can't be edited here",
                         hint="Fix that cell in failed.xlsx and upload it back.")
    if len(posted) > VALUE_CAP:
        raise FixRefused(f"a cell is longer than {VALUE_CAP:,} characters")
    return posted


def _as_shown(text: str) -> str:
    """`text` as the page gives it back whatever the browser does: line breaks as LF, a NUL as the parser shows it."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "\ufffd")


def _shown(text: str) -> str:
    """What the browser sent, cut short and quoted, for a message (the template escapes it)."""
    return repr(text[:40] + ("…" if len(text) > 40 else ""))


def multiline(value: str) -> bool:
    """A cell shown in a textarea: an input would drop its line breaks."""
    return "\n" in value or "\r" in value


# --- in a child process (reading.in_child): an uploaded copy read as the retry reads a report --------


def read_fixes(path: Path, most: int) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """The uploaded file's columns and each line's `_row` with its cells; at most `most` lines."""
    sheet = open_sheet(path, ReadOptions())
    if _ROW not in sheet.meta_columns:
        raise FixRefused("the file has no _row column: upload the run's failed.xlsx (or failed.csv), edited",
                         hint="Download failed.xlsx from the run's page, fix its cells, and upload it here.")
    rows: list[tuple[str, list[str]]] = []
    for row in sheet.rows():
        if len(rows) >= most:
            raise FixRefused(f"the file holds more rows than this run's failed.csv ({most:,})")
        if row.problems:  # a cell `retry` would not send as its text (a failed lookup's #N/A, a formula never computed): not copied as text
            raise FixRefused(f"row {_shown(row.meta.get(_ROW, ''))} (line {row.number} of the file): {'; '.join(row.problems)}",
                             hint="Type the value in that cell, save the file, and upload it again.")
        rows.append((row.meta.get(_ROW, ""), [row.cells.get(name, "") for name in sheet.columns]))
    return sheet.columns, rows


def is_stale(run_dir: Path, shown: str) -> bool:
    """The draft changed since a screen showed it (`shown`, its digest then): another tab saved over it."""
    try:
        return digest(run_dir) != shown
    except FolderError:
        return True
