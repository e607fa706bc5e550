"""A snapshot is exact, or it is no snapshot: end to end through the CLI
against the sandbox. The backup keeps each old value as the read answered it, tied to the id
asked for; undo sends the backup's own record back as LeadSquared spells it; undo.csv is only
the readable copy, defused, and one changed since the run is named, never sent."""

from __future__ import annotations

import csv
import json
from decimal import Decimal

from conftest import new_ids, read_report, untouched, write_csv

from bulk_updater.safety.record import RECORD_FILE


def fields(box, activity_id: str) -> dict:
    return box.state.activities[activity_id]["Fields"]


def outcomes(path) -> dict[str, tuple[str, str, str]]:
    return {line["CompanyActivityId"]: (line["_outcome"], line["_error_type"], line["_error_message"]) for line in read_report(path)}


# Finding 1: a read answered for another activity is kept as the backup.


def test_a_read_that_answers_for_another_activity_or_names_none_is_never_kept(tmp_path, sandbox, bulk):
    a, b, c, d = new_ids(4)
    initial = {i: {"ActivityNote": "n", "Fields": {"Status": status, "mx_Other": "x"}} for i, status in ((a, "Open"), (b, "Lost"), (c, "Open"), (d, "Open"))}
    box = sandbox(initial=initial, answer_for={a: b, d: ""})  # A's read answers with B; D's names no id
    # C first: the canary's row, read before and after, passes (its note and mx_Other could show blanking: the
    # check decides); a canary read answered for another activity would stop the run before any update (tests/test_canary.py).
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], [c, "Won"], [a, "Won"], [d, "Won"]])

    code, out, err = bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--backup")

    assert code == 1, err
    lines = outcomes(tmp_path / "run" / "report.csv")
    assert lines[a][:2] == ("failed", "BackupFailed") and lines[a][2].startswith(f"the read answered for activity {b}, not {a}")
    assert lines[d][:2] == ("failed", "BackupFailed") and lines[d][2].startswith(f"the read of activity {d} named no activity id")
    assert lines[c][0] == "success"
    assert box.state.applied == [c]  # neither A nor D was updated
    assert [json.loads(line)["activity"] for line in (tmp_path / "run" / RECORD_FILE).read_text().splitlines()[1:]] == [c]

    code, out, err = bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo"))

    assert code == 0, err
    assert [fields(box, i)["Status"] for i in (a, b, c, d)] == ["Open", "Lost", "Open", "Open"]


def test_undo_never_judges_an_activity_by_another_ones_read(tmp_path, sandbox, bulk):
    a, b = new_ids(2)
    box = sandbox(initial={a: {"Fields": {"Status": "Open"}}, b: {"Fields": {"Status": "Won"}}})
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], [a, "Won"]])
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--backup")[0] == 0
    fields(box, a)["Status"] = "Lost"  # a colleague's edit after the run
    box.config.answer_for = {a: b}  # and A's read now answers with B, which looks as the run left A

    code, out, err = bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo"))

    # The undo's canary reads A first: its answer names B, so nothing is restored and the undo stops.
    assert code == 1 and f"the read answered for activity {b}, not {a}" in err
    assert json.loads((tmp_path / "undo" / "summary.json").read_text())["stop_reason"] == "canary"
    assert fields(box, a) == {"Status": "Lost"}

    code, out, err = bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo-2"), "--no-canary")

    assert code == 1
    [line] = read_report(tmp_path / "undo-2" / "report.csv")
    assert (line["_outcome"], line["_error_type"]) == ("failed", "ReadAnotherActivity")
    assert line["_error_message"].startswith(f"the read answered for activity {b}, not {a}")
    assert fields(box, a) == {"Status": "Lost"}  # the colleague's edit stands


# Finding 2: typed JSON values become Python text.


def test_typed_values_are_kept_with_their_type_and_undo_sends_them_as_leadsquared_spells_them(tmp_path, sandbox, bulk):
    x, y = new_ids(2)
    typed = {
        "mx_Bool": False,
        "mx_True": True,
        "mx_Big": 12345678901234567890,
        "mx_Amount": Decimal("12345678901234567.50"),
        "mx_Tiny": Decimal("0.00000010"),
        "mx_Null": None,
    }
    box = sandbox(initial={x: {"ActivityNote": None, "Fields": dict(typed)}, y: {"Fields": {"Status": "Open", "mx_Choice": {"Value": "x", "Label": "X"}}}})
    names = [*typed, "mx_Absent"]
    sheet = write_csv(
        tmp_path / "in.csv",
        [["CompanyActivityId", *names, "mx_Choice"], [x, *["new"] * len(names), ""], [y, *[""] * len(names), "y"]],
    )

    code, out, err = bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--backup")

    assert code == 1, err
    lines = outcomes(tmp_path / "run" / "report.csv")
    assert lines[x][0] == "success"
    assert lines[y][:2] == ("failed", "BackupFailed") and "mx_Choice holds an object ({'Value': 'x', 'Label': 'X'})" in lines[y][2]
    assert fields(box, y)["mx_Choice"] == {"Value": "x", "Label": "X"}  # never updated
    kept = json.loads((tmp_path / "run" / RECORD_FILE).read_text().splitlines()[1])["old"]
    assert kept["mx_Bool"] == ["bool", False] and kept["mx_Amount"] == ["number", "12345678901234567.50"] and kept["mx_Absent"] == ["absent", None]

    code, out, err = bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo"))

    assert code == 0, err
    assert fields(box, x) == {
        "mx_Bool": "false",
        "mx_True": "true",
        "mx_Big": "12345678901234567890",
        "mx_Amount": "12345678901234567.50",
        "mx_Tiny": "0.00000010",  # str(Decimal) would send 1.0E-7
        "mx_Null": "",
        "mx_Absent": "",
    }


# Finding 3: an old value undo can't send.


AWKWARD = {"mx_Na": "#N/A", "mx_Ref": "#REF!", "mx_Formula": "=1+2", "mx_Token": "#CLEAR-deadbeef#", "mx_Blank": "  ", "mx_Zip": "00501"}


def test_old_values_that_look_like_errors_formulas_or_clear_tokens_are_restored_as_text(tmp_path, sandbox, bulk):
    [x] = new_ids(1)
    box = sandbox(initial={x: {"ActivityNote": "=SUM(A1)", "Fields": dict(AWKWARD)}})
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "ActivityNote", *AWKWARD], [x, "new note", *["new"] * len(AWKWARD)]])
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--backup")[0] == 0

    code, out, err = bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo"))

    assert code == 0, err
    assert [line["_outcome"] for line in read_report(tmp_path / "undo" / "report.csv")] == ["success"]
    assert fields(box, x) == AWKWARD and box.state.activities[x]["ActivityNote"] == "=SUM(A1)"


# Finding 4: undo.csv is trusted as it stands.


def test_an_undo_csv_saved_by_a_spreadsheet_is_named_and_never_sent(tmp_path, sandbox, bulk):
    x, y = new_ids(2)
    before = {"mx_Zip": "00501", "mx_Long": "12345678901234567890", "mx_When": "2024-03-01 10:00:00"}
    box = sandbox(initial={x: {"Fields": dict(before)}, y: {"Fields": {"mx_Zip": "007"}}})
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", *before], [x, "1", "2", "2025-01-01 00:00:00"], [y, "8", "", ""]])
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--backup")[0] == 0
    undo_csv = tmp_path / "run" / "undo.csv"
    with undo_csv.open(newline="", encoding="utf-8-sig") as f:
        lines = list(csv.reader(f))
    assert lines[1][1:4] == ["00501", "12345678901234567890", "2024-03-01 10:00:00"]
    lines[1][1:4] = ["501", "1.23457E+19", "3/1/2024 10:00"]  # what Excel saves
    with undo_csv.open("w", newline="", encoding="cp1252") as f:
        csv.writer(f).writerows(lines)

    code, out, err = bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo"))

    assert code == 0, err
    assert fields(box, x) == before and fields(box, y) == {"mx_Zip": "007"}
    warning = "Warning: undo.csv is not the copy the run wrote (row 2, column mx_Zip: the backup holds '00501', undo.csv '501')"
    assert err.count(warning) == 1 and f"Undo sends the backup's own record ({RECORD_FILE}), not undo.csv." in err
    assert any(warning.removeprefix("Warning: ") in w for w in json.loads((tmp_path / "undo" / "summary.json").read_text())["warnings"])


def drop_report_line(run, activity_id: str) -> None:
    """The run's report as a kill before `activity_id`'s update would have left it (an undo refuses a
    successful row whose snapshot the backup lacks)."""
    report = run / "report.csv"
    lines = report.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    report.write_text("".join(line for line in lines if activity_id not in line), encoding="utf-8-sig")


def test_a_torn_last_line_is_dropped_even_with_force(tmp_path, sandbox, bulk):
    x, y = new_ids(2)
    box = sandbox(initial={x: {"Fields": {"Status": "Open"}}, y: {"Fields": {"Status": "Pending review"}}})
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], [x, "Won"], [y, "Won"]])
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--backup", "--concurrency", "1")[0] == 0
    # As if a kill had cut Y's snapshot short, before its update was sent.
    for path in (tmp_path / "run" / "undo.csv", tmp_path / "run" / RECORD_FILE):
        text = path.read_bytes()
        path.write_bytes(text[: text.rindex(b"Pending") + len(b"Pend")])
    fields(box, y)["Status"] = "Pending review"
    drop_report_line(tmp_path / "run", y)  # its update was never sent: the report has no line for it

    code, out, err = bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo"), "--force")

    assert code == 0, err
    assert fields(box, x) == {"Status": "Open"} and fields(box, y) == {"Status": "Pending review"}
    assert [line["CompanyActivityId"] for line in read_report(tmp_path / "undo" / "report.csv")] == [x]
    assert err.count(f"Warning: the last line of {RECORD_FILE} was cut short") == 1


def test_undo_csv_is_defused_like_every_csv_the_tool_writes(tmp_path, sandbox, bulk):
    [x] = new_ids(1)
    before = {"mx_F": "=1+2", "mx_P": "+91987", "mx_M": "-5", "mx_A": "@SUM(A1)", "mx_T": "\t=x"}
    box = sandbox(initial={x: {"Fields": dict(before)}})
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", *before], [x, *["new"] * len(before)]])
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--backup")[0] == 0

    [line] = read_report(tmp_path / "run" / "undo.csv")
    assert [line[name] for name in before] == ["'=1+2", "'+91987", "'-5", "'@SUM(A1)", "'\t=x"]

    code, out, err = bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo"))

    assert code == 0 and "Warning" not in err, err  # the copy is the run's own: nothing to say
    assert fields(box, x) == before  # undo sends the record, without the copy's prefixes


def test_a_folder_without_a_record_falls_back_to_undo_csv_as_saved_and_says_so(tmp_path, sandbox, bulk):
    x, y = new_ids(2)
    box = sandbox(initial={x: {"Fields": {"Status": "Open"}}, y: {"Fields": {"Status": "Pending review"}}})
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], [x, "Won"], [y, "Won"]])
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--backup", "--concurrency", "1")[0] == 0
    (tmp_path / "run" / RECORD_FILE).unlink()  # as an older bulk-updater left the folder
    undo_csv = tmp_path / "run" / "undo.csv"
    text = undo_csv.read_bytes()
    undo_csv.write_bytes(text[: text.rindex(b"Pending") + len(b"Pend")])  # and a kill cut its last line
    fields(box, y)["Status"] = "Pending review"
    drop_report_line(tmp_path / "run", y)  # its update was never sent: the report has no line for it

    code, out, err = bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo"), "--force")

    assert code == 0, err
    assert fields(box, x) == {"Status": "Open"} and fields(box, y) == {"Status": "Pending review"}  # never "Pend"
    assert err.count(f"has no {RECORD_FILE} (an older bulk-updater made this backup): undo reads undo.csv as it is saved now") == 1
    assert err.count("Warning: the last line of undo.csv was cut short") == 1


def test_a_resume_never_extends_a_backup_an_older_version_began(tmp_path, sandbox, bulk):
    ids = new_ids(4)
    box = sandbox(initial=untouched(ids))  # the first check decides: --max-calls 4 stops the run before its last row
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in ids]])
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--backup", "--max-calls", "4", "--concurrency", "1")[0] == 1
    (tmp_path / "run" / RECORD_FILE).unlink()
    calls = box.state.calls

    code, out, err = bulk(box, "resume", str(tmp_path / "run"), "--max-calls", "none")

    assert code == 2 and f"backed up by an older bulk-updater, in undo.csv alone (no {RECORD_FILE})" in err
    assert box.state.calls == calls


def test_a_damaged_record_line_refuses_the_undo_before_anything_is_sent(tmp_path, sandbox, bulk):
    box = sandbox()
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in new_ids(3)]])
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--backup")[0] == 0
    record = tmp_path / "run" / RECORD_FILE
    lines = record.read_text().splitlines(keepends=True)
    record.write_text("".join([lines[0], lines[1], "{not json\n", *lines[3:]]))
    calls = box.state.calls

    code, out, err = bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo"))

    assert code == 2 and "line 3 of the backup's record can't be read" in err
    assert box.state.calls == calls


def test_a_resumed_backup_run_writes_undo_csv_again_from_the_record(tmp_path, sandbox, bulk):
    ids = new_ids(4)
    # A note and a field no row sets: the first check decides, so --max-calls 4 stops the run before its last row.
    box = sandbox(initial={i: {"ActivityNote": "n", "Fields": {"Status": "=old", "mx_Other": "x"}} for i in ids})
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in ids]])
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--backup", "--max-calls", "4", "--concurrency", "1")[0] == 1
    undo_csv = tmp_path / "run" / "undo.csv"
    undo_csv.write_text(undo_csv.read_text(encoding="utf-8-sig").replace("'=old", "old"), encoding="utf-8")  # saved by a spreadsheet

    assert bulk(box, "resume", str(tmp_path / "run"), "--max-calls", "none")[0] == 0

    assert [line["Status"] for line in read_report(undo_csv)] == ["'=old"] * 4
    assert bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo"))[0] == 0
    assert all(fields(box, i) == {"Status": "=old", "mx_Other": "x"} for i in ids)


def test_undos_changed_since_check_compares_the_records_typed_values(tmp_path, sandbox, bulk):
    x, y = new_ids(2)
    box = sandbox(initial={x: {"Fields": {"mx_Flag": False, "mx_Amount": Decimal("1.50")}}, y: {"Fields": {"mx_Flag": True, "mx_Amount": Decimal("2")}}})
    # The update fails after its snapshot (Owner is no user id): each activity still holds its typed old values.
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "mx_Flag", "mx_Amount", "Owner"], [x, "true", "9", "not-a-user"], [y, "false", "9", "not-a-user"]])
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--backup", "--keep-going")[0] == 1
    fields(box, y)["mx_Flag"] = "maybe"  # a colleague's edit

    code, out, err = bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo"))

    assert code == 0, err
    lines = outcomes(tmp_path / "undo" / "report.csv")
    assert lines[x][0] == "success"  # false and 1.50 as read are no change
    assert lines[y][:2] == ("skipped", "ChangedSinceRun") and "mx_Flag is now 'maybe'" in lines[y][2]
    assert fields(box, x) == {"mx_Flag": "false", "mx_Amount": "1.50", "Owner": ""}
