"""`retry` refuses a report that is not the report of the run whose folder holds it, and still
takes the run's own reports as the admin edits them. In process, through `cli.main`, against the
sandbox."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from conftest import new_ids, read_report, write_csv

BULK_OPTIONS = {"--no-progress": None, "--rate": "1000/1", "--concurrency": "1", "--max-attempts": "1"}


def fields(box, activity: str) -> dict[str, str]:
    return box.state.activities.get(activity, {}).get("Fields", {})


def by_row(path: Path) -> dict[str, dict[str, str]]:
    return {line["_row"]: line for line in read_report(path)}


def rewrite(path: Path, change, header: list[str] | None = None) -> None:
    """Rewrite a report CSV through `change(lines) -> lines`, as a spreadsheet saving it as UTF-8 would."""
    lines = read_report(path)
    columns = header or list(lines[0])
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        out.writeheader()
        out.writerows(change([dict(line) for line in lines]))


def failed_run(tmp_path: Path, sandbox, bulk, name: str, rows: list[list[str]]) -> Path:
    """A run whose every row fails (the activities are unknown to the sandbox); returns its folder."""
    box = sandbox(activities=set())
    code, _, err = bulk(box, "run", str(write_csv(tmp_path / f"{name}.csv", rows)), "--out", str(tmp_path / name))
    assert code == 1, err
    return tmp_path / name


def refused(code: int, out_dir: Path, box, err: str) -> None:
    """Exit 2, nothing sent (no update, no read), no traceback, no run left in the retry's folder."""
    assert code == 2, err
    assert (box.state.calls, box.state.retrieve_calls) == (0, 0)
    assert "Traceback" not in err
    assert not (out_dir / "run.json").exists() and not (out_dir / "report.csv").exists()
    assert not list(out_dir.glob(".state-*"))


# --- another run's report placed in a run folder -------------------------------------------------


@pytest.mark.parametrize("name", ["failed.csv", "failed.xlsx", "report.csv"])
def test_another_runs_report_in_a_run_folder_is_refused(tmp_path, sandbox, bulk, name):
    """Monday's report saved into Tuesday's folder: its rows would be planned against Tuesday's history."""
    a, b = new_ids(2), new_ids(2)
    monday = failed_run(tmp_path, sandbox, bulk, "monday", [["CompanyActivityId", "Status"], [a[0], "Open"], [a[1], "Won"]])
    tuesday = failed_run(tmp_path, sandbox, bulk, "tuesday", [["CompanyActivityId", "Status"], [b[0], "Lost"], [b[1], "Lost"]])
    placed = tuesday / ("failed.xlsx" if name == "failed.xlsx" else "from-monday.csv")
    shutil.copy(monday / name, placed)
    box = sandbox()

    code, _, err = bulk(box, "retry", str(placed), "--out", str(tmp_path / "again"))

    refused(code, tmp_path / "again", box, err)
    assert placed.name in err and "_row 2" in err and a[0] in err and b[0] in err
    assert "copy it out of" in err and "Put it back in the folder of the run that wrote it" in err


def test_the_first_mismatching_row_is_named_whatever_the_line_order(tmp_path, sandbox, bulk):
    a, b = new_ids(3), new_ids(3)
    monday = failed_run(tmp_path, sandbox, bulk, "monday", [["CompanyActivityId", "Status"], *[[i, "Open"] for i in a]])
    tuesday = failed_run(tmp_path, sandbox, bulk, "tuesday", [["CompanyActivityId", "Status"], [a[0], "Open"], *[[i, "Won"] for i in b[1:]]])
    placed = shutil.copy(monday / "failed.csv", tuesday / "failed.csv")
    rewrite(placed, lambda lines: list(reversed(lines)))  # sorted Z to A: row 4 comes first
    box = sandbox()

    code, _, err = bulk(box, "retry", str(placed), "--out", str(tmp_path / "again"))

    refused(code, tmp_path / "again", box, err)
    assert "_row 3 names the activity" in err and a[1] in err and b[1] in err  # row 2 is the same activity in both


def test_a_row_the_run_never_had_is_refused(tmp_path, sandbox, bulk):
    """Tuesday's sheet starts as Monday's did: only Monday's later rows tell the reports apart."""
    a = new_ids(3)
    monday = failed_run(tmp_path, sandbox, bulk, "monday", [["CompanyActivityId", "Status"], *[[i, "Open"] for i in a]])
    tuesday = failed_run(tmp_path, sandbox, bulk, "tuesday", [["CompanyActivityId", "Status"], [a[0], "Won"]])
    placed = shutil.copy(monday / "failed.csv", tuesday / "failed.csv")
    box = sandbox()

    code, _, err = bulk(box, "retry", str(placed), "--out", str(tmp_path / "again"))

    refused(code, tmp_path / "again", box, err)
    assert "_row 3 is not a row of the run in" in err and "has no line for it" in err


def test_a_column_the_run_never_read_is_refused(tmp_path, sandbox, bulk):
    ids = new_ids(1)
    folder = failed_run(tmp_path, sandbox, bulk, "monday", [["CompanyActivityId", "Status"], [ids[0], "Open"]])
    failed = folder / "failed.csv"
    header = list(read_report(failed)[0])
    rewrite(failed, lambda lines: [{**line, "Priority": "High"} for line in lines], ["CompanyActivityId", "Status", "Priority", *header[2:]])
    box = sandbox()

    code, _, err = bulk(box, "retry", str(failed), "--out", str(tmp_path / "again"))

    refused(code, tmp_path / "again", box, err)
    assert "the column 'Priority' is not one the run" in err and "failed.csv" in err


def test_a_header_a_spreadsheet_changed_is_named_as_such(tmp_path, sandbox, bulk):
    """Opened as ANSI and saved as CSV UTF-8: `Straße` became `StraÃŸe`, a field the run never had."""
    from bulk_updater.history.damage import mojibake

    folder = failed_run(tmp_path, sandbox, bulk, "monday", [["CompanyActivityId", "Straße"], [new_ids(1)[0], "Hauptweg"]])
    failed = folder / "failed.csv"
    failed.write_text(mojibake(failed.read_text(encoding="utf-8-sig")), encoding="utf-8-sig")
    box = sandbox()

    code, _, err = bulk(box, "retry", str(failed), "--out", str(tmp_path / "again"))

    refused(code, tmp_path / "again", box, err)
    assert "the column 'StraÃŸe' is the run's column 'Straße' put through a spreadsheet change" in err
    assert "Put back the header as the run wrote it" in err


def test_a_misspelled_header_renamed_where_it_stood_goes_through(tmp_path, sandbox, bulk):
    """The fix the tool asks for when a misspelled column made every row fail."""
    x = new_ids(1)[0]
    box = sandbox(fields=frozenset({"Status", "mx_Custom_1"}))
    rows = [["CompanyActivityId", "Status", "mx_Custom_3"], [x, "Won", "x"]]
    bulk(box, "run", str(write_csv(tmp_path / "in.csv", rows)), "--out", str(tmp_path / "monday"))
    failed = tmp_path / "monday" / "failed.csv"
    header = list(read_report(failed)[0])
    rewrite(failed, lambda lines: [{**line, "mx_Custom_1": line["mx_Custom_3"]} for line in lines], [c.replace("_3", "_1") for c in header])

    code, _, err = bulk(box, "retry", str(failed), "--out", str(tmp_path / "again"))

    assert code == 0, err
    assert fields(box, x) == {"Status": "Won", "mx_Custom_1": "x"}


def test_a_report_from_before_the_runs_last_session_is_refused(tmp_path, sandbox, bulk):
    """A fixed copy of failed.csv kept in the folder while the run was resumed: its rows were sent since."""
    x, y, z = new_ids(3)
    box = sandbox()
    rows = [["CompanyActivityId", "Status"], [x, "Open"], [y, "Won"], [z, "Lost"]]
    folder = tmp_path / "monday"
    bulk(box, "run", str(write_csv(tmp_path / "in.csv", rows)), "--out", str(folder), "--max-calls", "1")
    kept = shutil.copy(folder / "failed.csv", folder / "failed-fixed.csv")
    rewrite(kept, lambda lines: [{**line, "Status": "Closed"} for line in lines])
    code, out, err = bulk(box, "resume", str(folder), "--max-calls", "10")
    assert code == 0, out + err  # rows 3 and 4 sent with success
    box = sandbox()

    code, _, err = bulk(box, "retry", str(kept), "--out", str(tmp_path / "again"))

    refused(code, tmp_path / "again", box, err)
    assert "_row 3 is 'not_sent' here" in err and "'success' in its report.csv" in err and "failed-fixed.csv" in err


def test_the_first_runs_report_in_its_retrys_folder_is_refused(tmp_path, sandbox, bulk):
    """The chain: a retry's folder holds the retry's record, not the first run's."""
    x, y = new_ids(2)
    box = sandbox(script=("503", "503", "ok", "503"))  # the run's two rows fail; the retry gets row 2 through
    first = tmp_path / "first"
    bulk(box, "run", str(write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], [x, "Open"], [y, "Won"]])), "--out", str(first))
    bulk(box, "retry", str(first / "failed.csv"), "--out", str(tmp_path / "second"))
    placed = shutil.copy(first / "failed.csv", tmp_path / "second" / "first-failed.csv")
    box = sandbox()

    code, _, err = bulk(box, "retry", str(placed), "--out", str(tmp_path / "third"))

    refused(code, tmp_path / "third", box, err)
    assert "_row 2 is 'failed' here" in err


def test_retry_dry_run_refuses_another_runs_report_too(tmp_path, sandbox, bulk):
    a, b = new_ids(1), new_ids(1)
    monday = failed_run(tmp_path, sandbox, bulk, "monday", [["CompanyActivityId", "Status"], [a[0], "Open"]])
    tuesday = failed_run(tmp_path, sandbox, bulk, "tuesday", [["CompanyActivityId", "Status"], [b[0], "Lost"]])
    placed = shutil.copy(monday / "failed.csv", tuesday / "failed.csv")
    box = sandbox()

    code, _, err = bulk(box, "retry", str(placed), "--out", str(tmp_path / "dry"), "--dry-run")

    assert code == 2 and "_row 2 names the activity" in err and not (tmp_path / "dry" / "report.csv").exists()


# --- the run's own reports, as an admin edits them -----------------------------------------------


def test_the_runs_own_failed_csv_edited_by_the_admin_goes_through(tmp_path, sandbox, bulk):
    """Everything an admin may do to the run's failed.csv: fix cells, fix an id the run could not read,
    respell an id, delete a column, mark a row done, sort the lines."""
    x, y, z, w = new_ids(4)
    rows = [["CompanyActivityId", "Status", "Priority"], [x, "Open", "High"], ["", "Won", "Low"], [y, "Lost", "Low"], [w, "Open", "Low"]]
    folder = failed_run(tmp_path, sandbox, bulk, "monday", rows)
    failed = folder / "failed.csv"
    assert by_row(failed)["3"]["_error_message"] == "CompanyActivityId is blank"

    def admin(lines):
        fixed = {
            "2": {"Status": "Closed"},  # a cell fixed
            "3": {"CompanyActivityId": z},  # an id the run could not read (blank), typed in
            "4": {"CompanyActivityId": "{" + y.upper() + "}"},  # the same id, respelled
            "5": {"_outcome": "skipped"},  # marked done: left out
        }
        return sorted(({**line, **fixed[line["_row"]]} for line in lines), key=lambda line: line["Status"])

    rewrite(failed, admin, [c for c in read_report(failed)[0] if c != "Priority"])  # Priority deleted
    box = sandbox()

    code, out, err = bulk(box, "retry", str(failed), "--out", str(tmp_path / "again"))

    assert code == 0, err
    assert fields(box, x) == {"Status": "Closed"} and fields(box, z) == {"Status": "Won"} and fields(box, y) == {"Status": "Lost"}
    assert w not in box.state.activities
    assert "row 2, Status: 'Open' -> 'Closed'" in out
    assert json.loads((tmp_path / "again" / "run.json").read_text())["retry_of"] == str(folder.resolve())


def test_a_retry_of_a_retry_and_the_runs_own_report_csv_go_through(tmp_path, sandbox, bulk):
    x, y = new_ids(2)
    box = sandbox(script=("503", "503", "ok", "503"))  # the run's two rows fail; the retry gets row 2 through
    first = tmp_path / "first"
    bulk(box, "run", str(write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], [x, "Open"], [y, "Won"]])), "--out", str(first))
    assert bulk(box, "retry", str(first / "failed.csv"), "--out", str(tmp_path / "second"))[0] == 1
    rewrite(tmp_path / "second" / "failed.csv", lambda lines: [{**line, "Status": "Closed"} for line in lines])

    code, _, err = bulk(box, "retry", str(tmp_path / "second" / "failed.csv"), "--out", str(tmp_path / "third"))

    assert code == 0, err
    assert fields(box, x) == {"Status": "Open"} and fields(box, y) == {"Status": "Closed"}
    # the first run's report.csv, retried from its own folder: row 2 and row 3 were its rows. (The retry in
    # second took them over: its record is deleted first, the way out its refusal gives, for another account's sandbox.)
    (first / "retries.jsonl").unlink()
    code, _, err = bulk(sandbox(), "retry", str(first / "report.csv"), "--out", str(tmp_path / "fourth"))
    assert code == 0, err
