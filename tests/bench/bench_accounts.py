"""One account, one window: back-to-back and side-by-side runs at the physical bound.

Each case runs against its own sandbox (strict sliding window 25/5, latency 0.1-0.6 s, 0-0.1 s of
arrival jitter: the issue's), with the tool at 25/5 and --no-canary (the canary's first update waits
for its reads: a latency the bound does not count). Beside it, in the same run, today's code (the
limiter before the ledger, today_limiter.py, through today_cli.py) and the bound. The sandbox runs in
another process, on the same monotonic clock, so times run from a command's launch to the arrival of
its last update; a command's "calls" are every call the sandbox saw from it (key check, the field
check's read, updates, 429s included).

The bound of C calls from an empty window: the last starts floor((C - 1) / 25) * 5.1 s after the
first. Targets, with S = Python's start-up with aiohttp and pandas (measured here):
- resume at once after Ctrl-C (or kill -9) 12 s into a 150-row run: <= 1.15 x bound + 5.1 s + S, <= 3 429s;
- a 110-row run right after another: the second likewise;
- two 100-row runs started together (two processes), or the page's run and retry of another run
  (two jobs, one process): both done <= 1.15 x the bound of all their calls + S, <= 5 429s;
- another integration at 10 or 20 of 25 that stops 60 s into a 1,500-row run: our pace back to
  25 per window within 3 windows of its last call; the run <= 1.10 x ideal (60 s at the room it left,
  then the bound);
- another integration at 20 of 25 whose calls arrive 0-0.1 s late (transit): it loses no call
  after the opening window;
- a retry of 20 rows right after a 120-row run: <= 1.15 x its bound + 5.1 s + S.
Sharing at 10 and 20 of 25, evenly or in bursts: `make bench BENCH=sharing`. Memory at a lifted
limit: `make bench BENCH=memory` (the case `memory` here runs its 1,000,000-row run with either code).

BENCH_RUNS (default 3) runs per case; BENCH_CASES (names, comma-separated; default all but memory);
BENCH_CODES (default ledger,today); BENCH_PARALLEL (default 12) cases at once, each against its own sandbox, the longest first. The machine
is shared, so figures are noisy: each case prints the median and the spread (min-max) of its runs.
"""

from __future__ import annotations

import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from common import KEYS, sandbox_process, sandbox_state, table, write_sheet

HERE = Path(__file__).resolve().parent
SANDBOX = ["--rate", "25/5", "--latency", "0.1-0.6", "--arrival-jitter", "0.1"]
TOOL = ["--rate", "25/5", "--no-progress", "--no-canary"]
CALLS, WINDOW = 25, 5.1
WARM_UP = 5.5  # a neighbour works a whole window before the tool starts
OPENING = 5.0 + 0.1 + 0.6
RUNS = int(os.environ.get("BENCH_RUNS", 3))
PARALLEL = int(os.environ.get("BENCH_PARALLEL", 12))
CODES = tuple(os.environ.get("BENCH_CODES", "ledger,today").split(","))


def bound(calls: int) -> float:
    return math.floor((calls - 1) / CALLS) * WINDOW if calls else 0.0


def command(code: str, *args: str) -> list[str]:
    if code == "today":
        return [sys.executable, str(HERE / "today_cli.py"), *args]
    return [sys.executable, "-m", "bulk_updater", *args]


def env_for(url: str, state: Path) -> dict[str, str]:
    return {**os.environ, **KEYS, "LSQ_HOST": url, "BULK_UPDATER_STATE_DIR": str(state)}


@dataclass
class Snapshot:
    """What the sandbox had seen at a moment: to tell one command's calls from another's."""

    calls: int
    throttled: int
    arrivals: int

    @classmethod
    def of(cls, state: dict) -> Snapshot:
        return cls(state["calls"] + state["user_calls"] + state["retrieve_calls"], state["throttled"], len(state["arrivals"]))


@dataclass
class Result:
    case: str
    code: str
    run: int
    seconds: float  # the command(s) measured: launch to the last update's arrival
    calls: int
    throttled: int
    target: float
    max_throttled: int | None
    extra: dict = field(default_factory=dict)

    @property
    def met(self) -> bool:
        ok = self.seconds <= self.target and (self.max_throttled is None or self.throttled <= self.max_throttled)
        return ok and all(self.extra.get("met", {}).values())


def startup_seconds() -> float:
    """Python starting and importing aiohttp and pandas, as the CLI does before its first call."""
    times = []
    for _ in range(3):
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", "import aiohttp, pandas"], check=True)
        times.append(time.monotonic() - started)
    return statistics.median(times)


def measured(url: str, before: Snapshot, launched: float) -> tuple[float, int, int]:
    state = sandbox_state(url)
    after = Snapshot.of(state)
    arrivals = state["arrivals"][before.arrivals:]
    return (max(arrivals) - launched if arrivals else math.nan), after.calls - before.calls, after.throttled - before.throttled


def wait_for(condition: Callable[[], bool], process: subprocess.Popen | None = None, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the tool ended early: {process.communicate()[1][-2000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError("timed out")
        time.sleep(0.02)


def run_to_end(code: str, url: str, state: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(command(code, *args), env=env_for(url, state), capture_output=True, text=True)
    if result.returncode not in (0, 1):
        raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stderr[-2000:]}")
    return result


# -- the cases: each returns a Result --


def stopped_then_resumed(code: str, run: int, work: Path, startup: float, sig: int) -> Result:
    """150 rows; `sig` 12 s after the key check (just after the third window's burst); `resume` at once."""
    name = "Ctrl-C, resume at once" if sig == signal.SIGINT else "kill -9, resume at once"
    sheet, out, state = work / "in.csv", work / "out", work / "state"
    write_sheet(sheet, 150)
    with sandbox_process(*SANDBOX, "--seed", str(run)) as url:
        process = subprocess.Popen(command(code, "run", str(sheet), "--out", str(out), *TOOL), env=env_for(url, state),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: bool(sandbox_state(url)["user_arrivals"]), process)
        key_check = sandbox_state(url)["user_arrivals"][0]
        time.sleep(max(0.0, key_check + 12 - time.monotonic()))
        process.send_signal(sig)
        process.communicate(timeout=60)
        before = Snapshot.of(sandbox_state(url))
        launched = time.monotonic()
        run_to_end(code, url, state, "resume", str(out), "--no-progress")
        seconds, calls, throttled = measured(url, before, launched)
    return Result(name, code, run, seconds, calls, throttled, 1.15 * bound(calls) + WINDOW + startup, 3)


def run_then_run(code: str, run: int, work: Path, startup: float) -> Result:
    state = work / "state"
    with sandbox_process(*SANDBOX, "--seed", str(run)) as url:
        for n in (1, 2):
            write_sheet(work / f"{n}.csv", 110)
            before = Snapshot.of(sandbox_state(url))
            launched = time.monotonic()
            run_to_end(code, url, state, "run", str(work / f"{n}.csv"), "--out", str(work / f"out-{n}"), *TOOL)
        seconds, calls, throttled = measured(url, before, launched)
    return Result("110 rows, then at once another 110", code, run, seconds, calls, throttled, 1.15 * bound(calls) + WINDOW + startup, 3)


def two_at_once(code: str, run: int, work: Path, startup: float) -> Result:
    state = work / "state"
    with sandbox_process(*SANDBOX, "--seed", str(run)) as url:
        for n in (1, 2):
            write_sheet(work / f"{n}.csv", 100)
        before = Snapshot.of(sandbox_state(url))
        launched = time.monotonic()
        processes = [subprocess.Popen(command(code, "run", str(work / f"{n}.csv"), "--out", str(work / f"out-{n}"), *TOOL),
                                      env=env_for(url, state), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for n in (1, 2)]
        for process in processes:
            _, err = process.communicate(timeout=1800)
            if process.returncode not in (0, 1):
                raise RuntimeError(err[-2000:])
        seconds, calls, throttled = measured(url, before, launched)
    return Result("two 100-row runs at once", code, run, seconds, calls, throttled, 1.15 * bound(calls) + startup, 5)


def page_run_and_retry(code: str, run: int, work: Path, startup: float) -> Result:
    """The page: a 100-row run and a retry of another run's 99 rows not sent, as two jobs of one process."""
    state = work / "state"
    with sandbox_process(*SANDBOX, "--seed", str(run)) as url:
        write_sheet(work / "earlier.csv", 100)
        run_to_end(code, url, state, "run", str(work / "earlier.csv"), "--out", str(work / "earlier"), *TOOL, "--max-calls", "1")
        time.sleep(WINDOW + 0.5)  # the earlier run's calls leave the window
        write_sheet(work / "run.csv", 100)
        before = Snapshot.of(sandbox_state(url))
        launched = time.monotonic()
        page = [str(HERE / "page_jobs.py")] if code == "ledger" else [str(HERE / "today_cli.py"), "--page"]
        result = subprocess.run([sys.executable, *page, str(work / "page"), str(work / "run.csv"), str(work / "earlier" / "failed.csv")],
                                env=env_for(url, state), capture_output=True, text=True)
        if result.returncode:
            raise RuntimeError(result.stderr[-2000:])
        seconds, calls, throttled = measured(url, before, launched)
    return Result("the page: a run and a retry at once", code, run, seconds, calls, throttled, 1.15 * bound(calls) + startup, 5)


def retry_after_run(code: str, run: int, work: Path, startup: float) -> Result:
    """120 rows, of which 20 name activities the sandbox doesn't have; `retry` of the 20 at once."""
    state = work / "state"
    ids = write_sheet(work / "in.csv", 120)
    with (work / "known.txt").open("w") as f:
        f.write("\n".join(ids[:100]) + "\n")
    with sandbox_process(*SANDBOX, "--seed", str(run), "--activities", str(work / "known.txt")) as url:
        run_to_end(code, url, state, "run", str(work / "in.csv"), "--out", str(work / "run"), *TOOL)
        before = Snapshot.of(sandbox_state(url))
        launched = time.monotonic()
        run_to_end(code, url, state, "retry", str(work / "run" / "failed.csv"), "--out", str(work / "retry"), *TOOL)
        seconds, calls, throttled = measured(url, before, launched)
    return Result("retry of 20 rows right after a 120-row run", code, run, seconds, calls, throttled, 1.15 * bound(calls) + WINDOW + startup, None)


def neighbour_stops(other: int, code: str, run: int, work: Path, startup: float) -> Result:
    """Another integration uses `other` of 25 evenly, and stops 60 s into a 1,500-row run."""
    state = work / "state"
    write_sheet(work / "in.csv", 1500)
    with sandbox_process(*SANDBOX, "--seed", str(run), "--other-integration", str(other), "--other-stops-after", str(WARM_UP + 60)) as url:
        time.sleep(WARM_UP)
        run_to_end(code, url, state, "run", str(work / "in.csv"), "--out", str(work / "out"), *TOOL)
        sandbox = sandbox_state(url)
    key_check = sandbox["user_arrivals"][0]
    arrivals = sorted(sandbox["arrivals"])
    stopped = sandbox["other_last_at"]
    in_run = arrivals[-1] - key_check
    room_rows = (stopped - key_check) / WINDOW * (CALLS - other)
    ideal = (stopped - key_check) + (1500 - room_rows) / CALLS * WINDOW
    back = back_to_ceiling(arrivals, stopped)
    extra = {"ideal": ideal, "back_to_25": back, "met": {"back within 3 windows": back is not None and back <= 3 * WINDOW}}
    return Result(f"other at {other} of 25 stops after 60 s, 1,500 rows", code, run, in_run, len(arrivals), sandbox["throttled"], 1.10 * ideal, None, extra)


def back_to_ceiling(arrivals: list[float], since: float) -> float | None:
    """Seconds from `since` to the end of the first of the windows (5.1 s each, from `since`) that holds 24
    or more of our arrivals (25 a window, give or take the phase): the pace is back at 25/5."""
    for k in range(int((max(arrivals, default=since) - since) / WINDOW) + 1):
        if sum(since + k * WINDOW <= t < since + (k + 1) * WINDOW for t in arrivals) >= CALLS - 1:
            return (k + 1) * WINDOW
    return None


def jittered_neighbour(code: str, run: int, work: Path, startup: float) -> Result:
    """Another integration at 20 of 25, its calls 0-0.1 s late (transit); 200 rows."""
    state = work / "state"
    write_sheet(work / "in.csv", 200)
    with sandbox_process(*SANDBOX, "--seed", str(run), "--other-integration", "20", "--other-jitter", "0.1") as url:
        time.sleep(WARM_UP)
        run_to_end(code, url, state, "run", str(work / "in.csv"), "--out", str(work / "out"), *TOOL)
        sandbox = sandbox_state(url)
    key_check = sandbox["user_arrivals"][0]
    end = max(sandbox["arrivals"])
    lost = [t - key_check for t in sandbox["other_throttled_at"] if key_check - 0.01 <= t <= end + 5]
    after = sum(t > OPENING for t in lost)
    extra = {"other_429s": len(lost), "other_429s_after_opening": after, "met": {"the other loses none after the opening window": after == 0}}
    return Result("other at 20 of 25, its calls jittered 0-0.1 s", code, run, end - key_check, sandbox["calls"], sandbox["throttled"], math.inf, None, extra)


def memory(code: str, run: int, work: Path, startup: float) -> Result:
    """1,000,000 rows at a lifted limit: the tool's own peak RSS (own_peak.py)."""
    from own_peak import own_peak_mb

    write_sheet(work / "in.csv", 1_000_000)
    with sandbox_process("--rate", "none", "--counters-only") as url:
        args = ["run", str(work / "in.csv"), "--out", str(work / "out"), "--no-progress", "--no-canary", "--rate", "1000000/1"]
        exit_code, peak, seconds = own_peak_mb(command(code, *args), env_for(url, work / "state"))
    if exit_code != 0:
        raise RuntimeError(f"the tool failed: exit {exit_code}")
    return Result("1,000,000 rows, limit lifted: peak RSS MB", code, run, seconds, 1_000_000, 0, math.inf, None, {"peak_rss_mb": peak})


CASES: dict[str, Callable[..., Result]] = {
    "stop20": lambda *a: neighbour_stops(20, *a),
    "stop10": lambda *a: neighbour_stops(10, *a),
    "jitter": jittered_neighbour,
    "ctrl_c": lambda *a: stopped_then_resumed(*a, sig=signal.SIGINT),
    "kill": lambda *a: stopped_then_resumed(*a, sig=signal.SIGKILL),
    "two": two_at_once,
    "page": page_run_and_retry,
    "run_run": run_then_run,
    "retry": retry_after_run,
    "memory": memory,
}


def main() -> dict:
    chosen = [name for name in os.environ.get("BENCH_CASES", ",".join(n for n in CASES if n != "memory")).split(",") if name]
    startup = startup_seconds()
    runs = 1 if chosen == ["memory"] else RUNS
    jobs = [(name, code, run) for name in chosen for run in range(runs) for code in CODES]
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(1 if "memory" in chosen else PARALLEL) as pool:
        def one(name: str, code: str, run: int) -> Result:
            work = Path(tmp) / f"{name}-{code}-{run}-{uuid.uuid4().hex[:6]}"
            work.mkdir()
            return CASES[name](code, run, work, startup)

        results = [future.result() for future in [pool.submit(one, *job) for job in jobs]]
    print_table(results, startup, runs)
    return {"runs": runs, "startup_seconds": startup, "results": [r.__dict__ for r in results]}


def spread(values: list[float], fmt: str = "{:.1f}") -> str:
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not values:
        return "-"
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def print_table(results: list[Result], startup: float, runs: int) -> None:
    lines = [["case", "code", "seconds", "target s", "calls", "429s", "more", "met"]]
    for case in dict.fromkeys(r.case for r in results):
        for code in CODES:
            mine = [r for r in results if r.case == case and r.code == code]
            if not mine:
                continue
            more = ""
            if "back_to_25" in mine[0].extra:
                more = f"ideal {spread([r.extra['ideal'] for r in mine])}; back to 25/5 after its stop {spread([r.extra['back_to_25'] for r in mine])} s"
            elif "other_429s" in mine[0].extra:
                more = f"other's 429s {spread([r.extra['other_429s'] for r in mine], '{:.0f}')}, after the opening window {spread([r.extra['other_429s_after_opening'] for r in mine], '{:.0f}')}"
            elif "peak_rss_mb" in mine[0].extra:
                more = f"peak RSS {spread([r.extra['peak_rss_mb'] for r in mine], '{:.0f}')} MB"
            target = "-" if math.isinf(mine[0].target) else spread([r.target for r in mine])
            limit = f" (<= {mine[0].max_throttled})" if mine[0].max_throttled is not None else ""
            lines.append([case, code, spread([r.seconds for r in mine]), target, spread([r.calls for r in mine], "{:.0f}"),
                          spread([r.throttled for r in mine], "{:.0f}") + limit, more, f"{sum(r.met for r in mine)}/{len(mine)}"])
    print(table(lines))
    print(f"median (min-max) of {runs} run(s) per case; start-up allowed in the targets: {startup:.2f} s; "
          "the machine is shared with other work, so times are noisy")
