"""A run started from the web page, without a browser: its own thread, throttled live events, the CLI's folder."""

from __future__ import annotations

import asyncio
import json
import re
import time

import aiohttp
from conftest import cli_env, new_ids, run_cli, untouched, write_csv
from test_ui_guard import _multipart, fetch, posting, signed_in, ui  # noqa: F401  (the `ui` fixture)

from bulk_updater.settings import Rate
from bulk_updater.ui.app import PROGRESS_INTERVAL


async def _start_run(server, box, sheet, rate: str, after_connect=lambda: None, click_twice: bool = True) -> str:
    body, content_type = _multipart(sheet.name, sheet.read_bytes())
    _, _, response = await fetch("POST", server.base + "/upload", headers={**posting(server), "Content-Type": content_type}, data=body)
    upload_id = response.headers["Location"].rsplit("/", 1)[-1]
    await fetch("GET", f"{server.base}/check/{upload_id}", headers=signed_in(server))
    status, _, _ = await fetch("POST", server.base + "/connect", headers=posting(server), data={"next": "/"})
    assert status == 200  # the host and keys given at launch
    after_connect()
    await fetch("POST", f"{server.base}/options/{upload_id}", headers=posting(server), data={"rate": rate})
    status, _, response = await fetch("POST", f"{server.base}/start/{upload_id}", headers=posting(server))
    run_page = response.headers["Location"]
    # A second click on Start while the run goes on shows the same run: no second run of the sheet.
    if click_twice:
        _, _, again = await fetch("POST", f"{server.base}/start/{upload_id}", headers=posting(server))
        assert again.headers["Location"] == run_page
    return run_page.rsplit("/", 1)[-1]


async def _events(server, run_id: str) -> tuple[list[dict], list[float], bool]:
    snapshots, times, ended = [], [], False
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{server.base}/runs/{run_id}/events", headers=signed_in(server)) as response:
            assert response.headers["Content-Type"] == "text/event-stream"
            async for raw in response.content:
                line = raw.decode().strip()
                if line == "event: end":
                    ended = True
                elif line.startswith("data: ") and not ended:
                    snapshots.append(json.loads(line[len("data: "):]))
                    times.append(time.monotonic())
    return snapshots, times, ended


async def test_live_events_are_throttled_and_end_with_the_counts_of_summary_json(ui, sandbox, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setattr("bulk_updater.ui.app.PROGRESS_INTERVAL", PROGRESS_INTERVAL)  # the page's own, not the fixture's
    ids = new_ids(60)
    box = sandbox(rate=Rate(1000, 1), initial=untouched(ids))  # the first check decides: the rows go at 30/1
    sheet = write_csv(tmp_path / "edits.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in ids]])
    server = ui({"LSQ_HOST": box.url, "LSQ_ACCESS_KEY": box.config.access_key, "LSQ_SECRET_KEY": box.config.secret_key})
    run_id = await _start_run(server, box, sheet, "30/1")  # about 2 s: 60 rows could make 60 events
    snapshots, times, ended = await _events(server, run_id)
    assert ended and snapshots[-1]["done"] == snapshots[-1]["total"] == 60
    # a few events a second, however fast rows finish; no event holds rows
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(snapshots) < 60 and all(gap > PROGRESS_INTERVAL / 2 for gap in gaps)
    assert set(snapshots[-1]) >= {"counts", "calls_per_second", "eta_seconds", "groups", "series"} and "rows" not in snapshots[-1]
    folder = tmp_path / "ws" / "runs" / run_id
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["counts"] == snapshots[-1]["counts"]
    # the CLI's own folder: `resume` finds nothing left to do in it, as for a run the CLI made
    result = await asyncio.to_thread(run_cli, "resume", str(folder), env=cli_env(box))  # the CLI runs its own loop
    assert result.returncode == 2 and "finished run" in result.stderr
    _, page, _ = await fetch("GET", f"{server.base}/runs/{run_id}", headers=signed_in(server))
    assert re.search(r'href="/runs/[^"]+/files/report.csv"', page)


def test_the_server_listens_on_loopback_only(tmp_path):
    from bulk_updater.ui import UiThread

    server = UiThread(tmp_path, {})
    try:
        assert server.sock.getsockname()[0] == "127.0.0.1" and server.url.startswith(f"http://127.0.0.1:{server.port}/?token=")
    finally:
        server.sock.close()


def test_the_ui_command_serves_the_workspace_with_the_launch_environment(tmp_path, monkeypatch):
    import bulk_updater.ui as ui_package

    served = {}
    monkeypatch.setattr(ui_package, "serve", lambda workspace, port, open_browser, environ, **limits: served.update(
        workspace=workspace, port=port, open_browser=open_browser, environ=environ, **limits))
    env_file = write_csv(tmp_path / "lsq.env", [["LSQ_ACCESS_KEY=from-the-file-123456"], ["LSQ_HOST=http://127.0.0.1:9"]])
    env_file.chmod(0o600)
    monkeypatch.chdir(tmp_path)
    result = run_cli("ui", "--no-browser", "--env-file", str(env_file))
    assert result.returncode == 0, result.stderr
    assert str(served["workspace"]) == "bulk-updater-runs" and served["open_browser"] is False
    assert served["stop_wait"] == 10 and served["upload_total"] == 2 * 1024**3
    assert served["environ"]["LSQ_ACCESS_KEY"] == "from-the-file-123456" and served["environ"]["LSQ_HOST"] == "http://127.0.0.1:9"


def test_the_browser_is_sent_a_private_file_not_the_token_in_its_command_line():
    # Private on purpose: the file is made inside `serve`, which runs until a signal.
    from bulk_updater.ui.server import _redirect_file

    opener = _redirect_file("http://127.0.0.1:1/?token=abc")
    try:
        assert opener.stat().st_mode & 0o077 == 0 and "token=abc" in opener.read_text()
    finally:
        opener.unlink()


async def test_a_run_refused_at_its_key_check_says_why_on_its_page(ui, sandbox, tmp_path):  # noqa: F811
    box = sandbox()
    sheet = write_csv(tmp_path / "edits.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in new_ids(3)]])
    server = ui({"LSQ_HOST": box.url, "LSQ_ACCESS_KEY": box.config.access_key, "LSQ_SECRET_KEY": box.config.secret_key})

    def rotate_keys() -> None:  # the admin rotated the keys after the page checked them
        box.config.secret_key = "the-key-was-changed-since"

    # (one click: the refusal may come before a second, which then starts a run again, as after new keys)
    run_id = await _start_run(server, box, sheet, "100/1", after_connect=rotate_keys, click_twice=False)
    *_, ended = await asyncio.wait_for(_events(server, run_id), 60)  # the job's live events end with it
    _, page, _ = await fetch("GET", f"{server.base}/runs/{run_id}", headers=signed_in(server))
    assert ended and 'id="refusal"' in page
    assert "LeadSquared rejected the keys (401" in page and box.state.calls == 0
    _, home, _ = await fetch("GET", server.base + "/", headers=signed_in(server))
    assert "not started (nothing sent)" in home
