"""Output a person can read: groups that keep their values, plurals, and the lines around a job."""

from __future__ import annotations

import io

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


# --- a job with nothing to send says so ---------------------------------------------------------

BULK_OPTIONS = {"--no-progress": None, "--rate": "1000/1", "--concurrency": "1", "--max-attempts": "1"}


def test_a_retry_whose_rows_are_all_damaged_says_nothing_will_be_updated(tmp_path, sandbox, bulk):
    from test_retry_history import ORIGINAL, edit_failed, first_run_all_failed

    _, failed = first_run_all_failed(tmp_path, sandbox, bulk, [ORIGINAL, ORIGINAL, ORIGINAL])
    edit_failed(failed, lambda line: {**line, "Code": "7"})  # Excel stripped the zeros of every row
    code, out, err = bulk(sandbox(), "retry", str(failed), "--out", str(tmp_path / "second"))
    assert code == 1, out
    assert "About to update" not in err
    assert "Nothing to update: none of the 3 rows would be sent (invalid, or nothing to change); the report says why." in err
    assert "3 rows: 3 invalid" in out


class _Keyboard(io.StringIO):
    """stdin at a terminal: someone answers the question."""

    def isatty(self) -> bool:
        return True


def test_resume_says_what_it_resumes_before_it_asks(tmp_path, sandbox, bulk, monkeypatch):
    from conftest import new_ids, write_csv

    ids = new_ids(4)
    box = sandbox(activities=set(ids))
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in ids]])
    code, _, _ = bulk(box, "run", str(sheet), "--out", str(tmp_path / "out"), "--max-calls", "3", "--yes")
    assert code != 0
    monkeypatch.setattr("sys.stdin", _Keyboard("y\n"))
    code, out, err = bulk(box, "resume", str(tmp_path / "out"))
    assert code == 0, err
    assert err.index("Resuming the run in") < err.index("Continue? [y/N]")


def test_check_counts_one_of_a_kind_in_the_singular(tmp_path, capsys):
    from conftest import new_ids, write_csv

    from bulk_updater import cli

    [one] = new_ids(1)
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], [one, "Won"], [one, "Lost"]])
    assert cli.main(["check", str(sheet)]) == 0
    out = capsys.readouterr().out
    assert "  1 duplicate id (rows naming" in out and "Calls: 2 updates;" in out
    sheet = write_csv(tmp_path / "one.csv", [["CompanyActivityId", "Status"], [one, "Won"]])
    assert cli.main(["check", str(sheet)]) == 0
    assert "Calls: 1 update;" in capsys.readouterr().out


def test_a_finished_run_given_again_suggests_failed_xlsx_only_when_rows_failed(tmp_path, sandbox, bulk):
    from conftest import new_ids, write_csv

    ids = new_ids(2)
    box = sandbox(activities=set(ids))
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in ids]])
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "ok"), "--yes")[0] == 0
    code, _, err = bulk(box, "resume", str(tmp_path / "ok"))
    assert code == 2 and "nothing is left to send again" in err and "retry" not in err
    code, _, err = bulk(box, "run", str(sheet), "--out", str(tmp_path / "ok"), "--yes")
    assert code == 2 and "nothing is left to send again" in err and "bulk-updater retry" not in err
    box = sandbox(activities={ids[0]})  # the second activity is unknown: its row fails
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "some"), "--yes")[0] == 1
    code, _, err = bulk(box, "resume", str(tmp_path / "some"))
    assert code == 2 and f"bulk-updater retry {tmp_path / 'some' / 'failed.xlsx'} --out NEW_DIR" in err


def test_a_bare_bulk_updater_prints_the_help(capsys):
    from bulk_updater import cli

    assert cli.main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: bulk-updater") and "run" in out and "Apply a spreadsheet of edits" in out
