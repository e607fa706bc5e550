"""Sharing the account: 200 rows at 25/5 while another integration uses part of the limit.

The sandbox (sliding window, latency 0.1-0.6 s, 0-0.1 s arrival jitter) runs the other
integration itself (`--other-integration B`, evenly spaced, or `--other-bursts`), for a whole
window before the tool starts (steady state, as on a real shared account). With no flag the tool must learn the room; beside it, in the same run, the
tool told the room by hand (`--headroom`), which is the baseline. Targets:
- other evenly using 10 of 25, no flag: in-run within 1.05x of `--headroom 40`; at most 8% of
  calls answered 429; the other integration gets at most 5 more 429s than with `--headroom 40`,
  all in the opening window;
- other evenly using 20 of 25, no flag: at most 25% of calls answered 429; the other gets at
  most 5, all in the opening window;
- a bursting other integration: reported, no target;
- other using 20 of 25, its calls 0-0.1 s late: it loses no call after the opening
  window (a probe may still cost it one now and then: reported beside --headroom 80).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import sandbox_process, table, write_sheet
from timed import run_timed

ROWS = 200
SANDBOX = ["--rate", "25/5", "--latency", "0.1-0.6", "--arrival-jitter", "0.1"]
WARM_UP = 5.5  # the other integration fills its share of a whole window before the tool starts
OPENING = 5.0 + 0.1 + 0.6  # the opening window: a period, the jitter and the last latency
RUNS = int(os.environ.get("BENCH_RUNS", 3))
CASES = [  # (name, other integration's sandbox options, the tool's options)
    ("10 of 25 evenly, no flag", ["--other-integration", "10"], []),
    ("10 of 25 evenly, --headroom 40", ["--other-integration", "10"], ["--headroom", "40"]),
    ("20 of 25 evenly, no flag", ["--other-integration", "20"], []),
    ("20 of 25 evenly, --headroom 80", ["--other-integration", "20"], ["--headroom", "80"]),
    ("10 of 25 in bursts, no flag", ["--other-integration", "10", "--other-bursts"], []),
    ("20 of 25 in bursts, no flag", ["--other-integration", "20", "--other-bursts"], []),
    # Its calls 0-0.1 s late (transit), as a real neighbour's are.
    ("20 of 25 jittered 0-0.1 s, no flag", ["--other-integration", "20", "--other-jitter", "0.1"], []),
    ("20 of 25 jittered 0-0.1 s, --headroom 80", ["--other-integration", "20", "--other-jitter", "0.1"], ["--headroom", "80"]),
]


def one_case(folder: Path, case: int, run: int) -> dict:
    name, other, options = CASES[case]
    sheet = folder / f"{case}-{run}.csv"
    write_sheet(sheet, ROWS)
    with sandbox_process(*SANDBOX, "--seed", str(run), *other) as url:
        time.sleep(WARM_UP)
        timed = run_timed(sheet, folder / f"out-{case}-{run}", url, "--rate", "25/5", *options)
    figures = timed.as_dict()
    figures["other_throttled_after_opening"] = sum(t > OPENING for t in timed.other_throttled_in_run)
    return {"case": name, "run": run, **figures}


def spread(values: list[float], fmt: str = "{:.1f}") -> str:
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def main() -> dict:
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(len(CASES)) as pool:
        jobs = [pool.submit(one_case, Path(tmp), case, run) for run in range(RUNS) for case in range(len(CASES))]
        results = [job.result() for job in jobs]
    lines = [["case", "in-run s", "calls", "429s", "429 share", "other's 429s in the run", "of them after the opening window", "rows applied"]]
    for name, _, _ in CASES:
        mine = [r for r in results if r["case"] == name]
        lines.append([
            name, spread([r["in_run"] for r in mine]), spread([r["calls"] for r in mine], "{:.0f}"), spread([r["throttled"] for r in mine], "{:.0f}"),
            spread([r["throttled"] / r["calls"] for r in mine], "{:.1%}"), spread([r["other_throttled"] for r in mine], "{:.0f}"),
            spread([r["other_throttled_after_opening"] for r in mine], "{:.0f}"), spread([r["applied"] for r in mine], "{:.0f}"),
        ])
    print(table(lines))
    print(f"median (min-max) of {RUNS} runs")
    return {"runs": RUNS, "rows": ROWS, "results": results}
