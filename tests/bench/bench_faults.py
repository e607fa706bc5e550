"""Riding out faults: 1,000 rows with 10% 503s, 2% dropped connections and 1% hung calls.

The limit is lifted so the benchmark measures fault handling, not pacing; hung calls are
cut off by --timeout 1. Every row must end as a success, none lost, none reported twice.
Beside it, the same sheet through the same sandbox with no retries (--max-attempts 1):
what a tool that does not retry would lose.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from common import report_lines, run_tool, sandbox_process, sandbox_state, table, write_sheet

ROWS = 1000
FAULTS = ["--rate", "none", "--fail-503", "0.10", "--drop", "0.02", "--hang", "0.01", "--seed", "7"]


def measure(folder: Path, name: str, *options: str) -> dict:
    ids = write_sheet(folder / f"{name}.csv", ROWS)
    with sandbox_process(*FAULTS) as url:
        summary = run_tool(folder / f"{name}.csv", folder / name, url, "--rate", "1000/1", "--timeout", "1", *options)
        state = sandbox_state(url)
    lines = report_lines(folder / name)
    per_row = Counter(line["_row"] for line in lines)
    return {
        "succeeded": summary["counts"]["success"],
        "report_lines": len(lines),
        "rows_reported_twice": sum(n > 1 for n in per_row.values()),
        "rows_missing": ROWS - len(per_row),
        "calls": summary["calls"],
        "faults_injected": state["faults"],
        "activities_updated": len(set(state["applied"]) & {i.lower() for i in ids}),
        "elapsed_seconds": summary["elapsed_seconds"],
    }


def main() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        tool = measure(folder, "tool", "--max-attempts", "10")
        no_retry = measure(folder, "no-retry", "--max-attempts", "1")
    keys = list(tool)
    print(table([["", *keys], ["bulk-updater", *tool.values()], ["no retries", *no_retry.values()]]))
    print(f"target: {ROWS} succeeded, none missing, none twice")
    return {"rows": ROWS, "tool": tool, "no_retries": no_retry}
