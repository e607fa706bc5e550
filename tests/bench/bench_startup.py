"""Start-up: launch to the first update for a 40-row CSV, and `--help` and `whoami` to their end.

Each figure is the median (and spread) of RUNS launches of the real CLI in its own process.
"Launch to the first update" is from just before the process is started to the update's
arrival at the sandbox (another process: both read the same monotonic clock). Beside them,
in the same run, the baselines: Python starting and doing nothing, and Python importing
aiohttp (which any sending command needs) and pandas (which reading a CSV needs).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import KEYS, sandbox_process, sandbox_state, table, write_sheet

RUNS = 5
ROWS = 40


def process_seconds(*args: str, env: dict | None = None) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, *args], env=env, capture_output=True, check=True)
    return time.monotonic() - started


def first_update_seconds(folder: Path, n: int) -> tuple[float, float]:
    """(launch to the key check's arrival, launch to the first update's arrival), one launch."""
    sheet = folder / f"in-{n}.csv"
    write_sheet(sheet, ROWS)
    with sandbox_process("--rate", "25/5", "--seed", str(n)) as url:
        env = {**os.environ, **KEYS, "LSQ_HOST": url}
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "bulk_updater", "run", str(sheet), "--out", str(folder / f"out-{n}"), "--no-progress"],
            env=env, capture_output=True, check=True,
        )
        state = sandbox_state(url)
    return state["user_arrivals"][0] - started, min(state["arrivals"]) - started


def whoami_seconds(url: str) -> float:
    return process_seconds("-m", "bulk_updater", "whoami", env={**os.environ, **KEYS, "LSQ_HOST": url})


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main() -> dict:
    figures: dict[str, list[float]] = {k: [] for k in ("python", "python_aiohttp", "python_aiohttp_pandas", "help", "whoami", "key_check", "first_update")}
    with tempfile.TemporaryDirectory() as tmp, sandbox_process("--rate", "none") as url:
        folder = Path(tmp)
        for n in range(RUNS):  # interleaved, so load on the machine falls on all alike
            figures["python"].append(process_seconds("-c", "pass"))
            figures["python_aiohttp"].append(process_seconds("-c", "import aiohttp"))
            figures["python_aiohttp_pandas"].append(process_seconds("-c", "import aiohttp, pandas"))
            figures["help"].append(process_seconds("-m", "bulk_updater", "--help"))
            figures["whoami"].append(whoami_seconds(url))
            key_check, first = first_update_seconds(folder, n)
            figures["key_check"].append(key_check)
            figures["first_update"].append(first)
    print(table([
        [f"seconds, median (min-max) of {RUNS}", "bulk-updater", "target", "baseline in the same run"],
        [
            "launch to the first update, 40-row CSV", spread(figures["first_update"]), "< 0.5",
            f"python + import aiohttp, pandas: {spread(figures['python_aiohttp_pandas'])}",
        ],
        ["launch to the key check's arrival", spread(figures["key_check"]), "", f"python + import aiohttp: {spread(figures['python_aiohttp'])}"],
        ["bulk-updater --help", spread(figures["help"]), "< 0.3", f"python -c pass: {spread(figures['python'])}"],
        ["bulk-updater whoami (whole process)", spread(figures["whoami"]), "< 0.3", f"python + import aiohttp: {spread(figures['python_aiohttp'])}"],
    ]))
    return {"runs": RUNS, "rows": ROWS, **figures}
