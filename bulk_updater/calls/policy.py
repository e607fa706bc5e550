"""What to do after each answer, for every call to LeadSquared: one policy for the updates, the key check and the reads.

Like tenacity and urllib3's `Retry`, the policy only decides; its callers act. The runner
turns a decision into a row's outcome; a call made on its own (the key check, a read) goes
through `call_until_decided`, and its caller turns the last decision into an exception or a
failed read. Time is injectable (`clock`, `sleep`), so tests need not wait.

The rules:
- a 429 costs no attempt: the limiter slows everyone down, and the call is made again;
- a 502/503/504, a 500 without an `MX...` body, a timeout, a dropped connection or a TLS
  handshake cut short is tried again after a backoff, up to `max_attempts`;
- anything else that is not a success fails at once; a 401 stops everything;
- when every answer has been a 429 for `throttle_timeout` seconds, stop: something else is
  using the account's limit, and waiting longer only holds the rows back. Any other answer
  from the server (the call got past the limit) starts that clock again; a timeout or a
  dropped connection, being no answer, neither starts nor stops it.
"""

from __future__ import annotations

import asyncio
import enum
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from .client import CallResult, Kind

# Ten minutes of nothing but 429s: long enough to ride out another integration's burst.
THROTTLE_TIMEOUT = 600.0


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


class Action(enum.Enum):
    DONE = "done"  # a success
    RETRY = "retry"  # call again, after `Decision.wait` seconds (0 after a 429: the limiter paces it)
    FAIL = "fail"  # the row's own failure: a permanent error, or out of attempts
    UNAUTHORIZED = "unauthorized"  # a 401: no call with these keys will succeed
    THROTTLED_OUT = "throttled_out"  # nothing but 429s for `throttle_timeout` seconds


@dataclass(frozen=True)
class Decision:
    action: Action
    wait: float = 0.0


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5  # calls per row that were not answered 429
    throttle_timeout: float = THROTTLE_TIMEOUT
    backoff: Backoff = field(default_factory=Backoff)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or not self.throttle_timeout > 0:
            raise ValueError("a retry policy needs max_attempts >= 1 and throttle_timeout > 0")

    @classmethod
    def of(cls, settings: RetrySettings) -> RetryPolicy:
        """The policy a command's send settings ask for (--max-attempts, --throttle-timeout)."""
        return cls(max_attempts=settings.max_attempts, throttle_timeout=settings.throttle_timeout)

    def watch(self) -> Retrying:
        """The state one run (or one key check) keeps: since when every answer has been a 429."""
        return Retrying(self)


@dataclass
class Tries:
    """One row's calls so far."""

    calls: int = 0  # every call made, 429s included
    attempts: int = 0  # the calls that were not answered 429


class Retrying:
    """A `RetryPolicy` at work: decides after each answer, shared by every row of a run."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self._throttled_since: float | None = None

    def decide(self, result: CallResult, tries: Tries) -> Decision:
        """Say what comes next, counting the answer in `tries.attempts` (the caller counts `tries.calls`)."""
        if result.kind is Kind.THROTTLED:
            if self._throttled_since is None:
                self._throttled_since = self.policy.clock()
            return Decision(Action.THROTTLED_OUT if self.throttled_out() else Action.RETRY)
        if result.http_status is not None:
            self._throttled_since = None  # an answer from past the rate limit (a timeout is no answer)
        tries.attempts += 1
        if result.kind is Kind.SUCCESS:
            return Decision(Action.DONE)
        if result.kind is Kind.UNAUTHORIZED:
            return Decision(Action.UNAUTHORIZED)
        if result.kind is Kind.PERMANENT or tries.attempts >= self.policy.max_attempts:
            return Decision(Action.FAIL)
        return Decision(Action.RETRY, self.policy.backoff.delay(tries.attempts))

    def throttled_out(self) -> bool:
        """True once every answer has been a 429 for `throttle_timeout` seconds."""
        since = self._throttled_since
        return since is not None and self.policy.clock() - since >= self.policy.throttle_timeout


class RetrySettings(Protocol):
    """What a policy is made of (settings.SendSettings has both)."""

    @property
    def max_attempts(self) -> int: ...
    @property
    def throttle_timeout(self) -> float: ...


class Pacer(Protocol):
    """The limiter, as a call made on its own uses it (calls/limiter.py)."""

    async def acquire(self) -> None: ...
    def on_throttled(self) -> None: ...
    def on_success(self) -> None: ...


Body = TypeVar("Body")


async def call_until_decided(call: Callable[[], Awaitable[tuple[CallResult, Body]]], limiter: Pacer, policy: RetryPolicy) -> tuple[Action, CallResult, Body]:
    """Make one call (the key check, a read) until the policy decides: DONE, FAIL, UNAUTHORIZED or
    THROTTLED_OUT, with the last answer and its body. Each try waits for the limiter, and tells it
    of a 429 (everyone slows down) or a success."""
    retrying, tries = policy.watch(), Tries()
    while True:
        await limiter.acquire()
        result, body = await call()
        if result.kind is Kind.THROTTLED:
            limiter.on_throttled()
        elif result.kind is Kind.SUCCESS:
            limiter.on_success()
        decision = retrying.decide(result, tries)
        if decision.action is not Action.RETRY:
            return decision.action, result, body
        await policy.sleep(decision.wait)
