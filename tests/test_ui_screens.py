"""Every screen of a run is drawn again from its folder: after the job ends, after a restart of the server
(a new server on the same workspace), with the stop reason in words; and the run's and home's names for it."""

from __future__ import annotations

import asyncio
import json
import re

from conftest import new_ids, untouched, write_csv
from test_ui_guard import fetch, posting, signed_in, ui  # noqa: F401  (the `ui` fixture)
from test_ui_safety_net import _environ, _finished, _to_confirm


async def _started(server, sheet, options: dict[str, str]) -> str:
    upload_id, _ = await _to_confirm(server, sheet, options)
    _, _, response = await fetch("POST", f"{server.base}/start/{upload_id}", headers=posting(server))
    return response.headers["Location"].rsplit("/", 1)[-1]


def _progress(page: str) -> str:
    line = re.search(r'id="progress-line">(.*?)</p>', page, re.S)
    assert line, page
    return " ".join(re.sub(r"<[^>]+>", "", line.group(1)).split())


async def test_a_stopped_run_reads_its_stop_in_words_and_keeps_bar_groups_and_chart_after_a_restart(ui, sandbox, tmp_path):  # noqa: F811
    ids = new_ids(200)
    box = sandbox(initial=untouched(ids))
    server = ui(_environ(box))
    rows = [["CompanyActivityId", "Status"], ["", "Won"], *[[i, "Won"] for i in ids[1:]]]  # row 2: no id (invalid, a failure group)
    sheet = write_csv(tmp_path / "Q3 edits.csv", rows)
    run_id = await _started(server, sheet, {"rate": "40/1"})
    folder = tmp_path / "ws" / "runs" / run_id
    await asyncio.to_thread(box.wait_until, lambda state: state.calls >= 20)  # some rows done (the job's end writes pace.json)
    await fetch("POST", f"{server.base}/runs/{run_id}/stop", headers=posting(server))
    page = await _finished(server, run_id)
    summary = json.loads((folder / "summary.json").read_text())
    not_sent = summary["counts"]["not_sent"]
    assert summary["stop_reason"] == "stopped" and 0 < not_sent < 200
    done = 200 - not_sent
    expected = f"{done} of 200 rows done · stopped by you · {not_sent} not sent"

    def shows_everything(page: str) -> None:
        assert _progress(page) == expected
        assert "(stopped by you)" in page and "(stopped: stopped)" not in page
        assert f'<progress id="bar" max="200" value="{done}"' in page
        groups = re.search(r'<table id="groups">.*?<tbody>(.*?)</tbody>', page, re.S)
        assert groups and "<td>invalid</td>" in groups.group(1)
        chart = re.search(r'<svg id="chart"[^>]*>(.*?)</svg>', page, re.S)
        assert chart and "<polyline points=" in chart.group(1)
        calls = re.search(r'id="cps">([0-9.]+)<', page)
        assert calls and float(calls.group(1)) > 0

    shows_everything(page)
    pace = json.loads((folder / "pace.json").read_text())
    assert sum(pace["series"]) > 0 and pace["calls"] > 0
    # Coming back to it from another server on the same workspace: no job, only the folder.
    again = ui(_environ(box))
    await fetch("POST", again.base + "/connect", headers=posting(again), data={"next": "/"})
    _, page, _ = await fetch("GET", f"{again.base}/runs/{run_id}", headers=signed_in(again))
    shows_everything(page)


async def test_the_run_page_and_the_home_table_name_the_file_and_a_retry_of_it(ui, sandbox, tmp_path):  # noqa: F811
    ids = new_ids(3)
    box = sandbox(initial=untouched(ids[:2]), activities=set(ids[:2]))  # the third activity does not exist: a failed row to retry
    server = ui(_environ(box))
    sheet = write_csv(tmp_path / "Q3 edits.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in ids]])
    run_id = await _started(server, sheet, {"rate": "1000/1", "on_failures": "keep_going"})
    page = await _finished(server, run_id)
    assert "<title>bulk-updater · Q3 edits.csv</title>" in page and "<h1>Run: Q3 edits.csv</h1>" in page
    status, text, response = await fetch("POST", f"{server.base}/runs/{run_id}/retry", headers=posting(server), data={"confirmed": "1"})
    assert status == 303, text
    retry_id = response.headers["Location"].rsplit("/", 1)[-1]
    page = await _finished(server, retry_id)
    assert "<h1>Run: retry of Q3 edits.csv</h1>" in page
    _, home, _ = await fetch("GET", server.base + "/", headers=signed_in(server))
    assert "<th>Input file</th>" in home
    assert re.search(rf'data-run="{run_id}">.*?<td class="input">Q3 edits.csv</td>', home, re.S)
    assert re.search(rf'data-run="{retry_id}">.*?<td class="input">retry of Q3 edits.csv</td>', home, re.S)


async def test_after_a_good_key_check_the_connection_step_says_the_keys_work(ui, sandbox, tmp_path):  # noqa: F811
    box = sandbox()
    server = ui(_environ(box))
    status, page, _ = await fetch("POST", server.base + "/connect", headers=posting(server), data={"next": "/"})
    assert status == 200 and 'id="keys-work"' in page and "The keys work" in page
    # The form to connect again is folded away, not shown whole under the identity.
    assert re.search(r'<details id="connect-again">.*<form method="post" action="/connect"', page, re.S)
    _, fresh, _ = await fetch("GET", server.base + "/connect", headers=signed_in(server))
    assert 'id="keys-work"' in fresh
    status, bad, _ = await fetch("POST", server.base + "/connect", headers=posting(server),
                                 data={"next": "/", "access_key": "wrong-access-key-1", "secret_key": "wrong-secret-key-1"})
    assert status == 400 and 'id="keys-work"' not in bad and "<details" not in bad



async def test_retry_and_undo_show_the_about_to_update_screen_and_send_nothing_before_it_is_confirmed(ui, sandbox, tmp_path):  # noqa: F811
    ids = new_ids(3)
    box = sandbox(initial=untouched(ids[:2]), activities=set(ids[:2]))  # the third activity does not exist: a failed row
    server = ui(_environ(box))
    sheet = write_csv(tmp_path / "edits.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in ids]])
    run_id = await _started(server, sheet, {"rate": "1000/1", "on_failures": "keep_going", "backup": "1"})
    await _finished(server, run_id)
    runs = tmp_path / "ws" / "runs"
    for action, rows in (("retry", "1 row (1 activity)"), ("undo", "2 rows (2 activities)")):
        calls, folders = box.state.calls, len(list(runs.iterdir()))
        status, page, _ = await fetch("POST", f"{server.base}/runs/{run_id}/{action}", headers=posting(server), data={"force": "1"})
        assert status == 200 and f'id="confirmation">About to update {rows} in &#34;Sandbox Org&#34; as Sandbox Admin' in page
        assert re.search(r'id="who-org">Sandbox Org<', page) and 'id="who-keys"' in page and box.config.access_key not in page
        assert f'<form method="post" action="/runs/{run_id}/{action}">' in page and 'name="confirmed" value="1"' in page
        assert ('name="force" value="1"' in page) == (action == "undo")  # the undo's Force goes on with the confirmation
        assert box.state.calls == calls and len(list(runs.iterdir())) == folders  # nothing started, nothing sent
        status, _, response = await fetch("POST", f"{server.base}/runs/{run_id}/{action}", headers=posting(server), data={"confirmed": "1"})
        assert status == 303
        started = await _finished(server, response.headers["Location"].rsplit("/", 1)[-1])
        assert f'id="confirmation">About to update {rows}' in started
