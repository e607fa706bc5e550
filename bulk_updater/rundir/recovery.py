"""Read back the report of an unfinished run, so a resume sends only what is left.

A kill -9 can cut the last line of report.csv short (lines are flushed one by one, so only
the last can be torn). Recovery keeps the complete lines, drops the torn one and the
`not_sent` ones (those rows were never tried, so the resume sends them and records them
afresh), and rewrites the report atomically if it dropped anything. After that, every row
of the input has at most one line, and the resume appends exactly the rows without one.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from .. import files
from ..errors import InputError
from ..outcomes import FINISHED_VALUES, Outcome
from ..report.writer import REPORT_ENCODING
from .rowset import RowSet

OUTCOMES = {outcome.value for outcome in Outcome}
KEPT, NOT_SENT, DAMAGED = "kept", "not_sent", "damaged"


@dataclass
class Recorded:
    """What earlier sessions of a run recorded, as kept in the repaired report.

    Nothing here grows with the lines: the rows are a bitmap, the outcomes are counts.
    """

    rows: RowSet = field(default_factory=RowSet)
    # rows per (outcome, error type, error message) of the kept lines, to rebuild the summary;
    # type and message are kept only for outcomes that need another look, as the summary groups them
    outcomes: Counter = field(default_factory=Counter)
    not_sent_dropped: int = 0
    damaged_dropped: int = 0  # a torn last line, or a line whose _row or _outcome can't be read


def recover_report(path: Path, header: list[str]) -> Recorded:
    """Repair `path` in place (see the module docstring) and return what it holds.

    Two streaming passes: the first reads and counts, the second (only when a line must go)
    copies the kept lines into a new report that replaces the old one whole.
    """
    recorded = Recorded()
    if not files.is_present(path):
        return recorded  # the crash came before the header was written
    with files.open_read(path, encoding=REPORT_ENCODING) as f:
        records = CsvRecords(f)
        lines = iter(records)
        first = next(lines, None)
        if first is None:
            f.close()  # Windows replaces no file that is open
            files.replace_text(path, "")  # at most a torn header: the writer writes it again
            return recorded
        if first[0] != header:
            raise InputError(
                "the report's columns are not the input's",
                where=str(path),
                hint="Choose another --out folder, or add --restart to start over in this one.",
            )
        at = tuple(header.index(name) for name in ("_row", "_outcome", "_error_type", "_error_message"))
        for verdict, cells in _verdicts(lines, header):
            _count(recorded, verdict, cells, at)
        recorded.damaged_dropped += records.torn
    if recorded.damaged_dropped or recorded.not_sent_dropped:
        _rewrite_kept(path, header)
    return recorded


def _count(recorded: Recorded, verdict: str, cells: list[str], at: tuple[int, ...]) -> None:
    """Count one line; `at` holds the positions of _row, _outcome, _error_type and _error_message."""
    if verdict == DAMAGED:
        recorded.damaged_dropped += 1  # the row is sent again
    elif verdict == NOT_SENT:
        recorded.not_sent_dropped += 1
    else:
        row, outcome, error_type, message = at
        recorded.rows.add(int(cells[row]))
        if cells[outcome] in FINISHED_VALUES:
            recorded.outcomes[(cells[outcome], "", "")] += 1
        else:
            recorded.outcomes[(cells[outcome], cells[error_type], cells[message])] += 1


def _rewrite_kept(path: Path, header: list[str]) -> None:
    # The copy is read in the inner block: it is closed before the new report replaces it (Windows replaces no file that is open).
    with files.replacing(path, encoding=REPORT_ENCODING) as target, files.open_read(path, encoding=REPORT_ENCODING) as source:
        lines = iter(CsvRecords(source))
        target.write(next(lines)[1])
        for verdict, _cells, raw in _verdicts(lines, header, with_raw=True):
            if verdict == KEPT:
                target.write(raw)


def _verdicts(records: Iterator[tuple[list[str], str]], header: list[str], with_raw: bool = False) -> Iterator:
    """Each line's fate: KEPT, NOT_SENT (never tried, sent now) or DAMAGED (unreadable, or a row seen before)."""
    at_row, at_outcome = header.index("_row"), header.index("_outcome")
    seen = RowSet()
    for cells, raw in records:
        number = _row_number(cells[at_row]) if len(cells) == len(header) else None
        outcome = cells[at_outcome] if number is not None else ""
        if outcome not in OUTCOMES or number in seen:
            verdict = DAMAGED
        elif outcome == Outcome.NOT_SENT.value:
            verdict = NOT_SENT
        else:
            seen.add(number)  # type: ignore[arg-type]
            verdict = KEPT
        yield (verdict, cells, raw) if with_raw else (verdict, cells)


class CsvRecords:
    """(cells, raw text) of each record that ends with its line end, read as a stream.

    Iteration stops at a torn or unreadable record; `torn` then says so (everything from it
    on is dropped, and its row sent again).
    """

    def __init__(self, file: IO[str]) -> None:
        self._file = file  # opened with newline="": line ends exactly as written, inside quoted cells too
        self._raw: list[str] = []
        self.torn = False

    def _lines(self) -> Iterator[str]:
        for line in self._file:
            self._raw.append(line)
            yield line

    def __iter__(self) -> Iterator[tuple[list[str], str]]:
        # strict: a record cut inside a quoted cell raises instead of passing as complete
        reader = csv.reader(self._lines(), strict=True)
        try:
            for cells in reader:
                raw = self._raw[0] if len(self._raw) == 1 else "".join(self._raw)
                self._raw.clear()
                if not raw.endswith("\n"):
                    self.torn = True  # the last record lost its line end
                    return
                yield cells, raw
        except csv.Error:
            self.torn = True


def _row_number(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() else None
