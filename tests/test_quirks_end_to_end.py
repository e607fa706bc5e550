"""`run --backup` -> `verify` -> `undo` under each of LeadSquared's possible behaviours the sandbox
plays (sandbox/quirks.py): no false mismatch, no activity skipped for a spelling, no silent wrong
write. Where an update does more or less than it was sent, the run stops after one update."""

from __future__ import annotations

import csv
import json

import pytest
from conftest import new_ids, read_report, write_csv

from bulk_updater.safety.compare import same_value
from bulk_updater.sandbox import quirks as q

OWNER, NEW_OWNER = new_ids(2)
HEADER = ["CompanyActivityId", "ActivityNote", "Status", "Owner", "mx_Amount", "mx_Date", "mx_Flag", "mx_Code"]


def started() -> dict[str, dict]:
    fields = {"Status": "Open", "Owner": OWNER, "mx_Amount": "3", "mx_Date": "2024-03-01 10:00:00", "mx_Flag": "true", "mx_Code": "", "mx_Other": "keep"}
    return {i: {"ActivityNote": "old note", "Fields": dict(fields)} for i in new_ids(3)}


def rows(ids: list[str]) -> list[list[str]]:
    # Every kind of value: text, a GUID, a decimal, a date-time, a clear (#N/A), a code with leading zeros.
    return [[i, "new note", "Won", NEW_OWNER, "12.50", "2024-03-02 11:30:00", "#N/A", "00501"] for i in ids]


def values(box, activity_id: str) -> dict[str, object]:
    activity = box.state.activities[activity_id]
    return {"ActivityNote": activity["ActivityNote"], **activity["Fields"]}


READ_QUIRKS = [q.READ_UPPER_GUIDS, q.READ_TYPED, q.READ_BOOL_DIGITS, q.READ_DECIMALS, q.READ_MS_DATES, q.READ_OMIT_EMPTY, q.READ_NULL_EMPTY, q.FIELDS_NULL, q.THROTTLE_403]


@pytest.mark.parametrize("quirk", READ_QUIRKS)
def test_backup_verify_undo_under_a_quirk_that_only_respells(quirk, tmp_path, sandbox, bulk):
    initial = started()
    box = sandbox(initial=json.loads(json.dumps(initial)), quirks=frozenset({quirk}))
    ids = list(initial)
    sheet = write_csv(tmp_path / "in.csv", [HEADER, *rows(ids)])

    code, out, err = bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--backup")
    assert code == 0, err

    code, out, err = bulk(box, "verify", str(tmp_path / "run"))
    assert code == 0, out + err  # no false mismatch
    verdicts = [line["_verified"] for line in csv.DictReader((tmp_path / "run" / "verify.csv").open(encoding="utf-8-sig"))]
    assert verdicts == ["match"] * 3

    code, out, err = bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo"))
    assert code == 0, out + err
    assert [line["_outcome"] for line in read_report(tmp_path / "undo" / "report.csv")] == ["success"] * 3  # none skipped for a spelling
    for activity_id, before in initial.items():
        now = values(box, activity_id)
        expected = {"ActivityNote": before["ActivityNote"], **before["Fields"]}
        differ = {name: (value, now.get(name)) for name, value in expected.items() if not same_value(value, now.get(name))}
        assert not differ, f"{quirk}: {activity_id} did not end as it started: {differ}"


@pytest.mark.parametrize("quirk", [q.BLANK_UNSENT, q.IGNORE_CLEARS])
def test_backup_verify_undo_under_a_quirk_that_writes_otherwise_stops_after_one_update(quirk, tmp_path, sandbox, bulk):
    initial = started()
    box = sandbox(initial=json.loads(json.dumps(initial)), quirks=frozenset({quirk}))
    ids = list(initial)
    # The sheet does not set mx_Other: under blank-unsent the update wipes it; it clears mx_Flag: ignored.
    sheet = write_csv(tmp_path / "in.csv", [HEADER, *rows(ids)])

    code, out, err = bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--backup")

    assert code == 1 and box.state.calls == 1  # one update, then the stop
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["stop_reason"] == "canary"
    assert ("blanked mx_Other" if quirk == q.BLANK_UNSENT else "sent an empty mx_Flag to clear it") in err
    first = summary["canary"]["activity"]
    untouched = [i for i in ids if i != first]
    assert all(values(box, i) == {"ActivityNote": "old note", **initial[i]["Fields"]} for i in untouched)

    code, out, err = bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo"))

    # The undo restores what the backup kept of the one activity updated; the values blanked beyond
    # what the row set are named in the run's stop and kept in its canary.json, to put back by hand.
    now = values(box, first)
    assert now["Status"] == "Open" and now["Owner"] == OWNER
    if quirk == q.IGNORE_CLEARS:
        # mx_Code was empty before the run: the undo's "" to clear it is ignored too, and its own canary says so.
        assert code == 1 and now["mx_Code"] == "00501" and "sent an empty mx_Code to clear it" in err
    else:
        assert code == 0, out + err
        assert now["mx_Code"] == ""
    kept = json.loads((tmp_path / "run" / "canary.json").read_text())["values"]
    assert kept["mx_Other"]["before"] == "keep"
    assert all(values(box, i) == {"ActivityNote": "old note", **initial[i]["Fields"]} for i in untouched)
