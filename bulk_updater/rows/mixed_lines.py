"""A tool report that became mixed-encoding: decoded line by line (used only by `retry`).

Opened in Excel as ANSI, one accented letter typed, saved: most lines are still the tool's
UTF-8, and the edited ones are Windows-1252. Such a file is not refused whole (as `run`
input is): each line is decoded on its own, and the records that hold a line which was
not UTF-8 are listed in `not_utf8`, so the retry can flag those rows as damage.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from .delimited import QUOTED, SEPARATOR_NAMES, SEPARATORS, UTF8_MULTIBYTE, WINDOWS_1252


def is_mixed(path: Path) -> bool:
    """A valid multi-byte UTF-8 sequence and a line that is not UTF-8: what `run` refuses as "mostly UTF-8"."""
    valid_multibyte = invalid = False
    with path.open("rb") as f:
        for line in f:
            if line.isascii():
                continue
            try:
                line.decode("utf-8")
                valid_multibyte = True
            except UnicodeDecodeError:
                invalid = True
                valid_multibyte = valid_multibyte or UTF8_MULTIBYTE.search(line) is not None
            if valid_multibyte and invalid:
                return True
    return False


@dataclass
class MixedLinesSource:
    path: Path
    delimiter: str
    width: int
    # Record numbers (as `records()` numbers them) that hold a line decoded as Windows-1252.
    not_utf8: set[int] = field(default_factory=set)
    is_workbook = False

    @property
    def where(self) -> str:
        return str(self.path)

    def records(self) -> Iterator[tuple[int, Sequence[str]]]:
        fell_back = [False]
        with self.path.open("rb") as f:
            reader = csv.reader(_decoded_lines(f, fell_back), delimiter=self.delimiter)
            for number, cells in enumerate(reader, 1):
                if fell_back[0]:
                    self.not_utf8.add(number)
                    fell_back[0] = False
                if len(cells) > self.width:
                    raise InputError(
                        f"line {reader.line_num} has {len(cells)} cells, but the header has {self.width}",
                        where=self.where,
                        hint="A cell holding the separator must be quoted; or delete the extra cells on that line.",
                    )
                yield number, cells


def open_mixed(path: Path, delimiter: str | None = None) -> MixedLinesSource:
    with path.open("rb") as f:
        header = next(_decoded_lines(f, [False]), "")
    delimiter = SEPARATOR_NAMES.get(delimiter.lower(), delimiter) if delimiter else _separator(header)
    width = len(next(csv.reader([header], delimiter=delimiter), [""]))
    return MixedLinesSource(path, delimiter, width)


def _decoded_lines(f, fell_back: list[bool]) -> Iterator[str]:
    """Each line as UTF-8 if it is, else as Windows-1252 (noting it); a BOM is dropped."""
    first = True
    for raw in f:
        if first and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        first = False
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            fell_back[0] = True
            yield raw.decode(WINDOWS_1252, errors="replace")


def _separator(header: str) -> str:
    counts = {sep: QUOTED.sub("", header).count(sep) for sep in SEPARATORS}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","
