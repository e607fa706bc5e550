"""The Options screen: the sending options that matter to an admin, with the CLI's defaults."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import InputError
from ..safety.failing import STREAK
from ..settings import DEFAULT_RATE, PLAN_CALLS, Rate, SendSettings
from .connection import Connection


@dataclass(frozen=True)
class SendChoices:
    plan: str = ""
    rate: str = DEFAULT_RATE
    headroom: float = 0.0
    concurrency: int = 25
    max_attempts: int = 5
    timeout: float = 30.0
    # The safety net, as the CLI's --backup, --keep-going and --stop-after-failures (recorded in run.json).
    backup: bool = False
    keep_going: bool = False
    stop_after_failures: int = STREAK
    canary: bool = True  # the first update alone, read before and after (the CLI's --no-canary turns it off)

    @property
    def limit(self) -> Rate:
        rate = Rate.for_plan(self.plan) if self.plan else Rate.parse(self.rate or DEFAULT_RATE)
        return rate.with_headroom(self.headroom)

    def send_settings(self, connection: Connection) -> SendSettings:
        return SendSettings(
            host=connection.host, credentials=connection.credentials, rate=self.limit, concurrency=self.concurrency,
            max_attempts=self.max_attempts, timeout=self.timeout, check_region=connection.check_region,
        )

    @property
    def calls_per_row(self) -> int:
        return 2 if self.backup else 1  # a snapshot read before each update

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
        headroom=_number(form, "headroom", 0.0, lambda v: 0 <= v < 100, "a percent from 0 to 99"),
        concurrency=int(_number(form, "concurrency", 25, lambda v: v >= 1 and v == int(v), "a whole number of 1 or more")),
        max_attempts=int(_number(form, "max_attempts", 5, lambda v: v >= 1 and v == int(v), "a whole number of 1 or more")),
        timeout=_number(form, "timeout", 30.0, lambda v: v > 0, "a number of seconds above 0"),
        backup=bool(form.get("backup")),
        keep_going=form.get("on_failures") == "keep_going",
        stop_after_failures=int(_number(form, "stop_after_failures", STREAK, lambda v: v >= 1 and v == int(v), "a whole number of 1 or more")),
        canary=not form.get("no_canary"),
    )
    _ = choices.limit  # a bad rate is refused here, with the CLI's message
    return choices


def _number(form: Mapping[str, str], name: str, default: float, accept, wanted: str) -> float:
    text = form.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not accept(value):
        raise InputError(f"{name.replace('_', ' ')} {text!r} is not {wanted}")
    return value
