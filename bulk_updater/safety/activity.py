"""An activity as RetrieveById returns it, and a read of one outside the runner (verify, the canary, the field check).

Every read goes through the run's limiter, so it counts against the account's rate like an update,
and follows the retry policy every call follows (calls/policy.py), --throttle-timeout included.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..calls import Action, CallResult, LeadSquaredClient, RetryPolicy, WindowLimiter, call_until_decided
from ..rows import NOTE
from ..server_text import printable
from ..updates import activity_key

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


WRONG_ACTIVITY = "ReadAnotherActivity"  # the error type of a row whose read answered for another activity


def wrong_activity(activity: Activity, asked: str) -> str:
    """Why this read's answer can't stand for activity `asked` ("" when it names that id).

    The answer must name the id asked for (case and braces aside): one that names another
    activity, or none, would put another activity's values where this one's belong."""
    answered = activity.activity_id
    if not answered.strip():
        return f"the read of activity {asked} named no activity id, so its values can't be tied to it"
    if activity_key(answered) != activity_key(asked):
        return f"the read answered for activity {printable(answered)[:60]}, not {asked}"
    return ""


def spelled(value: JsonValue) -> str | None:
    """A read value as the text an update sends back (booleans as true/false, numbers in the digits
    read, null as empty); None for an object or a list, which no update is known to take back."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return _digits(value)
    if isinstance(value, (str, int)):
        return str(value)
    return None


def _digits(number: Decimal) -> str:
    """A JSON number's digits in plain notation: `0.00000010` stays so (str() would give `1.0E-7`).

    Exact for every number written without an exponent; one written with one (`1.5E-3`) is sent
    as the same number in plain digits (`0.0015`): the parse kept its digits, not its spelling."""
    return format(number, "f")


async def read_activity(client: LeadSquaredClient, limiter: WindowLimiter, activity_id: str, policy: RetryPolicy) -> tuple[CallResult, Activity | None]:
    """Read one activity, retried as the policy says (a 429 until the throttle timeout; a 5xx or a
    timeout within max_attempts): the last answer, and the activity, or None when the read failed."""
    action, result, payload = await call_until_decided(lambda: client.retrieve_activity(activity_id), limiter, policy)
    return result, (Activity.from_json(payload) if action is Action.DONE else None)
