"""The ways a server may count "N calls per S seconds". A client must satisfy all three."""

from __future__ import annotations

import math
from collections import deque

MODES = ("sliding", "fixed", "token")


class CallCounter:
    """Admits or rejects each arriving call under one counting `mode`."""

    def __init__(self, calls: int, period: float, mode: str = "sliding", count_rejected: bool = False) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown counting mode {mode!r}")
        self.calls, self.period, self.mode, self.count_rejected = calls, period, mode, count_rejected
        self._arrivals: deque[float] = deque()
        self._window_index, self._window_count = -1, 0
        self._tokens = float(calls)
        self._tokens_at: float | None = None

    def admit(self, now: float) -> bool:
        return {"sliding": self._sliding, "fixed": self._fixed, "token": self._token}[self.mode](now)

    def _sliding(self, now: float) -> bool:
        while self._arrivals and self._arrivals[0] <= now - self.period:
            self._arrivals.popleft()
        admitted = len(self._arrivals) < self.calls
        if admitted or self.count_rejected:
            self._arrivals.append(now)
        return admitted

    def _fixed(self, now: float) -> bool:
        index = math.floor(now / self.period)
        if index != self._window_index:
            self._window_index, self._window_count = index, 0
        admitted = self._window_count < self.calls
        if admitted or self.count_rejected:
            self._window_count += 1
        return admitted

    def _token(self, now: float) -> bool:
        if self._tokens_at is not None:
            self._tokens = min(self.calls, self._tokens + (now - self._tokens_at) * self.calls / self.period)
        self._tokens_at = now
        admitted = self._tokens >= 1
        if admitted or self.count_rejected:
            self._tokens -= 1
        return admitted
