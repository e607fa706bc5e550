import datetime as dt
import json

import openpyxl
import pytest
from conftest import write_csv
from workbooks import write_ods, write_xls, write_xlsx

from bulk_updater.errors import InputError
from bulk_updater.report import META_COLUMNS
from bulk_updater.report.excel import csv_to_xlsx
from bulk_updater.rows import ReadOptions, open_sheet

ID = "255539a4-0380-4b8c-84db-7746b46c3fe2"


def test_cells_are_read_as_written(tmp_path):
    path = write_csv(tmp_path / "in.csv", [[" CompanyActivityId ", "mx_Custom_1", "mx_Custom_2", "Status"], [ID, "007", "12", "NA"]])
    sheet = open_sheet(path)
    assert sheet.columns == ["CompanyActivityId", "mx_Custom_1", "mx_Custom_2", "Status"]
    [row] = sheet.rows()
    assert row.number == 2
    assert row.cells == {"CompanyActivityId": ID, "mx_Custom_1": "007", "mx_Custom_2": "12", "Status": "NA"}


def test_report_columns_are_ignored_and_blank_rows_keep_numbering(tmp_path):
    path = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status", "_row", "_outcome"], [ID, "a", "9", "failed"], ["", "", "", ""], [ID, "b", "", ""]])
    rows = list(open_sheet(path).rows())
    assert [(r.number, r.cells) for r in rows] == [(2, {"CompanyActivityId": ID, "Status": "a"}), (4, {"CompanyActivityId": ID, "Status": "b"})]


def test_quoted_cells_with_commas_and_line_breaks(tmp_path):
    path = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "ActivityNote"], [ID, 'a, "b"\nc'], [ID, "x"]])
    rows = list(open_sheet(path).rows())
    assert rows[0].cells["ActivityNote"] == 'a, "b"\nc'
    assert rows[1].number == 3


def test_utf8_bom_is_not_part_of_the_header(tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes("\ufeffCompanyActivityId,Status\n".encode() + f"{ID},Won\n".encode())
    assert open_sheet(path).columns == ["CompanyActivityId", "Status"]


TYPED_HEADER = ["CompanyActivityId", "n", "x", "text", "day", "when", "flag"]
TYPED_ROW = [ID, 12, 1.5, "007", dt.date(2024, 3, 26), dt.datetime(2024, 3, 26, 14, 15), True]
SHOWN = {"CompanyActivityId": ID, "n": "12", "x": "1.5", "text": "007", "day": "2024-03-26", "when": "2024-03-26 14:15:00", "flag": "true"}


@pytest.mark.parametrize("suffix", [".xlsx", ".xlsm", ".xls", ".ods"])
def test_workbook_cells_become_the_text_shown(tmp_path, suffix):
    path = tmp_path / f"in{suffix}"
    write = {".xls": write_xls, ".ods": write_ods}.get(suffix, write_xlsx)
    write(path, [TYPED_HEADER, TYPED_ROW])
    sheet = open_sheet(path)
    assert sheet.is_workbook
    [row] = sheet.rows()
    assert row.cells == SHOWN


def test_sheet_is_chosen_by_name_or_number(tmp_path):
    path = write_xlsx(tmp_path / "in.xlsx", [["notes"]], title="Read me", more_sheets={"Edits": [["CompanyActivityId", "Status"], [ID, "Won"]]})
    for choice in ("Edits", "edits", "2"):
        [row] = open_sheet(path, ReadOptions(sheet=choice)).rows()
        assert row.cells["Status"] == "Won"
    assert open_sheet(path, ReadOptions(sheet="Edits")).where == f"{path}, sheet 'Edits'"


def test_workbook_rows_keep_excel_numbers_when_the_sheet_starts_lower_down(tmp_path):
    book = openpyxl.Workbook()
    book.active["C3"], book.active["D3"] = "CompanyActivityId", "Status"
    book.active["C5"], book.active["D5"] = ID, "Won"
    book.active["D6"] = "no id"
    book.save(tmp_path / "in.xlsx")
    rows = list(open_sheet(tmp_path / "in.xlsx").rows())
    assert [(r.number, r.cells) for r in rows] == [(5, {"CompanyActivityId": ID, "Status": "Won"}), (6, {"CompanyActivityId": "", "Status": "no id"})]


def test_timezone_turns_workbook_date_times_into_utc_and_leaves_text_alone(tmp_path):
    path = write_xlsx(tmp_path / "in.xlsx", [["CompanyActivityId", "when", "day", "typed as text"], [ID, dt.datetime(2024, 3, 26, 14, 15), dt.date(2024, 3, 26), "2024-03-26 14:15:00"]])
    [row] = open_sheet(path, ReadOptions(timezone="Asia/Kolkata")).rows()
    assert row.cells["when"] == "2024-03-26 08:45:00"
    # A date has no time to shift; a text cell is sent as written (so a report fed back is never shifted twice).
    assert row.cells["day"] == "2024-03-26" and row.cells["typed as text"] == "2024-03-26 14:15:00"
    [default] = open_sheet(path).rows()
    assert default.cells["when"] == "2024-03-26 14:15:00"


@pytest.mark.parametrize(
    ("data", "options"),
    [
        (f"\ufeffCompanyActivityId,Status\r\n{ID},Wön\r\n".encode(), ReadOptions()),
        (f"CompanyActivityId,Status\n{ID},Wön\n".encode(), ReadOptions()),
        (f"CompanyActivityId\tStatus\r\n{ID}\tWön\r\n".encode("utf-16"), ReadOptions()),
        (f"CompanyActivityId\tStatus\r\n{ID}\tWön\r\n".encode("utf-16-le"), ReadOptions()),
        (f"CompanyActivityId;Status\r\n{ID};Wön\r\n".encode("cp1252"), ReadOptions()),
        (f"CompanyActivityId|Status\r\n{ID}|Wön\r\n".encode("latin-1"), ReadOptions(encoding="latin-1", delimiter="|")),
        (f"CompanyActivityId;Status\r\n{ID};Wön\r\n".encode(), ReadOptions(delimiter="semicolon")),
    ],
    ids=["utf-8 with BOM", "utf-8", "utf-16 tab (Excel unicode text)", "utf-16 without BOM", "windows-1252 semicolon", "given encoding and separator", "named separator"],
)
def test_encodings_and_separators(tmp_path, data, options):
    path = tmp_path / "in.txt"
    path.write_bytes(data)
    sheet = open_sheet(path, options)
    assert sheet.columns == ["CompanyActivityId", "Status"]
    assert [r.cells for r in sheet.rows()] == [{"CompanyActivityId": ID, "Status": "Wön"}]


def test_separator_inside_quoted_header_is_not_counted(tmp_path):
    path = tmp_path / "in.tsv"
    path.write_text(f'CompanyActivityId\t"a;b;c"\n{ID}\tx;y\n', encoding="utf-8")
    [row] = open_sheet(path).rows()
    assert row.cells == {"CompanyActivityId": ID, "a;b;c": "x;y"}


def test_report_xlsx_reads_back_with_its_meta(tmp_path):
    report = write_csv(tmp_path / "report.csv", [["CompanyActivityId", "Status", *META_COLUMNS], [ID, "=1+1", "7", "failed", "1", "500", "HTTP500", "boom"]])
    csv_to_xlsx(report, tmp_path / "report.xlsx")
    [row] = open_sheet(tmp_path / "report.xlsx").rows()
    assert row.number == 2
    assert row.cells == {"CompanyActivityId": ID, "Status": "=1+1"}
    assert row.meta == {"_row": "7", "_outcome": "failed", "_attempts": "1", "_http_status": "500", "_error_type": "HTTP500", "_error_message": "boom"}


def test_map_renames_headers_and_names_the_id_column(tmp_path):
    (tmp_path / "map.json").write_text(json.dumps({"Activity ID": "CompanyActivityId", "Stage": "mx_Custom_1", "Comments": "ActivityNote"}))
    path = write_csv(tmp_path / "in.csv", [["Activity ID", " stage ", "Comments", "Status"], [ID, "Won", "called", "x"]])
    sheet = open_sheet(path, ReadOptions(map_path=tmp_path / "map.json"))
    assert sheet.columns == ["CompanyActivityId", "mx_Custom_1", "ActivityNote", "Status"]
    [row] = sheet.rows()
    assert row.cells == {"CompanyActivityId": ID, "mx_Custom_1": "Won", "ActivityNote": "called", "Status": "x"}


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([["Status"], ["x"]], "there is no CompanyActivityId column"),
        ([["CompanyActivityId", "Status", "Status"], [ID, "a", "b"]], "the column 'Status' appears twice"),
    ],
)
def test_bad_headers_are_refused(tmp_path, rows, message):
    with pytest.raises(InputError, match=message):
        open_sheet(write_csv(tmp_path / "in.csv", rows))


def test_missing_empty_and_unknown_files_are_refused(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        open_sheet(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="folder"):
        open_sheet(tmp_path)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match="empty"):
        open_sheet(tmp_path / "empty.csv")
    (tmp_path / "x.pdf").write_text("x")
    with pytest.raises(InputError, match="unknown file type"):
        open_sheet(tmp_path / "x.pdf")


def test_report_columns_are_kept_aside_as_meta(tmp_path):
    path = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status", "_row", "_outcome"], [ID, "a", "9", "failed"]])
    [row] = open_sheet(path).rows()
    assert row.cells == {"CompanyActivityId": ID, "Status": "a"}
    assert row.meta == {"_row": "9", "_outcome": "failed"}


def test_a_file_that_cant_be_opened_is_refused(tmp_path, monkeypatch):
    path = write_csv(tmp_path / "in.csv", [["CompanyActivityId"], [ID]])

    def locked(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("bulk_updater.rows.delimited.open_delimited", locked)
    with pytest.raises(InputError, match=r"in.csv: the file can't be opened \(Permission denied\)"):
        open_sheet(path)
