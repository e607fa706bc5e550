"""Throughput at the ceiling: rows/s divided by N/S, and the share of calls answered 429.

500 rows at 25/5 against the sandbox with latency uniform in 0.1-0.6 s and 0-0.1 s of
arrival jitter, once per counting mode, all in parallel; beside it the naive baseline,
asyncio + AsyncLimiter(25, 5) + gather with no retries, against a sliding-window sandbox.

Two paces: the whole run's (rows over the summary's elapsed time: the opening burst, the key
check's place and the last latency included), and the steady pace (target: at least 0.975
of N/S), from the updates' arrivals at the sandbox after the opening window: what the limiter
holds once the burst is spent.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp
from aiolimiter import AsyncLimiter
from common import KEYS, report_lines, run_tool, sandbox_process, sandbox_state, table, write_sheet

ROWS, CALLS, PERIOD = 500, 25, 5.0
SANDBOX = ["--rate", "25/5", "--latency", "0.1-0.6", "--arrival-jitter", "0.1"]
MODES = ("sliding", "fixed", "token")


def measure_tool(mode: str, folder: Path) -> dict:
    sheet = folder / f"{mode}.csv"
    write_sheet(sheet, ROWS)
    with sandbox_process(*SANDBOX, "--counting", mode, "--seed", "1") as url:
        summary = run_tool(sheet, folder / f"out-{mode}", url, "--rate", "25/5")
        arrivals = sorted(sandbox_state(url)["arrivals"])[CALLS:]  # after the opening window
    lines = report_lines(folder / f"out-{mode}")
    return {
        "mode": mode,
        "rows_per_second": ROWS / summary["elapsed_seconds"],
        "ratio": ROWS / summary["elapsed_seconds"] / (CALLS / PERIOD),
        "steady_ratio": (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) / (CALLS / PERIOD),
        "calls": summary["calls"],
        "calls_429": summary["calls_throttled"],
        "share_429": summary["calls_throttled"] / summary["calls"],
        "succeeded": summary["counts"]["success"],
        "report_lines": len(lines),
    }


async def naive(url: str, ids: list[str]) -> tuple[float, int, int]:
    limiter = AsyncLimiter(CALLS, PERIOD)
    headers = {"x-LSQ-AccessKey": KEYS["LSQ_ACCESS_KEY"], "x-LSQ-SecretKey": KEYS["LSQ_SECRET_KEY"]}

    async def one(session: aiohttp.ClientSession, id_: str) -> int:
        async with limiter:
            body = {"CompanyActivityId": id_, "Fields": [{"SchemaName": "Status", "Value": "Won"}]}
            async with session.post(url + "/v2/CompanyActivity.svc/Update", json=body, headers=headers) as response:
                return response.status

    async with aiohttp.ClientSession() as session:
        started = time.monotonic()
        statuses = await asyncio.gather(*(one(session, id_) for id_ in ids))
    return time.monotonic() - started, statuses.count(200), statuses.count(429)


def measure_naive(folder: Path) -> dict:
    ids = write_sheet(folder / "naive.csv", ROWS)
    with sandbox_process(*SANDBOX, "--counting", "sliding", "--seed", "1") as url:
        elapsed, ok, throttled = asyncio.run(naive(url, ids))
        arrivals = sorted(sandbox_state(url)["arrivals"])[CALLS:]
    return {
        "mode": "naive AsyncLimiter(25,5) (sliding)",
        "rows_per_second": ok / elapsed,
        "ratio": ok / elapsed / (CALLS / PERIOD),
        "steady_ratio": (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) / (CALLS / PERIOD),
        "calls": ROWS,
        "calls_429": throttled,
        "share_429": throttled / ROWS,
        "succeeded": ok,
        "report_lines": 0,
    }


def main() -> dict:
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(4) as pool:
        folder = Path(tmp)
        jobs = [pool.submit(measure_tool, mode, folder) for mode in MODES] + [pool.submit(measure_naive, folder)]
        results = [job.result() for job in jobs]
    rows = [["counting", "rows/s", "ratio", "steady pace ÷ (N/S)", "calls", "429s", "429 share", "succeeded"]]
    for r in results:
        rows.append([r["mode"], f"{r['rows_per_second']:.2f}", f"{r['ratio']:.3f}", f"{r['steady_ratio']:.3f}", r["calls"], r["calls_429"], f"{r['share_429']:.2%}", f"{r['succeeded']}/{ROWS}"])
    print(table(rows))
    print("target: ratio >= 0.97, steady pace >= 0.975, 429s <= 0.5% of calls, every row succeeded")
    return {"rows": ROWS, "rate": f"{CALLS}/{PERIOD:g}", "results": results}


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
