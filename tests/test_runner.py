"""The worker pool: retries, 429s, 401, duplicates, and exactly one outcome per row."""

import asyncio
import json
import random

import aiohttp

from bulk_updater.calls import Backoff, CallResult, Kind, LeadSquaredClient, WindowLimiter
from bulk_updater.outcomes import Outcome, RetryPolicy, Runner
from bulk_updater.rows import Row
from bulk_updater.settings import Credentials
from bulk_updater.updates import plan_row

HOST = "https://api-in21.leadsquared.com"
URL = HOST + "/v2/CompanyActivity.svc/Update"
IDS = [f"255539a4-0380-4b8c-84db-{n:012d}" for n in range(100)]
OK = json.dumps({"Status": "Success", "Message": {"Id": IDS[0], "IsSuccessful": True}})
QUICK_RETRY = RetryPolicy(max_attempts=3, backoff=Backoff(base=0.001, cap=0.005, rng=random.Random(1)))


def rows(*ids, start=2):
    return [Row(start + n, {"CompanyActivityId": id_, "Status": f"v{n}"}) for n, id_ in enumerate(ids)]


async def run(send, rows_, **options):
    outcomes = []
    limiter = options.pop("limiter", None) or WindowLimiter(1000, 0.01, jitter=0)
    runner = Runner(send, limiter, outcomes.append, retry=options.pop("retry", QUICK_RETRY), **options)
    stats = await runner.run((row, plan_row(row)) for row in rows_)
    return outcomes, stats


async def run_against_mock(rows_, **options):
    async with aiohttp.ClientSession() as session:
        client = LeadSquaredClient(session, HOST, Credentials("a", "s"), 5)
        return await run(client.send_update, rows_, **options)


async def test_retryable_errors_are_retried_until_success(mocked):
    mocked.post(URL, status=503, body="busy")
    mocked.post(URL, status=500, body="<html>boom</html>")
    mocked.post(URL, status=200, body=OK)
    [outcome], stats = await run_against_mock(rows(IDS[0]))
    assert (outcome.outcome, outcome.attempts, outcome.http_status) == (Outcome.SUCCESS, 3, 200)
    assert stats.calls == 3


async def test_retries_stop_at_max_attempts(mocked):
    mocked.post(URL, status=503, body="busy", repeat=True)
    [outcome], stats = await run_against_mock(rows(IDS[0]))
    assert (outcome.outcome, outcome.attempts, outcome.http_status, outcome.error_type) == (Outcome.FAILED, 3, 503, "HTTP503")


async def test_mx_errors_fail_at_once(mocked):
    body = json.dumps({"Status": "Error", "ExceptionType": "MXInvalidEntityException", "ExceptionMessage": "Activity does not exist"})
    mocked.post(URL, status=500, body=body)
    [outcome], stats = await run_against_mock(rows(IDS[0]))
    assert (outcome.outcome, outcome.attempts, outcome.error_message) == (Outcome.FAILED, 1, "Activity does not exist")
    assert stats.calls == 1


async def test_429_costs_no_attempt(mocked):
    for _ in range(4):
        mocked.post(URL, status=429, body="{}")
    mocked.post(URL, status=503, body="busy")
    mocked.post(URL, status=503, body="busy")
    mocked.post(URL, status=200, body=OK)
    limiter = WindowLimiter(1000, 0.01, jitter=0)
    [outcome], stats = await run_against_mock(rows(IDS[0]), limiter=limiter)
    assert outcome.outcome is Outcome.SUCCESS and outcome.attempts == 7
    assert stats.throttled == 4
    assert limiter.budget < limiter.ceiling  # it slowed down


async def test_401_stops_the_run_and_the_rest_are_not_sent(mocked):
    mocked.post(URL, status=401, body="{}", repeat=True)
    outcomes, stats = await run_against_mock(rows(*IDS[:20]), concurrency=1)
    assert stats.unauthorized and stats.calls == 1
    assert [o.outcome for o in outcomes] == [Outcome.FAILED] + [Outcome.NOT_SENT] * 19


async def test_every_row_gets_exactly_one_outcome():
    async def send(request):
        await asyncio.sleep(random.random() / 1000)
        return CallResult(Kind.SUCCESS, 200)

    mixed = rows(*IDS[:50]) + [Row(60, {"CompanyActivityId": "bad", "Status": "x"}), Row(61, {"CompanyActivityId": IDS[0]})]
    outcomes, _ = await run(send, mixed, concurrency=8)
    assert sorted(o.row.number for o in outcomes) == [r.number for r in mixed]
    assert [o.outcome for o in outcomes if o.row.number >= 60] == [Outcome.INVALID, Outcome.SKIPPED]


async def test_rows_for_one_activity_are_applied_in_order_and_never_together():
    in_flight: set[str] = set()
    applied: list[tuple[str, str]] = []

    async def send(request):
        assert request.activity_id not in in_flight
        in_flight.add(request.activity_id)
        await asyncio.sleep(random.random() / 500)
        in_flight.discard(request.activity_id)
        applied.append((request.activity_id, request.fields[0][1]))
        return CallResult(Kind.SUCCESS, 200)

    ids = [IDS[n % 3] for n in range(30)]
    outcomes, _ = await run(send, rows(*ids), concurrency=10)
    assert all(o.outcome is Outcome.SUCCESS for o in outcomes)
    for id_ in IDS[:3]:
        assert [v for i, v in applied if i == id_] == [f"v{n}" for n in range(30) if ids[n] == id_]


async def test_max_calls_stops_sending():
    async def send(request):
        return CallResult(Kind.SUCCESS, 200)

    outcomes, stats = await run(send, rows(*IDS[:10]), concurrency=3, max_calls=4)
    assert stats.calls == 4 and stats.stopped_by_max_calls
    assert sorted(o.outcome.value for o in outcomes) == ["not_sent"] * 6 + ["success"] * 4


async def test_a_stop_does_not_wait_for_the_limiter():
    runner = None

    async def send(request):
        for _ in range(20):
            await asyncio.sleep(0)  # the other workers line up at the limiter
        runner.stop()
        return CallResult(Kind.SUCCESS, 200)

    # One call a minute: without the stop, the other workers would wait for their turn.
    outcomes = []
    runner = Runner(send, WindowLimiter(1, 60, jitter=0), outcomes.append, concurrency=4, retry=QUICK_RETRY)
    await asyncio.wait_for(runner.run((row, plan_row(row)) for row in rows(*IDS[:10])), 30)
    assert sorted(o.outcome.value for o in outcomes) == ["not_sent"] * 9 + ["success"]
