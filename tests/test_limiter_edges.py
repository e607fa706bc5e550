"""The limiter's edges a mutation pass found untested: a 429 after our starts left the window, the count
of a run of 429s, the even pace after a 429, and `start` with a ledger. All at explicit times.

Private on purpose where a rule is the limiter's plan (its budget), as in test_limiter_sharing.py.
"""

from __future__ import annotations

import sqlite3

import pytest

from bulk_updater.calls import WindowLimiter
from bulk_updater.calls.ledger import Ledger

PERIOD, JITTER = 5.0, 0.1
WINDOW = PERIOD + JITTER


def test_a_429_after_every_start_left_the_window_lowers_the_budget_by_one():
    """A late 429 (none of ours counts any more) is one call too many, not a room of one."""
    limiter = WindowLimiter(25, PERIOD, JITTER)
    for t in (0.0, 0.1, 0.2):
        limiter.start(t)
    limiter.throttled(20.0)
    assert limiter.budget == 24


def test_a_late_429_after_a_guessed_room_lowers_it_by_one_and_ends_the_guess():
    """A burst's 429s guessed a room of 5 and keep two calls free (budget 3); a 429 later, with none of
    ours in the window, shows one call too many: 2, not the guess's 3 with one kept free."""
    limiter = WindowLimiter(25, PERIOD, JITTER)
    for _ in range(25):
        limiter.start(0.0)
    for _ in range(20):
        limiter.throttled(0.3)
    assert limiter.budget == 3
    limiter.throttled(20.0)
    assert limiter.budget == 2


def test_a_new_run_of_429s_counts_down_from_the_room_before_it_with_the_call_kept_free():
    """A room of 10 keeps one call free (budget 9). A later run of three 429s counts down from 10:
    three fewer is a burst's count, so two calls are kept free (budget 5, not 6)."""
    limiter = WindowLimiter(25, PERIOD, JITTER)
    limiter.budget = 11  # as learned
    for _ in range(11):
        limiter.start(0.0)
    limiter.throttled(0.3)
    assert limiter.budget == 9  # a room of 10, one call kept free
    for _ in range(10):
        limiter.start(20.0)
    budgets = []
    for _ in range(3):
        limiter.throttled(20.3)
        budgets.append(limiter.budget)
    assert budgets == [8, 7, 5]


def test_a_room_of_one_is_one_call_never_two():
    """The last 429 of a burst's count leaves one call: no call is kept free below it (the budget never rises on a 429)."""
    limiter = WindowLimiter(25, PERIOD, JITTER)
    limiter.budget = 2  # as learned
    for _ in range(2):
        limiter.start(0.0)
    limiter.throttled(0.3)
    assert limiter.budget == 1
    assert limiter.next_start(0.3) == pytest.approx(WINDOW, abs=1e-5)


def test_after_a_429_calls_are_spaced_a_window_over_the_new_budget():
    """Three of ours were in the window, the last just before the 429: the budget falls to 3, and the
    next call waits for the even pace (window / 3 after the last), which comes after a place frees."""
    limiter = WindowLimiter(25, PERIOD, JITTER)
    for t in (0.0, 0.01, 0.02, 4.0):
        limiter.start(t)
    limiter.throttled(4.05)
    assert limiter.budget == 3
    assert limiter.next_start(4.05) == pytest.approx(4.0 + WINDOW / 3)


def test_starts_counted_with_start_go_into_the_ledger_for_every_process(tmp_path):
    """`start` (the caller checked the time) records in the ledger as `take` does: another process then waits."""
    path = tmp_path / "account.sqlite"
    first = WindowLimiter(5, 1.0, 0.1, ledger=Ledger(path), clock_offset=lambda: 0.0)
    second = WindowLimiter(5, 1.0, 0.1, ledger=Ledger(path), clock_offset=lambda: 0.0)
    for _ in range(5):
        first.start(0.0)
    assert second.take(0.5) == pytest.approx(1.1, abs=1e-5)
    assert second.take(1.2) == pytest.approx(1.2)


def test_a_process_held_back_by_the_ledger_waits_only_until_the_oldest_start_leaves(tmp_path):
    """The place frees when the budget-th latest start leaves the window: not one start later."""
    path = tmp_path / "account.sqlite"
    first = WindowLimiter(5, 1.0, 0.1, ledger=Ledger(path), clock_offset=lambda: 0.0)
    second = WindowLimiter(5, 1.0, 0.1, ledger=Ledger(path), clock_offset=lambda: 0.0)
    for k in range(5):
        assert first.take(0.1 * k) == pytest.approx(0.1 * k)
    assert second.take(0.5) == pytest.approx(1.1, abs=1e-5)
    assert second.take(1.1 + 2e-6) == pytest.approx(1.1 + 2e-6)


@pytest.mark.parametrize("calls, recorded", [(255, 1), (256, 32), (300, 37), (1000, 64)])
def test_a_lease_is_an_eighth_of_the_room_left_from_256_places_and_at_most_64(tmp_path, calls, recorded):
    """What one ledger transaction records ahead: the cost of a start at a lifted limit, measured in starts per transaction."""
    path = tmp_path / "account.sqlite"
    limiter = WindowLimiter(calls, 1.0, 0.1, ledger=Ledger(path), clock_offset=lambda: 0.0)
    assert limiter.take(0.0) == 0.0
    assert sqlite3.connect(path).execute("SELECT count(*) FROM starts").fetchone()[0] == recorded


@pytest.mark.parametrize("begin", [0.0, 10.0])
def test_a_limiter_the_ledger_refused_knows_when_to_ask_again(tmp_path, begin):
    """After the ledger said no, `next_start` and `take` give the moment the place frees, not now
    (at any time: 10 s is later than the budget, a count, read as a time)."""
    path = tmp_path / "account.sqlite"
    first = WindowLimiter(5, 1.0, 0.1, ledger=Ledger(path), clock_offset=lambda: 0.0)
    second = WindowLimiter(5, 1.0, 0.1, ledger=Ledger(path), clock_offset=lambda: 0.0)
    for _ in range(5):
        assert first.take(begin) == begin
    assert second.take(begin + 0.5) == pytest.approx(begin + 1.1, abs=1e-5)
    assert second.next_start(begin + 0.6) == pytest.approx(begin + 1.1, abs=1e-5)


def test_the_ledger_refusal_is_read_on_the_event_loops_clock(tmp_path):
    """The ledger keeps the wall clock: a refusal's moment comes back less the offset, on the loop's clock."""
    path = tmp_path / "account.sqlite"
    first = WindowLimiter(5, 1.0, 0.1, ledger=Ledger(path), clock_offset=lambda: 1000.0)
    second = WindowLimiter(5, 1.0, 0.1, ledger=Ledger(path), clock_offset=lambda: 1000.0)
    for _ in range(5):
        assert first.take(0.0) == 0.0
    assert second.take(0.5) == pytest.approx(1.1, abs=1e-5)


def test_a_refusal_never_says_now_even_when_the_wall_clock_steps_between_two_readings(tmp_path):
    """`acquire` takes a moment not after now for a start: a refusal must never give one, or a call
    would go uncounted (the wall clock moved 2 s on between the ledger's answer and reading it back)."""
    path = tmp_path / "account.sqlite"
    first = WindowLimiter(5, 1.0, 0.1, ledger=Ledger(path), clock_offset=lambda: 0.0)
    for _ in range(5):
        assert first.take(0.0) == 0.0
    offsets = iter([0.0, 2.0])
    second = WindowLimiter(5, 1.0, 0.1, ledger=Ledger(path), clock_offset=lambda: next(offsets))
    assert second.take(0.5) > 0.5


@pytest.mark.parametrize("held", [297, 298])
def test_a_lease_of_the_last_places_is_used_whole_and_never_beyond(tmp_path, held):
    """Another process holds all but 3 (or 2) of 300 places: a lease gets those left, which start without
    asking the ledger again; the next is refused."""
    path = tmp_path / "account.sqlite"
    Ledger(path).take(0.0, held, 1.1, "another run", (held, 0.0))
    limiter = WindowLimiter(300, 1.0, 0.1, ledger=Ledger(path), clock_offset=lambda: 0.0)
    moments = [0.01 * k for k in range(300 - held)]
    assert [limiter.take(t) for t in moments] == moments
    assert limiter.take(0.03) > 0.03


def test_without_a_jitter_given_a_start_counts_for_the_period_and_a_tenth_of_a_second():
    limiter = WindowLimiter(5, 1.0)
    for _ in range(5):
        assert limiter.take(0.0) == 0.0
    assert limiter.next_start(0.0) == pytest.approx(1.1, abs=1e-5)


def test_a_wait_for_the_calls_of_a_run_alongside_says_so_not_an_earlier_run(tmp_path):
    path = tmp_path / "account.sqlite"
    notes: list[str] = []
    waiting = WindowLimiter(5, 1.0, 0.1, ledger=Ledger(path), note=notes.append, clock_offset=lambda: 0.0)
    alongside = WindowLimiter(5, 1.0, 0.1, ledger=Ledger(path), clock_offset=lambda: 0.0)
    assert waiting.take(0.0) == 0.0  # its first call: the run began before the other's calls
    for _ in range(5):
        assert alongside.take(1.2) == 1.2
    assert waiting.take(1.3) == pytest.approx(2.3, abs=1e-5)
    assert notes == ["Waiting 1.0 s for calls of another run on this account to leave the window (they share its limit)."]
