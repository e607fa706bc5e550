"""The page reads uploads in a child process: the far-cell workbook is refused on its
screens, and a reader that crashes fails that upload with a message while the server and its runs go on."""

from __future__ import annotations

import json

import native_crash
import pytest
from conftest import new_ids, write_csv
from test_ui_guard import _upload, fetch, signed_in, ui  # noqa: F401  (the `ui` fixture)
from test_ui_jobs import _start_run
from test_ui_safety_net import _environ, _finished
from workbooks import far_cell_xlsx

from bulk_updater.ui import app


async def test_the_far_cell_workbook_is_refused_on_the_sheet_and_check_screens(ui, tmp_path):  # noqa: F811
    server = ui()
    upload_id = await _upload(server, far_cell_xlsx(tmp_path / "far.xlsx"))
    _, page, _ = await fetch("GET", f"{server.base}/sheet/{upload_id}", headers=signed_in(server))
    assert '<option value="Sheet1"' in page  # the sheets are listed: another could be picked
    assert "the sheet is too large to read" in page and "XFD1048576" in page
    _, page, _ = await fetch("GET", f"{server.base}/check/{upload_id}", headers=signed_in(server))
    assert 'id="refusal"' in page and "the sheet is too large to read" in page and 'id="to-connect"' not in page


@pytest.mark.e2e  # a child process that aborts: a real process
async def test_a_reader_that_crashes_fails_that_upload_and_the_server_and_its_run_go_on(ui, sandbox, tmp_path, monkeypatch):  # noqa: F811
    box = sandbox()
    server = ui(_environ(box))
    ids = new_ids(40)
    run_id = await _start_run(server, box, write_csv(tmp_path / "edits.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in ids]]), "20/1")
    monkeypatch.setattr(app, "checked", native_crash.abort)  # the check's reader aborts its process, as calamine did
    other = await _upload(server, write_csv(tmp_path / "other.csv", [["CompanyActivityId", "Status"], [new_ids(1)[0], "Won"]]))
    status, page, _ = await fetch("GET", f"{server.base}/check/{other}", headers=signed_in(server))
    assert box.state.calls < len(ids)  # the run was still sending
    assert status == 200 and "the file could not be read: the reader stopped abnormally (signal 6, SIGABRT)" in page
    assert 'id="to-connect"' not in page
    await _finished(server, run_id)
    summary = json.loads((tmp_path / "ws" / "runs" / run_id / "summary.json").read_text())
    assert summary["counts"]["success"] == len(ids) and sorted(box.state.applied) == sorted(ids)
