"""The web page's safety rules, against the real server on a free loopback port (no browser)."""

from __future__ import annotations

import asyncio
import logging
import re
import threading

import aiohttp
import pytest
from conftest import write_csv

from bulk_updater.ui import UiThread
from bulk_updater.ui.guard import KEY_HEADER, SHELL

TEMPLATES = SHELL.parent


# How often a live job's events are looked at in these tests (the page's 0.3 s): each wait for a job's
# end would take up to a whole interval more. tests/test_ui_jobs.py's test of the throttle keeps 0.3 s.
EVENTS_INTERVAL = 0.05


@pytest.fixture
def ui(tmp_path, monkeypatch):
    monkeypatch.setattr("bulk_updater.ui.app.PROGRESS_INTERVAL", EVENTS_INTERVAL)
    started = []

    def start(environ=None, upload_cap=None, upload_total=None) -> UiThread:
        server = UiThread(tmp_path / "ws", environ or {}, upload_cap, upload_total).__enter__()
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__(None, None, None)


def signed_in(server: UiThread) -> dict[str, str]:
    """What the page's script sends with every request: the key the printed address carried."""
    return {KEY_HEADER: server.token}


def posting(server: UiThread) -> dict[str, str]:
    return {**signed_in(server), "Origin": server.base}


async def fetch(method: str, url: str, **kwargs) -> tuple[int, str, aiohttp.ClientResponse]:
    async with aiohttp.ClientSession() as session:
        async with session.request(method, url, allow_redirects=False, **kwargs) as response:
            return response.status, await response.text(), response


async def test_without_the_key_a_get_gets_only_the_shell_and_anything_else_403(ui, tmp_path):
    server = ui()
    upload_id = await _upload(server, write_csv(tmp_path / "edits.csv", [["CompanyActivityId", "Status"], ["6513270e-269e-4d37-b2a7-4de452e6b438", "Won"]]))
    shell = SHELL.read_text()
    for path in ("/", "/connect", f"/sheet/{upload_id}", f"/check/{upload_id}", "/runs/20260101-000000-abcdef",
                 "/runs/20260101-000000-abcdef/files/report.csv", "/runs/20260101-000000-abcdef/events", "/?token=wrong"):
        status, body, response = await fetch("GET", server.base + path)
        assert status == 200 and body == shell, path  # no data: the script loads the screen with the key
        assert "Set-Cookie" not in response.headers
    for cookie in (f"bulk_updater_session_{server.port}={server.token}", f"session={server.token}"):  # what a cookie could carry grants nothing
        status, body, _ = await fetch("GET", server.base + "/", headers={"Cookie": cookie})
        assert status == 200 and body == shell
        status, body, _ = await fetch("POST", server.base + "/connect", headers={"Cookie": cookie, "Origin": server.base}, data={"region": "sg"})
        assert status == 403 and "Open the address bulk-updater ui printed" in body
    for key in ("", "wrong", server.token[:-1]):
        status, body, _ = await fetch("POST", f"{server.base}/sheet/{upload_id}", headers={KEY_HEADER: key, "Origin": server.base}, data={"action": "pick"})
        assert status == 403 and "Open the address bulk-updater ui printed" in body
    status, body, _ = await fetch("GET", server.base + "/static/style.css")
    assert status == 200 and "font" in body  # the style and the script hold no data


class LinesLogged(logging.Handler):
    """Set once `wanted` has been logged `times` times: the server logs a request after answering it."""

    def __init__(self, wanted: str, times: int = 1) -> None:
        super().__init__()
        self.wanted, self.left, self.seen = wanted, times, threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.wanted in record.getMessage():
            self.left -= 1
        if self.left <= 0:
            self.seen.set()


async def test_the_printed_address_sets_no_cookie_and_its_key_stays_out_of_the_log(ui, caplog):
    caplog.set_level(logging.INFO, logger="bulk_updater.ui.access")
    both = LinesLogged("GET / 200", times=2)
    logging.getLogger("bulk_updater.ui.access").addHandler(both)
    server = ui()
    status, body, response = await fetch("GET", server.url)
    assert status == 200 and "Set-Cookie" not in response.headers and server.token not in body
    status, body, _ = await fetch("GET", server.base + "/", headers=signed_in(server))
    assert status == 200 and "Runs in this workspace" in body and server.token not in body
    try:
        assert await asyncio.to_thread(both.seen.wait, 10)
    finally:
        logging.getLogger("bulk_updater.ui.access").removeHandler(both)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert logged.count("GET / 200") == 2
    assert server.token not in logged


async def test_every_answer_forbids_framing_and_loading_from_elsewhere(ui, tmp_path):
    server = ui()
    upload_id = await _upload(server, write_csv(tmp_path / "edits.csv", [["CompanyActivityId", "Status"], ["6513270e-269e-4d37-b2a7-4de452e6b438", "Won"]]))
    answers = [
        await fetch("GET", server.base + "/"),  # the shell
        await fetch("GET", server.base + "/", headers=signed_in(server)),
        await fetch("GET", f"{server.base}/check/{upload_id}", headers=signed_in(server)),
        await fetch("GET", server.base + "/static/page.js"),
        await fetch("GET", server.base + "/runs/20260101-000000-abcdef", headers=signed_in(server)),  # 404
        await fetch("POST", server.base + "/connect", headers={"Origin": server.base}),  # 403
        await fetch("GET", server.base + "/", headers={"Host": "evil.example"}),  # 403
    ]
    for status, _, response in answers:
        assert response.headers["X-Frame-Options"] == "DENY", status
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, status
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_the_pages_have_no_inline_script_style_or_handler_the_policy_would_block():
    for template in sorted(TEMPLATES.glob("*.html")):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template.name
        assert not re.search(r"\s(style|on[a-z]+)=", text) and "<style" not in text and "javascript:" not in text, template.name


async def test_a_foreign_host_is_refused_even_with_the_key(ui):
    server = ui()
    for host in ("evil.example", f"evil.example:{server.port}", f"127.0.0.1:{server.port + 1}", "127.0.0.1"):
        status, body, _ = await fetch("GET", server.base + "/", headers={**signed_in(server), "Host": host})
        assert status == 403 and "Host header" in body, host
    assert (await fetch("GET", server.base + "/", headers={**signed_in(server), "Host": f"localhost:{server.port}"}))[0] == 200


async def test_a_change_needs_the_pages_own_origin(ui):
    server = ui()
    for origin in ({"Origin": "http://evil.example"}, {"Origin": f"http://127.0.0.1:{server.port + 1}"}, {"Origin": "null"}, {}):
        status, body, _ = await fetch("POST", server.base + "/connect", headers={**signed_in(server), **origin}, data={"region": "sg"})
        assert status == 403 and "Origin" in body, origin
    status, _, _ = await fetch("POST", server.base + "/connect", headers=posting(server), data={"region": "sg"})
    assert status == 400  # past the guard: refused for lack of keys, not for where it came from


def _multipart(filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = "testboundary1234"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"sheet\"; filename=\"{filename}\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


async def test_an_upload_over_the_cap_is_refused_naming_it_and_leaves_nothing(ui, tmp_path):
    server = ui(upload_cap=2000)
    body, content_type = _multipart("big.csv", b"CompanyActivityId,Status\n" + b"x" * 5000)
    status, text, _ = await fetch("POST", server.base + "/upload", headers={**posting(server), "Content-Type": content_type}, data=body)
    assert status == 413 and "2,000 bytes limit" in text

    async def chunks():  # no Content-Length: the cap is enforced while streaming
        for start in range(0, len(body), 1000):
            yield body[start:start + 1000]

    status, text, _ = await fetch("POST", server.base + "/upload", headers={**posting(server), "Content-Type": content_type}, data=chunks())
    assert status == 413 and "2,000 bytes limit" in text
    uploads = tmp_path / "ws" / "uploads"
    assert not uploads.exists() or not any(uploads.rglob("*"))
    status, home, _ = await fetch("GET", server.base + "/", headers=signed_in(server))
    assert "2,000 bytes" in home  # the page says the cap


async def test_uploads_are_stored_under_names_the_server_chooses(ui, tmp_path):
    server = ui()
    body, content_type = _multipart("../../escape.csv", b"CompanyActivityId,Status\n6513270e-269e-4d37-b2a7-4de452e6b438,Won\n")
    status, _, response = await fetch("POST", server.base + "/upload", headers={**posting(server), "Content-Type": content_type}, data=body)
    assert status == 303 and re.fullmatch(r"/sheet/\d{8}-\d{6}-[0-9a-f]{6}", response.headers["Location"])
    stored = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert [p.name for p in stored] == ["choices.json", "input.csv"] and all(p.parts[:2] == ("ws", "uploads") for p in stored)
    body, content_type = _multipart("macro.exe", b"MZ")
    status, text, _ = await fetch("POST", server.base + "/upload", headers={**posting(server), "Content-Type": content_type}, data=body)
    assert status == 400 and "not a sheet" in text


async def _upload(server: UiThread, path) -> str:
    body, content_type = _multipart(path.name, path.read_bytes())
    _, _, response = await fetch("POST", server.base + "/upload", headers={**posting(server), "Content-Type": content_type}, data=body)
    return response.headers["Location"].rsplit("/", 1)[-1]


async def test_a_refused_file_shows_the_clis_message_and_cannot_start(ui, tmp_path):
    server = ui()
    upload_id = await _upload(server, write_csv(tmp_path / "no-id.csv", [["Status"], ["Won"]]))
    status, page, _ = await fetch("GET", f"{server.base}/check/{upload_id}", headers=signed_in(server))
    assert "Error: " in page and "CompanyActivityId" in page and 'id="to-connect"' not in page
    status, _, response = await fetch("POST", f"{server.base}/start/{upload_id}", headers=posting(server))
    assert status == 303 and not (tmp_path / "ws" / "runs").exists()


async def test_typed_keys_stay_in_memory_and_a_wrong_region_is_refused_as_the_cli_does(ui, sandbox, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    box = sandbox(access_key="typed-access-key-123456", secret_key="typed-secret-key-654321")
    server = ui()
    form = {"host": box.url, "access_key": box.config.access_key, "secret_key": box.config.secret_key}
    status, page, _ = await fetch("POST", server.base + "/connect", headers=posting(server), data=form)
    assert status == 200 and 'id="who-org"' in page
    wrong = sandbox(access_key="typed-access-key-123456", secret_key="typed-secret-key-654321", region_host="api-in21.leadsquared.com")
    status, refused, _ = await fetch("POST", server.base + "/connect", headers=posting(server), data={**form, "host": wrong.url})
    assert status == 400 and "the keys belong to the region host api-in21.leadsquared.com" in refused and "--region in21" in refused
    on_disk = "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file())
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for key in (box.config.access_key, box.config.secret_key):
        assert key not in page + refused + on_disk + logged
