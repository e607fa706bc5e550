"""Start clicked again for a sheet whose run has ended (the browser's Back, a form sent again): the page shows that
run, and sends nothing again. Without a browser, against the sandbox."""

from __future__ import annotations

import asyncio

from conftest import new_ids, write_csv
from test_ui_guard import _multipart, fetch, posting, signed_in, ui  # noqa: F401  (the `ui` fixture)
from test_ui_jobs import _events


async def _upload_and_start(server, sheet) -> tuple[str, str]:
    body, content_type = _multipart(sheet.name, sheet.read_bytes())
    _, _, response = await fetch("POST", server.base + "/upload", headers={**posting(server), "Content-Type": content_type}, data=body)
    upload_id = response.headers["Location"].rsplit("/", 1)[-1]
    await fetch("GET", f"{server.base}/check/{upload_id}", headers=signed_in(server))
    status, _, _ = await fetch("POST", server.base + "/connect", headers=posting(server), data={"next": "/"})
    assert status == 200
    await fetch("POST", f"{server.base}/options/{upload_id}", headers=posting(server), data={"rate": "100/1"})
    _, _, response = await fetch("POST", f"{server.base}/start/{upload_id}", headers=posting(server))
    return upload_id, response.headers["Location"]


async def test_start_again_after_the_run_ended_shows_that_run_and_sends_nothing(ui, sandbox, tmp_path):  # noqa: F811
    """Mutant: only a live run holds Start (a second run of the whole sheet, every row sent again)."""
    ids = new_ids(2)
    box = sandbox(activities=set(ids))
    sheet = write_csv(tmp_path / "edits.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in ids]])
    server = ui({"LSQ_HOST": box.url, "LSQ_ACCESS_KEY": box.config.access_key, "LSQ_SECRET_KEY": box.config.secret_key})
    upload_id, run_page = await _upload_and_start(server, sheet)
    *_, ended = await asyncio.wait_for(_events(server, run_page.rsplit("/", 1)[-1]), 60)
    assert ended and box.state.calls == 2
    calls = box.state.calls

    _, _, again = await fetch("POST", f"{server.base}/start/{upload_id}", headers=posting(server))

    assert again.headers["Location"] == run_page
    assert box.state.calls == calls
