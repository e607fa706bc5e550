"""The field check's read, gone out with the first updates, must not outlast a stop; nor may it,
awaited before the first update (it may refuse a column), hold a stop up."""

import asyncio
import json
import threading
import time

from conftest import new_ids, write_csv

import bulk_updater
from bulk_updater import Credentials, JobOptions, SendSettings
from bulk_updater.rows import ReadOptions
from bulk_updater.safety import field_check
from bulk_updater.sandbox.server import Sandbox
from bulk_updater.settings import Rate
from bulk_updater.stopping import StopToken


def test_a_stop_after_the_last_row_does_not_wait_for_a_hanging_field_check(sandbox, monkeypatch, tmp_path):
    """One row is done at once; the read hangs. A stop then says "waiting up to 0.2 s for the calls
    in flight": the run must end within that, not when the read gives up (here 20 s).

    --map names the one field column: the read can refuse nothing, so it goes out with the update."""
    original = Sandbox.retrieve_by_id
    read_started = threading.Event()

    async def hanging(self, request):
        read_started.set()
        await asyncio.sleep(20)
        return await original(self, request)

    monkeypatch.setattr(Sandbox, "retrieve_by_id", hanging)
    box = sandbox(fields=frozenset({"Status"}))
    send = SendSettings(box.url, Credentials(box.config.access_key, box.config.secret_key), rate=Rate(1000, 1), timeout=60)
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], [new_ids(1)[0], "Won"]])
    (tmp_path / "map.json").write_text(json.dumps({"Status": "Status"}))
    token = StopToken()
    done = threading.Event()
    # When the job starts waiting for the read: nothing public says so, and a stop that came before
    # would be seen at the wait's first look, where the bug (one look, then no more) hid.
    finish, waiting = field_check.FieldCheck.finish, threading.Event()

    async def finish_then_say(self, stopped):
        waiting.set()
        return await finish(self, stopped)

    monkeypatch.setattr(field_check.FieldCheck, "finish", finish_then_say)

    def stop_when_the_row_is_done() -> None:
        assert read_started.wait(10) and done.wait(10) and waiting.wait(10)  # the runner has finished its one row; only the read is left
        token.stop()

    threading.Thread(target=stop_when_the_row_is_done, daemon=True).start()
    options = JobOptions(
        progress=False, keep_going=True, confirm=lambda line: True, confirm_asks=False, stop_token=token, stop_wait=0.2,
        on_outcome=lambda outcome: done.set(), read=ReadOptions(map_path=tmp_path / "map.json"),
        canary=False,  # the canary's reads would hang as the field check's does: only the field check is tested here
    )
    started = time.monotonic()
    bulk_updater.run(sheet, tmp_path / "out", send, options)
    assert done.is_set() and len(box.state.applied) == 1
    assert time.monotonic() - started < 8


def test_a_stop_while_the_field_check_is_awaited_before_sending_sends_nothing_and_does_not_wait_for_it(sandbox, monkeypatch, tmp_path):
    """No map: the read must answer before the first update (it may refuse a column). It hangs; a
    stop during it ends the wait at once: nothing is sent, every row is not_sent, the run stopped."""
    original = Sandbox.retrieve_by_id
    read_started = threading.Event()

    async def hanging(self, request):
        read_started.set()
        await asyncio.sleep(20)
        return await original(self, request)

    monkeypatch.setattr(Sandbox, "retrieve_by_id", hanging)
    box = sandbox(fields=frozenset({"Status"}))
    send = SendSettings(box.url, Credentials(box.config.access_key, box.config.secret_key), rate=Rate(1000, 1), timeout=60)
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in new_ids(3)]])
    token = StopToken()

    def stop_during_the_read() -> None:
        # The job awaits the read from the moment it sends it: a stop now comes during that wait.
        assert read_started.wait(10)
        token.stop()

    threading.Thread(target=stop_during_the_read, daemon=True).start()
    options = JobOptions(progress=False, keep_going=True, confirm=lambda line: True, confirm_asks=False, stop_token=token, stop_wait=0.2)
    started = time.monotonic()
    summary = bulk_updater.run(sheet, tmp_path / "out", send, options)
    assert time.monotonic() - started < 8
    assert box.state.calls == 0 and summary.counts["not_sent"] == 3 and summary.stop_reason == "stopped"
