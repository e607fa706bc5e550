"""Why a run stopped (one enum, one precedence rule), the exit code of every ending (one table), and
the exception tree: in process, against the sandbox or a scripted server on loopback.

Two causes can come together in one run; the run gives the one the rule ranks first. The pairs
are tested one by one against the ranking written out here, and the two meetings a run really
has are tested end to end: a 401 answering a call still in flight after the run was throttled
out, and the failure watch tripping as the call budget runs out.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os

import pytest
from aiohttp import web
from conftest import cli_env, new_ids, run_cli, write_csv
from test_hostile_server import ScriptedServer, identity

from bulk_updater import exit_codes
from bulk_updater.errors import AuthError, BulkUpdaterError, ConnectError, Declined, FolderError, InputError, StoppedAtOnce
from bulk_updater.history.lineage import find_lineage
from bulk_updater.report import Summary
from bulk_updater.safety.undo import retry_clear_token
from bulk_updater.stop_reason import StopReason

# The rule, written out: when causes come together the run gives the one listed first.
RANKED = ["unauthorized", "interrupted", "terminated", "stopped", "throttled", "canary", "failing", "max_calls", "incomplete", "dry_run"]
# What a stopped run exits with (docs/commands.md, "Exit codes"; docs/stopping.md).
EXIT_BY_REASON = {
    "unauthorized": 3, "interrupted": 130, "terminated": 143, "stopped": 1, "throttled": 1,
    "canary": 1, "failing": 1, "max_calls": 1, "incomplete": 1, "dry_run": 0,
}  # fmt: skip


@pytest.mark.parametrize("pair", list(itertools.combinations(RANKED, 2)), ids="-".join)
def test_two_causes_that_came_together_give_the_reason_ranked_first(pair):
    # Kills: any two members swapped in the enum, e.g. "a 401 and throttled swap precedence" (THROTTLED
    # listed above UNAUTHORIZED) and "the stop on systematic failure loses to another stop cause"
    # (MAX_CALLS above FAILING).
    higher, lower = (StopReason(value) for value in pair)
    for causes in ({higher: "h", lower: "l"}, {lower: "l", higher: "h"}):  # in either order of arrival
        summary = Summary(input="in.csv", rate="25/5")
        summary.stop(causes)
        assert summary.stop_reason is higher and summary.stop_detail == "h"


def test_summary_json_writes_the_reasons_as_before_and_the_page_reads_them_back(tmp_path):
    # summary.json files written before the enum hold these strings; each reads back as its reason.
    assert [reason.value for reason in StopReason] == RANKED
    for value in RANKED:
        summary = Summary(input="in.csv", rate="25/5")
        summary.stop({StopReason(value): ""})
        summary.write(tmp_path / "summary.json")
        written = json.loads((tmp_path / "summary.json").read_text())["stop_reason"]
        assert written == value and StopReason.read(written) is StopReason(value) and f"{StopReason(value)}" == value
    unstopped = Summary(input="in.csv", rate="25/5")
    unstopped.stop({})
    assert unstopped.stop_reason is None and unstopped.to_json()["stop_reason"] == ""
    assert StopReason.read("") is None and StopReason.read(None) is None and StopReason.read("a later version's") is None


def test_each_stop_reason_has_its_exit_code():
    assert {reason.value: exit_codes.for_stop(reason) for reason in StopReason} == EXIT_BY_REASON


def test_each_ending_by_exception_has_the_exit_code_the_readme_gives():
    sent = FolderError("the disk is full", where="out")
    sent.rows_sent = True
    codes = {
        "bad input": (InputError("bad"), 2),
        "folder, before sending": (FolderError("the disk is full", where="out"), 2),
        "folder, rows sent": (sent, 1),  # the run did part of its work
        "keys rejected": (AuthError("401"), 3),
        "no usable answer": (ConnectError("tls"), 4),
        "declined": (Declined("no"), 1),
        "any other of ours": (BulkUpdaterError("x"), 1),
        "stopped at once by Ctrl-C": (StoppedAtOnce("x", StopReason.INTERRUPTED), 130),
        "stopped at once by SIGTERM": (StoppedAtOnce("x", StopReason.TERMINATED), 143),
        "stopped at once by a stop request": (StoppedAtOnce("x", StopReason.STOPPED), 1),
        "Ctrl-C": (KeyboardInterrupt(), 130),
        "closed stdout": (BrokenPipeError(32, "Broken pipe"), 141),
        "a file outside the run folder": (FileNotFoundError(2, "No such file", "edits.csv"), 2),
        "a bug": (ZeroDivisionError(), 1),
    }
    assert {name: exit_codes.for_error(error) for name, (error, _) in codes.items()} == {name: code for name, (_, code) in codes.items()}


def plant_run_json(folder):
    """A run folder whose run.json is a symlink planted to another file: a FolderError to open."""
    folder.mkdir()
    (folder / "report.csv").write_text("_row,_outcome\n")
    (folder / "elsewhere.json").write_text("{}")
    os.symlink(folder / "elsewhere.json", folder / "run.json")
    return folder / "report.csv"


def test_a_folder_error_is_no_input_error_so_a_retry_does_not_pass_over_a_run_folder_it_cannot_read(tmp_path):
    # Kills: FolderError an InputError again. Then the retry's `except InputError` took a planted run.json
    # (or a disk error) for a run it can't find, and went on without the clear token the run read with,
    # and without supersession: fields a later row set would be sent again with older values.
    assert not issubclass(FolderError, InputError)
    report = plant_run_json(tmp_path / "run")
    with pytest.raises(FolderError, match="symlink"):
        retry_clear_token(report, "#N/A")
    with pytest.raises(FolderError, match="symlink"):
        find_lineage(report)


def test_a_stop_on_failing_rows_wins_over_the_call_budget_running_out(tmp_path, sandbox, bulk):
    # Three rows in flight (the whole --max-calls budget), each failing: the first answer frees a worker,
    # which finds the budget spent (max_calls); the third failure trips --stop-after-failures 3 (failing).
    # Kills: "the stop on systematic failure loses to another stop cause" (the run then says max_calls, and
    # its advice is to resume, sending the rest into the same failure).
    box = sandbox(activities=set())  # no activity exists: every update fails with an MX error
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], *[[id_, "Won"] for id_ in new_ids(6)]])
    out = tmp_path / "out"
    code, _, err = bulk(box, "run", str(sheet), "--out", str(out), "--concurrency", "3", "--max-calls", "3", "--stop-after-failures", "3", "--no-canary")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stop_reason"] == "failing" and summary["counts"]["failed"] == 3 and summary["counts"]["not_sent"] == 3, err
    assert code == 1 and "Error: stopped sending: 3 rows in a row failed" in err and "--keep-going" in err


THROTTLE_BODY = {"Status": "Error", "ExceptionType": "MXAPIRateLimitExceededException", "ExceptionMessage": "API calls exceeded the limit of 25 in 5 second(s)"}
REJECTED_BODY = {"Status": "Error", "ExceptionType": "MXUnAuthorizedAccessException", "ExceptionMessage": "Invalid AccessKey or SecretKey"}


def test_a_401_that_answers_after_the_run_was_throttled_out_stops_it_as_unauthorized(tmp_path):
    # The first row's update answers 401 slowly; meanwhile the second row gets only 429s, for longer than
    # --throttle-timeout, so the run stops throttled and waits for the call in flight: then the 401 comes.
    # Kills: "a 401 and throttled swap precedence" (the run then says throttled, exit 1, and its advice is
    # to resume with the same keys, which LeadSquared rejects).
    first, second = new_ids(2)

    async def update(request: web.Request) -> web.Response:
        if (await request.json())["CompanyActivityId"] == first:
            await asyncio.sleep(2.0)  # long after the throttle timeout (0.1 s past the first 429)
            return web.json_response(REJECTED_BODY, status=401)
        await asyncio.sleep(0.15)
        return web.json_response(THROTTLE_BODY, status=429)

    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], [first, "Won"], [second, "Won"]])
    out = tmp_path / "out"
    with ScriptedServer(update=update, user=identity) as server:
        env = cli_env(LSQ_HOST=server.url, LSQ_ACCESS_KEY="ak-1", LSQ_SECRET_KEY="sk-1")
        result = run_cli("run", str(sheet), "--out", str(out), "--concurrency", "2", "--rate", "1000/0.1", "--throttle-timeout", "0.1",
                         "--no-canary", "--no-progress", env=env)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stop_reason"] == "unauthorized" and summary["counts"]["failed"] == summary["counts"]["not_sent"] == 1, result.stderr
    assert result.returncode == 3 and "LeadSquared rejected the keys (401) during the run" in result.stderr
