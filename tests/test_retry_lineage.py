"""A retry takes over the rows its run left: the run's folder records it (retries.jsonl), and neither a
resume of the run nor a second retry of its report sends over what the retry set. In process, through
`cli.main`, against the sandbox."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from conftest import new_ids, read_report, write_csv

from bulk_updater import cli
from bulk_updater.rundir.folder import lock_out_dir
from bulk_updater.rundir.retries import RETRIES_FILE

BULK_OPTIONS = {"--no-progress": None, "--rate": "1000/1", "--concurrency": "1", "--max-attempts": "1"}


def fields(box, activity: str) -> dict[str, str]:
    return box.state.activities.get(activity, {}).get("Fields", {})


def edit_report(path: Path, row: str, column: str, value: str) -> None:
    """The admin's fix of one cell of a failed.csv, saved as bulk-updater wrote it (UTF-8 with a BOM)."""
    lines = read_report(path)
    for line in lines:
        if line["_row"] == row:
            line[column] = value
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        writer = csv.DictWriter(f, fieldnames=list(lines[0]))
        writer.writeheader()
        writer.writerows(lines)


def stopped_run(tmp_path: Path, box, bulk, owners: list[str]) -> tuple[Path, list[str]]:
    """A run stopped after two rows in a row failed for their data (an Owner that is no user id): rows 2 and 3
    failed, rows 4 and 5 (given `owners`) not sent. Its folder, and the activity of each row."""
    ids = new_ids(4)
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Owner"], [ids[0], "priya"], [ids[1], "raj"], *map(list, zip(ids[2:], owners))])
    code, out, err = bulk(box, "run", str(sheet), "--out", str(tmp_path / "R"), "--no-canary", "--stop-after-failures", "2")
    assert code == 1, out + err
    assert {line["_row"]: line["_outcome"] for line in read_report(tmp_path / "R" / "report.csv")} == {
        "2": "failed", "3": "failed", "4": "not_sent", "5": "not_sent"
    }
    return tmp_path / "R", ids


def test_a_resume_after_a_retry_is_refused_and_keeps_what_the_retry_sent(tmp_path, sandbox, bulk):
    original, fixed = new_ids(2)
    box = sandbox()
    run, ids = stopped_run(tmp_path, box, bulk, [original, original])
    edit_report(run / "failed.csv", "4", "Owner", fixed)  # the admin's fix of a row the run did not send
    code, out, err = bulk(box, "retry", str(run / "failed.csv"), "--out", str(tmp_path / "T"))
    assert code == 1, out + err  # rows 2 and 3 fail again
    assert fields(box, ids[2]) == {"Owner": fixed}
    recorded = [json.loads(line) for line in (run / RETRIES_FILE).read_text().splitlines()]
    assert [entry["retry"] for entry in recorded] == [str((tmp_path / "T").resolve())]
    calls = box.state.calls

    code, out, err = bulk(box, "resume", str(run))

    assert code == 2, out + err
    assert f"{run.resolve()}'s rows left were given to the retry in {(tmp_path / 'T').resolve()}: resume or retry" in err
    assert "Traceback" not in err
    assert fields(box, ids[2]) == {"Owner": fixed} and box.state.calls == calls
    # The same command again (it resumes its run) is refused the same way.
    code, _, err = bulk(box, "run", str(tmp_path / "in.csv"), "--out", str(run), "--no-canary", "--stop-after-failures", "2")
    assert code == 2 and "were given to the retry in" in err and box.state.calls == calls
    # Nor started over there: every row would be sent again over what the retry sent.
    code, _, err = bulk(box, "run", str(tmp_path / "in.csv"), "--out", str(run), "--restart")
    assert code == 2 and "it is not started over" in err and "choose another --out folder" in err and box.state.calls == calls
    assert fields(box, ids[2]) == {"Owner": fixed}


def retried_once(tmp_path: Path, sandbox, bulk):
    """Rows 2 and 3 set one field of one activity (Open, then Closed) and both fail; the retry into T gets row 3
    through (Closed) and row 2 fails again. The sandbox, the activity and the sheet."""
    x = new_ids(1)[0]
    box = sandbox(script=("503", "503", "503", "ok", "ok", "503"))
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], [x, "Open"], [x, "Closed"]])
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "R"))[0] == 1
    assert bulk(box, "retry", str(tmp_path / "R" / "failed.csv"), "--out", str(tmp_path / "T"))[0] == 1
    assert fields(box, x) == {"Status": "Closed"}
    return box, x, sheet


def test_a_second_retry_of_a_retried_run_is_refused_and_keeps_what_the_first_set(tmp_path, sandbox, bulk):
    """Rows 2 and 3 set one field of one activity and both fail; the first retry gets row 3 through (Closed). A second
    retry of the run's report would not see it: it would send row 2 (Open) over it."""
    box, x, sheet = retried_once(tmp_path, sandbox, bulk)
    calls = box.state.calls

    code, out, err = bulk(box, "retry", str(tmp_path / "R" / "failed.csv"), "--out", str(tmp_path / "T2"))

    assert code == 2, out + err
    there, err = (tmp_path / "T").resolve(), " ".join(err.split())
    assert f"{(tmp_path / 'R').resolve()} was retried in {there}; retry {there / 'failed.xlsx'} (it knows what {there} sent)" in err
    assert fields(box, x) == {"Status": "Closed"} and box.state.calls == calls
    assert not (tmp_path / "T2" / "run.json").exists()
    # The run's folder given again (it is finished) points to the retry too.
    code, _, err = bulk(box, "run", str(sheet), "--out", str(tmp_path / "R"))
    assert code == 2 and f"Its failed rows were retried in {there}" in " ".join(err.split())
    # The way the message gives: the retry of the retry sends nothing of row 2 (row 3 set it later).
    code, _, _ = bulk(box, "retry", str(there / "failed.csv"), "--out", str(tmp_path / "T3"))
    assert code == 0 and fields(box, x) == {"Status": "Closed"}


def test_a_retry_refused_before_sending_records_nothing(tmp_path, sandbox, bulk, monkeypatch, capsys):
    original = new_ids(1)[0]
    box = sandbox()
    run, ids = stopped_run(tmp_path, box, bulk, [original, original])
    monkeypatch.setenv("LSQ_HOST", box.url)
    monkeypatch.setenv("LSQ_ACCESS_KEY", box.config.access_key)
    monkeypatch.setenv("LSQ_SECRET_KEY", "not-the-secret")
    calls = box.state.calls

    code = cli.main(["retry", str(run / "failed.csv"), "--out", str(tmp_path / "T"), "--no-progress", "--rate", "1000/1"])

    assert code != 0 and box.state.calls == calls
    assert not (run / RETRIES_FILE).exists()
    capsys.readouterr()
    code, out, err = bulk(box, "resume", str(run))  # nothing took its rows left: the resume finishes them
    assert code == 1 and "2 rows not sent before are sent now" in err, out + err  # (rows 2 and 3 failed for their data)
    assert all(fields(box, i) == {"Owner": original} for i in ids[2:])


def test_a_retry_while_a_command_writes_in_its_run_is_refused_before_its_first_update(tmp_path, sandbox, bulk):
    box = sandbox()
    run, _ = stopped_run(tmp_path, box, bulk, new_ids(2))
    calls = box.state.calls

    with lock_out_dir(run):  # as the run's resume holds it while it sends
        code, out, err = bulk(box, "retry", str(run / "failed.csv"), "--out", str(tmp_path / "T"))

    assert code == 2, out + err
    assert "another bulk-updater command is writing in" in err and "the run this retries" in err
    assert box.state.calls == calls and not (run / RETRIES_FILE).exists() and not (tmp_path / "T" / "run.json").exists()


def test_a_retry_whose_folder_is_gone_still_holds_the_run_and_says_the_way_out(tmp_path, sandbox, bulk):
    original, fixed = new_ids(2)
    box = sandbox()
    run, ids = stopped_run(tmp_path, box, bulk, [original, original])
    edit_report(run / "failed.csv", "4", "Owner", fixed)
    assert bulk(box, "retry", str(run / "failed.csv"), "--out", str(tmp_path / "T"))[0] == 1
    (tmp_path / "T" / "run.json").unlink()  # its folder emptied, or moved away
    calls = box.state.calls

    code, _, err = bulk(box, "resume", str(run))
    assert code == 2 and "which is gone" in err and f"delete {run.resolve() / RETRIES_FILE} first" in err
    code, _, err = bulk(box, "retry", str(run / "failed.csv"), "--out", str(tmp_path / "T2"))
    assert code == 2 and "which is gone" in err and f"delete {run.resolve() / RETRIES_FILE} first" in err
    assert box.state.calls == calls and fields(box, ids[2]) == {"Owner": fixed}

    (run / RETRIES_FILE).unlink()  # the way out, taken
    code, out, err = bulk(box, "resume", str(run))
    assert code == 1 and "2 rows not sent before are sent now" in err, out + err
    assert fields(box, ids[2]) == {"Owner": original}  # as the message warned


def test_a_row_number_a_spreadsheet_made_a_superscript_is_refused_naming_the_line(tmp_path, sandbox, bulk):
    box = sandbox()
    run, _ = stopped_run(tmp_path, box, bulk, new_ids(2))
    edit_report(run / "failed.csv", "3", "_row", "\u00b2")  # "²": a digit to isdigit(), not to int()
    calls = box.state.calls

    code, out, err = bulk(box, "retry", str(run / "failed.csv"), "--out", str(tmp_path / "T"))

    assert code == 2, out + err
    assert "'²' is not a row number" in err and f"{run / 'failed.csv'}, row 3, column _row" in err
    assert "Traceback" not in err and box.state.calls == calls


def test_the_commands_a_refusal_suggests_paste_as_one_argument_each_in_a_folder_with_spaces(tmp_path, sandbox, bulk):
    """Mutant: the paths of the suggested commands printed unquoted (`my runs/T` would be two arguments)."""
    import shlex

    spaced = tmp_path / "my runs"
    spaced.mkdir()
    [original] = new_ids(1)
    box = sandbox()
    run, _ = stopped_run(spaced, box, bulk, [original, original])
    code, out, err = bulk(box, "retry", str(run / "failed.csv"), "--out", str(spaced / "T"))
    assert code == 1, out + err

    code, _, err = bulk(box, "resume", str(run))

    assert code == 2
    suggested = err[err.index("Else: bulk-updater retry "):].splitlines()[0].removeprefix("Else: ")
    assert shlex.split(suggested)[2:] == [str((spaced / "T" / "failed.xlsx").resolve()), "--out", "NEW_DIR."]


def test_the_retry_started_over_in_its_own_folder_is_refused_and_keeps_what_it_set(tmp_path, sandbox, bulk):
    """Rows 2 and 3 set one field of one activity and both fail; the retry gets row 3 through (Closed), row 2 fails.
    The retry given again with --restart (as a finished folder's message offers) would drop the report that says
    row 3 went through, and send row 2 (Open) over it: a second retry of the run's report by another name."""
    box, x, sheet = retried_once(tmp_path, sandbox, bulk)
    calls = box.state.calls

    code, out, err = bulk(box, "retry", str(tmp_path / "R" / "failed.csv"), "--out", str(tmp_path / "T"), "--restart")

    assert code == 2, out + err
    assert "it is not started over" in err and "Traceback" not in err
    assert fields(box, x) == {"Status": "Closed"} and box.state.calls == calls
    assert (tmp_path / "T" / "report.csv").is_file()  # what the retry sent, still there for a retry of its failed rows
    # Nor replaced by a plain run: the run's record would name a folder that no longer holds its retry.
    code, out, err = bulk(box, "run", str(sheet), "--out", str(tmp_path / "T"), "--restart")
    assert code == 2 and "it is not started over" in err, out + err
    assert box.state.calls == calls
