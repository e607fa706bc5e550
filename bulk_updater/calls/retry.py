"""When to try a retryable call again: exponential backoff with full jitter."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delay before attempt n+1 is uniform in [0, min(cap, base * 2**(n-1))].

    Full jitter spreads the retries of many rows that failed together, so they don't
    come back as one burst.
    """

    base: float = 0.5
    cap: float = 30.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        return self.rng.uniform(0, min(self.cap, self.base * 2 ** (attempt - 1)))
