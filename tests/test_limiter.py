"""The window guarantee: however the server counts, and despite arrival jitter, no 429."""

import asyncio
import random

import pytest
from aiolimiter import AsyncLimiter

from bulk_updater.calls import WindowLimiter
from bulk_updater.sandbox.limits import MODES, CallCounter

CALLS, PERIOD, JITTER = 5, 0.1, 0.03


async def start_times(acquire, count: int) -> list[float]:
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def one() -> None:
        await acquire()
        times.append(loop.time())

    await asyncio.gather(*(one() for _ in range(count)))
    return times


def rejected(times: list[float], mode: str, jitter: float, seed: int) -> int:
    """How many calls a server counting `mode` would reject, each call delayed by up to `jitter`."""
    rng = random.Random(seed)
    arrivals = sorted(t + rng.uniform(0, jitter) for t in times)
    counter = CallCounter(CALLS, PERIOD, mode)
    return sum(not counter.admit(t) for t in arrivals)


@pytest.mark.parametrize("mode", MODES)
async def test_window_holds_under_jitter(mode):
    limiter = WindowLimiter(CALLS, PERIOD, jitter=JITTER)
    times = await start_times(limiter.acquire, 40)
    assert all(rejected(times, mode, JITTER, seed) == 0 for seed in range(50))


async def test_the_naive_limiter_fails_the_same_check():
    """The check above can fail: a bare AsyncLimiter(5, 0.1) bursts twice the limit."""
    times = await start_times(AsyncLimiter(CALLS, PERIOD).acquire, 40)
    assert rejected(times, "sliding", 0, seed=0) > 0


async def test_throttle_pauses_everyone_and_halves_the_pace_then_recovers():
    limiter = WindowLimiter(CALLS, PERIOD, jitter=0)
    loop = asyncio.get_running_loop()
    await limiter.acquire()
    limiter.on_throttled()
    limiter.on_throttled()  # the same burst: no second halving
    assert limiter.pace == pytest.approx(limiter.ceiling / 2)
    before = loop.time()
    await limiter.acquire()
    assert loop.time() - before >= PERIOD * 0.99
    for _ in range(20):
        limiter.on_success()
    assert limiter.pace == pytest.approx(limiter.ceiling)


async def test_pace_never_drops_below_one_call_per_window():
    limiter = WindowLimiter(CALLS, PERIOD, jitter=0)
    for _ in range(10):
        limiter._resume_at = 0  # as if each 429 came after the pause
        limiter.on_throttled()
    assert limiter.pace == pytest.approx(limiter.floor)
