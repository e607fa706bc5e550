"""A report's cells mean what they meant to the run that wrote it: a retry reads them with that
run's clear token, however it is reached, and a clear token of an undo is never sent as text."""

from __future__ import annotations

import shutil

from conftest import new_ids, read_report, write_csv

BULK_OPTIONS = {"--rate": "1000/1", "--no-progress": None, "--concurrency": "1"}


def fields(box, activity_id):
    return box.state.activities[activity_id]["Fields"]


def test_a_retry_of_a_retry_of_an_undo_clears_what_the_undo_clears(tmp_path, sandbox, bulk):
    x = new_ids(1)[0]
    box = sandbox(initial={x: {"ActivityNote": "", "Fields": {"Status": "", "mx_O": "o0"}}}, activities={x})
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status", "mx_O"], [x, "A", "o1"]])
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "r"), "--backup")[0] == 0
    # the undo's update fails, and so does its first retry: the rows travel on to a second retry
    box.config.fail_503 = 1.0
    assert bulk(box, "undo", str(tmp_path / "r"), "--out", str(tmp_path / "u"), "--force", "--max-attempts", "1")[0] == 1
    assert bulk(box, "retry", str(tmp_path / "u" / "failed.csv"), "--out", str(tmp_path / "t1"), "--max-attempts", "1")[0] == 1
    box.config.fail_503 = 0.0
    code, _, err = bulk(box, "retry", str(tmp_path / "t1" / "failed.csv"), "--out", str(tmp_path / "t2"))
    assert code == 0, err
    assert fields(box, x) == {"Status": "", "mx_O": "o0"}  # cleared, not "#CLEAR-...#"


def test_a_retry_reads_with_the_runs_clear_token(tmp_path, sandbox, bulk):
    x = new_ids(1)[0]
    box = sandbox(initial={x: {"ActivityNote": "", "Fields": {"Status": "Open"}}}, activities={x}, script=("503",))
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status", "mx_O"], [x, "CLR", "o1"]])
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "r"), "--clear-token", "CLR", "--max-attempts", "1")[0] == 1
    assert bulk(box, "retry", str(tmp_path / "r" / "failed.csv"), "--out", str(tmp_path / "t"))[0] == 0
    assert fields(box, x)["Status"] == ""
    code, _, err = bulk(box, "retry", str(tmp_path / "r" / "failed.csv"), "--out", str(tmp_path / "t2"), "--clear-token", "ZAP")
    assert code == 2 and "--clear-token 'CLR'" in err


def test_a_copied_undo_report_never_sends_the_undo_token_as_text(tmp_path, sandbox, bulk):
    x = new_ids(1)[0]
    box = sandbox(initial={x: {"ActivityNote": "", "Fields": {"Status": ""}}}, activities={x})
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], [x, "A"]])
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "r"), "--backup")[0] == 0
    (tmp_path / "elsewhere").mkdir()
    shutil.copy(tmp_path / "r" / "undo.csv", tmp_path / "elsewhere" / "undo.csv")
    calls = box.state.calls
    # undo.csv sent as a sheet, away from its run: the token is refused, never written
    code, _, _ = bulk(box, "run", str(tmp_path / "elsewhere" / "undo.csv"), "--out", str(tmp_path / "o"))
    [line] = read_report(tmp_path / "o" / "report.csv")
    assert code == 2 or line["_outcome"] == "invalid"
    assert box.state.calls == calls and fields(box, x) == {"Status": "A"}


def test_verify_of_a_retry_ignores_the_fields_it_left_out_and_undo_keeps_the_row(tmp_path, sandbox, bulk):
    x = new_ids(1)[0]
    box = sandbox(initial={x: {"ActivityNote": "", "Fields": {"Status": "", "mx_O": "o0"}}}, activities={x}, script=("503",))
    rows = [["CompanyActivityId", "Status", "mx_O"], [x, "A", "o1"], [x, "B", ""]]
    assert bulk(box, "run", str(write_csv(tmp_path / "in.csv", rows)), "--out", str(tmp_path / "r"), "--max-attempts", "1")[0] == 1
    code, _, err = bulk(box, "retry", str(tmp_path / "r" / "failed.csv"), "--out", str(tmp_path / "t"), "--backup")
    assert code == 0, err
    assert fields(box, x) == {"Status": "B", "mx_O": "o1"}  # row 2 sent without Status: row 3 set it
    code, out, _ = bulk(box, "verify", str(tmp_path / "t"))
    verified = read_report(tmp_path / "t" / "verify.csv")
    assert code == 0 and [line["_verified"] for line in verified] == ["match"], out
    [undo] = read_report(tmp_path / "t" / "undo.csv")
    assert undo["_row"] == "2"
