"""The web page end to end, in headless Chromium from Debian (driven by Playwright), against the sandbox.

Skipped when /usr/bin/chromium is absent, unless BULK_UPDATER_REQUIRE_BROWSER is set
(CI sets it: there a skip is a failure). `make screenshots` sets BULK_UPDATER_SCREENSHOTS
to save the run screen as docs/ui.png.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from conftest import new_ids, untouched, write_csv

from bulk_updater import check, demo
from bulk_updater.ui import UiThread

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
    yield context.new_page()
    context.close()


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


def run_folders(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "workspace" / "runs").iterdir())


def summary_of(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())


def test_a_sheet_from_upload_to_results_download_and_retry(page, ui, sandbox, tmp_path):
    # The sample activities with their notes and fields: the canary's first check decides.
    initial = demo.sandbox_activities()
    box = sandbox(activities=set(initial), initial=initial, latency=(0.05, 0.2))
    server = ui(box)
    expected = check.check(SAMPLE)
    upload_and_check(page, server, SAMPLE)
    assert int(page.inner_text("#check-will-update")) == expected.will_update
    assert int(page.inner_text("#check-invalid")) == expected.invalid
    assert int(page.inner_text("#check-skipped")) == expected.skipped
    connect_and_start(page, "100/1")
    # live: the counts reach the totals, then the page turns into the results
    page.wait_for_function("document.getElementById('total') && +document.getElementById('total').textContent > 0 && "
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
    page.wait_for_function("+document.getElementById('done').textContent >= 20", timeout=WAIT)
    run_address = page.url
    # Leaving the page (or closing the tab) does not stop the run; the home page lists it, and it shows again.
    page.goto(server.base + "/")
    assert "running now" in page.inner_text("#runs")
    page.goto(run_address)
    page.wait_for_function("+document.getElementById('done').textContent >= 40", timeout=WAIT)
    assert "About to update 150 rows (150 activities)" in page.inner_text("#confirmation")
    assert "failed" in page.inner_text("#groups")
    if os.environ.get("BULK_UPDATER_SCREENSHOTS"):
        (ROOT / "docs").mkdir(exist_ok=True)
        page.screenshot(path=str(ROOT / "docs" / "ui.png"), full_page=True)
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


def test_the_page_refuses_a_browser_without_the_token(browser, ui, sandbox):
    server = ui(sandbox())
    context = browser.new_context()
    try:
        page = context.new_page()
        response = page.goto(server.base + "/")
        assert response.status == 403 and "printed" in page.inner_text("body")
        page.goto(server.url)  # the printed address: the cookie, and the token gone from the address bar
        assert page.url == server.base + "/" and re.search("Runs in this workspace", page.content())
    finally:
        context.close()
