"""Plain settings for a run, parsed and checked once, before anything is read or sent."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from .credentials import Credentials
from .errors import InputError
from .hosts import check_host
from .option_spec import CONNECTION, FINITE_SECONDS, FINITE_SECONDS_OR_ZERO, SECONDS, SEND, SENDING, WHOLE, Value, metadata, option, refusals

DEFAULT_RATE = "25/5"
NO_HEADROOM = 0.0  # percent of the limit left to other integrations, unless --headroom (or the page's field) says
CLEAR_TOKEN = "#N/A"
STREAK = 50  # --stop-after-failures: this many sent rows in a row failing for their data stop the run (safety/failing.py)
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
    def resolve(cls, rate: str | Rate | None = None, plan: str | None = None, headroom: float = NO_HEADROOM) -> Rate:
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


def _rate_text(text: str) -> Rate:
    try:
        return Rate.parse(text)
    except InputError:
        raise ValueError(text) from None


# A rate as --rate and the page's rate field give it (CALLS/SECONDS).
RATE = Value("a rate: write it as CALLS/SECONDS, at least 1 call in more than 0 seconds, e.g. 25/5", _rate_text, lambda value: isinstance(value, Rate), typed="a Rate")


def _dump_rate(rate: Rate) -> str:
    return str(rate)


def _load_rate(text: str) -> Rate:
    calls, period = text.split("/")
    return Rate(int(calls), float(period))


@dataclass(frozen=True)
class SendSettings:
    """How calls are made: where, with which keys, the limit, the pool, the retry budget.

    Each field but the keys is a send-class option (option_spec.py): recorded in run.json,
    and, by the one declaration here, a flag of the CLI and a field of the web page.
    """

    # --region, --host or LSQ_HOST give it (the CLI adds those flags itself); never the keys.
    host: str = field(
        metadata=metadata(SEND, "--host", "LeadSquared API base URL, https:// only, instead of --region", metavar="URL", shown="$LSQ_HOST", group=None, also=("--region",))
    )
    credentials: Credentials
    # After --plan and --headroom (the CLI adds --rate beside them).
    rate: Rate = option(
        SEND, "--rate", "at most N calls in any S seconds, at least 1 call in more than 0 seconds", default=Rate.parse(DEFAULT_RATE), value=RATE,
        metavar="N/S", group=None, also=("--plan", "--headroom"), dump=_dump_rate, load=_load_rate,
    )
    concurrency: int = option(SEND, "--concurrency", "calls in flight at once", default=25, value=WHOLE, metavar="N", group=SENDING)
    max_attempts: int = option(SEND, "--max-attempts", "tries per row for errors that may pass", default=5, value=WHOLE, metavar="N", group=SENDING)
    timeout: float = option(SEND, "--timeout", "seconds before a call is cut off and retried", default=30.0, value=FINITE_SECONDS, metavar="S", group=SENDING)
    # Stop (reason "throttled") when every answer has been a 429 for this many seconds.
    throttle_timeout: float = option(
        SEND, "--throttle-timeout", "stop (throttled, resumable) when every answer has been a 429 for S seconds",
        default=600.0, value=SECONDS, metavar="S", group=SENDING,
    )
    # Seconds of network arrival jitter the limiter allows for, so that calls sent
    # at the limit still arrive at the limit.
    jitter: float = option(
        SEND, "--jitter", "seconds of network arrival jitter the limiter allows for", default=0.1, value=FINITE_SECONDS_OR_ZERO, metavar="S", group=SENDING,
    )
    # Refuse to send when LeadSquared says the keys belong to another region's host.
    check_region: bool = option(
        SEND, "--no-region-check", "send even if LeadSquared says the keys belong to another region's host (e.g. through a gateway)",
        default=True, negated=True, group=CONNECTION,
    )

    def __post_init__(self) -> None:
        # Checked here too, so no caller of the library can send keys over plain http to another machine.
        object.__setattr__(self, "host", check_host(self.host))
        # The CLI and the page check these too, with the same rules; a library caller gets the same refusal, before anything is sent.
        problems = refusals(self)
        if problems:
            raise InputError(problems[0], hint="Give e.g. Rate(25, 5)." if problems[0].startswith("SendSettings rate=") else "")
