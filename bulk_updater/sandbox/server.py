"""The sandbox server: LeadSquared's Update and UserByAccessKey.Get endpoints as this tool
relies on them, plus knobs.

`quirks` (quirks.py) play the real server's possible behaviours where its documentation is
silent; docs/leadsquared-api.md says which unknown each stands for.

Besides the API it serves GET /_sandbox/state, the counters and activities as JSON, so a
test can check what the server saw after running the real CLI against it.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import re
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from copy import copy
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from aiohttp import web
from aiolimiter import AsyncLimiter

from ..calls.endpoints import RETRIEVE_PATH, UPDATE_PATH, USER_PATH
from ..settings import Rate
from ..shell import WINDOWS
from . import quirks as q
from .limits import MODES, CallCounter

STATE_PATH = "/_sandbox/state"
DEMO_ACCESS_KEY = "sandbox-access-key"
DEMO_SECRET_KEY = "sandbox-secret-key"
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SCHEMA_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
SANDBOX_USER_ID = "5f0b2ad6-3b1c-4c7e-9d1e-000000000001"  # the Id UserByAccessKey.Get answers: the activities' CreatedBy, ModifiedBy
# Every sandbox activity's CreatedOn and ActivityDateTime, and its ModifiedOn until an update.
CREATED_ON = "2024-01-01 09:00:00"
LSQ_DATETIME = "%Y-%m-%d %H:%M:%S"  # the API's one documented date-time form, UTC


@dataclass
class SandboxConfig:
    access_key: str = DEMO_ACCESS_KEY
    secret_key: str = DEMO_SECRET_KEY
    rate: Rate | None = Rate(25, 5)  # None lifts the limit
    counting: str = "sliding"
    count_rejected: bool = False
    latency: tuple[float, float] = (0.0, 0.0)  # response time, uniform in [low, high]
    arrival_jitter: float = 0.0  # network delay before the call is counted, uniform in [0, x]
    fail_503: float = 0.0  # share of calls answered 503
    drop: float = 0.0  # share of calls whose connection is dropped without an answer
    hang: float = 0.0  # share of calls that get no answer for `hang_seconds`
    hang_seconds: float = 300.0
    # Faults for the first calls past the key check, in arrival order: "503", "drop", "hang",
    # "429" or "ok". Then the random shares above apply. Makes fault tests deterministic.
    script: tuple[str, ...] = ()
    activities: set[str] | None = None  # the activity ids that exist; None: every GUID exists
    # What the activities hold at the start: id -> {"ActivityNote": ..., "Fields": {SchemaName: value}}.
    # Values may be typed (bool, int, Decimal for a number's exact digits, None, dict, list): RetrieveById answers them as they are.
    initial: dict[str, dict] | None = None
    # RetrieveById for id A answers with activity B, naming B (a server mixing up answers): {A: B}; B "" names no id at all.
    answer_for: dict[str, str] | None = None
    # The activity type's SchemaNames: an update naming another fails (MX error), and RetrieveById
    # lists every one of them, empty ones as "". None: any schema name is a field, and only set ones are listed.
    fields: frozenset[str] | None = None
    read_faults: bool = False  # the faults above (script and shares) apply to RetrieveById too
    seed: int | None = None
    # The API host UserByAccessKey.Get names as the keys' region; None: the host the call came to.
    region_host: str | None = None
    role: str = "Administrator"
    org_id: str = "5f0b2ad6-3b1c-4c7e-9d1e-000000000002"  # the account the keys belong to
    org_code: str = "10001"  # its OrgShortCode and OrgDisplayName: set them to play another account's keys
    org_name: str = "Sandbox Org"
    # UserByAccessKey.Get answer fields left out, e.g. {"OrgId"} (LeadSquared's own example has none),
    # or "LSQCommonServiceURLs": the account guard must not let keys through on what is missing.
    omit_identity: frozenset[str] = frozenset()
    revoke_after: int | None = None  # the keys are rejected after this many Update calls (user deactivated)
    echo_keys: bool = False  # error messages quote the keys the call carried, as a careless server might
    ssl_context: ssl.SSLContext | None = None  # serve https:// with this certificate
    # Another integration sharing the account's limit: this many calls per period, evenly
    # spaced, or all at once at the start of each period with `other_bursts`.
    other_integration: int = 0
    other_bursts: bool = False
    other_jitter: float = 0.0  # each of its calls arrives 0 to this many seconds late (transit), not caught up
    other_stops_after: float | None = None  # it makes no call from this many seconds after the server starts
    counters_only: bool = False  # keep no arrivals or activities (a million-row benchmark)
    # LeadSquared's possible behaviours where its documentation is silent: names from quirks.QUIRKS.
    quirks: frozenset[str] = frozenset()
    throttle_status: int = 429  # the status of a throttle answer (its body is the same); the quirk throttle-403 makes it 403


@dataclass
class SandboxState:
    calls: int = 0
    throttled: int = 0
    unauthorized: int = 0
    keys_in_query: int = 0
    faults: int = 0
    user_calls: int = 0  # UserByAccessKey.Get calls; `calls` counts Update calls only
    retrieve_calls: int = 0  # RetrieveById calls
    arrivals: list[float] = field(default_factory=list)  # admitted calls, server clock
    applied: list[str] = field(default_factory=list)  # activity ids, in the order updates applied
    activities: dict[str, dict] = field(default_factory=dict)
    user_arrivals: list[float] = field(default_factory=list)  # admitted key checks, server clock
    other_calls: int = 0  # the other integration's calls, and those answered 429
    other_throttled: int = 0
    other_throttled_at: list[float] = field(default_factory=list)
    other_last_at: float | None = None  # the other integration's last call so far, server clock
    modified_on: dict[str, str] = field(default_factory=dict)  # activity id -> ModifiedOn of its last update

    def to_json(self) -> dict:
        return {
            "user_arrivals": self.user_arrivals,
            "other_calls": self.other_calls,
            "other_throttled": self.other_throttled,
            "other_throttled_at": self.other_throttled_at,
            "other_last_at": self.other_last_at,
            "calls": self.calls,
            "throttled": self.throttled,
            "unauthorized": self.unauthorized,
            "keys_in_query": self.keys_in_query,
            "faults": self.faults,
            "user_calls": self.user_calls,
            "retrieve_calls": self.retrieve_calls,
            "arrivals": self.arrivals,
            "applied": self.applied,
            "activities": self.activities,
            "modified_on": self.modified_on,
        }


def _error(status: int, exception_type: str, message: str) -> web.Response:
    body = {"Status": "Error", "ExceptionType": exception_type, "ExceptionMessage": message}
    return web.json_response(body, status=status)


class Sandbox:
    def __init__(self, config: SandboxConfig) -> None:
        if unknown := q.unknown_quirks(config.quirks):
            raise ValueError(f"unknown sandbox quirk {', '.join(unknown)}; known: {', '.join(q.QUIRKS)}")
        self.config = config
        self.state = SandboxState()
        for activity_id, activity in (config.initial or {}).items():
            self.state.activities[activity_id.lower()] = {
                "ActivityNote": activity.get("ActivityNote"),
                "Fields": dict(activity.get("Fields") or {}),
            }
        self._rng = random.Random(config.seed)
        self._script = iter(config.script)
        self._counter = (
            CallCounter(config.rate.calls, config.rate.period, config.counting, config.count_rejected) if config.rate else None
        )
        self._waiters: list[Callable[[SandboxState], bool]] = []  # each answers True once done with (SandboxThread.wait_until)
        self._looking = False

    def changed(self) -> None:
        """The state may have changed: each waiter looks at it once the loop's current step is over, as the
        state page would (never inside a burst of the other integration's)."""
        if self._waiters and not self._looking:
            self._looking = True
            asyncio.get_running_loop().call_soon(self._look)

    def _look(self) -> None:
        self._looking = False
        self._waiters = [waiter for waiter in self._waiters if not waiter(self.state)]

    def add_waiter(self, waiter: Callable[[SandboxState], bool]) -> None:
        """`waiter(state)` on each change until it answers True; on the sandbox's loop."""
        if not waiter(self.state):
            self._waiters.append(waiter)

    def remove_waiter(self, waiter: Callable[[SandboxState], bool]) -> None:
        if waiter in self._waiters:
            self._waiters.remove(waiter)

    async def _pause(self, seconds: float) -> None:
        """A handler's sleep: what it changed so far is looked at meanwhile."""
        self.changed()
        await asyncio.sleep(seconds)

    async def update(self, request: web.Request) -> web.StreamResponse:
        config = self.config
        if config.arrival_jitter:
            await self._pause(self._rng.uniform(0, config.arrival_jitter))
        self.state.calls += 1
        refusal = self._admit(request)
        if refusal is not None:
            return refusal
        if not config.counters_only:
            self.state.arrivals.append(time.monotonic())
        fault = await self._fault(request)
        if fault is not None:
            return fault
        response = await self._apply(request)
        low, high = config.latency
        if high:
            await self._pause(self._rng.uniform(low, high))
        return response

    async def retrieve_by_id(self, request: web.Request) -> web.StreamResponse:
        """RetrieveById, served from the same state the updates change; it counts against the same limit."""
        self.state.retrieve_calls += 1
        refusal = self._admit(request)
        if refusal is not None:
            return refusal
        fault = await self._fault(request) if self.config.read_faults else None
        if fault is not None:
            return fault
        activity_id = request.query.get("activityId", "").lower()
        if not GUID.fullmatch(activity_id):
            return _error(400, "MXInvalidInputException", "activityId must be a GUID")
        known = self.config.activities
        if known is not None and activity_id not in known:
            return _error(500, "MXInvalidEntityException", "Activity does not exist")
        answered = {k.lower(): v.lower() for k, v in (self.config.answer_for or {}).items()}.get(activity_id, activity_id)
        answer = self._read_answer(answered or activity_id)
        if not answered:  # answer_for's "": an answer that names no id
            del answer["CompanyActivityId"]
        low, high = self.config.latency
        if high:
            await self._pause(self._rng.uniform(low, high))
        return web.Response(text=q.answer_text(q.spell_read(answer, self.config.quirks)), content_type="application/json")

    def _read_answer(self, activity_id: str) -> dict:
        """RetrieveById's documented answer for one activity, every value as stored (the quirks spell it after)."""
        activity = self.state.activities.get(activity_id, {"ActivityNote": None, "Fields": {}})
        listed = {name: "" for name in sorted(self.config.fields or ())} | activity["Fields"]
        return {
            "CompanyActivityId": activity_id,
            "RelatedCompanyId": str(uuid.uuid5(uuid.NAMESPACE_OID, f"sandbox-account:{activity_id}")),
            "ActivityEvent": 10002,
            # A typed note (an `initial` activity may hold one) is answered as it is.
            "ActivityNote": "" if activity["ActivityNote"] is None else activity["ActivityNote"],
            "ActivityDateTime": CREATED_ON,
            "ActivityType": 2,
            "CreatedByName": "Sandbox Admin",
            "ActivityDisplayName": "Sandbox Activity",
            "CreatedOn": CREATED_ON,
            "ModifiedOn": self.state.modified_on.get(activity_id, CREATED_ON),
            "CreatedBy": SANDBOX_USER_ID,
            "ModifiedBy": SANDBOX_USER_ID,
            "ModifiedByName": "Sandbox Admin",
            "ActivityFields": listed,
        }

    async def user_by_access_key(self, request: web.Request) -> web.Response:
        """Who the keys belong to, shaped like LeadSquared's answer (fields trimmed to the useful ones)."""
        self.state.user_calls += 1
        refusal = self._admit(request)
        if refusal is not None:
            return refusal
        self.state.user_arrivals.append(time.monotonic())
        config = self.config
        answer = {
                "Id": "5f0b2ad6-3b1c-4c7e-9d1e-000000000001",
                "Name": "Sandbox Admin",
                "EmailAddress": "admin@sandbox.example",
                "Role": config.role,
                "TimeZone": "Asia/Kolkata",
                "Type": "ApplicationUser",
                "OrgDisplayName": config.org_name,
                "OrgId": config.org_id,
                "OrgShortCode": config.org_code,
                "UserType": "Regular",
                # LeadSquared writes bare host names here.
                "LSQCommonServiceURLs": {"api": config.region_host or request.host, "app": "app.sandbox.example"},
            }
        return web.json_response({name: value for name, value in answer.items() if name not in config.omit_identity})

    def _admit(self, request: web.Request) -> web.Response | None:
        """The 401 or 429 a call gets before it is looked at; None if it may go on."""
        if "accessKey" in request.query or "secretKey" in request.query:
            self.state.keys_in_query += 1
        if not self._authorized(request):
            self.state.unauthorized += 1
            return self._error(request, 401, "MXUnAuthorizedAccessException", "Invalid AccessKey or SecretKey")
        if self._counter and not self._counter.admit(time.monotonic()):
            return self._throttled()
        return None

    def _authorized(self, request: web.Request) -> bool:
        headers, config = request.headers, self.config
        if config.revoke_after is not None and self.state.calls > config.revoke_after:
            return False
        return headers.get("x-LSQ-AccessKey") == config.access_key and headers.get("x-LSQ-SecretKey") == config.secret_key

    def _error(self, request: web.Request, status: int, exception_type: str, message: str) -> web.Response:
        if self.config.echo_keys:
            headers = request.headers
            message += f" (AccessKey {headers.get('x-LSQ-AccessKey')}, SecretKey {headers.get('x-LSQ-SecretKey')})"
        return _error(status, exception_type, message)

    async def _fault(self, request: web.Request) -> web.StreamResponse | None:
        fault = next(self._script, None) or self._random_fault()
        if fault == "ok":
            return None
        self.state.faults += 1
        if fault == "503":
            return web.Response(status=503, text="<html><body>503 Service Unavailable</body></html>", content_type="text/html")
        if fault == "429":
            return self._throttled()
        if fault == "drop":
            if request.transport is not None:
                request.transport.close()  # the client sees the connection drop with no answer
            return web.Response(status=500)
        await self._pause(self.config.hang_seconds)  # "hang"
        return None

    def _random_fault(self) -> str:
        roll = self._rng.random()
        for fault, share in (("503", self.config.fail_503), ("drop", self.config.drop), ("hang", self.config.hang)):
            if roll < share:
                return fault
            roll -= share
        return "ok"

    def _throttled(self) -> web.Response:
        self.state.throttled += 1
        rate = self.config.rate or Rate(25, 5)
        status = 403 if q.THROTTLE_403 in self.config.quirks else self.config.throttle_status
        return _error(status, "MXAPIRateLimitExceededException", f"API calls exceeded the limit of {rate.calls} in {rate.period:g} second(s)")

    async def _apply(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "MXInvalidJSONException", "The request body is not valid JSON")
        problem = _body_problem(body)
        if problem:
            return _error(400, "MXInvalidInputException", problem)
        activity_id = body["CompanyActivityId"].lower()
        known = self.config.activities
        if known is not None and activity_id not in known:
            return self._error(request, 500, "MXInvalidEntityException", "Activity does not exist")
        for field_ in body.get("Fields", []):
            if self.config.fields is not None and field_["SchemaName"] not in self.config.fields:
                return _error(500, "MXInvalidSchemaNameException", f"{field_['SchemaName']} is not a field of this activity type")
            if field_["SchemaName"] == "Owner" and field_["Value"] and not GUID.fullmatch(field_["Value"].lower()):
                return _error(500, "MXInvalidInputException", "Owner must be a user id (GUID)")
        if self.config.counters_only:
            return web.json_response({"Status": "Success", "Message": {"Id": activity_id, "IsSuccessful": True}})
        activity = self.state.activities.setdefault(activity_id, {"ActivityNote": None, "Fields": {}})
        q.apply_update(activity, body, self.config.quirks)
        self._modified(activity_id)
        self.state.applied.append(activity_id)
        return web.json_response({"Status": "Success", "Message": {"Id": activity_id, "IsSuccessful": True}})

    def _modified(self, activity_id: str) -> None:
        """ModifiedOn moves on with each update, by a second at least (the documented form has no finer unit)."""
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0, tzinfo=None)
        if previous := self.state.modified_on.get(activity_id):
            now = max(now, dt.datetime.strptime(previous, LSQ_DATETIME) + dt.timedelta(seconds=1))
        self.state.modified_on[activity_id] = now.strftime(LSQ_DATETIME)

    async def state_json(self, request: web.Request) -> web.Response:
        return web.json_response(self.state.to_json(), dumps=exact_json)

    async def other_integration(self, app: web.Application):
        """While the server runs, another integration's calls count against the same limit."""
        task = asyncio.create_task(self._other_calls()) if self.config.other_integration and self._counter else None
        yield
        if task:
            task.cancel()

    async def _other_calls(self) -> None:
        calls, period = self.config.other_integration, self._counter.period  # type: ignore[union-attr]
        stops = time.monotonic() + self.config.other_stops_after if self.config.other_stops_after is not None else float("inf")
        loop = asyncio.get_running_loop()
        if self.config.other_bursts:
            while time.monotonic() < stops:
                for _ in range(calls):
                    self._other_call()
                await asyncio.sleep(period - time.monotonic() % period)
            return
        pace = AsyncLimiter(1, period / calls)  # a leaky bucket of one: evenly spaced
        while True:
            await pace.acquire()
            if time.monotonic() >= stops:
                return
            if self.config.other_jitter:
                loop.call_later(self._rng.uniform(0, self.config.other_jitter), self._other_call)
            else:
                self._other_call()

    def _other_call(self) -> None:
        now = time.monotonic()
        self.state.other_last_at = now
        self.state.other_calls += 1
        self.changed()
        if not self._counter.admit(now):  # type: ignore[union-attr]
            self.state.other_throttled += 1
            self.state.other_throttled_at.append(now)


def exact_json(value: object) -> str:
    """JSON with a Decimal written in its own digits (`1.50`, never `1.5`), as a server may write a number."""
    if isinstance(value, Decimal):
        return format(value, "f") if value.as_tuple().exponent <= 0 else str(value)  # type: ignore[operator]
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(key))}: {exact_json(item)}" for key, item in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(exact_json(item) for item in value) + "]"
    return json.dumps(value)


def _body_problem(body: object) -> str:
    """What is wrong with an Update body, as LeadSquared's 400 would say; "" if nothing."""
    if not isinstance(body, dict):
        return "The body must be a JSON object"
    activity_id = body.get("CompanyActivityId")
    if not isinstance(activity_id, str) or not GUID.fullmatch(activity_id.lower()):
        return "CompanyActivityId must be a GUID"
    if "ActivityNote" in body and not isinstance(body["ActivityNote"], str):
        return "ActivityNote must be a string"
    fields = body.get("Fields", [])
    if not isinstance(fields, list):
        return "Fields must be a list"
    for item in fields:
        if not isinstance(item, dict) or set(item) != {"SchemaName", "Value"}:
            return "Each field must be {SchemaName, Value}"
        if not isinstance(item["SchemaName"], str) or not SCHEMA_NAME.fullmatch(item["SchemaName"]):
            return "SchemaName must be a schema name like mx_Custom_1"
        if not isinstance(item["Value"], str):
            return "Value must be a string"
    return ""


def build_app(config: SandboxConfig) -> tuple[web.Application, Sandbox]:
    sandbox = Sandbox(config)
    app = web.Application(middlewares=[_changes(sandbox)])
    app.router.add_post(UPDATE_PATH, sandbox.update)
    app.router.add_get(USER_PATH, sandbox.user_by_access_key)
    app.router.add_get(RETRIEVE_PATH, sandbox.retrieve_by_id)
    app.router.add_get(STATE_PATH, sandbox.state_json)
    app.cleanup_ctx.append(sandbox.other_integration)
    return app, sandbox


def _changes(sandbox: Sandbox):
    """Every answer (and every fault's dropped connection) tells the sandbox's waiters the state changed."""

    @web.middleware
    async def changes(request: web.Request, handler):
        try:
            return await handler(request)
        finally:
            sandbox.changed()

    return changes


class SandboxThread:
    """Runs a sandbox on a free loopback port in a background thread (tests, demo, benchmarks)."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.url = ""
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.sandbox: Sandbox | None = None

    @property
    def state(self) -> SandboxState:
        assert self.sandbox is not None
        return self.sandbox.state

    def wait_until(self, holds: Callable[[SandboxState], bool], timeout: float = 30) -> SandboxState:
        """The state's counters once `holds(state)` is true, looked at on the sandbox's loop each time it changes
        (an event, not a poll); TimeoutError after `timeout` seconds. Any thread but the sandbox's may wait.
        A shallow copy: its numbers are those `holds` saw; its lists and activities go on changing."""
        assert self._loop is not None and self.sandbox is not None
        sandbox, seen, answer = self.sandbox, threading.Event(), list[SandboxState | Exception]()

        def waiter(state: SandboxState) -> bool:
            try:
                if holds(state):
                    answer.append(copy(state))
                    seen.set()
            except Exception as exc:  # a broken predicate fails the waiting test, not the sandbox's loop
                answer.append(exc)
                seen.set()
            return seen.is_set()

        self._loop.call_soon_threadsafe(sandbox.add_waiter, waiter)
        if not seen.wait(timeout):
            self._loop.call_soon_threadsafe(sandbox.remove_waiter, waiter)
            raise TimeoutError(f"the sandbox's state did not reach what was awaited in {timeout:g} s: {self.state.calls} calls")
        if isinstance(answer[0], Exception):
            raise answer[0]
        return answer[0]

    def __enter__(self) -> SandboxThread:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the sandbox did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        app, self.sandbox = build_app(self.config)
        runner, self.url = await start_site(app, 0, self.config.ssl_context)
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()


def add_sandbox_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1; 0 picks a free one (default: %(default)s)")
    parser.add_argument("--rate", default="25/5", metavar="N/S", help="the limit it enforces; 'none' lifts it (default: %(default)s)")
    parser.add_argument("--counting", choices=MODES, default="sliding", help="how the limit is counted (default: %(default)s)")
    parser.add_argument("--count-rejected", action="store_true", help="calls answered 429 count against the limit too")
    parser.add_argument("--latency", default="0", metavar="LOW-HIGH", help="response time in seconds, e.g. 0.1-0.6 (default: 0)")
    parser.add_argument("--arrival-jitter", type=float, default=0.0, metavar="S", help="network delay before a call is counted, up to S seconds")
    parser.add_argument("--fail-503", type=float, default=0.0, metavar="SHARE", help="share of calls answered 503, e.g. 0.1")
    parser.add_argument("--drop", type=float, default=0.0, metavar="SHARE", help="share of calls whose connection is dropped")
    parser.add_argument("--hang", type=float, default=0.0, metavar="SHARE", help="share of calls that never answer")
    known = parser.add_mutually_exclusive_group()
    known.add_argument(
        "--activities", metavar="FILE",
        help="activity ids that exist, one per line, or a .json file of id -> {ActivityNote, Fields}; others get an MX error (default: all)",
    )
    known.add_argument(
        "--demo", action="store_true",
        help="know the activities of `bulk-updater demo`'s sample sheet, with their values and fields (instead of --activities)",
    )
    parser.add_argument("--seed", type=int, help="seed for latency and faults, to repeat a run")
    parser.add_argument(
        "--other-integration", type=int, default=0, metavar="B",
        help="another integration sharing the limit makes B calls per period, evenly spaced (default: none)",
    )
    parser.add_argument("--other-bursts", action="store_true", help="the other integration makes its B calls all at once at the start of each period")
    parser.add_argument("--other-jitter", type=float, default=0.0, metavar="S", help="each of the other integration's calls arrives up to S seconds late (transit)")
    parser.add_argument("--other-stops-after", type=float, metavar="S", help="the other integration stops S seconds after the sandbox starts (default: never)")
    parser.add_argument("--counters-only", action="store_true", help="keep only counters, no arrivals or activities (for very long runs)")
    parser.add_argument("--region-host", metavar="HOST", help="the API host UserByAccessKey.Get names for the keys (default: the sandbox's own)")
    parser.add_argument(
        "--quirk", action="append", default=[], choices=list(q.QUIRKS), metavar="NAME",
        help="play one of LeadSquared's possible behaviours where its documentation is silent (names below); repeatable",
    )
    width = max(map(len, q.QUIRKS))
    quirks = "quirks (--quirk NAME; see docs/leadsquared-api.md):\n" + "\n".join(f"  {name:<{width}}  {meaning}" for name, meaning in q.QUIRKS.items())
    parser.epilog = quirks + (f"\n\n{parser.epilog}" if parser.epilog else "")  # then the command's examples


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    low, _, high = args.latency.partition("-")
    initial = _read_activities(Path(args.activities)) if args.activities else None
    fields = None
    if args.demo:  # the demo's activities and their activity type's fields, shipped in the package
        from .demo_world import FIELDS, sandbox_activities

        initial, fields = sandbox_activities(), FIELDS
    return SandboxConfig(
        access_key=os.environ.get("LSQ_ACCESS_KEY") or DEMO_ACCESS_KEY,
        secret_key=os.environ.get("LSQ_SECRET_KEY") or DEMO_SECRET_KEY,
        rate=None if args.rate == "none" else Rate.parse(args.rate),
        counting=args.counting,
        count_rejected=args.count_rejected,
        latency=(float(low), float(high or low)),
        arrival_jitter=args.arrival_jitter,
        fail_503=args.fail_503,
        drop=args.drop,
        hang=args.hang,
        activities=set(initial) if initial is not None else None,
        initial=initial,
        fields=fields,
        seed=args.seed,
        region_host=args.region_host,
        other_integration=args.other_integration,
        other_bursts=args.other_bursts,
        other_jitter=args.other_jitter,
        other_stops_after=args.other_stops_after,
        counters_only=args.counters_only,
        quirks=frozenset(args.quirk),
    )


def _read_activities(path: Path) -> dict[str, dict]:
    """id -> {"ActivityNote", "Fields"}: from a .json file of that shape, or a text file of ids (empty activities)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        return {activity_id.lower(): activity or {} for activity_id, activity in json.loads(text).items()}
    return {line.strip().lower(): {} for line in text.splitlines() if line.strip()}


def serve_forever(args: argparse.Namespace) -> None:
    """Serve until interrupted; the first line printed gives the URL (scripts read it for --port 0)."""
    config = config_from_args(args)
    app, _ = build_app(config)

    async def main() -> None:
        runner, url = await start_site(app, args.port)
        print(f"Sandbox listening on {url}", flush=True)
        print("\n".join(connection_lines(config, url)), flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass


def connection_lines(config: SandboxConfig, url: str, windows: bool = WINDOWS) -> list[str]:
    """What to paste into another terminal to send to this sandbox, in that system's shells. Keys
    from the environment are never printed."""
    values = {"LSQ_HOST": url}
    if (config.access_key, config.secret_key) == (DEMO_ACCESS_KEY, DEMO_SECRET_KEY):
        values |= {"LSQ_ACCESS_KEY": DEMO_ACCESS_KEY, "LSQ_SECRET_KEY": DEMO_SECRET_KEY}
        intro = "It accepts its demo keys. In another terminal, paste:"
    else:
        intro = "It accepts the keys in this environment's LSQ_ACCESS_KEY and LSQ_SECRET_KEY (not shown). In another terminal with the same keys, paste:"
    if not windows:
        return [intro, *(f"  export {name}={value}" for name, value in values.items()), "Stop it with Ctrl-C."]
    # Windows has two shells, which set a variable differently (and neither reads `export`).
    return [
        intro, "  in PowerShell:", *(f'    $env:{name} = "{value}"' for name, value in values.items()),
        "  in Command Prompt:", *(f"    set {name}={value}" for name, value in values.items()), "Stop it with Ctrl-C.",
    ]


async def start_site(app: web.Application, port: int, ssl_context: ssl.SSLContext | None = None) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, ssl_context=ssl_context)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"{'https' if ssl_context else 'http'}://127.0.0.1:{bound}"
