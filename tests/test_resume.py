"""End to end: kill, stop, resume and retry with the real CLI in a subprocess against the sandbox."""

import json
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from conftest import cli_env, new_ids, read_report, run_cli, untouched, write_csv

HEADER = ["CompanyActivityId", "ActivityNote", "Status", "Owner"]
FAST = ["--rate", "1000/1", "--no-progress"]


def start_cli(*args, env):
    return subprocess.Popen([sys.executable, "-m", "bulk_updater", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until(condition, process, timeout=60):
    """Poll `condition` until it holds; the run must still be going."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError("the run never reached the awaited point")


def wait_for_lines(report, count, process):
    """Wait until `report` holds at least `count` rows."""
    wait_until(lambda: report.exists() and len(read_report(report)) >= count, process)


def wait_for_stderr(process, text):
    for line in process.stderr:
        if text in line:
            return
    raise AssertionError(f"the CLI never printed {text!r}")


def rows_of(report):
    return Counter(int(line["_row"]) for line in read_report(report))


def sheet(tmp_path, ids, name="in.csv"):
    return write_csv(tmp_path / name, [HEADER, *[[id_, f"note {n}", "Won", ""] for n, id_ in enumerate(ids)]])


@pytest.mark.e2e
def test_killed_mid_run_then_resumed(tmp_path, sandbox):
    ids = new_ids(60)
    box = sandbox(latency=(0.08, 0.08), initial=untouched(ids))  # the first check decides: the rows go three at a time
    path = write_csv(tmp_path / "in.csv", [HEADER, ["not-a-guid", "x", "", ""], [ids[0], "", "", ""], *[[i, f"note {n}", "Won", ""] for n, i in enumerate(ids)]])
    report = tmp_path / "out" / "report.csv"
    process = start_cli("run", str(path), "--out", str(tmp_path / "out"), *FAST, "--concurrency", "3", env=cli_env(box))
    wait_for_lines(report, 12, process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = read_report(report)
    assert 12 <= len(before) < 62
    # As if the kill had cut a line short while it was being written.
    with report.open("a", newline="", encoding="utf-8") as f:
        f.write(f"{ids[-1]},note 59,Wo")
    assert json.loads((tmp_path / "out" / "run.json").read_text())["state"] == "running"

    result = run_cli("run", str(path), "--out", str(tmp_path / "out"), *FAST, env=cli_env(box))

    assert result.returncode == 1, result.stderr  # the invalid row
    assert "Resuming the run in" in result.stderr and "torn or damaged report lines were dropped" in result.stderr
    assert rows_of(report) == Counter(range(2, 64))  # exactly one line per input row
    outcomes = {int(line["_row"]): line["_outcome"] for line in read_report(report)}
    assert outcomes.pop(2) == "invalid" and outcomes.pop(3) == "skipped" and set(outcomes.values()) == {"success"}
    applied = Counter(box.state.applied)
    assert set(applied) == set(ids)
    for line in before:  # rows recorded before the kill were not sent again
        if line["_outcome"] == "success":
            assert applied[line["CompanyActivityId"]] == 1
    # only the rows in flight at the kill were sent twice
    assert sum(applied.values()) <= 60 + 3
    assert box.state.activities[ids[59]] == {"ActivityNote": "note 59", "Fields": {"Status": "Won", "mx_Other": "untouched"}}
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["counts"] == {"success": 60, "failed": 0, "invalid": 1, "skipped": 1, "not_sent": 0}
    assert summary["resumed"] == len(before)
    assert json.loads((tmp_path / "out" / "run.json").read_text())["state"] == "finished"


@pytest.mark.e2e
@pytest.mark.parametrize(("signal_", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_cleanly_and_the_same_command_resumes(tmp_path, sandbox, signal_, code):
    ids = new_ids(40)
    box = sandbox(latency=(0.1, 0.1), initial=untouched(ids))  # the first check decides: the rows go two at a time
    path, out = sheet(tmp_path, ids), tmp_path / "out"
    process = start_cli("run", str(path), "--out", str(out), *FAST, "--concurrency", "2", env=cli_env(box))
    wait_for_lines(out / "report.csv", 4, process)
    process.send_signal(signal_)
    stdout, stderr = process.communicate(timeout=60)

    assert process.returncode == code, stderr
    assert stderr.splitlines()[-1].endswith(f"To finish the job, run: bulk-updater resume {out}") and "Traceback" not in stderr
    report = read_report(out / "report.csv")
    assert rows_of(out / "report.csv") == Counter(range(2, 42))  # every row has its line
    done = {line["CompanyActivityId"] for line in report if line["_outcome"] == "success"}
    assert {line["_outcome"] for line in report} == {"success", "not_sent"}
    # the calls in flight finished and were recorded: the server applied exactly the success rows
    assert Counter(box.state.applied) == Counter(done)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stop_reason"] == {130: "interrupted", 143: "terminated"}[code]
    assert json.loads((out / "run.json").read_text())["state"] == "stopped"

    result = run_cli("run", str(path), "--out", str(out), *FAST, env=cli_env(box))

    assert result.returncode == 0, result.stderr
    assert rows_of(out / "report.csv") == Counter(range(2, 42))
    assert {line["_outcome"] for line in read_report(out / "report.csv")} == {"success"}
    assert Counter(box.state.applied) == Counter(ids)  # no row sent twice


@pytest.mark.e2e
def test_a_second_ctrl_c_stops_at_once(tmp_path, sandbox):
    ids = new_ids(10)
    box = sandbox(hang=1.0, hang_seconds=20)  # every call hangs
    path = write_csv(tmp_path / "in.csv", [HEADER, *[["bad", "x", "", ""]] * 3, *[[i, "n", "", ""] for i in ids]])
    out = tmp_path / "out"
    process = start_cli("run", str(path), "--out", str(out), *FAST, env=cli_env(box))
    wait_until(lambda: box.state.calls >= 1, process)  # a call is in flight
    process.send_signal(signal.SIGINT)
    wait_for_stderr(process, "Ctrl-C again to stop at once")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 130
    assert "stopped at once by a second Ctrl-C" in stderr and f"bulk-updater resume {out})" in stderr and "Traceback" not in stderr
    # consistent: whole lines, no row twice; the calls in flight have no line
    report = read_report(out / "report.csv")
    assert max(rows_of(out / "report.csv").values()) == 1 and len(report) < 13
    assert {line["_row"]: line["_outcome"] for line in report if line["_outcome"] != "not_sent"} == {"2": "invalid", "3": "invalid", "4": "invalid"}

    box.config.hang = 0.0
    result = run_cli("run", str(path), "--out", str(out), *FAST, env=cli_env(box))
    assert result.returncode == 1, result.stderr
    assert rows_of(out / "report.csv") == Counter(range(2, 15))
    assert set(box.state.applied) == set(ids)


@pytest.mark.e2e
def test_calls_in_flight_get_a_bounded_wait(tmp_path, sandbox):
    ids = new_ids(6)
    box = sandbox(hang=1.0, hang_seconds=20)
    path = write_csv(tmp_path / "in.csv", [HEADER, ["bad", "x", "", ""], *[[i, "n", "", ""] for i in ids]])
    out = tmp_path / "out"
    process = start_cli("run", str(path), "--out", str(out), *FAST, "--stop-wait", "0.2", env=cli_env(box))
    wait_until(lambda: box.state.calls >= 1, process)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 143, stderr
    report = read_report(out / "report.csv")
    assert rows_of(out / "report.csv") == Counter(range(2, 9))
    assert sorted(line["_outcome"] for line in report) == ["invalid"] + ["not_sent"] * 6

    box.config.hang = 0.0
    assert run_cli("run", str(path), "--out", str(out), *FAST, env=cli_env(box)).returncode == 1
    assert set(box.state.applied) == set(ids) and rows_of(out / "report.csv") == Counter(range(2, 9))


def test_retry_from_failed_csv_after_fixing_cells(tmp_path, sandbox):
    ids = new_ids(5)
    owner = new_ids(1)[0]
    box = sandbox()
    rows = [[i, "n", "Won", ""] for i in ids[:3]] + [["not-a-guid", "fix me", "", ""], [ids[3], "", "", "Bob"], [ids[4], "", "", ""]]
    path = write_csv(tmp_path / "in.csv", [HEADER, *rows])
    first = run_cli("run", str(path), "--out", str(tmp_path / "first"), *FAST, env=cli_env(box))
    assert first.returncode == 1
    assert "bulk-updater retry" in first.stdout
    failed = read_report(tmp_path / "first" / "failed.csv")
    assert [(line["_row"], line["_outcome"]) for line in failed] in ([("5", "invalid"), ("6", "failed")], [("6", "failed"), ("5", "invalid")])
    # The admin fixes the two cells in failed.csv.
    for line in failed:
        if line["_row"] == "5":
            line["CompanyActivityId"] = ids[4]
        else:
            line["Owner"] = owner
    write_csv(tmp_path / "fixed.csv", [list(failed[0]), *[list(line.values()) for line in failed]])
    calls_before = box.state.calls

    result = run_cli("retry", str(tmp_path / "fixed.csv"), "--out", str(tmp_path / "second"), *FAST, env=cli_env(box))

    assert result.returncode == 0, result.stderr
    report = read_report(tmp_path / "second" / "report.csv")
    assert sorted((line["_row"], line["_outcome"]) for line in report) == [("5", "success"), ("6", "success")]
    assert box.state.calls - calls_before == 2
    assert box.state.activities[ids[4]]["ActivityNote"] == "fix me"
    assert box.state.activities[ids[3]]["Fields"]["Owner"] == owner


def test_retry_from_the_full_report_sends_only_what_did_not_succeed(tmp_path, sandbox):
    ids = new_ids(4)
    box = sandbox(activities=set(ids[:3]))
    path = write_csv(tmp_path / "in.csv", [HEADER, *[[i, "n", "", ""] for i in ids], [ids[0], "", "", ""]])
    assert run_cli("run", str(path), "--out", str(tmp_path / "first"), *FAST, env=cli_env(box)).returncode == 1
    box.config.activities.add(ids[3])
    calls_before = box.state.calls

    result = run_cli("retry", str(tmp_path / "first" / "report.csv"), "--out", str(tmp_path / "second"), *FAST, env=cli_env(box))

    assert result.returncode == 0, result.stderr
    assert "4 rows of the earlier report had succeeded or were skipped: not sent again" in result.stdout
    [line] = read_report(tmp_path / "second" / "report.csv")
    assert (line["_row"], line["_outcome"], line["CompanyActivityId"]) == ("5", "success", ids[3])
    assert box.state.calls - calls_before == 1
    assert json.loads((tmp_path / "second" / "summary.json").read_text())["passed_over"] == 4


def test_a_401_mid_run_then_a_retry_once_the_keys_are_fixed(tmp_path, sandbox):
    ids = new_ids(40)
    # The keys are revoked mid-run, after the fifth update (in process: the run needs no process of its own).
    box = sandbox(revoke_after=5, initial=untouched(ids))  # the first check decides: no rows one by one
    path, out = sheet(tmp_path, ids), tmp_path / "out"
    stopped = run_cli("run", str(path), "--out", str(out), *FAST, "--concurrency", "2", env=cli_env(box))
    stderr = stopped.stderr
    assert stopped.returncode == 3, stderr
    box.config.access_key, box.config.revoke_after = "rotated-key", None  # new keys
    assert f"bulk-updater retry {out / 'failed.csv'} --out NEW_DIR" in stderr
    first = read_report(out / "report.csv")
    assert rows_of(out / "report.csv") == Counter(range(2, 42))
    assert {line["_outcome"] for line in first} == {"success", "failed", "not_sent"}

    result = run_cli("retry", str(out / "failed.csv"), "--out", str(tmp_path / "again"), *FAST, env=cli_env(box, LSQ_ACCESS_KEY="rotated-key"))

    assert result.returncode == 0, result.stderr
    second = read_report(tmp_path / "again" / "report.csv")
    done_first = {line["_row"] for line in first if line["_outcome"] == "success"}
    assert {line["_row"] for line in second} == {str(n) for n in range(2, 42)} - done_first
    assert Counter(box.state.applied) == Counter(ids)  # every row applied, none twice
    for line in second:
        assert line["CompanyActivityId"] == ids[int(line["_row"]) - 2]


def test_a_changed_input_is_refused_unless_restart(tmp_path, sandbox):
    ids = new_ids(5)
    box = sandbox(revoke_after=0)  # the key check passes, then the keys are rejected
    path, out = sheet(tmp_path, ids), tmp_path / "out"
    # A run stopped by a 401 is unfinished.
    assert run_cli("run", str(path), "--out", str(out), *FAST, env=cli_env(box)).returncode == 3
    box.config.revoke_after = None
    sheet(tmp_path, new_ids(5))
    calls_before = box.state.calls

    refused = run_cli("run", str(path), "--out", str(out), *FAST, env=cli_env(box))

    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert f"Error: {path} is not the file the unfinished run in {out} started with" in refused.stderr
    assert "--restart" in refused.stderr and box.state.calls == calls_before
    restarted = run_cli("run", str(path), "--out", str(out), *FAST, "--restart", env=cli_env(box))
    assert restarted.returncode == 0, restarted.stderr
    assert {line["_outcome"] for line in read_report(out / "report.csv")} == {"success"}


def test_a_finished_run_is_never_overwritten(tmp_path, sandbox):
    box = sandbox()
    path, out = sheet(tmp_path, new_ids(3)), tmp_path / "out"
    assert run_cli("run", str(path), "--out", str(out), *FAST, env=cli_env(box)).returncode == 0
    report = (out / "report.csv").read_bytes()

    again = run_cli("run", str(path), "--out", str(out), *FAST, env=cli_env(box))

    assert again.returncode == 2 and "holds a finished run" in again.stderr and "nothing is left to send again" in again.stderr  # no row failed: no retry to suggest
    assert (out / "report.csv").read_bytes() == report and box.state.calls == 3


# A Ctrl-C to a real process; the fast tier holds the same resume in process: test_retry_history.py's
# test_a_stopped_retry_resumes_with_its_history.
@pytest.mark.e2e
def test_a_stopped_retry_is_resumed_by_the_same_retry(tmp_path, sandbox):
    ids = new_ids(30)
    # The key check passes, then the keys are rejected (untouched: the first check decides, no rows one by one).
    box = sandbox(revoke_after=0, latency=(0.1, 0.1), initial=untouched(ids))
    path, first = sheet(tmp_path, ids), tmp_path / "first"
    assert run_cli("run", str(path), "--out", str(first), *FAST, env=cli_env(box)).returncode == 3
    box.config.revoke_after = None
    retry = ["retry", str(first / "failed.csv"), "--out", str(tmp_path / "second"), *FAST, "--concurrency", "2"]
    process = start_cli(*retry, env=cli_env(box))
    wait_for_lines(tmp_path / "second" / "report.csv", 4, process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert stderr.splitlines()[-1].endswith(f"To finish the job, run: bulk-updater resume {tmp_path / 'second'}")

    result = run_cli(*retry, env=cli_env(box))

    assert result.returncode == 0, result.stderr
    assert rows_of(tmp_path / "second" / "report.csv") == Counter(range(2, 32))  # the original row numbers, once each
    assert Counter(box.state.applied) == Counter(ids)
