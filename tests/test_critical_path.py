"""One-line bugs on the critical path that the rest of the suite once let through (a mutation pass
found them): each test names the bug it guards against. End to end through `cli.main` (or the
library) against the sandbox, or a scripted server where the sandbox can't order the answers.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading

from aiohttp import web
from conftest import new_ids, read_report, write_csv
from test_hostile_server import ScriptedServer

from bulk_updater import JobOptions, Rate, SendSettings, run
from bulk_updater.credentials import Credentials, Redactor

BULK_OPTIONS = {"--no-progress": None, "--rate": "1000/1"}


def summary_of(folder) -> dict:
    return json.loads((folder / "summary.json").read_text())


def fields(box, activity: str) -> dict[str, str]:
    return box.state.activities.get(activity, {}).get("Fields", {})


# --- stop reasons: which cause wins when two come together ---------------------------------------


def test_the_stop_on_systematic_failure_wins_over_the_call_budget_reached_with_it(tmp_path, sandbox, bulk):
    """Bug: `failing` loses to `max_calls` (safety/hooks.py finish_summary). The admin would be told to
    resume, which sends the next rows into the same failure, instead of being told what fails."""
    box = sandbox()
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Owner"], *[[i, "not-a-user"] for i in new_ids(6)]])

    # Two workers: the third call is the budget's last, and a worker asks for a fourth before the
    # third failure (which trips the streak of 3) is recorded, so both causes are always there.
    code, out, err = bulk(
        box, "run", str(sheet), "--out", str(tmp_path / "run"),
        "--concurrency", "2", "--max-calls", "3", "--stop-after-failures", "3", "--no-canary",
    )  # fmt: skip

    assert code == 1 and box.state.calls == 3
    summary = summary_of(tmp_path / "run")
    assert summary["stop_reason"] == "failing" and summary["counts"]["failed"] == 3
    assert "stopped sending: 3 rows in a row failed with MXInvalidInputException" in err and "--keep-going" in err


def test_a_401_wins_over_the_throttle_timeout_that_ran_out_at_the_same_time(tmp_path):
    """Bug: `throttled` wins over `unauthorized` (job.py, the summary's stop reason). The admin would be
    told to lower the rate and resume, with keys LeadSquared no longer takes.

    The server holds the first row's call; it answers every other call 429 until the run gives up on
    that row (throttle timeout), then it answers the held call 401: both causes in one run, in the one
    order the runner can see them both (a 401 first restarts the throttle clock)."""
    given_up = threading.Event()
    calls = 0

    async def update(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.get_running_loop().run_in_executor(None, given_up.wait, 30)
            return web.json_response({"Status": "Error", "ExceptionType": "MXUnAuthorizedAccessException", "ExceptionMessage": "Invalid keys"}, status=401)
        return web.json_response({"Status": "Error", "ExceptionType": "MXAPIRateLimitExceededException", "ExceptionMessage": "over the limit"}, status=429)

    def on_outcome(outcome) -> None:
        if outcome.outcome.value == "not_sent":
            given_up.set()

    a, b = new_ids(2)
    with ScriptedServer(update=update) as server:
        send = SendSettings(server.url, Credentials("a" * 24, "s" * 24), Rate(1000, 1), concurrency=2, throttle_timeout=0.2)
        summary = run([{"CompanyActivityId": a, "Status": "Won"}, {"CompanyActivityId": b, "Status": "Won"}], tmp_path / "run", send,
                      JobOptions(progress=False, canary=False, on_outcome=on_outcome))  # fmt: skip

    assert given_up.is_set() and summary.counts["failed"] == 1 and summary.counts["not_sent"] == 1
    assert summary.stop_reason == "unauthorized"
    assert summary_of(tmp_path / "run")["stop_reason"] == "unauthorized"


# --- retry's history: a later success is never undone ---------------------------------------------


def test_a_later_successful_row_supersedes_a_retried_rows_note(tmp_path, sandbox, bulk):
    """Bug: supersession skips the fields a later row set, but sends the note anyway (history/rerun.py):
    the retry writes the older note over the newer one."""
    x = new_ids(1)[0]
    box = sandbox(script=("503",))  # row 2 fails; row 3 succeeds
    rows = [["CompanyActivityId", "ActivityNote", "Status"], [x, "first note", "Open"], [x, "later note", ""]]
    bulk(box, "run", str(write_csv(tmp_path / "in.csv", rows)), "--out", str(tmp_path / "first"), "--max-attempts", "1")
    assert box.state.activities[x]["ActivityNote"] == "later note" and fields(box, x) == {}

    code, _, err = bulk(box, "retry", str(tmp_path / "first" / "failed.csv"), "--out", str(tmp_path / "second"))

    assert code == 0, err
    assert box.state.activities[x]["ActivityNote"] == "later note" and fields(box, x) == {"Status": "Open"}
    line = {line["_row"]: line for line in read_report(tmp_path / "second" / "report.csv")}["2"]
    assert (line["_outcome"], line["_error_message"]) == ("success", "sent without ActivityNote: superseded by row 3")


# --- the safety net: verify and undo compare with what the run left ------------------------------


def test_verify_compares_with_the_last_successful_row_of_an_activity(tmp_path, sandbox, bulk):
    """Bug: verify takes the first successful row per field instead of the last (safety/written.py
    `ORDER BY row`): every activity a sheet set twice would be a mismatch, and a real one hidden."""
    x, y = new_ids(2)
    box = sandbox()
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], [x, "Open"], [y, "Open"], [x, "Won"], [y, "Won"]])
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"))[0] == 0
    box.state.activities[y]["Fields"]["Status"] = "Open"  # someone put back the first row's value

    code, out, err = bulk(box, "verify", str(tmp_path / "run"))

    assert code == 1, out + err
    verdicts = {line["CompanyActivityId"]: line["_verified"] for line in read_report(tmp_path / "run" / "verify.csv")}
    assert verdicts == {x: "match", y: "mismatch"}


def test_undo_leaves_a_field_the_run_did_not_snapshot_out_of_its_changed_since_check(tmp_path, sandbox, bulk):
    """Bug: a blank cell of undo.csv (a field this row did not set, so not snapshotted) is taken as a
    snapshot of an empty field (safety/undo.py): undo would then skip, as "changed since the run",
    every activity that holds a value in a column another row of the run set."""
    x, y = new_ids(2)
    box = sandbox(initial={x: {"ActivityNote": "", "Fields": {"Status": "Open", "Priority": "Medium"}}, y: {"ActivityNote": "", "Fields": {"Status": "Open"}}})
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status", "Priority"], [x, "Won", ""], [y, "", "High"]])
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--backup")[0] == 0
    undo_lines = {line["CompanyActivityId"]: line for line in read_report(tmp_path / "run" / "undo.csv")}
    assert undo_lines[x]["Priority"] == ""  # x's Priority was not snapshotted: the run did not set it

    code, out, err = bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo"))

    assert code == 0, out + err
    assert [line["_outcome"] for line in read_report(tmp_path / "undo" / "report.csv")] == ["success", "success"]
    assert fields(box, x) == {"Status": "Open", "Priority": "Medium"} and fields(box, y)["Status"] == "Open"
    assert not fields(box, y).get("Priority")


# --- keys and files --------------------------------------------------------------------------------


def test_the_redactor_keeps_masking_every_key_it_was_given():
    """Bug: protecting a second set of keys forgets the first (credentials.py `|=` -> `=`). The page's
    process loads one set per connection: a page or error of the first connection would show its keys."""
    first, second = Credentials("first-access-key-0123456789", "first-secret-key-0123456789"), Credentials("second-access-key-012345678", "second-secret-key-012345678")
    redactor = Redactor()
    redactor.protect(first)
    redactor.protect(second)

    text = redactor.redact(" ".join([first.access_key, first.secret_key, second.access_key, second.secret_key]))

    assert "key-0" not in text and "key-01" not in text and text.count("*") >= 4, text


def test_a_symlink_swapped_in_after_the_check_is_refused_when_opening(tmp_path, sandbox, bulk, monkeypatch):
    """Bug: an output file opened without O_NOFOLLOW (files.py). The lstat before opening finds
    no symlink; one put in the file's place before the open (another process, racing) must still be
    refused, or the report is appended to whatever file the link names."""
    box = sandbox()
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    real_open = os.open

    def racing(path, flags, *args, **kwargs):
        if os.path.basename(path) == "report.csv" and flags & os.O_APPEND and not os.path.islink(path):
            if os.path.lexists(path):
                os.unlink(path)
            os.symlink(outside, path)  # between the lstat and the open, as a racing process would
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", racing)
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in new_ids(2)]])

    code, _, err = bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"))

    assert code == 2 and "report.csv is a symlink" in err
    assert outside.read_text() == "precious\n" and box.state.calls == 0
