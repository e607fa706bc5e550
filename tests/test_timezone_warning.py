"""A workbook's date-times are sent as UTC unless --timezone says otherwise: when the keys' user is
in another zone (the sandbox answers TimeZone "Asia/Kolkata"), a run without --timezone warns
before anything is sent, naming the zone and the flag, and the line before sending says it too;
so does the web page's confirm screen."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import new_ids, write_csv
from test_ui_guard import fetch, signed_in, ui  # noqa: F401  (the `ui` fixture)
from test_ui_safety_net import _environ, _to_confirm
from workbooks import write_xlsx

import bulk_updater
from bulk_updater.credentials import Credentials
from bulk_updater.errors import Declined
from bulk_updater.job import JobOptions
from bulk_updater.safety.confirm import SendPlan, about_to_update, zone_to_warn_of
from bulk_updater.settings import Rate, SendSettings

WARNING = (
    "Warning: the sheet's 2 date-time cells are sent as UTC (no --timezone was given), but the keys' user is in "
    "Asia/Kolkata (UTC+05:30): if they were typed in that zone, they land off by its difference from UTC. "
    "Stop, and run again with --timezone Asia/Kolkata."
)
IN_THE_LINE = "Date-times go as UTC, not Asia/Kolkata time (--timezone Asia/Kolkata to shift them)."


def book_with_datetimes(tmp_path, ids):
    rows = [["CompanyActivityId", "mx_Visit", "Status"], [ids[0], dt.datetime(2024, 3, 1, 10, 0), "Won"], [ids[1], dt.datetime(2024, 3, 2, 9, 30), "Won"]]
    return write_xlsx(tmp_path / "visits.xlsx", rows)


def test_a_workbook_with_date_times_run_without_timezone_warns_and_the_line_says_it(tmp_path, sandbox, bulk):
    box = sandbox()
    ids = new_ids(2)

    code, _, err = bulk(box, "run", str(book_with_datetimes(tmp_path, ids)), "--out", str(tmp_path / "out"))

    assert code == 0, err
    assert WARNING in err
    [line] = [line for line in err.splitlines() if line.startswith("About to update")]
    assert line.endswith(IN_THE_LINE)
    assert err.index(WARNING) < err.index("About to update")
    assert box.state.activities[ids[0]]["Fields"]["mx_Visit"] == "2024-03-01 10:00:00"  # sent as UTC, as warned


def test_the_warning_comes_before_anything_is_sent(tmp_path, sandbox):
    box = sandbox()
    asked: dict[str, object] = {}
    notes: list[str] = []

    def confirm(line: str) -> bool:
        asked.update(line=line, calls=box.state.calls, said="\n".join(notes))
        return False

    send = SendSettings(host=box.url, credentials=Credentials(box.config.access_key, box.config.secret_key), rate=Rate(1000, 1))
    with pytest.raises(Declined):
        bulk_updater.run(book_with_datetimes(tmp_path, new_ids(2)), tmp_path / "out", send, JobOptions(confirm=confirm, on_note=notes.append))

    assert asked["calls"] == 0 and box.state.calls == 0
    assert WARNING in str(asked["said"]) and str(asked["line"]).endswith(IN_THE_LINE)


def test_with_timezone_given_there_is_no_warning(tmp_path, sandbox, bulk):
    box = sandbox()
    ids = new_ids(2)

    code, _, err = bulk(box, "run", str(book_with_datetimes(tmp_path, ids)), "--out", str(tmp_path / "out"), "--timezone", "Asia/Kolkata")

    assert code == 0, err
    assert "sent as UTC" not in err and "Date-times go as UTC" not in err
    assert box.state.activities[ids[0]]["Fields"]["mx_Visit"] == "2024-03-01 04:30:00"


def test_a_csv_of_date_time_text_gets_no_warning(tmp_path, sandbox, bulk):
    box = sandbox()
    sheet = write_csv(tmp_path / "visits.csv", [["CompanyActivityId", "mx_Visit"], *[[i, "2024-03-01 10:00:00"] for i in new_ids(2)]])

    code, _, err = bulk(box, "run", str(sheet), "--out", str(tmp_path / "out"))

    assert code == 0, err
    assert "sent as UTC" not in err and "About to update 2 rows" in err and "Date-times go as UTC" not in err


def test_a_workbook_without_date_time_cells_gets_no_warning(tmp_path, sandbox, bulk):
    box = sandbox()
    ids = new_ids(2)
    # A date without a time is never shifted; date-time text in a text cell neither.
    book = write_xlsx(tmp_path / "plain.xlsx", [["CompanyActivityId", "mx_Day", "mx_Note"], [ids[0], dt.date(2024, 3, 1), "2024-03-01 10:00:00"], [ids[1], 7, "x"]])

    code, _, err = bulk(box, "run", str(book), "--out", str(tmp_path / "out"))

    assert code == 0, err
    assert "sent as UTC" not in err and "About to update 2 rows" in err and "Date-times go as UTC" not in err


def test_retry_of_a_workbook_with_date_times_warns_too(tmp_path, sandbox, bulk):
    box = sandbox()
    ids = new_ids(2)
    # failed.xlsx, with a date-time typed into it in Excel (the tool writes its cells as text).
    rows = [["CompanyActivityId", "mx_Visit", "_row", "_outcome"], *[[i, dt.datetime(2024, 3, 1, 10, 0), n, "failed"] for n, i in enumerate(ids, 2)]]
    book = write_xlsx(tmp_path / "failed.xlsx", rows)

    code, _, err = bulk(box, "retry", str(book), "--out", str(tmp_path / "out"))

    assert code == 0, err
    assert WARNING in err and IN_THE_LINE in err


@pytest.mark.parametrize(("zone", "cells", "warned"), [
    ("Asia/Kolkata", 3, "Asia/Kolkata"), ("America/New_York", 1, "America/New_York"), ("India Standard Time", 1, "India Standard Time"),
    ("UTC", 3, ""), ("Etc/UTC", 3, ""), ("gmt", 3, ""), ("", 3, ""), ("Asia/Kolkata", 0, ""),
])
def test_which_zones_are_warned_of(zone, cells, warned):
    assert zone_to_warn_of(zone, cells) == warned


def test_a_zone_python_does_not_know_is_named_with_what_to_give():
    line = about_to_update(SendPlan(1, 1, 1, datetimes_not_in="India Standard Time"), "Org", "Me", "https://api-in21.leadsquared.com", Rate(25, 5))
    assert line.endswith("Date-times go as UTC, not India Standard Time time (--timezone and the IANA name of India Standard Time (like Asia/Kolkata) to shift them).")


async def test_the_web_pages_confirm_screen_shows_the_warning(ui, sandbox, tmp_path):  # noqa: F811
    box = sandbox()
    server = ui(_environ(box))

    _, page = await _to_confirm(server, book_with_datetimes(tmp_path, new_ids(2)), {"rate": "1000/1"})

    assert 'id="timezone-warning">Warning: the sheet&#39;s 2 date-time cells are sent as UTC' in page
    assert "keys&#39; user is in Asia/Kolkata (UTC+05:30)" in page and "with --timezone Asia/Kolkata." in page
    assert IN_THE_LINE + "<" in page  # the confirmation line


async def test_the_web_page_does_not_warn_for_a_csv(ui, sandbox, tmp_path):  # noqa: F811
    box = sandbox()
    server = ui(_environ(box))
    sheet = write_csv(tmp_path / "visits.csv", [["CompanyActivityId", "mx_Visit"], *[[i, "2024-03-01 10:00:00"] for i in new_ids(2)]])

    _, page = await _to_confirm(server, sheet, {"rate": "1000/1"})

    assert 'id="confirmation">About to update 2 rows' in page and "timezone-warning" not in page and "Date-times go as UTC" not in page


def test_a_resume_counts_the_cells_once(tmp_path, sandbox, bulk):
    box = sandbox()
    book, out = book_with_datetimes(tmp_path, new_ids(2)), str(tmp_path / "out")
    assert bulk(box, "run", str(book), "--out", out, "--max-calls", "1", "--concurrency", "1")[0] == 1

    code, _, err = bulk(box, "run", str(book), "--out", out, "--max-calls", "none")  # reads the rows twice: to count, then those left

    assert code == 0, err
    assert WARNING in err and "About to update 1 row" in err
