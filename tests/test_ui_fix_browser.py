"""Fix and retry in headless Chromium: every cell as the browser gives it back. The grid shown and saved without a
keystroke changes nothing, whatever the cells hold (spaces at either end, a no-break space, a tab, line breaks of
every kind, a formula, the clear token, markup, decomposed accents, invisible characters, a note longer than a
typed value may be): the draft is failed.csv, and the review lists no edit."""

from __future__ import annotations

import uuid

import pytest
from conftest import new_ids, read_report, write_csv
from test_ui_browser import WAIT, browser, connect_and_start, page, run_folders, ui, upload_and_check  # noqa: F401

from bulk_updater.ui.fixing import FIXED, VALUE_CAP

pytestmark = pytest.mark.e2e

OWNER = str(uuid.uuid4())
AWKWARD = ["  both ends  ", "no\u00a0break", "a\ttab", "two\nlines", "old\rmac", "win\r\nbreaks", "trailing\n", "=1+1", "#N/A",
           '<b title="x">&amp;</b>', "e\u0301 decomposed", "zero\u200bwidth", "\u202ereversed", "emoji \U0001F600", "x\u2028y",
           "long " * (VALUE_CAP // 4)]


def test_the_grid_saved_without_a_keystroke_changes_no_cell(page, ui, sandbox, tmp_path):  # noqa: F811
    ids = new_ids(len(AWKWARD) + 1)
    box = sandbox()
    server = ui(box)
    columns = ["CompanyActivityId", "Owner", "ActivityNote"]
    sheet = write_csv(tmp_path / "awkward.csv", [columns, [ids[0], OWNER, "fine"], *[[i, "priya", value] for i, value in zip(ids[1:], AWKWARD)]])
    upload_and_check(page, server, sheet)
    connect_and_start(page, "1000/1")
    page.wait_for_selector("#results", timeout=WAIT)
    [run] = run_folders(tmp_path)
    failed = read_report(run / "failed.csv")
    assert [line["ActivityNote"] for line in failed] == AWKWARD  # each as the sheet had it: the grid gets them all
    page.click("#fix")
    page.wait_for_selector("#grid")

    page.click("#save-fixes")
    page.wait_for_selector("#grid")

    assert page.locator("#refusal").count() == 0, page.inner_text("#refusal")
    assert page.locator("#edited-count").count() == 0 and page.locator("#grid td.edited").count() == 0
    assert read_report(run / FIXED) == failed
    page.click("#review")
    page.wait_for_selector("#no-edits", timeout=WAIT)
