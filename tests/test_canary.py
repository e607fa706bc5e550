"""The canary first update, end to end against the sandbox playing LeadSquared's undocumented behaviours
(sandbox/quirks.py): the first update goes alone, its activity read before and after; the run goes on
only if the update did exactly what the row asked."""

from __future__ import annotations

import json

import pytest
from conftest import new_ids, read_report, write_csv

from bulk_updater.safety.activity import Activity
from bulk_updater.safety.canary import findings
from bulk_updater.sandbox import quirks as q
from bulk_updater.settings import Rate
from bulk_updater.updates import UpdateRequest

OTHER = "keep me"


def activities(count: int, **fields: str) -> dict[str, dict]:
    """`count` activities with a note, a Status and a field no sheet below sets."""
    return {i: {"ActivityNote": "a note", "Fields": {"Status": "Open", "mx_Other": OTHER, **fields}} for i in new_ids(count)}


def sheet(tmp_path, rows: list[list[str]], header=("CompanyActivityId", "Status")):
    return write_csv(tmp_path / "in.csv", [list(header), *rows])


def summary_of(folder) -> dict:
    return json.loads((folder / "summary.json").read_text())


def test_an_update_that_blanks_what_it_was_not_sent_stops_the_run_after_one_update(tmp_path, sandbox, bulk):
    initial = activities(5)
    box = sandbox(initial=initial, quirks=frozenset({q.BLANK_UNSENT}))
    ids = list(initial)

    code, out, err = bulk(box, "run", str(sheet(tmp_path, [[i, "Won"] for i in ids])), "--out", str(tmp_path / "run"))

    assert code == 1
    assert box.state.calls == 1  # one update, then nothing: the other four activities keep their fields
    assert [box.state.activities[i]["Fields"]["mx_Other"] for i in ids[1:]] == [OTHER] * 4
    assert "the update blanked mx_Other, which the row did not set (it held 'keep me')" in err
    assert "LeadSquared replaces the whole activity here" in err and "--no-canary" in err
    summary = summary_of(tmp_path / "run")
    assert summary["stop_reason"] == "canary" and summary["counts"]["not_sent"] == 4 and summary["counts"]["success"] == 1
    assert summary["canary"]["row"] == 2 and summary["canary"]["activity"] == ids[0] and not summary["canary"]["passed"]
    assert any("ActivityNote" in found for found in summary["canary"]["found"])  # the note was blanked too
    assert json.loads((tmp_path / "run" / "run.json").read_text())["state"] == "stopped"
    kept = json.loads((tmp_path / "run" / "canary.json").read_text())["values"]  # what the admin can put back by hand
    assert kept["mx_Other"] == {"before": OTHER, "after": ""} and kept["ActivityNote"] == {"before": "a note", "after": ""}


def test_clears_ignored_stop_the_run_and_the_canary_is_the_first_row_that_clears(tmp_path, sandbox, bulk):
    initial = activities(4)
    box = sandbox(initial=initial, quirks=frozenset({q.IGNORE_CLEARS}))
    a, b, c, d = initial
    rows = [[a, "Won", ""], [b, "Won", ""], [c, "Won", "#N/A"], [d, "Won", "#N/A"]]  # rows 4 and 5 clear mx_Other

    code, out, err = bulk(box, "run", str(sheet(tmp_path, rows, ("CompanyActivityId", "Status", "mx_Other"))), "--out", str(tmp_path / "run"))

    assert code == 1
    assert box.state.applied == [c]  # row 4, sent first and alone: the first row that clears
    assert "the update sent an empty mx_Other to clear it, but it still holds 'keep me'" in err
    summary = summary_of(tmp_path / "run")
    assert summary["stop_reason"] == "canary" and summary["canary"]["row"] == 4
    lines = {line["_row"]: line["_outcome"] for line in read_report(tmp_path / "run" / "report.csv")}
    assert lines == {"2": "not_sent", "3": "not_sent", "4": "success", "5": "not_sent"}


def test_the_row_that_clears_goes_first_only_when_no_earlier_row_names_its_activity(tmp_path, sandbox, bulk):
    initial = activities(2)
    box = sandbox(initial=initial)
    a, b = initial
    # Row 3 clears a's field, but row 2 names a too: sending row 3 first would let row 2 undo its clear.
    rows = [[a, "Won", ""], [a, "", "#N/A"], [b, "Lost", "#N/A"]]

    code, out, err = bulk(box, "run", str(sheet(tmp_path, rows, ("CompanyActivityId", "Status", "mx_Other"))), "--out", str(tmp_path / "run"))

    assert code == 0, err
    assert box.state.applied[0] == b  # row 4: the first clearing row whose activity no earlier row names
    assert box.state.applied[1:] == [a, a]  # then rows 2 and 3, in order
    assert box.state.activities[a]["Fields"] == {"Status": "Won", "mx_Other": ""}


def test_a_run_whose_first_update_does_exactly_what_it_asked_goes_on(tmp_path, sandbox, bulk):
    initial = activities(6)
    box = sandbox(initial=initial)
    rows = [[i, "Won"] for i in initial]

    code, out, err = bulk(box, "run", str(sheet(tmp_path, rows)), "--out", str(tmp_path / "run"))

    assert code == 0, err
    assert box.state.calls == 6 and box.state.retrieve_calls == 1 + 2  # the field check, then the canary's two reads
    assert "2 reads per row sent alone to check the first updates" in err
    assert f"First update checked (row 2, activity {rows[0][0]}; 2 reads)" in out
    assert summary_of(tmp_path / "run")["canary"]["passed"] is True


def test_no_canary_sends_every_row_without_reading(tmp_path, sandbox, bulk):
    initial = activities(3)
    box = sandbox(initial=initial, quirks=frozenset({q.BLANK_UNSENT}))

    code, out, err = bulk(box, "run", str(sheet(tmp_path, [[i, "Won"] for i in initial])), "--out", str(tmp_path / "run"), "--no-canary")

    assert code == 0, err
    assert box.state.calls == 3 and box.state.retrieve_calls == 1  # the field check only
    assert "to check the first update" not in err and summary_of(tmp_path / "run")["canary"] == {}


def test_a_canary_stop_resumes_with_no_canary_once_understood(tmp_path, sandbox, bulk):
    initial = activities(4)
    box = sandbox(initial=initial, quirks=frozenset({q.BLANK_UNSENT}))
    path = sheet(tmp_path, [[i, "Won"] for i in initial])
    assert bulk(box, "run", str(path), "--out", str(tmp_path / "run"))[0] == 1

    code, out, err = bulk(box, "resume", str(tmp_path / "run"), "--no-canary")

    assert code == 0, err
    summary = summary_of(tmp_path / "run")
    assert summary["counts"]["success"] == 4 and summary["stop_reason"] == ""
    assert summary["changed_on_resume"] == {"canary": [True, False]}
    assert box.state.calls == 4


def test_a_first_row_that_fails_passes_the_check_to_the_next_row(tmp_path, sandbox, bulk):
    initial = activities(3)
    unknown = new_ids(1)[0]
    box = sandbox(initial=initial, activities=set(initial), quirks=frozenset({q.BLANK_UNSENT}))

    code, out, err = bulk(box, "run", str(sheet(tmp_path, [[unknown, "Won"], *[[i, "Won"] for i in initial]])), "--out", str(tmp_path / "run"))

    assert code == 1
    lines = {line["_row"]: (line["_outcome"], line["_error_type"]) for line in read_report(tmp_path / "run" / "report.csv")}
    assert lines["2"] == ("failed", "MXInvalidEntityException")  # its read before failed: the row is not sent
    assert lines["3"][0] == "success" and {lines["4"][0], lines["5"][0]} == {"not_sent"}  # row 3 was the canary
    assert box.state.calls == 1 and summary_of(tmp_path / "run")["canary"]["row"] == 3


def test_reads_that_cannot_be_made_stop_before_any_update(tmp_path, sandbox, bulk, monkeypatch):
    from bulk_updater.sandbox.server import Sandbox

    async def not_found(self, request):
        from aiohttp import web

        return web.Response(status=404, text="Not Found")

    monkeypatch.setattr(Sandbox, "retrieve_by_id", not_found)
    initial = activities(3)
    box = sandbox(initial=initial)

    code, out, err = bulk(box, "run", str(sheet(tmp_path, [[i, "Won"] for i in initial])), "--out", str(tmp_path / "run"))

    assert code == 1 and box.state.calls == 0
    assert "before the first update failed (404 HTTP404" in err and "--no-canary" in err
    assert summary_of(tmp_path / "run")["counts"]["not_sent"] == 3


@pytest.mark.parametrize(
    "quirk", [q.READ_UPPER_GUIDS, q.READ_TYPED, q.READ_DECIMALS, q.READ_MS_DATES, q.READ_OMIT_EMPTY, q.READ_NULL_EMPTY, q.FIELDS_NULL]
)
def test_a_read_that_respells_values_is_no_reason_to_stop(quirk, tmp_path, sandbox, bulk):
    owner, date = new_ids(1)[0], "2024-03-01 10:00:00"
    initial = {i: {"ActivityNote": "", "Fields": {"Status": "Open", "mx_Flag": "true", "mx_Amount": "3", "mx_Empty": ""}} for i in new_ids(3)}
    box = sandbox(initial=initial, quirks=frozenset({quirk}))
    rows = [[i, "Won", owner, date, "12.5", "#N/A"] for i in initial]

    code, out, err = bulk(
        box, "run", str(sheet(tmp_path, rows, ("CompanyActivityId", "Status", "Owner", "mx_Date", "mx_Amount", "mx_Flag"))), "--out", str(tmp_path / "run")
    )

    assert code == 0, err
    assert summary_of(tmp_path / "run")["canary"]["passed"] is True and box.state.calls == 3


def test_max_calls_1_sends_one_checked_update_then_verify_then_the_rest(tmp_path, sandbox, bulk):
    """The README's "Before the first real run" (tests/test_readme_recipes.py runs it as written): one activity, checked and backed up; verify; the rest."""
    initial = activities(4)
    box = sandbox(initial=initial)
    path = sheet(tmp_path, [[i, "Won"] for i in initial])

    code, out, err = bulk(box, "run", str(path), "--out", str(tmp_path / "try"), "--max-calls", "1", "--backup")
    assert code == 1 and box.state.calls == 1 and box.state.applied == [list(initial)[0]]
    assert summary_of(tmp_path / "try")["canary"]["passed"] is True
    assert bulk(box, "verify", str(tmp_path / "try"))[0] == 0

    code, out, err = bulk(box, "resume", str(tmp_path / "try"), "--max-calls", "none")
    assert code == 0, err
    assert box.state.calls == 4 and summary_of(tmp_path / "try")["counts"]["success"] == 4


def test_a_stop_during_the_canarys_read_ends_the_wait_at_once(tmp_path, sandbox):
    """A first Ctrl-C (here a StopToken) while the read before hangs: nothing is sent, the run ends now, not when the read times out."""
    import threading
    import time

    from bulk_updater import Credentials, JobOptions, SendSettings, job
    from bulk_updater.stopping import StopToken

    initial = activities(3)
    # The canary's read before hangs for 30 s (a library run with no `confirm` makes no field check).
    box = sandbox(initial=initial, read_faults=True, script=("hang",), hang_seconds=30)
    send = SendSettings(box.url, Credentials(box.config.access_key, box.config.secret_key), rate=Rate(1000, 1), timeout=60)
    token = StopToken()
    threading.Timer(0.5, token.stop).start()

    started = time.monotonic()
    summary = job.run(sheet(tmp_path, [[i, "Won"] for i in initial]), tmp_path / "run", send, JobOptions(progress=False, stop_token=token, stop_wait=1))

    assert time.monotonic() - started < 5
    assert summary.stop_reason == "stopped" and summary.counts["not_sent"] == 3 and box.state.calls == 0


def test_a_lone_surrogate_read_back_is_kept_in_canary_json_not_a_crash(tmp_path, sandbox, bulk):
    initial = activities(2, mx_Odd="\ud800x")  # a value no UTF-8 file can hold as it is
    box = sandbox(initial=initial)

    code, out, err = bulk(box, "run", str(sheet(tmp_path, [[i, "Won"] for i in initial])), "--out", str(tmp_path / "run"))

    assert code == 0, err
    assert json.loads((tmp_path / "run" / "canary.json").read_text())["values"]["mx_Odd"]["before"] == "\ud800x"


def test_canary_json_keeps_json_booleans_and_nulls_as_an_update_would_send_them_back(tmp_path, sandbox, bulk):
    """canary.json is what an admin types back by hand: a JSON true/false read is kept as true/false, a null as empty.
    Kills: spelled() writing a boolean in another case, the other truth value, or a null as anything but ""."""
    ids = new_ids(2)
    initial = {i: {"ActivityNote": "a note", "Fields": {"Status": "Open", "mx_On": True, "mx_Off": False, "mx_Null": None}} for i in ids}
    box = sandbox(initial=initial, quirks=frozenset({q.BLANK_UNSENT, q.READ_NULL_EMPTY}))  # blanked fields read back as null

    code, out, err = bulk(box, "run", str(sheet(tmp_path, [[i, "Won"] for i in ids])), "--out", str(tmp_path / "run"))

    assert code == 1 and box.state.calls == 1
    kept = json.loads((tmp_path / "run" / "canary.json").read_text())["values"]
    assert kept["mx_On"] == {"before": "true", "after": ""} and kept["mx_Off"] == {"before": "false", "after": ""}
    assert kept["mx_Null"] == {"before": "", "after": ""} and kept["Status"] == {"before": "Open", "after": "Won"}
    assert "the update blanked mx_On, which the row did not set (it held 'true')" in err


def test_a_field_the_read_after_leaves_out_is_checked_too(tmp_path, sandbox, bulk):
    """An update that blanks what it is not sent, on a server whose reads leave empty fields out: mx_Other is in the read
    before only, and its blanking must still stop the run. Kills: the fields checked being those of both reads (`&`)."""
    initial = {i: {"ActivityNote": "", "Fields": {"Status": "Open", "mx_Other": OTHER}} for i in new_ids(4)}
    box = sandbox(initial=initial, quirks=frozenset({q.BLANK_UNSENT, q.READ_OMIT_EMPTY}))
    rows = [[i, "Won", "called"] for i in initial]  # every row sets the note: the fields alone can show blanking

    code, out, err = bulk(box, "run", str(sheet(tmp_path, rows, ("CompanyActivityId", "Status", "ActivityNote"))), "--out", str(tmp_path / "run"))

    assert code == 1 and box.state.calls == 1
    assert "the update blanked mx_Other, which the row did not set (it held 'keep me')" in err
    assert [box.state.activities[i]["Fields"]["mx_Other"] for i in list(initial)[1:]] == [OTHER] * 3


def test_a_first_update_that_fails_after_its_read_is_not_checked_and_the_next_row_is(tmp_path, sandbox, bulk):
    """Row 2's read before succeeds, its update fails (a field the activity type lacks): nothing was written, so there is
    nothing to check, and row 3 goes alone. Kills: the check made when the update failed (`and` -> `or`), which would
    read "mx_Bad was sent as 'x' but reads back as None" and stop a run that did nothing wrong."""
    initial = activities(3)
    a, b, c = initial
    box = sandbox(initial=initial, fields=frozenset({"Status", "mx_Other"}))
    rows = [[a, "Won", "x"], [b, "Won", ""], [c, "Won", ""]]

    code, out, err = bulk(box, "run", str(sheet(tmp_path, rows, ("CompanyActivityId", "Status", "mx_Bad"))), "--out", str(tmp_path / "run"))

    assert code == 1, err  # row 2 failed
    lines = {line["_row"]: (line["_outcome"], line["_error_type"]) for line in read_report(tmp_path / "run" / "report.csv")}
    assert lines == {"2": ("failed", "MXInvalidSchemaNameException"), "3": ("success", ""), "4": ("success", "")}
    canary = summary_of(tmp_path / "run")["canary"]
    assert canary["passed"] and canary["row"] == 3 and canary["checks"] == 1


def test_findings_name_a_value_that_did_not_take_and_a_field_that_appeared():
    """What no sandbox quirk plays (an update that keeps the old value of a field it was sent, or sets a field it was not
    sent), checked on the reads themselves. Kills: "not set" never found (`value != ""` -> `value == ""`), and the fields
    checked being those of the read before alone."""
    before = Activity("n", {"Status": "Open"})
    after = Activity("n", {"Status": "Open", "mx_New": "x"})
    found = findings(UpdateRequest(new_ids(1)[0], None, (("Status", "Won"),)), before, after)
    assert [(f.field, f.problem, f.sent) for f in found] == [("Status", "not set", "Won"), ("mx_New", "changed", None)]
    assert findings(UpdateRequest(new_ids(1)[0], "n", (("Status", "Open"),)), before, Activity("n", {"Status": "Open"})) == []


# A check decides only once it could have shown what it looks for (safety/canary.py): a value its row did not
# set, and, when some row clears, a clear of a field that held one. Until then the next row goes alone too.


def test_a_first_update_that_could_not_show_blanking_passes_the_check_to_the_next_row(tmp_path, sandbox, bulk):
    """Activity a held nothing but the Status the row set: an update that blanks what it is not sent
    changed nothing to see there, the check passed, and every other activity lost its note and fields
    (exit 0). Mutant killed: `_held_unset` always True (the first check decides)."""
    a, b, c = new_ids(3)
    initial = {a: {"ActivityNote": "", "Fields": {"Status": "Open"}}}
    initial |= {i: {"ActivityNote": "a note", "Fields": {"Status": "Open", "mx_Other": OTHER}} for i in (b, c)}
    box = sandbox(initial=initial, quirks=frozenset({q.BLANK_UNSENT}))

    code, out, err = bulk(box, "run", str(sheet(tmp_path, [[a, "Won"], [b, "Won"], [c, "Won"]])), "--out", str(tmp_path / "run"))

    assert code == 1
    assert box.state.applied == [a, b]  # b, the first activity that could show it, shows it
    assert box.state.activities[c] == {"ActivityNote": "a note", "Fields": {"Status": "Open", "mx_Other": OTHER}}
    assert "the update blanked mx_Other" in err
    canary = summary_of(tmp_path / "run")["canary"]
    assert summary_of(tmp_path / "run")["stop_reason"] == "canary" and canary["row"] == 3 and canary["checks"] == 2
    assert box.state.retrieve_calls == 1 + 2 + 2  # the field check, then two reads per row sent alone
    assert f"First 2 updates checked alone (the last: row 3, activity {b}; 4 reads)" in out


def test_a_clear_of_a_field_already_empty_passes_the_check_to_the_next_row_that_clears(tmp_path, sandbox, bulk):
    """Row 2 cleared a's mx_F, already empty: clears ignored showed nothing, the check passed, and b's
    mx_F kept 'secret' with `success` (exit 0). Mutant killed: `needs_clear` ignored (the Canary built without it)."""
    a, b, c = new_ids(3)
    # a holds a note and a field its row leaves: only the clear could not be shown there.
    initial = {a: {"ActivityNote": "n", "Fields": {"Status": "Open", "mx_F": "", "mx_Other": OTHER}}}
    initial |= {i: {"ActivityNote": "n", "Fields": {"Status": "Open", "mx_F": "secret"}} for i in (b, c)}
    box = sandbox(initial=initial, quirks=frozenset({q.IGNORE_CLEARS}))
    rows = [[a, "Won", "#N/A"], [b, "Won", "#N/A"], [c, "Won", "#N/A"]]

    code, out, err = bulk(box, "run", str(sheet(tmp_path, rows, ("CompanyActivityId", "Status", "mx_F"))), "--out", str(tmp_path / "run"))

    assert code == 1
    assert box.state.applied == [a, b]
    assert "the update sent an empty mx_F to clear it, but it still holds 'secret'" in err
    assert summary_of(tmp_path / "run")["stop_reason"] == "canary"
    assert box.state.activities[c]["Fields"]["mx_F"] == "secret"  # never sent


def test_when_no_checked_update_could_show_anything_the_run_goes_on_and_says_so(tmp_path, sandbox, bulk):
    """Every activity holds only the field its row sets: after MAX_TRIES checked updates the rows go on,
    and the summary names what no check could see (not a silent pass, not a stop that blocks a sparse run).
    Mutant killed: `_go_on_unseen` leaving `unseen` empty."""
    from bulk_updater.safety.canary import MAX_TRIES

    ids = new_ids(MAX_TRIES + 3)
    box = sandbox(initial={i: {"ActivityNote": "", "Fields": {"Status": "Open"}} for i in ids})

    code, out, err = bulk(box, "run", str(sheet(tmp_path, [[i, "Won"] for i in ids])), "--out", str(tmp_path / "run"))

    assert code == 0, err
    assert all(box.state.activities[i]["Fields"]["Status"] == "Won" for i in ids)
    assert box.state.retrieve_calls == 1 + 2 * MAX_TRIES  # the field check, then MAX_TRIES rows checked alone
    canary = summary_of(tmp_path / "run")["canary"]
    assert canary["passed"] is True and canary["checks"] == MAX_TRIES
    assert canary["unseen"].startswith(f"none of the {MAX_TRIES} updates checked alone could show whether LeadSquared blanks the fields")
    assert "empties the note when an update does not set it" in canary["unseen"]
    assert "ignores clears" not in canary["unseen"]  # no row clears
    assert f"First {MAX_TRIES} updates checked alone" in out and "could show whether LeadSquared blanks" in out


def test_a_run_whose_every_update_went_alone_and_was_checked_passes_with_nothing_unseen(tmp_path, sandbox, bulk):
    """Empty activities, fewer rows than MAX_TRIES: each row goes alone and is checked, and every update did just
    what it asked, so nothing was left unchecked. Mutant killed: the end of `send_alone` leaving the check undecided."""
    ids = new_ids(3)
    box = sandbox()  # the sandbox's activities: empty note, no field

    code, out, err = bulk(box, "run", str(sheet(tmp_path, [[i, "Won"] for i in ids])), "--out", str(tmp_path / "run"))

    assert code == 0, err
    assert box.state.retrieve_calls == 1 + 2 * 3
    canary = summary_of(tmp_path / "run")["canary"]
    assert canary["passed"] is True and canary["checks"] == 3 and "unseen" not in canary
    assert f"First 3 updates checked alone (the last: row 4, activity {ids[2]}; 6 reads): the fields they did not set are unchanged" in out


def test_a_check_cut_short_by_max_calls_says_it_was_not_decided_and_the_resume_checks_the_next_row(tmp_path, sandbox, bulk):
    """The README's one-row try on an activity holding nothing the row does not set: the check is not decided,
    the summary says so (not "not checked yet", nor passed), and the resume sends its next row alone and checked.
    Mutant killed: `_canary_line` without its not-decided sentence."""
    empty, full = new_ids(2)
    box = sandbox(initial={full: {"ActivityNote": "a note", "Fields": {"mx_Other": OTHER}}})
    path = sheet(tmp_path, [[empty, "Won"], [full, "Won"]])

    code, out, err = bulk(box, "run", str(path), "--out", str(tmp_path / "try"), "--max-calls", "1")
    assert code == 1 and box.state.applied == [empty]
    assert summary_of(tmp_path / "try")["canary"]["passed"] is False
    assert f"First update checked (row 2, activity {empty}; 2 reads): not decided, as no checked activity could show all it looks for" in out

    code, out, err = bulk(box, "resume", str(tmp_path / "try"), "--max-calls", "none")
    assert code == 0, err
    assert box.state.retrieve_calls == 1 + 2 + 1 + 2  # each session's field check, then the canary's reads
    assert f"First update checked (row 3, activity {full}; 2 reads): the fields it did not set are unchanged" in out


def blanking_only(monkeypatch, what: str) -> None:
    """Make the sandbox's updates empty either the fields they are not sent (`fields`: the note is kept), or
    the note when it is not sent (`note`: the fields are kept): each is as plausible as blanking both."""
    from bulk_updater.sandbox import quirks

    original = quirks.apply_update

    def apply_update(activity, body, quirk_set):
        sent = {item["SchemaName"] for item in body.get("Fields", [])}
        if what == "fields":
            activity["Fields"] = {name: value if name in sent else "" for name, value in activity["Fields"].items()}
        elif "ActivityNote" not in body:
            activity["ActivityNote"] = ""
        original(activity, body, quirk_set)

    monkeypatch.setattr(quirks, "apply_update", apply_update)


def test_a_note_kept_tells_nothing_of_the_fields_the_next_row_goes_alone(tmp_path, sandbox, bulk, monkeypatch):
    """a held a note but no field its row left: an update that blanks only the fields showed nothing there.
    Mutant killed: `_held_unset` looking at the note with the fields (a held note deciding for both)."""
    blanking_only(monkeypatch, "fields")
    a, b, c = new_ids(3)
    initial = {a: {"ActivityNote": "a note", "Fields": {"Status": "Open"}}} | activities_of((b, c))
    box = sandbox(initial=initial)

    code, out, err = bulk(box, "run", str(sheet(tmp_path, [[a, "Won"], [b, "Won"], [c, "Won"]])), "--out", str(tmp_path / "run"))

    assert code == 1 and box.state.applied == [a, b]
    assert "the update blanked mx_Other" in err and box.state.activities[c]["Fields"]["mx_Other"] == OTHER


def test_fields_kept_tell_nothing_of_the_note_when_a_row_leaves_it(tmp_path, sandbox, bulk, monkeypatch):
    """a held mx_Other but no note: an update that empties the note it is not sent showed nothing there.
    Mutant killed: `Counted.leaves_note` never set (the Canary told no row leaves the note)."""
    blanking_only(monkeypatch, "note")
    a, b, c = new_ids(3)
    initial = {a: {"ActivityNote": "", "Fields": {"Status": "Open", "mx_Other": OTHER}}} | activities_of((b, c))
    box = sandbox(initial=initial)

    code, out, err = bulk(box, "run", str(sheet(tmp_path, [[a, "Won"], [b, "Won"], [c, "Won"]])), "--out", str(tmp_path / "run"))

    assert code == 1 and box.state.applied == [a, b]
    assert "the update blanked ActivityNote" in err and box.state.activities[c]["ActivityNote"] == "a note"


def test_when_every_row_sets_the_note_a_field_kept_decides(tmp_path, sandbox, bulk):
    """No row leaves the note, so no note need be seen kept: the first check decides on mx_Other alone.
    Mutant killed: `_leaves_note` always True (every row of such a sheet sent alone)."""
    ids = new_ids(4)
    box = sandbox(initial={i: {"ActivityNote": "", "Fields": {"Status": "Open", "mx_Other": OTHER}} for i in ids})
    rows = [[i, "Won", "called"] for i in ids]

    code, out, err = bulk(box, "run", str(sheet(tmp_path, rows, ("CompanyActivityId", "Status", "ActivityNote"))), "--out", str(tmp_path / "run"))

    assert code == 0, err
    assert box.state.retrieve_calls == 1 + 2 and summary_of(tmp_path / "run")["canary"]["checks"] == 1


def activities_of(ids) -> dict[str, dict]:
    return {i: {"ActivityNote": "a note", "Fields": {"Status": "Open", "mx_Other": OTHER}} for i in ids}
