"""End to end: the real CLI in a subprocess against the sandbox on a free loopback port."""

import json
import re

import pytest
import python_calamine
from conftest import cli_commands, cli_env, new_ids, read_report, run_cli, untouched, write_csv
from workbooks import write_xlsx

from bulk_updater.report import META_COLUMNS
from bulk_updater.settings import Rate

HEADER = ["CompanyActivityId", "ActivityNote", "Status", "mx_Custom_1"]


def run(box, input_path, out, *options):
    """Run the CLI against `box`; at a fast rate unless the test is about the rate."""
    fast = [] if "--rate" in options else ["--rate", "1000/1"]
    return run_cli("run", str(input_path), "--out", str(out), "--no-progress", *fast, *options, env=cli_env(box))


def test_every_row_is_accounted_for_once_and_lands(tmp_path, sandbox):
    ids = new_ids(30)
    unknown = new_ids(1)[0]
    box = sandbox(activities=set(ids))
    rows = [[id_, f"note {n}", "Won", f"{n:03d}"] for n, id_ in enumerate(ids)]
    rows += [["not-a-guid", "x", "Won", ""], [ids[0], "", "", ""], [unknown, "gone", "", ""], [ids[1], "#N/A", "Lost", "#N/A"]]
    path = write_csv(tmp_path / "in.csv", [HEADER, *rows])

    result = run(box, path, tmp_path / "out")

    assert result.returncode == 1, result.stderr
    report = read_report(tmp_path / "out" / "report.csv")
    assert sorted(int(r["_row"]) for r in report) == list(range(2, len(rows) + 2))
    outcomes = {int(r["_row"]): r["_outcome"] for r in report}
    assert outcomes[32] == "invalid" and outcomes[33] == "skipped" and outcomes[34] == "failed"
    assert [outcomes[n] for n in range(2, 32)] == ["success"] * 30 and outcomes[35] == "success"
    # invalid and skipped rows were never sent; each other row was sent exactly once
    assert box.state.calls == 32
    # the sandbox holds what the sheet says, the later row for activity 1 winning
    assert box.state.activities[ids[5]] == {"ActivityNote": "note 5", "Fields": {"Status": "Won", "mx_Custom_1": "005"}}
    assert box.state.activities[ids[1]] == {"ActivityNote": "", "Fields": {"Status": "Lost", "mx_Custom_1": ""}}
    failed = read_report(tmp_path / "out" / "failed.csv")
    assert sorted(r["_outcome"] for r in failed) == ["failed", "invalid"]
    assert failed[0].keys() == report[0].keys()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["counts"] == {"success": 31, "failed": 1, "invalid": 1, "skipped": 1, "not_sent": 0}
    assert summary["calls"] == 32 and summary["calls_throttled"] == 0 and summary["input"] == str(path)
    assert "MXInvalidEntityException: Activity does not exist" in result.stdout


def test_report_columns_are_the_sheet_then_meta(tmp_path, sandbox):
    box = sandbox()
    [id_] = new_ids(1)
    path = write_csv(tmp_path / "in.csv", [HEADER, [id_, "a", "007", "NA"]])
    assert run(box, path, tmp_path / "out").returncode == 0
    [line] = read_report(tmp_path / "out" / "report.csv")
    assert line == {
        "CompanyActivityId": id_, "ActivityNote": "a", "Status": "007", "mx_Custom_1": "NA",
        "_row": "2", "_outcome": "success", "_attempts": "1", "_http_status": "200", "_error_type": "", "_error_message": "",
    }


def test_failed_csv_can_be_fed_back_as_input(tmp_path, sandbox):
    ids = new_ids(3)
    box = sandbox(activities=set(ids[:2]))
    path = write_csv(tmp_path / "in.csv", [HEADER, *[[i, "n", "Won", ""] for i in ids]])
    assert run(box, path, tmp_path / "first").returncode == 1
    box.config.activities.add(ids[2])  # the admin fixes the cause
    result = run(box, tmp_path / "first" / "failed.csv", tmp_path / "second")
    assert result.returncode == 0, result.stderr
    [line] = read_report(tmp_path / "second" / "report.csv")
    assert line["CompanyActivityId"] == ids[2] and line["_outcome"] == "success"


def test_wrong_keys_fail_before_anything_is_written_or_sent(tmp_path, sandbox):
    box = sandbox(access_key="the-real-key")
    path = write_csv(tmp_path / "in.csv", [HEADER, *[[i, "n", "", ""] for i in new_ids(40)]])
    result = run_cli("run", str(path), "--out", str(tmp_path / "out"), "--no-progress", env=cli_env(box, LSQ_ACCESS_KEY="wrong-key"))
    assert result.returncode == 3
    assert "rejected the keys" in result.stderr and "Nothing was sent" in result.stderr and "Traceback" not in result.stderr
    # one key check, no update, and no folder to clean up before the rerun
    assert (box.state.user_calls, box.state.calls) == (1, 0)
    assert not (tmp_path / "out").exists()


def test_keys_revoked_mid_run_stop_the_run(tmp_path, sandbox):
    box = sandbox(revoke_after=1)
    path = write_csv(tmp_path / "in.csv", [HEADER, *[[i, "n", "", ""] for i in new_ids(40)]])
    result = run_cli("run", str(path), "--out", str(tmp_path / "out"), "--no-progress", "--concurrency", "2", env=cli_env(box))
    assert result.returncode == 3
    assert "rejected the keys" in result.stderr and "Traceback" not in result.stderr
    report = read_report(tmp_path / "out" / "report.csv")
    assert len(report) == 40 and box.state.calls <= 3
    assert {r["_outcome"] for r in report} == {"success", "failed", "not_sent"}
    assert sum(r["_outcome"] == "not_sent" for r in report) >= 37


def test_a_429_is_answered_by_a_retry(tmp_path, sandbox):
    ids = new_ids(20)
    box = sandbox(rate=Rate(5, 0.25), initial=untouched(ids))  # the first check decides: the 429s are the updates'
    path = write_csv(tmp_path / "in.csv", [HEADER, *[[i, "n", "", ""] for i in ids]])
    # The client is told the limit is four times what the server allows.
    result = run(box, path, tmp_path / "out", "--rate", "20/0.25")
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["counts"]["success"] == 20 and box.state.throttled > 0
    assert summary["calls_throttled"] == box.state.throttled
    assert len(box.state.applied) == 20


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([["Status"], ["x"]], "there is no CompanyActivityId column"),
        ([["CompanyActivityId", "A", "A"], ["x", "1", "2"]], "appears twice"),
    ],
)
def test_bad_input_exits_2_and_sends_nothing(tmp_path, sandbox, rows, message):
    box = sandbox()
    result = run(box, write_csv(tmp_path / "in.csv", rows), tmp_path / "out")
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert box.state.calls == 0


def test_bad_options_exit_2(tmp_path, sandbox):
    box = sandbox()
    path = write_csv(tmp_path / "in.csv", [HEADER, [new_ids(1)[0], "n", "", ""]])
    for options in (["--rate", "fast"], ["--concurrency", "0"], ["--timeout", "-1"]):
        result = run(box, path, tmp_path / "out", *options)
        assert result.returncode == 2 and "Traceback" not in result.stderr
    missing_keys = run_cli("run", str(path), "--out", str(tmp_path / "o2"), env=cli_env(LSQ_HOST=box.url))
    assert missing_keys.returncode == 2 and "LSQ_ACCESS_KEY and LSQ_SECRET_KEY are not set" in missing_keys.stderr
    assert box.state.calls == 0


def test_every_command_has_help():
    commands = cli_commands()
    assert {"run", "retry", "check", "whoami", "sandbox"} <= set(commands)
    for command in commands:
        result = run_cli(command, "--help")
        assert result.returncode == 0 and "examples:" in result.stdout


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0 and re.fullmatch(r"bulk-updater \d+\.\d+\.\d+\n", result.stdout)


def test_no_command_has_an_option_for_a_key():
    # A key given as an option would land in shell history and in `ps`.
    for command in cli_commands():
        options = re.findall(r"--[\w-]+", run_cli(command, "--help").stdout)
        assert options and not [o for o in options if "key" in o or "secret" in o], command


def test_a_workbook_run_writes_xlsx_reports_that_can_be_fed_back(tmp_path, sandbox):
    ids = new_ids(3)
    box = sandbox(activities=set(ids[:2]))
    path = write_xlsx(tmp_path / "in.xlsx", [["notes"]], more_sheets={"Edits": [HEADER, *[[i, "n", "Won", 7] for i in ids], ["bad", "", "", ""]]})
    assert run(box, path, tmp_path / "first", "--sheet", "Edits").returncode == 1
    assert box.state.activities[ids[0]]["Fields"] == {"Status": "Won", "mx_Custom_1": "7"}
    report = python_calamine.CalamineWorkbook.from_path(str(tmp_path / "first" / "report.xlsx")).get_sheet_by_name("Edits").to_python()
    assert report[0] == [*HEADER, *META_COLUMNS] and len(report) == 5
    box.config.activities.add(ids[2])  # the admin fixes the cause, and feeds failed.xlsx back
    # with the same options: the reports' sheet is named after the input's
    result = run(box, tmp_path / "first" / "failed.xlsx", tmp_path / "second", "--sheet", "Edits")
    assert result.returncode == 1, result.stderr
    lines = {line["CompanyActivityId"]: line for line in read_report(tmp_path / "second" / "report.csv")}
    assert lines[ids[2]]["_outcome"] == "success" and lines["bad"]["_outcome"] == "invalid"
    # rows of failed.xlsx, numbered as failed.xlsx shows them
    assert {line["_row"] for line in lines.values()} == {"2", "3"}


def test_european_excel_csv_and_a_map_land_as_written(tmp_path, sandbox):
    [id_] = new_ids(1)
    box = sandbox(activities={id_})
    path = tmp_path / "in.csv"
    path.write_bytes(f"Activity ID;Stage;Comments\r\n{id_};Gewonnen;Grüße, \"Jörg\"\r\n".encode("cp1252"))
    (tmp_path / "map.json").write_text(json.dumps({"Activity ID": "CompanyActivityId", "Stage": "Status", "Comments": "ActivityNote"}))
    result = run(box, path, tmp_path / "out", "--map", str(tmp_path / "map.json"))
    assert result.returncode == 0, result.stderr
    assert box.state.activities[id_] == {"ActivityNote": 'Grüße, "Jörg"', "Fields": {"Status": "Gewonnen"}}


def test_the_sandbox_says_what_to_paste_and_never_prints_keys_from_the_environment():
    from bulk_updater.sandbox.server import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, SandboxConfig, connection_lines

    demo = "\n".join(connection_lines(SandboxConfig(), "http://127.0.0.1:8080"))
    assert f"export LSQ_ACCESS_KEY={DEMO_ACCESS_KEY}" in demo and f"export LSQ_SECRET_KEY={DEMO_SECRET_KEY}" in demo
    assert "export LSQ_HOST=http://127.0.0.1:8080" in demo
    own = "\n".join(connection_lines(SandboxConfig(access_key="mine-123", secret_key="secret-456"), "http://127.0.0.1:8080"))
    assert "mine-123" not in own and "secret-456" not in own and "not shown" in own
    assert "export LSQ_HOST=http://127.0.0.1:8080" in own
