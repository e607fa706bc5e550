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
from typing import TYPE_CHECKING

from ..outcomes import RowOutcome
from .summary import Summary

if TYPE_CHECKING:
    from ..calls.limiter import Pace

SERIES_SECONDS = 120  # the pace kept: rows finished in each of the last two minutes' seconds


class TimeLeft:
    """The time a job's rows left take at the rate limit's pace: the one ETA the progress bar and the page show.

    The rows per second seen so far are half the truth early in a run: the limiter opens with a
    burst of a window's calls, then waits a whole window. So the time left is counted from the
    limiter's own state (`pace`: its budget and when the calls in its window leave it), the calls
    each row takes (2 when a read goes before each update) and the rows left to send; and never
    shown below what the pace seen says (`observed`), since calls slower than the limit (latency,
    a lifted limit) make it longer.
    """

    def __init__(self, pace: Callable[[], Pace] | None = None, rows: int = 0, calls_per_row: int = 1, max_calls: int | None = None) -> None:
        """`pace`: the limiter's (WindowLimiter.pace); `rows`: the rows this session will send;
        `max_calls`: the session's call budget (--max-calls), which stops it before the rows left when smaller."""
        self._pace, self._rows, self._calls_per_row, self._max_calls = pace, rows, calls_per_row, max_calls
        self._sent = self._calls = 0

    def add(self, outcome: RowOutcome) -> None:
        """A row's outcome: one row fewer to send when it took a call (invalid, not_sent and nothing-to-change rows took none)."""
        self._calls += outcome.attempts
        if outcome.attempts:
            self.sent()

    def sent(self) -> None:
        """One row (or verify's activity) sent."""
        self._sent += 1

    @property
    def calls(self) -> int:
        """The calls the rows left take, or the call budget left if fewer (the run stops there)."""
        return min(self._rows_calls, self._budget_left)

    @property
    def _rows_calls(self) -> int:
        return max(self._rows - self._sent, 0) * self._calls_per_row

    @property
    def _budget_left(self) -> int:
        return self._rows_calls if self._max_calls is None else max(self._max_calls - self._calls, 0)

    def seconds(self, observed: float | None = None) -> float | None:
        """Seconds until the last row left is sent: the limit's pace, or `observed` (rows left / rows per second seen) if longer.
        A call budget that stops the run first cuts both to its calls."""
        calls, rows_calls = self.calls, self._rows_calls
        if observed is not None and calls < rows_calls:
            observed *= calls / rows_calls
        at_limit = self._pace().seconds_for(calls) if self._pace is not None else None
        known = [seconds for seconds in (at_limit, observed) if seconds is not None]
        return max(known) if known else None


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
    time_left: TimeLeft | None = None  # the job's (None until it sends)

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
        self._time_left: TimeLeft | None = None

    def begin(self, total: int, summary: Summary, time_left: TimeLeft | None = None) -> None:
        """The job counted `total` rows; `summary` holds what earlier sessions recorded, and gets each outcome from now on.
        `time_left`: the job's, which the tally keeps counting (each outcome) for the page's ETA."""
        with self._lock:
            self._total, self._summary, self._done_before, self._time_left = total, summary, summary.rows, time_left

    def add(self, outcome: RowOutcome) -> None:
        second = int(self._clock() - self.started)
        with self._lock:
            self._summary.add(outcome)
            if self._time_left is not None:
                self._time_left.add(outcome)
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
                self._summary.failure_groups(groups), _filled(list(self._series), int(elapsed)), self._time_left,
            )


def _filled(series: list[list[int]], now: int) -> list[int]:
    """Rows per second for the last seconds up to now, zeros where none finished."""
    start = max(0, now - SERIES_SECONDS + 1)
    by_second = {second: rows for second, rows in series}
    return [by_second.get(second, 0) for second in range(start, now + 1)]
