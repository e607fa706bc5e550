"""How long a resume takes to reach its first call on a big run.

A 100,000-row sheet whose run was killed after 99,000 rows got their outcome (500 more
were recorded not_sent by an earlier stop, and the last line was torn by the kill).
`bulk-updater run` on that folder must check the input, repair the report and skip the
done rows before its first call; the target is under 5 s. Beside it, in the same run:
a plain pandas read of the same sheet, the CLI's start-up alone, and a fresh run's first call.
Times run from launching the CLI process to the sandbox receiving the first call.

Memory: the peak RSS of resuming a 1,000,000-row run (995,000 rows
done, 4,500 not_sent, a torn last line; target under 400 MB), beside a fresh run of the
same sheet in the same bench (stopped by --max-calls after as many calls as the resume
makes, so both read every row and send the same number). Read from `os.wait4`.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pandas as pd
from conftest import cli_env, read_report

from bulk_updater.outcomes import Outcome, RowOutcome
from bulk_updater.report import ReportWriter
from bulk_updater.rows import Row
from bulk_updater.rundir.run_record import RunRecord
from bulk_updater.sandbox import SandboxConfig, SandboxThread
from bulk_updater.settings import Rate

ROWS, DONE, NOT_SENT = 100_000, 99_000, 500
BIG_ROWS, BIG_DONE, BIG_NOT_SENT = 1_000_000, 995_000, 4_500
RSS_TARGET_MB = 400
COLUMNS = ["CompanyActivityId", "ActivityNote", "Status", "mx_Custom_1"]


def main() -> dict:
    with tempfile.TemporaryDirectory() as folder, SandboxThread(SandboxConfig(rate=Rate(1000, 1))) as box:
        work = Path(folder)
        sheet = write_sheet(work / "big.csv")
        figures = {
            "rows": ROWS,
            "rows_done": DONE,
            "pandas_read_seconds": time_pandas_read(work / "big.csv"),
            "cli_startup_seconds": time_cli_startup(),
            "fresh_first_call_seconds": first_call(box, work / "big.csv", work / "fresh", stop=True)[0],
        }
        write_interrupted_run(work / "big.csv", work / "resumed", sheet)
        box.state.arrivals.clear()
        figures["resume_first_call_seconds"], figures["resume_total_seconds"] = first_call(box, work / "big.csv", work / "resumed")
        lines = read_report(work / "resumed" / "report.csv")
        assert sorted(int(line["_row"]) for line in lines) == list(range(2, ROWS + 2)), "the resumed report is not one line per row"
    print_table(figures)
    figures |= memory()
    return figures


def memory() -> dict:
    """Peak RSS of a fresh run and of a resume of a 1,000,000-row sheet."""
    with tempfile.TemporaryDirectory() as folder, SandboxThread(SandboxConfig(rate=None)) as box:
        work = Path(folder)
        rows = write_sheet(work / "big.csv", BIG_ROWS)
        to_send = BIG_ROWS - BIG_DONE
        fresh = peak_rss_mb(box, work / "big.csv", work / "fresh", "--max-calls", str(to_send))
        write_interrupted_run(work / "big.csv", work / "resumed", rows, BIG_DONE, BIG_NOT_SENT)
        del rows
        sent_before = box.state.calls
        resumed = peak_rss_mb(box, work / "big.csv", work / "resumed")
        assert box.state.calls - sent_before == to_send, "the resume did not send exactly the rows left"
        with (work / "resumed" / "report.csv").open(encoding="utf-8") as f:
            assert sum(1 for _ in f) == BIG_ROWS + 1, "the resumed report is not one line per row"
    figures = {"rss_rows": BIG_ROWS, "fresh_peak_rss_mb": fresh, "resume_peak_rss_mb": resumed}
    print(f"\n{BIG_ROWS:,}-row sheet: peak RSS (MB)")
    print(f"{'baseline: fresh run, ' + format(to_send, ',') + ' calls then not_sent':44}{fresh:8.0f}")
    print(f"{'resume of ' + format(BIG_DONE, ',') + ' done rows (target < 400)':44}{resumed:8.0f}")
    return figures


# Measures its child from a small process: Linux counts the memory of the process that forks
# into a child's ru_maxrss (kept across exec), and this bench holds a million rows.
MEASURE = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_rss_mb(box: SandboxThread, input_path: Path, out: Path, *options: str) -> float:
    """Run the CLI to its end; its peak resident memory in MB (Linux reports ru_maxrss in KB)."""
    command = [sys.executable, "-m", "bulk_updater", "run", str(input_path), "--out", str(out), "--rate", "100000/1", "--no-progress", *options]
    result = subprocess.run([sys.executable, "-c", MEASURE, *command], env=cli_env(box), capture_output=True, text=True)
    code, kilobytes = map(int, result.stdout.split())
    if code not in (0, 1):
        raise RuntimeError(f"the run failed: {result.stderr}")
    return round(kilobytes / 1024, 1)


def write_sheet(path: Path, count: int = ROWS) -> list[list[str]]:
    rows = [[str(uuid.uuid4()), f"note {n}", "Won", f"{n:06d}"] for n in range(count)]
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([COLUMNS, *rows])
    return rows


def time_pandas_read(path: Path) -> float:
    started = time.monotonic()
    pd.read_csv(path, dtype=str, keep_default_na=False)
    return round(time.monotonic() - started, 3)


def time_cli_startup() -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "bulk_updater", "run", "--help"], check=True, capture_output=True)
    return round(time.monotonic() - started, 3)


def write_interrupted_run(input_path: Path, out: Path, rows: list[list[str]], done: int = DONE, not_sent: int = NOT_SENT) -> None:
    """The folder a kill leaves: run.json still 'running', a report with a torn last line."""
    out.mkdir()
    RunRecord.new("run", input_path, "#N/A").save(out)
    writer = ReportWriter(out / "report.csv", COLUMNS)
    for n, cells in enumerate(rows[: done + not_sent]):
        outcome = Outcome.SUCCESS if n < done else Outcome.NOT_SENT
        writer.write(RowOutcome(Row(n + 2, dict(zip(COLUMNS, cells))), outcome, 1, 200))
    writer.close()
    with (out / "report.csv").open("a", encoding="utf-8", newline="") as f:
        f.write(",".join(rows[done + not_sent][:2]))


def first_call(box: SandboxThread, input_path: Path, out: Path, stop: bool = False) -> tuple[float, float]:
    """Seconds from launching the CLI to the sandbox's first call, and to the end (unless `stop`)."""
    command = [sys.executable, "-m", "bulk_updater", "run", str(input_path), "--out", str(out), "--rate", "1000/1", "--no-progress"]
    started = time.monotonic()
    process = subprocess.Popen(command, env=cli_env(box), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    while not box.state.arrivals:
        if process.poll() is not None:
            raise RuntimeError(f"the CLI ended before its first call: {process.stderr.read()}")
        time.sleep(0.005)
    first = box.state.arrivals[0] - started
    if stop:
        process.kill()
    process.wait()
    if not stop and process.returncode != 0:
        raise RuntimeError(f"the resume failed: {process.stderr.read()}")
    box.state.arrivals.clear()
    return round(first, 3), round(time.monotonic() - started, 3)


def print_table(f: dict) -> None:
    print(f"{ROWS:,}-row sheet, {DONE:,} rows done, {NOT_SENT} not_sent, a torn last line")
    print(f"{'':44}{'seconds':>8}")
    print(f"{'baseline: plain pandas read of the sheet':44}{f['pandas_read_seconds']:8.2f}")
    print(f"{'CLI start-up alone (run --help)':44}{f['cli_startup_seconds']:8.2f}")
    print(f"{'fresh run: launch -> first call':44}{f['fresh_first_call_seconds']:8.2f}")
    print(f"{'resume: launch -> first call (target < 5)':44}{f['resume_first_call_seconds']:8.2f}")
    print(f"{'resume: launch -> all 100,000 rows recorded':44}{f['resume_total_seconds']:8.2f}")


if __name__ == "__main__":
    main()
