"""The Options screen: the sending options that matter to an admin, with the CLI's defaults and checks.

Both come from the option registry (options.py): a field's default is the option's, and a
field's text is read by the option's own parser, so the page refuses what the CLI refuses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from ..option_spec import PERCENT, Value
from ..options import BY_NAME, DEFAULTS
from ..settings import DEFAULT_RATE, NO_HEADROOM, PLAN_CALLS, Rate, SendSettings
from .connection import Connection

# The recorded options this screen offers, each a form field of the option's name.
NUMBERS = ("concurrency", "max_attempts", "timeout", "stop_after_failures")


@dataclass(frozen=True)
class SendChoices:
    plan: str = ""
    rate: str = DEFAULT_RATE
    headroom: float = NO_HEADROOM
    concurrency: int = DEFAULTS["concurrency"]
    max_attempts: int = DEFAULTS["max_attempts"]
    timeout: float = DEFAULTS["timeout"]
    # The safety net, as the CLI's --backup, --keep-going and --stop-after-failures (recorded in run.json).
    backup: bool = DEFAULTS["backup"]
    keep_going: bool = DEFAULTS["keep_going"]
    stop_after_failures: int = DEFAULTS["stop_after_failures"]
    canary: bool = DEFAULTS["canary"]  # the first update alone, read before and after (the CLI's --no-canary turns it off)

    @property
    def limit(self) -> Rate:
        rate = Rate.for_plan(self.plan) if self.plan else Rate.parse(self.rate or DEFAULT_RATE)
        return rate.with_headroom(self.headroom)

    def send_settings(self, connection: Connection) -> SendSettings:
        return SendSettings(
            host=connection.host, credentials=connection.credentials, rate=self.limit, concurrency=self.concurrency,
            max_attempts=self.max_attempts, timeout=self.timeout, check_region=connection.check_region,
        )

    def safety(self) -> dict[str, object]:
        """The library's JobOptions fields for the safety net."""
        return {"backup": self.backup, "keep_going": self.keep_going, "stop_after_failures": self.stop_after_failures, "canary": self.canary}


PLANS = list(PLAN_CALLS)


def parse_choices(form: Mapping[str, str]) -> SendChoices:
    """The form's fields, checked as the CLI checks its options; InputError names the field."""
    plan = form.get("plan", "").strip()
    if plan and plan not in PLAN_CALLS:
        raise InputError(f"there is no plan {plan!r}", hint=f"Pick one of {', '.join(PLAN_CALLS)}.")
    choices = SendChoices(
        plan=plan,
        rate=form.get("rate", "").strip() or DEFAULT_RATE,
        headroom=_field(form, "headroom", PERCENT, NO_HEADROOM),
        backup=bool(form.get("backup")),
        keep_going=form.get("on_failures") == "keep_going",
        canary=not form.get("no_canary"),
        **{name: _field(form, name, BY_NAME[name].value, DEFAULTS[name]) for name in NUMBERS},
    )
    _ = choices.limit  # a bad rate is refused here, with the CLI's message
    return choices


def _field(form: Mapping[str, str], name: str, value: Value, default: Any) -> Any:
    """The form field `name` read as the option's value; blank: the default."""
    text = form.get(name, "").strip()
    if not text:
        return default
    try:
        return value.parse(text)
    except ValueError as exc:
        raise InputError(f"{name.replace('_', ' ')} {exc}") from None
