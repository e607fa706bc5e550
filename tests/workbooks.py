"""Workbooks made for the tests, in each format the reader takes."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import xlwt


def write_xlsx(path: Path, rows: list[list[object]], title: str = "Sheet1", more_sheets: dict[str, list[list[object]]] | None = None) -> Path:
    """An .xlsx (or .xlsm) whose cells keep their Python types: int, float, date, datetime, bool, str."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    for name, other in (more_sheets or {}).items():
        extra = book.create_sheet(name)
        for row in other:
            extra.append(row)
    book.save(path)
    return path


def write_xls(path: Path, rows: list[list[object]]) -> Path:
    """A legacy .xls; dates need a number format to be dates."""
    import datetime as dt

    book = xlwt.Workbook()
    sheet = book.add_sheet("Sheet1")
    formats = {dt.datetime: xlwt.easyxf(num_format_str="yyyy-mm-dd hh:mm:ss"), dt.date: xlwt.easyxf(num_format_str="yyyy-mm-dd")}
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            style = formats.get(type(value))
            sheet.write(r, c, value, style) if style else sheet.write(r, c, value)
    book.save(str(path))
    return path


def write_ods(path: Path, rows: list[list[object]]) -> Path:
    pd.DataFrame(rows[1:], columns=rows[0]).to_excel(path, index=False, engine="odf")
    return path


def write_encrypted_xlsx(path: Path, rows: list[list[object]], password: str = "secret") -> Path:
    """An .xlsx that Excel opens only with `password`."""
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = write_xlsx(path.with_name("plain-" + path.name), rows)
    with plain.open("rb") as source, path.open("wb") as target:
        OOXMLFile(source).encrypt(password, target)
    plain.unlink()
    return path
