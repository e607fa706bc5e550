"""Verify on the web page says what did not match, not only how much: per differing field the first
activities (id, sent, now), the activities it could not read, and the fields equal only by an equivalence."""

from __future__ import annotations

import html

from conftest import new_ids
from test_ui_guard import fetch, posting, ui  # noqa: F401  (the `ui` fixture)
from test_ui_safety_net import _backup_run, _environ, _finished


async def test_the_verify_screen_lists_the_first_mismatching_activities_per_field(ui, sandbox, tmp_path):  # noqa: F811
    ids = sorted(new_ids(5))
    box = sandbox(activities=set(ids))
    server = ui(_environ(box))
    run_id, _ = await _backup_run(server, box, tmp_path, ids)
    for i in ids[:3]:
        box.state.activities[i]["Fields"]["Status"] = "won"  # a case change in text is a difference
    box.state.activities[ids[3]]["Fields"]["Status"] = " Won "  # trimmed: equal, and said
    box.config.activities.discard(ids[4])  # deleted since the run: its read fails

    await fetch("POST", f"{server.base}/runs/{run_id}/verify", headers=posting(server))
    page = html.unescape(await _finished(server, run_id, 'id="verify-counts"'))

    assert "<td>Status</td><td>3 activities</td>" in page
    for i in ids[:3]:
        assert f"<li><code>{i}</code>: sent <code>'Won'</code>, now <code>'won'</code></li>" in page
    assert f"<li><code>{ids[4]}</code>: MXInvalidEntityException: Activity does not exist</li>" in page
    assert "<tr><td>Status</td><td>surrounding spaces</td><td>1 activity</td></tr>" in page
