"""Encodings, separators, braced ids, messages, warnings."""

import json

import pytest
from conftest import cli_env, read_report
from workbooks import write_xlsx

from bulk_updater import cli
from bulk_updater.checking import check
from bulk_updater.errors import BulkUpdaterWarning, InputError
from bulk_updater.report import Summary
from bulk_updater.rows import ReadOptions, Row, open_sheet
from bulk_updater.updates import Invalid, plan_row

ID = "6513270e-269d-4e4b-9d0a-8d3a6a8c2f10"


# --- one stray byte in a UTF-8 file ---


def mostly_utf8(tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes(f"CompanyActivityId,Name\n{ID},Müller\n{ID},Jörg\n".encode() + ID.encode() + b",dash \x96 here\n")
    return path


def test_a_utf8_file_with_one_stray_byte_is_refused_naming_line_and_byte(tmp_path, capsys):
    path = mostly_utf8(tmp_path)
    assert cli.main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"Error: {path}: line 4 holds a byte that is not UTF-8 (0x96), in a file that is otherwise UTF-8" in err
    assert "--encoding cp1252" in err and "save the file as UTF-8" in err


def test_the_stray_byte_refusal_end_to_end_sends_nothing(tmp_path, sandbox, monkeypatch, capsys):
    box = sandbox()
    for name, value in cli_env(box).items():
        monkeypatch.setenv(name, value)
    assert cli.main(["run", str(mostly_utf8(tmp_path)), "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    assert box.state.calls == 0 and not (tmp_path / "out").exists()


def test_windows_1252_as_today_when_no_byte_is_utf8(tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes(f"CompanyActivityId,Name\n{ID},Müller \u2013 x\n".encode("cp1252"))
    [row] = open_sheet(path).rows()
    assert row.cells["Name"] == "Müller \u2013 x"


def test_the_refusal_can_be_bypassed_for_a_report_and_overridden_by_naming_the_encoding(tmp_path):
    path = mostly_utf8(tmp_path)
    # A reader of the tool's own reports that flags bad lines itself reads on (as Windows-1252).
    assert len(list(open_sheet(path, ReadOptions(strict_utf8=False)).rows())) == 3
    rows = list(open_sheet(path, ReadOptions(encoding="cp1252")).rows())
    assert rows[0].cells["Name"] == "MÃ¼ller"  # what the admin asked for, by name


# --- separator on the header row; utf-16 without a BOM ---


def test_the_separator_is_counted_on_the_header_row_not_the_first_line(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(f"\n;;\nCompanyActivityId;Status;Note\n{ID};Won;a, b\n", encoding="utf-8")
    [row] = open_sheet(path).rows()
    assert row.cells == {"CompanyActivityId": ID, "Status": "Won", "Note": "a, b"}


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_encoding_utf16_on_a_file_without_a_bom_reads(tmp_path, capsys, codec):
    path = tmp_path / "in.csv"
    path.write_bytes(f"CompanyActivityId\tStatus\n{ID}\tGrüße\n".encode(codec))
    assert cli.main(["check", str(path), "--encoding", "utf-16"]) == 0, capsys.readouterr().err
    [row] = open_sheet(path, ReadOptions(encoding="utf-16")).rows()
    assert row.cells["Status"] == "Grüße"


# --- braced ids; the invalid-id message ---


def test_a_braced_id_is_sent_bare():
    plan = plan_row(Row(2, {"CompanyActivityId": " {" + ID.upper() + "} ", "Status": "Won"}))
    assert plan.activity_id == ID and plan.to_json()["CompanyActivityId"] == ID
    assert isinstance(plan_row(Row(2, {"CompanyActivityId": "{" + ID, "Status": "Won"})), Invalid)


def test_a_braced_id_is_chained_with_the_bare_one(tmp_path, sandbox, monkeypatch, capsys):
    box = sandbox(latency=(0.05, 0.05))
    path = tmp_path / "in.csv"
    path.write_text(f"CompanyActivityId,Status\n{{{ID.upper()}}},Open\n{ID},Closed\n{{{ID}}},Won\n", encoding="utf-8")
    assert check(path).duplicate_ids == 2
    for name, value in cli_env(box).items():
        monkeypatch.setenv(name, value)
    assert cli.main(["run", str(path), "--out", str(tmp_path / "out"), "--no-progress", "--rate", "1000/1"]) == 0, capsys.readouterr().err
    # Sent bare, one after the other in file order: the last row wins.
    assert box.state.applied == [ID, ID, ID]
    assert box.state.activities == {ID: {"ActivityNote": None, "Fields": {"Status": "Won"}}}


def test_the_invalid_id_message_quotes_the_value_and_the_summary_groups_without_it(tmp_path, sandbox, monkeypatch, capsys):
    box = sandbox()
    path = tmp_path / "in.csv"
    path.write_text("CompanyActivityId,Status\nabc,Won\n12345,Won\n", encoding="utf-8")
    for name, value in cli_env(box).items():
        monkeypatch.setenv(name, value)
    assert cli.main(["run", str(path), "--out", str(tmp_path / "out"), "--no-progress"]) == 1
    messages = [line["_error_message"] for line in read_report(tmp_path / "out" / "report.csv")]
    assert messages == [
        "CompanyActivityId 'abc' is not a GUID (like 255539a4-0380-4b8c-84db-7746b46c3fe2)",
        "CompanyActivityId '12345' is not a GUID (like 255539a4-0380-4b8c-84db-7746b46c3fe2)",
    ]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    [group] = summary["failure_groups"]
    assert (group["rows"], group["error_message"]) == (2, "CompanyActivityId '…' is not a GUID (like 255539a4-0380-4b8c-84db-7746b46c3fe2)")
    assert group["example"] == messages[0]


def test_cell_errors_group_without_their_cell_and_server_messages_are_kept_whole():
    summary = Summary(input="x", rate="1/1")
    summary.count("invalid", "InvalidRow", "Status holds #REF! (cell B2): correct it")
    summary.count("invalid", "InvalidRow", "Status holds #REF! (cell B9): correct it")
    summary.count("failed", "MXInvalidInputException", "Value 'x' is not valid")
    assert [(g["rows"], g["error_message"]) for g in summary.failure_groups()] == [
        (2, "Status holds #REF! (cell …): correct it"), (1, "Value 'x' is not valid")
    ]


# --- options that do nothing get a warning ---


def test_text_file_options_on_a_workbook_and_workbook_options_on_a_text_file_warn(tmp_path, capsys):
    text = tmp_path / "in.csv"
    text.write_text(f"CompanyActivityId,Status\n{ID},Won\n", encoding="utf-8")
    assert cli.main(["check", str(text), "--timezone", "Asia/Kolkata", "--sheet", "Edits"]) == 0
    err = capsys.readouterr().err
    assert f"Warning: --timezone Asia/Kolkata does nothing for {text}: it is a text file, and text cells are never shifted" in err
    assert f"Warning: --sheet Edits does nothing for {text}: it is a text file, and it has no sheets" in err
    book = write_xlsx(tmp_path / "in.xlsx", [["CompanyActivityId", "Status"], [ID, "Won"]])
    assert cli.main(["check", str(book), "--encoding", "cp1252", "--delimiter", ";"]) == 0
    err = capsys.readouterr().err
    assert "Warning: --encoding cp1252 does nothing for" in err and "a workbook has no text encoding" in err
    assert "Warning: --delimiter ; does nothing for" in err and "a workbook has no separator" in err


def test_a_map_entry_naming_no_header_warns(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(f"Activity ID,Stage\n{ID},Won\n", encoding="utf-8")
    (tmp_path / "map.json").write_text(json.dumps({"Activity ID": "CompanyActivityId", "Stagee": "mx_Custom_1"}))
    with pytest.warns(BulkUpdaterWarning, match=r"names the header 'Stagee', which .* does not have: that entry does nothing"):
        sheet = open_sheet(path, ReadOptions(map_path=tmp_path / "map.json"))
    assert sheet.columns == ["CompanyActivityId", "Stage"]


def test_no_warning_when_every_option_does_something(tmp_path, recwarn):
    path = tmp_path / "in.csv"
    path.write_text(f"CompanyActivityId;Status\n{ID};Won\n", encoding="utf-8")
    open_sheet(path, ReadOptions(encoding="utf-8", delimiter=";"))
    assert not [w for w in recwarn if issubclass(w.category, BulkUpdaterWarning)]


def test_input_error_still_wins_over_warnings(tmp_path):
    with pytest.raises(InputError):
        open_sheet(tmp_path / "missing.csv", ReadOptions(sheet="x"))
