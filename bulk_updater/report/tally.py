"""A job's counts as it goes: the rows it read, each outcome recorded, the calls they took, the pace.

The job keeps its summary's counts here (the outcomes earlier sessions recorded, then each row's as it
is recorded), so a live view ends on summary.json's numbers. It is safe to read from another thread:
the page passes one in `Hooks.tally` and shows its snapshots while the job runs in a thread of its own.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from ..outcomes import RowOutcome
from .summary import Summary

SERIES_SECONDS = 120  # the pace kept: rows finished in each of the last two minutes' seconds


@dataclass(frozen=True)
class TallySnapshot:
    """The counts at one moment (no rows: its size does not grow with the sheet)."""

    total: int  # every row read, done before or not (0 until counted)
    counts: dict[str, int]  # by outcome, the earlier sessions' included
    done_before: int  # rows earlier sessions of the run recorded
    calls: int  # calls this session's rows took
    elapsed: float  # seconds since the tally began
    groups: list[dict]  # the biggest failure groups (Summary.failure_groups)
    series: list[int]  # rows finished in each second, up to now, the last SERIES_SECONDS

    @property
    def done(self) -> int:
        return sum(self.counts.values())


class Tally:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock  # a test's own, to count seconds without waiting for them
        self.started = clock()
        self._lock = threading.Lock()
        self._summary = Summary(input="", rate="")
        self._total = 0
        self._calls = 0
        self._done_before = 0
        self._series: deque[list[int]] = deque(maxlen=SERIES_SECONDS)  # [second, rows]

    def begin(self, total: int, summary: Summary) -> None:
        """The job counted `total` rows; `summary` holds what earlier sessions recorded, and gets each outcome from now on."""
        with self._lock:
            self._total, self._summary, self._done_before = total, summary, summary.rows

    def add(self, outcome: RowOutcome) -> None:
        second = int(self._clock() - self.started)
        with self._lock:
            self._summary.add(outcome)
            self._calls += outcome.attempts
            if self._series and self._series[-1][0] == second:
                self._series[-1][1] += 1
            else:
                self._series.append([second, 1])

    def snapshot(self, groups: int) -> TallySnapshot:
        with self._lock:
            elapsed = max(self._clock() - self.started, 1e-6)
            return TallySnapshot(
                self._total, dict(self._summary.counts), self._done_before, self._calls, elapsed,
                self._summary.failure_groups(groups), _filled(list(self._series), int(elapsed)),
            )


def _filled(series: list[list[int]], now: int) -> list[int]:
    """Rows per second for the last seconds up to now, zeros where none finished."""
    start = max(0, now - SERIES_SECONDS + 1)
    by_second = {second: rows for second, rows in series}
    return [by_second.get(second, 0) for second in range(start, now + 1)]
