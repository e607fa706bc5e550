"""Client headroom: with the limit lifted and no latency, how many rows/s the tool pushes.

The sandbox runs in its own process on loopback. Beside the tool (the real CLI: reading,
planning, pacing, sending, classifying, writing the report), a bare aiohttp loop posts the
same bodies from the same number of workers and does nothing else.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import aiohttp
from common import KEYS, run_tool, sandbox_process, table, write_sheet

ROWS, WORKERS = 20_000, 25


async def bare_loop(url: str, ids: list[str]) -> float:
    headers = {"x-LSQ-AccessKey": KEYS["LSQ_ACCESS_KEY"], "x-LSQ-SecretKey": KEYS["LSQ_SECRET_KEY"]}
    pending = iter(ids)

    async def worker(session: aiohttp.ClientSession) -> None:
        for n, id_ in enumerate(pending):
            body = {"CompanyActivityId": id_, "ActivityNote": f"note {n}", "Fields": [{"SchemaName": "Status", "Value": "Won"}, {"SchemaName": "mx_Custom_1", "Value": f"{n:05d}"}]}
            async with session.post(url + "/v2/CompanyActivity.svc/Update", json=body, headers=headers) as response:
                await response.text()

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=WORKERS)) as session:
        started = time.monotonic()
        await asyncio.gather(*(worker(session) for _ in range(WORKERS)))
        return len(ids) / (time.monotonic() - started)


def main() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ids = write_sheet(folder / "in.csv", ROWS)
        with sandbox_process("--rate", "none") as url:
            bare = asyncio.run(bare_loop(url, ids))
            summary = run_tool(folder / "in.csv", folder / "out", url, "--rate", "1000000/1", "--concurrency", str(WORKERS))
    tool = summary["counts"]["success"] / summary["elapsed_seconds"]
    print(table([["", "rows/s"], ["bulk-updater", f"{tool:,.0f}"], ["bare aiohttp loop", f"{bare:,.0f}"], ["ratio", f"{tool / bare:.2f}"]]))
    print("target: >= 1,000 rows/s, ratio >= 0.7")
    return {"rows": ROWS, "workers": WORKERS, "tool_rows_per_second": tool, "bare_rows_per_second": bare, "ratio": tool / bare}
