"""A retry's line before sending counts only the rows it will send: a row the damage check refuses, a row a
later row superseded and an invalid row are subtracted, in the CLI's `retry` and in the plan the page shows
(application/preview.retry_preview), which also lists the edits and the rows refused with their reason."""

from __future__ import annotations

import csv
from pathlib import Path

from conftest import new_ids, read_report, write_csv

from bulk_updater.application.preview import retry_preview
from bulk_updater.preflight import Identity
from bulk_updater.settings import Rate

BULK_OPTIONS = {"--no-progress": None, "--rate": "1000/1", "--concurrency": "1", "--max-attempts": "1"}
HEADER = ["CompanyActivityId", "mx_Code", "Status"]


def _failed_run(tmp_path: Path, sandbox, bulk) -> tuple[Path, dict[str, str]]:
    """A run whose rows 2, 3 and 4 fail (503s), row 5 sets row 4's activity with success, and row 6's activity is
    unknown; returns its failed.csv and the ids by row."""
    a, b, d, c = new_ids(4)
    box = sandbox(activities={a, b, d}, script=("503", "503", "503"))
    sheet = write_csv(tmp_path / "in.csv", [HEADER, [a, "007", "Open"], [b, "1", "Open"], [d, "2", "Open"], [d, "2", "Open"], [c, "3", "Open"]])
    code, _, err = bulk(box, "run", str(sheet), "--out", str(tmp_path / "first"), "--no-canary")
    assert code == 1, err
    assert {line["_row"]: line["_outcome"] for line in read_report(tmp_path / "first" / "report.csv")} == {
        "2": "failed", "3": "failed", "4": "failed", "5": "success", "6": "failed"}
    return tmp_path / "first" / "failed.csv", {"2": a, "3": b, "4": d, "6": c}


def _edit(failed: Path) -> None:
    """Row 2's code as a spreadsheet saves it (leading zeros stripped: damage), row 3's Status fixed."""
    lines = read_report(failed)
    for line in lines:
        if line["_row"] == "2":
            line["mx_Code"] = "7"
        if line["_row"] == "3":
            line["Status"] = "Closed"
    with failed.open("w", newline="", encoding="utf-8-sig") as f:
        out = csv.DictWriter(f, fieldnames=list(lines[0]))
        out.writeheader()
        out.writerows(lines)


def test_the_cli_retry_line_counts_only_the_rows_it_sends(tmp_path, sandbox, bulk):
    failed, _ = _failed_run(tmp_path, sandbox, bulk)
    _edit(failed)

    code, out, err = bulk(sandbox(), "retry", str(failed), "--out", str(tmp_path / "second"), "--no-canary")

    # rows 3 and 6 are sent; row 2 is refused as damaged, row 4 is superseded by row 5
    assert "About to update 2 rows (2 activities)" in err, err
    outcomes = {line["_row"]: line["_outcome"] for line in read_report(tmp_path / "second" / "report.csv")}
    assert outcomes["2"] == "invalid" and outcomes["4"] == "skipped"


def test_the_retry_preview_lists_edits_damage_and_rows_sent(tmp_path, sandbox, bulk):
    failed, _ = _failed_run(tmp_path, sandbox, bulk)
    _edit(failed)
    identity = Identity("Sandbox Admin", "u1", "", "Administrator", "Sandbox Org", "o1", "s1", "", "")

    plan = retry_preview(failed, identity, "example.test", Rate.parse("1000/1"), backup=False, canary=False)

    assert plan.line.startswith('About to update 2 rows (2 activities) in "Sandbox Org"'), plan.line
    assert (plan.rows, plan.to_send, plan.damaged_rows, plan.superseded_rows, plan.invalid_rows) == (4, 2, 1, 1, 0)
    assert plan.sending == [3, 6]
    assert plan.edits == ["row 3, Status: 'Open' -> 'Closed'"] and plan.edited_cells == 1
    [(row, reason)] = plan.damaged
    assert row == 2 and "mx_Code was '007', now '7' (leading zeros stripped)" in reason
    assert plan.superseded == [(4, "superseded by row 5")]



def test_a_row_is_listed_as_damage_only_when_the_damage_check_refused_it_whatever_its_cells_say(tmp_path, sandbox, bulk):
    """The review sorts rows by what refused them, not by words in the reason: a column's name may hold them."""
    a, b = new_ids(2)
    column = "mx_X: spreadsheet damage: y"
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", column, "Status"], [a, "#REF!", "Open"], [b, "1", "Open"]])
    code, _, err = bulk(sandbox(activities={a}, script=("503",)), "run", str(sheet), "--out", str(tmp_path / "first"), "--no-canary")
    assert code == 1, err
    identity = Identity("Sandbox Admin", "u1", "", "Administrator", "Sandbox Org", "o1", "s1", "", "")

    plan = retry_preview(tmp_path / "first" / "failed.csv", identity, "example.test", Rate.parse("1000/1"), backup=False, canary=False)

    assert (plan.damaged_rows, plan.invalid_rows, plan.sending) == (0, 1, [3]), plan
    [(row, reason)] = plan.invalid
    assert row == 2 and reason.startswith(f"{column} holds #REF!")
