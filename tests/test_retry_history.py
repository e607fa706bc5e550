"""`retry` against the run behind the report: supersession by later
rows, and the cells a spreadsheet changed. In process, through `cli.main`, against the sandbox."""

from __future__ import annotations

import codecs
import csv
import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import new_ids, read_report, write_csv

from bulk_updater import cli
from bulk_updater.history.damage import mojibake
from bulk_updater.history.rerun import left_out_fields

BULK_OPTIONS = {"--no-progress": None, "--rate": "1000/1", "--concurrency": "1", "--max-attempts": "1"}


def fields(box, activity: str) -> dict[str, str]:
    return box.state.activities.get(activity, {}).get("Fields", {})


def by_row(path: Path) -> dict[str, dict[str, str]]:
    return {line["_row"]: line for line in read_report(path)}


# --- a later success wins over a retried failure ------------------------------------------------


def test_retry_does_not_undo_a_later_row(tmp_path, sandbox, bulk):
    x, y = new_ids(2)
    box = sandbox(script=("503",))  # the first call (row 2) fails; the rest succeed
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], [x, "Open"], [y, "Won"], [x, "Closed"]])
    code, _, _ = bulk(box, "run", str(sheet), "--out", str(tmp_path / "first"))
    assert code == 1 and fields(box, x) == {"Status": "Closed"}
    calls_before = box.state.calls

    code, out, _ = bulk(box, "retry", str(tmp_path / "first" / "failed.csv"), "--out", str(tmp_path / "second"))

    assert code == 0, out
    assert fields(box, x) == {"Status": "Closed"}
    assert box.state.calls == calls_before  # nothing of row 2 was sent
    line = by_row(tmp_path / "second" / "report.csv")["2"]
    assert (line["_outcome"], line["_error_message"]) == ("skipped", "superseded by row 4")
    record = json.loads((tmp_path / "second" / "run.json").read_text())
    assert record["retry_of"] == str((tmp_path / "first").resolve())


def test_a_partly_superseded_row_sends_only_the_rest(tmp_path, sandbox, bulk):
    x = new_ids(1)[0]
    box = sandbox(script=("503",))
    rows = [["CompanyActivityId", "ActivityNote", "Status", "Priority"], [x, "checked", "Open", "High"], [x.upper(), "", "Closed", ""]]
    bulk(box, "run", str(write_csv(tmp_path / "in.csv", rows)), "--out", str(tmp_path / "first"))
    assert fields(box, x) == {"Status": "Closed"}

    code, _, _ = bulk(box, "retry", str(tmp_path / "first" / "failed.csv"), "--out", str(tmp_path / "second"))

    assert code == 0
    assert fields(box, x) == {"Status": "Closed", "Priority": "High"}
    assert box.state.activities[x]["ActivityNote"] == "checked"
    line = by_row(tmp_path / "second" / "report.csv")["2"]
    assert line["_outcome"] == "success" and line["_error_message"] == "sent without Status: superseded by row 3"
    assert line["Status"] == "Open"  # the report keeps the cells as read


def test_a_success_in_an_earlier_retry_of_the_chain_supersedes(tmp_path, sandbox, bulk):
    """Rows 2 and 4 fail; a retry gets only row 4 through; a retry of that retry must not send row 2."""
    x = new_ids(1)[0]
    # The run: rows 2 and 4 fail. The retry: row 2 fails again, row 4 succeeds.
    box = sandbox(script=("503", "ok", "503", "503", "ok"))
    rows = [["CompanyActivityId", "Status"], [x, "Open"], [new_ids(1)[0], "Won"], [x, "Closed"]]
    bulk(box, "run", str(write_csv(tmp_path / "in.csv", rows)), "--out", str(tmp_path / "first"))
    assert x not in box.state.activities
    bulk(box, "retry", str(tmp_path / "first" / "failed.csv"), "--out", str(tmp_path / "second"))
    assert fields(box, x) == {"Status": "Closed"}

    code, _, _ = bulk(box, "retry", str(tmp_path / "second" / "failed.csv"), "--out", str(tmp_path / "third"))

    assert code == 0 and fields(box, x) == {"Status": "Closed"}
    assert by_row(tmp_path / "third" / "report.csv")["2"]["_error_message"] == "superseded by row 4"


def test_a_copied_report_warns_once_and_still_works(tmp_path, sandbox, bulk):
    x = new_ids(1)[0]
    box = sandbox(script=("503",))
    rows = [["CompanyActivityId", "Status"], [x, "Open"], [x, "Closed"]]
    bulk(box, "run", str(write_csv(tmp_path / "in.csv", rows)), "--out", str(tmp_path / "first"))
    (tmp_path / "elsewhere").mkdir()
    copied = shutil.copy(tmp_path / "first" / "failed.csv", tmp_path / "elsewhere" / "failed.csv")

    code, _, err = bulk(box, "retry", str(copied), "--out", str(tmp_path / "second"))

    assert code == 0
    assert err.count("not in the folder of the run that wrote it") == 1
    assert "supersession check" in err and "damage check" in err and "its resume would send them again" in err
    assert fields(box, x) == {"Status": "Open"}  # with no history, the row is sent as it stands
    summary = json.loads((tmp_path / "second" / "summary.json").read_text())
    assert "not in the folder of the run" in summary["warnings"][0]


# --- cells a spreadsheet changed ------------------------------------------------------------------

HEADER = ["CompanyActivityId", "Code", "Big", "Name", "When", "Status"]
ORIGINAL = {"Code": "007", "Big": "12345678901234567890", "Name": "Müller", "When": "2024-03-01", "Status": "Open"}


def first_run_all_failed(tmp_path: Path, sandbox, bulk, rows: list[dict[str, str]]) -> tuple[list[str], Path]:
    """A first run where every row fails (unknown activities); returns the ids and its failed.csv."""
    ids = new_ids(len(rows))
    box = sandbox(activities=set())
    sheet = write_csv(tmp_path / "in.csv", [HEADER, *[[i, *(row.get(c, "") for c in HEADER[1:])] for i, row in zip(ids, rows)]])
    code, _, _ = bulk(box, "run", str(sheet), "--out", str(tmp_path / "first"))
    assert code == 1
    return ids, tmp_path / "first" / "failed.csv"


def edit_failed(path: Path, change) -> None:
    """Rewrite failed.csv's lines through `change(row dict) -> row dict`, as UTF-8."""
    lines = read_report(path)
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.DictWriter(f, fieldnames=list(lines[0]))
        out.writeheader()
        out.writerows(change(dict(line)) for line in lines)


def flagged(report: Path, row: str) -> str:
    line = by_row(report)[row]
    assert line["_outcome"] == "invalid"
    return line["_error_message"]


def test_excel_typing_zeros_and_long_numbers_is_flagged_and_not_sent(tmp_path, sandbox, bulk):
    ids, failed = first_run_all_failed(tmp_path, sandbox, bulk, [ORIGINAL, ORIGINAL, ORIGINAL])

    def excel_opened(line):
        if line["_row"] == "2":
            line["Code"] = "7"
        if line["_row"] == "3":
            line["Big"] = "1.23457E+19"
        if line["_row"] == "4":
            line["Status"] = "Closed"  # the admin's fix
        return line

    edit_failed(failed, excel_opened)
    box = sandbox()
    code, out, _ = bulk(box, "retry", str(failed), "--out", str(tmp_path / "second"))

    assert code == 1
    report = tmp_path / "second" / "report.csv"
    assert "row 2" in (reason := flagged(report, "2")) and "Code was '007', now '7'" in reason and "leading zeros" in reason
    assert "Big was '12345678901234567890', now '1.23457E+19'" in flagged(report, "3")
    assert ids[0] not in box.state.activities and ids[1] not in box.state.activities
    assert fields(box, ids[2])["Status"] == "Closed" and fields(box, ids[2])["Code"] == "007"
    assert "row 4, Status: 'Open' -> 'Closed'" in out
    summary = json.loads((tmp_path / "second" / "summary.json").read_text())
    assert summary["edited_cells"] == 1 and summary["edits"] == ["row 4, Status: 'Open' -> 'Closed'"]


@pytest.mark.parametrize(
    ("old", "saved", "kind"),
    [
        ("=1+2", "3", "a formula replaced by its result"),
        ("12E3", "1.20E+04", "scientific notation rewritten"),
        ("3-4-5", "3/4/2005", "turned into a date"),
        ("true", "TRUE", "a boolean rewritten in capitals"),
        ("-007", "-7", "leading zeros stripped"),
        ("007.50", "7.5", "leading zeros stripped, trailing zeros after the point dropped"),
    ],
)
def test_more_spreadsheet_changes_are_flagged_and_edits_beside_them_are_sent(tmp_path, sandbox, bulk, old, saved, kind):
    """Six changes a spreadsheet makes to a failed.csv it opens and saves; row 3 holds the admin's edits."""
    ids, failed = first_run_all_failed(tmp_path, sandbox, bulk, [{**ORIGINAL, "Code": old}, {**ORIGINAL, "Code": "12"}])
    edits = {"2": {"Code": saved}, "3": {"Code": "13", "Status": "Closed"}}
    edit_failed(failed, lambda line: {**line, **edits[line["_row"]]})
    box = sandbox()

    code, out, _ = bulk(box, "retry", str(failed), "--out", str(tmp_path / "second"))

    assert code == 1, out
    reason = flagged(tmp_path / "second" / "report.csv", "2")
    assert reason.startswith("row 2: spreadsheet damage: ") and f"Code was {old!r}, now {saved!r} ({kind})" in reason
    assert ids[0] not in box.state.activities and box.state.applied == [ids[1]]  # nothing sent for row 2
    assert fields(box, ids[1])["Code"] == "13" and fields(box, ids[1])["Status"] == "Closed"
    assert "row 3, Code: '12' -> '13'" in out and "row 3, Status: 'Open' -> 'Closed'" in out


def test_accept_spreadsheet_changes_sends_them_as_they_are(tmp_path, sandbox, bulk):
    ids, failed = first_run_all_failed(tmp_path, sandbox, bulk, [ORIGINAL])
    edit_failed(failed, lambda line: {**line, "Code": "7", "When": "3/1/2024"})
    box = sandbox()

    code, _, _ = bulk(box, "retry", str(failed), "--out", str(tmp_path / "second"), "--accept-spreadsheet-changes")

    assert code == 0
    assert fields(box, ids[0])["Code"] == "7" and fields(box, ids[0])["When"] == "3/1/2024"
    record = json.loads((tmp_path / "second" / "run.json").read_text())
    assert record["options"]["send"]["accept_spreadsheet_changes"] is True


def test_opened_as_ansi_then_saved_as_csv_utf8(tmp_path, sandbox, bulk):
    ids, failed = first_run_all_failed(tmp_path, sandbox, bulk, [ORIGINAL, {**ORIGINAL, "Name": "Smith"}])
    text = failed.read_text(encoding="utf-8-sig")  # a report written with or without a BOM (an old one)
    failed.write_text(mojibake(text), encoding="utf-8-sig")  # Excel's "CSV UTF-8" writes a BOM
    box = sandbox()

    bulk(box, "retry", str(failed), "--out", str(tmp_path / "second"))

    assert "Name was 'Müller', now 'MÃ¼ller' (UTF-8 text read as Windows-1252)" in flagged(tmp_path / "second" / "report.csv", "2")
    assert ids[0] not in box.state.activities
    assert fields(box, ids[1])["Name"] == "Smith"


def test_opened_correctly_then_saved_as_ansi(tmp_path, sandbox, bulk):
    ids, failed = first_run_all_failed(tmp_path, sandbox, bulk, [{**ORIGINAL, "Name": "राम Müller"}, ORIGINAL])
    text = failed.read_text(encoding="utf-8-sig")  # a report written with or without a BOM (an old one)
    failed.write_bytes(text.encode("cp1252", errors="replace"))  # CSV (Comma delimited): ANSI, ? for the rest
    box = sandbox()

    bulk(box, "retry", str(failed), "--out", str(tmp_path / "second"))

    reason = flagged(tmp_path / "second" / "report.csv", "2")
    assert "Name was 'राम Müller', now '??? Müller'" in reason
    assert ids[0] not in box.state.activities
    assert fields(box, ids[1])["Name"] == "Müller"  # read back as Windows-1252: the same text


def test_a_mixed_encoding_line_is_flagged_not_refused(tmp_path, sandbox, bulk):
    ids, failed = first_run_all_failed(tmp_path, sandbox, bulk, [ORIGINAL, {**ORIGINAL, "Status": "Won"}])
    raw = failed.read_bytes()
    # Opened as ANSI, "é" typed into row 3's Status, saved as ANSI: that line alone is Windows-1252.
    lines = raw.split(b"\r\n")
    at = next(i for i, line in enumerate(lines) if ids[1].encode() in line)
    lines[at] = lines[at].replace(b",Won,", b",Won\xe9,")
    failed.write_bytes(b"\r\n".join(lines))
    box = sandbox()

    code, _, err = bulk(box, "retry", str(failed), "--out", str(tmp_path / "second"))

    assert code == 1, err
    reason = flagged(tmp_path / "second" / "report.csv", "3")
    assert "not UTF-8" in reason and "Name was 'Müller', now 'MÃ¼ller'" in reason and "Status was 'Won', now 'Woné'" in reason
    assert ids[1] not in box.state.activities
    assert fields(box, ids[0])["Name"] == "Müller"  # the UTF-8 lines read as UTF-8


def test_a_retry_of_a_retry_compares_with_the_first_run(tmp_path, sandbox, bulk):
    ids, failed = first_run_all_failed(tmp_path, sandbox, bulk, [ORIGINAL])
    edit_failed(failed, lambda line: {**line, "Code": "7"})
    box = sandbox()
    bulk(box, "retry", str(failed), "--out", str(tmp_path / "second"))  # flagged: invalid, "7" in its failed.csv

    code, _, _ = bulk(box, "retry", str(tmp_path / "second" / "failed.csv"), "--out", str(tmp_path / "third"))

    assert code == 1
    assert "Code was '007', now '7'" in flagged(tmp_path / "third" / "report.csv", "2")
    assert box.state.calls == 0
    record = json.loads((tmp_path / "third" / "run.json").read_text())
    assert record["retry_of"] == str((tmp_path / "second").resolve())


def test_a_superseded_row_that_is_also_damaged_is_skipped(tmp_path, sandbox, bulk):
    x = new_ids(1)[0]
    box = sandbox(script=("503",))
    rows = [["CompanyActivityId", "Code"], [x, "007"], [x, "008"]]
    bulk(box, "run", str(write_csv(tmp_path / "in.csv", rows)), "--out", str(tmp_path / "first"))
    failed = tmp_path / "first" / "failed.csv"
    edit_failed(failed, lambda line: {**line, "Code": "7"})

    code, _, _ = bulk(box, "retry", str(failed), "--out", str(tmp_path / "second"))

    assert code == 0 and fields(box, x) == {"Code": "008"}
    line = by_row(tmp_path / "second" / "report.csv")["2"]
    assert (line["_outcome"], line["_error_message"]) == ("skipped", "superseded by row 3")


def test_a_report_csv_edited_in_place_is_not_taken_as_the_original(tmp_path, sandbox, bulk):
    ids, _ = first_run_all_failed(tmp_path, sandbox, bulk, [ORIGINAL])
    report = tmp_path / "first" / "report.csv"
    edit_failed(report, lambda line: {**line, "Code": "7"})
    run_json = tmp_path / "first" / "run.json"
    import os

    os.utime(run_json, (run_json.stat().st_mtime - 60,) * 2)  # saved from Excel a minute after the run
    box = sandbox()

    code, _, err = bulk(box, "retry", str(report), "--out", str(tmp_path / "second"))

    assert "was changed after its run ended" in err and "damage check is skipped" in err
    assert code == 0 and fields(box, ids[0])["Code"] == "7"


def test_check_warns_about_signs_of_an_excel_round_trip(tmp_path, capsys):
    rows = [
        ["CompanyActivityId", "Name", "Phone", "Ref"],
        [new_ids(1)[0], "MÃ¼ller", "9.19877E+11", "0042"],
        [new_ids(1)[0], "??? Kumar", "919876543210", "1.23457E+19"],
    ]
    path = tmp_path / "in.csv"
    path.write_bytes(codecs.BOM_UTF8 + "\n".join(",".join(r) for r in rows).encode("utf-8"))

    assert cli.main(["check", str(path)]) == 0
    err = capsys.readouterr()
    text = err.out + err.err
    assert "UTF-8 text read as Windows-1252" in text and "row 2, Name: 'MÃ¼ller'" in text
    assert "runs of '?'" in text and "row 3, Name: '??? Kumar'" in text
    assert "column 'Phone'" in text and "column 'Ref'" in text and "scientific notation" in text


def test_a_report_sorted_in_a_spreadsheet_is_sent_in_row_order(tmp_path, sandbox, bulk):
    x = new_ids(1)[0]
    box = sandbox(script=("503", "ok", "503"))  # rows 2 and 4 fail
    rows = [["CompanyActivityId", "Status"], [x, "Open"], [new_ids(1)[0], "Won"], [x, "Closed"]]
    bulk(box, "run", str(write_csv(tmp_path / "in.csv", rows)), "--out", str(tmp_path / "first"))
    failed = tmp_path / "first" / "failed.csv"
    lines = read_report(failed)
    assert [line["_row"] for line in lines] == ["2", "4"]
    with failed.open("w", newline="", encoding="utf-8") as f:  # sorted by Status, Z to A
        out = csv.DictWriter(f, fieldnames=list(lines[0]))
        out.writeheader()
        out.writerows(reversed(lines))

    code, _, _ = bulk(box, "retry", str(failed), "--out", str(tmp_path / "second"))

    assert code == 0 and fields(box, x) == {"Status": "Closed"}
    assert box.state.applied[-2:] == [x, x]


def test_fixes_made_in_failed_xlsx_are_sent_exactly(tmp_path, sandbox, bulk):
    import openpyxl
    from workbooks import write_xlsx

    ids = new_ids(2)
    box = sandbox(activities=set())
    sheet = write_xlsx(tmp_path / "in.xlsx", [["CompanyActivityId", "Code", "Status"], [ids[0], "007", "Open"], [ids[1], "0042", "Open"]])
    bulk(box, "run", str(sheet), "--out", str(tmp_path / "first"))
    failed = tmp_path / "first" / "failed.xlsx"
    book = openpyxl.load_workbook(failed)
    rows = list(book.active.iter_rows(min_row=2))
    rows[0][1].value, rows[0][1].number_format = "008", "@"  # typed under the Text format: stays text
    rows[1][2].value = "Closed"
    book.save(failed)
    box = sandbox()

    code, out, _ = bulk(box, "retry", str(failed), "--out", str(tmp_path / "second"))

    assert code == 0, out
    assert fields(box, ids[0]) == {"Code": "008", "Status": "Open"} and fields(box, ids[1]) == {"Code": "0042", "Status": "Closed"}
    assert "row 2, Code: '007' -> '008'" in out and "row 3, Status: 'Open' -> 'Closed'" in out


def test_a_number_typed_over_leading_zeros_in_failed_xlsx_is_flagged(tmp_path, sandbox, bulk):
    import openpyxl
    from workbooks import write_xlsx

    x = new_ids(1)[0]
    box = sandbox(activities=set())
    bulk(box, "run", str(write_xlsx(tmp_path / "in.xlsx", [["CompanyActivityId", "Code"], [x, "007"]])), "--out", str(tmp_path / "first"))
    failed = tmp_path / "first" / "failed.xlsx"
    book = openpyxl.load_workbook(failed)
    book.active["B2"].value = 7  # a General cell: Excel stores the number
    book.save(failed)
    box = sandbox()

    code, _, _ = bulk(box, "retry", str(failed), "--out", str(tmp_path / "second"))

    assert code == 1 and box.state.calls == 0
    assert "Code was '007', now '7'" in flagged(tmp_path / "second" / "report.csv", "2")


def test_a_stopped_retry_resumes_with_its_history(tmp_path, sandbox, bulk):
    x, y, z = new_ids(3)
    box = sandbox(script=("503", "503", "ok", "503"))  # rows 2, 3 and 5 fail; row 4 succeeds
    rows = [["CompanyActivityId", "Status"], [x, "Open"], [y, "Won"], [x, "Closed"], [z, "Lost"]]
    bulk(box, "run", str(write_csv(tmp_path / "in.csv", rows)), "--out", str(tmp_path / "first"))
    retry = ["retry", str(tmp_path / "first" / "failed.csv"), "--out", str(tmp_path / "second")]

    bulk(box, *retry, "--max-calls", "1")  # row 2 superseded (no call), row 3 sent, row 5 not_sent
    assert by_row(tmp_path / "second" / "report.csv")["5"]["_outcome"] == "not_sent"
    code, _, _ = bulk(box, *retry)

    assert code == 0
    lines = by_row(tmp_path / "second" / "report.csv")
    assert {n: line["_outcome"] for n, line in lines.items()} == {"2": "skipped", "3": "success", "5": "success"}
    assert fields(box, x) == {"Status": "Closed"} and fields(box, z) == {"Status": "Lost"}
    assert json.loads((tmp_path / "second" / "run.json").read_text())["retry_of"] == str((tmp_path / "first").resolve())
    assert not list((tmp_path / "second").glob(".state-*"))  # rebuilt by each session, then removed


def test_resume_keeps_the_recorded_accept_spreadsheet_changes(tmp_path, sandbox, bulk):
    ids, failed = first_run_all_failed(tmp_path, sandbox, bulk, [ORIGINAL, ORIGINAL])
    edit_failed(failed, lambda line: {**line, "Code": "7"})
    box = sandbox()
    out = tmp_path / "second"
    bulk(box, "retry", str(failed), "--out", str(out), "--accept-spreadsheet-changes", "--max-calls", "1")
    assert len(box.state.applied) == 1

    code, _, err = bulk(box, "resume", str(out))

    assert code == 0, err
    assert [fields(box, i)["Code"] for i in ids] == ["7", "7"]


def test_retry_dry_run_shows_what_retry_would_send_and_sends_nothing(tmp_path, sandbox, bulk):
    x, y, z = new_ids(3)
    box = sandbox(script=("503", "503"))  # rows 2 and 3 fail; the rest succeed
    rows = [["CompanyActivityId", "Status", "mx_Custom_1"], [x, "Open", ""], [y, "Won", "u1"], [x, "Closed", ""], [z, "Lost", ""]]
    bulk(box, "run", str(write_csv(tmp_path / "in.csv", rows)), "--concurrency", "1", "--out", str(tmp_path / "first"))
    calls_before = box.state.calls

    code, out, _ = bulk(box, "retry", str(tmp_path / "first" / "failed.csv"), "--out", str(tmp_path / "dry"), "--dry-run")

    assert code == 0, out
    assert box.state.calls == calls_before
    dry = by_row(tmp_path / "dry" / "report.csv")
    assert (dry["2"]["_outcome"], dry["2"]["_error_message"]) == ("skipped", "superseded by row 4")
    assert (dry["3"]["_outcome"], dry["3"]["_error_type"]) == ("not_sent", "DryRun")
    assert "To send it: bulk-updater retry" in out
    # the real retry replaces the dry run's report in the same folder
    code, _, _ = bulk(box, "retry", str(tmp_path / "first" / "failed.csv"), "--out", str(tmp_path / "dry"))
    assert code == 0 and fields(box, y) == {"Status": "Won", "mx_Custom_1": "u1"} and fields(box, x) == {"Status": "Closed"}


def test_a_row_superseded_field_by_field_by_two_later_rows_names_both(tmp_path, sandbox, bulk):
    """Supersession names every field left out and every later row that set one; a retried row whose
    activity later rows set only other fields of is sent whole, and says nothing."""
    x, y = new_ids(2)
    box = sandbox(script=("503", "503"))  # rows 2 and 3 fail; rows 4, 5 and 6 succeed
    rows = [
        ["CompanyActivityId", "Status", "Priority", "Code"],
        [x, "Open", "High", "A1"], [y, "Won", "", ""], [x, "Closed", "", ""], [x, "", "Low", ""], [y, "", "Medium", ""],
    ]  # fmt: skip
    bulk(box, "run", str(write_csv(tmp_path / "in.csv", rows)), "--out", str(tmp_path / "first"))
    assert fields(box, x) == {"Status": "Closed", "Priority": "Low"} and fields(box, y) == {"Priority": "Medium"}

    code, _, err = bulk(box, "retry", str(tmp_path / "first" / "failed.csv"), "--out", str(tmp_path / "second"))

    assert code == 0, err
    lines = by_row(tmp_path / "second" / "report.csv")
    assert (lines["2"]["_outcome"], lines["2"]["_error_message"]) == ("success", "sent without Status, Priority: superseded by rows 4, 5")
    assert (lines["3"]["_outcome"], lines["3"]["_error_message"]) == ("success", "")
    assert fields(box, x) == {"Status": "Closed", "Priority": "Low", "Code": "A1"} and fields(box, y) == {"Status": "Won", "Priority": "Medium"}


def test_a_note_changed_by_a_spreadsheet_is_flagged_like_any_field(tmp_path, sandbox, bulk):
    ids = new_ids(2)
    box = sandbox(activities=set())  # the run's rows all fail
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "ActivityNote", "Status"], *[[i, "007", "Won"] for i in ids]])
    bulk(box, "run", str(sheet), "--out", str(tmp_path / "first"))
    failed = tmp_path / "first" / "failed.csv"
    edit_failed(failed, lambda line: {**line, "ActivityNote": "7"} if line["CompanyActivityId"] == ids[0] else line)

    code, _, err = bulk(sandbox(), "retry", str(failed), "--out", str(tmp_path / "second"))

    assert code == 1, err
    assert "ActivityNote was '007', now '7' (leading zeros stripped)" in flagged(tmp_path / "second" / "report.csv", "2")
    assert by_row(tmp_path / "second" / "report.csv")["3"]["_outcome"] == "success"


def test_the_fields_a_retried_row_was_sent_without_are_read_back_from_its_message():
    """verify leaves these fields out of what the row wrote (safety/written.py): every one of them, note included."""
    assert left_out_fields("sent without Status, ActivityNote, mx_Custom_1: superseded by rows 4, 9") == {"Status", "ActivityNote", "mx_Custom_1"}
    assert left_out_fields("sent without Status: superseded by row 4") == {"Status"}
    assert left_out_fields("superseded by row 4") == set() and left_out_fields("MXInvalidInputException: sent without Status") == set()
    assert left_out_fields("changed since the run: superseded by rows 4, 5 is now 'x'") == set()


def test_a_line_saved_in_another_encoding_with_nothing_changed_is_sent(tmp_path, sandbox, bulk):
    """A line alone in Windows-1252 is flagged only where a cell differs from the first run's."""
    ids, failed = first_run_all_failed(tmp_path, sandbox, bulk, [ORIGINAL, ORIGINAL])
    lines = failed.read_bytes().split(b"\r\n")
    at = next(i for i, line in enumerate(lines) if ids[1].encode() in line)
    lines[at] = lines[at].decode("utf-8").encode("cp1252")  # "Müller" as Windows-1252 bytes: the same text
    failed.write_bytes(b"\r\n".join(lines))
    box = sandbox()

    code, _, err = bulk(box, "retry", str(failed), "--out", str(tmp_path / "second"))

    assert code == 0, err
    assert {line["_row"]: line["_outcome"] for line in read_report(tmp_path / "second" / "report.csv")} == {"2": "success", "3": "success"}
    assert fields(box, ids[1])["Name"] == "Müller"


def test_the_history_is_the_same_when_indexed_in_many_batches(tmp_path, sandbox, bulk, monkeypatch):
    """A report of more lines than a batch (10,000) is indexed in parts: supersession and the damage
    check see every part. A batch of one line makes every line its own part."""
    from bulk_updater.history import lineage

    monkeypatch.setattr(lineage, "BATCH", 1)
    x, y, z = new_ids(3)
    box = sandbox(script=("503", "503", "503"))  # rows 2, 3 and 4 fail; row 5 succeeds
    rows = [["CompanyActivityId", "Status", "Code"], [x, "Open", "007"], [y, "Won", "007"], [z, "Won", "007"], [x, "Closed", ""]]
    bulk(box, "run", str(write_csv(tmp_path / "in.csv", rows)), "--out", str(tmp_path / "first"))
    failed = tmp_path / "first" / "failed.csv"
    edit_failed(failed, lambda line: {**line, "Code": "7"} if line["_row"] == "4" else line)  # Excel, on one line

    code, _, err = bulk(box, "retry", str(failed), "--out", str(tmp_path / "second"))

    assert code == 1, err
    lines = by_row(tmp_path / "second" / "report.csv")
    assert (lines["2"]["_outcome"], lines["2"]["_error_message"]) == ("success", "sent without Status: superseded by row 5")
    assert lines["3"]["_outcome"] == "success" and "leading zeros stripped" in flagged(tmp_path / "second" / "report.csv", "4")
    assert fields(box, x) == {"Status": "Closed", "Code": "007"} and z not in box.state.activities


def test_a_runs_report_saved_again_as_ansi_is_still_read_for_its_history(tmp_path, sandbox, bulk):
    """report.csv opened and saved as ANSI (Windows-1252) after its run: its bytes are not UTF-8 any more.
    The retry still reads which rows succeeded (a bad byte is replaced, not a crash) and says the
    cells can't be trusted for the damage check."""
    x, y = new_ids(2)
    box = sandbox(script=("503",))  # row 2 fails; rows 3 and 4 succeed
    rows = [["CompanyActivityId", "Status", "Name"], [x, "Open", "Müller"], [y, "Won", "Müller"], [x, "Closed", ""]]
    bulk(box, "run", str(write_csv(tmp_path / "in.csv", rows)), "--out", str(tmp_path / "first"))
    report = tmp_path / "first" / "report.csv"
    report.write_bytes(report.read_text(encoding="utf-8-sig").encode("cp1252"))
    run_json = tmp_path / "first" / "run.json"
    os.utime(run_json, (run_json.stat().st_mtime - 60,) * 2)  # saved a minute after the run

    code, _, err = bulk(box, "retry", str(tmp_path / "first" / "failed.csv"), "--out", str(tmp_path / "second"))

    assert code == 0, err
    assert "was changed after its run ended" in err and "Traceback" not in err
    line = by_row(tmp_path / "second" / "report.csv")["2"]
    assert (line["_outcome"], line["_error_message"]) == ("success", "sent without Status: superseded by row 4")
    assert fields(box, x) == {"Status": "Closed", "Name": "Müller"}
