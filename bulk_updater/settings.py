"""Plain settings for a run, parsed and checked once, before anything is read or sent."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from .errors import InputError

DEFAULT_RATE = "25/5"
CLEAR_TOKEN = "#N/A"
# LeadSquared's limits by plan, in calls per 5 seconds per account.
PLAN_CALLS = {"lite": 2, "pro": 5, "super": 10, "basic": 10, "standard": 15, "enterprise": 25}
PLAN_PERIOD = 5.0


@dataclass(frozen=True)
class Rate:
    """At most `calls` calls in any `period`-second window."""

    calls: int
    period: float

    @classmethod
    def parse(cls, text: str) -> "Rate":
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*", text)
        if not match or int(match[1]) < 1 or float(match[2]) <= 0:
            raise InputError(
                f"--rate {text!r} is not a rate",
                hint="Write it as CALLS/SECONDS, e.g. --rate 25/5.",
            )
        return cls(int(match[1]), float(match[2]))

    @classmethod
    def for_plan(cls, plan: str) -> "Rate":
        return cls(PLAN_CALLS[plan], PLAN_PERIOD)

    def with_headroom(self, percent: float) -> "Rate":
        """Leave `percent` of the limit to other integrations that share the account."""
        return Rate(max(1, math.floor(self.calls * (100 - percent) / 100 + 1e-9)), self.period)

    def __str__(self) -> str:
        return f"{self.calls}/{self.period:g}"


@dataclass(frozen=True)
class Credentials:
    """The account's keys. They carry a user's full privileges, so they never print."""

    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)

    def headers(self) -> dict[str, str]:
        return {"x-LSQ-AccessKey": self.access_key, "x-LSQ-SecretKey": self.secret_key}

    def redact(self, text: str) -> str:
        """Replace any occurrence of either key in `text`; used on everything we print or store."""
        for key in (self.access_key, self.secret_key):
            if key:
                text = text.replace(key, "***")
        return text

    def __repr__(self) -> str:
        return "Credentials(***)"


@dataclass(frozen=True)
class SendSettings:
    """How calls are made: the limit, the pool, the retry budget."""

    host: str
    credentials: Credentials
    rate: Rate = Rate(25, 5)
    concurrency: int = 25
    max_attempts: int = 5
    timeout: float = 30.0
    # Seconds of network arrival jitter the limiter allows for, so that calls sent
    # at the limit still arrive at the limit.
    jitter: float = 0.1
