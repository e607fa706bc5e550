"""A run sharing the account with another integration, in simulated time: the limiter against
a model of the sandbox (`bulk_updater/sandbox/server.py` with `--other-integration B`).

What the model keeps from the sandbox, because the outcome turns on it:
- one sliding-window counter (`CallCounter`) for both integrations; a call answered 429 is not
  counted, so the other integration's 429 leaves a hole in its share for one period;
- the other integration paces with a leaky bucket of one (aiolimiter): its calls are at least
  period / B apart, and each is late by a little (the event loop's wake-up), never caught up;
- the key check and the field check's read arrive at once (no arrival jitter); an update arrives
  after 0-`jitter` s; an admitted call is answered after its latency, a 429 at once;
- the tool: the key check, then one read, then `rows` updates by `workers` workers; a call
  answered 429 is reported to the limiter and sent again at once (the limiter paces it).

`python tests/sharing_sim.py [--other 20] [--seeds 200] [--other-late 0.006] [--other-jitter 0.1]
[--other-stops 60 --rows 1500] [--today]` prints, over many seeds, the other integration's 429s (in
the opening window and after), ours, and the run's length; tests/test_limiter_sharing.py holds the
sharing targets over a few seeds.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import random
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bulk_updater.calls import WindowLimiter  # noqa: E402
from bulk_updater.calls import limiter as limiter_module  # noqa: E402
from bulk_updater.sandbox.limits import CallCounter  # noqa: E402

CALLS, PERIOD, JITTER = 25, 5.0, 0.1
LATENCY = (0.1, 0.6)
OPENING = PERIOD + JITTER + LATENCY[1]  # as tests/bench/bench_sharing.py counts it, from the key check
WARM_UP = 5.5  # the other integration works a whole window before the tool starts
ANSWER_429 = 0.002  # a 429 comes back at once (plus the loopback's round trip)
# A probe's calls arrive up to JITTER late, and the window stays full until our oldest call leaves, at most
# JITTER after the probe's first call (plus PROBE_EARLY): the other's 429s in this reach are the probe's doing.
PROBE_REACH = 2 * JITTER + 0.05


@dataclass
class Outcome:
    """What one simulated run saw; times are seconds after the key check's arrival."""

    other_throttled_at: list[float] = field(default_factory=list)
    our_throttled_at: list[float] = field(default_factory=list)
    our_arrivals: list[float] = field(default_factory=list)  # admitted calls, incl. key check and read
    calls: int = 0  # update calls sent (as the bench counts: the sandbox's update calls)
    throttled: int = 0  # of them answered 429
    in_run: float = 0.0  # to the last update's arrival
    budgets: list[tuple[float, int]] = field(default_factory=list)  # (time, budget) at each change
    blame: list[str] = field(default_factory=list)  # for each other 429: what of ours was in its window
    other_stopped: float | None = None  # the other's last call, when it stopped
    probes: list[float] = field(default_factory=list)  # when each probe's first call started

    @property
    def other_after_probe(self) -> int:
        """The other's 429s after the opening window that came within PROBE_REACH of a probe's first call."""
        return sum(t > OPENING and any(0 <= t - p <= PROBE_REACH for p in self.probes) for t in self.other_throttled_at)

    def back_to_ceiling(self, calls: int = CALLS) -> float | None:
        """Seconds from the other's last call to the end of the first of the windows (period + jitter each,
        from its last call) that holds `calls` - 1 or more of ours: the pace is back at the ceiling."""
        if self.other_stopped is None:
            return None
        since, width = self.other_stopped, PERIOD + JITTER
        for k in range(int((max(self.our_arrivals, default=since) - since) / width) + 1):
            if sum(since + k * width <= t < since + (k + 1) * width for t in self.our_arrivals) >= calls - 1:
                return (k + 1) * width
        return None

    @property
    def other_after_opening(self) -> int:
        return sum(t > OPENING for t in self.other_throttled_at)


class SharedServer:
    """The sandbox's counter, fed the other integration's calls up to each moment asked."""

    def __init__(self, other: int, rng: random.Random, late: float, jitter: float = 0.0, stops: float = float("inf")) -> None:
        self.counter = CallCounter(CALLS, PERIOD, "sliding")
        self.other, self.rng, self.late, self.jitter, self.stops = other, rng, late, jitter, stops
        self.next_other = 0.0 if other else float("inf")
        self.in_transit: list[float] = []  # the other's calls sent, by arrival
        self.other_throttled_at: list[float] = []
        self.other_last = -1.0  # the other's last call sent

    def advance(self, now: float) -> None:
        """The other integration's calls that arrive up to `now`, in order."""
        while self.next_other <= now and self.next_other < self.stops:
            sent = self.next_other
            self.other_last = sent
            # Its transit: the sandbox's --other-jitter (0 for the sandbox's own even neighbour).
            heapq.heappush(self.in_transit, sent + (self.rng.uniform(0, self.jitter) if self.jitter else 0.0))
            # aiolimiter's leaky bucket of one: the next call a spacing later, plus the wake-up's lateness.
            self.next_other = sent + PERIOD / self.other + self.rng.uniform(0, self.late)
        while self.in_transit and self.in_transit[0] <= now:
            at = heapq.heappop(self.in_transit)
            if not self.counter.admit(at):
                self.other_throttled_at.append(at)

    def admit(self, now: float) -> bool:
        self.advance(now)
        return self.counter.admit(now)


def simulate(
    other: int = 20,
    rows: int = 200,
    seed: int = 0,
    make_limiter: Callable[[], WindowLimiter] = lambda: WindowLimiter(CALLS, PERIOD, JITTER),
    workers: int = 25,
    other_late: float = 0.003,
    start_up: tuple[float, float] = (0.2, 0.5),
    other_jitter: float = 0.0,
    other_stops: float = float("inf"),
    our_late: float = 0.0,
) -> Outcome:
    """`other_jitter`: the other's calls arrive 0-that late (transit, not caught up); `other_stops`:
    it sends nothing from that many seconds after the tool starts; `our_late`: our updates arrive up to
    that much later than the jitter allowance (a loaded machine)."""
    rng = random.Random(seed)
    begin = WARM_UP + rng.uniform(*start_up)
    server = SharedServer(other, rng, other_late, other_jitter, begin + other_stops)
    limiter = make_limiter()
    take = getattr(limiter, "take", None) or (lambda now: now if limiter.next_start(now) <= now and limiter.start(now) is None else limiter.next_start(now))
    out = Outcome()
    events: list[tuple[float, int, Callable[[float], None]]] = []
    order = itertools.count()
    ours: list[tuple[float, str]] = []  # admitted arrivals, with what they were
    key_arrival = [0.0]
    rows_left = [rows]
    last_update = [0.0]

    def at(when: float, action: Callable[[float], None]) -> None:
        heapq.heappush(events, (when, next(order), action))

    def note_probe(now: float) -> None:
        probe = getattr(limiter, "_probe", None)  # the probe's own record: when its first call went
        if probe is not None and probe.sent == 1 and (not out.probes or out.probes[-1] != probe.sent_at):
            out.probes.append(probe.sent_at)

    def note_budget(now: float) -> None:
        if not out.budgets or out.budgets[-1][1] != limiter.budget:
            out.budgets.append((now, limiter.budget))

    def acquire(then: Callable[[float], None]) -> Callable[[float], None]:
        """As `WindowLimiter.acquire`: re-read on every wake-up, then start."""
        def attempt(now: float) -> None:
            start = take(now)
            note_budget(now)
            note_probe(now)
            if start > now:
                at(start, attempt)
                return
            then(now)
        return attempt

    def call(kind: str, delay: float, answered: Callable[[float, bool], None]) -> Callable[[float], None]:
        def started(now: float) -> None:
            arrival = now + delay

            def arrive(t: float) -> None:
                admitted = server.admit(t)
                if admitted:
                    ours.append((t, f"{kind}(budget {limiter.budget})"))
                    if kind == "update":
                        last_update[0] = max(last_update[0], t)
                    if kind == "key check":
                        key_arrival[0] = t
                if kind == "update":
                    out.calls += 1
                    out.throttled += not admitted
                if not admitted:
                    out.our_throttled_at.append(t)
                back = t + (rng.uniform(*LATENCY) if admitted and kind != "key check" else ANSWER_429)
                at(back, lambda t2: answered(t2, admitted))
            at(arrival, arrive)
        return started

    def send(kind: str, delay: Callable[[], float], done: Callable[[float], None]) -> Callable[[float], None]:
        """A call of `kind` that, once answered (after its retries of 429s), goes on with `done`."""
        def answered(now: float, admitted: bool) -> None:
            if admitted:
                done(now)
            else:
                limiter.throttled(now)
                note_budget(now)
                at(now, acquire(call(kind, delay(), answered)))
        return acquire(call(kind, delay(), answered))

    def worker_next(now: float) -> None:
        if rows_left[0] <= 0:
            return
        rows_left[0] -= 1
        at(now, send("update", lambda: rng.uniform(0, JITTER + our_late), worker_next))

    def after_read(now: float) -> None:
        for _ in range(workers):
            worker_next(now)

    def after_key_check(now: float) -> None:
        at(now, send("read", lambda: 0.0, after_read))

    at(begin, send("key check", lambda: 0.0, after_key_check))
    while events:
        now, _, action = heapq.heappop(events)
        action(now)
    server.advance(last_update[0] + PERIOD)  # the other's calls up to a period after our last

    base = key_arrival[0]
    out.in_run = last_update[0] - base
    out.other_throttled_at = [t - base for t in server.other_throttled_at if t >= base - 0.01]
    out.our_throttled_at = [t - base for t in out.our_throttled_at]
    out.our_arrivals = [t - base for t, _ in ours]
    out.budgets = [(t - base, b) for t, b in out.budgets]
    out.probes = [t - base for t in out.probes]
    out.other_stopped = server.other_last - base if other_stops != float("inf") else None
    for t in server.other_throttled_at:
        if t >= base - 0.01:
            inside = [what for when, what in ours if t - PERIOD < when <= t]
            out.blame.append(f"other 429 at {t - base:.2f}: {len(inside)} of ours in its window: {sorted(set(inside))}")
    return out


def summary(outcomes: list[Outcome]) -> str:
    def spread(values: list[float], fmt: str = "{:.0f}") -> str:
        return f"median {fmt.format(statistics.median(values))}, {fmt.format(min(values))}-{fmt.format(max(values))}"

    others = [len(o.other_throttled_at) for o in outcomes]
    late = [o.other_after_opening for o in outcomes]
    return "\n".join([
        f"runs: {len(outcomes)}",
        f"other's 429s: {spread(others)}; runs with more than 5: {sum(n > 5 for n in others)}",
        f"  after the opening window: {spread(late)}; runs with any: {sum(n > 0 for n in late)}",
        f"our 429s: {spread([o.throttled for o in outcomes])} of {spread([o.calls for o in outcomes])} calls; "
        f"share max {max(o.throttled / o.calls for o in outcomes):.1%}",
        f"in-run s: {spread([o.in_run for o in outcomes], '{:.1f}')}",
        f"probes a run: {statistics.mean(len(o.probes) for o in outcomes):.1f}; the other's 429s after the opening window, "
        f"a run: {statistics.mean(o.other_after_opening for o in outcomes):.2f}, of them within {PROBE_REACH:.2f} s of a probe: "
        f"{statistics.mean(o.other_after_probe for o in outcomes):.2f} "
        f"({sum(o.other_after_probe for o in outcomes) / max(1, sum(len(o.probes) for o in outcomes)):.2f} a probe)",
    ])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--other", type=int, default=20)
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--ceiling", type=int, default=CALLS, help="the limiter's calls (--headroom)")
    parser.add_argument("--other-late", type=float, default=0.003)
    parser.add_argument("--other-jitter", type=float, default=0.0, help="the other's calls arrive 0-this late (transit)")
    parser.add_argument("--other-stops", type=float, default=float("inf"), help="the other stops this many seconds after the run starts")
    parser.add_argument("--show", type=int, default=3, help="print the blame of this many bad runs")
    parser.add_argument("--first-probe-windows", type=int, help="the limiter's FIRST_PROBE_WINDOWS")
    parser.add_argument("--probe-every", type=int, help="probe every this many clean windows, never waiting longer (the trade-off)")
    parser.add_argument("--today", action="store_true", help="the limiter before the shared ledger (tests/bench/today_limiter.py)")
    args = parser.parse_args(argv)
    if args.first_probe_windows:
        limiter_module.FIRST_PROBE_WINDOWS = args.first_probe_windows
    if args.probe_every:
        limiter_module.FIRST_PROBE_WINDOWS = limiter_module.MAX_PROBE_WINDOWS = args.probe_every
    make: Callable[[], WindowLimiter] = lambda: WindowLimiter(args.ceiling, PERIOD, JITTER)  # noqa: E731
    if args.today:
        sys.path.insert(0, str(Path(__file__).resolve().parent / "bench"))
        from today_limiter import WindowLimiter as TodaysLimiter

        make = lambda: TodaysLimiter(args.ceiling, PERIOD, JITTER)  # type: ignore[assignment,return-value]  # noqa: E731
    outcomes = []
    shown = 0
    for seed in range(args.seeds):
        o = simulate(args.other, args.rows, seed, make, other_late=args.other_late, other_jitter=args.other_jitter, other_stops=args.other_stops)
        outcomes.append(o)
        if (len(o.other_throttled_at) > 5 or o.other_after_opening) and shown < args.show:
            shown += 1
            print(f"-- seed {seed}: budgets {o.budgets}")
            print("\n".join(o.blame))
    print(summary(outcomes))
    if args.other_stops != float("inf"):
        backs = [o.back_to_ceiling() for o in outcomes]
        print(f"back to {CALLS} a window after the other's last call, s: {[None if b is None else round(b, 1) for b in backs]}")


if __name__ == "__main__":
    main()
