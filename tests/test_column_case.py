"""A column that names a field only when case is ignored (`status` for `Status`) is refused before
anything is sent, unless --map names it: run, retry and undo, end to end through the CLI against the
sandbox; the web page's map step and run refuse it too (tests/test_ui_safety_net.py has the page's helpers)."""

from __future__ import annotations

import io
import json
import re

import pytest
from conftest import new_ids, read_report, write_csv
from test_ui_guard import fetch, posting, signed_in, ui  # noqa: F401  (the `ui` fixture)
from test_ui_safety_net import _environ, _finished, _to_confirm

from bulk_updater.rundir.run_record import RunRecord


def clashing(tmp_path, ids, column: str = "status"):
    return write_csv(tmp_path / "edits.csv", [["CompanyActivityId", column], *[[i, "Won"] for i in ids]])


def open_activities(ids) -> dict[str, dict]:
    return {i: {"ActivityNote": "", "Fields": {"Status": "Open"}} for i in ids}


class _Terminal(io.StringIO):
    """stdin at a terminal, answering y to Continue?"""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("asked", ["no terminal", "--yes", "terminal"])
def test_a_column_that_matches_a_field_only_ignoring_case_is_refused_before_any_update(tmp_path, sandbox, bulk, monkeypatch, asked):
    ids = new_ids(3)
    box = sandbox(initial=open_activities(ids))
    if asked == "terminal":
        monkeypatch.setattr("sys.stdin", _Terminal("y\n"))
    extra = ["--yes"] if asked == "--yes" else []

    code, out, err = bulk(box, "run", str(clashing(tmp_path, ids)), "--out", str(tmp_path / "run"), "--backup", *extra)

    assert code == 2, err
    assert box.state.calls == 0 and box.state.retrieve_calls == 1  # the field check's read, and no update
    assert "the column status matches the field Status only when case is ignored" in err
    assert "Rename the column to Status" in err and '--map (an entry "status": "status")' in err
    assert "Continue?" not in err and "About to update" not in err and "Traceback" not in err
    assert not (tmp_path / "run" / "run.json").exists()  # no run left behind: the same command runs once fixed


def status_map(tmp_path):
    path = tmp_path / "map.json"
    path.write_text(json.dumps({"status": "status"}))
    return path


def test_a_column_that_map_names_is_sent_as_spelled_and_undo_takes_it_back(tmp_path, sandbox, bulk):
    """The admin says the activity type has a field spelled status (empty fields are not listed, so the
    first activity shows only Status): --map names it, the run sends it, and undo (whose first activity
    still lists no status) sends it back, as the run recorded it named it."""
    a, b = ids = new_ids(2)
    box = sandbox(initial={i: {"ActivityNote": "", "Fields": {"Status": "Open", "mx_Stage": "1"}} for i in ids})
    sheet = write_csv(tmp_path / "edits.csv", [["CompanyActivityId", "mx_Stage", "status"], [a, "2", ""], [b, "2", "Won"]])
    options = ["--backup", "--yes", "--concurrency", "1", "--map", str(status_map(tmp_path))]

    code, out, err = bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), *options)

    assert code == 0, err
    assert box.state.calls == 2 and box.state.activities[b]["Fields"] == {"Status": "Open", "mx_Stage": "2", "status": "Won"}
    assert RunRecord.load(tmp_path / "run").named_columns == ["status"]

    code, out, err = bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo"))

    assert code == 0, err  # undo.csv has the run's columns, and the run named status
    assert box.state.activities[a]["Fields"] == {"Status": "Open", "mx_Stage": "1"}
    assert box.state.activities[b]["Fields"] == {"Status": "Open", "mx_Stage": "1", "status": ""}


def test_undo_of_a_run_that_did_not_name_the_column_is_refused_before_any_update(tmp_path, sandbox, bulk):
    """A run made before this check (its run.json names no column) kept `status` as empty where the
    activity held Status: sending it back could clear Status."""
    ids = new_ids(2)
    box = sandbox(initial=open_activities(ids))
    assert bulk(box, "run", str(clashing(tmp_path, ids)), "--out", str(tmp_path / "run"), "--backup", "--map", str(status_map(tmp_path)))[0] == 0
    for i in ids:  # as a server matching names ignoring case would have left them: status set Status
        box.state.activities[i]["Fields"] = {"Status": box.state.activities[i]["Fields"].pop("status")}
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    del record["named_columns"]  # as an older bulk-updater wrote it
    (tmp_path / "run" / "run.json").write_text(json.dumps(record))
    updates = box.state.calls

    code, out, err = bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo"))

    assert code == 2, err
    assert box.state.calls == updates
    assert "the column status matches the field Status only when case is ignored" in err
    assert "Take the status column out of undo.csv" in err and "Traceback" not in err
    assert all(box.state.activities[i]["Fields"] == {"Status": "Won"} for i in ids)  # not cleared


def test_retry_sends_a_column_the_run_named_and_refuses_it_without_the_run(tmp_path, sandbox, bulk):
    ids = new_ids(2)
    box = sandbox(initial=open_activities(ids), script=("503",))  # the first update fails once
    code, out, err = bulk(box, "run", str(clashing(tmp_path, ids)), "--out", str(tmp_path / "run"), "--max-attempts", "1", "--map", str(status_map(tmp_path)))
    assert code == 1 and [line["_outcome"] for line in read_report(tmp_path / "run" / "failed.csv")] == ["failed"]
    alone = tmp_path / "elsewhere" / "failed.csv"  # copied out of its run's folder: no run behind it
    alone.parent.mkdir()
    alone.write_bytes((tmp_path / "run" / "failed.csv").read_bytes())
    updates = box.state.calls

    code, out, err = bulk(box, "retry", str(alone), "--out", str(tmp_path / "alone"))

    assert code == 2 and box.state.calls == updates
    assert "the column status matches the field Status only when case is ignored" in err

    code, out, err = bulk(box, "retry", str(tmp_path / "run" / "failed.csv"), "--out", str(tmp_path / "retry"))

    assert code == 0, err  # the run behind the report named it: no --map needed again
    assert box.state.calls == updates + 1 and all(box.state.activities[i]["Fields"]["status"] == "Won" for i in ids)


async def test_the_page_refuses_the_column_at_the_confirmation_and_in_the_run_until_sent_as_spelled(ui, sandbox, tmp_path):  # noqa: F811
    ids = new_ids(2)
    box = sandbox(initial=open_activities(ids))
    server = ui(_environ(box))
    upload_id, page = await _to_confirm(server, clashing(tmp_path, ids), {"rate": "1000/1"})

    assert 'id="refusal">Error: the column status matches the field Status only when case is ignored' in page
    assert 'id="start"' not in page and "tick &#34;send as spelled&#34;" in page
    _, _, response = await fetch("POST", f"{server.base}/start/{upload_id}", headers=posting(server))  # Start anyway
    run_id = response.headers["Location"].rsplit("/", 1)[-1]
    page = await _finished(server, run_id)
    assert re.search(r"id=\"refusal\">[^<]*the column status matches the field Status only when case is ignored", page)
    assert re.search(r"id=\"state\">failed<", page)
    assert box.state.calls == 0

    _, page, _ = await fetch("GET", f"{server.base}/sheet/{upload_id}", headers=signed_in(server))
    assert 'id="case-refusal">Error: the column status matches the field Status' in page and 'name="exact_2"' in page
    form = {"header_1": "CompanyActivityId", "schema_1": "CompanyActivityId", "header_2": "status", "schema_2": "status", "exact_2": "1", "action": "check"}
    assert (await fetch("POST", f"{server.base}/sheet/{upload_id}", headers=posting(server), data=form))[0] == 303
    await fetch("GET", f"{server.base}/check/{upload_id}", headers=signed_in(server))
    _, page, _ = await fetch("GET", f"{server.base}/confirm/{upload_id}", headers=signed_in(server))
    assert 'id="refusal"' not in page and 'id="start"' in page
    _, _, response = await fetch("POST", f"{server.base}/start/{upload_id}", headers=posting(server))
    await _finished(server, response.headers["Location"].rsplit("/", 1)[-1])
    assert box.state.calls == 2 and all(box.state.activities[i]["Fields"]["status"] == "Won" for i in ids)
