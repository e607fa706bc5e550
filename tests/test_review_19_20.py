"""Review of issues 19 and 20: attacks as a hostile server, a careless folder and a real admin."""

from __future__ import annotations

import json

from conftest import new_ids, read_report, write_csv

from bulk_updater.sandbox import quirks as q


def summary_of(folder) -> dict:
    return json.loads((folder / "summary.json").read_text())


def test_a_retry_of_a_sorted_report_never_sends_the_clearing_row_before_an_earlier_row_of_its_activity(tmp_path, sandbox, bulk):
    """The canary's clearing row was chosen in file order; a retry sends in `_row` order. Row 4 (a clear of
    a's mx_F) sorted first in failed.csv went out first, then row 3 set mx_F = x over it: exit 0, `success`,
    and the later row's clear lost. Mutant killed: job._canary_row_first without the send-order check."""
    import csv
    a, b = new_ids(2)
    box0 = sandbox(activities=set())
    src = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "mx_F"], [b, "other"], [a, "x"], [a, "#N/A"]])
    code, out, err = bulk(box0, "run", str(src), "--out", str(tmp_path / "run"), "--no-canary")
    assert code == 1, err
    failed = tmp_path / "run" / "failed.csv"
    lines = read_report(failed)
    lines.reverse()  # sorted in a spreadsheet: row 4 (the clear) first
    with failed.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(lines[0]))
        w.writeheader()
        w.writerows(lines)
    box = sandbox(initial={a: {"ActivityNote": "", "Fields": {"mx_F": "old"}}, b: {"ActivityNote": "", "Fields": {"mx_F": "old"}}})
    code, out, err = bulk(box, "retry", str(failed), "--out", str(tmp_path / "retry"))
    assert code == 0, err
    assert box.state.activities[a]["Fields"]["mx_F"] == ""  # row 4, the later, wins: the field ends cleared
    assert box.state.applied == [b, a, a]  # no clearing row could go first safely: the first row to send is the canary
