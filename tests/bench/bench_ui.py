"""Does the web page stay responsive during a 100,000-row run?

The page's server runs in-process (as `bulk-updater ui` does), the sandbox in its own
process. A 100,000-row run is started from the page; while its thread counts the sheet
and sends, the home page is fetched every 0.1 s and the live events are read. Baseline,
in the same run: the home page's latency with no run going. The run is stopped with the
Stop button after SEND_SECONDS (the rows left are recorded not_sent), which also times
the clean stop and the final writes of a big report.
"""

from __future__ import annotations

import asyncio
import csv
import resource
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
from common import KEYS, sandbox_process

from bulk_updater.ui import UiThread
from bulk_updater.ui.guard import KEY_HEADER

ROWS = 100_000
SEND_SECONDS = 15.0


def _sheet(path: Path) -> Path:
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["CompanyActivityId", "Status", "mx_Custom_1"])
        for n in range(ROWS):
            out.writerow([str(uuid.uuid4()), "Won", n])
    return path


async def _latencies(session, url, headers, seconds: float, until=None) -> list[float]:
    times = []
    end = time.monotonic() + seconds
    while time.monotonic() < end and not (until and until()):
        started = time.monotonic()
        async with session.get(url, headers=headers) as response:
            await response.read()
        times.append(time.monotonic() - started)
        await asyncio.sleep(0.1)
    return times


async def _bench(server: UiThread, sheet: Path) -> dict:
    signed = {KEY_HEADER: server.token}
    posting = {**signed, "Origin": server.base}
    async with aiohttp.ClientSession() as session:
        idle = await _latencies(session, server.base + "/", signed, 3.0)
        with sheet.open("rb") as f:
            form = aiohttp.FormData()
            form.add_field("sheet", f, filename="big.csv")
            started = time.monotonic()
            async with session.post(server.base + "/upload", data=form, headers=posting, allow_redirects=False) as r:
                upload_id = r.headers["Location"].rsplit("/", 1)[-1]
        upload_seconds = time.monotonic() - started
        started = time.monotonic()
        async with session.get(f"{server.base}/check/{upload_id}", headers=signed) as r:
            await r.read()
        check_seconds = time.monotonic() - started
        async with session.post(server.base + "/connect", data={"next": "/"}, headers=posting) as r:
            assert r.status == 200
        async with session.post(f"{server.base}/options/{upload_id}", data={"rate": "100000/1", "concurrency": "50"}, headers=posting) as r:
            pass
        async with session.post(f"{server.base}/start/{upload_id}", headers=posting, allow_redirects=False) as r:
            run_id = r.headers["Location"].rsplit("/", 1)[-1]
        events: list[float] = []
        last: dict = {}

        async def read_events() -> None:
            nonlocal last
            async with session.get(f"{server.base}/runs/{run_id}/events", headers=signed, timeout=aiohttp.ClientTimeout(total=None)) as r:
                async for raw in r.content:
                    if raw.startswith(b"data: "):
                        events.append(time.monotonic())
                        import json
                        last = json.loads(raw[6:]) or last

        reader = asyncio.create_task(read_events())
        busy = await _latencies(session, server.base + "/", signed, SEND_SECONDS)
        done_at_stop = last.get("done", 0)
        stop_started = time.monotonic()
        async with session.post(f"{server.base}/runs/{run_id}/stop", headers=posting, allow_redirects=False):
            pass
        stopping = await _latencies(session, server.base + "/", signed, 120, until=reader.done)
        await asyncio.wait_for(reader, 120)
        stop_seconds = time.monotonic() - stop_started
    span = events[-1] - events[0] if len(events) > 1 else 1
    return {
        "rows": ROWS, "upload_s": round(upload_seconds, 2), "check_page_s": round(check_seconds, 2),
        "home_idle_median_ms": round(statistics.median(idle) * 1000, 1), "home_idle_max_ms": round(max(idle) * 1000, 1),
        "home_busy_median_ms": round(statistics.median(busy) * 1000, 1), "home_busy_max_ms": round(max(busy) * 1000, 1),
        "home_stopping_max_ms": round(max(stopping) * 1000, 1) if stopping else None,
        "events_per_second": round(len(events) / span, 2), "rows_done_in_send_window": done_at_stop,
        "stop_to_end_s": round(stop_seconds, 2), "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> dict:
    with tempfile.TemporaryDirectory() as tmp, sandbox_process("--rate", "100000/1") as url:
        sheet = _sheet(Path(tmp) / "big.csv")
        with UiThread(Path(tmp) / "ws", {"LSQ_HOST": url, **KEYS}) as server:
            figures = asyncio.run(_bench(server, sheet))
    width = max(len(k) for k in figures)
    for name, value in figures.items():
        print(f"{name:<{width}}  {value}")
    return figures
