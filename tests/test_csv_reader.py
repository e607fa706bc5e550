"""Delimited text is read by the csv module exactly as pandas' C parser read it before.

Each file, hand-picked or generated from a seed, is read both ways: the rows handed out, or the
refusal's words, must be the same. `pandas_records` below is the tool's earlier reader, pandas
(it stays a dependency for workbooks and DataFrame input, so it is here to compare).

One difference is deliberate: a blank first line wider than the header (",,,,," above a
two-column header). pandas took its extra cells as index columns and shifted every row
(a column dropped, or a misleading "no CompanyActivityId" / "the file is empty"); the csv
reader refuses it as any other row with too many cells.

BULK_UPDATER_CSV_CASES=20000 runs more generated files than the fast suite's default.
"""

from __future__ import annotations

import codecs
import os
import random
import re
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest
from conftest import new_ids, read_report, write_csv

from bulk_updater import cli
from bulk_updater.errors import InputError
from bulk_updater.rows import ReadOptions, open_sheet
from bulk_updater.rows.delimited import DelimitedSource, open_delimited

GENERATED = int(os.environ.get("BULK_UPDATER_CSV_CASES", "400"))
SEED = 12


# --- the reference: the pandas reader as it was -------------------------------------------------

TOO_MANY_CELLS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
OPEN_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")


def pandas_records(source: DelimitedSource):
    """The old DelimitedSource.records(), and the deliberate difference (module docstring)."""
    first_line_cells = _pandas_first_line_cells(source)
    if first_line_cells > source.width:
        raise InputError(
            f"line 1 has {first_line_cells} cells, but the header has {source.width}",
            where=source.where,
            hint="A cell holding the separator must be quoted; or delete the extra cells on that line.",
        )
    try:
        chunks = pd.read_csv(
            source.path, sep=source.delimiter, encoding=source.encoding, header=None, names=range(source.width),
            dtype=object, keep_default_na=False, na_filter=False, skip_blank_lines=False, chunksize=20_000,
        )
        number = 0
        with chunks:
            for chunk in chunks:
                for cells in chunk.to_numpy().tolist():
                    number += 1
                    yield number, cells
    except pd.errors.ParserError as exc:
        raise _unreadable(source.where, str(exc)) from None


def _pandas_first_line_cells(source: DelimitedSource) -> int:
    try:
        first = pd.read_csv(
            source.path, sep=source.delimiter, encoding=source.encoding, header=None, nrows=1,
            dtype=object, keep_default_na=False, na_filter=False, skip_blank_lines=False,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError):
        return 0  # the full read says what is wrong
    return first.shape[1]


def _unreadable(where: str, parser_message: str) -> InputError:
    if match := TOO_MANY_CELLS.search(parser_message):
        header_cells, line, cells = match.groups()
        return InputError(
            f"line {line} has {cells} cells, but the header has {header_cells}",
            where=where,
            hint="A cell holding the separator must be quoted; or delete the extra cells on that line.",
        )
    match = OPEN_QUOTE.search(parser_message)
    row = f"the row starting on line {int(match[1]) + 1}" if match else "a row"
    return InputError(
        f"{row} can't be read (a quote is left open)",
        where=where,
        hint="Check the quotes on that row: a cell holding quotes, separators or line breaks must be quoted, with its quotes doubled.",
    )


def outcome(records) -> tuple:
    """("rows", [(number, cells)...]) or ("refused", message): what a reader made of a file."""
    try:
        return "rows", [(number, list(cells)) for number, cells in records]
    except InputError as exc:
        return "refused", str(exc)


# --- files to read ----------------------------------------------------------------------------

HAND_PICKED: list[tuple[bytes, dict]] = [
    (b"a,b,c\n1,2,3\n", {}),
    (b'a,b,c\n"1,2",3,"x""y"\n', {}),  # quoted separator, doubled quote
    (b'a,b,c\n"line\nbreak","cr\rlf\r\n",3\n', {}),  # line breaks inside quotes
    (b"a,b,c\r\n1,2,3\r\n", {}),
    (b"a,b,c\r1,2,3\r4,5,6", {}),  # old-Mac line ends, no last one
    (b"a,b,c\n1,2,3\n\n4,5,6\n\n\n", {}),  # blank lines: rows of ""
    (b"\n\n a , b ,c\n 1,2 ,3\n", {}),  # blank lines above the header; spaces kept
    (b"a,b,c\n1\n1,2\n", {}),  # fewer cells than the header
    (b"a,b,c\n1,2,3,4\n", {}),  # more: refused, naming the line
    (b'a,b,c\n"x\ny",2,3\n\n1,2,3,4\n', {}),  # ... by row, not by physical line
    (b"a,b,c\n1,2,3,\n", {}),  # a trailing separator is one cell more
    (b"a,b,c,\n1,2,3,\n", {}),
    (b'a,b,c\n1,"2,3\n4,5,6\n', {}),  # a quote left open to the end of the file
    (b'a,b,c\n\n"x\ny",2,3\n1,"', {}),
    (b'a,b,c\n1,2,3,4,"5\n', {}),  # open quote wins over too many cells
    (b'"a,b\n', {}),  # open quote in the header
    (b'a,b,c\n1,"2"x,3\n1,x"2"x,3\n1,"x" ,3\n', {}),  # quotes not at a cell's start are kept
    (b"a,b,c\n1,\x002,\"x\x00y\"\n", {}),  # NUL bytes
    (b"\xef\xbb\xbfa,b,c\n1,2,3\n", {}),  # a BOM
    (b"\xef\xbb\xbfa,b,c\n1,2,3\n", {"encoding": "utf-8"}),  # a BOM the named encoding keeps
    (b"\xef\xbb\xbf\xef\xbb\xbfa,b,c\n1,2,3\n", {}),  # two
    (b"\xef\xbb\xbf\n\xef\xbb\xbfa,b\n1,2\n", {"encoding": "utf-8"}),
    (b"\xef\xbb\xbf", {}),  # a BOM and nothing else
    (b"a,b,c\n\xef\xbb\xbf1,2,3\n", {}),  # a BOM further on is text
    ("a;b;c\r\nZoë;€;日本\r\n".encode("utf-16"), {}),
    ("a\tb\nZoë\t€\n".encode("utf-16-le"), {"encoding": "utf-16"}),
    ("a;b\nMüller;Café ‰\n".encode("cp1252"), {}),
    (b"a,b\n1," + b"x" * 300_000 + b"\n", {}),  # longer than the csv module's default field limit
    (b"a,b\n1,\"" + b"x\n" * 100_000 + b"\"\n", {}),
    (b"a,b,c", {}),  # header only, no line end
    (b"a,b,c\n", {}),
    (b"\n", {}),
    (b"\r\n\r\n", {}),
    (b" ", {}),
    (b",,,,\na,b\n1,2\n", {}),  # the deliberate difference (module docstring)
    (b"\n,,,,\na,b\n1,2\n", {}),  # ... which pandas refused when not on line 1
    (b"a|b|c\n1||3\n  x\n", {"delimiter": "|"}),
    (b"a b c\n1  3\n  x\n", {"delimiter": " "}),
    (b"a,b,c\n1,\xc2\x85,\xe2\x80\xa8\x0b\x0c\x1c\n", {}),  # what str.splitlines would break on
    (b"a,b\n" + b"1,2\n" * 30_000 + b"1,2,3\n", {}),  # past pandas' first chunk
    (b"a,b\n" + b"1,2\n" * 30_000 + b'1,"2\n', {}),
]


TOKENS = [
    "a", "Zoë", "€", "日本", "😀", " ", "  ", '"', '""', ",", ";", "\t", "|", "\r", "\n", "\r\n",
    "\x00", "\x85", "\u2028", "\x0b", "", "NA", "nan", "007", "1e5", "TRUE", "#N/A", "\ufeff", "'", "=1+1",
]
LINE_ENDS = ["\n", "\r\n", "\r"]


def generated_file(rng: random.Random) -> tuple[bytes, dict]:
    """A small random file: well-formed rows, rows of raw token soup, blank and ragged rows."""
    delimiter = rng.choice([",", ",", ";", "\t", "|"])
    width = rng.randint(1, 5)
    header = ["CompanyActivityId", *(f"col{n}" for n in range(1, width))] if rng.random() < 0.5 else [_cell(rng) for _ in range(width)]
    lines = [_line(rng, header, delimiter)]
    for _ in range(rng.randint(0, 8)):
        kind = rng.random()
        if kind < 0.1:
            cells = []  # a blank line
        elif kind < 0.2:
            cells = [rng.choice([" ", "  ", "\t", delimiter])]
        else:
            cells = [_cell(rng) for _ in range(max(0, width + rng.choice([0, 0, 0, 0, -1, -2, 1])))]
        lines.append(_line(rng, cells, delimiter))
    text = "".join(line + rng.choice(LINE_ENDS) for line in lines)
    if rng.random() < 0.3:
        text = text.rstrip("\r\n")
    if rng.random() < 0.1:
        text = "\n" * rng.randint(1, 2) + text
    return _encoded(rng, text, delimiter)


def _cell(rng: random.Random) -> str:
    return "".join(rng.choice(TOKENS) for _ in range(rng.choice([0, 1, 1, 2, 3, 5])))


def _line(rng: random.Random, cells: list[str], delimiter: str) -> str:
    if rng.random() < 0.25:  # raw: quotes and separators in cells left as they fall
        return delimiter.join(cells)
    return delimiter.join(_quoted(rng, cell, delimiter) for cell in cells)


def _quoted(rng: random.Random, cell: str, delimiter: str) -> str:
    needs = any(ch in cell for ch in (delimiter, '"', "\r", "\n")) or cell[:1] == " "
    if needs or rng.random() < 0.2:
        return '"' + cell.replace('"', '""') + '"'
    return cell


def _encoded(rng: random.Random, text: str, delimiter: str) -> tuple[bytes, dict]:
    options: dict = {"delimiter": delimiter} if delimiter == "|" or rng.random() < 0.3 else {}
    choice = rng.random()
    if choice < 0.1:
        return text.encode("utf-16"), options
    if choice < 0.2:
        cp1252 = text.encode("cp1252", errors="ignore")
        return cp1252, {**options, "encoding": "cp1252"} if rng.random() < 0.5 else options
    if choice < 0.3:
        return codecs.BOM_UTF8 + text.encode("utf-8"), {**options, "encoding": "utf-8"} if rng.random() < 0.5 else options
    return text.encode("utf-8"), options


def all_files() -> list[tuple[bytes, dict]]:
    rng = random.Random(SEED)
    return HAND_PICKED + [generated_file(rng) for _ in range(GENERATED)]


# --- the comparisons ---------------------------------------------------------------------------


def opened(path: Path, data: bytes, options: dict) -> DelimitedSource | None:
    """The file opened as the tool opens it (encoding and separator settled); None if refused there
    (before the reader: the same for both)."""
    path.write_bytes(data)
    try:
        return open_delimited(path, options.get("encoding"), options.get("delimiter"))
    except InputError:
        return None


def test_the_csv_reader_hands_out_what_pandas_did(tmp_path):
    path = tmp_path / "in.csv"
    compared = refused = 0
    for data, options in all_files():
        source = opened(path, data, options)
        if source is None:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas' DtypeWarning and ParserWarning: not what is compared
            expected = outcome(pandas_records(source))
        assert outcome(source.records()) == expected, f"{data[:400]!r} {options}"
        compared += 1
        refused += expected[0] == "refused"
    assert compared > GENERATED // 2 and refused > 10, (compared, refused)  # the generator still makes both kinds


def test_sheets_read_alike_through_both_readers(tmp_path, monkeypatch):
    """The same through open_sheet: header, padded cells, blank rows passed over, row numbers."""
    path = tmp_path / "in.csv"
    compared = 0
    for data, options in all_files():
        if not data.startswith(b"CompanyActivityId") or opened(path, data, options) is None:
            continue
        read = ReadOptions(encoding=options.get("encoding"), delimiter=options.get("delimiter"))
        ours = _sheet_outcome(path, read)
        with monkeypatch.context() as patch, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            patch.setattr(DelimitedSource, "records", pandas_records)
            theirs = _sheet_outcome(path, read)
        assert ours == theirs, f"{data[:400]!r} {options}"
        compared += 1
    assert compared > GENERATED // 10


def _sheet_outcome(path: Path, options: ReadOptions) -> tuple:
    try:
        sheet = open_sheet(path, options)
        return "rows", sheet.columns, [(row.number, row.cells, row.meta) for row in sheet.rows()]
    except InputError as exc:
        return "refused", str(exc)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"a,b,c\n1,2,3\n\n1,2,3,4\n", "line 4 has 4 cells, but the header has 3"),
        (b'a,b,c\n"x\ny",2,3\n1,2,3,4\n', "line 3 has 4 cells, but the header has 3"),
        (b'a,b,c\n1,2,3\n\n1,"2\n3\n', "the row starting on line 4 can't be read (a quote is left open)"),
        (b'a,b,c\n1,"', "the row starting on line 2 can't be read (a quote is left open)"),
        (b",,,,\na,b\n1,2\n", "line 1 has 5 cells, but the header has 2"),
    ],
)
def test_a_row_that_cant_be_read_is_refused_by_its_row(tmp_path, data, problem):
    """Pinned words, not only "as pandas said": a reference that broke alike would not be caught."""
    source = opened(tmp_path / "in.csv", data, {})
    with pytest.raises(InputError) as caught:
        list(source.records())
    assert caught.value.problem == problem


def test_short_and_blank_rows_are_padded_with_empty_cells(tmp_path):
    source = opened(tmp_path / "in.csv", b"a,b,c\n1\n\n \n", {})
    assert list(source.records()) == [(1, ["a", "b", "c"]), (2, ["1", "", ""]), (3, ["", "", ""]), (4, [" ", "", ""])]


# --- the CSV path never needs pandas (its import alone was half the start-up target) -------------

BULK_OPTIONS = {"--no-progress": None, "--rate": "1000/1", "--concurrency": "1", "--max-attempts": "1"}


@pytest.fixture
def without_pandas(monkeypatch):
    """`import pandas` (or numpy) fails, as if they were not installed. In process, so it catches a
    lazy import on the CSV path; the e2e test in test_startup.py catches an import at module level."""
    for name in ("pandas", "numpy"):
        monkeypatch.setitem(sys.modules, name, None)


def test_run_check_and_retry_of_a_csv_need_no_pandas(tmp_path, sandbox, bulk, without_pandas):
    ids = new_ids(3)
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], *([i, "Won"] for i in ids)])
    box = sandbox(script=("503",))  # the first call fails: a row to retry

    assert cli.main(["check", str(sheet)]) == 0
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "first"))[0] == 1
    code, out, err = bulk(box, "retry", str(tmp_path / "first" / "report.csv"), "--out", str(tmp_path / "second"))

    assert code == 0, out + err
    assert [line["_outcome"] for line in read_report(tmp_path / "second" / "report.csv")] == ["success"]
