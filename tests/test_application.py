"""One application layer under both front ends: what a job will do (the line before sending), what it did
(the rows that need a look, the next steps) and what it is doing (the library's counts), decided once.
The page and the CLI render the same answers; the page serves a run's files as the library opens them."""

from __future__ import annotations

import asyncio
import json
import os

import pytest
from conftest import FAST_RATE, new_ids, write_csv
from test_ui_guard import fetch, posting, signed_in, ui  # noqa: F401  (the `ui` fixture)
from test_ui_safety_net import _backup_run, _environ, _finished

import bulk_updater
from bulk_updater import Credentials, JobOptions, SendSettings, Tally
from bulk_updater.application.ending import Ending, Step
from bulk_updater.application.preview import run_preview, undo_preview
from bulk_updater.checking import check
from bulk_updater.errors import Declined
from bulk_updater.outcomes import Outcome, RowOutcome
from bulk_updater.preflight import fetch_identity
from bulk_updater.report import Summary
from bulk_updater.rows import Row
from bulk_updater.rundir.run_record import RunRecord, RunState

HEADER = ["CompanyActivityId", "Status"]


def settings(box) -> SendSettings:
    return SendSettings(box.url, Credentials(box.config.access_key, box.config.secret_key), rate=FAST_RATE)


def the_jobs_line(start) -> str:
    """The line a job passes to `confirm` before its first update (answered no: nothing is sent)."""
    said: list[str] = []
    with pytest.raises(Declined):
        start(lambda line: said.append(line) or False)
    [line] = said
    return line


# --- what a job will do ------------------------------------------------------------------------------


@pytest.mark.parametrize(("backup", "canary"), [(True, True), (False, True), (True, False), (False, False)])
def test_the_pages_line_before_start_is_the_line_the_job_says(tmp_path, sandbox, backup, canary):
    """The page's confirmation (from the sheet's check) and the job's own line: the same rows, activities,
    calls per row, canary reads and time. Mutants killed: run_preview's backup or canary ignored; the
    distinct activities counted otherwise than the job counts them."""
    ids = new_ids(3)
    box = sandbox(activities=set(ids))
    path = write_csv(tmp_path / "in.csv", [HEADER, *[[i, "Won"] for i in [*ids, ids[0]]]])  # 4 rows, 3 activities
    send = settings(box)
    line = the_jobs_line(lambda confirm: bulk_updater.run(path, tmp_path / "out", send, JobOptions(backup=backup, canary=canary, confirm=confirm)))
    identity = asyncio.run(fetch_identity(send))
    assert run_preview(check(path), identity, send.host, send.rate, backup=backup, canary=canary).line == line
    assert box.state.calls == 0 and "4 rows (3 activities)" in line


@pytest.mark.parametrize("force", [False, True])
def test_the_pages_line_before_an_undo_is_the_line_the_undo_says(tmp_path, sandbox, force):
    """Mutant killed: undo_preview's --force ignored (2 calls a row and one read fewer for the canary, or not)."""
    ids = new_ids(3)
    box = sandbox(activities=set(ids))
    send = settings(box)
    bulk_updater.run(write_csv(tmp_path / "in.csv", [HEADER, *[[i, "Won"] for i in ids]]), tmp_path / "run", send, JobOptions(backup=True))
    calls = box.state.calls
    line = the_jobs_line(lambda confirm: bulk_updater.undo(tmp_path / "run", tmp_path / "undo", send, JobOptions(force=force, confirm=confirm)))
    identity = asyncio.run(fetch_identity(send))
    assert undo_preview(tmp_path / "run", identity, send.host, send.rate, force=force, canary=True).line == line
    assert box.state.calls == calls and ("2 calls per row" in line) is not force  # nothing sent


# --- what a job did, and what next --------------------------------------------------------------------


def summary_of(counts: dict[str, int], stop_reason: str = "", groups: list | None = None) -> dict:
    rows = sum(counts.values())
    return {"counts": {o.value: 0 for o in Outcome} | counts, "rows": rows, "stop_reason": stop_reason, "stop_detail": "", "failure_groups": groups or []}


def record_of(tmp_path, command: str, state: RunState = RunState.FINISHED) -> RunRecord:
    source = write_csv(tmp_path / "run" / "undo-record.jsonl" if command == "undo" else tmp_path / "in.csv", [HEADER])
    record = RunRecord.new(command, source)
    record.state = state
    return record


def test_the_next_steps_follow_from_the_summary_and_the_command(tmp_path):
    """Mutants killed: an undo's failed rows offered to `retry` (it would restore without the changed-since check);
    a 401 offered `resume` (the row it failed would never be sent again); a killed run offered nothing."""
    (tmp_path / "run").mkdir()
    out = str(tmp_path / "out")
    done = Ending.of(summary_of({"success": 3}), record_of(tmp_path, "run"), out)
    assert done.steps == () and done.needs_look == 0
    failed = Ending.of(summary_of({"success": 3, "failed": 2, "skipped": 1}), record_of(tmp_path, "run"), out)
    assert failed.steps == (Step.RETRY,) and failed.needs_look == 2 and failed.fix_in == os.path.join(out, "failed.csv")
    undo = Ending.of(summary_of({"success": 1, "failed": 1, "skipped": 2}, groups=[{"rows": 2, "outcome": "skipped"}]), record_of(tmp_path, "undo"), out)
    assert undo.steps == (Step.UNDO_FORCED, Step.UNDO_AGAIN) and undo.held_back == 2 and undo.undone == str(tmp_path / "run")
    keys = Ending.of(summary_of({"failed": 1, "not_sent": 4}, "unauthorized"), record_of(tmp_path, "run", RunState.STOPPED), out)
    assert keys.steps == (Step.CHECK_KEYS, Step.RETRY) and keys.retried == os.path.join(out, "failed.csv") and not keys.resumes
    assert Ending.of(summary_of({"failed": 20, "not_sent": 4}, "failing"), record_of(tmp_path, "run", RunState.STOPPED), out).steps == (
        Step.RETRY, Step.RESUME_KEEP_GOING,
    )
    assert Ending.of(summary_of({"success": 1}, "canary"), record_of(tmp_path, "run", RunState.STOPPED), out).steps == (Step.RESUME_NO_CANARY,)
    assert Ending.of(summary_of({"success": 1}, "interrupted"), record_of(tmp_path, "run", RunState.STOPPED), out).steps == (Step.RESUME,)
    assert Ending.of(None, record_of(tmp_path, "retry", RunState.RUNNING), out).steps == (Step.RESUME,)  # killed before its summary
    assert Ending.of(None, None, out).steps == ()


async def test_the_page_offers_an_undos_failed_rows_to_undo_again_never_to_retry(ui, sandbox, tmp_path):  # noqa: F811
    """The page renders the ending the CLI prints ("To try again: bulk-updater undo RUN"). Mutant killed: the
    page's own needs_look rule, which offered "Retry failed rows" for an undo."""
    ids = new_ids(3)
    box = sandbox(activities=set(ids), initial={i: {"ActivityNote": "", "Fields": {"Status": "Open"}} for i in ids})
    server = ui(_environ(box))
    run_id, _ = await _backup_run(server, box, tmp_path, ids)
    box.config.activities.discard(ids[2])  # deleted since the run: its restore fails
    _, _, response = await fetch("POST", f"{server.base}/runs/{run_id}/undo", headers=posting(server), data={"confirmed": "1"})
    undo_id = response.headers["Location"].rsplit("/", 1)[-1]
    page = await _finished(server, undo_id)
    summary = json.loads((tmp_path / "ws" / "runs" / undo_id / "summary.json").read_text())
    assert summary["counts"]["failed"] == 1
    assert 'id="retry"' not in page and 'id="undo-again"' in page
    assert f'1 row needs another look (listed in failed.csv): <a href="/runs/{run_id}">undo the run again</a>' in page


# --- what a job is doing ------------------------------------------------------------------------------


def test_the_tally_starts_from_the_earlier_sessions_and_ends_on_the_summary():
    """The page's live numbers are the library's: a resume's earlier outcomes, groups and all.
    Mutant killed: a tally that counts only this session's rows (the page's old count)."""
    earlier = Summary(input="", rate="")
    earlier.count("success", rows=5)
    earlier.count("failed", "MXDuplicateEntryException", "duplicate", rows=2)
    tally = Tally()
    tally.begin(10, earlier)
    tally.add(RowOutcome(Row(9, {}), Outcome.SUCCESS, attempts=2))
    tally.add(RowOutcome(Row(10, {}), Outcome.FAILED, attempts=1, error_type="MXDuplicateEntryException", error_message="duplicate"))
    now = tally.snapshot(8)
    assert now.counts == earlier.counts and now.done == 9 and now.done_before == 7 and now.total == 10 and now.calls == 3
    assert [(group["rows"], group["error_type"]) for group in now.groups] == [(3, "MXDuplicateEntryException")]
    assert sum(now.series) == 2


# --- what the page serves -----------------------------------------------------------------------------


async def test_the_page_serves_a_run_folders_files_only_as_regular_files(ui, tmp_path):  # noqa: F811
    """A report.csv planted as a link to another file is neither listed nor served (files.py refuses it).
    Mutant killed: the file served by aiohttp's FileResponse, which follows the link."""
    server = ui({})
    folder = tmp_path / "ws" / "runs" / "20260101-000000-abcdef"
    folder.mkdir(parents=True)
    RunRecord.new("run", write_csv(tmp_path / "in.csv", [HEADER])).save(folder)
    secret = tmp_path / "secret.txt"
    secret.write_text("not the run's")
    (folder / "report.csv").symlink_to(secret)
    write_csv(folder / "failed.csv", [HEADER])
    _, page, _ = await fetch("GET", f"{server.base}/runs/{folder.name}", headers=signed_in(server))
    assert "/files/report.csv" not in page and "/files/failed.csv" in page
    status, text, _ = await fetch("GET", f"{server.base}/runs/{folder.name}/files/report.csv", headers=signed_in(server))
    assert status == 404 and "not the run's" not in text
    status, text, response = await fetch("GET", f"{server.base}/runs/{folder.name}/files/failed.csv", headers=signed_in(server))
    assert status == 200 and text.startswith("CompanyActivityId,Status") and response.headers["Content-Disposition"].endswith('-failed.csv"')
