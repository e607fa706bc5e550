"""Report CSVs carry a UTF-8 BOM, and report.xlsx / failed.xlsx are always written, as text."""

import codecs
import csv

import openpyxl
import pytest
from conftest import cli_env, new_ids, read_report, write_csv

from bulk_updater import cli
from bulk_updater.errors import BulkUpdaterWarning
from bulk_updater.report import excel
from bulk_updater.rows import open_sheet
from bulk_updater.updates import plan_row

HEADER = ["CompanyActivityId", "Status", "mx_Code"]


def run(box, path, out, monkeypatch, *options):
    for name, value in cli_env(box).items():
        monkeypatch.setenv(name, value)
    return cli.main(["run", str(path), "--out", str(out), "--no-progress", "--rate", "1000/1", *options])


def test_report_csvs_start_with_one_bom_also_after_a_resume_rewrote_them(tmp_path, sandbox, monkeypatch, capsys):
    ids = new_ids(4)
    box = sandbox()
    path = write_csv(tmp_path / "in.csv", [HEADER, *[[id_, "Müller", f"00{n}"] for n, id_ in enumerate(ids)]])
    out = tmp_path / "out"
    assert run(box, path, out, monkeypatch, "--max-calls", "2") == 1
    report = out / "report.csv"
    assert report.read_bytes().startswith(codecs.BOM_UTF8 + b"CompanyActivityId,")
    assert (out / "failed.csv").read_bytes().startswith(codecs.BOM_UTF8 + b"CompanyActivityId,")
    with report.open("a", encoding="utf-8", newline="") as f:
        f.write(f"{ids[3]},Mül")  # a line torn by a kill
    # The resume reads the report with its BOM, drops the not_sent and torn lines, rewrites it atomically.
    assert run(box, path, out, monkeypatch) == 0, capsys.readouterr().err
    data = report.read_bytes()
    assert data.startswith(codecs.BOM_UTF8 + b"CompanyActivityId,") and data.count(codecs.BOM_UTF8) == 1
    lines = read_report(report)
    assert sorted(line["_row"] for line in lines) == ["2", "3", "4", "5"] and {line["_outcome"] for line in lines} == {"success"}
    assert {line["Status"] for line in lines} == {"Müller"}


def test_xlsx_copies_are_written_for_a_text_input_every_cell_text(tmp_path, sandbox, monkeypatch, capsys):
    ids = new_ids(2)
    box = sandbox(activities={ids[0]})
    path = write_csv(tmp_path / "in.csv", [HEADER, [ids[0], "Won", "007"], [ids[1], "#N/A", "=1+1"]])
    assert run(box, path, tmp_path / "out", monkeypatch) == 1
    printed = capsys.readouterr().out
    # The end-of-run advice points at the copy that survives Excel.
    assert f"1 rows need another look: {tmp_path / 'out' / 'failed.xlsx'}" in printed
    assert f"bulk-updater retry {tmp_path / 'out' / 'failed.xlsx'} --out NEW_DIR" in printed
    book = openpyxl.load_workbook(tmp_path / "out" / "failed.xlsx")
    sheet = book.active
    assert sheet.title == "failed"
    assert [c.value for c in sheet[2]][:4] == [ids[1], "#N/A", "=1+1", "3"]
    for row in sheet.iter_rows(min_row=1, max_row=2):
        for cell in row:
            assert cell.number_format == "@", cell.coordinate
            assert cell.value is None or cell.data_type == "s", cell.coordinate
    # Read back (as retry reads it), the text #N/A is still the clear token: the clear is not dropped.
    [row] = open_sheet(tmp_path / "out" / "failed.xlsx").rows()
    assert plan_row(row).fields == (("Status", ""), ("mx_Code", "=1+1"))
    report = openpyxl.load_workbook(tmp_path / "out" / "report.xlsx").active
    # Lines are in finish order (the row that clears went first, as the canary): find the line by id.
    [code] = [line[2] for line in report.iter_rows(min_row=2) if line[0].value == ids[0]]
    assert code.value == "007" and code.data_type == "s"


def test_a_fix_typed_into_failed_xlsx_is_sent_exactly(tmp_path, sandbox, monkeypatch, capsys):
    ids = new_ids(1)
    box = sandbox(activities=set())
    path = write_csv(tmp_path / "in.csv", [HEADER, [ids[0], "Won", "1"]])
    assert run(box, path, tmp_path / "out", monkeypatch) == 1
    book = openpyxl.load_workbook(tmp_path / "out" / "failed.xlsx")
    book.active["C2"] = "007"  # typed into a Text-formatted cell: Excel stores it as text
    book.active["C2"].data_type = "s"
    book.save(tmp_path / "fixed.xlsx")
    box.config.activities.add(ids[0])
    for name, value in cli_env(box).items():
        monkeypatch.setenv(name, value)
    assert cli.main(["retry", str(tmp_path / "fixed.xlsx"), "--out", str(tmp_path / "again"), "--no-progress"]) == 0, capsys.readouterr().err
    assert box.state.activities[ids[0]]["Fields"] == {"Status": "Won", "mx_Code": "007"}


def test_no_copy_above_the_line_limit_and_it_says_so(tmp_path, monkeypatch):
    report = write_csv(tmp_path / "report.csv", [HEADER, *[[str(n), "x", ""] for n in range(5)]])
    failed = write_csv(tmp_path / "failed.csv", [HEADER, ["1", "x", ""]])
    (tmp_path / "report.xlsx").write_bytes(b"stale")
    monkeypatch.setattr(excel, "COPY_MAX_LINES", 3)
    with pytest.warns(BulkUpdaterWarning, match=r"report.xlsx was not written: report.csv has 5 lines, more than the 3"):
        written = excel.write_workbook_copies(None, report, failed)
    assert written == [tmp_path / "failed.xlsx"] and not (tmp_path / "report.xlsx").exists()


def test_the_sheet_limit_caps_the_copy():
    assert excel.COPY_MAX_LINES < excel.EXCEL_MAX_ROWS


def test_failed_csv_is_read_back_with_its_bom(tmp_path):
    path = tmp_path / "failed.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows([["CompanyActivityId", "Status", "_row", "_outcome"], [new_ids(1)[0], "Müller", "2", "failed"]])
    sheet = open_sheet(path)
    assert sheet.columns == ["CompanyActivityId", "Status"] and next(sheet.rows()).cells["Status"] == "Müller"
