"""verify and undo's "changed since the run" check use the one comparison (docs/design.md), end to
end through the CLI against the sandbox: a run writes a value, the sandbox's stored value is then
changed as a spreadsheet, a float or LeadSquared's own spelling would, and verify (or undo) is run."""

from __future__ import annotations

import pytest
from conftest import new_ids, read_report, untouched, write_csv

from bulk_updater.wording import counted

GUID = "255539a4-0380-4b8c-84db-7746b46c3fe2"
ABSENT = object()  # the field is left out of the read answer


def _run(tmp_path, bulk, box, header: list[str], rows: list[list[str]], *options: str):
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", *header], *rows])
    code, out, err = bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), *options)
    assert code == 0, err


def _store(box, activity_id: str, name: str, value: object) -> None:
    """What LeadSquared holds now, as a read will answer it: text, a typed JSON value, null, or absent."""
    fields = box.state.activities[activity_id]["Fields"]
    if value is ABSENT:
        fields.pop(name, None)
    else:
        fields[name] = value


@pytest.mark.parametrize(
    ("sent", "stored", "verdict", "by"),
    [
        # what a spreadsheet or a float does to a value is a loss: a mismatch, as text or as a JSON number
        ("00501", ["501", 501], "mismatch", ["", ""]),  # leading zeros
        ("007", ["7", 7], "mismatch", ["", ""]),
        ("+91987", ["91987", 91987], "mismatch", ["", ""]),  # a sign
        ("1e3", ["1000", 1000], "mismatch", ["", ""]),  # an exponent
        # LeadSquared's own spelling of the value sent is a match, and verify.csv names the equivalence
        ("true", ["True", True, "TRUE"], "match", ["boolean spelling", "", "boolean spelling"]),  # JSON true is what an update sends
        ("3", [3, "3.00"], "match", ["", "trailing zeros"]),
        (GUID, [GUID.upper()], "match", ["GUID case"]),
        ("2024-03-01 10:00:00", ["2024-03-01T10:00:00.000Z"], "match", ["same instant"]),
        ("#N/A", [ABSENT, None], "match", ["empty", "empty"]),  # the clear token sends "": absent, null and "" are one empty value
    ],
    ids=["leading zeros", "007", "sign", "exponent", "boolean", "trailing zeros", "GUID case", "instant", "empty"],
)
def test_verify_compares_as_section_7_says_and_names_the_equivalence(tmp_path, sandbox, bulk, sent, stored, verdict, by):
    ids = sorted(new_ids(len(stored)))
    box = sandbox()
    _run(tmp_path, bulk, box, ["mx_F"], [[i, sent] for i in ids])
    for activity, value in zip(ids, stored):
        _store(box, activity, "mx_F", value)

    code, out, err = bulk(box, "verify", str(tmp_path / "run"))

    lines = sorted(read_report(tmp_path / "run" / "verify.csv"), key=lambda line: line["CompanyActivityId"])
    assert [(line["_verified"], line["_equal_by"]) for line in lines] == [(verdict, f"mx_F: {b}" if b else "") for b in by]
    assert code == (0 if verdict == "match" else 1), out + err
    for name in set(by) - {""}:
        assert f"  mx_F: {name} on {counted(by.count(name), 'activity', 'activities')}" in out


def test_a_mismatch_shows_the_values_as_leadsquared_spelled_them(tmp_path, sandbox, bulk):
    a, b, c = sorted(new_ids(3))
    box = sandbox()
    _run(tmp_path, bulk, box, ["mx_Zip", "mx_Flag", "mx_When"], [[i, "00501", "true", "2024-03-01 10:00:00"] for i in (a, b, c)])
    _store(box, a, "mx_Zip", 501)  # a JSON number
    _store(box, a, "mx_Flag", None)  # null
    _store(box, b, "mx_Zip", "501")
    _store(box, b, "mx_Flag", ABSENT)
    _store(box, b, "mx_When", "2024-03-01T10:00:00Z")
    _store(box, c, "mx_Flag", False)

    code, out, err = bulk(box, "verify", str(tmp_path / "run"))

    assert code == 1, err
    lines = {line["CompanyActivityId"]: line for line in read_report(tmp_path / "run" / "verify.csv")}
    assert [lines[a][k] for k in ("_fields", "_sent", "_now", "_equal_by")] == ["mx_Flag; mx_Zip", "'true'; '00501'", "; 501", ""]
    assert [lines[b][k] for k in ("_fields", "_sent", "_now", "_equal_by")] == ["mx_Flag; mx_Zip", "'true'; '00501'", "; '501'", "mx_When: same instant"]
    assert [lines[c][k] for k in ("_fields", "_sent", "_now")] == ["mx_Flag", "'true'", "false"]


def test_verify_lists_the_first_mismatching_activities_of_each_field_and_those_it_could_not_read(tmp_path, sandbox, bulk):
    ids = sorted(new_ids(6))
    gone = ids[5]
    # Reads finish out of id order (untouched: the run's first check decides, its rows are not each sent alone).
    box = sandbox(activities=set(ids), initial=untouched(ids), latency=(0.0, 0.05), seed=3)
    _run(tmp_path, bulk, box, ["mx_Zip", "Status"], [[i, "00501", "Won"] for i in ids])
    for i in ids[:5]:
        _store(box, i, "mx_Zip", "501")
    _store(box, ids[2], "Status", "Lost")
    box.config.activities.discard(gone)  # deleted since the run: its read fails

    code, out, err = bulk(box, "verify", str(tmp_path / "run"), "--concurrency", "3")

    assert code == 1, err
    assert "6 activities read back: 0 match, 5 mismatch, 1 error" in out
    expected = [
        "  mx_Zip: differs on 5 activities:",
        *(f"    {i}: sent '00501', now '501'" for i in ids[:3]),  # the first in id order, whatever order the reads finished in
        "    and 2 more in verify.csv",
        "  Status: differs on 1 activity:",
        f"    {ids[2]}: sent 'Won', now 'Lost'",
        "  not read: 1 activity:",
        f"    {gone}: MXInvalidEntityException: Activity does not exist",
    ]
    printed = out.splitlines()
    start = printed.index(expected[0])
    assert printed[start : start + len(expected)] == expected


def test_undo_skips_an_activity_whose_leading_zeros_were_lost_and_restores_one_read_back_as_True(tmp_path, sandbox, bulk):
    zeros, flag = new_ids(2)
    box = sandbox(initial={zeros: {"ActivityNote": "", "Fields": {"mx_Zip": "10001"}}, flag: {"ActivityNote": "", "Fields": {"mx_Flag": "false"}}})
    _run(tmp_path, bulk, box, ["mx_Zip", "mx_Flag"], [[zeros, "00501", ""], [flag, "", "true"]], "--backup")
    _store(box, zeros, "mx_Zip", "501")  # since the run: an edit (a spreadsheet's round trip), not the run's value
    _store(box, flag, "mx_Flag", "True")  # LeadSquared's spelling of what the run wrote

    code, out, err = bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo"))

    assert code == 0, err
    lines = {line["CompanyActivityId"]: line for line in read_report(tmp_path / "undo" / "report.csv")}
    assert (lines[zeros]["_outcome"], lines[zeros]["_error_message"]) == ("skipped", "changed since the run (mx_Zip): mx_Zip is now '501'")
    assert lines[flag]["_outcome"] == "success"
    assert box.state.activities[zeros]["Fields"]["mx_Zip"] == "501"  # not touched
    assert box.state.activities[flag]["Fields"]["mx_Flag"] == "false"  # restored


def test_verify_never_compares_another_activitys_read(tmp_path, sandbox, bulk):
    """A read answered for another activity is an error, not a match (B holds what the run sent to A)."""
    import csv as csv_module

    a, b = new_ids(2)
    box = sandbox(initial={a: {"Fields": {"Status": "Open"}}, b: {"Fields": {"Status": "Won"}}})
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], [a, "Won"]])
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"))[0] == 0
    box.state.activities[a.lower()]["Fields"]["Status"] = "Open"
    box.config.answer_for = {a: b}  # A's read answers with B, which holds what the run sent to A

    assert bulk(box, "verify", str(tmp_path / "run"))[0] == 1
    [line] = list(csv_module.DictReader((tmp_path / "run" / "verify.csv").open(encoding="utf-8-sig")))
    assert line["_verified"] == "error" and line["_error"].startswith(f"ReadAnotherActivity: the read answered for activity {b}, not {a}")
