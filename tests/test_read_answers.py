"""A RetrieveById answer is an activity when it lists its fields, or names the activity and lists
none (ActivityFields missing or null: absent is empty); any other 200 is not an activity."""

from __future__ import annotations

import json

import aiohttp
import pytest
from conftest import new_ids, read_report, write_csv

from bulk_updater.calls import Kind, LeadSquaredClient
from bulk_updater.safety.activity import Activity, wrong_activity
from bulk_updater.settings import Credentials

HOST = "https://api-in21.leadsquared.com"
ID = "255539a4-0380-4b8c-84db-7746b46c3fe2"
URL = f"{HOST}/v2/CompanyActivity.svc/RetrieveById?activityId={ID}"
KEYS = Credentials("ACCESS-123", "SECRET-456")


async def retrieve(mocked, body: str):
    mocked.get(URL, status=200, body=body)
    async with aiohttp.ClientSession() as session:
        return await LeadSquaredClient(session, HOST, KEYS, 5).retrieve_activity(ID)


@pytest.mark.parametrize(
    "answer",
    [
        {"CompanyActivityId": ID, "ActivityNote": "n", "ActivityFields": None},
        {"CompanyActivityId": ID, "ActivityNote": "n"},
        {"Id": ID, "ActivityNote": "n", "ActivityFields": None},
    ],
    ids=["fields null", "fields missing", "named by Id"],
)
async def test_an_activity_listing_no_field_is_read_as_one_with_every_field_empty(mocked, answer):
    result, payload = await retrieve(mocked, json.dumps(answer))
    assert result.kind is Kind.SUCCESS  # mutant: the old `isinstance(ActivityFields, dict)` check alone
    activity = Activity.from_json(payload)
    assert activity.fields == {} and activity.note == "n" and activity.value("Status") is None


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"Status": "Success"}),
        json.dumps({"ActivityFields": None}),  # names no activity: not taken for one whose fields are all empty
        json.dumps({"CompanyActivityId": ID, "ActivityFields": ["Status"]}),
        json.dumps({"CompanyActivityId": "", "ActivityFields": None}),
        "<html><body>Welcome</body></html>",
        "",
    ],
    ids=["status only", "null fields without id", "fields a list", "empty id", "html", "empty"],
)
async def test_a_200_that_is_not_an_activity_fails_for_good(mocked, body):
    result, payload = await retrieve(mocked, body)
    assert (result.kind, result.error_type, payload) == (Kind.PERMANENT, "UnexpectedResponse", {})


def test_a_backup_run_reads_an_activity_answered_with_fields_null(tmp_path, sandbox, bulk):
    """End to end: `fields-null` answers ActivityFields null for an activity with nothing set;
    the backup's read takes it as empty, the update goes, verify finds it, and undo puts the empty value back."""
    box = sandbox(fields=frozenset({"Status", "mx_Custom_1"}), quirks=frozenset({"fields-null"}))
    [activity] = new_ids(1)
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], [activity, "Won"]])

    code, _, err = bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--backup")

    assert code == 0, err
    assert [row["_outcome"] for row in read_report(tmp_path / "run" / "report.csv")] == ["success"]
    assert box.state.activities[activity]["Fields"]["Status"] == "Won"
    assert bulk(box, "verify", str(tmp_path / "run"))[0] == 0
    assert bulk(box, "undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo"))[0] == 0
    assert box.state.activities[activity]["Fields"]["Status"] == ""


@pytest.mark.parametrize(
    ("answered", "asked"),
    [("{" + ID + "}", ID), (" {" + ID.upper() + "} ", ID), (ID, "{" + ID + "}")],
    ids=["braces answered", "braces, spaces and case answered", "braces asked"],
)
def test_an_answer_naming_the_id_asked_for_in_braces_is_that_activity(answered, asked):
    # Kills: the braces taken off the wrong end of the id, or not at all (a --backup row, undo's check,
    # verify and the canary would refuse every read of an account that answers ids in braces).
    assert wrong_activity(Activity.from_json({"CompanyActivityId": answered, "ActivityFields": {}}), asked) == ""
    assert wrong_activity(Activity.from_json({"Id": answered, "ActivityFields": {}}), asked) == ""  # an answer naming it by Id alone
    other = ID[:-1] + "0"
    assert wrong_activity(Activity.from_json({"CompanyActivityId": "{" + other + "}"}), asked).startswith("the read answered for activity {" + other)
