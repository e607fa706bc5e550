"""Output a person can read (issue 23): groups that keep their values, plurals, and the lines around a job."""

from __future__ import annotations

from bulk_updater.outcomes import Outcome, RowOutcome
from bulk_updater.report import Summary
from bulk_updater.rows import Row

HINT = ". Type the value as it should be (in failed.xlsx, as text), or add --accept-spreadsheet-changes to send it as it is"


def _invalid(number: int, message: str) -> RowOutcome:
    return RowOutcome(Row(number, {}), Outcome.INVALID, error_type="InvalidRow", error_message=message)


def test_a_group_keeps_the_values_its_rows_share_and_shows_its_first_rows_when_it_masks():
    summary = Summary(input="in.csv", rate="25/5")
    for number, (was, now) in enumerate([("007", "7"), ("0012", "12"), ("0950", "950")], start=2):
        summary.add(_invalid(number, f"row {number}: spreadsheet damage: mx_Code was {was!r}, now {now!r} (leading zeros stripped){HINT}"))
    summary.add(_invalid(9, "row 9: its line is not UTF-8 while the rest of the file is: Name was 'Müller', now 'MÃ¼ller' (UTF-8 text read as Windows-1252)"))
    lines = summary.lines()
    # three rows of one cause: one group, the varying values masked, not dropped
    assert f"  3 rows invalid: InvalidRow: row <n>: spreadsheet damage: mx_Code was '…', now '…' (leading zeros stripped){HINT}" in lines
    at = lines.index(f"  3 rows invalid: InvalidRow: row <n>: spreadsheet damage: mx_Code was '…', now '…' (leading zeros stripped){HINT}")
    assert lines[at + 1] == "    rows 2, 3, 4; the first says:"
    assert lines[at + 2] == f"    row 2: spreadsheet damage: mx_Code was '007', now '7' (leading zeros stripped){HINT}"
    # a group of one masks nothing: Windows-1252 and the values stay
    assert "  1 row invalid: InvalidRow: row 9: its line is not UTF-8 while the rest of the file is: Name was 'Müller', now 'MÃ¼ller' (UTF-8 text read as Windows-1252)" in lines


def test_bad_ids_keep_the_example_id_they_give():
    summary = Summary(input="in.csv", rate="25/5")
    for number, bad in enumerate(["abc", "xyz"], start=2):
        summary.add(_invalid(number, f"CompanyActivityId {bad!r} is not a GUID (like 255539a4-0380-4b8c-84db-7746b46c3fe2)"))
    assert "  2 rows invalid: InvalidRow: CompanyActivityId '…' is not a GUID (like 255539a4-0380-4b8c-84db-7746b46c3fe2)" in summary.lines()


def test_not_sent_is_said_once():
    summary = Summary(input="in.csv", rate="25/5")
    summary.count("not_sent", "", "not sent: the run stopped before this row", rows=125)
    assert "  125 rows not_sent: the run stopped before this row" in summary.lines()
