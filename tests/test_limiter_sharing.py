"""Sharing the account with another integration.

The other integration's 429s are never ours to see, and a call of ours that takes its place leaves a
hole in its share that looks like room to us. First the rules at an injected clock: a small room a
burst counted keeps two calls free until probes measure it; room above the budget comes back only
through probes, short bursts sent just before one of our calls leaves the window; a probe answered
429 never raises the budget, and makes the next wait twice as long. Then the targets in simulated
time against a model of the sandbox (tests/sharing_sim.py), over seeds.

Private on purpose: the rules read the limiter's plan (its log of starts, when a probe is due, how
many calls it takes, the wait before the next one), which the public calls show only a probe later.
"""

import statistics

import pytest
from sharing_sim import JITTER, PERIOD, simulate

from bulk_updater.calls import WindowLimiter
from bulk_updater.calls.limiter import FIRST_PROBE_WINDOWS, GUESS_VOTES, MAX_PROBE_WINDOWS, PROBE_ANSWER, PROBE_EARLY

# -- the rules, at explicit times --


def opening_burst(limiter: WindowLimiter, answered_429: int, at: float = 0.3) -> None:
    """A burst of the whole budget at 0, of which `answered_429` calls come back 429 at `at`."""
    for _ in range(limiter.budget):
        limiter.start(0.0)
    for _ in range(answered_429):
        limiter.throttled(at)


def test_a_small_room_a_burst_counted_keeps_two_calls_free_until_probes_measure_it():
    """Another integration uses 20 of 25: the burst's 429s show room for 5, a guess (it may be one or two
    too high); 3 are used."""
    limiter = WindowLimiter(25, 5.0, 0.1)
    opening_burst(limiter, 20)
    assert limiter.budget == 3


def test_a_single_429_at_a_small_budget_keeps_one_call_free_not_two():
    """Not a burst's count: the room it shows is no guess."""
    limiter = WindowLimiter(25, 5.0, 0.1)
    limiter.budget = 5  # as learned
    for _ in range(5):
        limiter.start(0.0)
    limiter.throttled(0.3)
    assert limiter.budget == 3


def test_a_large_room_is_used_whole():
    """Another integration uses 10 of 25: room for 15, and all 15 are used."""
    limiter = WindowLimiter(25, 5.0, 0.1)
    opening_burst(limiter, 10)
    assert limiter.budget == 15


def test_a_room_set_by_the_starts_in_the_window_keeps_no_call_free():
    """Only 3 of ours were in the window: no burst counted it down, the others hold the rest."""
    limiter = WindowLimiter(25, 5.0, 0.1)
    for t in (0.0, 0.1, 0.2):
        limiter.start(t)
    limiter.throttled(0.5)
    assert limiter.budget == 2


def steady(limiter: WindowLimiter, start: float, until: float) -> float:
    """Start calls whenever the limiter allows them, one at a time, until `until`; the last start."""
    now = start
    while (at := limiter.next_start(now)) < until:
        now = at
        limiter.start(now)
    return now


def test_the_first_probe_goes_after_two_clean_windows_just_before_one_of_ours_leaves():
    limiter = WindowLimiter(25, 1.0, 0.0)
    opening_burst(limiter, 10, at=0.3)  # room for 15, all used
    due = 0.3 + FIRST_PROBE_WINDOWS * limiter.window
    steady(limiter, 1.0, due)
    probe_at = limiter.next_start(due)
    # Not before it is due; at a start of ours in the window, a period later, less PROBE_EARLY.
    assert due <= probe_at < due + limiter.window
    assert any(start + 1.0 - PROBE_EARLY == pytest.approx(probe_at) for start in limiter._starts)
    budget = limiter.budget
    for _ in range(3):  # its three calls go at once, above the budget
        assert limiter.next_start(probe_at) == probe_at
        limiter.start(probe_at)
    assert limiter.next_start(probe_at) > probe_at
    assert limiter.budget == budget


def test_a_probe_goes_as_late_as_it_may_before_our_oldest_call_leaves():
    """The window is full from a probe's first arrival until our oldest call leaves it, and the other's calls
    that arrive meanwhile get 429: so the probe goes as late as it may while it still arrives before that
    call leaves, within 10 ms of a period less the jitter after that call's start. Kills: going 30 ms earlier."""
    limiter = WindowLimiter(25, 5.0, 0.1)
    opening_burst(limiter, 10, at=0.3)  # room for 15, all used
    due = 0.3 + FIRST_PROBE_WINDOWS * limiter.window
    steady(limiter, 1.0, due)
    probe_at = limiter._probe_at(due)  # the moment planned (its calls go then, above the budget)
    assert probe_at is not None
    assert any(start + 5.0 - 0.1 - 0.01 <= probe_at < start + 5.0 - 0.1 for start in limiter._starts), probe_at


def probe(limiter: WindowLimiter, after: float, answered_429: int) -> float:
    """Run steadily until the next probe, send it, answer `answered_429` of its calls 429; the moment after its answers."""
    now = after
    while True:
        at = limiter.next_start(now)
        probe_due = limiter._probe_at(at) is not None and limiter._probe_at(at) <= at
        if probe_due:
            break
        limiter.start(at)
        now = at
    calls = limiter._probe_size()
    for _ in range(calls):
        limiter.start(at)
    for _ in range(answered_429):
        limiter.throttled(at + 0.05)
    settled = at + PROBE_ANSWER + 0.01
    limiter.next_start(settled)
    return settled


# -- the sharing targets, against a model of the sandbox --


def test_a_probe_answered_429_never_raises_the_budget_and_the_next_waits_twice_as_long():
    limiter = WindowLimiter(25, 1.0, 0.0)
    opening_burst(limiter, 10)
    first = probe(limiter, 1.0, answered_429=1)  # two of three admitted: a moment the other was late
    assert limiter.budget == 15
    second = probe(limiter, first, answered_429=3)
    assert limiter.budget == 15
    third = probe(limiter, second, answered_429=3)
    assert (third - second) >= 1.5 * (second - first) - 2 * limiter.window
    assert limiter._probe_windows == min(8 * FIRST_PROBE_WINDOWS, MAX_PROBE_WINDOWS)


def test_a_probe_that_finds_not_even_the_free_call_lowers_the_budget():
    limiter = WindowLimiter(25, 1.0, 0.0)
    opening_burst(limiter, 20)  # a guessed room: 3, two kept free
    probe(limiter, 1.0, answered_429=4)  # none of four admitted: the other holds more than the guess
    assert limiter.budget == 2


def test_a_guessed_room_takes_its_second_free_call_back_after_three_probes_in_a_row_found_it():
    limiter = WindowLimiter(25, 1.0, 0.0)
    opening_burst(limiter, 20)
    assert limiter.budget == 3
    after = 1.0
    for _ in range(GUESS_VOTES - 1):
        after = probe(limiter, after, answered_429=2)  # two of four admitted: room for 5
        assert limiter.budget == 3
    probe(limiter, after, answered_429=2)
    assert limiter.budget == 4


def test_a_guessed_room_keeps_its_calls_free_once_a_probe_found_only_one_free():
    limiter = WindowLimiter(25, 1.0, 0.0)
    opening_burst(limiter, 20)
    after = probe(limiter, 1.0, answered_429=2)
    after = probe(limiter, after, answered_429=3)  # one of four: room for 4 (the guess was right)
    for _ in range(GUESS_VOTES):
        after = probe(limiter, after, answered_429=1)  # two of three: a moment when the other's call was late
    assert limiter.budget == 3


def test_a_probe_that_finds_room_for_three_or_more_takes_it_all_and_a_lone_pass_is_taken_back():
    """Room for three calls above the budget is more than one late call of the other's explains: it is leaving.
    Kills: taking one call back per pass, as for a probe with fewer calls."""
    limiter = WindowLimiter(25, 1.0, 0.0)
    opening_burst(limiter, 20)  # a guessed room: 3, two kept free
    now = probe(limiter, 1.0, answered_429=0)  # all four admitted: room for 7, one of it kept free
    assert limiter.budget == 6
    probe(limiter, now, answered_429=limiter._probe_size() - 1)  # ... then only the call kept free: that pass was a moment
    assert limiter.budget == 3


def test_a_lone_pass_taken_back_leaves_a_guessed_room_a_guess():
    """A pass that was a moment of the other's lateness says nothing of the room: the guess (two calls kept
    free) goes on, and probes that find its second call free still take it back. Kills: taking back only the
    calls the pass raised (the room then keeps one call too many free for the rest of the run)."""
    limiter = WindowLimiter(25, 1.0, 0.0)
    opening_burst(limiter, 20)
    now = probe(limiter, 1.0, answered_429=0)
    now = probe(limiter, now, answered_429=limiter._probe_size() - 1)
    assert limiter.budget == 3
    for _ in range(GUESS_VOTES):
        now = probe(limiter, now, answered_429=2)  # two of four admitted: room for 5
    assert limiter.budget == 4


def calls_at_once(limiter: WindowLimiter, now: float) -> int:
    """How many calls may start at `now`, one after another (starting them)."""
    calls = 0
    while limiter.next_start(now) == now:
        limiter.start(now)
        calls += 1
    return calls


def test_after_a_leaving_pass_the_next_probe_goes_at_once_and_asks_twice_its_room():
    """Not the whole ceiling: a pass that was a moment of the other's lateness then wastes a few starts, not a window.
    Kills: the next probe asking for everything up to the ceiling."""
    limiter = WindowLimiter(25, 1.0, 0.0)
    opening_burst(limiter, 20)
    now = probe(limiter, 1.0, answered_429=0)  # four admitted
    assert limiter.budget == 6
    assert calls_at_once(limiter, now) == 8


def test_probes_that_pass_climb_to_the_ceiling_in_a_few_seconds():
    limiter = WindowLimiter(25, 1.0, 0.0)
    opening_burst(limiter, 20)
    now, budgets = 1.0, []
    while limiter.budget < 25 and len(budgets) < 10:
        now = probe(limiter, now, answered_429=0)
        budgets.append(limiter.budget)
    # Each pass takes all it found (less one kept free while the room is small); each probe asks twice as much.
    assert budgets == [6, 14, 25]


# -- the targets, against a model of the sandbox --

SEEDS = range(15)
# The sandbox's other integration paces with aiolimiter; measured idle, its calls came 3.2 ms late
# on average (0.2532 s apart for 0.25 s), more on a busy machine. Late calls leave it slack that
# a probe fills, and then its next call, not ours, is answered 429.
LATES = [0.003, 0.006, 0.01]


@pytest.mark.parametrize("late", LATES)
def test_another_integration_using_20_of_25_loses_a_call_only_now_and_then_to_a_probe(late):
    """Today's target (at most 5 of its calls answered 429, all in the opening window) gives way to probing
    soon: each probe costs an integration whose calls run late a call now and then (mean below 2 a run)."""
    runs = [simulate(other=20, seed=seed, other_late=late) for seed in SEEDS]
    for seed, run in zip(SEEDS, runs):
        assert len(run.other_throttled_at) <= 5, (seed, run.blame)
        assert run.throttled <= 0.25 * run.calls, seed
    assert statistics.mean(run.other_after_opening for run in runs) < 2


def test_another_integration_whose_calls_arrive_jittered_is_not_crowded_out():
    """20 of 25, its calls spread by 0-0.1 s of transit, lost a call a window to a run that sent 5
    (the burst counted one too many, and a hole in its share looked like room). Now the run sends 3, then 4:
    the other loses a call only now and then, to a probe, never one a window."""
    runs = [simulate(other=20, seed=seed, other_jitter=0.1) for seed in SEEDS]
    for seed, run in zip(SEEDS, runs):
        assert run.other_after_opening <= 4, (seed, run.blame)
        settled = 2 * (PERIOD + JITTER)
        in_force = [budget for at, budget in run.budgets if at <= settled][-1:] + [budget for at, budget in run.budgets if at > settled]
        assert max(in_force) <= 4, (seed, run.budgets)
    assert statistics.mean(run.other_after_opening for run in runs) < 2


@pytest.mark.parametrize("late", LATES)
def test_another_integration_using_10_of_25_as_with_headroom_40(late):
    for seed in SEEDS:
        run = simulate(other=10, seed=seed, other_late=late)
        baseline = simulate(other=10, seed=seed, other_late=late, make_limiter=lambda: WindowLimiter(15, 5.0, 0.1))
        assert run.in_run <= 1.05 * baseline.in_run, seed
        assert run.throttled <= 0.08 * run.calls, seed
        assert len(run.other_throttled_at) <= len(baseline.other_throttled_at) + 5, (seed, run.blame)
        # A probe (two in this run) may cost it a call, when one of its own was late as the probe arrived.
        assert run.other_after_opening <= baseline.other_after_opening + 2, (seed, run.blame)


@pytest.mark.parametrize("other", [10, 20])
def test_a_neighbour_that_stops_is_reclaimed(other):
    """Another integration uses `other` of 25 for the first 60 s of a 1,500-row run, then stops.
    Ideal: 60 s at the room it leaves, then the bound; today's limiter took 1.8 times that (20 of 25)."""
    for seed in range(3):
        run = simulate(other=other, seed=seed, rows=1500, other_stops=60)
        room = 25 - other
        window = PERIOD + JITTER
        early_rows = 60 / window * room
        ideal = 60 + (1500 - early_rows) / 25 * window
        assert run.in_run <= 1.10 * ideal, (seed, run.in_run, ideal)
        # The target is 3 windows; probes that wait 2, 4, 8 ... clean windows find a stop at 60 s up to
        # 4 windows later (today's limiter: after some 70 windows); then the room comes back in a few seconds.
        assert run.back_to_ceiling() is not None and run.back_to_ceiling() <= 5 * window, (seed, run.budgets)
