"""Fix and retry in the page: the failed rows in a grid of inputs, every cell the browser sends checked against
the run, the draft kept in the run's folder, and the retry planned by the library's retry (damage check,
supersession) before anything is sent. In process: the page's server and the sandbox on loopback."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import uuid
from pathlib import Path

import aiohttp
import openpyxl
import pytest
from conftest import new_ids, read_report, write_csv
from markupsafe import escape
from test_ui_guard import _multipart, fetch, posting, signed_in, ui  # noqa: F401  (the `ui` fixture)
from test_ui_one_job import _posted_at_once
from test_ui_safety_net import _environ, _finished, _to_confirm

from bulk_updater.ui.fixing import FIXED, VALUE_CAP, Draft, FixRefused, edits_from_form

HOSTILE_COLUMN = 'mx_<img src=x onerror="alert(1)">'
HOSTILE_VALUE = '"><script>alert(2)</script>'
OWNER = str(uuid.uuid4())
NOTE = "first line\nsecond line"  # shown in a textarea: an input would drop the line break


async def _failed_run(server, tmp_path) -> tuple[str, list[str]]:
    """A run of three rows: rows 2 and 3 fail (an Owner that is no user id; row 2 also sets a column whose name is
    markup), row 4 succeeds. Its id, and the ids."""
    ids = new_ids(3)
    sheet = write_csv(tmp_path / "edits.csv", [
        ["CompanyActivityId", "Owner", "mx_Code", HOSTILE_COLUMN, "ActivityNote"],
        [ids[0], "priya", "007", HOSTILE_VALUE, NOTE],
        [ids[1], "ravi", "1", "", ""],
        [ids[2], OWNER, "2", "", ""],
    ])
    upload_id, _ = await _to_confirm(server, sheet, {"rate": "1000/1"})
    _, _, response = await fetch("POST", f"{server.base}/start/{upload_id}", headers=posting(server))
    run_id = response.headers["Location"].rsplit("/", 1)[-1]
    page = await _finished(server, run_id)
    assert 'id="fix"' in page
    return run_id, ids


def _folder(tmp_path, run_id: str):
    return tmp_path / "ws" / "runs" / run_id


async def _grid(server, run_id: str) -> str:
    status, page, _ = await fetch("GET", f"{server.base}/runs/{run_id}/fix", headers=signed_in(server))
    assert status == 200, page
    return page


async def _post_grid(server, run_id: str, cells: dict[str, str], action: str = "save") -> tuple[int, str, object]:
    """`cells` sent from the grid as it is now (its form carries the draft it shows)."""
    _, grid, _ = await fetch("GET", f"{server.base}/runs/{run_id}/fix", headers=signed_in(server))
    drafted = found[1] if (found := re.search(r'name="drafted" value="([^"]*)"', grid)) else ""
    return await fetch("POST", f"{server.base}/runs/{run_id}/fix", headers=posting(server), data={"drafted": drafted, **cells, "action": action})


async def test_the_grid_shows_each_failed_row_with_its_message_and_every_value_as_text(ui, sandbox, tmp_path):  # noqa: F811
    server = ui(_environ(sandbox()))
    run_id, _ = await _failed_run(server, tmp_path)

    page = await _grid(server, run_id)

    rows = re.findall(r'<tr id="row-(\d+)">', page)
    assert rows == ["2", "3"]  # the failed rows only; row 4 succeeded
    # each row's message beside it (row 2's hostile column name is no schema name either)
    assert "MXInvalidInputException: Owner must be a user id (GUID)" in page and "SchemaName must be a schema name" in page
    assert '<th scope="col">Owner</th>' in page and 'aria-label="row 3, Owner" value="ravi"' in page
    # a column name and a cell that are markup stay text, in the header, the labels and the values
    assert "<script>alert(2)" not in page and "<img src=x" not in page
    assert escape(HOSTILE_COLUMN) in page and f'value="{escape(HOSTILE_VALUE)}"' in page
    assert f'aria-label="row 2, ActivityNote" rows="2">\n{NOTE}</textarea>' in page  # the parser drops the first line break, not the note's
    # sent back as a browser sends a textarea (CR LF), beside every other cell as shown: nothing edited
    shown = {name: html.unescape(value) for name, value in re.findall(r'<input type="text" name="(cell-[0-9-]+)"[^>]* value="([^"]*)"', page)}
    status, _, _ = await _post_grid(server, run_id, {**shown, "cell-2-4": NOTE.replace("\n", "\r\n")})
    assert status == 303 and "cells edited" not in await _grid(server, run_id) and "cell edited" not in await _grid(server, run_id)


async def test_a_cell_the_grid_does_not_have_is_refused_and_nothing_is_saved(ui, sandbox, tmp_path):  # noqa: F811
    server = ui(_environ(sandbox()))
    run_id, _ = await _failed_run(server, tmp_path)
    refusals = {
        "row 4 is not one of this run&#39;s rows": {"cell-4-1": OWNER},  # a row that succeeded
        "row 99 is not one of this run&#39;s rows": {"cell-99-1": "x"},
        "column 6 is not one of this run&#39;s columns": {"cell-2-5": "x"},  # a column sneaked in
        "a field this screen does not have": {"Status": "Closed"},
        f"longer than {VALUE_CAP:,} characters": {"cell-2-1": "x" * (VALUE_CAP + 1)},
    }
    for said, cells in refusals.items():
        status, page, _ = await _post_grid(server, run_id, {"cell-3-1": OWNER, **cells})
        assert status == 400 and said in page, (said, page[:2000])
        assert not (_folder(tmp_path, run_id) / FIXED).exists()  # not even the good cell beside it

    status, _, _ = await _post_grid(server, run_id, {"cell-3-1": OWNER, "cell-2-2": "007"})
    assert status == 303
    page = await _grid(server, run_id)  # a reload shows the draft, the edited cell marked
    assert f'<td class="edited"><input type="text" name="cell-3-1" id="cell-3-1" aria-label="row 3, Owner" value="{OWNER}"' in page
    assert "1 cell edited" in page
    [_, line3] = read_report(_folder(tmp_path, run_id) / FIXED)
    assert line3["Owner"] == OWNER and line3["_row"] == "3" and line3["_outcome"] == "failed"


async def test_the_review_lists_edits_and_damage_and_counts_only_the_rows_sent(ui, sandbox, tmp_path):  # noqa: F811
    box = sandbox()
    server = ui(_environ(box))
    run_id, ids = await _failed_run(server, tmp_path)
    # row 2: its Owner fixed, but its code saved by a spreadsheet (leading zeros stripped); row 3: fixed
    status, _, response = await _post_grid(server, run_id, {"cell-2-1": OWNER, "cell-2-2": "7", "cell-3-1": OWNER}, action="review")
    assert status == 303 and response.headers["Location"] == f"/runs/{run_id}/fix/review"

    status, review, _ = await fetch("GET", f"{server.base}/runs/{run_id}/fix/review", headers=signed_in(server))

    assert status == 200, review
    assert 'id="confirmation">About to update 1 row (1 activity)' in review
    assert re.search(r'id="count-rows">2<.*id="count-sending">1<.*id="count-damaged">1<', review, re.S)
    assert f"row 3, Owner: &#39;ravi&#39; -&gt; &#39;{OWNER}&#39;" in review
    assert "mx_Code was &#39;007&#39;, now &#39;7&#39; (leading zeros stripped)" in review
    assert 'id="sending">Row 3.' in review
    assert box.state.calls == 0 or ids[1] not in box.state.applied  # nothing sent by the review

    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', review))
    [landed] = await _posted_at_once(server, run_id, "retry", form, 3)  # one retry, whatever the clicks
    retry_id = landed.rsplit("/", 1)[-1]
    page = await _finished(server, retry_id)
    assert "retry of edits.csv" in page
    assert box.state.activities[ids[1]]["Fields"]["Owner"] == OWNER
    assert ids[0] not in box.state.activities  # the damaged row was refused, not sent
    outcomes = {line["_row"]: (line["_outcome"], line["_error_message"]) for line in read_report(_folder(tmp_path, retry_id) / "report.csv")}
    assert outcomes["3"][0] == "success" and outcomes["2"][0] == "invalid" and "leading zeros stripped" in outcomes["2"][1]
    assert len(list((tmp_path / "ws" / "runs").iterdir())) == 2
    # the retry sent its own copy of the draft, which its resume would read again: a later fix leaves it alone
    record = json.loads((_folder(tmp_path, retry_id) / "run.json").read_text())
    assert Path(record["input"]) == (_folder(tmp_path, run_id) / f"fixed-{retry_id}.csv").resolve()
    assert Path(record["retry_of"]) == _folder(tmp_path, run_id).resolve()
    status, _, response = await _post_grid(server, run_id, {"cell-3-1": "later"})  # the run's rows left are the retry's now
    assert status == 303 and response.headers["Location"] == f"/runs/{run_id}"
    draft = _folder(tmp_path, run_id) / FIXED
    draft.write_text(draft.read_text().replace(OWNER, "later"))  # the draft changed some other way
    assert [line["Owner"] for line in read_report(Path(record["input"]))] == [OWNER, OWNER]


async def test_a_draft_changed_after_its_review_is_reviewed_again(ui, sandbox, tmp_path):  # noqa: F811
    server = ui(_environ(sandbox()))
    run_id, _ = await _failed_run(server, tmp_path)
    await _post_grid(server, run_id, {"cell-3-1": OWNER}, action="review")
    _, review, _ = await fetch("GET", f"{server.base}/runs/{run_id}/fix/review", headers=signed_in(server))
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', review))
    await _post_grid(server, run_id, {"cell-3-1": "someone else"})  # another tab

    status, _, response = await fetch("POST", f"{server.base}/runs/{run_id}/retry", headers=posting(server), data=form)

    assert status == 303 and response.headers["Location"] == f"/runs/{run_id}/fix/review"
    assert len(list((tmp_path / "ws" / "runs").iterdir())) == 1  # nothing started


async def test_a_fixed_failed_csv_uploaded_back_fills_the_grid_and_a_new_column_is_refused(ui, sandbox, tmp_path):  # noqa: F811
    server = ui(_environ(sandbox()))
    run_id, _ = await _failed_run(server, tmp_path)
    lines = read_report(_folder(tmp_path, run_id) / "failed.csv")
    header = list(lines[0])

    async def upload(rows: list[list[str]]):
        text = io.StringIO()
        csv.writer(text).writerows(rows)
        body, content_type = _multipart("failed.csv", text.getvalue().encode())
        return await fetch("POST", f"{server.base}/runs/{run_id}/fix/upload", headers={**posting(server), "Content-Type": content_type}, data=body)

    fixed = [[OWNER if name == "Owner" and line["_row"] == "3" else line[name] for name in header] for line in lines]
    status, page, _ = await upload([[*header, "Sneaky"], *[[*row, "x"] for row in fixed]])
    assert status == 400 and "the file has columns this run did not send: &#39;Sneaky&#39;" in page, page[page.find("refusal"):][:600]
    assert not (_folder(tmp_path, run_id) / FIXED).exists()

    status, _, _ = await upload([header, *fixed])
    assert status == 303
    assert f'aria-label="row 3, Owner" value="{OWNER}"' in await _grid(server, run_id)
    assert len(list((tmp_path / "ws" / "uploads").iterdir())) == 1  # the sheet run; the fixed copy is not kept


async def test_failed_xlsx_downloaded_fixed_in_a_spreadsheet_and_uploaded_back(ui, sandbox, tmp_path):  # noqa: F811
    server = ui(_environ(sandbox()))
    run_id, _ = await _failed_run(server, tmp_path)
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{server.base}/runs/{run_id}/files/failed.xlsx", headers=signed_in(server)) as got:
            (tmp_path / "failed.xlsx").write_bytes(await got.read())
    book = openpyxl.load_workbook(tmp_path / "failed.xlsx")
    sheet = book.active
    header = [cell.value for cell in sheet[1]]
    for line in sheet.iter_rows(min_row=2):
        if str(line[header.index("_row")].value) == "3":
            line[header.index("Owner")].value = OWNER
    book.save(tmp_path / "fixed.xlsx")
    body, content_type = _multipart("failed.xlsx", (tmp_path / "fixed.xlsx").read_bytes())

    status, page, response = await fetch("POST", f"{server.base}/runs/{run_id}/fix/upload", headers={**posting(server), "Content-Type": content_type}, data=body)

    assert status == 303, page
    grid = await _grid(server, run_id)
    assert f'aria-label="row 3, Owner" value="{OWNER}"' in grid and "1 cell edited" in grid  # nothing else changed on the way
    assert f'value="{escape(HOSTILE_VALUE)}"' in grid


def _draft(value: str) -> Draft:
    header = ["CompanyActivityId", "ActivityNote", "_row", "_outcome"]
    line = ["6513270e-269e-4d37-b2a7-4de452e6b438", value, "2", "failed"]
    return Draft(header, [0, 1], {2: list(line)}, {2: list(line)})


def test_a_value_as_the_browser_gives_it_back_is_no_edit():
    """A textarea sends a cell's line breaks as CR LF: the cell was not edited."""
    assert edits_from_form([("cell-2-1", "first\r\nsecond")], _draft("first\nsecond")) == {}
    assert edits_from_form([("cell-2-1", "first\r\nsecond")], _draft("first\rsecond")) == {}  # an old Mac line break
    assert edits_from_form([("cell-2-1", "first\r\nthird")], _draft("first\nsecond")) == {(2, 1): "first\r\nthird"}
    assert edits_from_form([("cell-2-1", "  spaced ")], _draft("spaced")) == {(2, 1): "  spaced "}  # typed as it is


def test_a_cell_holding_the_key_is_never_edited_through_its_mask(monkeypatch):
    """The grid shows a key masked: sent back as shown it is no edit (the cell keeps the key); edited, the mask would
    be sent into the CRM, so it is refused. Mutant: the refusal removed (the masked text becomes the edit)."""
    from bulk_updater.credentials import Credentials, Redactor
    from bulk_updater.ui import fixing

    redactor = Redactor()  # the page's own, holding a key; not the process-wide one other tests share
    redactor.protect(Credentials("u$leaked-access-key-0001", "leaked-secret-key-0001"))
    monkeypatch.setattr(fixing, "REDACTOR", redactor)
    current = "note u$leaked-access-key-0001 end"
    shown = redactor.redact(current)
    assert shown != current
    assert edits_from_form([("cell-2-1", shown)], _draft(current)) == {}
    with pytest.raises(FixRefused, match="holds the account's key"):
        edits_from_form([("cell-2-1", shown + " fixed")], _draft(current))


def test_the_same_cell_twice_is_refused():
    with pytest.raises(FixRefused, match="the same cell twice"):
        edits_from_form([("cell-2-1", "a"), ("cell-2-1", "b")], _draft("x"))


async def test_a_link_planted_as_the_draft_is_neither_read_nor_written_through(ui, sandbox, tmp_path):  # noqa: F811
    server = ui(_environ(sandbox()))
    run_id, _ = await _failed_run(server, tmp_path)
    lines = read_report(_folder(tmp_path, run_id) / "failed.csv")
    elsewhere = write_csv(tmp_path / "elsewhere.csv", [list(lines[0]), *[[*line.values()][:1] + ["kept-secret"] + [*line.values()][2:] for line in lines]])
    before = elsewhere.read_bytes()
    (_folder(tmp_path, run_id) / FIXED).symlink_to(elsewhere)

    status, page, _ = await fetch("GET", f"{server.base}/runs/{run_id}/fix", headers=signed_in(server))
    assert "kept-secret" not in page and "Error:" in page, page
    status, _, _ = await _post_grid(server, run_id, {"cell-3-1": OWNER})
    assert status != 303 and elsewhere.read_bytes() == before
