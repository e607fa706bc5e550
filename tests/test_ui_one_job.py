"""One job per action: a retry, undo or verify POSTed twice (a double click, or the
form sent again) starts one job, and every request lands on it.

The handlers checked for a job going on, then awaited the form and the account check, then started
one: two requests at once both passed the check. Now each action holds its run's lock until its job
started, and the form's one-time value lands a second sending where the first landed.
"""

from __future__ import annotations

import asyncio
import re
import time

from conftest import new_ids, write_csv
from test_ui_guard import fetch, posting, signed_in, ui  # noqa: F401  (the `ui` fixture)
from test_ui_safety_net import _backup_run, _environ, _finished, _to_confirm

from bulk_updater.ui import app
from bulk_updater.ui.undoing import wrong_account
from bulk_updater.ui.verifying import Verification, start


def _once(page: str, run_id: str, action: str) -> str:
    found = re.search(rf'action="/runs/{run_id}/{action}"><input type="hidden" name="once" value="([^"]+)"', page)
    assert found, f"no {action} form"
    return found[1]


async def _confirmed(server, run_id: str, action: str, page: str) -> dict[str, str]:
    """The run page's form posted once: the confirmation screen, whose form carries the same `once` on, with
    `confirmed`; its hidden fields (the form the Start button sends)."""
    status, screen, _ = await fetch("POST", f"{server.base}/runs/{run_id}/{action}", headers=posting(server), data={"once": _once(page, run_id, action)})
    assert status == 200 and f'id="confirm-{action}"' in screen, screen
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', screen))
    assert fields == {"confirmed": "1", "once": _once(page, run_id, action)}, fields
    return fields


async def _posted_at_once(server, run_id: str, action: str, form: dict[str, str], times: int) -> set[str]:
    """`times` POSTs of the same form, all sent before any is answered; the places they land."""
    answers = await asyncio.gather(*(fetch("POST", f"{server.base}/runs/{run_id}/{action}", headers=posting(server), data=form) for _ in range(times)))
    assert all(status == 303 for status, _, _ in answers), [text for _, text, _ in answers]
    return {response.headers["Location"] for _, _, response in answers}


def _runs(tmp_path) -> set[str]:
    return {p.name for p in (tmp_path / "ws" / "runs").iterdir()}


async def test_retry_posted_twice_starts_one_retry(ui, sandbox, tmp_path):  # noqa: F811
    known, unknown = new_ids(3), new_ids(2)
    box = sandbox(activities=set(known))
    server = ui(_environ(box))
    sheet = write_csv(tmp_path / "edits.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in known + unknown]])
    upload_id, _ = await _to_confirm(server, sheet, {"rate": "1000/1"})
    _, _, response = await fetch("POST", f"{server.base}/start/{upload_id}", headers=posting(server))
    run_id = response.headers["Location"].rsplit("/", 1)[-1]
    page = await _finished(server, run_id)
    before = _runs(tmp_path)
    form = await _confirmed(server, run_id, "retry", page)
    landed = await _posted_at_once(server, run_id, "retry", form, 3)
    assert len(landed) == 1 and len(_runs(tmp_path) - before) == 1  # two retries of the same rows, before
    [retry] = _runs(tmp_path) - before
    assert landed == {f"/runs/{retry}"}
    await _finished(server, retry)
    # sent again once the retry ended, the same form still lands on it: no third retry
    assert await _posted_at_once(server, run_id, "retry", form, 1) == landed
    assert len(_runs(tmp_path) - before) == 1


async def test_undo_posted_three_times_starts_one_undo(ui, sandbox, tmp_path):  # noqa: F811
    box = sandbox()
    server = ui(_environ(box))
    run_id, page = await _backup_run(server, box, tmp_path, new_ids(4))
    before = _runs(tmp_path)
    landed = await _posted_at_once(server, run_id, "undo", await _confirmed(server, run_id, "undo", page), 3)
    assert len(landed) == 1 and len(_runs(tmp_path) - before) == 1  # three POSTs started two undo jobs, before


async def test_a_job_going_on_is_where_any_second_click_lands(ui, sandbox, tmp_path):  # noqa: F811
    box = sandbox()
    server = ui(_environ(box))
    run_id, page = await _backup_run(server, box, tmp_path, new_ids(4))
    box.config.latency = (0.3, 0.3)  # the undo is still going when the other pages' forms arrive
    before = _runs(tmp_path)
    landed = await _posted_at_once(server, run_id, "undo", await _confirmed(server, run_id, "undo", page), 1)
    _, other_tab, _ = await fetch("GET", f"{server.base}/runs/{run_id}", headers=signed_in(server))  # another form, another value
    assert await _posted_at_once(server, run_id, "undo", {"once": _once(other_tab, run_id, "undo"), "confirmed": "1"}, 2) == landed
    assert len(_runs(tmp_path) - before) == 1


async def test_verify_posted_three_times_reads_each_activity_once(ui, sandbox, tmp_path, monkeypatch):  # noqa: F811
    box = sandbox()
    server = ui(_environ(box))
    ids = new_ids(5)
    run_id, page = await _backup_run(server, box, tmp_path, ids)

    def slow_account_check(*args):  # reading run.json on a slow disk: the other requests arrive meanwhile
        time.sleep(0.2)
        return wrong_account(*args)

    started: list[Verification] = []  # every verification the POSTs started, each before its POST was answered

    def start_verification(verification: Verification) -> Verification:
        started.append(verification)
        return start(verification)

    monkeypatch.setattr(app, "wrong_account", slow_account_check)
    monkeypatch.setattr(app, "start_verification", start_verification)
    reads = box.state.retrieve_calls
    assert await _posted_at_once(server, run_id, "verify", {"once": _once(page, run_id, "verify")}, 3) == {f"/runs/{run_id}"}
    await _finished(server, run_id, 'id="verify-counts"')
    assert all([await asyncio.to_thread(verification.wait, 60) for verification in started])  # every read they made, made
    assert box.state.retrieve_calls - reads == len(ids) and len(started) == 1  # one read each: one verify
