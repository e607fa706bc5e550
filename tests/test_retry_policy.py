"""One retry policy for every call: what the runner records and the key check raises, on a faked clock.

The limiter here is a stand-in that never waits (unless told to pause after a 429), so only the policy's own clock decides when the
throttle timeout fires.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from bulk_updater.calls import Action, Backoff, CallResult, Kind, RetryPolicy, Tries
from bulk_updater.errors import AuthError, ConnectError
from bulk_updater.outcomes import Outcome, Runner
from bulk_updater.preflight import fetch_identity
from bulk_updater.rows import Row
from bulk_updater.safety.activity import read_activity
from bulk_updater.settings import Credentials, SendSettings
from bulk_updater.updates import plan_row

IDS = [f"255539a4-0380-4b8c-84db-{n:012d}" for n in range(300)]
OK = CallResult(Kind.SUCCESS, 200)
THROTTLED = CallResult(Kind.THROTTLED, 429, "MXAPIRateLimitExceededException", "API calls exceeded the limit")
BUSY = CallResult(Kind.RETRYABLE, 503, "HTTP503", "busy")
TIMEOUT = CallResult(Kind.RETRYABLE, None, "Timeout", "no answer within 30 s")
REJECTED = CallResult(Kind.UNAUTHORIZED, 401, "MXUnAuthorizedAccessException", "Invalid AccessKey or SecretKey")
TIMEOUT_S = 30.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class StubLimiter:
    """The limiter's public methods, with no waiting: pacing is not what these tests are about.

    With `pause_on_429`, a 429 holds every caller until the run stops, as a long pause would.
    """

    def __init__(self, pause_on_429: bool = False) -> None:
        self.pause_on_429, self.paused = pause_on_429, False
        self.throttled = self.successes = 0

    def ready(self) -> bool:
        return not self.paused

    async def acquire(self) -> None:
        if self.paused:
            await asyncio.Event().wait()

    def on_throttled(self) -> None:
        self.throttled += 1
        self.paused = self.pause_on_429

    def on_success(self) -> None:
        self.successes += 1


async def wait_forever(seconds: float) -> None:
    """A backoff that outlasts any test: the row is still waiting to retry when the stop comes."""
    await asyncio.Event().wait()


def policy(clock: FakeClock | None = None, sleep=None, max_attempts: int = 3) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=max_attempts, throttle_timeout=TIMEOUT_S, backoff=Backoff(0.001, 0.002, random.Random(1)),
        clock=clock or FakeClock(), sleep=sleep or (lambda seconds: asyncio.sleep(0)),
    )


def rows(*ids: str) -> list[Row]:
    return [Row(n + 2, {"CompanyActivityId": id_, "Status": f"v{n}"}) for n, id_ in enumerate(ids)]


async def run(send, rows_, retry: RetryPolicy, limiter=None, **options):
    outcomes = {}
    runner = Runner(send, limiter or StubLimiter(), lambda o: outcomes.setdefault(o.row.number, o), retry=retry, **options)
    # Generous, and never reached when the code is right: a broken timeout fails here instead of hanging.
    stats = await asyncio.wait_for(runner.run((row, plan_row(row)) for row in rows_), 5)
    return outcomes, stats, runner


# --- the policy's decisions --------------------------------------------------------------------


def test_the_policy_decides_what_to_retry_and_how_long_to_wait():
    retrying, tries = policy(max_attempts=2).watch(), Tries()
    assert retrying.decide(THROTTLED, tries).action is Action.RETRY and tries.attempts == 0  # a 429 costs no attempt
    first = retrying.decide(BUSY, tries)
    assert first.action is Action.RETRY and 0 <= first.wait <= 0.001 and tries.attempts == 1
    assert retrying.decide(TIMEOUT, tries).action is Action.FAIL  # out of attempts
    assert retrying.decide(OK, Tries()).action is Action.DONE
    assert retrying.decide(REJECTED, Tries()).action is Action.UNAUTHORIZED
    assert retrying.decide(CallResult(Kind.PERMANENT, 500, "MXInvalidEntityException"), Tries()).action is Action.FAIL


def test_the_throttle_timeout_counts_from_the_first_429_since_any_other_answer():
    clock = FakeClock()
    retrying = policy(clock).watch()
    clock.now += 500  # a quiet run: no 429 yet, so nothing is timed
    assert retrying.decide(THROTTLED, Tries()).action is Action.RETRY
    clock.now += TIMEOUT_S - 1
    assert retrying.decide(THROTTLED, Tries()).action is Action.RETRY
    retrying.decide(TIMEOUT, Tries())  # no answer: it tells nothing about the limit
    clock.now += 1
    assert retrying.decide(THROTTLED, Tries()).action is Action.THROTTLED_OUT
    retrying.decide(OK, Tries())  # a call got through: the clock starts again
    assert not retrying.throttled_out()
    clock.now += 5
    assert retrying.decide(THROTTLED, Tries()).action is Action.RETRY
    clock.now += TIMEOUT_S
    assert retrying.decide(THROTTLED, Tries()).action is Action.THROTTLED_OUT
    assert retrying.throttled_out()


# --- 429 forever ------------------------------------------------------------------------------


async def test_a_row_is_never_given_up_for_429s_alone():
    answers = iter([THROTTLED] * 120 + [OK])

    async def send(request):
        return next(answers)

    outcomes, stats, _ = await run(send, rows(IDS[0]), policy())
    [outcome] = outcomes.values()
    assert (outcome.outcome, outcome.attempts) == (Outcome.SUCCESS, 121)
    assert stats.throttled == 120 and not stats.throttled_out


async def test_the_throttle_timeout_stops_the_run_and_leaves_the_rows_not_sent():
    clock = FakeClock()
    answers = iter([OK, OK] + [THROTTLED] * 200 + [OK] * 100)  # without the timeout the run would end well

    async def send(request):
        answer = next(answers)
        if answer is THROTTLED:
            clock.now += 1  # one 429 a second, as at the pace floor
        return answer

    outcomes, stats, runner = await run(send, rows(*IDS[:10]), policy(clock), concurrency=1)

    assert stats.throttled_out and runner.stopping and stats.throttled == 31
    assert [outcomes[n].outcome for n in range(2, 12)] == [Outcome.SUCCESS] * 2 + [Outcome.NOT_SENT] * 8
    waiting = outcomes[4]  # the row the 429s held: its calls are kept, so undo knows none was applied
    assert (waiting.attempts, waiting.http_status, waiting.error_type) == (31, 429, "MXAPIRateLimitExceededException")
    assert all(outcomes[n].attempts == 0 for n in range(5, 12))


async def test_any_success_restarts_the_throttle_clock_for_every_row():
    """One activity is held by 429s for longer than the timeout, while other rows keep getting through."""
    clock = FakeClock()
    held = IDS[0]
    throttles_left = 3 * int(TIMEOUT_S)

    async def send(request):
        nonlocal throttles_left
        await asyncio.sleep(0)  # the other worker's call is in flight meanwhile
        if request.activity_id == held and throttles_left:
            throttles_left -= 1
            clock.now += 1
            return THROTTLED
        return OK

    sheet = rows(held, *IDS[1:200])
    outcomes, stats, _ = await run(send, sheet, policy(clock), concurrency=2)

    assert not stats.throttled_out and stats.throttled == 3 * int(TIMEOUT_S)
    assert {o.outcome for o in outcomes.values()} == {Outcome.SUCCESS} and len(outcomes) == 200


async def test_429s_spread_over_rows_with_successes_between_never_stop_the_run():
    clock = FakeClock()
    pattern = iter(([THROTTLED] * 20 + [OK]) * 10)

    async def send(request):
        answer = next(pattern)
        clock.now += 1
        return answer

    outcomes, stats, _ = await run(send, rows(*IDS[:10]), policy(clock), concurrency=1)
    assert not stats.throttled_out
    assert [o.attempts for o in outcomes.values()] == [21] * 10


# --- a stop turns no waiting row into `failed` ---------------------------------------------------


def stop_causes():
    """How the stop comes, as (runner options, what the second row's calls get)."""
    return {
        "max_calls": ({"max_calls": 2}, [OK]),
        "401": ({}, [REJECTED]),
        "throttle_timeout": ({}, [THROTTLED] * 100),
        "ctrl_c": ({}, ["stop"]),
    }


@pytest.mark.parametrize("cause", stop_causes())
@pytest.mark.parametrize("first", [BUSY, TIMEOUT], ids=["503", "timeout"])
async def test_a_row_waiting_to_retry_when_the_run_stops_is_not_sent_with_its_calls(cause, first):
    options, second_answers = stop_causes()[cause]
    clock = FakeClock()
    answers = {IDS[0]: iter([first]), IDS[1]: iter(second_answers)}
    runner = None

    async def send(request):
        await asyncio.sleep(0)  # the first row reaches its backoff before the second row's answer
        answer = next(answers[request.activity_id])
        if answer == "stop":  # as the first Ctrl-C does
            runner.stop()
            return OK
        if answer is THROTTLED:
            clock.now += 1
        return answer

    outcomes = {}
    runner = Runner(send, StubLimiter(), lambda o: outcomes.setdefault(o.row.number, o), concurrency=2,
                    retry=policy(clock, sleep=wait_forever), **options)
    await asyncio.wait_for(runner.run((row, plan_row(row)) for row in rows(*IDS[:5])), 5)

    waiting = outcomes[2]
    assert (waiting.outcome, waiting.attempts, waiting.http_status, waiting.error_type) == (
        Outcome.NOT_SENT, 1, first.http_status, first.error_type)
    assert "waited to retry" in waiting.error_message
    assert [outcomes[n].outcome for n in (4, 5, 6)] == [Outcome.NOT_SENT] * 3


async def test_a_row_held_by_a_429_pause_when_the_run_stops_is_not_sent():
    runner = None

    async def send(request):
        asyncio.get_running_loop().call_later(0.01, runner.stop)  # a Ctrl-C during the pause
        return THROTTLED

    outcomes = []
    runner = Runner(send, StubLimiter(pause_on_429=True), outcomes.append, concurrency=1, retry=policy())
    await asyncio.wait_for(runner.run((row, plan_row(row)) for row in rows(*IDS[:3])), 5)
    assert [(o.outcome, o.attempts, o.http_status) for o in outcomes] == [
        (Outcome.NOT_SENT, 1, 429), (Outcome.NOT_SENT, 0, None), (Outcome.NOT_SENT, 0, None)]


# --- the key check: the same policy, raising -------------------------------------------------------


class FakeClient:
    """Stands in for LeadSquaredClient in the key check: the answers it is given, in turn."""

    def __init__(self, answers, clock: FakeClock) -> None:
        self.answers, self.clock, self.calls = iter(answers), clock, 0

    async def fetch_user(self):
        self.calls += 1
        answer = next(self.answers)
        if answer is THROTTLED:
            self.clock.now += 5
        payload = {"Id": "1", "Name": "Yogesh", "LSQCommonServiceURLs": {"api": "api-in21.leadsquared.com"}}
        return answer, payload if answer is OK else {}


@pytest.fixture
def key_check(monkeypatch):
    """fetch_identity against FakeClient answers; returns (run it, the client)."""
    import bulk_updater.preflight as preflight

    clock = FakeClock()
    made: list[FakeClient] = []

    def start(answers):
        monkeypatch.setattr(preflight, "LeadSquaredClient", lambda *args: made.append(FakeClient(answers, clock)) or made[-1])
        send = SendSettings("https://api-in21.leadsquared.com", Credentials("access-key-0123", "secret-key-0123"))
        return fetch_identity(send, StubLimiter(), policy(clock)), made

    return start


async def test_the_key_check_waits_out_429s_until_the_throttle_timeout(key_check):
    check, made = key_check([THROTTLED] * 5 + [OK])  # 25 s of 429s: under the timeout
    assert (await check).user == "Yogesh"
    check, made = key_check([THROTTLED] * 100)
    with pytest.raises(ConnectError, match="every answer was a 429") as error:
        await check
    assert "another integration may be using the account's limit" in str(error.value).lower()
    assert made[-1].calls == 7  # 30 s at one 429 every 5 s, and no call after


async def test_the_key_check_retries_503_and_timeouts_up_to_max_attempts(key_check):
    check, made = key_check([BUSY, THROTTLED, TIMEOUT, OK])
    assert (await check).user == "Yogesh"  # the 429 cost no attempt
    check, made = key_check([BUSY, THROTTLED, TIMEOUT, BUSY, OK])
    with pytest.raises(ConnectError, match="HTTP503"):
        await check
    check, made = key_check([BUSY, REJECTED])
    with pytest.raises(AuthError):
        await check


class FakeReader:
    """RetrieveById from a script of answers; each 429 moves the clock on `step` seconds (5, as FakeClient's do)."""

    def __init__(self, answers, clock: FakeClock, step: float = 5) -> None:
        self.answers, self.clock, self.step, self.calls = iter(answers), clock, step, 0

    async def retrieve_activity(self, activity_id: str):
        self.calls += 1
        answer = next(self.answers)
        if answer is THROTTLED:
            self.clock.now += self.step
        return answer, {"CompanyActivityId": activity_id, "ActivityFields": {"Status": "Won"}} if answer is OK else {}


async def read(answers, step: float = 5, limiter: StubLimiter | None = None):
    clock = FakeClock()
    reader = FakeReader(answers, clock, step)
    result, activity = await read_activity(reader, limiter or StubLimiter(), IDS[0], policy(clock))  # a duck-typed client and limiter
    return reader, result, activity


async def test_a_read_waits_out_429s_until_the_throttle_timeout_like_every_call():
    # Kills: reads with a loop of their own, which gave up after 50 answers of 429 and had no timeout.
    limiter = StubLimiter()
    reader, result, activity = await read([THROTTLED] * 100, limiter=limiter)
    assert reader.calls == 7 and result is THROTTLED and activity is None  # 30 s at one 429 every 5 s, and no call after
    assert limiter.throttled == 7  # each 429 slows everyone down, as an update's does
    reader, result, activity = await read([THROTTLED] * 60 + [OK], step=0, limiter=limiter)  # more 429s than the old cap, all under the timeout
    assert reader.calls == 61 and result is OK and activity is not None and activity.value("Status") == "Won"
    assert limiter.successes == 1


async def test_a_read_retries_503_and_timeouts_up_to_max_attempts_and_stops_at_a_401():
    reader, result, activity = await read([BUSY, THROTTLED, TIMEOUT, OK])
    assert activity is not None and reader.calls == 4  # the 429 cost no attempt
    reader, result, activity = await read([BUSY, THROTTLED, TIMEOUT, BUSY, OK])
    assert activity is None and result is BUSY and reader.calls == 4  # the third attempt was the last
    reader, result, activity = await read([REJECTED, OK])
    assert activity is None and result is REJECTED and reader.calls == 1


class _Highest(random.Random):
    """Draws the top of every range: what the backoff allows at most."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_the_backoff_doubles_from_its_base_up_to_its_cap_with_full_jitter():
    backoff = Backoff(base=0.5, cap=30.0, rng=_Highest())
    assert [backoff.delay(attempt) for attempt in (1, 2, 3, 4, 7, 20)] == [0.5, 1.0, 2.0, 4.0, 30.0, 30.0]
    assert all(0 <= Backoff(base=0.5, cap=30.0, rng=random.Random(seed)).delay(3) <= 2.0 for seed in range(20))
