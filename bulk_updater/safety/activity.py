"""An activity as RetrieveById returns it, and a read of one outside the runner (verify, the field check).

Every read goes through the run's limiter, so it counts against the account's rate like an update.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal

from ..calls import Backoff, CallResult, Kind, LeadSquaredClient, WindowLimiter
from ..rows import NOTE

# A read answered 429 this many times in a row gives up (as the runner does for a row).
MAX_THROTTLED_READS = 50


# A value as the read answered it: a JSON string, number (Decimal or int, digits as read), boolean,
# null, or an object or list. Nothing is turned into text here: a str() of False or of a float
# is not what LeadSquared holds, and undo or verify would act on that spelling.
JsonValue = object


@dataclass(frozen=True)
class Activity:
    note: JsonValue
    fields: dict[str, JsonValue]
    activity_id: str = ""  # the id the answer names (CompanyActivityId, or Id); "" when it names none

    @classmethod
    def from_json(cls, payload: dict) -> Activity:
        fields = payload.get("ActivityFields") or {}  # missing or null: an activity listing no field (absent is empty)
        answered = payload.get("CompanyActivityId") or payload.get("Id") or ""
        return cls(payload.get("ActivityNote"), {str(name): value for name, value in fields.items()}, str(answered))

    def value(self, name: str) -> JsonValue:
        """The note or a field's value as read; an absent field is None (whether empty ones are listed is not documented)."""
        return self.note if name == NOTE else self.fields.get(name)


def spelled(value: JsonValue) -> str | None:
    """A read value as the text an update sends back (booleans as true/false, numbers in the digits
    read, null as empty); None for an object or a list, which no update is known to take back."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, Decimal)):
        return str(value)
    return None


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
