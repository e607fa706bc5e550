"""Columns named like the activity's own attributes (ActivityDateTime, CreatedOn...) are refused:
the Update call does not set them, so a run would send them as SchemaNames and verify
would compare them with a field that isn't there."""

from __future__ import annotations

import json

import pytest
from conftest import new_ids, write_csv

from bulk_updater import cli
from bulk_updater.rows.reader import NOT_FIELDS

DOCUMENTED = ["ActivityDateTime", "ActivityEvent", "CreatedOn", "ModifiedOn", "RelatedCompanyId"]


def sheet(tmp_path, *extra: str):
    return write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status", *extra], [new_ids(1)[0], "Won", *(["2024-03-01 10:00:00"] * len(extra))]])


@pytest.mark.parametrize("name", [*DOCUMENTED, "activitydatetime", "CREATEDON", "CreatedBy", "ModifiedBy", "ActivityEventNote", "Id"])
def test_check_refuses_a_column_named_like_an_attribute(tmp_path, capsys, name):
    code = cli.main(["check", str(sheet(tmp_path, name))])

    err = capsys.readouterr().err
    assert code == 2
    assert f"column C: {name} is an attribute of the activity, not a field: the Update call does not set it" in err
    assert "Remove the column, or --map it to the field it stands for" in err and "Traceback" not in err


def test_every_attribute_named_at_once(tmp_path, capsys):
    assert cli.main(["check", str(sheet(tmp_path, "CreatedOn", "mx_Custom_1", "ModifiedOn"))]) == 2
    assert "columns C, E: CreatedOn and ModifiedOn are attributes of the activity, not fields: the Update call does not set them" in capsys.readouterr().err


def test_the_documented_attributes_are_all_refused():
    assert set(DOCUMENTED) <= set(NOT_FIELDS) and not {"Owner", "Status", "ActivityNote", "CompanyActivityId"} & set(NOT_FIELDS)


def test_a_column_mapped_to_a_field_is_fine_and_one_mapped_to_an_attribute_is_refused(tmp_path, capsys):
    path = sheet(tmp_path, "ActivityDateTime")
    to_field = tmp_path / "to-field.json"
    to_field.write_text(json.dumps({"ActivityDateTime": "mx_Visit_Date"}))
    assert cli.main(["check", str(path), "--map", str(to_field)]) == 0, capsys.readouterr().err

    plain = write_csv(tmp_path / "plain.csv", [["CompanyActivityId", "When"], [new_ids(1)[0], "2024-03-01 10:00:00"]])
    to_attribute = tmp_path / "to-attribute.json"
    to_attribute.write_text(json.dumps({"When": "ModifiedOn"}))
    assert cli.main(["check", str(plain), "--map", str(to_attribute)]) == 2
    assert "column B: ModifiedOn is an attribute of the activity" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["run", "retry"])
def test_run_and_retry_refuse_it_before_anything_is_sent(tmp_path, sandbox, bulk, command):
    box = sandbox()
    out = tmp_path / "out"

    code, _, err = bulk(box, command, str(sheet(tmp_path, "ActivityDateTime")), "--out", str(out))

    assert code == 2
    assert "ActivityDateTime is an attribute of the activity, not a field: the Update call does not set it" in err
    assert (box.state.calls, box.state.user_calls, box.state.retrieve_calls) == (0, 0, 0)  # not even the key check
    assert not out.exists()
