"""Undo names the activities it held back (changed since the run): the first few of each group, then a count."""

from __future__ import annotations

from test_undo_says import backed_up_run

from bulk_updater.outcomes import Outcome, RowOutcome
from bulk_updater.report.summary import Summary
from bulk_updater.rows.reader import Row


def _held_back(number: int, activity: str) -> RowOutcome:
    return RowOutcome(Row(number, {"CompanyActivityId": activity}), Outcome.SKIPPED, 1, 200, "ChangedSinceRun", "changed since the run (Status): Status is now 'Lost'")


def test_the_first_activities_then_a_count():
    """Mutant: the group line alone (no activity named)."""
    summary = Summary(input="", rate="")
    for number, activity in enumerate(["a-1", "a-2", "a-3", "a-4", "a-5"], start=1):
        summary.add(_held_back(number, activity))
    lines = summary.lines()
    assert "    activities a-1, a-2, a-3 and 2 more" in lines
    failed = Summary(input="", rate="")
    failed.add(RowOutcome(Row(1, {"CompanyActivityId": "a-1"}), Outcome.FAILED, 1, 500, "HTTPError", "server error"))
    assert not [line for line in failed.lines() if "a-1" in line]  # a failed row's group is not a held-back one


def test_undo_names_the_activities_it_skipped(tmp_path, sandbox, bulk):
    box, ids = backed_up_run(tmp_path, sandbox, bulk)
    code, out, err = bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo"))
    assert code == 0, err
    lines = out.splitlines()
    two = lines.index("  2 rows skipped: ChangedSinceRun: changed since the run (Status)")
    assert f"    activities {ids[0]}, {ids[1]}" in lines[two + 1 : two + 4]  # after the rows and the message in full
    one = lines.index("  1 row skipped: ChangedSinceRun: changed since the run (Status, mx_Stage)")
    assert f"    activity {ids[2]}" in lines[one + 1 : one + 4]
