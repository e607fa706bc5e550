"""Delimited text (.csv, .tsv, .txt): the encoding and the separator, found or given; rows streamed.

Encodings: a BOM says UTF-8 or UTF-16 (Excel's "Unicode text"); without one the file is
UTF-8 if every byte decodes as UTF-8, else Windows-1252 (what Excel on Windows writes
for "CSV"). A file that is UTF-8 but for a stray byte (a character pasted from elsewhere)
is refused: read as Windows-1252, every accented letter would turn into mojibake
(`Müller` -> `MÃ¼ller`). The separator is the one of comma, semicolon and tab that the
header row holds most of (semicolons are what European Excel writes).
"""

from __future__ import annotations

import codecs
import csv
import itertools
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ..errors import InputError

SUFFIXES = {".csv", ".tsv", ".txt"}
SEPARATORS = (",", ";", "\t")
SEPARATOR_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t"}
UTF8, UTF16, WINDOWS_1252 = "utf-8", "utf-16", "cp1252"
BLOCK_BYTES = 1 << 20
# Enough of a file's start to tell its byte-order mark from its text.
MISMATCH_SAMPLE_BYTES = 4096
QUOTED = re.compile(r'"[^"]*"')
# One valid UTF-8 sequence of two to four bytes: the sign that a file was written as UTF-8.
UTF8_MULTIBYTE = re.compile(
    rb"[\xC2-\xDF][\x80-\xBF]|\xE0[\xA0-\xBF][\x80-\xBF]|[\xE1-\xEC\xEE\xEF][\x80-\xBF]{2}|\xED[\x80-\x9F][\x80-\xBF]"
    rb"|\xF0[\x90-\xBF][\x80-\xBF]{2}|[\xF1-\xF3][\x80-\xBF]{3}|\xF4[\x80-\x8F][\x80-\xBF]{2}"
)
BOM = "\ufeff"

# A long note is one cell; the csv module's default cap (128 KiB) would refuse it.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass(frozen=True)
class DelimitedSource:
    """A text file whose encoding and separator are settled; `records()` streams its rows."""

    path: Path
    encoding: str
    delimiter: str
    width: int  # cells in the header row; a row may have fewer, never more
    is_workbook = False

    @property
    def where(self) -> str:
        return str(self.path)

    def records(self) -> Iterator[tuple[int, Sequence[str]]]:
        """Yield (row number, cells); a quoted cell may hold separators, quotes and line breaks.

        Every row has `width` cells: a short or blank row is padded with "". A row with more
        cells, or a quote left open at the end of the file, is refused, naming the row. The csv
        module (C, streaming) reads it as pandas' C parser did: tests/test_csv_reader.py holds
        the two side by side. Not pandas: its import alone took 0.25 s, half the start-up target.
        """
        width = self.width
        with self.path.open(newline="", encoding=self.encoding) as text:
            rows = _TextRows(text, self.delimiter)
            reader = rows.reader
            number = 0
            for cells in reader:
                number += 1
                if rows.ended_in_quote:
                    raise _open_quote(self.where, number)
                if len(cells) != width:
                    cells = self._fitted(cells, number)
                rows.handed_out_to = reader.line_num
                yield number, cells
            if rows.ended_in_quote:  # the csv module hands out the open row; should it ever not, still refuse
                raise _open_quote(self.where, number + 1)

    def _fitted(self, cells: list[str], number: int) -> list[str]:
        if len(cells) > self.width:
            raise _too_many_cells(self.where, number, len(cells), self.width)
        return cells + [""] * (self.width - len(cells))


class _TextRows:
    """csv.reader over a text file, and whether the file ended inside a quote (which it can't say).

    The reader asks for another line within a row only while a quoted cell is open; so if it
    asks past the last line before the row it reads was handed out, the file ended in a quote.
    A byte-order mark the encoding left at the start is dropped (pandas did so too).
    """

    def __init__(self, text: TextIO, delimiter: str) -> None:
        first = text.readline().removeprefix(BOM)
        lines = itertools.chain((first,) if first else (), text, self._at_end())
        self.reader = csv.reader(lines, delimiter=delimiter)  # the excel dialect: "" in quotes is a quote
        self.handed_out_to = 0  # the reader's line_num when the last row handed out was read
        self.ended_in_quote = False

    def _at_end(self) -> Iterator[str]:
        self.ended_in_quote = self.reader.line_num > self.handed_out_to
        yield from ()


def _too_many_cells(where: str, line: int, cells: int, header_cells: int) -> InputError:
    return InputError(
        f"line {line} has {cells} cells, but the header has {header_cells}",
        where=where,
        hint="A cell holding the separator must be quoted; or delete the extra cells on that line.",
    )


def _open_quote(where: str, line: int) -> InputError:
    return InputError(
        f"the row starting on line {line} can't be read (a quote is left open)",
        where=where,
        hint="Check the quotes on that row: a cell holding quotes, separators or line breaks must be quoted, with its quotes doubled.",
    )


def open_delimited(path: Path, encoding: str | None = None, delimiter: str | None = None, strict_utf8: bool = True) -> DelimitedSource:
    """Settle the encoding (given, or found) and the separator (given, or found) of `path`.

    `strict_utf8`: refuse a file that is UTF-8 but for some bytes (see the module docstring).
    False reads it as Windows-1252, as a file with no UTF-8 in it; a reader of the tool's own
    reports that flags such lines itself passes False.
    """
    if encoding:
        encoding = _given_encoding(encoding, path)
        _check_decodes(path, encoding, encoding)
    else:
        encoding = _detect_encoding(path, strict_utf8)
    delimiter = _given_delimiter(delimiter) if delimiter else _detect_delimiter(path, encoding)
    return DelimitedSource(path, encoding, delimiter, _header_width(path, encoding, delimiter))


def _given_encoding(name: str, path: Path) -> str:
    try:
        encoding = codecs.lookup(name).name
    except LookupError:
        raise InputError(f"--encoding {name!r} is not an encoding", hint="Use utf-8, utf-16 or cp1252 (Windows-1252).") from None
    if encoding == UTF16:
        # Python's utf-16 needs a BOM; without one, the zero bytes say which byte order.
        with path.open("rb") as f:
            start = f.read(4)
        if not start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16-be" if len(start) >= 2 and start[0] == 0 and start[1] != 0 else "utf-16-le"
    return encoding


def _given_delimiter(text: str) -> str:
    delimiter = SEPARATOR_NAMES.get(text.lower(), text)
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise InputError(f"--delimiter {text!r} is not one character", hint="Use comma, semicolon, tab, or the character itself.")
    return delimiter


def _detect_encoding(path: Path, strict_utf8: bool = True) -> str:
    _refuse_mismatched_encoding(path)
    with path.open("rb") as f:
        start = f.read(4)
    if start.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = UTF16
    elif len(start) == 4 and start[1::2] == b"\0\0":
        encoding = "utf-16-le"  # no BOM, but "Co" as UTF-16 from a script: every other byte 0
    elif len(start) == 4 and start[0::2] == b"\0\0":
        encoding = "utf-16-be"
    elif (bad := _bad_bytes(path, UTF8)) is None:
        return UTF8
    else:
        if strict_utf8 and _has_utf8_sequence(path):
            raise _mostly_utf8(path, *bad)
        # Only when UTF-8 fails: Windows-1252 decodes almost any byte, so it can't be tried first.
        _check_decodes(path, WINDOWS_1252, "UTF-8 or Windows-1252")
        return WINDOWS_1252
    _check_decodes(path, encoding, encoding.upper().replace("-SIG", " with a BOM"))
    return encoding


def _refuse_mismatched_encoding(path: Path) -> None:
    """Refuse, naming it, a file whose byte-order mark contradicts its text, or UTF-32 text:
    read on, it would decode to a header with no CompanyActivityId, a misleading complaint."""
    with path.open("rb") as f:
        start = f.read(MISMATCH_SAMPLE_BYTES)
    problem = _encoding_mismatch(start)
    if problem is None:
        return
    utf32 = problem.startswith("the file is UTF-32")
    raise InputError(
        problem,
        where=str(path),
        hint="Save the file again as 'CSV UTF-8'" + (", or read it as it is with --encoding utf-32." if utf32 else "."),
    )


def _encoding_mismatch(start: bytes) -> str | None:
    """The encoding problem the first bytes of a file show, or None."""
    if start.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)) or start[1:4] == b"\0\0\0" or start[:3] == b"\0\0\0":
        return "the file is UTF-32 text (4 bytes a character), which is not read unless named"
    if start.startswith(codecs.BOM_UTF8) and b"\0" in start:
        return "the file starts with a UTF-8 byte-order mark, but the text after it is UTF-16 (it holds zero bytes)"
    # UTF-16 text of any length holds zero bytes: every ASCII character, the line breaks too, has one.
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and len(start) > 2 and b"\0" not in start[2:]:
        return "the file starts with a UTF-16 byte-order mark, but the text after it is not UTF-16 (it holds no zero bytes: UTF-8 or Windows-1252)"
    return None


def _check_decodes(path: Path, encoding: str, label: str) -> None:
    line = _first_bad_byte(path, encoding)
    if line is not None:
        raise InputError(
            f"line {line} holds bytes that can't be read as {label}",
            where=str(path),
            hint="Save the file again as 'CSV UTF-8', or name its encoding with --encoding (e.g. --encoding cp1252).",
        )


def _first_bad_byte(path: Path, encoding: str) -> int | None:
    """The line of the first byte `encoding` can't decode, or None."""
    bad = _bad_bytes(path, encoding)
    return bad[0] if bad else None


def _bad_bytes(path: Path, encoding: str) -> tuple[int, bytes] | None:
    """(line, bytes) of the first bytes `encoding` can't decode, or None. Reads in blocks: memory stays flat."""
    decoder = codecs.getincrementaldecoder(encoding)()
    lines_before = 0
    with path.open("rb") as f:
        while True:
            block = f.read(BLOCK_BYTES)
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                start = max(exc.start - (len(exc.object) - len(block)), 0)  # the decoder may hold bytes of the last block
                return lines_before + block[:start].count(b"\n") + 1, bytes(exc.object[exc.start : exc.end])
            except UnicodeError:  # e.g. a codec that needs a BOM
                return 1, block[:2]
            if not block:
                return None
            lines_before += block.count(b"\n")


def _has_utf8_sequence(path: Path) -> bool:
    with path.open("rb") as f:
        while block := f.read(BLOCK_BYTES):
            if UTF8_MULTIBYTE.search(block):
                return True
    return False


def _mostly_utf8(path: Path, line: int, bad: bytes) -> InputError:
    shown = " ".join(f"0x{byte:02X}" for byte in bad)
    return InputError(
        f"line {line} holds {'a byte' if len(bad) == 1 else 'bytes'} that {'is' if len(bad) == 1 else 'are'} not UTF-8 ({shown}), "
        "in a file that is otherwise UTF-8; read as Windows-1252, every accented letter would be sent garbled",
        where=str(path),
        hint="Fix that character and save the file as UTF-8 ('CSV UTF-8' in Excel); "
        "or, if the whole file really is Windows-1252, run again with --encoding cp1252.",
    )


def _header_width(path: Path, encoding: str, delimiter: str) -> int:
    """The cells in the first row that is not blank (the header), read by the csv module.

    With no such row, the widest blank one: the file then reads as empty, and is refused so.
    """
    widest = 1
    with path.open(newline="", encoding=encoding) as text:
        try:
            for cells in csv.reader(text, delimiter=delimiter):
                if any(cell.strip() for cell in cells):
                    return len(cells)
                widest = max(widest, len(cells))
        except csv.Error:
            pass  # records() says what is wrong, naming the row
    return widest


def _detect_delimiter(path: Path, encoding: str) -> str:
    header = ""
    with path.open(newline="", encoding=encoding) as text:
        # The header row, not the first line: blank lines (or lines of bare separators) may come first.
        for line in text:
            if line.strip(" \t\r\n,;\"\ufeff"):
                header = line
                break
    # Separators inside quoted header names don't count.
    counts = {sep: QUOTED.sub("", header).count(sep) for sep in SEPARATORS}
    best = max(counts, key=lambda sep: counts[sep])
    if counts[best]:
        return best
    return "\t" if path.suffix.lower() == ".tsv" else ","
