"""One rule for an activity id (`updates.activity_key`), held against the three it replaced.

Before it, the payload, the read check (safety/activity.py) and retry's history and report match
(history/lineage.py, history/matching.py) each trimmed an id their own way. The old three are copied
here, as they were, so the tests can show where the one rule agrees with each, and that where it
differs it only tells apart ids an old rule took for one: it never lets two ids match that one
of the old rules, as its caller used it, told apart.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bulk_updater.rows import Row
from bulk_updater.updates import GUID, Invalid, UpdateRequest, activity_key, activity_to_update, plan_row

ID = "255539a4-0380-4b8c-84db-7746b46c3fe2"
OTHER = "6513270e-0380-4b8c-84db-7746b46c3fe2"
BRACED_GUID = re.compile(r"\{(" + GUID.pattern + r")\}")


# The three rules as they were.
def old_payload(cell: str) -> str:
    activity_id = cell.strip()
    braced = BRACED_GUID.fullmatch(activity_id) if activity_id[:1] == "{" else None
    return braced[1] if braced else activity_id


def old_read_check(activity_id: str) -> str:
    return activity_id.strip().removeprefix("{").removesuffix("}").strip().lower()


def old_history(activity_id: str) -> str:
    return activity_id.strip().strip("{}").lower()


def old_refusal(cell: str) -> str:
    bare = old_payload(cell)
    quoted = repr(bare if len(bare) <= 60 else bare[:57] + "...")
    return f"CompanyActivityId {quoted} is not a GUID (like 255539a4-0380-4b8c-84db-7746b46c3fe2)" if bare else "CompanyActivityId is blank"


def old_sent_to(cell: str) -> str | None:
    """The id an update went to under the old payload rule, or None (the row was invalid)."""
    bare = old_payload(cell)
    return bare.lower() if GUID.fullmatch(bare) else None


def old_run_side(run_id: str) -> str | None:
    """The old report match: the run's id as a key, None (anything goes) where it read no usable id."""
    key = old_history(run_id)
    return key if GUID.fullmatch(key) else None


def new_run_side(run_id: str) -> str | None:
    key = activity_key(run_id)
    return key if GUID.fullmatch(key) else None


# Ids as spreadsheets, SQL Server exports and typing give them: cases, braces, spaces inside and out.
PIECES = [ID, ID.upper(), OTHER, "{", "}", " ", "\t", "{{", "}}", "x", "X", "-", ""]
ids = st.lists(st.sampled_from(PIECES), max_size=5).map("".join) | st.text(max_size=8)


@settings(max_examples=400, deadline=None)
@given(ids)
@example(f" {{{ID.upper()}}} ")
@example(f"{{ {ID} }}")
def test_an_update_goes_where_it_went_before_and_a_refusal_names_the_same_text(cell):
    key = activity_key(cell)
    assert (key if GUID.fullmatch(key) else None) == old_sent_to(cell)
    if not GUID.fullmatch(key):
        assert key == old_payload(cell)  # the text the refusal quotes
    # The payload itself, which takes the key and the GUID test in one pass:
    row = Row(2, {"CompanyActivityId": cell, "Status": "Won"})
    plan = plan_row(row)
    assert activity_to_update(row) == old_sent_to(cell)
    if old_sent_to(cell) is None:
        assert plan == Invalid(old_refusal(cell))
    else:
        assert isinstance(plan, UpdateRequest) and plan.activity_id == old_sent_to(cell) == key


@settings(max_examples=400, deadline=None)
@given(ids, ids)
@example(f"{{ {ID} }}", ID)
@example("ABC", "abc")
def test_no_two_ids_share_a_key_that_the_read_check_or_the_history_told_apart(a, b):
    if activity_key(a) == activity_key(b):
        assert old_read_check(a) == old_read_check(b)
        assert old_history(a) == old_history(b)


@settings(max_examples=400, deadline=None)
@given(ids, ids)
@example("ABC", "abc")
def test_a_text_that_is_no_guid_shares_its_key_only_with_itself(a, b):
    if not GUID.fullmatch(activity_key(a)) and activity_key(a) == activity_key(b):
        assert a.strip() == b.strip()


@settings(max_examples=400, deadline=None)
@given(ids, ids)
@example(ID, f"{{{{{ID}}}}}")
@example(ID, f"{ID}}}")
def test_a_report_matches_its_run_only_where_it_did_before_or_the_run_could_send_nothing(report_id, run_id):
    # The one widening: a run's id that no update could be sent to ("{{GUID}}", "GUID}") now
    # matches any report id, as a mistyped id always did. No call went to it, so no history
    # hangs on it: the admin's new id is a fix of an invalid row, like any other.
    new_match = new_run_side(run_id) in (None, activity_key(report_id))
    old_match = old_run_side(run_id) in (None, old_history(report_id))
    if new_match and not old_match:
        assert old_sent_to(run_id) is None


# Where the one rule and an old one differ, and why each difference is safe.
# (id a, id b, read check said equal, history said equal, now equal, why the change is safe)
DIFFERENCES = [
    (f"{{ {ID} }}", ID, True, False, False, "the payload never sent to it; a read answering it is refused, never taken for ID"),
    (f"{{{{{ID}}}}}", ID, False, True, False, "the payload never sent to it; a report naming it no longer passes for the run's row: refused before sending"),
    (f"{ID}}}", ID, True, True, False, "as above: not an id an update goes to, so no read or report may stand for ID through it"),
    (f"{{{ID}", ID, True, True, False, "as above"),
    ("ABC", "abc", True, True, False, "no GUID: compared as written, so two texts never merge"),
    (f"{{{ID.upper()}}}", ID, True, True, True, "a braced GUID in any case is the GUID (SQL Server, .NET): unchanged"),
    (f" {ID.upper()} ", ID, True, True, True, "spaces around and case: unchanged"),
    (ID, OTHER, False, False, False, "two GUIDs: unchanged"),
]


@pytest.mark.parametrize(("a", "b", "read_check", "history", "now", "why"), DIFFERENCES)
def test_where_the_one_rule_differs_from_the_old_ones(a, b, read_check, history, now, why):
    assert (old_read_check(a) == old_read_check(b), old_history(a) == old_history(b)) == (read_check, history)
    assert (activity_key(a) == activity_key(b)) == now, why
    assert now <= (read_check and history)  # never equal where an old rule told them apart


def test_the_payload_sends_the_one_spelling_and_quotes_the_text_it_refuses():
    sent = plan_row(Row(2, {"CompanyActivityId": f" {{{ID.upper()}}} ", "Status": "Won"}))
    assert isinstance(sent, UpdateRequest) and sent.activity_id == ID
    refused = plan_row(Row(2, {"CompanyActivityId": f" {{ {ID} }} ", "Status": "Won"}))
    assert isinstance(refused, Invalid) and f"'{{ {ID} }}' is not a GUID" in refused.reason
