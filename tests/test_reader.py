import datetime as dt

import pandas as pd
import pytest

from bulk_updater.errors import InputError
from bulk_updater.rows import open_sheet
from bulk_updater.rows import cell_text
from conftest import write_csv

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


def test_xlsx_cells_become_the_text_shown(tmp_path):
    path = tmp_path / "in.xlsx"
    frame = pd.DataFrame({"CompanyActivityId": [ID], "n": [12], "text": ["007"], "when": [dt.datetime(2024, 3, 26, 14, 15)]})
    frame.to_excel(path, index=False)
    [row] = open_sheet(path).rows()
    assert row.cells == {"CompanyActivityId": ID, "n": "12", "text": "007", "when": "2024-03-26 14:15:00"}


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, ""), (float("nan"), ""), (12.0, "12"), (1.5, "1.5"), (True, "true"), (dt.date(2024, 1, 2), "2024-01-02"), ("007", "007")],
)
def test_cell_text(value, text):
    assert cell_text(value) == text


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
