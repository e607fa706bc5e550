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


MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONS = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE_RELATIONS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def write_xlsx_xml(path: Path, sheet_data: str, dimension: str | None = None, unique_strings: int | None = None, root: str = "") -> Path:
    """An .xlsx written by hand, part by part: `sheet_data` is the XML inside <sheetData> (rows and cells, as a
    hostile or careless writer may place them), `dimension` the range its <dimension ref> declares, and
    `unique_strings` the count its sharedStrings.xml declares (its one string is "CompanyActivityId").
    `root` wraps the sheet in another prefix (`x:`)."""
    import zipfile

    strings = unique_strings is not None
    types = ('<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
             '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>')
    if strings:
        types += '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    book_relations = f'<Relationship Id="rId1" Type="{OFFICE_RELATIONS}/worksheet" Target="worksheets/sheet1.xml"/>'
    if strings:
        book_relations += f'<Relationship Id="rId2" Type="{OFFICE_RELATIONS}/sharedStrings" Target="sharedStrings.xml"/>'
    ns = f'xmlns:{root[:-1]}="{MAIN}"' if root else f'xmlns="{MAIN}"'
    parts = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                               '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                               f'<Default Extension="xml" ContentType="application/xml"/>{types}</Types>',
        "_rels/.rels": f'<?xml version="1.0"?><Relationships xmlns="{RELATIONS}"><Relationship Id="rId1" '
                       f'Type="{OFFICE_RELATIONS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0"?><workbook xmlns="{MAIN}" xmlns:r="{OFFICE_RELATIONS}"><sheets>'
                           '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<?xml version="1.0"?><Relationships xmlns="{RELATIONS}">{book_relations}</Relationships>',
        "xl/worksheets/sheet1.xml": f'<?xml version="1.0"?><{root}worksheet {ns}>'
                                    + (f'<{root}dimension ref="{dimension}"/>' if dimension else "")
                                    + f"<{root}sheetData>{sheet_data}</{root}sheetData></{root}worksheet>",
    }
    if strings:
        parts["xl/sharedStrings.xml"] = f'<?xml version="1.0"?><sst xmlns="{MAIN}" count="1" uniqueCount="{unique_strings}"><si><t>CompanyActivityId</t></si></sst>'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, text in parts.items():
            book.writestr(name, text)
    return path


def text_cell(reference: str, text: str) -> str:
    return f'<c r="{reference}" t="inlineStr"><is><t>{text}</t></is></c>'


def far_cell_xlsx(path: Path, dimension: str | None = "A1:XFD1048576") -> Path:
    """The 1.6 KB workbook that made calamine ask for 512 GB: a header, a row, and one number at XFD1048576."""
    rows = (f'<row r="1">{text_cell("A1", "CompanyActivityId")}{text_cell("B1", "Status")}</row>'
            f'<row r="2">{text_cell("A2", "6513270e-269e-4d37-b2a7-4de452e6b438")}{text_cell("B2", "Won")}</row>'
            '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')
    return write_xlsx_xml(path, rows, dimension)


def patch_xls_record(path: Path, record: bytes, offset: int, fmt: str, *values: int) -> Path:
    """Overwrite fields of the first BIFF record starting with the bytes `record` (its type, length and first fields)."""
    import struct

    data = bytearray(path.read_bytes())
    at = data.find(record)
    assert at > 0, f"{record!r} is not in {path.name}"
    struct.pack_into(fmt, data, at + offset, *values)
    path.write_bytes(bytes(data))
    return path
