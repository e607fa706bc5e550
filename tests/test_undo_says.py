"""Undo says what it did not do: activities changed since the run are skipped, and those rows are in the
printed summary (grouped by the fields that changed), in summary.json's groups, in failed.csv and
failed.xlsx, and on the page's undo results. End to end through the CLI against the sandbox."""

from __future__ import annotations

import json

import openpyxl
from conftest import new_ids, read_report, write_csv
from test_ui_guard import fetch, posting, ui  # noqa: F401  (the `ui` fixture)
from test_ui_safety_net import _backup_run, _environ, _finished


def backed_up_run(tmp_path, sandbox, bulk):
    """Four activities set by a --backup run; then a colleague edits three of them."""
    ids = new_ids(4)
    box = sandbox(initial={i: {"ActivityNote": "", "Fields": {"Status": "Open", "mx_Stage": "1"}} for i in ids})
    sheet = write_csv(tmp_path / "edits.csv", [["CompanyActivityId", "Status", "mx_Stage"], *[[i, "Won", "2"] for i in ids]])
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--backup")[0] == 0
    box.state.activities[ids[0]]["Fields"]["Status"] = "Lost"
    box.state.activities[ids[1]]["Fields"]["Status"] = "Lost"
    box.state.activities[ids[2]]["Fields"].update(Status="Lost", mx_Stage="3")
    return box, ids


def test_undo_lists_the_activities_it_skipped_with_the_fields_that_changed(tmp_path, sandbox, bulk):
    box, ids = backed_up_run(tmp_path, sandbox, bulk)
    undo = tmp_path / "undo"

    code, out, err = bulk(box, "undo", str(tmp_path / "run"), "--out", str(undo))

    assert code == 0, err
    assert "4 rows: 1 success, 3 skipped" in out
    assert "  2 rows skipped: ChangedSinceRun: changed since the run (Status)\n" in out
    assert "  1 row skipped: ChangedSinceRun: changed since the run (Status, mx_Stage)\n" in out
    assert f"3 rows not restored: their activity changed since the run (listed in {undo / 'failed.csv'}). " in out
    assert f"bulk-updater undo {tmp_path / 'run'} --out NEW_DIR --force" in out
    groups = json.loads((undo / "summary.json").read_text())["failure_groups"]
    assert [(g["rows"], g["outcome"], g["error_type"], g["error_message"]) for g in groups] == [
        (2, "skipped", "ChangedSinceRun", "changed since the run (Status)"),
        (1, "skipped", "ChangedSinceRun", "changed since the run (Status, mx_Stage)"),
    ]
    assert groups[1]["example"] == "changed since the run (Status, mx_Stage): Status is now 'Lost', mx_Stage is now '3'"
    failed = read_report(undo / "failed.csv")
    assert sorted(line["CompanyActivityId"] for line in failed) == sorted(ids[:3])
    assert {(line["_outcome"], line["_error_type"]) for line in failed} == {("skipped", "ChangedSinceRun")}
    sheet = openpyxl.load_workbook(undo / "failed.xlsx", read_only=True).active
    assert sum(1 for _ in sheet.iter_rows()) == 1 + 3

    # retry passes skipped rows over: it never restores over the colleague's edit
    calls = box.state.calls
    code, out, err = bulk(box, "retry", str(undo / "failed.csv"), "--out", str(tmp_path / "retry"))
    assert box.state.calls == calls and "3 rows of the earlier report had succeeded or were skipped: not sent again" in out

    # a later undo checks them again: still changed, still skipped; --force restores them
    code, out, err = bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo-again"))
    assert code == 0 and "3 rows not restored" in out
    code, out, err = bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo-forced"), "--force")
    assert code == 0 and "not restored" not in out
    assert all(box.state.activities[i]["Fields"] == {"Status": "Open", "mx_Stage": "1"} for i in ids)


async def test_the_pages_undo_results_say_which_activities_were_not_restored(ui, sandbox, tmp_path):  # noqa: F811
    ids = new_ids(3)
    box = sandbox(initial={i: {"ActivityNote": "", "Fields": {"Status": "Open"}} for i in ids})
    server = ui(_environ(box))
    run_id, _ = await _backup_run(server, box, tmp_path, ids)
    box.state.activities[ids[0]]["Fields"]["Status"] = "Lost"  # changed since the run

    _, _, response = await fetch("POST", f"{server.base}/runs/{run_id}/undo", headers=posting(server), data={"confirmed": "1"})
    page = await _finished(server, response.headers["Location"].rsplit("/", 1)[-1])

    assert 'id="not-restored"' in page and "<li>1 row skipped: changed since the run (Status)</li>" in page
    assert f'<a href="/runs/{run_id}">undo the run again</a> with Force' in page
