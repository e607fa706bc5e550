"""Reading a report back: repairing an interrupted one, the folder rules, rows to rerun, the summary."""

import json

import pytest
from conftest import read_report, write_csv

from bulk_updater.application.ending import finished_hint
from bulk_updater.errors import InputError
from bulk_updater.history.rerun import Rerun
from bulk_updater.outcomes import Outcome, RowOutcome
from bulk_updater.report import ReportWriter, Summary
from bulk_updater.report.writer import report_header
from bulk_updater.rows import Row, open_sheet
from bulk_updater.rundir.folder import lock_out_dir, open_out_dir
from bulk_updater.rundir.recovery import recover_report
from bulk_updater.rundir.run_record import RunRecord, RunState

ID = "255539a4-0380-4b8c-84db-7746b46c3fe2"
COLUMNS = ["CompanyActivityId", "ActivityNote"]
HEADER = report_header(COLUMNS)
ORG_ID = "5f0b2ad6-3b1c-4c7e-9d1e-000000000002"


def write_report(path, outcomes):
    """A report as ReportWriter writes it; `outcomes` maps row number -> (outcome, note)."""
    writer = ReportWriter(path, COLUMNS)
    for number, (outcome, note) in outcomes.items():
        writer.write(RowOutcome(Row(number, {"CompanyActivityId": ID, "ActivityNote": note}), Outcome(outcome), error_type="E", error_message="m"))
    writer.close()
    return path


def test_a_torn_last_line_and_not_sent_lines_are_dropped(tmp_path):
    path = write_report(tmp_path / "report.csv", {2: ("success", "a"), 3: ("not_sent", "b"), 4: ("failed", "c")})
    with path.open("a", encoding="utf-8", newline="") as f:
        f.write(f"{ID},half a no")  # a kill -9 in the middle of a line

    recorded = recover_report(path, HEADER)

    assert recorded.rows == {2, 4}
    assert (recorded.not_sent_dropped, recorded.damaged_dropped) == (1, 1)
    # Counts, not lines; a finished row's message is not kept (the summary does not group them).
    assert recorded.outcomes == {("failed", "E", "m"): 1, ("success", "", ""): 1}
    assert [line["_row"] for line in read_report(path)] == ["2", "4"]
    assert path.read_bytes().endswith(b"\r\n")


def test_a_second_line_for_a_row_is_dropped_and_the_first_kept(tmp_path):
    path = write_report(tmp_path / "report.csv", {2: ("success", "a"), 3: ("failed", "b")})
    writer = ReportWriter(path, COLUMNS)  # the same row again, as two sessions writing one report would
    writer.write(RowOutcome(Row(2, {"CompanyActivityId": ID, "ActivityNote": "again"}), Outcome.FAILED, error_type="E", error_message="m"))
    writer.close()

    recorded = recover_report(path, HEADER)

    assert recorded.rows == {2, 3} and recorded.damaged_dropped == 1
    assert recorded.outcomes == {("success", "", ""): 1, ("failed", "E", "m"): 1}  # one outcome per row
    assert [(line["_row"], line["ActivityNote"]) for line in read_report(path)] == [("2", "a"), ("3", "b")]


@pytest.mark.parametrize("cut", ['"a note\r\n', '"a note\r\nsecond line"', '"a note\r\nsecond line",2,succ'])
def test_a_line_cut_inside_a_quoted_cell_is_torn(tmp_path, cut):
    path = write_report(tmp_path / "report.csv", {2: ("success", "a")})
    with path.open("a", encoding="utf-8", newline="") as f:
        f.write(f"{ID},{cut}")
    assert recover_report(path, HEADER).rows == {2}
    assert len(read_report(path)) == 1


def test_a_complete_report_is_left_as_it_is(tmp_path):
    path = write_report(tmp_path / "report.csv", {2: ("success", 'multi\r\nline, "quoted"'), 3: ("invalid", "")})
    before = path.read_bytes()
    recorded = recover_report(path, HEADER)
    assert recorded.rows == {2, 3} and path.read_bytes() == before


def test_a_torn_header_or_no_report_means_nothing_recorded(tmp_path):
    assert recover_report(tmp_path / "report.csv", HEADER).rows == set()
    (tmp_path / "report.csv").write_text("CompanyActivityId,Activ", encoding="utf-8")
    assert recover_report(tmp_path / "report.csv", HEADER).rows == set()
    assert (tmp_path / "report.csv").read_text() == ""


def test_a_report_of_other_columns_is_refused(tmp_path):
    path = write_report(tmp_path / "report.csv", {2: ("success", "a")})
    with pytest.raises(InputError, match="the report's columns are not the input's"):
        recover_report(path, report_header(["CompanyActivityId", "Status"]))


def sheet_and_job(tmp_path, rows, command="run", clear_token="#N/A"):
    path = write_csv(tmp_path / "in.csv", [COLUMNS, *rows])
    job = RunRecord.new(command, path, clear_token)
    job.org_id = ORG_ID  # as the key check answered: a resume compares it (account.py)
    return path, job


def test_folder_new_then_resumed_then_finished(tmp_path):
    path, job = sheet_and_job(tmp_path, [[ID, "a"]])
    out = tmp_path / "out"
    assert open_out_dir(out, job, HEADER).rows == set()
    assert RunRecord.load(out).state is RunState.RUNNING
    write_report(out / "report.csv", {2: ("success", "a")})
    (out / "summary.json").write_text("{}")

    again = RunRecord.new("run", path, "#N/A")
    again.org_id = ORG_ID
    assert open_out_dir(out, again, HEADER).rows == {2}
    assert RunRecord.load(out).sessions == 2 and not (out / "summary.json").exists()

    again.save(out, RunState.FINISHED)
    with pytest.raises(InputError, match="holds a finished run of .*not overwritten") as error:
        open_out_dir(out, RunRecord.new("run", path, "#N/A"), HEADER, finished_hint=finished_hint)  # the job hands it down
    assert "bulk-updater retry" in str(error.value) and "--restart" in str(error.value)
    assert open_out_dir(out, RunRecord.new("run", path, "#N/A"), HEADER, restart=True).rows == set()
    assert not (out / "report.csv").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("content", "its content changed"),
        ("command", "holds an unfinished run .* not a retry"),
        ("clear_token", "--clear-token was '#N/A', this command gives 'X'"),
    ],
)
def test_folder_refuses_to_mix_two_jobs(tmp_path, change, message):
    path, job = sheet_and_job(tmp_path, [[ID, "a"]])
    open_out_dir(tmp_path / "out", job, HEADER)
    if change == "content":
        write_csv(path, [COLUMNS, [ID, "b"]])
    other = RunRecord.new("retry" if change == "command" else "run", path, "X" if change == "clear_token" else "#N/A")
    with pytest.raises(InputError, match=message):
        open_out_dir(tmp_path / "out", other, HEADER)


def test_folder_refuses_a_report_without_run_json_and_its_own_input(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    write_report(out / "report.csv", {2: ("success", "a")})
    path, job = sheet_and_job(tmp_path, [[ID, "a"]])
    with pytest.raises(InputError, match="already holds a report, and no run.json"):
        open_out_dir(out, job, HEADER)
    # --restart would delete the very file being read
    with pytest.raises(InputError, match="one of the files this command writes"):
        open_out_dir(out, RunRecord.new("retry", out / "report.csv", "#N/A"), HEADER, restart=True)


def report_sheet(tmp_path, lines):
    return open_sheet(write_csv(tmp_path / "report.csv", [["CompanyActivityId", "Status", "_row", "_outcome"], *lines]))


def test_rerun_yields_the_rows_to_send_again_with_their_row_numbers(tmp_path):
    rerun = Rerun(report_sheet(tmp_path, [[ID, "a", "7", "success"], [ID, "b", "9", "failed"], ["bad", "c", "12", "invalid"], [ID, "", "3", "skipped"], [ID, "d", "4", "not_sent"]]))
    rows = list(rerun.rows())
    assert [(r.number, r.cells["Status"]) for r in rows] == [(9, "b"), (12, "c"), (4, "d")]
    assert rerun.passed_over == 2


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([[ID, "a", "x", "failed"]], "row 2, column _row: 'x' is not a row number"),
        ([[ID, "a", "7", "done"]], "row 2, column _outcome: 'done' is not an outcome"),
        ([[ID, "a", "7", "failed"], [ID, "b", "7", "failed"]], "row 3, column _row: row 7 appears twice"),
    ],
)
def test_rerun_refuses_a_damaged_report(tmp_path, lines, message):
    with pytest.raises(InputError, match=message):
        list(Rerun(report_sheet(tmp_path, lines)).rows())


def test_rerun_refuses_a_sheet_that_is_not_a_report(tmp_path):
    sheet = open_sheet(write_csv(tmp_path / "in.csv", [["CompanyActivityId", "_row"], [ID, "2"]]))
    with pytest.raises(InputError, match="there is no _outcome column: this is not a bulk-updater report"):
        Rerun(sheet)


def test_failures_are_grouped_by_type_and_message(tmp_path):
    summary = Summary(input="in.csv", rate="25/5")
    for _ in range(312):
        summary.count("failed", "MXInvalidEntityException", "Activity does not exist")
    for _ in range(3):
        summary.count("invalid", "InvalidRow", "CompanyActivityId is blank")
    summary.count("success")
    for n in range(12):
        summary.count("failed", "MXInvalidInputException", f"odd value in mx_Custom_{n}")  # one field each: 12 groups
    lines = summary.lines()
    assert "  312 rows failed: MXInvalidEntityException: Activity does not exist" in lines
    assert "  3 rows invalid: InvalidRow: CompanyActivityId is blank" in lines
    # 14 groups: the 10 biggest are printed, the rest summed up
    assert lines[-1] == "  and 4 rows in 4 other groups (see summary.json)"
    summary.write(tmp_path / "summary.json")
    data = json.loads((tmp_path / "summary.json").read_text())
    assert data["failure_groups"][0] == {"rows": 312, "outcome": "failed", "error_type": "MXInvalidEntityException", "error_message": "Activity does not exist", "example": "Activity does not exist"}
    assert len(data["failure_groups"]) == 14 and data["failure_groups_left_out"] == {"groups": 0, "rows": 0}


def test_one_command_at_a_time_writes_in_a_folder(tmp_path):
    with lock_out_dir(tmp_path / "out"):
        with pytest.raises(InputError, match="another bulk-updater command is writing in"):
            with lock_out_dir(tmp_path / "out"):
                pass
    with lock_out_dir(tmp_path / "out"):  # released with its holder
        pass


def test_rerun_reads_a_report_saved_as_a_workbook(tmp_path):
    import pandas as pd

    path = tmp_path / "failed.xlsx"
    # Excel stores _row as a number once the admin saves the report as a workbook.
    pd.DataFrame({"CompanyActivityId": [ID, ID], "Status": ["a", "b"], "_row": [7, 9], "_outcome": ["failed", "success"]}).to_excel(path, index=False)
    rerun = Rerun(open_sheet(path))
    assert [(r.number, r.cells["Status"]) for r in rerun.rows()] == [(7, "a")]
    assert rerun.passed_over == 1
