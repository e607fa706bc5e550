"""The safety net, end to end through the CLI against the sandbox: backup and undo, verify,
stop on systematic failure, the line (and question) before sending, the field check."""

from __future__ import annotations

import csv
import json
import uuid

import pytest
from conftest import new_ids, read_report, untouched, write_csv

from bulk_updater import cli
from bulk_updater.sandbox.server import config_from_args
from bulk_updater.settings import Rate

OWNER_1, OWNER_2, OWNER_3 = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())


def now(box, activity_id: str) -> tuple[str, dict[str, str]]:
    """An activity's note and fields as the sandbox holds them; absent and empty are the same."""
    activity = box.state.activities.get(activity_id, {"ActivityNote": None, "Fields": {}})
    return activity["ActivityNote"] or "", {k: v for k, v in activity["Fields"].items() if v}


def before_run() -> dict[str, dict]:
    a, b, c = new_ids(3)
    return {
        a: {"ActivityNote": "first call", "Fields": {"Status": "Open", "Owner": OWNER_1, "mx_Custom_2": "keep me"}},
        b: {"ActivityNote": "", "Fields": {"Status": "Open"}},
        c: {},
    }


def edits(tmp_path, ids):
    a, b, c = ids
    return write_csv(
        tmp_path / "edits.csv",
        [
            ["CompanyActivityId", "ActivityNote", "Status", "Owner", "mx_Custom_1", "mx_Custom_2"],
            [a, "", "Won", "", "", "#N/A"],  # row 2: X's Status, and clears a field that had a value
            [b, "new note", "Won", "", "x", ""],  # row 3: a note and a field that were empty
            [a, "", "", OWNER_2, "", ""],  # row 4: X's Owner: both originals are kept
            [c, "hello", "", "", "y", ""],  # row 5: an activity with nothing set
            [a, "", "Lost", "", "", ""],  # row 6: X's Status again: the first snapshot stays
        ],
    )


def test_a_backup_run_then_undo_restores_every_field_including_empty_ones(tmp_path, sandbox, bulk):
    initial = before_run()
    box = sandbox(initial=json.loads(json.dumps(initial)))
    ids = list(initial)
    before = {i: now(box, i) for i in ids}

    code, out, err = bulk(box, "run", str(edits(tmp_path, ids)), "--out", str(tmp_path / "run"), "--backup")

    assert code == 0, err
    assert now(box, ids[0]) == ("first call", {"Status": "Lost", "Owner": OWNER_2})
    # One read per row whose fields had no snapshot yet; row 6 needed none.
    # The field check, then rows 2-5 (row 2's read is also the canary's read before), then the canary's read after.
    assert box.state.retrieve_calls == 1 + 4 + 1
    assert "Backup: 4 snapshot reads kept in undo.csv" in out
    record = json.loads((tmp_path / "run" / "run.json").read_text())["options"]["record"]
    token = record["undo_clear_token"]
    assert record["backup"] is True and token.startswith("#CLEAR-")
    lines = read_report(tmp_path / "run" / "undo.csv")
    assert [(line["_row"], line["Status"], line["Owner"], line["mx_Custom_2"]) for line in lines if line["CompanyActivityId"] == ids[0]] == [
        ("2", "Open", "", "keep me"),
        ("4", "", OWNER_1, ""),
    ]
    assert [(line["ActivityNote"], line["mx_Custom_1"]) for line in lines if line["CompanyActivityId"] in ids[1:]] == [(token, token), (token, token)]

    code, out, err = bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo"))

    assert code == 0, err
    assert {i: now(box, i) for i in ids} == before
    assert {line["_outcome"] for line in read_report(tmp_path / "undo" / "report.csv")} == {"success"}


def test_an_activity_edited_since_the_run_is_skipped_and_force_restores_it(tmp_path, sandbox, bulk):
    initial = before_run()
    box = sandbox(initial=json.loads(json.dumps(initial)))
    ids = list(initial)
    before = {i: now(box, i) for i in ids}
    assert bulk(box, "run", str(edits(tmp_path, ids)), "--out", str(tmp_path / "run"), "--backup")[0] == 0
    box.state.activities[ids[0]]["Fields"]["Owner"] = OWNER_3  # a colleague's edit, after the run (OWNER_1 upper-cased would be no edit: GUID case)
    box.state.activities[ids[1]]["Fields"]["Status"] = " Won "  # LeadSquared's own trimming is no edit

    code, out, err = bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo"))

    assert code == 0, err
    report = read_report(tmp_path / "undo" / "report.csv")
    held = [line for line in report if line["CompanyActivityId"] == ids[0]]
    assert [line["_outcome"] for line in held] == ["skipped", "skipped"]  # neither of X's lines: the activity is not touched
    assert held[0]["_error_message"] == f"changed since the run (Owner): Owner is now {OWNER_3!r}"
    assert now(box, ids[0]) == ("first call", {"Status": "Lost", "Owner": OWNER_3})
    assert now(box, ids[1]) == before[ids[1]] and now(box, ids[2]) == before[ids[2]]

    code, out, err = bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo-forced"), "--force")

    assert code == 0, err
    assert now(box, ids[0]) == before[ids[0]]


def test_verify_finds_a_planted_mismatch_and_ignores_normalised_values(tmp_path, sandbox, bulk):
    ids = new_ids(4)
    box = sandbox()
    sheet = write_csv(
        tmp_path / "in.csv",
        [["CompanyActivityId", "Status", "mx_When", "mx_Amount"], *[[i, "Won", "2026-03-26 14:15:00", "12.5"] for i in ids]],
    )
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"))[0] == 0
    box.state.activities[ids[0]]["Fields"]["Status"] = "Lost"  # planted
    box.state.activities[ids[1]]["Fields"].update(mx_When="2026-03-26T14:15:00Z", mx_Amount="12.50")  # the same instant, the same number

    code, out, err = bulk(box, "verify", str(tmp_path / "run"))

    assert code == 1, err
    lines = {line["CompanyActivityId"]: line for line in read_report(tmp_path / "run" / "verify.csv")}
    assert lines[ids[0]]["_verified"] == "mismatch" and lines[ids[0]]["_fields"] == "Status"
    assert (lines[ids[0]]["_sent"], lines[ids[0]]["_now"]) == ("'Won'", "'Lost'")
    assert [lines[i]["_verified"] for i in ids[1:]] == ["match"] * 3
    assert "4 activities read back: 3 match, 1 mismatch, 0 error" in out and "Status: differs on 1 activity" in out


def test_verify_after_an_undo_shows_what_was_restored(tmp_path, sandbox, bulk):
    initial = before_run()
    box = sandbox(initial=json.loads(json.dumps(initial)))
    assert bulk(box, "run", str(edits(tmp_path, list(initial))), "--out", str(tmp_path / "run"), "--backup")[0] == 0
    assert bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo"))[0] == 0

    code, out, err = bulk(box, "verify", str(tmp_path / "undo"))

    assert code == 0, out + err
    assert "3 activities read back: 3 match" in out


def test_a_misspelled_column_stops_the_run_and_keep_going_sends_every_row(tmp_path, sandbox, bulk):
    box = sandbox(fields=frozenset({"Status", "mx_Custom_4"}))
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "mx_Custm_4"], *[[i, "x"] for i in new_ids(500)]])

    code, out, err = bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--concurrency", "5")

    assert code == 1
    assert "Warning: mx_Custm_4 is not among this activity's fields; did you mean mx_Custom_4?" in err
    assert box.state.calls <= 20 + 5
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["stop_reason"] == "failing" and summary["counts"]["not_sent"] == 500 - box.state.calls
    assert json.loads((tmp_path / "run" / "run.json").read_text())["state"] == "stopped"
    assert "stopped sending: the first 20 rows sent all failed with MXInvalidSchemaNameException (mx_Custm_4 is not a field" in err
    assert ", e.g. row " in err and "bulk-updater retry" in err and "--keep-going" in err

    calls_before = box.state.calls
    # Resume, without the rule; and without the canary, which gives up when no row sent alone succeeds.
    code, out, err = bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--keep-going", "--no-canary")

    assert code == 1 and box.state.calls - calls_before == 500 - calls_before
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["counts"]["failed"] == 500 and summary["stop_reason"] == ""
    assert json.loads((tmp_path / "run" / "run.json").read_text())["options"]["record"]["keep_going"] is True

    calls_before, throttled_before = box.state.calls, box.state.throttled
    code, out, err = bulk(box, "run", str(sheet), "--out", str(tmp_path / "all"), "--keep-going", "--no-canary")

    # (A new run opens with a burst, which the last run's calls still in the window may answer 429.)
    assert code == 1 and (box.state.calls - calls_before) - (box.state.throttled - throttled_before) == 500


def test_a_long_streak_of_permanent_failures_stops_the_run(tmp_path, sandbox, bulk):
    box = sandbox()
    good = [[i, "Won", ""] for i in new_ids(5)]
    bad = [[i, "Won", "not-a-user"] for i in new_ids(60)]
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status", "Owner"], *good, *bad])

    code, out, err = bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--concurrency", "1", "--stop-after-failures", "10")

    assert code == 1 and "stopped sending: 10 rows in a row failed with MXInvalidInputException" in err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["counts"] == {"success": 5, "failed": 10, "invalid": 0, "skipped": 0, "not_sent": 50}
    assert json.loads((tmp_path / "run" / "run.json").read_text())["options"]["record"]["stop_after_failures"] == 10


def test_a_server_that_only_answers_503_is_left_to_the_retry_rules(tmp_path, sandbox, bulk):
    box = sandbox(fail_503=1.0)
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in new_ids(25)]])

    # (The canary would stop after 20 rows sent alone, none succeeding: it is the retry rules that are tested here.)
    code, out, err = bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--max-attempts", "1", "--no-canary")

    assert code == 1
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["stop_reason"] == ""
    assert box.state.calls == 25


def test_the_line_before_sending_names_rows_activities_org_user_host_and_rate(tmp_path, sandbox, bulk):
    box = sandbox()
    ids = new_ids(3)
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in [*ids, ids[0]]], ["bad", "Won"]])

    code, out, err = bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--rate", "1000/1", "--backup")

    host = box.url.removeprefix("http://")
    assert f'About to update 4 rows (3 activities) in "Sandbox Org" as Sandbox Admin, at {host}, 1000 calls per 1 s, 2 calls per row, 1 read per row sent alone to check the first updates (about 1 s).' in err
    assert "Continue?" not in err  # no terminal: nobody is asked


def test_a_resume_says_how_many_rows_are_left(tmp_path, sandbox, bulk):
    box = sandbox()
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in new_ids(10)]])
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--max-calls", "4", "--concurrency", "1")[0] == 1

    code, out, err = bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--max-calls", "none")

    assert code == 0, err
    assert "About to update 6 rows (6 activities)" in err


def test_a_resume_keeps_backup_and_refuses_to_add_it(tmp_path, sandbox, bulk):
    ids = new_ids(6)
    box = sandbox(initial=untouched(ids))  # the first check decides: the counted calls below are the rows' own
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in ids]])
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "b"), "--backup", "--max-calls", "4", "--concurrency", "1")[0] == 1
    # The canary's row took one counted call (its reads are the check's, not counted); then two rows of two calls.
    assert len(read_report(tmp_path / "b" / "undo.csv")) == 3

    code, out, err = bulk(box, "resume", str(tmp_path / "b"), "--max-calls", "none")  # --backup not given: reused

    assert code == 0, err
    assert len(read_report(tmp_path / "b" / "undo.csv")) == 6
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "plain"), "--max-calls", "2", "--concurrency", "1")[0] == 1
    code, out, err = bulk(box, "run", str(sheet), "--out", str(tmp_path / "plain"), "--backup")
    assert code == 2 and "was started without --backup" in err


def test_a_failed_snapshot_leaves_the_row_alone(tmp_path, sandbox, bulk):
    known, unknown = new_ids(2)
    box = sandbox(activities={known}, read_faults=True, script=("503",))
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], [known, "Won"], [unknown, "Won"]])

    code, out, err = bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--backup", "--concurrency", "1")

    assert code == 1
    lines = {line["CompanyActivityId"]: line for line in read_report(tmp_path / "run" / "report.csv")}
    # The field check read took the 503; then each snapshot is tried as a call of the row.
    assert lines[known]["_outcome"] == "success"
    assert (lines[unknown]["_outcome"], lines[unknown]["_error_type"]) == ("failed", "BackupFailed")
    assert "Activity does not exist" in lines[unknown]["_error_message"]
    assert box.state.applied == [known]


def test_a_retryable_snapshot_error_costs_an_attempt(tmp_path, sandbox, bulk):
    ids = new_ids(2)
    # In arrival order: the field check; row 2's snapshot, the canary's read before (503, then ok), its update
    # and the canary's read after; row 3's snapshot (503, then ok) and update.
    box = sandbox(initial=untouched(ids), read_faults=True, script=("ok", "503", "ok", "ok", "ok", "503"))  # row 2's check decides
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in ids]])

    code, out, err = bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--backup", "--concurrency", "1", "--max-attempts", "2")
    assert code == 0, err
    assert box.state.retrieve_calls == 1 + 4 + 1 and box.state.calls == 2  # each snapshot tried twice, each update once

    # The field check; the canary's read before (503); the snapshot's own read, made again (503).
    box = sandbox(initial=untouched(ids), read_faults=True, script=("ok", "503", "503"))
    code, out, err = bulk(box, "run", str(sheet), "--out", str(tmp_path / "once"), "--backup", "--concurrency", "1", "--max-attempts", "1")

    assert code == 1
    first = read_report(tmp_path / "once" / "report.csv")[0]
    assert (first["_outcome"], first["_error_type"]) == ("failed", "HTTP503")
    assert first["_error_message"].startswith("reading the activity before the update failed")
    assert box.state.applied == [ids[1]]


def test_undo_needs_a_backup_run(tmp_path, sandbox, bulk):
    box = sandbox()
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], [new_ids(1)[0], "Won"]])
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"))[0] == 0

    code, out, err = bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo"))

    assert code == 2 and "was not made with --backup" in err


def test_restart_never_replaces_an_undo_log(tmp_path, sandbox, bulk):
    box = sandbox()
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], [new_ids(1)[0], "Won"]])
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--backup")[0] == 0

    code, out, err = bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--restart")

    assert code == 2 and "holds the undo.csv of an earlier run" in err


def test_check_prints_the_cost_of_a_backup(tmp_path, capsys):
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in new_ids(3)]])
    assert cli.main(["check", str(sheet)]) == 0
    assert "Calls: 3 updates; with --backup 6 (a read before each update: about half the speed)" in capsys.readouterr().out


def test_the_sandbox_takes_activities_with_their_values_from_json(tmp_path):
    [activity_id] = new_ids(1)
    path = tmp_path / "activities.json"
    path.write_text(json.dumps({activity_id.upper(): {"ActivityNote": "n", "Fields": {"Status": "Open"}}}))
    args = cli.build_parser().parse_args(["sandbox", "--activities", str(path)])
    config = config_from_args(args)
    assert config.activities == {activity_id} and config.initial[activity_id]["Fields"] == {"Status": "Open"}


def test_retry_with_backup_then_undo(tmp_path, sandbox, bulk):
    initial = before_run()
    box = sandbox(initial=json.loads(json.dumps(initial)), fields=frozenset({"Status", "Owner", "mx_Custom_1", "mx_Custom_2"}))
    ids = list(initial)
    before = {i: now(box, i) for i in ids}
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status", "mx_Custom_3"], *[[i, "Won", "x"] for i in ids]])
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--keep-going")[0] == 1  # mx_Custom_3 is no field
    failed = tmp_path / "run" / "failed.csv"
    with failed.open(newline="") as f:
        lines = list(csv.reader(f))
    write_csv(failed, [[cell.replace("mx_Custom_3", "mx_Custom_1") for cell in lines[0]], *lines[1:]])

    code, out, err = bulk(box, "retry", str(failed), "--out", str(tmp_path / "retry"), "--backup")

    assert code == 0, err
    assert now(box, ids[2]) == ("", {"Status": "Won", "mx_Custom_1": "x"})
    assert bulk(box, "undo", str(tmp_path / "retry"), "--out", str(tmp_path / "undo"))[0] == 0
    assert {i: now(box, i) for i in ids} == before


def test_an_undo_that_could_not_restore_some_rows_says_to_undo_again(tmp_path, sandbox, bulk):
    initial = before_run()
    ids = list(initial)
    box = sandbox(initial=json.loads(json.dumps(initial)), activities=set(ids))
    before = {i: now(box, i) for i in ids}
    assert bulk(box, "run", str(edits(tmp_path, ids)), "--out", str(tmp_path / "run"), "--backup")[0] == 0
    box.config.activities.discard(ids[1])  # gone for a while

    code, out, err = bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo"))

    assert code == 1 and f"To try again: bulk-updater undo {tmp_path / 'run'} --out NEW_DIR" in out
    box.config.activities.add(ids[1])
    # A retry of the undo's failed rows reads them with the undo's clear token: an empty field is cleared, not set to the token.
    code, out, err = bulk(box, "retry", str(tmp_path / "undo" / "failed.csv"), "--out", str(tmp_path / "undo-retry"))
    assert code == 0, err
    assert {i: now(box, i) for i in ids} == before


def test_undo_of_a_folder_without_a_run_creates_nothing(tmp_path, sandbox, bulk):
    code, out, err = bulk(sandbox(), "undo", str(tmp_path / "nothing"), "--out", str(tmp_path / "undo"))
    assert code == 2 and "holds no run" in err and not (tmp_path / "nothing").exists()


def test_a_row_whose_snapshot_was_taken_finishes_its_update_when_sending_stops(tmp_path, sandbox, bulk):
    ids = new_ids(6)
    box = sandbox(initial=untouched(ids))  # the first check decides: the calls counted below are the rows' own
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in ids]])

    code, out, err = bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--backup", "--max-calls", "5", "--concurrency", "1")

    assert code == 1
    outcomes = [line["_outcome"] for line in read_report(tmp_path / "run" / "report.csv")]
    assert outcomes == ["success"] * 3 + ["not_sent"] * 3  # row 4's snapshot (call 5) is never left without its update
    assert len(read_report(tmp_path / "run" / "undo.csv")) == 3 and len(box.state.applied) == 3
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--max-calls", "none")[0] == 0
    assert len(read_report(tmp_path / "run" / "undo.csv")) == 6 and len(box.state.applied) == 6


def test_snapshot_reads_and_the_field_check_count_against_the_rate(tmp_path, sandbox, bulk):
    ids = new_ids(10)
    box = sandbox(rate=Rate(12, 0.5), initial=untouched(ids))  # the first check decides: one read after, not one per row
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in ids]])

    code, out, err = bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--backup", "--rate", "12/0.5")

    assert code == 0, err
    assert box.state.retrieve_calls == 1 + 10 + 1 and box.state.calls == 10  # the field check, the snapshots, the canary's read after
    assert box.state.throttled == 0  # 22 calls in a burst would have been over 12 per 0.5 s


@pytest.mark.parametrize(
    "sent, now",
    [
        ("Won", " Won "),
        ("2026-03-26 14:15:00", "2026-03-26T14:15:00Z"),
        ("2026-03-26 14:15:00", "2026-03-26T19:45:00+05:30"),
        ("12.5", "12.50"),
        ("7", "7.0"),
        ("", None),
    ],
)
def test_values_leadsquared_normalised_are_the_same(sent, now):
    from bulk_updater.safety.compare import same_value

    assert same_value(sent, now)


@pytest.mark.parametrize("sent, now", [("Won", "won"), ("007", "7x"), ("2026-03-26 14:15:00", "2026-03-26 14:15:01"), ("12.5", "12.6"), ("x", "")])
def test_other_values_differ(sent, now):
    from bulk_updater.safety.compare import same_value

    assert not same_value(sent, now)


def test_the_stop_rule_needs_the_same_error_on_every_one_of_the_first_rows():
    from bulk_updater.outcomes import Outcome, RowOutcome
    from bulk_updater.rows import Row
    from bulk_updater.safety.failing import FailureWatch, StopRule

    def failed(n, error_type="MXInvalidSchemaNameException", status=500):
        return RowOutcome(Row(n, {}), Outcome.FAILED, 1, status, error_type, "bad")

    mixed = FailureWatch(StopRule(streak=50))
    assert not any(mixed.observe(failed(n, "MXOther" if n == 7 else "MXInvalidSchemaNameException")) for n in range(20))
    same = FailureWatch(StopRule())
    tripped = [same.observe(failed(n)) for n in range(20)]
    assert tripped[:19] == [None] * 19 and tripped[19].example_row == 19
    flaky = FailureWatch(StopRule(streak=5))  # 503s after every retry are the retry rules' business
    assert not any(flaky.observe(failed(n, "HTTP503", 503)) for n in range(30))
    never_sent = FailureWatch(StopRule(streak=5))
    assert not any(never_sent.observe(RowOutcome(Row(n, {}), Outcome.NOT_SENT)) for n in range(30))
    off = FailureWatch(StopRule(enabled=False))
    assert not any(off.observe(failed(n)) for n in range(60))


def test_an_undo_stopped_midway_is_finished_by_resume(tmp_path, sandbox, bulk):
    initial = before_run()
    box = sandbox(initial=json.loads(json.dumps(initial)))
    ids = list(initial)
    before = {i: now(box, i) for i in ids}
    assert bulk(box, "run", str(edits(tmp_path, ids)), "--out", str(tmp_path / "run"), "--backup")[0] == 0
    box.state.activities[ids[2]]["Fields"]["mx_Custom_1"] = "a colleague's"

    code, out, err = bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo"), "--max-calls", "3", "--concurrency", "1")
    assert code == 1 and "bulk-updater resume" in err

    code, out, err = bulk(box, "resume", str(tmp_path / "undo"), "--max-calls", "none")

    assert code == 0, err
    assert now(box, ids[0]) == before[ids[0]] and now(box, ids[1]) == before[ids[1]]
    assert now(box, ids[2]) == ("hello", {"mx_Custom_1": "a colleague's"})  # still checked on resume
    record = json.loads((tmp_path / "undo" / "run.json").read_text())
    assert record["command"] == "undo" and record["sessions"] == 2


def test_verify_reads_the_account_the_run_wrote_to(tmp_path, sandbox, bulk, monkeypatch):
    ids = new_ids(2)
    box = sandbox(initial=untouched(ids))  # the first check decides: the canary's two reads
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in ids]])
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--rate", "50/1")[0] == 0
    monkeypatch.setenv("LSQ_HOST", "https://api-in21.leadsquared.com")  # not where the run went
    monkeypatch.setenv("LSQ_ACCESS_KEY", box.config.access_key)
    monkeypatch.setenv("LSQ_SECRET_KEY", box.config.secret_key)

    assert cli.main(["verify", str(tmp_path / "run")]) == 0
    assert box.state.retrieve_calls == 1 + 2 + 2  # the run's field check and canary, then one read per activity


def test_the_counting_pass_agrees_with_the_plan_of_every_row():
    from bulk_updater.rows import Row
    from bulk_updater.updates import UpdateRequest, activity_to_update, plan_row

    a = new_ids(1)[0]
    cases = [
        {"CompanyActivityId": a, "Status": "Won"},
        {"CompanyActivityId": f"  {a.upper()} ", "ActivityNote": "n"},
        {"CompanyActivityId": a, "Status": "#N/A"},
        {"CompanyActivityId": a, "Status": "  ", "ActivityNote": ""},
        {"CompanyActivityId": "not-a-guid", "Status": "Won"},
        {"CompanyActivityId": "", "Status": "Won"},
        {"CompanyActivityId": "{" + a + "}", "Status": "Won"},
        {"CompanyActivityId": a, "Status": "#REF!"},
        {"CompanyActivityId": a, "Status": "#N/A", "Owner": "x"},
    ]
    for cells in cases:
        for token in ("#N/A", "CLEAR"):
            plan = plan_row(Row(2, cells), token)
            assert activity_to_update(Row(2, cells), token) == (plan.activity_id if isinstance(plan, UpdateRequest) else None), (cells, token)


def test_verify_of_a_folder_without_a_run(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("LSQ_HOST", raising=False)
    assert cli.main(["verify", str(tmp_path)]) == 2
    assert "no LeadSquared host is set" in capsys.readouterr().err
