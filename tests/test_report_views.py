"""What the admin sees of the outcomes: the progress bar, the summary's groups, failed.csv's order."""

from __future__ import annotations

import csv
import io

from conftest import read_report

from bulk_updater.outcomes import Outcome, RowOutcome
from bulk_updater.report import Summary, write_failed
from bulk_updater.report.progress import Progress
from bulk_updater.rows import Row
from bulk_updater.wording import counted


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def outcome(number: int, kind: Outcome, error_type: str = "", message: str = "") -> RowOutcome:
    return RowOutcome(Row(number, {}), kind, error_type=error_type, error_message=message)


def test_messages_that_differ_only_by_an_id_or_a_number_are_one_group():
    summary = Summary(input="in.csv", rate="25/5")
    for number, id_ in enumerate(["6513270e-1234-4abc-9def-0123456789ab", "{7513270E-1234-4ABC-9DEF-0123456789AB}"], start=2):
        summary.add(outcome(number, Outcome.FAILED, "MXInvalidEntityException", f"Activity {id_} does not exist"))
    summary.add(outcome(4, Outcome.FAILED, "MXInvalidEntityException", "Owner 12 is not a user"))
    summary.add(outcome(5, Outcome.FAILED, "MXInvalidEntityException", "Owner 13 is not a user"))
    summary.add(outcome(6, Outcome.FAILED, "MXInvalidEntityException", "mx_Custom_1 is too long"))
    summary.add(outcome(7, Outcome.FAILED, "MXInvalidEntityException", "mx_Custom_2 is too long"))
    groups = summary.failure_groups()
    assert [(g["rows"], g["error_message"]) for g in groups] == [
        (2, "Activity <id> does not exist"),
        (2, "Owner <n> is not a user"),
        (1, "mx_Custom_1 is too long"),  # a field name is not a number: two fields, two groups
        (1, "mx_Custom_2 is too long"),
    ]
    assert groups[0]["example"] == "Activity 6513270e-1234-4abc-9def-0123456789ab does not exist"
    assert "  2 rows failed: MXInvalidEntityException: Activity <id> does not exist" in summary.lines()


def test_one_row_is_one_row():
    summary = Summary(input="in.csv", rate="25/5")
    summary.add(outcome(2, Outcome.FAILED, "X", "y"))
    summary.calls = 1
    lines = summary.lines()
    assert lines[0] == "1 row: 1 failed" and lines[1].startswith("1 call (0 answered 429)")
    assert "  1 row failed: X: y" in lines
    assert counted(1_204, "row") == "1,204 rows" and counted(0, "row") == "0 rows"


def test_the_bar_counts_each_outcome_by_name_and_starts_from_a_resume(monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    progress = Progress(10, enabled=True, done={"success": 3, "failed": 1})
    for kind in (Outcome.SUCCESS, Outcome.INVALID, Outcome.SKIPPED, Outcome.NOT_SENT, Outcome.NOT_SENT):
        progress.add(outcome(2, kind))
    assert progress.postfix() == "ok=4, failed=1, invalid=1, skipped=1, not_sent=2"
    progress.close()  # the bar's last state is drawn on closing
    # not_sent rows were never sent: they don't count as progress (no burst in the rate after a stop)
    last = terminal.getvalue().rsplit("\r", 1)[-1]
    assert " 7/10 " in last and "not_sent=2" in last


def test_failed_csv_is_in_sheet_order_whatever_order_rows_finished_in(tmp_path):
    report = tmp_path / "report.csv"
    with report.open("w", newline="", encoding="utf-8") as f:
        lines = csv.writer(f)
        lines.writerow(["CompanyActivityId", "_row", "_outcome"])
        for number, kind in [(9, "failed"), (3, "success"), (12, "invalid"), (2, "not_sent"), (5, "failed")]:
            lines.writerow([f"id{number}", number, kind])
    assert write_failed(report, tmp_path / "failed.csv") == 4
    assert [r["_row"] for r in read_report(tmp_path / "failed.csv")] == ["2", "5", "9", "12"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["failed.csv", "report.csv"]  # the sort's index is gone
