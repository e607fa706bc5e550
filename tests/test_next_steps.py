"""What the tool says to do next is never contradictory or impossible."""

from __future__ import annotations

from conftest import cli_env, new_ids, read_report, run_cli, write_csv

HEADER = ["CompanyActivityId", "Status"]


def sheet(tmp_path, ids, status="Won"):
    return write_csv(tmp_path / "in.csv", [HEADER, *[[i, status] for i in ids]])


def run(box, *args):
    return run_cli(*args, "--no-progress", "--rate", "1000/1", env=cli_env(box))


def test_a_dry_run_then_the_real_run_in_the_same_folder(tmp_path, sandbox):
    ids = new_ids(4)
    box = sandbox(activities=set(ids))
    path, out = sheet(tmp_path, ids), str(tmp_path / "out")
    dry = run_cli("run", str(path), "--out", out, "--dry-run", env=cli_env(box))
    assert dry.returncode == 0 and "To send it: bulk-updater run" in dry.stdout and box.state.calls == 0
    again = run_cli("run", str(path), "--out", out, "--dry-run", env=cli_env(box))
    assert again.returncode == 0, again.stderr  # a dry run replaces an earlier dry run
    real = run(box, "run", str(path), "--out", out)
    assert real.returncode == 0, real.stderr
    assert [r["_outcome"] for r in read_report(tmp_path / "out" / "report.csv")] == ["success"] * 4 and box.state.calls == 4
    # the real run's folder is never replaced by a dry run
    refused = run_cli("run", str(path), "--out", out, "--dry-run", env=cli_env(box))
    assert refused.returncode == 2 and "already holds a report" in refused.stderr


def test_resume_of_a_dry_run_says_to_start_the_run(tmp_path, sandbox):
    box = sandbox()
    path, out = sheet(tmp_path, new_ids(2)), str(tmp_path / "out")
    assert run_cli("run", str(path), "--out", out, "--dry-run", env=cli_env(box)).returncode == 0
    result = run(box, "resume", out)
    assert result.returncode == 2 and "nothing was sent" in result.stderr and f"bulk-updater run {path} --out {out}" in result.stderr


def test_a_fully_successful_run_gives_no_retry_advice(tmp_path, sandbox):
    ids = new_ids(3)
    box = sandbox(activities=set(ids))
    result = run(box, "run", str(sheet(tmp_path, ids)), "--out", str(tmp_path / "out"))
    assert result.returncode == 0 and "retry" not in result.stdout + result.stderr and "need another look" not in result.stdout


def test_after_max_calls_one_instruction(tmp_path, sandbox):
    ids = new_ids(5)
    box = sandbox(activities=set(ids))
    result = run(box, "run", str(sheet(tmp_path, ids)), "--out", str(tmp_path / "out"), "--max-calls", "2")
    said = result.stdout + result.stderr
    assert result.returncode == 1 and said.count("bulk-updater ") == 1 and f"bulk-updater resume {tmp_path / 'out'}" in said
    assert "retry" not in said


def test_no_rows_listed_no_advice_to_fix_them(tmp_path):
    path = write_csv(tmp_path / "in.csv", [HEADER, [new_ids(1)[0], ""]])
    result = run_cli("check", str(path))
    assert result.returncode == 2 and "listed above" not in result.stderr and "Fill in the cells to change" in result.stderr
    bad = write_csv(tmp_path / "bad.csv", [HEADER, ["not-a-guid", "Won"]])
    result = run_cli("check", str(bad))
    assert result.returncode == 2 and "Fix the rows listed above" in result.stderr
