"""The sandbox's quirks (LeadSquared's possible behaviours where its documentation is silent), each
seen over HTTP against a sandbox on a free port, and the documented shape of its read answer."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from decimal import Decimal

import pytest
from conftest import new_ids, run_cli

from bulk_updater import cli
from bulk_updater.sandbox import SandboxConfig, SandboxThread
from bulk_updater.sandbox.quirks import QUIRKS
from bulk_updater.sandbox.server import Sandbox, config_from_args
from bulk_updater.settings import Rate

ID = "255539a4-0380-4b8c-84db-7746b46c3fe2"
OWNER = "643f6525-3e7a-11e6-b61b-22000aa8e760"
# One activity holding a value of every kind the sandbox tells apart (see quirks.py).
VALUES = {
    "mx_Flag": "true",
    "mx_Off": "False",
    "mx_Count": "3",
    "mx_Price": "1.5",
    "mx_Exact": "1.2345678901234567891",
    "mx_Big": "12345678901234567890123",
    "mx_Code": "007",
    "mx_When": "2024-03-01 10:00:00",
    "Owner": OWNER,
    "mx_Text": "Stake",
    "mx_Empty": "",
}
INITIAL = {ID: {"ActivityNote": "a note", "Fields": VALUES}}
DATE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def call(box: SandboxThread, method: str, path: str, body: dict | None = None) -> tuple[int, str]:
    request = urllib.request.Request(
        box.url + path, method=method, data=json.dumps(body).encode() if body is not None else None,
        headers={"x-LSQ-AccessKey": box.config.access_key, "x-LSQ-SecretKey": box.config.secret_key, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def read(box: SandboxThread, activity_id: str = ID) -> dict:
    status, text = call(box, "GET", f"/v2/CompanyActivity.svc/RetrieveById?activityId={activity_id}")
    assert status == 200, text
    return json.loads(text, parse_float=Decimal)  # the digits as written, as the client reads them


def update(box: SandboxThread, body: dict) -> None:
    status, text = call(box, "POST", "/v2/CompanyActivity.svc/Update", {"CompanyActivityId": ID, **body})
    assert status == 200, text


@pytest.fixture
def quirky(sandbox):
    """A sandbox holding INITIAL, with the quirks given."""
    def start(*quirks: str, **fields) -> SandboxThread:
        return sandbox(initial=json.loads(json.dumps(INITIAL)), quirks=frozenset(quirks), **fields)

    return start


# --- always, not a quirk: the documented shape of the read answer ---


def test_the_read_answer_has_the_documented_shape(quirky):
    answer = read(quirky())
    assert "Id" not in answer  # mutant: the old {"Id": ...} answer
    assert answer["CompanyActivityId"] == ID
    assert re.fullmatch(r"[0-9a-f-]{36}", answer["RelatedCompanyId"]) and answer["ActivityEvent"] == 10002
    assert all(DATE.fullmatch(answer[name]) for name in ("ActivityDateTime", "CreatedOn", "ModifiedOn"))
    assert answer["ActivityNote"] == "a note" and answer["ActivityFields"] == VALUES  # as stored: strings


def test_modified_on_changes_with_each_update_of_that_activity_only(quirky):
    box = quirky()
    other = new_ids(1)[0]
    seen = [read(box)["ModifiedOn"]]
    other_before = read(box, other)["ModifiedOn"]
    for value in ("a", "b", "c"):  # three updates within a second still read three ModifiedOn
        update(box, {"Fields": [{"SchemaName": "mx_Text", "Value": value}]})
        seen.append(read(box)["ModifiedOn"])
    assert len(set(seen)) == 4 and seen == sorted(seen) and all(DATE.fullmatch(s) for s in seen)
    assert read(box, other)["ModifiedOn"] == other_before


# --- what an update does ---


def test_throttle_403_answers_the_rate_limit_with_403_and_the_same_body(sandbox):
    plain, quirked = (sandbox(rate=Rate(1, 60), quirks=frozenset(q)) for q in ((), ("throttle-403",)))
    answers = []
    for box in (plain, quirked):
        call(box, "GET", f"/v2/CompanyActivity.svc/RetrieveById?activityId={ID}")
        answers.append(call(box, "GET", f"/v2/CompanyActivity.svc/RetrieveById?activityId={ID}"))
    (status_plain, body_plain), (status_quirked, body_quirked) = answers
    assert (status_plain, status_quirked) == (429, 403)
    assert body_plain == body_quirked and "API calls exceeded the limit of 1 in 60 second(s)" in body_quirked


def test_blank_unsent_empties_the_note_and_every_field_not_sent(quirky):
    plain, quirked = quirky(), quirky("blank-unsent")
    for box in (plain, quirked):
        update(box, {"Fields": [{"SchemaName": "mx_Text", "Value": "Won"}]})
    assert read(plain)["ActivityFields"] == VALUES | {"mx_Text": "Won"} and read(plain)["ActivityNote"] == "a note"
    answer = read(quirked)
    assert answer["ActivityNote"] == "" and answer["ActivityFields"] == {name: "" for name in VALUES} | {"mx_Text": "Won"}


def test_ignore_clears_leaves_a_field_and_a_note_sent_empty_as_they_were(quirky):
    plain, quirked = quirky(), quirky("ignore-clears")
    for box in (plain, quirked):
        update(box, {"ActivityNote": "", "Fields": [{"SchemaName": "mx_Text", "Value": ""}, {"SchemaName": "mx_Count", "Value": "4"}]})
    assert read(plain)["ActivityNote"] == "" and read(plain)["ActivityFields"]["mx_Text"] == ""
    answer = read(quirked)
    assert answer["ActivityNote"] == "a note" and answer["ActivityFields"]["mx_Text"] == "Stake"
    assert answer["ActivityFields"]["mx_Count"] == "4"  # a value that is not empty is still set


def test_blank_unsent_and_ignore_clears_combine(quirky):
    """What was sent empty is left as it was; what was not sent is blanked."""
    sent_note, unsent_note = quirky("blank-unsent", "ignore-clears"), quirky("blank-unsent", "ignore-clears")
    update(sent_note, {"ActivityNote": "", "Fields": [{"SchemaName": "mx_Text", "Value": ""}]})
    update(unsent_note, {"Fields": [{"SchemaName": "mx_Text", "Value": "Won"}]})
    answer = read(sent_note)
    assert answer["ActivityNote"] == "a note" and answer["ActivityFields"]["mx_Text"] == "Stake" and answer["ActivityFields"]["mx_Count"] == ""
    assert read(unsent_note)["ActivityNote"] == ""


# --- how a read spells what is stored ---


def test_read_upper_guids(quirky):
    answer = read(quirky("read-upper-guids"))
    assert answer["CompanyActivityId"] == ID.upper() and answer["ActivityFields"]["Owner"] == OWNER.upper()
    assert answer["RelatedCompanyId"] == answer["RelatedCompanyId"].upper()
    assert answer["ActivityFields"]["mx_Text"] == "Stake"  # text is not a GUID


def test_read_typed_gives_booleans_and_numbers_as_json_with_the_digits_stored(quirky):
    fields = read(quirky("read-typed"))["ActivityFields"]
    assert fields["mx_Flag"] is True and fields["mx_Off"] is False
    assert fields["mx_Count"] == 3 and isinstance(fields["mx_Count"], int)
    assert str(fields["mx_Price"]) == "1.5" and str(fields["mx_Exact"]) == "1.2345678901234567891"  # never through a float
    assert fields["mx_Big"] == 12345678901234567890123
    assert (fields["mx_Code"], fields["mx_When"], fields["mx_Empty"]) == ("007", "2024-03-01 10:00:00", "")  # text, date, empty


def test_read_bool_digits(quirky):
    fields = read(quirky("read-bool-digits"))["ActivityFields"]
    assert (fields["mx_Flag"], fields["mx_Off"], fields["mx_Count"]) == ("1", "0", "3")
    typed = read(quirky("read-bool-digits", "read-typed"))["ActivityFields"]
    assert (typed["mx_Flag"], typed["mx_Off"]) == (1, 0) and not isinstance(typed["mx_Flag"], bool)


def test_read_decimals(quirky):
    fields = read(quirky("read-decimals"))["ActivityFields"]
    assert (fields["mx_Count"], fields["mx_Price"], fields["mx_Exact"]) == ("3.00", "1.50", "1.2345678901234567891")
    assert (fields["mx_Code"], fields["mx_Flag"]) == ("007", "true")  # a leading zero is text; a boolean is no number
    typed = read(quirky("read-decimals", "read-typed"))["ActivityFields"]
    assert isinstance(typed["mx_Count"], Decimal) and str(typed["mx_Count"]) == "3.00"


def test_read_ms_dates(quirky):
    answer = read(quirky("read-ms-dates"))
    assert answer["ActivityFields"]["mx_When"] == "2024-03-01T10:00:00.000Z"
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z", answer[name]) for name in ("CreatedOn", "ModifiedOn", "ActivityDateTime"))


def test_read_omit_empty(quirky):
    box = quirky("read-omit-empty")
    assert read(box)["ActivityFields"] == {name: value for name, value in VALUES.items() if value}
    update(box, {"Fields": [{"SchemaName": "mx_Text", "Value": ""}]})
    assert "mx_Text" not in read(box)["ActivityFields"]


def test_read_omit_empty_leaves_out_the_activity_types_unset_fields(sandbox):
    box = sandbox(fields=frozenset({"Status", "mx_Custom_1"}), quirks=frozenset({"read-omit-empty"}))
    assert read(box)["ActivityFields"] == {}
    assert read(sandbox(fields=frozenset({"Status", "mx_Custom_1"})))["ActivityFields"] == {"Status": "", "mx_Custom_1": ""}


def test_read_null_empty(quirky):
    box = quirky("read-null-empty")
    update(box, {"ActivityNote": "", "Fields": []})
    answer = read(box)
    assert answer["ActivityNote"] is None and answer["ActivityFields"]["mx_Empty"] is None and answer["ActivityFields"]["mx_Text"] == "Stake"


def test_fields_null_for_an_activity_with_no_field_set(sandbox):
    box = sandbox(fields=frozenset({"Status", "mx_Custom_1"}), quirks=frozenset({"fields-null"}))
    [activity] = new_ids(1)
    assert read(box, activity)["ActivityFields"] is None
    call(box, "POST", "/v2/CompanyActivity.svc/Update", {"CompanyActivityId": activity, "Fields": [{"SchemaName": "Status", "Value": "Won"}]})
    assert read(box, activity)["ActivityFields"] == {"Status": "Won", "mx_Custom_1": ""}


def test_read_quirks_combine(quirky):
    fields = read(quirky("read-typed", "read-decimals", "read-upper-guids", "read-ms-dates", "read-omit-empty"))["ActivityFields"]
    assert str(fields["mx_Price"]) == "1.50" and fields["mx_Flag"] is True and fields["Owner"] == OWNER.upper()
    assert fields["mx_When"] == "2024-03-01T10:00:00.000Z" and "mx_Empty" not in fields


# --- switching them on ---


def test_the_cli_takes_quirks_repeated():
    args = cli.build_parser().parse_args(["sandbox", "--quirk", "blank-unsent", "--quirk", "read-typed"])
    assert config_from_args(args).quirks == frozenset({"blank-unsent", "read-typed"})
    assert config_from_args(cli.build_parser().parse_args(["sandbox"])).quirks == frozenset()


def test_the_cli_refuses_an_unknown_quirk_plainly():
    result = run_cli("sandbox", "--quirk", "blank-everything")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--quirk: invalid choice: 'blank-everything'" in result.stderr and "blank-unsent" in result.stderr


def test_the_help_lists_every_quirk():
    out = run_cli("sandbox", "--help").stdout
    assert all(f"  {name}  " in out or f"  {name} " in out for name in QUIRKS)


def test_a_config_with_an_unknown_quirk_is_refused():
    with pytest.raises(ValueError, match="unknown sandbox quirk blank-everything"):
        Sandbox(SandboxConfig(quirks=frozenset({"blank-everything"})))
