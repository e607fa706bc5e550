"""Workbooks made for the tests, in each format the reader takes."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class OdsFormula:
    """A formula cell of `write_ods_like_libreoffice`: `formula` as LibreOffice stores it (`of:=#N/A`),
    and its result, an error value (`#N/A`)."""

    formula: str
    error: str = "#N/A"


CALCEXT = "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"


def write_ods_like_libreoffice(path: Path, rows: list[list[str | OdsFormula]]) -> Path:
    """An .ods whose cells are stored as LibreOffice Calc 7.4 saves them (compared with its own output):
    text as office:value-type="string" with calcext:value-type="string"; a formula with an error result
    as table:formula, office:value-type="string", office:string-value="", calcext:value-type="error",
    and the error's text in its paragraph."""
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    book = OpenDocumentSpreadsheet()
    sheet = Table(name="Sheet1")
    for values in rows:
        row = TableRow()
        for value in values:
            if isinstance(value, OdsFormula):
                cell = TableCell(formula=value.formula, valuetype="string", stringvalue="")
                cell.setAttrNS(CALCEXT, "value-type", "error")
                shown = value.error
            else:
                cell = TableCell(valuetype="string")
                cell.setAttrNS(CALCEXT, "value-type", "string")
                shown = value
            cell.addElement(P(text=shown))
            row.addElement(cell)
        sheet.addElement(row)
    book.spreadsheet.addElement(sheet)
    book.save(str(path))
    return path


def write_encrypted_xlsx(path: Path, rows: list[list[object]], password: str = "secret") -> Path:
    """An .xlsx that Excel opens only with `password`."""
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = write_xlsx(path.with_name("plain-" + path.name), rows)
    with plain.open("rb") as source, path.open("wb") as target:
        OOXMLFile(source).encrypt(password, target)
    plain.unlink()
    return path


def patch_zip_part(path: Path, part: str, replacements: dict[str, str]) -> Path:
    """Rewrite one XML part of a workbook, as another writer would have stored it (cached results, styles)."""
    import zipfile

    with zipfile.ZipFile(path) as book:
        parts = {name: book.read(name) for name in book.namelist()}
    text = parts[part].decode()
    for old, new in replacements.items():
        assert old in text, f"{old!r} is not in {part}"
        text = text.replace(old, new)
    parts[part] = text.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in parts.items():
            book.writestr(name, data)
    return path


def write_xlsxwriter(path: Path, rows: list[list[object]], formats: dict[int, str] | None = None) -> Path:
    """An .xlsx as xlsxwriter writes it: a formula (a str starting with "=") gets 0 as its saved result,
    and the workbook asks Excel to compute every formula on opening. `formats`: column -> number format."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    styles = {column: book.add_format({"num_format": code}) for column, code in (formats or {}).items()}
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value, styles.get(c)) if c in styles and r else sheet.write(r, c, value)
    book.close()
    return path


def write_xls_cells(path: Path, rows: list[list[object]], errors: dict[tuple[int, int], str], formats: dict[int, str]) -> Path:
    """A legacy .xls with error cells (`errors`: (row, column) -> "#N/A") and number formats by column."""
    book = xlwt.Workbook()
    sheet = book.add_sheet("Sheet1")
    styles = {column: xlwt.easyxf(num_format_str=code) for column, code in formats.items()}
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if (r, c) in errors:
                continue
            style = styles.get(c) if r else None
            sheet.write(r, c, value, style) if style else sheet.write(r, c, value)
    for (r, c), code in errors.items():
        sheet.row(r).set_cell_error(c, code)
    book.save(str(path))
    return path
