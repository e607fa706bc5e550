"""Today's limiter (before the shared ledger), kept for the `accounts` bench's baseline: a limiter per job, no ledger.

A verbatim copy of bulk_updater/calls/limiter.py at e920805 (its docstring left out); today_cli.py and
page_jobs.py put it in place of `account_limiter`.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque

# Windows without a 429 that win one call of the budget back, below the budget a 429 last
# came at (and after a probe above it that drew no 429).
CLEAN_WINDOWS_PER_STEP = 2
# Above it the call won back is a probe of room the other integration may be using, which may
# cost the other a call we never see answered 429: the first probe waits this many clean
# windows, and a probe answered 429 (within PROBE_ANSWER windows) makes the next wait twice as long.
PROBE_WINDOWS = 64
MAX_PROBE_WINDOWS = 256
PROBE_ANSWER = 2
# A room counted down by a burst's 429s to this share of the ceiling or less keeps one call free.
SPARE_AT_OR_BELOW = 0.5
# A start holds its place this much longer than the window, so that a server subtracting
# float times never sees two starts exactly one period apart as less than one.
MARGIN = 1e-6


class WindowLimiter:
    """The run's limiter: `acquire` before each call, then report 429s and successes."""

    def __init__(self, calls: int, period: float, jitter: float = 0.1) -> None:
        self.ceiling = calls
        self.budget = calls
        self.period, self.jitter = period, jitter
        self.window = period + jitter
        self._hold = self.window + MARGIN  # how long a start counts against the budget
        # Start times in the last window, oldest first (no more than `ceiling` can be in it).
        self._starts: deque[float] = deque(maxlen=calls)
        self._last_throttled = -math.inf
        self._clean_since = -math.inf  # the last 429, or the last call won back
        self._probed_at = -math.inf
        # Winning back to this budget or above is probing: a 429 came at it, or (with a call
        # kept free) the 429s showed room for just this many.
        self._room = math.inf
        self._spare = 0  # calls the 429s showed room for but kept free (see `throttled`)
        self._probe_windows = PROBE_WINDOWS
        self._next_even = -math.inf  # the next slot of the even pace, while learning

    # -- the runner's interface (time is the event loop's) --

    async def acquire(self) -> None:
        """Wait until one more call may start, and count it as started."""
        # Re-read on every wake-up: a 429 may have lowered the budget while we slept.
        while (wait := self.next_start(now := _now()) - now) > 0:
            await asyncio.sleep(wait)
        self.start(now)

    def ready(self) -> bool:
        """True when `acquire()` would return without waiting."""
        now = _now()
        return self.next_start(now) <= now

    def on_throttled(self) -> None:
        """A call got 429: lower the budget and pace evenly for a window."""
        self.throttled(_now())

    def on_success(self) -> None:
        """A call went through (the budget is won back by time: nothing to do per call)."""

    # -- the same, at an explicit time (what the tests drive) --

    def next_start(self, now: float) -> float:
        """The earliest moment, not before `now`, a call may start as things stand."""
        self._forget_ended(now)
        self._win_back(now)
        at = now
        if len(self._starts) >= self.budget:
            at = self._starts[-self.budget] + self._hold
        if self.learning(now):
            at = max(at, self._next_even)
        return at

    def start(self, now: float) -> None:
        """Count a call started at `now` (the caller checked `next_start(now) <= now`)."""
        self._starts.append(now)
        self._next_even = now + self.window / self.budget

    def throttled(self, now: float) -> None:
        self._forget_ended(now)
        in_window = len(self._starts)
        cap = in_window - 1 if in_window else self.budget - 1
        if now - self._probed_at < PROBE_ANSWER * self.window:  # the probe found no room
            self._probe_windows = min(2 * self._probe_windows, MAX_PROBE_WINDOWS)
        shown = self.budget + self._spare  # the calls the 429s so far showed room for
        fits = max(1, min(shown - 1, cap))
        # Counted down by a burst's 429s (not set by the starts in the window), a room of half
        # the ceiling or less is likely one call too high (see the module's docstring): keep
        # that call free, and make taking it a probe.
        self._spare = 1 if fits == shown - 1 and 1 < fits <= SPARE_AT_OR_BELOW * self.ceiling else 0
        self._room = fits if self._spare else shown
        self.budget = fits - self._spare
        self._last_throttled = self._clean_since = now
        if self._starts:
            self._next_even = max(self._next_even, self._starts[-1] + self.window / self.budget)

    def learning(self, now: float) -> bool:
        """True while a 429 was seen in the last window: calls are then spaced evenly."""
        return now - self._last_throttled < self.window

    def _forget_ended(self, now: float) -> None:
        """Drop the starts that no longer count at `now`."""
        starts, hold = self._starts, self._hold
        while starts and starts[0] + hold <= now:
            starts.popleft()

    def _win_back(self, now: float) -> None:
        probing = self.budget + 1 >= self._room
        # A probe with no 429 since (the clean time is still the probe's) found room: step on.
        probe_passed = self._clean_since == self._probed_at
        windows = self._probe_windows if probing and not probe_passed else CLEAN_WINDOWS_PER_STEP
        if self.budget < self.ceiling and now - self._clean_since >= windows * self.window:
            self.budget += 1
            self._spare = 0
            self._clean_since = now
            if probing:  # the room is at least this much now; the next call is a probe again
                self._room, self._probed_at = self.budget + 1, now


def _now() -> float:
    return asyncio.get_running_loop().time()
