"""Pacing at the physical limit, end to end in process: the key check inside the window, the
opening burst, and a run that shares the account with another integration."""

import asyncio
import contextlib
import json
import time
import urllib.request

import pytest
from conftest import cli_env, new_ids, untouched, write_csv

import bulk_updater
from bulk_updater import Credentials, JobOptions, SendSettings, cli
from bulk_updater.sandbox.server import STATE_PATH, Sandbox
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
    waits for the next window (a key check outside the limiter would draw a 429 here). The jitter
    is a loaded machine's: a call may reach the sandbox a few tenths after its start."""
    box = sandbox(rate=Rate(5, 1.0))
    run_in_process(box, monkeypatch, tmp_path, 4, "--rate", "5/1", "--jitter", "0.3")
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
    started = time.monotonic()
    even = sandbox(rate=Rate(5, 0.5), other_integration=4)
    bursts = sandbox(rate=Rate(5, 0.5), other_integration=4, other_bursts=True)

    counters = even.wait_until(lambda state: state.other_calls >= 9)
    # 4 per 0.5 s evenly spaced: the 9th call comes 8 x 0.125 s after the first, however busy the machine.
    assert time.monotonic() - started >= 0.95 and counters.other_throttled == 0
    # The state is looked at after each step of the sandbox's loop, as its state page would be: never inside a
    # burst. Past 8 it shows a whole third burst (12), where calls made one by one would show 9.
    counters = bursts.wait_until(lambda state: state.other_calls > 8)
    assert counters.other_calls % 4 == 0
    with urllib.request.urlopen(bursts.url + STATE_PATH, timeout=30) as answer:  # the state page, read once: the same
        assert json.load(answer)["other_calls"] % 4 == 0


@pytest.mark.e2e  # 10 s of real pacing beside another integration; tests/test_limiter_sharing.py holds the rules at an injected clock
def test_a_run_sharing_the_account_learns_the_room(sandbox, monkeypatch, tmp_path):
    """Another integration evenly uses 4 of 10 calls per second: with no flag the run settles
    on what it leaves, and every row still succeeds."""
    box = sandbox(rate=Rate(10, 1.0), other_integration=4)
    box.wait_until(lambda state: state.other_calls >= 5)  # the other integration is already at work when the run starts
    summary = run_in_process(box, monkeypatch, tmp_path, 40, "--rate", "10/1", "--jitter", "0.05")
    state = box.state
    assert summary["counts"]["success"] == 40
    # The opening burst overshoots by the other's share; learning keeps the rest few.
    assert state.throttled <= 14
    assert state.other_throttled <= 4


def read_answering_after_an_update(monkeypatch, patience: float) -> dict:
    """Make the sandbox's RetrieveById hold its answer until an update has arrived (or `patience` s passed).

    Returns what the read saw: whether an update had arrived when it answered. A job that waits
    for the field check before its first update makes the read wait the whole `patience` and see none.
    A test that expects the update first gives it long (it arrives at once); one that expects none, short.
    """
    seen: dict = {}
    arrived: dict[str, asyncio.Event] = {}  # made on the sandbox's loop, by the first handler to run
    original_update, original_read = Sandbox.update, Sandbox.retrieve_by_id

    async def update(self, request):
        arrived.setdefault("event", asyncio.Event()).set()
        return await original_update(self, request)

    async def retrieve_by_id(self, request):
        event = arrived.setdefault("event", asyncio.Event())
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(event.wait(), patience)
        seen.setdefault("update_arrived_first", event.is_set())  # the first read: the field check's
        return await original_read(self, request)

    monkeypatch.setattr(Sandbox, "update", update)
    monkeypatch.setattr(Sandbox, "retrieve_by_id", retrieve_by_id)
    return seen


def test_with_nobody_to_ask_a_field_check_that_can_refuse_nothing_goes_out_with_the_first_updates(sandbox, monkeypatch, tmp_path, capsys):
    """Without a terminal (or with --yes), when --map names every field column (so no case clash can
    be refused), nothing waits on the field check's warnings: its read must not hold up the opening
    burst (a whole read's latency on a short job), and its warning still comes."""
    seen = read_answering_after_an_update(monkeypatch, patience=30)
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
    seen = read_answering_after_an_update(monkeypatch, patience=0.5)
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
    seen = read_answering_after_an_update(monkeypatch, patience=0.5)
    box = sandbox(fields=frozenset({"Status"}))
    asked: list[str] = []
    send = SendSettings(box.url, Credentials(box.config.access_key, box.config.secret_key), rate=Rate(1000, 1))
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Stauts"], *[[i, "x"] for i in new_ids(2)]])
    options = JobOptions(progress=False, keep_going=True, confirm=lambda line: asked.append(line) or True, confirm_asks=True)

    bulk_updater.run(sheet, tmp_path / "out", send, options)

    assert seen == {"update_arrived_first": False} and len(asked) == 1 and len(box.state.arrivals) == 2
