"""`check` and `run --dry-run`: what a run would do, with nothing sent."""

import datetime as dt
import json

from conftest import cli_env, new_ids, read_report, run_cli, write_csv
from workbooks import write_xlsx

from bulk_updater.checking import check, dry_run
from bulk_updater.rows import ReadOptions

HEADER = ["CompanyActivityId", "ActivityNote", "Status"]


def _sheet(tmp_path):
    a, b = new_ids(2)
    rows = [[a, "n1", "Won"], ["nope", "x", ""], [b, "", ""], [a, "", "Lost"], ["", "", "y"], [b, "n2", ""]]
    return write_csv(tmp_path / "in.csv", [HEADER, *rows]), a, b


def test_check_counts_every_row_as_a_run_would_plan_it(tmp_path):
    path, a, _ = _sheet(tmp_path)
    result = check(path)
    assert (result.rows, result.will_update, result.invalid, result.skipped, result.duplicate_ids) == (6, 3, 2, 1, 1)
    assert result.usable
    assert result.invalid_examples == [(3, "CompanyActivityId 'nope' is not a GUID (like 255539a4-0380-4b8c-84db-7746b46c3fe2)"), (6, "CompanyActivityId is blank")]
    assert result.previews[0] == (2, {"CompanyActivityId": a, "ActivityNote": "n1", "Fields": [{"SchemaName": "Status", "Value": "Won"}]})
    assert [number for number, _ in result.previews] == [2, 5, 7]


def test_a_sheet_with_nothing_to_send_is_not_usable(tmp_path):
    path = write_csv(tmp_path / "in.csv", [HEADER, ["nope", "x", ""], [new_ids(1)[0], "", ""]])
    result = check(path)
    assert not result.usable
    assert result.problem() == "no row can be sent: 1 invalid, 1 with nothing to change"


def test_dry_run_writes_the_report_a_run_would_write(tmp_path):
    path, _, _ = _sheet(tmp_path)
    result = dry_run(path, tmp_path / "out")
    report = read_report(tmp_path / "out" / "report.csv")
    assert [(r["_row"], r["_outcome"], r["_error_type"]) for r in report] == [
        ("2", "not_sent", "DryRun"), ("3", "invalid", "InvalidRow"), ("4", "skipped", ""),
        ("5", "not_sent", "DryRun"), ("6", "invalid", "InvalidRow"), ("7", "not_sent", "DryRun"),
    ]
    # failed.csv holds the rows to send and the rows to fix, and is a valid input.
    assert [r["_row"] for r in read_report(tmp_path / "out" / "failed.csv")] == ["2", "3", "5", "6", "7"]
    assert check(tmp_path / "out" / "failed.csv").will_update == result.will_update == 3
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["counts"] == {"success": 0, "failed": 0, "invalid": 2, "skipped": 1, "not_sent": 3}
    assert summary["calls"] == 0 and summary["stop_reason"] == "dry_run"
    assert (tmp_path / "out" / "report.xlsx").exists()  # written for a text input too


def test_cli_check_prints_counts_examples_and_payloads(tmp_path):
    path, a, _ = _sheet(tmp_path)
    result = run_cli("check", str(path), env=cli_env())
    assert result.returncode == 0, result.stderr
    assert f"{path}: 6 rows\n  3 will update\n  2 invalid (never sent)\n  1 skipped (nothing to change)\n  1 duplicate id (rows" in result.stdout
    assert "row 3: CompanyActivityId 'nope' is not a GUID" in result.stdout
    assert f'row 2: {{"CompanyActivityId": "{a}", "ActivityNote": "n1"' in result.stdout
    assert "The file is usable." in result.stdout


def test_cli_check_of_a_sheet_with_nothing_to_send_exits_2(tmp_path):
    path = write_csv(tmp_path / "in.csv", [HEADER, ["nope", "x", ""]])
    result = run_cli("check", str(path))
    assert result.returncode == 2
    assert f"Error: {path}: no row can be sent: 1 invalid" in result.stderr and "row 2: CompanyActivityId 'nope' is not a GUID" in result.stdout


def test_cli_dry_run_needs_no_keys_and_sends_nothing(tmp_path, sandbox):
    box = sandbox()
    path = write_xlsx(tmp_path / "in.xlsx", [HEADER, [new_ids(1)[0], "n", "Won"], ["bad", "", "x"]])
    result = run_cli("run", str(path), "--out", str(tmp_path / "out"), "--dry-run", env=cli_env(LSQ_HOST=box.url))
    assert result.returncode == 0, result.stderr
    assert "1 will update" in result.stdout and "nothing was sent" in result.stdout
    assert box.state.calls == 0
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"report.csv", "failed.csv", "summary.json", "report.xlsx", "failed.xlsx", "run.json"}


def test_cli_check_reads_workbooks_with_sheet_timezone_and_map(tmp_path):
    (tmp_path / "map.csv").write_text("column,schema_name\nActivity ID,CompanyActivityId\nDue,mx_Custom_3\n")
    [id_] = new_ids(1)
    path = write_xlsx(tmp_path / "in.xlsx", [["x"]], more_sheets={"Edits": [["Activity ID", "Due", "Count"], [id_, dt.datetime(2024, 3, 26, 14, 15), 7]]})
    result = run_cli("check", str(path), "--sheet", "Edits", "--timezone", "Asia/Kolkata", "--map", str(tmp_path / "map.csv"))
    assert result.returncode == 0, result.stderr
    expected = {"CompanyActivityId": id_, "Fields": [{"SchemaName": "mx_Custom_3", "Value": "2024-03-26 08:45:00"}, {"SchemaName": "Count", "Value": "7"}]}
    assert f"row 2: {json.dumps(expected)}" in result.stdout


def test_check_library_takes_read_options(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(f"CompanyActivityId|Status\n{new_ids(1)[0]}|Won\n")
    assert check(path, ReadOptions(delimiter="|")).will_update == 1
