"""Pieces the benchmarks share: a sandbox in its own process, a generated sheet, the real CLI."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

from bulk_updater.sandbox.server import DEMO_ACCESS_KEY, DEMO_SECRET_KEY

KEYS = {"LSQ_ACCESS_KEY": DEMO_ACCESS_KEY, "LSQ_SECRET_KEY": DEMO_SECRET_KEY}


@contextlib.contextmanager
def sandbox_process(*options: str) -> Iterator[str]:
    """Run `bulk-updater sandbox --port 0 OPTIONS` in its own process; yield its URL."""
    env = {**os.environ, **KEYS}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bulk_updater", "sandbox", "--port", "0", *options],
        stdout=subprocess.PIPE, text=True, env=env,
    )
    try:
        line = proc.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError(f"the sandbox did not start: {line!r}")
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        proc.terminate()
        proc.wait(10)


def sandbox_state(url: str) -> dict:
    import urllib.request

    with urllib.request.urlopen(url + "/_sandbox/state") as response:
        return json.load(response)


def write_sheet(path: Path, rows: int) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(rows)]
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["CompanyActivityId", "ActivityNote", "Status", "mx_Custom_1"])
        out.writerows([id_, f"note {n}", "Won", f"{n:05d}"] for n, id_ in enumerate(ids))
    return ids


def run_tool(sheet: Path, out: Path, url: str, *options: str) -> dict:
    """Run the real CLI; return its summary.json."""
    env = {**os.environ, **KEYS, "LSQ_HOST": url}
    result = subprocess.run(
        [sys.executable, "-m", "bulk_updater", "run", str(sheet), "--out", str(out), "--no-progress", *options],
        env=env, capture_output=True, text=True,
    )
    if result.returncode not in (0, 1):
        raise RuntimeError(f"the tool failed ({result.returncode}): {result.stderr[-2000:]}")
    return json.loads((out / "summary.json").read_text())


def report_lines(out: Path) -> list[dict[str, str]]:
    with (out / "report.csv").open(newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def table(rows: list[list[object]]) -> str:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)) for row in rows)
