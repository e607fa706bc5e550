"""Plain settings for a run, parsed and checked once, before anything is read or sent."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .credentials import Credentials
from .errors import InputError
from .hosts import check_host

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

    def __post_init__(self) -> None:
        if not (isinstance(self.calls, int) and self.calls >= 1 and math.isfinite(self.period) and self.period > 0):
            raise InputError(f"a rate of {self.calls} calls in {self.period} seconds is not a rate", hint="Give at least 1 call in more than 0 seconds, e.g. 25/5.")

    @classmethod
    def parse(cls, text: str) -> Rate:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*", text)
        if not match or int(match[1]) < 1 or float(match[2]) <= 0:
            raise InputError(
                f"--rate {text!r} is not a rate",
                hint="Write it as CALLS/SECONDS, e.g. --rate 25/5.",
            )
        return cls(int(match[1]), float(match[2]))

    @classmethod
    def for_plan(cls, plan: str) -> Rate:
        if plan not in PLAN_CALLS:
            raise InputError(f"{plan!r} is not a LeadSquared plan", hint=f"Choose one of {', '.join(PLAN_CALLS)}.")
        return cls(PLAN_CALLS[plan], PLAN_PERIOD)

    @classmethod
    def resolve(cls, rate: str | Rate | None = None, plan: str | None = None, headroom: float = 0.0) -> Rate:
        """The rate to send at: a plan's limit or a given rate (default 25/5), less `headroom` percent."""
        if rate is not None and plan is not None:
            raise InputError("give a rate or a plan, not both", hint="A plan stands for its rate: --plan pro is --rate 5/5.")
        base = cls.for_plan(plan) if plan else cls.parse(rate) if isinstance(rate, str) else rate or cls.parse(DEFAULT_RATE)
        return base.with_headroom(headroom)

    def with_headroom(self, percent: float) -> Rate:
        """Leave `percent` of the limit to other integrations that share the account."""
        return Rate(max(1, math.floor(self.calls * (100 - percent) / 100 + 1e-9)), self.period)

    def __str__(self) -> str:
        return f"{self.calls}/{self.period:g}"


@dataclass(frozen=True)
class SendSettings:
    """How calls are made: the limit, the pool, the retry budget."""

    host: str
    credentials: Credentials
    rate: Rate = Rate(25, 5)
    concurrency: int = 25
    max_attempts: int = 5
    timeout: float = 30.0
    # Stop (reason "throttled") when every answer has been a 429 for this many seconds.
    throttle_timeout: float = 600.0
    # Seconds of network arrival jitter the limiter allows for, so that calls sent
    # at the limit still arrive at the limit.
    jitter: float = 0.1
    # Refuse to send when LeadSquared says the keys belong to another region's host.
    check_region: bool = True

    def __post_init__(self) -> None:
        # Checked here too, so no caller of the library can send keys over plain http to another machine.
        object.__setattr__(self, "host", check_host(self.host))
        # The CLI checks these too; a library caller gets the same refusal, before anything is sent.
        for name, ok, wanted in (
            ("concurrency", _whole(self.concurrency), "a whole number of 1 or more"),
            ("max_attempts", _whole(self.max_attempts), "a whole number of 1 or more"),
            ("timeout", _number(self.timeout) and self.timeout > 0, "a number of seconds above 0"),
            ("jitter", _number(self.jitter) and self.jitter >= 0, "a number of seconds, 0 or more"),
        ):
            if not ok:
                raise InputError(f"SendSettings {name}={getattr(self, name)!r} is not {wanted}")
        if not isinstance(self.rate, Rate):
            raise InputError(f"SendSettings rate={self.rate!r} is not a Rate", hint="Give e.g. Rate(25, 5).")


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
