"""Pacing at the physical limit, end to end in process: the key check inside the window, the
opening burst, and a run that shares the account with another integration."""

import asyncio
import json
import time

from conftest import cli_env, new_ids, untouched, write_csv

import bulk_updater
from bulk_updater import Credentials, JobOptions, SendSettings, cli
from bulk_updater.sandbox.server import Sandbox
from bulk_updater.settings import Rate


def run_in_process(box, monkeypatch, tmp_path, rows: int, *options: str) -> dict:
    for name, value in cli_env(box).items():
        monkeypatch.setenv(name, value)
    ids = new_ids(rows)
    box.state.activities.update(untouched(ids))  # the canary's first check decides: the rows go at the rate, not one by one
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in ids]])
    code = cli.main(["run", str(sheet), "--out", str(tmp_path / "out"), "--no-progress", *options])
    assert code == 0
    return json.loads((tmp_path / "out" / "summary.json").read_text())


def test_the_key_check_counts_inside_the_window(sandbox, monkeypatch, tmp_path):
    """4 rows at 5/1: the key check and the field check take two places, so the 4th update
    waits for the next window (a key check outside the limiter would draw a 429 here)."""
    box = sandbox(rate=Rate(5, 1.0))
    run_in_process(box, monkeypatch, tmp_path, 4, "--rate", "5/1", "--jitter", "0.05")
    state = box.state
    assert state.throttled == 0 and state.user_calls == 1 and len(state.applied) == 4
    assert state.arrivals[-1] - state.user_arrivals[0] >= 1.0


def test_a_short_job_opens_with_a_burst(sandbox, monkeypatch, tmp_path):
    """The key check, the field check (one read of the first activity) and 3 updates fit one
    window of 5: none waits for even spacing."""
    box = sandbox(rate=Rate(5, 2.0))
    # (The canary's first update alone, read before and after, would take two more places: tests/test_canary.py.)
    run_in_process(box, monkeypatch, tmp_path, 3, "--rate", "5/2", "--jitter", "0.05", "--no-canary")
    state = box.state
    assert state.throttled == 0 and len(state.applied) == 3
    # Evenly spaced, the last would start 4 x 2.05 / 5 = 1.64 s after the key check.
    assert state.arrivals[-1] - state.user_arrivals[0] < 1.0


def test_the_other_integration_paces_evenly_or_bursts(sandbox):
    even = sandbox(rate=Rate(5, 0.5), other_integration=4)
    bursts = sandbox(rate=Rate(5, 0.5), other_integration=4, other_bursts=True)
    time.sleep(1.1)
    assert 8 <= even.state.other_calls <= 11 and even.state.other_throttled == 0
    assert bursts.state.other_calls % 4 == 0 and bursts.state.other_calls >= 8


def test_a_run_sharing_the_account_learns_the_room(sandbox, monkeypatch, tmp_path):
    """Another integration evenly uses 4 of 10 calls per second: with no flag the run settles
    on what it leaves, and every row still succeeds."""
    box = sandbox(rate=Rate(10, 1.0), other_integration=4)
    time.sleep(1.0)  # the other integration is already at work when the run starts
    summary = run_in_process(box, monkeypatch, tmp_path, 40, "--rate", "10/1", "--jitter", "0.05")
    state = box.state
    assert summary["counts"]["success"] == 40
    # The opening burst overshoots by the other's share; learning keeps the rest few.
    assert state.throttled <= 14
    assert state.other_throttled <= 4


def read_answering_after_an_update(monkeypatch) -> dict:
    """Make the sandbox's RetrieveById hold its answer until an update has arrived (or 1.5 s passed).

    Returns what the read saw: whether an update had arrived when it answered. A job that waits
    for the field check before its first update makes the read wait the full 1.5 s and see none.
    """
    seen: dict = {}
    original = Sandbox.retrieve_by_id

    async def retrieve_by_id(self, request):
        for _ in range(150):
            if self.state.arrivals:
                break
            await asyncio.sleep(0.01)
        seen.setdefault("update_arrived_first", bool(self.state.arrivals))  # the first read: the field check's
        return await original(self, request)

    monkeypatch.setattr(Sandbox, "retrieve_by_id", retrieve_by_id)
    return seen


def test_with_nobody_to_ask_a_field_check_that_can_refuse_nothing_goes_out_with_the_first_updates(sandbox, monkeypatch, tmp_path, capsys):
    """Without a terminal (or with --yes), when --map names every field column (so no case clash can
    be refused), nothing waits on the field check's warnings: its read must not hold up the opening
    burst (a whole read's latency on a short job), and its warning still comes."""
    seen = read_answering_after_an_update(monkeypatch)
    box = sandbox(fields=frozenset({"Status"}))
    for name, value in cli_env(box).items():
        monkeypatch.setenv(name, value)
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status", "Stauts"], *[[i, "Won", "x"] for i in new_ids(3)]])
    (tmp_path / "map.json").write_text(json.dumps({"Status": "Status", "Stauts": "Stauts"}))

    # --no-canary: the canary's own reads would hold the first update back anyway.
    cli.main(["run", str(sheet), "--out", str(tmp_path / "out"), "--no-progress", "--keep-going", "--no-canary", "--map", str(tmp_path / "map.json")])

    assert seen == {"update_arrived_first": True}
    err = capsys.readouterr().err
    assert "Warning: Stauts is not among this activity's fields; did you mean Status?" in err
    assert err.index("About to update 3 rows") < err.index("Warning: Stauts")


def test_with_nobody_to_ask_a_field_check_that_may_refuse_answers_before_the_first_update(sandbox, monkeypatch, tmp_path, capsys):
    """The same run without the map: a column --map did not name may clash in case with a field, which
    is refused before anything is sent, so the read answers first even with nobody to ask (--yes)."""
    seen = read_answering_after_an_update(monkeypatch)
    box = sandbox(fields=frozenset({"Status"}))
    for name, value in cli_env(box).items():
        monkeypatch.setenv(name, value)
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status", "Stauts"], *[[i, "Won", "x"] for i in new_ids(3)]])

    cli.main(["run", str(sheet), "--out", str(tmp_path / "out"), "--no-progress", "--keep-going", "--yes"])

    assert seen == {"update_arrived_first": False} and len(box.state.arrivals) == 3
    err = capsys.readouterr().err
    assert err.index("Warning: Stauts is not among this activity's fields") < err.index("About to update 3 rows")


def test_when_someone_is_asked_the_field_check_answers_first(sandbox, monkeypatch, tmp_path):
    """At a terminal the warning must come before the question, so the read precedes every update."""
    seen = read_answering_after_an_update(monkeypatch)
    box = sandbox(fields=frozenset({"Status"}))
    asked: list[str] = []
    send = SendSettings(box.url, Credentials(box.config.access_key, box.config.secret_key), rate=Rate(1000, 1))
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Stauts"], *[[i, "x"] for i in new_ids(2)]])
    options = JobOptions(progress=False, keep_going=True, confirm=lambda line: asked.append(line) or True, confirm_asks=True)

    bulk_updater.run(sheet, tmp_path / "out", send, options)

    assert seen == {"update_arrived_first": False} and len(asked) == 1 and len(box.state.arrivals) == 2
