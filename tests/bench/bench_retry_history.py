"""What the retry's history costs: supersession and the damage check on a big report.

A first run of N rows (N/2 activities, each named twice; every other row failed) is retried
from its failed.csv. Each measurement runs in its own process, so its peak memory is its own:
- baseline: read failed.csv and plan every row as a plain retry did (no history);
- history: the same, plus the on-disk indexes (the chain's successes and cells, the `_row`
  order) and the supersession and damage checks for every row.
Memory must stay flat: the peak at 4N rows is about the peak at N rows.

    python tests/bench/run.py retry_history      # N = 50,000 and 200,000
    BENCH_ROWS=250000 python tests/bench/run.py retry_history   # N = 250,000 and 1,000,000
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from common import table

SMALL = int(os.environ.get("BENCH_ROWS", "50000"))
COLUMNS = ["CompanyActivityId", "ActivityNote", "Status", "mx_Code"]


def main() -> dict:
    figures: dict = {}
    with tempfile.TemporaryDirectory() as folder:
        for rows in (SMALL, 4 * SMALL):
            first = Path(folder) / f"first-{rows}"
            write_first_run(first, rows)
            for mode in ("baseline", "history"):
                figures[f"{mode}_{rows}"] = measure(mode, first, Path(folder) / f"retry-{mode}-{rows}")
    print(table([["rows in the first run", "mode", "seconds", "peak MB"]] + [
        [f"{int(key.split('_')[1]):,}", key.split("_")[0], f"{value['seconds']:.2f}", f"{value['peak_mb']:.0f}"] for key, value in figures.items()
    ]))
    return figures


def write_first_run(out: Path, rows: int) -> None:
    from bulk_updater.outcomes import Outcome, RowOutcome
    from bulk_updater.report import ReportWriter, write_failed
    from bulk_updater.rows import Row
    from bulk_updater.rundir.run_record import RunRecord, RunState

    out.mkdir()
    (out / "in.csv").write_text("x", encoding="utf-8")
    ids = [str(uuid.uuid4()) for _ in range(rows // 2)]
    writer = ReportWriter(out / "report.csv", COLUMNS)
    for n in range(rows):
        cells = dict(zip(COLUMNS, [ids[n % len(ids)], f"note {n}", "Won" if n % 3 else "Lost", f"{n:07d}"]))
        writer.write(RowOutcome(Row(n + 2, cells), Outcome.FAILED if n % 2 else Outcome.SUCCESS, 1, 500))
    writer.close()
    write_failed(out / "report.csv", out / "failed.csv")
    RunRecord.new("run", out / "in.csv", "#N/A").save(out, RunState.FINISHED)


def measure(mode: str, first: Path, out: Path) -> dict:
    code = f"import sys; sys.path[:0] = {sys.path[:3]!r}; import bench_retry_history as b; b.child({mode!r}, {str(first)!r}, {str(out)!r})"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def child(mode: str, first: str, out: str) -> None:
    from bulk_updater.history.lineage import find_lineage
    from bulk_updater.history.rerun import Rerun
    from bulk_updater.rows import ReadOptions, open_sheet
    from bulk_updater.updates import plan_row

    started = time.monotonic()
    report = Path(first) / "failed.csv"
    Path(out).mkdir()
    if mode == "baseline":
        rerun = Rerun(open_sheet(report))
        planned = sum(1 for row in rerun.rows() if plan_row(row))
    else:
        rerun = Rerun(open_sheet(report, ReadOptions(mixed_lines=True)), find_lineage(report))
        rerun.prepare(Path(out))
        planned = sum(1 for row in rerun.rows() if rerun.plan(row, "#N/A"))
        rerun.close()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": round(time.monotonic() - started, 2), "peak_mb": round(peak_kb / 1024, 1), "rows": planned}))


if __name__ == "__main__":
    main()
