"""Throttling answered 403 (as a public client saw LeadSquared do), end to end through the CLI
against the sandbox: the text decides, not the status.

Taken as a permanent failure, such a 403 would fail every row of a busy account, the stop on
systematic failure could end the run as `failing`, and with --backup every row would be BackupFailed.
"""

from __future__ import annotations

import json

from conftest import new_ids, read_report, untouched, write_csv

from bulk_updater.credentials import Credentials
from bulk_updater.preflight import fetch_identity
from bulk_updater.settings import Rate, SendSettings


def sheet(tmp_path, ids):
    return write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], *[[id_, "Won"] for id_ in ids]])


def test_a_403_throttle_storm_ends_with_every_row_success(tmp_path, sandbox, bulk):
    ids = new_ids(6)
    # "429": a throttle, answered 403 here (untouched: the first check decides, the rows go two at a time)
    box = sandbox(throttle_status=403, script=("ok", *["429"] * 5, "ok", "429", "429"), initial=untouched(ids))
    out = tmp_path / "out"

    code, _, err = bulk(box, "run", str(sheet(tmp_path, ids)), "--out", str(out), "--rate", "100/0.1", "--jitter", "0", "--concurrency", "2",
                        "--throttle-timeout", "30")

    assert code == 0, err
    lines = read_report(out / "report.csv")
    assert [line["_outcome"] for line in lines] == ["success"] * 6
    assert box.state.throttled == 7 and sorted(box.state.applied) == sorted(ids)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["calls_throttled"] == 7 and summary["stop_reason"] == ""
    assert sum(int(line["_attempts"]) for line in lines) == 6 + 7  # the throttled calls cost no attempt: no row ran out


def test_a_run_that_gets_only_403_throttles_stops_throttled_after_the_throttle_timeout(tmp_path, sandbox, bulk):
    ids = new_ids(8)
    box = sandbox(throttle_status=403, script=("ok", "ok", *["429"] * 40), initial=untouched(ids))  # the first check decides
    out = tmp_path / "out"

    code, _, err = bulk(box, "run", str(sheet(tmp_path, ids)), "--out", str(out), "--rate", "100/0.2", "--concurrency", "1",
                        "--throttle-timeout", "0.5")

    assert code == 1, err
    assert "Stopped (throttled)" in err
    outcomes = {int(line["_row"]): line for line in read_report(out / "report.csv")}
    assert [outcomes[n]["_outcome"] for n in range(2, 10)] == ["success"] * 2 + ["not_sent"] * 6  # none failed
    assert int(outcomes[4]["_attempts"]) == box.state.throttled >= 2 and outcomes[4]["_http_status"] == "403"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stop_reason"] == "throttled" and summary["calls_throttled"] == box.state.throttled
    assert summary["elapsed_seconds"] >= 0.5  # only once the whole --throttle-timeout passed


def test_with_backup_no_row_becomes_backup_failed_because_of_a_403_throttle(tmp_path, sandbox, bulk):
    ids = new_ids(12)
    # The sandbox's own limit, 10 calls per 0.2 s, answered 403; the run goes ten times as fast:
    # the backup's reads and the updates both meet throttles.
    # (A note and a field no row sets: the canary's first check decides, and the rows go three at a time.)
    box = sandbox(rate=Rate(10, 0.2), throttle_status=403, initial={id_: {"ActivityNote": "n", "Fields": {"Status": "Open", "mx_Other": "x"}} for id_ in ids})
    out = tmp_path / "out"

    code, _, err = bulk(box, "run", str(sheet(tmp_path, ids)), "--out", str(out), "--backup", "--rate", "100/0.2", "--concurrency", "3",
                        "--throttle-timeout", "30")

    assert code == 0, err
    lines = read_report(out / "report.csv")
    assert [line["_outcome"] for line in lines] == ["success"] * 12 and not any(line["_error_type"] for line in lines)
    assert box.state.throttled >= 1
    assert sorted(line["CompanyActivityId"] for line in read_report(out / "undo.csv")) == sorted(ids)
    assert all(box.state.activities[id_]["Fields"]["Status"] == "Won" for id_ in ids)


def test_the_backup_read_answered_a_403_throttle_is_retried_not_backup_failed(tmp_path, sandbox, bulk):
    ids = new_ids(3)
    # read_faults: the script's throttles go to the reads as well as the updates, in arrival order.
    # (A note and a field no row sets: the canary's first check decides.)
    initial = {id_: {"ActivityNote": "n", "Fields": {"Status": "Open", "mx_Other": "x"}} for id_ in ids}
    box = sandbox(throttle_status=403, read_faults=True, script=("429",) * 4, initial=initial)
    out = tmp_path / "out"

    code, _, err = bulk(box, "run", str(sheet(tmp_path, ids)), "--out", str(out), "--backup", "--rate", "100/0.1", "--jitter", "0", "--concurrency", "1")

    assert code == 0, err
    assert [line["_outcome"] for line in read_report(out / "report.csv")] == ["success"] * 3
    assert box.state.throttled == 4
    assert len(read_report(out / "undo.csv")) == 3


async def test_the_key_check_retries_a_403_throttle(sandbox):
    box = sandbox(rate=Rate(1, 1), throttle_status=403)  # one call a second (room for a loaded machine): the second check's first call is throttled
    send = SendSettings(host=box.url, credentials=Credentials(box.config.access_key, box.config.secret_key), rate=Rate(100, 0.2))

    first, second = await fetch_identity(send), await fetch_identity(send)

    assert first == second and second.org == "Sandbox Org"
    assert box.state.throttled >= 1 and box.state.user_calls >= 3
