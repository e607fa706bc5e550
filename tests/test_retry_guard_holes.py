"""Ways around the guard that keeps a retried run's rows the retry's (rundir/retries.py), tried and refused.
In process, through `cli.main`, against the sandbox."""

from __future__ import annotations

from conftest import new_ids, write_csv

BULK_OPTIONS = {"--no-progress": None, "--rate": "1000/1", "--concurrency": "1", "--max-attempts": "1"}


def fields(box, activity: str) -> dict[str, str]:
    return box.state.activities.get(activity, {}).get("Fields", {})


def test_the_retry_started_over_in_its_own_folder_is_refused_and_keeps_what_it_set(tmp_path, sandbox, bulk):
    """Rows 2 and 3 set one field of one activity and both fail; the retry gets row 3 through (Closed), row 2 fails.
    The retry given again with --restart (as a finished folder's message offers) would drop the report that says
    row 3 went through, and send row 2 (Open) over it: a second retry of the run's report by another name."""
    x = new_ids(1)[0]
    box = sandbox(script=("503", "503", "503", "ok", "ok", "503"))
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], [x, "Open"], [x, "Closed"]])
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "R"))[0] == 1
    assert bulk(box, "retry", str(tmp_path / "R" / "failed.csv"), "--out", str(tmp_path / "T"))[0] == 1
    assert fields(box, x) == {"Status": "Closed"}
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
