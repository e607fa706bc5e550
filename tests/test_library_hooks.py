"""The hooks a script or the web page needs: on_outcome, a stop token, no signal handlers unless asked."""

from __future__ import annotations

import signal
import threading

from conftest import FAST_RATE, new_ids, read_report, untouched, write_csv

import bulk_updater
from bulk_updater import Credentials, JobOptions, SendSettings, StopToken
from bulk_updater.settings import Rate


def settings(box, rate: Rate = FAST_RATE) -> SendSettings:
    return SendSettings(box.url, Credentials(box.config.access_key, box.config.secret_key), rate=rate, concurrency=2)


def sheet(tmp_path, ids):
    return write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in ids]])


def test_on_outcome_hears_every_row_and_signals_are_left_alone(tmp_path, sandbox):
    ids = new_ids(5)
    box = sandbox(activities=set(ids[:4]))
    heard, handlers = [], set()

    def listen(outcome):
        heard.append((outcome.row.number, outcome.outcome.value))
        handlers.add(signal.getsignal(signal.SIGTERM))

    before = signal.getsignal(signal.SIGTERM)
    summary = bulk_updater.run(sheet(tmp_path, ids), tmp_path / "out", settings(box), JobOptions(progress=False, on_outcome=listen))
    assert sorted(heard) == sorted((int(r["_row"]), r["_outcome"]) for r in read_report(tmp_path / "out" / "report.csv"))
    assert summary.counts["success"] == 4 and len(heard) == 5
    # a library does not take over the process's signals (asyncio.run's own Ctrl-C handling aside)
    assert handlers == {before}


def test_a_stop_token_stops_a_job_running_in_another_thread(tmp_path, sandbox):
    ids = new_ids(40)
    box = sandbox(activities=set(ids), initial=untouched(ids))  # the first check decides: the rows go at the rate
    token, outcomes = StopToken(), []

    def listen(outcome):
        outcomes.append(outcome)
        if len(outcomes) == 3:
            token.stop()  # from the job's own thread here; the web page calls it from its own

    results = []
    slow = Rate(4, 0.4)  # ten calls a second: the stop comes long before the last row
    job = threading.Thread(
        target=lambda: results.append(
            bulk_updater.run(sheet(tmp_path, ids), tmp_path / "out", settings(box, slow), JobOptions(progress=False, on_outcome=listen, stop_token=token))
        )
    )
    job.start()
    job.join(30)
    [summary] = results
    assert summary.stop_reason == "stopped"
    report = read_report(tmp_path / "out" / "report.csv")
    assert len(report) == 40 and sum(r["_outcome"] == "success" for r in report) == box.state.calls < 40
    assert {r["_outcome"] for r in report} == {"success", "not_sent"}


def test_a_stop_requested_before_sending_sends_nothing(tmp_path, sandbox):
    ids = new_ids(5)
    box = sandbox(activities=set(ids))
    token = StopToken()
    token.stop()
    summary = bulk_updater.run(sheet(tmp_path, ids), tmp_path / "out", settings(box), JobOptions(progress=False, stop_token=token))
    assert summary.stop_reason == "stopped" and box.state.calls == 0 and summary.counts["not_sent"] == 5
