import json

import pytest

from bulk_updater.errors import InputError
from bulk_updater.rows import load_map


def test_json_and_csv_maps_say_the_same(tmp_path):
    (tmp_path / "map.json").write_text(json.dumps({"Activity ID": "CompanyActivityId", " Stage ": "mx_Custom_1"}))
    (tmp_path / "map.csv").write_text("column,schema_name\nActivity ID,CompanyActivityId\n Stage ,mx_Custom_1\n\n")
    for name in ("map.json", "map.csv"):
        column_map = load_map(tmp_path / name)
        assert column_map.rename("activity id ") == "CompanyActivityId"
        assert column_map.rename("STAGE") == "mx_Custom_1"
        assert column_map.rename("Status") == "Status"
        assert column_map.header_for("CompanyActivityId") == "Activity ID"


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("map.json", "{not json", "the map is not valid JSON"),
        ("map.json", '["a", "b"]', "one JSON object of texts"),
        ("map.json", '{"a": "x", "A ": "y"}', "the header 'A' is mapped twice"),
        ("map.json", '{"a": " "}', "blank header or SchemaName"),
        ("map.csv", "Activity ID,CompanyActivityId\n", "first line must be column,schema_name"),
        ("map.csv", "column,schema_name\na,b,c\n", "line 2 has 3 cells, not 2"),
    ],
)
def test_bad_maps_are_refused(tmp_path, name, text, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(InputError, match=message):
        load_map(tmp_path / name)


def test_missing_map_is_refused(tmp_path):
    with pytest.raises(InputError, match="no such map file"):
        load_map(tmp_path / "nope.json")
