"""The cost of --backup: the same rows sent plainly and with --backup, at the same rate.

A backup reads each activity before its update, so it makes two calls per row and, at the
rate limit, should run at about half the speed of a plain run. Both runs go in parallel,
each against its own sandbox (rate 100/1, latency 0.05-0.2 s), so they share the machine's load.
"""

from __future__ import annotations

import json
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import run_tool, sandbox_process, table, write_sheet

ROWS, RATE = 600, "100/1"
SANDBOX = ["--rate", RATE, "--latency", "0.05-0.2", "--seed", "1"]


def measure(folder: Path, name: str, *options: str) -> dict:
    sheet = folder / f"{name}.csv"
    write_sheet(sheet, ROWS)
    with sandbox_process(*SANDBOX) as url:
        summary = run_tool(sheet, folder / f"out-{name}", url, "--rate", RATE, "--yes", *options)
    return {
        "run": name,
        "rows_per_second": ROWS / summary["elapsed_seconds"],
        "calls": summary["calls"],
        "calls_429": summary["calls_throttled"],
        "succeeded": summary["counts"]["success"],
        "seconds": summary["elapsed_seconds"],
    }


def main() -> dict:
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(2) as pool:
        folder = Path(tmp)
        plain, backup = pool.submit(measure, folder, "plain"), pool.submit(measure, folder, "backup", "--backup")
        results = [plain.result(), backup.result()]
    speed = results[1]["rows_per_second"] / results[0]["rows_per_second"]
    rows = [["run", "rows/s", "calls", "429s", "succeeded", "seconds"]]
    for r in results:
        rows.append([r["run"], f"{r['rows_per_second']:.1f}", r["calls"], r["calls_429"], f"{r['succeeded']}/{ROWS}", f"{r['seconds']:.1f}"])
    print(table(rows))
    print(f"--backup runs at {speed:.2f} of a plain run's speed (expected: about 0.5, two calls per row)")
    return {"rows": ROWS, "rate": RATE, "results": results, "backup_speed_ratio": speed}


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
