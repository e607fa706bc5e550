"""The web page's Sheet and Check screens for a workbook, against the real server (no browser)."""

from __future__ import annotations

import json
import re

from conftest import new_ids
from test_ui_guard import _multipart, fetch, posting, signed_in, ui  # noqa: F401  (the `ui` fixture)
from workbooks import write_xlsx

from bulk_updater.checking import check as check_sheet
from bulk_updater.rows import ReadOptions


async def test_pick_a_workbook_sheet_and_map_its_headers_into_a_map_file_beside_it(ui, tmp_path):  # noqa: F811
    server = ui()
    ids = new_ids(2)
    book = write_xlsx(tmp_path / "book.xlsx", [["just notes"]], more_sheets={"Edits": [["Activity", "Stage"], [ids[0], "Won"], [ids[1], "Lost"]]})
    body, content_type = _multipart("book.xlsx", book.read_bytes())
    _, _, response = await fetch("POST", server.base + "/upload", headers={**posting(server), "Content-Type": content_type}, data=body)
    sheet_page = server.base + response.headers["Location"]
    upload_id = sheet_page.rsplit("/", 1)[-1]
    _, page, _ = await fetch("GET", sheet_page, headers=signed_in(server))
    assert re.search(r'<option value="Edits"', page)
    await fetch("POST", sheet_page, headers=posting(server), data={"sheet": "Edits", "action": "pick"})
    _, page, _ = await fetch("GET", sheet_page, headers=signed_in(server))
    assert 'value="Activity"' in page and 'value="Stage"' in page  # the headers, suggested as they are
    form = {"sheet": "Edits", "action": "check", "header_1": "Activity", "schema_1": "CompanyActivityId", "header_2": "Stage", "schema_2": "Status"}
    status, _, response = await fetch("POST", sheet_page, headers=posting(server), data=form)
    assert status == 303 and response.headers["Location"] == f"/check/{upload_id}"
    folder = tmp_path / "ws" / "uploads" / upload_id
    assert json.loads((folder / "map.json").read_text()) == {"Activity": "CompanyActivityId", "Stage": "Status"}
    _, page, _ = await fetch("GET", server.base + response.headers["Location"], headers=signed_in(server))
    assert re.search(r'id="check-will-update">2<', page) and 'id="to-connect"' in page
    # the map is a --map file the CLI reads as it is
    assert check_sheet(folder / "input.xlsx", ReadOptions(sheet="Edits", map_path=folder / "map.json")).will_update == 2


async def test_one_row_is_said_in_the_singular(ui, sandbox, tmp_path):  # noqa: F811
    from conftest import write_csv
    from test_ui_safety_net import _environ, _finished, _to_confirm

    a, b = new_ids(2)
    box = sandbox(activities={b})  # the run's one row names another: it fails
    server = ui(_environ(box))
    upload_id, _ = await _to_confirm(server, write_csv(tmp_path / "twice.csv", [["CompanyActivityId", "Status"], [a, "Won"], [b, "Won"], [a, "Lost"]]), {})
    _, page, _ = await fetch("GET", f"{server.base}/check/{upload_id}", headers=signed_in(server))
    assert "Warning: 1 row names an activity an earlier row names; it is applied in file order." in page
    upload_id, _ = await _to_confirm(server, write_csv(tmp_path / "one.csv", [["CompanyActivityId", "Status"], [a, "Won"]]), {"rate": "1000/1"})
    _, _, response = await fetch("POST", f"{server.base}/start/{upload_id}", headers=posting(server))
    page = await _finished(server, response.headers["Location"].rsplit("/", 1)[-1])
    assert re.search(r'id="summary-line">1 row: 1 failed', page) and "1 row needs another look: it is sent again" in page
