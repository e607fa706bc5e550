"""Huge answers: 20 rows, each answered 500 with a 50 MB MX error body, and 5 rows answered with
a gzip bomb (1 MB that inflates to 1 GB).

Beside them, the same rows answered with a normal MX error of a few dozen bytes: the peak
memory, time and output a huge answer costs over a normal one (the issue measured 1.35 GB,
2.1 GB of report files and a 52 MB line on stdout before bodies were capped at 64 KB).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

from aiohttp import web
from common import table, write_sheet
from test_hostile_server import ACCESS_KEY, SECRET_KEY, ScriptedServer

MB = 1 << 20
NORMAL = json.dumps({"Status": "Error", "ExceptionType": "MXInvalidEntityException", "ExceptionMessage": "Activity does not exist"})


async def normal(request: web.Request) -> web.Response:
    return web.Response(status=500, text=NORMAL, content_type="application/json")


async def fifty_mb(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(status=500, headers={"Content-Type": "application/json"})
    await response.prepare(request)
    chunk = b"Activity does not exist. " * (MB // 25)
    try:
        await response.write(b'{"ExceptionType": "MXInvalidEntityException", "ExceptionMessage": "')
        for _ in range(50):
            await response.write(chunk)
        await response.write(b'"}')
    except (ConnectionError, RuntimeError):
        pass  # the tool stopped reading: what it should do
    return response


def _gzip_bomb() -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [packer.compress(b'{"ExceptionType": "MXBomb", "ExceptionMessage": "')]
    parts += [packer.compress(b"A" * MB) for _ in range(1024)]
    return b"".join(parts) + packer.compress(b'"}') + packer.flush()


def gzip_bomb_handler():
    bomb = _gzip_bomb()

    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=500, body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})

    return handler


def measure(folder: Path, name: str, handler, rows: int) -> dict:
    write_sheet(folder / f"{name}.csv", rows)
    with ScriptedServer(update=handler) as box:
        env = {**os.environ, "LSQ_ACCESS_KEY": ACCESS_KEY, "LSQ_SECRET_KEY": SECRET_KEY}
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "bulk_updater", "run", str(folder / f"{name}.csv"), "--out", str(folder / name),
             "--host", box.url, "--no-progress", "--rate", "1000/1", "--concurrency", "5"],
            env=env, capture_output=True, text=True,
        )
        seconds = time.monotonic() - started
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if result.returncode != 1:
        raise RuntimeError(f"expected exit 1, got {result.returncode}: {result.stderr[-2000:]}")
    files = {p.name: p.stat().st_size for p in (folder / name).iterdir() if p.is_file()}
    return {
        "rows": rows,
        "seconds": round(seconds, 1),
        # RUSAGE_CHILDREN keeps the largest child so far: measured in rising order below.
        "peak_rss_mb": round(max(peak, before) / 1024),
        "report_bytes": files["report.csv"] + files["failed.csv"] + files["summary.json"],
        "longest_printed_line": max(map(len, (result.stdout + result.stderr).splitlines())),
    }


def main() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        figures = {
            "normal_mx_body": measure(folder, "normal", normal, 20),
            "fifty_mb_mx_body": measure(folder, "huge", fifty_mb, 20),
            "gzip_bomb_1gb": measure(folder, "bomb", gzip_bomb_handler(), 5),
        }
    rows = [["answer", "rows", "seconds", "peak RSS MB", "report+failed+summary bytes", "longest printed line"]]
    rows += [[name, f["rows"], f["seconds"], f["peak_rss_mb"], f"{f['report_bytes']:,}", f"{f['longest_printed_line']:,}"] for name, f in figures.items()]
    print(table(rows))
    return figures
