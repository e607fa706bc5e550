"""Fix and retry attacked: what the browser or an uploaded file sends can't put a value where the admin did not
type it, a cell sent back as the grid showed it is no edit whatever its length, and a retry of fixes starts only
from a run whose next step is a retry (never one going on, stopped for a resume, or an undo)."""

from __future__ import annotations

import html
import re
import uuid

import pytest
from conftest import new_ids, read_report, write_csv
from test_ui_fix import OWNER, _failed_run, _grid
from test_ui_guard import _multipart, fetch, posting, signed_in, ui  # noqa: F401  (the `ui` fixture)
from test_ui_safety_net import _environ, _finished, _to_confirm
from workbooks import patch_zip_part, write_xlsx

from bulk_updater.sandbox import quirks
from bulk_updater.ui.app import CONFIRMED
from bulk_updater.ui.fixing import FIXED, GRID_ROWS, VALUE_CAP, Draft, FixRefused, edits_from_form, edits_from_upload

LONG = "a note that a run read as it was, " * (VALUE_CAP // 20)  # longer than the cap on what the admin types


ID = "6513270e-269e-4d37-b2a7-4de452e6b438"


def _draft(value: str) -> Draft:
    header = ["CompanyActivityId", "ActivityNote", "_row", "_outcome"]
    line = [ID, value, "2", "failed"]
    return Draft(header, [0, 1], {2: list(line)}, {2: list(line)})


def test_a_long_cell_sent_back_as_shown_is_no_edit_and_a_long_edit_is_refused():
    """The cap is on what the admin types: a note the run read longer than it, sent back as it is, is no edit
    (else no other cell of such a run could be fixed in the grid or in failed.xlsx)."""
    assert len(LONG) > VALUE_CAP
    draft = _draft(LONG)
    assert edits_from_form([("cell-2-0", draft.cell(2, 0)), ("cell-2-1", LONG.replace("\n", "\r\n"))], draft) == {}
    assert edits_from_upload(["CompanyActivityId", "ActivityNote"], [("2", [draft.cell(2, 0), LONG])], draft) == {}
    with pytest.raises(FixRefused, match="longer than"):
        edits_from_form([("cell-2-1", LONG + "!")], draft)
    with pytest.raises(FixRefused, match="longer than"):
        edits_from_upload(["CompanyActivityId", "ActivityNote"], [("2", [draft.cell(2, 0), LONG + "!"])], draft)


async def _canary_stopped_run(server, tmp_path, ids: list[str]) -> str:
    """A run the first update's check stopped: rows 3 and 4 not sent, left to its resume (its page offers no retry)."""
    sheet = write_csv(tmp_path / "edits.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in ids]])
    upload_id, _ = await _to_confirm(server, sheet, {"rate": "1000/1"})
    _, _, response = await fetch("POST", f"{server.base}/start/{upload_id}", headers=posting(server))
    run_id = response.headers["Location"].rsplit("/", 1)[-1]
    page = await _finished(server, run_id)
    assert 'id="resume"' in page and 'id="fix"' not in page and 'id="retry"' not in page
    assert {line["_outcome"] for line in read_report(tmp_path / "ws" / "runs" / run_id / "failed.csv")} >= {"not_sent"}
    return run_id


async def test_a_run_left_to_its_resume_is_not_fixed_nor_retried_from_the_page(ui, sandbox, tmp_path):  # noqa: F811
    """Its failed.csv lists the rows not sent, which Resume sends: a retry of them too would write each twice,
    the resume's value last, over the fix."""
    ids = new_ids(3)
    initial = {i: {"ActivityNote": "", "Fields": {"Status": "Open", "mx_Other": "keep me"}} for i in ids}
    box = sandbox(initial=initial, quirks=frozenset({quirks.BLANK_UNSENT}))
    server = ui(_environ(box))
    run_id = await _canary_stopped_run(server, tmp_path, ids)
    calls = box.state.calls

    status, _, response = await fetch("GET", f"{server.base}/runs/{run_id}/fix", headers=signed_in(server))
    assert status == 303 and response.headers["Location"] == f"/runs/{run_id}"
    status, _, response = await fetch("POST", f"{server.base}/runs/{run_id}/retry", headers=posting(server), data={CONFIRMED: "1", "once": "x"})
    assert status == 400 and len(list((tmp_path / "ws" / "runs").iterdir())) == 1, response.headers
    assert box.state.calls == calls


async def test_a_grid_shown_before_another_tab_saved_does_not_save_over_its_fixes(ui, sandbox, tmp_path):  # noqa: F811
    """Tab A shows the grid; tab B fixes row 3's Owner; tab A, which still shows row 3 as the run read it, fixes
    row 2: its form sends row 3's old Owner too. That is no edit of A's: B's fix stays, and A is shown the grid again."""
    server = ui(_environ(sandbox()))
    run_id, _ = await _failed_run(server, tmp_path)
    tab_a = _shown_cells(await _grid(server, run_id))
    tab_b = _shown_cells(await _grid(server, run_id))
    assert (await _post(server, run_id, {**tab_b, "cell-3-1": OWNER}))[0] == 303

    status, page, _ = await _post(server, run_id, {**tab_a, "cell-2-1": OWNER})

    assert status == 409 and "changed in another tab" in page, page[:3000]
    assert [line["Owner"] for line in read_report(tmp_path / "ws" / "runs" / run_id / FIXED)] == ["priya", OWNER]
    assert f'aria-label="row 3, Owner" value="{OWNER}"' in page  # the grid as it is now, to edit again


def _shown_cells(page: str) -> dict[str, str]:
    """Every field of the grid's form as the page shows it (a textarea's first line break is the parser's)."""
    fields = {name: html.unescape(value) for name, value in re.findall(r'<input type="(?:text|hidden)" name="([^"]+)"[^>]* value="([^"]*)"', page)}
    fields |= {name: html.unescape(value) for name, value in re.findall(r'<textarea name="([^"]+)"[^>]*>\n(.*?)</textarea>', page, re.S)}
    return fields


async def _post(server, run_id: str, fields: dict[str, str], action: str = "save"):
    return await fetch("POST", f"{server.base}/runs/{run_id}/fix", headers=posting(server), data={**fields, "action": action})


async def test_a_run_whose_rows_a_retry_sent_is_not_resumed_over_them(ui, sandbox, tmp_path):  # noqa: F811
    """A run stopped after too many failures offers both Retry and Resume. Once a retry (here of the fixed rows) sent
    its rows not sent, a resume would send them again with the values the run read, over the fixes."""
    box = sandbox()
    server = ui(_environ(box))
    ids, other_owner = new_ids(3), str(uuid.uuid4())
    sheet = write_csv(tmp_path / "edits.csv", [["CompanyActivityId", "Owner"], [ids[0], "priya"], *[[i, OWNER] for i in ids[1:]]])
    upload_id, _ = await _to_confirm(server, sheet, {"rate": "1000/1", "on_failures": "stop", "stop_after_failures": "1"})
    _, _, response = await fetch("POST", f"{server.base}/start/{upload_id}", headers=posting(server))
    run_id = response.headers["Location"].rsplit("/", 1)[-1]
    page = await _finished(server, run_id)
    assert 'id="resume"' in page and 'id="fix"' in page  # rows 3 and 4 not sent
    grid = _shown_cells(await _grid(server, run_id))
    assert (await _post(server, run_id, {**grid, "cell-2-1": OWNER, "cell-3-1": other_owner}, action="review"))[0] == 303
    _, review, _ = await fetch("GET", f"{server.base}/runs/{run_id}/fix/review", headers=signed_in(server))
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', review))
    _, _, response = await fetch("POST", f"{server.base}/runs/{run_id}/retry", headers=posting(server), data=form)
    retry_id = response.headers["Location"].rsplit("/", 1)[-1]
    await _finished(server, retry_id)
    assert box.state.activities[ids[1]]["Fields"]["Owner"] == other_owner
    calls = box.state.calls
    _, page, _ = await fetch("GET", f"{server.base}/runs/{run_id}", headers=signed_in(server))
    assert 'id="resume"' not in page and f'href="/runs/{retry_id}"' in page  # its page links the retry instead

    status, page, _ = await fetch("POST", f"{server.base}/runs/{run_id}/resume", headers=posting(server), data={})

    assert status == 400 and f"/runs/{retry_id}" in page, page[:3000]
    # the page started again on the workspace: the retry is found in the run's folder, where it recorded itself
    restarted = ui(_environ(box))
    assert (await fetch("POST", restarted.base + "/connect", headers=posting(restarted), data={"next": "/"}))[0] == 200
    status, page, _ = await fetch("POST", f"{restarted.base}/runs/{run_id}/resume", headers=posting(restarted), data={})
    assert status == 400 and f"/runs/{retry_id}" in page, page[:3000]
    assert box.state.calls == calls and box.state.activities[ids[1]]["Fields"]["Owner"] == other_owner


async def test_a_run_once_retried_is_fixed_and_retried_from_its_retry_only(ui, sandbox, tmp_path):  # noqa: F811
    """A second retry of the first run would not see what the first retry (and its own retries) set: a row the
    later one superseded there would be sent again, over it. The rows left are the retry's, fixed from its page."""
    box = sandbox()
    server = ui(_environ(box))
    run_id, _ = await _failed_run(server, tmp_path)
    _, _, response = await fetch("POST", f"{server.base}/runs/{run_id}/retry", headers=posting(server), data={CONFIRMED: "1", "once": "first"})
    retry_id = response.headers["Location"].rsplit("/", 1)[-1]
    assert retry_id != run_id
    await _finished(server, retry_id)
    calls = box.state.calls

    _, page, _ = await fetch("GET", f"{server.base}/runs/{run_id}", headers=signed_in(server))
    assert 'id="fix"' not in page and 'id="retry"' not in page and f'href="/runs/{retry_id}"' in page
    status, _, response = await fetch("GET", f"{server.base}/runs/{run_id}/fix", headers=signed_in(server))
    assert status == 303 and response.headers["Location"] == f"/runs/{run_id}"
    status, page, _ = await fetch("POST", f"{server.base}/runs/{run_id}/retry", headers=posting(server), data={CONFIRMED: "1", "once": "second"})
    assert status == 400 and f"/runs/{retry_id}" in page
    assert box.state.calls == calls and len(list((tmp_path / "ws" / "runs").iterdir())) == 2
    assert (await fetch("GET", f"{server.base}/runs/{retry_id}/fix", headers=signed_in(server)))[0] == 200  # its rows left, to fix


async def test_an_uploaded_cell_the_reader_would_not_send_as_its_text_is_refused_not_laundered(ui, sandbox, tmp_path):  # noqa: F811
    """A failed lookup's #N/A in failed.xlsx makes `retry` refuse its row; copied into fixed.csv as the text #N/A it
    would be the clear token, and blank the field in the CRM. A formula with no saved value: its text is no value."""
    server = ui(_environ(sandbox()))
    run_id, _ = await _failed_run(server, tmp_path)
    lines = read_report(tmp_path / "ws" / "runs" / run_id / "failed.csv")
    header = list(lines[0])
    assert header[1] == "Owner"
    for cell, stored in (('<c r="B3" t="e"><f>VLOOKUP(A3,Codes!A:B,2,FALSE)</f><v>#N/A</v></c>', "a failed lookup is not a clear"),
                         ('<c r="B3"><f>VLOOKUP(A3,Codes!A:B,2,FALSE)</f></c>', "no saved value")):
        book = write_xlsx(tmp_path / "fixed.xlsx", [header, *[[("MARK" if name == "Owner" and line["_row"] == "3" else line[name]) for name in header] for line in lines]])
        patch_zip_part(book, "xl/worksheets/sheet1.xml", {'<c r="B3" t="inlineStr"><is><t>MARK</t></is></c>': cell})
        patch_zip_part(book, "xl/workbook.xml", {' fullCalcOnLoad="1"': ""})
        body, content_type = _multipart("failed.xlsx", book.read_bytes())

        status, page, _ = await fetch("POST", f"{server.base}/runs/{run_id}/fix/upload", headers={**posting(server), "Content-Type": content_type}, data=body)

        assert status == 400 and "row &#39;3&#39; (line 3 of the file): Owner holds" in page and stored in page, page[page.find("refusal"):][:800]
        assert not (tmp_path / "ws" / "runs" / run_id / FIXED).exists()


@pytest.mark.parametrize("text", ["²", "٣", "3.0", "-3", ""])
def test_a_row_number_that_is_not_plain_digits_is_refused_with_a_message(text):
    """"²" passes str.isdigit but is no int (a crash), "٣" is an int: neither is a `_row` this tool wrote."""
    with pytest.raises(FixRefused, match="not a row number"):
        edits_from_upload(["CompanyActivityId", "ActivityNote"], [(text, [ID, "x"])], _draft("y"))


def test_a_line_break_taken_out_in_the_textarea_is_an_edit():
    """A cell with a line break is shown in a textarea, which sends its line breaks back: one taken out was taken out
    by the admin, and is sent (only an input drops them, and no such cell is shown in one)."""
    assert edits_from_form([("cell-2-1", "first second")], _draft("first\nsecond")) == {(2, 1): "first second"}
    assert edits_from_form([("cell-2-1", "firstsecond")], _draft("first\nsecond")) == {(2, 1): "firstsecond"}


def test_a_cell_with_a_nul_and_a_line_break_sent_back_as_shown_is_no_edit():
    """The HTML parser shows a NUL as U+FFFD and the textarea gives its line breaks back as LF or CR LF: both at once
    are still the cell as the run read it, not an edit that would send U+FFFD into the CRM."""
    for posted in ("a\ufffdb\nc", "a\ufffdb\r\nc"):
        assert edits_from_form([("cell-2-1", posted)], _draft("a\0b\r\nc")) == {}


async def test_a_full_grid_is_saved_whatever_the_servers_default_cap_on_form_fields(ui, sandbox, tmp_path):  # noqa: F811
    """200 rows of 6 columns: 1,200 cells in one form, past aiohttp's default of 1,000 fields a form."""
    box = sandbox()
    server = ui(_environ(box))
    ids = new_ids(GRID_ROWS)
    columns = ["CompanyActivityId", "Owner", "Status", "mx_A", "mx_B", "mx_C"]
    sheet = write_csv(tmp_path / "many.csv", [columns, *[[i, "priya", "Won", "a", "b", "c"] for i in ids]])
    upload_id, _ = await _to_confirm(server, sheet, {"rate": "1000/1", "on_failures": "keep_going", "no_canary": "1"})
    _, _, response = await fetch("POST", f"{server.base}/start/{upload_id}", headers=posting(server))
    run_id = response.headers["Location"].rsplit("/", 1)[-1]
    page = await _finished(server, run_id)
    assert 'id="fix"' in page, re.sub(r"<[^>]+>", " ", page[page.find("<main"):])[:3000]
    shown = _shown_cells(await _grid(server, run_id))
    assert len(shown) == GRID_ROWS * len(columns) + 1

    status, page, _ = await _post(server, run_id, {**shown, f"cell-{GRID_ROWS + 1}-1": OWNER})

    assert status == 303, page[:2000]
    assert [line["Owner"] for line in read_report(tmp_path / "ws" / "runs" / run_id / FIXED)][-1] == OWNER


def test_an_uploaded_file_without_the_id_column_is_refused():
    """Each line's CompanyActivityId shows it is this run's row: without it, another run's failed.xlsx (its `_row`s
    are rows 2, 3... too) would lay its cells over this run's rows, on other activities."""
    with pytest.raises(FixRefused, match="no CompanyActivityId column"):
        edits_from_upload(["ActivityNote"], [("2", ["another run's note"])], _draft("y"))


async def test_a_blanked_cell_in_the_review_says_it_is_not_sent_and_how_to_clear(ui, sandbox, tmp_path):  # noqa: F811
    """A blank cell is not sent: the field keeps its value in LeadSquared. An admin who blanked it meant to clear it."""
    server = ui(_environ(sandbox()))
    run_id, _ = await _failed_run(server, tmp_path)
    grid = _shown_cells(await _grid(server, run_id))
    assert (await _post(server, run_id, {**grid, "cell-3-1": OWNER, "cell-3-2": ""}, action="review"))[0] == 303

    status, review, _ = await fetch("GET", f"{server.base}/runs/{run_id}/fix/review", headers=signed_in(server))

    assert status == 200, review
    edits = re.search(r'<ul id="edits">(.*?)</ul>', review, re.S)
    assert edits is not None, review
    said = html.unescape(edits[1])
    assert "row 3, mx_Code: '1' -> '' (a blank cell is not sent: type #N/A to clear the field)" in said
    assert f"row 3, Owner: 'ravi' -> '{OWNER}'" in said
