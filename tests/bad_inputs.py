"""The corpus of files an admin might give that can't be used, each with the message it must get.

Each case builds its file in a folder and returns (path, extra CLI options). The
expected parts name what is wrong and where (file, sheet, row, column).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from workbooks import write_encrypted_xlsx, write_xlsx

ID = "255539a4-0380-4b8c-84db-7746b46c3fe2"


@dataclass(frozen=True)
class BadInput:
    name: str
    build: Callable[[Path], tuple[Path, list[str]]]
    # Parts the message must hold; "{path}" stands for the file's path.
    expected: tuple[str, ...]


def _text(name: str, data: bytes, *options: str):
    def build(folder: Path) -> tuple[Path, list[str]]:
        path = folder / name
        path.write_bytes(data)
        return path, list(options)

    return build


def _workbook(name: str, rows, *options: str, encrypted: bool = False):
    def build(folder: Path) -> tuple[Path, list[str]]:
        path = folder / name
        (write_encrypted_xlsx if encrypted else write_xlsx)(path, rows)
        return path, list(options)

    return build


def _folder(folder: Path) -> tuple[Path, list[str]]:
    path = folder / "edits.csv"
    path.mkdir()
    return path, []


def _missing(folder: Path) -> tuple[Path, list[str]]:
    return folder / "nope.csv", []


CASES = [
    BadInput("missing file", _missing, ("{path}: no such file", "Check the path")),
    BadInput("folder", _folder, ("{path}: this is a folder, not a file",)),
    BadInput("empty file", _text("empty.csv", b""), ("{path}: the file is empty",)),
    BadInput("blank lines only", _text("blank.csv", b"\r\n,,\r\n"), ("{path}: the file is empty",)),
    BadInput("header only", _text("header.csv", b"CompanyActivityId,Status\r\n"), ("{path}: there are no data rows below the header (row 1)", "Add one row per activity")),
    BadInput("no id column", _text("noid.csv", f"Id,Status\r\n{ID},Won\r\n".encode()), ("{path}, row 1: there is no CompanyActivityId column", "--map")),
    BadInput("duplicate headers", _text("dup.csv", f"CompanyActivityId,Status,status ,Status\r\n{ID},a,b,c\r\n".encode()), ("{path}, row 1, column D: the column 'Status' appears twice", "Rename or delete")),
    BadInput("bad bytes in the chosen encoding", _text("latin.csv", f"CompanyActivityId,Status\r\n{ID},W\xf6n\r\n".encode("cp1252"), "--encoding", "utf-8"), ("{path}: line 2 holds bytes that can't be read as utf-8", "--encoding")),
    BadInput("bytes neither UTF-8 nor Windows-1252", _text("mojibake.csv", f"CompanyActivityId,Status\r\n{ID},ok\r\n{ID},\x81\x8d\r\n".encode("latin-1")), ("{path}: line 3 holds bytes that can't be read as UTF-8 or Windows-1252",)),
    BadInput("unknown encoding", _text("ok.csv", f"CompanyActivityId,Status\r\n{ID},a\r\n".encode(), "--encoding", "klingon"), ("--encoding 'klingon' is not an encoding",)),
    BadInput("corrupt workbook", _text("broken.xlsx", b"PK\x03\x04 this is not really a workbook"), ("{path}: the workbook can't be read", "save it again as .xlsx")),
    BadInput("csv renamed to xls", _text("renamed.xls", f"CompanyActivityId\r\n{ID}\r\n".encode()), ("{path}: the workbook can't be read",)),
    BadInput("password-protected workbook", _workbook("locked.xlsx", [["CompanyActivityId"], [ID]], encrypted=True), ("{path}: the workbook is protected by a password", "remove the password")),
    BadInput("missing sheet", _workbook("book.xlsx", [["CompanyActivityId", "Status"], [ID, "a"]], "--sheet", "Edits"), ("{path}: there is no sheet 'Edits'", "Its sheets are 'Sheet1'")),
    BadInput("workbook without id column", _workbook("noid.xlsx", [[], ["Id", "Status"], [ID, "a"]]), ("{path}, sheet 'Sheet1', row 2: there is no CompanyActivityId column",)),
    BadInput("workbook header only", _workbook("header.xlsx", [["CompanyActivityId", "Status"]]), ("{path}, sheet 'Sheet1': there are no data rows below the header (row 1)",)),
    BadInput("unknown extension", _text("edits.pdf", b"%PDF-1.4"), ("{path}: unknown file type '.pdf'", ".csv", ".xlsx")),
    BadInput("unknown time zone", _text("ok.csv", f"CompanyActivityId,Status\r\n{ID},a\r\n".encode(), "--timezone", "Mars/Olympus"), ("--timezone 'Mars/Olympus' is not a time zone",)),
    BadInput("bad quoting", _text("quotes.csv", f'CompanyActivityId,Note\r\n{ID},"never closed\r\n'.encode()), ("{path}: the row starting on line 2 can't be read", "quotes")),
    BadInput("a row longer than the header", _text("shifted.csv", f"CompanyActivityId,Note,Status\r\n{ID},Hello, world,Won\r\n".encode()), ("{path}: line 2 has 4 cells, but the header has 3", "quoted")),
]
