"""Read back the report of an unfinished run, so a resume sends only what is left.

A kill -9 can cut the last line of report.csv short (lines are flushed one by one, so only
the last can be torn). Recovery keeps the complete lines, drops the torn one and the
`not_sent` ones (those rows were never tried, so the resume sends them and records them
afresh), and rewrites the report atomically if it dropped anything. After that, every row
of the input has at most one line, and the resume appends exactly the rows without one.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..outcomes import Outcome
from .run_record import replace_atomically
from .writer import REPORT_ENCODING

OUTCOMES = {outcome.value for outcome in Outcome}


@dataclass
class Recorded:
    """What earlier sessions of a run recorded, as kept in the repaired report."""

    rows: set[int] = field(default_factory=set)
    # (outcome, error type, error message) of each kept line, to rebuild the summary
    outcomes: list[tuple[str, str, str]] = field(default_factory=list)
    not_sent_dropped: int = 0
    damaged_dropped: int = 0  # a torn last line, or a line whose _row or _outcome can't be read


def recover_report(path: Path, header: list[str]) -> Recorded:
    """Repair `path` in place (see the module docstring) and return what it holds."""
    recorded = Recorded()
    if not path.exists():
        return recorded  # the crash came before the header was written
    with path.open(newline="", encoding=REPORT_ENCODING) as f:
        text = f.read()  # newline="": line ends exactly as written, inside quoted cells too
    records = _complete_records(text)
    if not records:
        replace_atomically(path, "")  # at most a torn header: the writer writes it again
        return recorded
    if records[0][0] != header:
        raise InputError(
            "the report's columns are not the input's",
            where=str(path),
            hint="Choose another --out folder, or add --restart to start over in this one.",
        )
    kept = [records[0][1]]
    recorded.damaged_dropped = int(len(text) > sum(len(raw) for _, raw in records))
    at = {name: header.index(name) for name in ("_row", "_outcome", "_error_type", "_error_message")}
    for cells, raw in records[1:]:
        number = _row_number(cells[at["_row"]]) if len(cells) == len(header) else None
        outcome = cells[at["_outcome"]] if number is not None else ""
        if outcome not in OUTCOMES or number in recorded.rows:
            recorded.damaged_dropped += 1  # the row is sent again
        elif outcome == Outcome.NOT_SENT.value:
            recorded.not_sent_dropped += 1
        else:
            recorded.rows.add(number)
            recorded.outcomes.append((outcome, cells[at["_error_type"]], cells[at["_error_message"]]))
            kept.append(raw)
    if recorded.damaged_dropped or recorded.not_sent_dropped:
        replace_atomically(path, "".join(kept), encoding=REPORT_ENCODING)
    return recorded


def _complete_records(text: str) -> list[tuple[list[str], str]]:
    """(cells, raw text) of each record that ends with its line end; a torn last one is left out."""
    lines = io.StringIO(text, newline="")
    consumed = 0

    def counted() -> Iterator[str]:
        nonlocal consumed
        for line in lines:
            consumed += len(line)
            yield line

    records: list[tuple[list[str], str]] = []
    # strict: a record cut inside a quoted cell raises instead of passing as complete
    reader = csv.reader(counted(), strict=True)
    start = 0
    try:
        for cells in reader:
            raw, start = text[start:consumed], consumed
            if not raw.endswith("\n"):
                break  # the last record lost its line end: torn
            records.append((cells, raw))
    except csv.Error:
        pass
    return records


def _row_number(text: str) -> int | None:
    return int(text) if text.isdigit() else None
