"""A run of the real CLI timed two ways: whole process, and in-run as the sandbox saw it.

The sandbox runs in another process, but both read the same monotonic clock, so the time from
launch to any arrival at the sandbox can be measured. In-run figures are from the key check's
arrival (the run's first call) to the last update's arrival.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from common import KEYS, sandbox_state


@dataclass
class Timed:
    whole: float  # launch to exit, seconds
    in_run: float  # key check's arrival to the last update's arrival
    launch_to_first_update: float
    calls: int  # update calls the sandbox saw, and of them answered 429
    throttled: int
    applied: int
    other_calls: int
    other_throttled: int
    other_throttled_in_run: list[float]  # seconds after the key check's arrival

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def run_timed(sheet: Path, out: Path, url: str, *options: str) -> Timed:
    env = {**os.environ, **KEYS, "LSQ_HOST": url}
    before = sandbox_state(url)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "bulk_updater", "run", str(sheet), "--out", str(out), "--no-progress", *options],
        env=env, capture_output=True, text=True,
    )
    whole = time.monotonic() - started
    if result.returncode not in (0, 1):
        raise RuntimeError(f"the tool failed ({result.returncode}): {result.stderr[-2000:]}")
    state = sandbox_state(url)
    key_check = state["user_arrivals"][-1]
    arrivals = state["arrivals"][len(before["arrivals"]):]
    end = max(arrivals)
    other_in_run = [t - key_check for t in state["other_throttled_at"] if key_check - 0.01 <= t <= end + 5]
    return Timed(
        whole=whole,
        in_run=end - key_check,
        launch_to_first_update=min(arrivals) - started,
        calls=state["calls"] - before["calls"],
        throttled=state["throttled"] - before["throttled"],
        applied=len(state["applied"]) - len(before["applied"]),
        other_calls=state["other_calls"] - before["other_calls"],
        other_throttled=len(other_in_run),
        other_throttled_in_run=other_in_run,
    )
