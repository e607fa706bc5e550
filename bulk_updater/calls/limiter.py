"""Pace calls so that no `period`-second window, as the server counts it, holds more than `calls`.

Why not a bare `AsyncLimiter(calls, period)`: it is a leaky bucket that starts empty, so it
lets `calls` through at once and then `calls/period` a second, and up to twice the limit lands
in the first window. Here aiolimiter paces calls evenly, one every (period + jitter) / calls
seconds, and a log of the last `calls` start times holds the window as a hard guarantee
(it matters while the pace changes). Spacing calls by (period + jitter) / calls keeps any
`calls + 1` consecutive arrivals more than `period` apart even when the network delays each
call by anything between 0 and `jitter`. That one rule satisfies a server counting a sliding
window, a fixed window or a token bucket of `calls` per `period`.

When the server still answers 429 (another integration shares the account), every caller
pauses for one period and the pace halves; each success then wins back a step of the pace.
"""

from __future__ import annotations

import asyncio
from collections import deque

from aiolimiter import AsyncLimiter

# Each success after a 429 wins back this share of the full pace.
RECOVERY_STEP = 0.05
# Below this spacing, pacing would only add timer wake-ups finer than the event loop can
# keep; the start log alone then holds the window.
MIN_SPACING = 0.001


class WindowLimiter:
    def __init__(self, calls: int, period: float, jitter: float = 0.1) -> None:
        self.calls, self.period, self.jitter = calls, period, jitter
        self._window = period + jitter
        self.ceiling = calls / self._window  # calls per second at full pace
        self.floor = 1 / self._window
        self.pace = self.ceiling
        self._pacer = _pacer(self.pace)
        self._starts: deque[float] = deque(maxlen=calls)
        self._resume_at = 0.0

    async def acquire(self) -> None:
        """Wait until one more call may start, and count it as started."""
        await self._sleep_until(self._resume_at)
        if self._pacer is not None:
            await self._pacer.acquire()
        # The pace may have changed, or a 429 arrived, while we waited: check again,
        # and record the start in the same step so no other task slips in between.
        while (wait := self._wait_needed()) > 0:
            await asyncio.sleep(wait)
        self._starts.append(_now())

    def ready(self) -> bool:
        """True when `acquire()` would return without waiting."""
        return self._wait_needed() <= 0 and (self._pacer is None or self._pacer.has_capacity())

    def on_throttled(self) -> None:
        """A call got 429: pause everyone for a period, and halve the pace (once per pause)."""
        now = _now()
        if now < self._resume_at:
            return  # the other calls of the same burst
        self._resume_at = now + self.period
        self._set_pace(max(self.floor, self.pace / 2))

    def on_success(self) -> None:
        if self.pace < self.ceiling:
            self._set_pace(min(self.ceiling, self.pace + self.ceiling * RECOVERY_STEP))

    def _set_pace(self, pace: float) -> None:
        # A new pacer starts empty; the start log keeps that from letting a burst through.
        self.pace = pace
        self._pacer = _pacer(pace)

    def _wait_needed(self) -> float:
        now = _now()
        wait = self._resume_at - now
        if len(self._starts) == self.calls:
            wait = max(wait, self._starts[0] + self._window - now)
        return wait

    async def _sleep_until(self, moment: float) -> None:
        while (wait := moment - _now()) > 0:
            await asyncio.sleep(wait)


def _pacer(pace: float) -> AsyncLimiter | None:
    return AsyncLimiter(1, 1 / pace) if 1 / pace >= MIN_SPACING else None


def _now() -> float:
    return asyncio.get_running_loop().time()
