"""Short jobs at the physical limit: 25, 40, 100 and 250 rows at 25/5, each counting mode.

The sandbox answers with latency uniform in 0.1-0.6 s and 0-0.1 s of arrival jitter. The key
check counts inside the window, so the bound of starts for R rows is that of C = R + 1 calls:
the last starts at floor((C - 1) / N) * (S + jitter). Targets:
- in-run (the key check's arrival to the last update's): within 1.05x the bound + 0.2 s, no 429;
- whole process (launch to exit), the median of RUNS: within 1.10x the bound + the last
  latency (0.6 s at most) + 0.5 s.
Baselines, measured in the same run: for in-run, the old pacing, calls evenly spaced
(S + jitter) / N apart from the first one (a bare aiohttp client against its own sandbox); for
the whole process, Python starting and importing aiohttp and pandas, measured just before each
launch (the machine is shared: what start-up costs at that moment). The three counting modes
run side by side, their launches a few seconds apart so that their start-ups don't collide.
"""

from __future__ import annotations

import asyncio
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp
from common import KEYS, sandbox_process, sandbox_state, table, write_sheet
from timed import run_timed

SIZES = tuple(int(n) for n in os.environ.get("BENCH_SIZES", "25,40,100,250").split(","))
MODES = ("sliding", "fixed", "token")
CALLS, PERIOD, JITTER, LAST_LATENCY = 25, 5.0, 0.1, 0.6
SANDBOX = ["--rate", "25/5", "--latency", "0.1-0.6", "--arrival-jitter", "0.1"]
RUNS = int(os.environ.get("BENCH_RUNS", 3))
STAGGER = 2.5  # seconds between the launches of the three modes


def bound(rows: int) -> float:
    """When the last of rows + 1 calls (the key check first) may start at the earliest."""
    return math.floor(rows / CALLS) * (PERIOD + JITTER)


async def evenly_spaced(url: str, ids: list[str]) -> None:
    """The old pacing: a key check, then one update every (S + jitter) / N seconds."""
    headers = {"x-LSQ-AccessKey": KEYS["LSQ_ACCESS_KEY"], "x-LSQ-SecretKey": KEYS["LSQ_SECRET_KEY"]}
    spacing = (PERIOD + JITTER) / CALLS
    loop = asyncio.get_running_loop()

    async with aiohttp.ClientSession() as session:
        start = loop.time()

        async def call(n: int, id_: str | None) -> None:
            await asyncio.sleep(start + n * spacing - loop.time())
            if id_ is None:
                async with session.get(url + "/v2/Authentication.svc/UserByAccessKey.Get", headers=headers) as response:
                    await response.read()
                return
            body = {"CompanyActivityId": id_, "Fields": [{"SchemaName": "Status", "Value": "Won"}]}
            async with session.post(url + "/v2/CompanyActivity.svc/Update", json=body, headers=headers) as response:
                await response.read()

        await asyncio.gather(*(call(n, id_) for n, id_ in enumerate([None, *ids])))


def one_case(folder: Path, rows: int, mode: str, run: int) -> dict:
    name = f"{rows}-{mode}-{run}"
    write_sheet(folder / f"{name}.csv", rows)
    with sandbox_process(*SANDBOX, "--counting", mode, "--seed", str(run)) as url:
        time.sleep(STAGGER * MODES.index(mode))
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", "import aiohttp, pandas"], check=True)
        imports = time.monotonic() - started
        tool = run_timed(folder / f"{name}.csv", folder / f"out-{name}", url, "--rate", "25/5")
    return {"rows": rows, "mode": mode, "run": run, "tool": tool.as_dict(), "baseline_imports": imports}


def one_baseline(folder: Path, rows: int, mode: str, run: int) -> dict:
    ids = write_sheet(folder / f"base-{rows}-{mode}-{run}.csv", rows)
    with sandbox_process(*SANDBOX, "--counting", mode, "--seed", str(run)) as url:
        asyncio.run(evenly_spaced(url, ids))
        state = sandbox_state(url)
    return {"in_run": max(state["arrivals"]) - state["user_arrivals"][0], "throttled": state["throttled"]}


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main() -> dict:
    results = []
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(2 * len(MODES)) as pool:
        for run in range(RUNS):
            for rows in SIZES:
                tools = [pool.submit(one_case, Path(tmp), rows, mode, run) for mode in MODES]
                bases = [pool.submit(one_baseline, Path(tmp), rows, mode, run) for mode in MODES]
                for tool, base in zip(tools, bases, strict=True):
                    results.append({**tool.result(), "baseline": base.result()})
    header = ["rows", "counting", "bound", "in-run", "target", "baseline: even spacing", "whole process", "target", "baseline: import aiohttp, pandas", "429s"]
    lines = [header]
    met = True
    for rows in SIZES:
        for mode in MODES:
            mine = [r for r in results if r["rows"] == rows and r["mode"] == mode]
            in_run = [r["tool"]["in_run"] for r in mine]
            whole = [r["tool"]["whole"] for r in mine]
            throttled = sum(r["tool"]["throttled"] for r in mine)
            in_target, whole_target = 1.05 * bound(rows) + 0.2, 1.10 * bound(rows) + LAST_LATENCY + 0.5
            ok = max(in_run) <= in_target and statistics.median(whole) <= whole_target and throttled == 0
            met &= ok
            lines.append([
                rows, mode, f"{bound(rows):.1f}", spread(in_run), f"<= {in_target:.2f}", spread([r["baseline"]["in_run"] for r in mine]),
                spread(whole), f"<= {whole_target:.2f}", spread([r["baseline_imports"] for r in mine]), throttled,
            ])
    print(table(lines))
    print(f"seconds, median (min-max) of {RUNS} runs; every target met: {met}")
    return {"runs": RUNS, "results": results, "targets_met": met}
