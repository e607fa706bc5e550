"""Memory stays flat at a lifted limit: peak RSS of `run` on 1,000,000 rows beside 100,000.

The limit is lifted (`--rate 1000000/1`, sandbox `--rate none --counters-only`), so the
tool runs as fast as the client goes and the log of starts holds as many as one window sees.
Peak RSS is the tool process's own, measured from a small process (own_peak.py), not by os.wait4
on the child: a child inherits its parent's peak, and this bench's own (138 MB after writing the
million-row sheet, shown beside it) would hide the tool's.
Target: the 1,000,000-row run within 20 MB of the 100,000-row run.

Beside it, in process, the start log alone: the limiter after 1,000,000 starts at 10,000 a
second, against the baseline of a log that keeps every start (a deque whose maxlen is the
call count).
"""

from __future__ import annotations

import os
import sys
import tempfile
import tracemalloc
from collections import deque
from pathlib import Path

from common import KEYS, sandbox_process, table, write_sheet
from own_peak import floor_mb, own_peak_mb

SIZES = tuple(int(n) for n in os.environ.get("BENCH_SIZES", "100000,1000000").split(","))


def peak_rss_mb(sheet: Path, out: Path, url: str) -> tuple[float, float]:
    env = {**os.environ, **KEYS, "LSQ_HOST": url}
    command = [sys.executable, "-m", "bulk_updater", "run", str(sheet), "--out", str(out), "--no-progress", "--rate", "1000000/1"]
    code, peak, seconds = own_peak_mb(command, env)
    if code != 0:
        raise RuntimeError(f"the tool failed: exit {code}")
    return peak, seconds


def own_high_water_mb() -> float:
    """This process's peak RSS so far (Linux VmHWM)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024


def start_log_kb() -> tuple[int, float, float]:
    from bulk_updater.calls import WindowLimiter

    tracemalloc.start()
    limiter = WindowLimiter(1_000_000, 1.0, 0.1)
    for n in range(1_000_000):
        now = n / 10_000
        limiter.next_start(now)
        limiter.start(now)
    # Private on purpose: the log of starts is the memory measured, and has no public size.
    kept, size = len(limiter._starts), tracemalloc.get_traced_memory()[0] / 1024
    tracemalloc.stop()
    tracemalloc.start()
    every = deque(maxlen=1_000_000)
    for n in range(1_000_000):
        every.append(n / 10_000)
    baseline = tracemalloc.get_traced_memory()[0] / 1024
    tracemalloc.stop()
    return kept, size, baseline


def main() -> dict:
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for rows in SIZES:
            write_sheet(folder / f"{rows}.csv", rows)
            with sandbox_process("--rate", "none", "--counters-only") as url:
                inherited = own_high_water_mb()
                rss, seconds = peak_rss_mb(folder / f"{rows}.csv", folder / f"out-{rows}", url)
            runs.append({"rows": rows, "peak_rss_mb": rss, "seconds": seconds, "bench_peak_mb": inherited})
            (folder / f"{rows}.csv").unlink()
    kept, log_kb, every_kb = start_log_kb()
    floor = floor_mb()
    lines = [["run, limit lifted", "peak RSS MB", "seconds", "bench's own peak MB (os.wait4 on its child gave the larger)"]]
    lines += [[f"{r['rows']:,} rows", f"{r['peak_rss_mb']:.0f}", f"{r['seconds']:.0f}", f"{r['bench_peak_mb']:.0f}"] for r in runs]
    lines.append(["floor: python -c pass, measured the same way", f"{floor:.0f}", "", ""])
    print(table(lines))
    if len(runs) == 2:
        print(f"growth {runs[1]['peak_rss_mb'] - runs[0]['peak_rss_mb']:.0f} MB; target <= 20 MB")
    print(table([
        ["start log after 1,000,000 starts at 10,000/s", "entries", "KB"],
        ["the limiter (keeps one window)", f"{kept:,}", f"{log_kb:,.0f}"],
        ["baseline: a log keeping every start", "1,000,000", f"{every_kb:,.0f}"],
    ]))
    return {"runs": runs, "floor_mb": floor, "start_log_entries": kept, "start_log_kb": log_kb, "every_start_kb": every_kb}
