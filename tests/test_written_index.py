"""What a run wrote, per activity and field, as verify and undo read it from a report: a success is
written; a failed row that was sent may have been (a timeout may have been applied); a row never sent,
or whose snapshot read failed before its update, was not. Read from a report.csv written here."""

from __future__ import annotations

from conftest import new_ids, write_csv

from bulk_updater.safety import written

HEADER = ["CompanyActivityId", "Status", "_row", "_outcome", "_attempts", "_error_type", "_error_message"]


def index(tmp_path, rows: list[list[str]]):
    report = write_csv(tmp_path / "report.csv", [HEADER, *rows])
    return written.build(report, "#CLEAR", tmp_path / "index.sqlite")


def test_a_success_is_written_and_a_failed_try_after_it_may_have_been(tmp_path):
    a = new_ids(1)[0]
    db = index(tmp_path, [
        [a, "Won", "1", "success", "1", "", ""],
        [a, "Lost", "2", "failed", "3", "Timeout", "no answer"],
    ])
    assert written.last_written(db, a) == {"Status": "Won"}  # verify compares successes only
    assert written.may_have_left(db, a) == {"Status": ["Won", "Lost"]}
    assert list(written.updated_activities(db)) == [a] and written.count_updated(db) == 1


def test_rows_never_sent_or_stopped_at_their_snapshot_wrote_nothing(tmp_path):
    never, blank_attempts, snapshot_failed, tried = new_ids(4)
    db = index(tmp_path, [
        [never, "Open", "1", "failed", "0", "", "not sent"],
        [blank_attempts, "Open", "2", "failed", "", "", "not sent"],
        [snapshot_failed, "Hot", "3", "failed", "2", "BackupFailed", "the snapshot read failed"],
        [tried, "Cold", "4", "failed", "1", "Timeout", "no answer"],
    ])
    assert written.may_have_left(db, never) == {}
    assert written.may_have_left(db, blank_attempts) == {}
    assert written.may_have_left(db, snapshot_failed) == {}
    assert written.may_have_left(db, tried) == {"Status": ["Cold"]}
    assert list(written.updated_activities(db)) == []  # no success: verify reads none of them


def test_an_unnamed_column_of_the_report_is_no_field(tmp_path):
    """A spacer column left in the report (as the readers leave one out of a sheet) was never sent."""
    [a] = new_ids(1)
    report = write_csv(tmp_path / "report.csv", [[*HEADER, ""], [a, "Won", "1", "success", "1", "", "", "a remark"]])
    db = written.build(report, "#CLEAR", tmp_path / "index.sqlite")
    assert written.last_written(db, a) == {"Status": "Won"}
