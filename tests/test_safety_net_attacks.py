"""The safety net and the canary attacked as a hostile server, a careless folder and a real admin would."""

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


def test_an_undo_of_a_run_its_canary_stopped_says_what_it_cannot_put_back(tmp_path, sandbox, bulk):
    """The run's first update blanked the note and mx_Other (blank-unsent) and the canary stopped it. The
    backup kept only Status, so undo restored Status and said `1 row: 1 success`, exit 0, not a word of the
    wiped note and field. Mutant killed: UndoSource.check without the canary.json warning."""
    ids = new_ids(3)
    initial = {i: {"ActivityNote": "n", "Fields": {"Status": "Open", "mx_Other": "keep"}} for i in ids}
    box = sandbox(initial=initial, quirks=frozenset({q.BLANK_UNSENT}))
    src = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in ids]])
    assert bulk(box, "run", str(src), "--out", str(tmp_path / "run"), "--backup")[0] == 1

    code, out, err = bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo"))

    assert code == 0, err
    assert box.state.activities[ids[0]]["Fields"] == {"Status": "Open", "mx_Other": ""}  # what undo can do
    warning = f"Warning: the run's first update (row 2, activity {ids[0]}) did more than its row asked: the update blanked"
    assert warning in err and "canary.json: put them back by hand" in err
    assert any("did more than its row asked" in text for text in summary_of(tmp_path / "undo")["warnings"])


def test_a_run_whose_key_check_gave_no_identity_is_refused_later_without_blaming_an_older_version(tmp_path, sandbox, bulk):
    """The who-am-I answer gave no org id, short code, name or host: the run recorded none. Resume, undo and
    verify are refused (fail closed), but the message said the run was "started by an older bulk-updater",
    sending the admin after the wrong cause. Mutant killed: account.another_account's old wording."""
    ids = new_ids(2)
    box = sandbox(omit_identity=frozenset({"OrgId", "OrgShortCode", "OrgDisplayName", "LSQCommonServiceURLs"}))
    src = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in ids]])
    code, out, err = bulk(box, "run", str(src), "--out", str(tmp_path / "run"), "--backup", "--max-calls", "1")
    assert code == 1, err  # stopped at --max-calls: the rest is left for a resume

    for command in (["resume", str(tmp_path / "run")], ["undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo")]):
        code, out, err = bulk(box, *command)
        assert code == 2 and "can't tell whether the keys belong to the account" in err
        assert "the key check gave none when it started" in err and "started by an older" not in err
    assert box.state.calls == 1


def test_an_undo_whose_backup_record_lost_lines_is_refused_before_anything_is_sent(tmp_path, sandbox, bulk):
    """A record cut at a line end (a bad copy) would let undo restore some activities and say success."""
    from bulk_updater.safety.record import RECORD_FILE

    ids = new_ids(3)
    box = sandbox(initial={i: {"ActivityNote": "n", "Fields": {"Status": "Open"}} for i in ids})
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in ids]])
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--backup")[0] == 0
    record = tmp_path / "run" / RECORD_FILE
    record.write_text("".join(record.read_text().splitlines(keepends=True)[:-1]))  # the last snapshot gone
    calls = box.state.calls

    code, out, err = bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo"))

    assert code == 2 and box.state.calls == calls
    assert "has no snapshot of Status of activity" in err and RECORD_FILE in err and "Traceback" not in err
