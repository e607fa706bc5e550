"""Running at the ceiling without tripping it, and riding out faults (end to end)."""

import json

import pytest
from conftest import cli_env, new_ids, read_report, run_cli, untouched, write_csv

from bulk_updater.calls import Backoff
from bulk_updater.errors import InputError
from bulk_updater.sandbox.limits import MODES
from bulk_updater.settings import PLAN_CALLS, Rate

HEADER = ["CompanyActivityId", "Status"]


def sheet(tmp_path, count, box=None):
    """`count` rows; with `box`, their activities hold an untouched note and field, so the canary's first
    check decides and the rows go at the rate (the sandbox's own activities are empty: each would go alone)."""
    ids = new_ids(count)
    if box is not None:
        box.state.activities.update(untouched(ids))
    return write_csv(tmp_path / "in.csv", [HEADER, *[[i, "Won"] for i in ids]])


def run(box, path, out, *options):
    return run_cli("run", str(path), "--out", str(out), "--no-progress", *options, env=cli_env(box))


def summary(out):
    return json.loads((out / "summary.json").read_text())


@pytest.mark.parametrize("mode", MODES)
def test_no_429_at_the_ceiling_under_arrival_jitter(tmp_path, sandbox, mode):
    # A short period (the jitters are the same seconds as in a long one): four windows pass in under two seconds.
    box = sandbox(rate=Rate(5, 0.25), counting=mode, arrival_jitter=0.05, seed=1)
    # The client allows for more jitter than the sandbox adds: a busy test machine adds its own.
    result = run(box, sheet(tmp_path, 20, box), tmp_path / "out", "--rate", "5/0.25", "--jitter", "0.15")
    assert result.returncode == 0, result.stderr
    assert box.state.throttled == 0 and len(box.state.applied) == 20


def test_a_429_storm_loses_no_row(tmp_path, sandbox):
    # Every call past the limit is rejected and still counted, and the first 15 are 429s anyway.
    # A short period: the canary's rows go one a window while the 429s last.
    box = sandbox(rate=Rate(3, 0.05), count_rejected=True, script=("429",) * 15)
    result = run(box, sheet(tmp_path, 25, box), tmp_path / "out", "--rate", "10/0.05", "--jitter", "0.01", "--max-attempts", "1")
    assert result.returncode == 0, result.stderr
    assert summary(tmp_path / "out")["counts"]["success"] == 25
    assert box.state.throttled >= 15 and len(set(box.state.applied)) == 25


def test_a_hung_call_is_cut_off_and_retried(tmp_path, sandbox):
    box = sandbox(script=("hang",), hang_seconds=60)
    result = run(box, sheet(tmp_path, 5, box), tmp_path / "out", "--rate", "1000/1", "--timeout", "0.5", "--concurrency", "1")
    assert result.returncode == 0, result.stderr
    first = next(r for r in read_report(tmp_path / "out" / "report.csv") if r["_row"] == "2")
    assert (first["_outcome"], first["_attempts"]) == ("success", "2")


def test_dropped_connections_and_503s_are_retried(tmp_path, sandbox, monkeypatch):
    # The backoff's waits a fiftieth as long: four in a row would take up to 7.5 s (its own rule:
    # test_retry_policy.py's test_the_backoff_doubles_from_its_base_up_to_its_cap_with_full_jitter).
    delay = Backoff.delay
    monkeypatch.setattr(Backoff, "delay", lambda backoff, attempt: delay(backoff, attempt) / 50)
    box = sandbox(script=("drop", "503", "drop", "503"))
    result = run(box, sheet(tmp_path, 6, box), tmp_path / "out", "--rate", "1000/1", "--concurrency", "1")
    assert result.returncode == 0, result.stderr
    assert box.state.calls == 10 and len(box.state.applied) == 6


def test_max_calls_stops_sending_and_leaves_rows_to_rerun(tmp_path, sandbox):
    box = sandbox()
    result = run(box, sheet(tmp_path, 12), tmp_path / "out", "--rate", "1000/1", "--max-calls", "5")
    assert result.returncode == 1
    assert "--max-calls" in result.stdout
    assert box.state.calls == 5
    counts = summary(tmp_path / "out")["counts"]
    assert (counts["success"], counts["not_sent"]) == (5, 7)
    assert len(read_report(tmp_path / "out" / "failed.csv")) == 7
    # The next day, the same command sends the rest.
    again = run(box, tmp_path / "in.csv", tmp_path / "out", "--rate", "1000/1", "--max-calls", "5")
    assert again.returncode == 1 and box.state.calls == 10
    tomorrow = run(box, tmp_path / "in.csv", tmp_path / "out", "--rate", "1000/1")
    assert tomorrow.returncode == 0, tomorrow.stderr
    assert sorted(int(r["_row"]) for r in read_report(tmp_path / "out" / "report.csv")) == list(range(2, 14))
    assert len(box.state.applied) == 12


@pytest.mark.parametrize(("options", "rate"), [(["--plan", "lite"], "2/5"), (["--plan", "enterprise", "--headroom", "20"], "20/5"), (["--rate", "10/1", "--headroom", "50"], "5/1")])
def test_plan_presets_and_headroom(tmp_path, sandbox, options, rate):
    box = sandbox()
    # One invalid row: the rate is resolved and recorded as for any run, and only the key check is
    # sent (at 2 per 5 s, a row's calls would spend seconds of the fast suite's minute).
    path = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], ["not-an-id", "Won"]])
    result = run(box, path, tmp_path / "out", *options)
    assert result.returncode == 1 and box.state.user_calls == 1, result.stderr
    assert summary(tmp_path / "out")["rate"] == rate


def test_every_plan_has_its_documented_limit():
    assert {plan: str(Rate.for_plan(plan)) for plan in PLAN_CALLS} == {
        "lite": "2/5", "pro": "5/5", "super": "10/5", "basic": "10/5", "standard": "15/5", "enterprise": "25/5",
    }
    assert Rate(2, 5).with_headroom(90) == Rate(1, 5)  # never below one call


def test_plan_and_rate_together_are_refused(tmp_path):
    result = run_cli("run", "in.csv", "--out", str(tmp_path), "--plan", "pro", "--rate", "5/5")
    assert result.returncode == 2 and "not allowed with" in result.stderr


def test_the_library_resolves_a_rate_from_a_plan_or_a_rate_and_headroom():
    assert Rate.resolve() == Rate(25, 5)
    assert Rate.resolve(plan="pro", headroom=20) == Rate(4, 5)
    assert Rate.resolve("10/1", headroom=50) == Rate(5, 1)
    assert Rate.resolve(Rate(8, 2)) == Rate(8, 2)
    with pytest.raises(InputError, match="not both"):
        Rate.resolve("10/1", plan="pro")
    with pytest.raises(InputError, match="not a LeadSquared plan"):
        Rate.resolve(plan="gold")
