"""The window guarantee: however the server counts, and despite arrival jitter, no 429 from our
own calls; an opening burst; and learning the room after 429s on a shared account.

Most tests drive the limiter at explicit times (`next_start`, `start`, `throttled`), in a small
discrete-event simulation of the runner's workers: no sleeping, no wall clock. A few run the
real `acquire` with small periods.
"""

import asyncio
import heapq
import random
from dataclasses import dataclass, field

import pytest
from aiolimiter import AsyncLimiter
from hypothesis import given, settings
from hypothesis import strategies as st

from bulk_updater.calls import WindowLimiter
from bulk_updater.calls.limiter import FIRST_PROBE_WINDOWS
from bulk_updater.sandbox.limits import MODES, CallCounter

CALLS, PERIOD, JITTER = 5, 0.1, 0.03


def rejected(times: list[float], mode: str, jitter: float, seed: int, calls: int = CALLS, period: float = PERIOD) -> int:
    """How many calls a server counting `mode` would reject, each call delayed by up to `jitter`."""
    rng = random.Random(seed)
    arrivals = sorted(t + rng.uniform(0, jitter) for t in times)
    counter = CallCounter(calls, period, mode)
    return sum(not counter.admit(t) for t in arrivals)


def most_in_any_window(times: list[float], width: float) -> int:
    """The most starts any half-open window [t, t + width) holds."""
    times = sorted(times)
    return max(sum(1 for u in times if t <= u < t + width - 1e-12) for t in times)


@dataclass
class Simulation:
    """The runner's workers against a limiter, in simulated time.

    Each worker acquires (re-reading the limiter whenever it wakes, as `acquire` does),
    starts, waits its latency, and on a 429 (chosen by `throttle`) reports it and tries again.
    """

    limiter: WindowLimiter
    workers: int
    calls: int
    latency: object  # callable(rng) -> seconds
    throttle: object = staticmethod(lambda n, t: False)  # (call number, time) -> answered 429?
    seed: int = 0
    starts: list[float] = field(default_factory=list)
    throttled_at: list[float] = field(default_factory=list)

    def run(self) -> "Simulation":
        rng = random.Random(self.seed)
        events = [(0.0, n) for n in range(self.workers)]
        heapq.heapify(events)
        while events and len(self.starts) < self.calls:
            now, worker = heapq.heappop(events)
            if worker < 0:  # a 429 comes back: report it, then that worker goes again
                self.limiter.throttled(now)
                worker = -1 - worker
            at = self.limiter.next_start(now)
            if at > now:
                heapq.heappush(events, (at, worker))
                continue
            self.limiter.start(now)
            self.starts.append(now)
            answered = now + self.latency(rng)
            if self.throttle(len(self.starts), now):
                self.throttled_at.append(answered)
                heapq.heappush(events, (answered, -1 - worker))  # report the 429, then go again
            else:
                heapq.heappush(events, (answered, worker))
        return self


# -- the window guarantee --


@pytest.mark.parametrize("mode", MODES)
async def test_window_holds_under_jitter(mode):
    """The real `acquire`, on the event loop's clock, with a small period."""
    times = await start_times(WindowLimiter(CALLS, PERIOD, jitter=JITTER))
    assert all(rejected(times, mode, JITTER, seed) == 0 for seed in range(50))


async def test_the_naive_limiter_fails_the_same_check():
    """The check above can fail: a bare AsyncLimiter(5, 0.1) bursts twice the limit."""
    times = await start_times(AsyncLimiter(CALLS, PERIOD))
    assert rejected(times, "sliding", 0, seed=0) > 0


async def start_times(limiter: WindowLimiter | AsyncLimiter, calls: int = 40) -> list[float]:
    """When each of `calls` callers, all asking at once, got through `limiter.acquire()`."""
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        times.append(loop.time())

    await asyncio.gather(*(one() for _ in range(calls)))
    return times


@settings(max_examples=150, deadline=None)
@given(
    calls=st.integers(1, 12),
    period=st.sampled_from([1.0, 5.0]),
    jitter=st.sampled_from([0.0, 0.1, 0.5]),
    workers=st.integers(1, 30),
    latency=st.tuples(st.floats(0, 2), st.floats(0, 2)).map(sorted),
    share_429=st.sampled_from([0.0, 0.1, 0.5]),
    seed=st.integers(0, 10_000),
)
def test_no_window_ever_holds_more_than_the_limit(calls, period, jitter, workers, latency, share_429, seed):
    """Whatever the latencies and the 429s (which move the budget), every counting mode admits
    every one of our calls, each delayed by anything up to the jitter allowance."""
    rng = random.Random(seed)
    sim = Simulation(
        WindowLimiter(calls, period, jitter), workers, calls * 6, latency=lambda r: r.uniform(*latency),
        throttle=lambda n, t: rng.random() < share_429, seed=seed,
    ).run()
    for mode in MODES:
        assert rejected(sim.starts, mode, jitter, seed, calls, period) == 0, mode
    assert most_in_any_window(sim.starts, period + jitter) <= calls


def test_jitter_at_the_worst_still_holds():
    """The first call delayed by the whole jitter, the next window's first not at all."""
    sim = Simulation(WindowLimiter(5, 1.0, 0.2), 10, 30, latency=lambda r: 0.05).run()
    for k in range(len(sim.starts) - 5):
        assert sim.starts[k + 5] - sim.starts[k] >= 1.2 - 1e-9
    arrivals = [t + (0.2 if n % 5 == 4 else 0.0) for n, t in enumerate(sim.starts)]
    counter = CallCounter(5, 1.0, "sliding")
    assert all(counter.admit(t) for t in sorted(arrivals))


# -- the opening burst and the bound of starts --


def test_a_job_opens_with_the_whole_budget():
    limiter = WindowLimiter(25, 5, 0.1)
    sim = Simulation(limiter, 25, 41, latency=lambda r: r.uniform(0.1, 0.6)).run()
    # The bound of starts: call C starts at floor((C - 1) / N) * (S + jitter).
    assert sim.starts == pytest.approx([(c // 25) * 5.1 for c in range(41)], abs=1e-5)


def test_a_burst_only_after_a_clean_window():
    limiter = WindowLimiter(5, 1.0, 0.0)
    for _ in range(5):
        limiter.start(0.0)
    limiter.throttled(0.5)  # 5 in the window: the budget falls to 4
    assert limiter.budget == 4 and limiter.learning(0.9)
    # Learning: the next start waits for the window, then calls come evenly, window / budget apart.
    first = limiter.next_start(0.5)
    assert first == pytest.approx(1.0)
    limiter.start(first)
    assert limiter.next_start(first) == pytest.approx(first + 0.25)
    # A window after the 429 the limiter bursts again, within the budget.
    later = 0.5 + 1.0
    assert not limiter.learning(later)
    assert limiter.next_start(later) == later


# -- learning the room --


def test_each_429_lowers_the_budget_by_one():
    limiter = WindowLimiter(25, 5, 0.1)
    for _ in range(25):
        limiter.start(0.0)
    for k in range(1, 11):
        limiter.throttled(0.3)
        assert limiter.budget == 25 - k


def test_the_budget_never_stays_above_the_starts_in_the_window_minus_one():
    limiter = WindowLimiter(25, 5, 0.1)
    for t in (0.0, 0.1, 0.2):
        limiter.start(t)
    limiter.throttled(0.5)  # only 3 of ours in the window: the others hold the rest
    assert limiter.budget == 2


def test_the_budget_never_falls_below_one_call():
    limiter = WindowLimiter(5, 1, 0)
    for _ in range(20):
        limiter.throttled(0.0)
    assert limiter.budget == 1
    assert limiter.next_start(0.0) == 0.0


async def test_no_queued_worker_starts_outside_the_new_budget():
    """Workers waiting on the old budget re-read it when they wake."""
    period = 0.2
    limiter = WindowLimiter(5, period, jitter=0)
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        times.append(loop.time())

    tasks = [asyncio.create_task(one()) for _ in range(12)]
    await asyncio.sleep(0)  # the opening burst of 5 starts; 7 wait for the window
    assert len(times) == 5
    limiter.on_throttled()
    limiter.on_throttled()  # two of the burst answered 429: budget 3
    throttled_at = loop.time()
    await asyncio.gather(*tasks)
    later = [t for t in times if t > throttled_at]
    assert len(later) == 7
    # Until a probe may take a call back (two clean windows), no window holds more than the new budget.
    assert most_in_any_window(times, period) <= 5
    before_win_back = [t for t in later if t < throttled_at + FIRST_PROBE_WINDOWS * period]
    assert len(before_win_back) == 3
    assert most_in_any_window(before_win_back, period) <= 3


def test_time_alone_wins_nothing_back():
    """Clean windows only make a probe due; the budget comes back when probes find the room."""
    limiter = WindowLimiter(10, 1.0, 0.0)
    for _ in range(3):
        limiter.start(0.0)
    limiter.throttled(0.5)  # at a budget of 10, with only 3 of ours in the window: down to 2
    assert limiter.budget == 2
    for k in range(1, 50):
        limiter.next_start(0.5 + k)
    assert limiter.budget == 2


def test_the_budget_never_grows_above_the_ceiling():
    """After a 429, probes that find the room free climb back to the ceiling (the rate after --headroom), never above it."""
    limiter = WindowLimiter(5, 1.0, 0.0)
    sim = Simulation(limiter, 10, 150, latency=lambda r: 0.05, throttle=lambda n, t: n == 6).run()
    assert limiter.budget == 5
    assert most_in_any_window(sim.starts, 1.0) <= 5


def test_headroom_is_a_ceiling_the_learning_never_exceeds():
    limiter = WindowLimiter(15, 5, 0.1)  # --rate 25/5 --headroom 40
    sim = Simulation(limiter, 25, 200, latency=lambda r: r.uniform(0.1, 0.6), throttle=lambda n, t: n in (3, 50)).run()
    assert most_in_any_window(sim.starts, 5.1) <= 15
    assert limiter.budget <= 15


def test_learning_settles_on_what_another_integration_leaves():
    """A server shared with an integration that uses 10 of 25 calls per 5 s, evenly: we end
    near 15, with 429s mostly in the opening window."""
    server = CallCounter(25, 5.0, "sliding")
    other = [k * 0.5 for k in range(-10, 400)]
    answers: dict[float, bool] = {}
    limiter = WindowLimiter(25, 5.0, 0.1)

    def throttle(n: int, t: float) -> bool:
        # Feed the other integration's calls up to t, then ours.
        while other and other[0] <= t:
            server.admit(other.pop(0))
        answers[t] = not server.admit(t)
        return answers[t]

    sim = Simulation(limiter, 25, 200, latency=lambda r: r.uniform(0.1, 0.6), throttle=throttle).run()
    throttled = sum(answers.values())
    assert throttled <= 0.10 * len(sim.starts)
    assert 12 <= limiter.budget <= 16


# -- memory --


def test_the_log_of_starts_holds_one_window_at_a_lifted_limit():
    limiter = WindowLimiter(1_000_000, 1.0, 0.1)
    for n in range(200_000):
        now = n * 0.0001  # 10,000 calls a second for 20 s
        assert limiter.next_start(now) <= now
        limiter.start(now)
    # Private on purpose: the log of starts is the memory measured, and has no public size.
    assert len(limiter._starts) <= 11_001


def test_a_probe_into_a_full_room_makes_the_next_wait_longer():
    """Another integration leaves no room above 4 of 5: each probe is answered 429, and each waits twice as long as the last."""
    server = CallCounter(5, 1.0, "sliding")
    other = [0.5 + k for k in range(-2, 200)]  # one call a second: room for 4 of ours
    limiter = WindowLimiter(5, 1.0, 0.0)

    def throttle(n: int, t: float) -> bool:
        while other and other[0] <= t:
            server.admit(other.pop(0))
        return not server.admit(t)

    sim = Simulation(limiter, 8, 500, latency=lambda r: 0.01, throttle=throttle).run()
    above = sorted({round(t) for t in sim.throttled_at if t > 2})  # the probes' 429s, after the opening
    gaps = [b - a for a, b in zip(above, above[1:])]
    assert len(above) >= 4 and all(later > 1.5 * earlier for earlier, later in zip(gaps, gaps[1:])), above
    assert limiter.budget == 4
