"""The web page's whole story in headless Chromium, against the sandbox: a sheet uploaded and run with backup;
two failed rows fixed in the page's grid and retried (one fix refused as spreadsheet damage, one sent); the
retry verified, then undone after its confirmation; then every screen loaded again from its address, with
nothing on any of them empty or wrong. `make screenshots` saves the fix-and-retry screen as docs/ui.png.
"""

from __future__ import annotations

import json
import os
import re
import uuid

import pytest
from conftest import new_ids, write_csv
from test_ui_browser import ROOT, WAIT, Screens, browser, connect_and_start, page, plain, run_folders, summary_of, ui, upload_and_check, wait_for  # noqa: F401

from bulk_updater.ui.guard import KEY_HEADER

pytestmark = pytest.mark.e2e

OWNER, OLD_OWNER = str(uuid.uuid4()), str(uuid.uuid4())
COLUMNS = ["CompanyActivityId", "Owner", "mx_Code", "Status"]  # the grid's cells are cell-ROW-POSITION


def _sheet(tmp_path, ids: list[str]):
    """Rows 2 and 3 succeed; rows 4 and 5 fail (an Owner that is no user id)."""
    return write_csv(tmp_path / "owners.csv", [COLUMNS, [ids[0], OWNER, "001", "Won"], [ids[1], OWNER, "002", "Won"],
                                               [ids[2], "priya", "007", "Won"], [ids[3], "ravi", "008", "Won"]])


def _shown(page, address: str) -> None:  # noqa: F811
    """The screen at `address`, loaded as a reload loads it (the page's script fetches it with the key it holds)."""
    page.goto(address)
    page.wait_for_selector("main h1", timeout=WAIT)
    assert page.locator("#loading").count() == 0 and page.locator("#refusal").count() == 0, page.inner_text("main")


def _run_screen_is_whole(page, folder) -> None:  # noqa: F811
    """A finished run's screen drawn from its folder: counts, bar, groups, chart and stop reason agree with summary.json."""
    summary = summary_of(folder)
    total = summary["rows"]
    assert total > 0
    assert page.inner_text("#done") == page.inner_text("#total") == str(total)
    assert page.inner_text("#state") == "finished" and page.locator("#stop-reason").count() == 0
    assert page.locator("#not-sent-part").is_hidden()
    bar = page.locator("#bar")
    assert bar.get_attribute("max") == str(total) and bar.get_attribute("value") == str(total)
    for name in ("success", "failed", "invalid", "skipped", "not_sent"):
        assert page.inner_text(f"#count-{name}") == str(summary["counts"].get(name, 0)), name
    shown = page.inner_text("#summary-line")
    for name, count in summary["counts"].items():
        if count:
            assert f"{count} {name}" in shown
    groups = summary.get("failure_groups", [])
    assert page.locator("#groups tbody tr").count() == len(groups)
    assert page.locator("#no-groups").count() == (0 if groups else 1)
    for group, row in zip(groups, page.locator("#groups tbody tr").all()):
        assert group["outcome"] in row.inner_text() and str(group["rows"]) in row.inner_text()
    assert page.locator("#chart polyline").count() == 1 and float(page.inner_text("#cps")) > 0  # from pace.json
    text = page.inner_text("main")
    assert not re.search(r"\b(undefined|NaN|null)\b|\bNone\b(?!\.)", text), text  # "None." is the groups' own word


def test_upload_run_fix_two_rows_retry_verify_undo_and_every_screen_reloads_whole(page, ui, sandbox, tmp_path):  # noqa: F811
    ids = new_ids(4)
    initial = {i: {"ActivityNote": "as it was", "Fields": {"Owner": OLD_OWNER, "mx_Code": "000", "Status": "Open"}} for i in ids}
    box = sandbox(initial=json.loads(json.dumps(initial)))
    server = ui(box)

    # 1. the sheet, run with backup: two rows fail
    upload_and_check(page, server, _sheet(tmp_path, ids))
    connect_and_start(page, "100/1", backup=True)
    page.wait_for_selector("#results", timeout=WAIT)
    [first] = run_folders(tmp_path)
    first_address = page.url
    assert summary_of(first)["counts"] == {**summary_of(first)["counts"], "success": 2, "failed": 2}

    # 2. fixed in the page: row 4's Owner fixed, but its code typed as a spreadsheet saves it; row 5's Owner fixed
    page.click("#fix")
    page.wait_for_selector("#grid")
    assert page.inner_text("#row-4 .message") == "MXInvalidInputException: Owner must be a user id (GUID)"
    assert page.get_attribute("#cell-4-2", "aria-label") == "row 4, mx_Code" and page.input_value("#cell-4-2") == "007"
    page.fill("#cell-4-1", OWNER)
    page.fill("#cell-4-2", "7")
    page.focus("#cell-5-1")  # and one with the keyboard alone
    page.keyboard.press("Control+A")
    page.keyboard.type(OWNER)
    page.click("#save-fixes")
    page.wait_for_selector("#edited-count")
    assert page.inner_text("#edited-count") == "3 cells edited" and page.locator("#grid td.edited").count() == 3
    fix_address = page.url
    screens = Screens(page)  # the fix-and-retry screens pass axe and fit 390 px, as every other screen does
    screens.look("fix and retry")
    if os.environ.get("BULK_UPDATER_SCREENSHOTS"):
        page.screenshot(path=str(ROOT / "docs" / "ui.png"), full_page=True)
    page.press("#cell-5-1", "Enter")  # Enter in a cell: the form's first button, Review the retry
    page.wait_for_selector("#confirm-retry")
    review_address = page.url
    screens.look("the retry's review")

    # 3. the review: the line counts only row 5; row 4 is refused as damage, with why; the edits listed
    assert page.inner_text("#confirmation").startswith('About to update 1 row (1 activity) in "Sandbox Org"')
    assert page.inner_text("#count-damaged") == "1" and page.inner_text("#count-sending") == "1"
    assert f"row 5, Owner: 'ravi' -> '{OWNER}'" in page.inner_text("#edits")
    assert "mx_Code was '007', now '7' (leading zeros stripped)" in page.inner_text("#damaged")
    assert page.inner_text("#sending") == "Row 5."
    assert box.state.activities[ids[3]]["Fields"]["Owner"] == OLD_OWNER  # nothing sent yet
    page.click("#confirm-retry")
    page.wait_for_selector("#results", timeout=WAIT)
    retry_address = page.url
    [retry] = [folder for folder in run_folders(tmp_path) if folder != first]
    assert "retry of owners.csv" in page.inner_text("h1")
    assert page.inner_text("#confirmation").startswith("About to update 1 row (1 activity)")  # the line it was started with
    assert summary_of(retry)["counts"]["success"] == 1 and summary_of(retry)["counts"]["invalid"] == 1
    assert box.state.activities[ids[3]]["Fields"]["Owner"] == OWNER
    assert box.state.activities[ids[2]]["Fields"]["Owner"] == OLD_OWNER  # the damaged row: refused, not sent

    # 4. verify the retry, then undo it after its confirmation
    page.click("#verify")
    wait_for(page, "!!document.getElementById('verify-counts')")
    assert page.inner_text("#verify-counts") == "1 match, 0 mismatch, 0 error"
    page.click("#undo")
    assert page.inner_text("#confirmation").startswith("About to update 1 row (1 activity)")
    page.click("#confirm-undo")
    page.wait_for_selector("#results", timeout=WAIT)
    undo_address = page.url
    [undo] = [folder for folder in run_folders(tmp_path) if folder not in (first, retry)]
    assert "undo of retry of owners.csv" in page.inner_text("h1")
    assert box.state.activities[ids[3]]["Fields"] == initial[ids[3]]["Fields"]
    assert plain("GET", f"{undo_address}/fix", {KEY_HEADER: server.token})[0] == 303  # an undo's rows are undone again, never fixed

    # 5. every screen again from its address: nothing empty, nothing wrong
    for address, folder in ((first_address, first), (retry_address, retry), (undo_address, undo)):
        _shown(page, address)
        _run_screen_is_whole(page, folder)
    _shown(page, retry_address)
    assert page.inner_text("#verify-counts") == "1 match, 0 mismatch, 0 error"
    for address in (fix_address, review_address):  # once retried, the run's rows left are its retry's: its page says so
        _shown(page, address)
        assert retry.name in page.inner_text("#retried") and page.locator("#fix").count() == 0
    _shown(page, retry_address + "/fix")  # the row left, as the retry sent it
    assert page.input_value("#cell-4-2") == "7" and page.locator("#edited-count").count() == 0
    assert [row.get_attribute("id") for row in page.locator("#grid tbody tr").all()] == ["row-4"]
    screens.look("the retry's grid, reloaded")
    screens.assert_none()
    _shown(page, server.base + "/")
    titles = page.inner_text("#runs")
    assert "owners.csv" in titles and "retry of owners.csv" in titles and "undo of retry of owners.csv" in titles
