"""An activity as RetrieveById returns it, and a read of one outside the runner (verify, the field check).

Every read goes through the run's limiter, so it counts against the account's rate like an update.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ..calls import Backoff, CallResult, Kind, LeadSquaredClient, WindowLimiter
from ..rows import NOTE

# A read answered 429 this many times in a row gives up (as the runner does for a row).
MAX_THROTTLED_READS = 50


@dataclass(frozen=True)
class Activity:
    note: str
    fields: dict[str, str]

    @classmethod
    def from_json(cls, payload: dict) -> Activity:
        fields = payload.get("ActivityFields") or {}
        return cls(_text(payload.get("ActivityNote")), {str(name): _text(value) for name, value in fields.items()})

    def value(self, name: str) -> str:
        """The note or a field's value; an absent field is empty (whether empty ones are listed is not documented)."""
        return self.note if name == NOTE else self.fields.get(name, "")


def _text(value: object) -> str:
    return "" if value is None else str(value)


async def read_activity(
    client: LeadSquaredClient, limiter: WindowLimiter, activity_id: str, max_attempts: int, backoff: Backoff | None = None
) -> tuple[CallResult, Activity | None]:
    """Read one activity, retrying what may pass (429, 5xx, timeouts) within `max_attempts`."""
    backoff = backoff or Backoff()
    attempts = throttled = 0
    while True:
        await limiter.acquire()
        result, payload = await client.retrieve_activity(activity_id)
        if result.kind is Kind.SUCCESS:
            limiter.on_success()
            return result, Activity.from_json(payload)
        if result.kind is Kind.THROTTLED:
            limiter.on_throttled()
            throttled += 1
            if throttled < MAX_THROTTLED_READS:
                continue
            return result, None
        attempts += 1
        if result.kind is not Kind.RETRYABLE or attempts >= max_attempts:
            return result, None
        await asyncio.sleep(backoff.delay(attempts))
