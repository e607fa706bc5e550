"""The ETA the progress bar and the page show comes from the rate limit's pace and the rows left, not from the rows per second seen."""

from __future__ import annotations

import io

import pytest
from conftest import FAST_RATE, new_ids, write_csv

import bulk_updater
from bulk_updater import Credentials, JobOptions, SendSettings
from bulk_updater.calls.limiter import WindowLimiter
from bulk_updater.outcomes import Outcome, RowOutcome
from bulk_updater.report.progress import Progress
from bulk_updater.report.summary import Summary
from bulk_updater.report.tally import Tally, TimeLeft
from bulk_updater.rows.reader import Row
from bulk_updater.ui.jobs import live_numbers


def _after_the_opening_burst() -> tuple[WindowLimiter, float]:
    """25/5: a burst of 25 at 0, then 21 more as soon as the first burst left the window; 46 rows sent, at 5.2 s."""
    limiter = WindowLimiter(25, 5, jitter=0.1)
    for _ in range(25):
        assert limiter.take(0.0) == 0.0
    second = limiter.next_start(1.0)
    for _ in range(21):
        assert limiter.take(second) == second
    return limiter, 5.2


def _sent(number: int) -> RowOutcome:
    return RowOutcome(Row(number, {}), Outcome.SUCCESS, attempts=1)


def test_the_time_left_after_the_opening_burst_is_the_windows_the_rows_left_need():
    limiter, now = _after_the_opening_burst()
    left = TimeLeft(lambda: limiter.pace(now), rows=200)
    for number in range(46):
        left.add(_sent(number))
    # 154 calls: 4 places free now, 21 free at 10.2; the last call goes in a free place, six windows on.
    assert left.seconds() == pytest.approx(6 * 5.1, abs=0.01)
    # What tqdm said (46 rows in 5.2 s: 17 s left) is shorter, so the limit's pace wins.
    assert left.seconds(observed=154 / (46 / 5.2)) == pytest.approx(30.6, abs=0.01)
    # A pace slower than the limit (latency) is longer: it wins.
    assert left.seconds(observed=100.0) == 100.0


def test_a_read_before_each_update_doubles_the_calls_left():
    limiter, now = _after_the_opening_burst()
    left = TimeLeft(lambda: limiter.pace(now), rows=100, calls_per_row=2)
    assert left.calls == 200
    # 200 calls: the last goes in place 199 % 25 = 24 (one of those freed at 10.2), 7 windows on.
    assert left.seconds() == pytest.approx(10.2 + 7 * 5.1 - 5.2, abs=0.01)


def test_rows_that_took_no_call_are_not_rows_sent():
    left = TimeLeft(None, rows=3)
    left.add(RowOutcome(Row(1, {}), Outcome.INVALID))
    left.add(RowOutcome(Row(2, {}), Outcome.NOT_SENT))
    left.add(_sent(3))
    assert left.calls == 2
    assert left.seconds() is None  # no limiter, nothing seen: no ETA


def test_the_budget_a_429_lowered_paces_the_rest():
    limiter = WindowLimiter(25, 5, jitter=0.1)
    for _ in range(25):
        limiter.take(0.0)
    limiter.throttled(0.5)  # the budget comes down below the 25 starts in the window
    pace = limiter.pace(1.0)
    assert pace.budget < 25
    # the next call waits for a place: the oldest of the last `budget` starts leaving
    assert pace.seconds_for(1) == pytest.approx(5.1 - 1.0, abs=0.01)
    assert pace.seconds_for(pace.budget + 1) == pytest.approx(5.1 * 2 - 1.0, abs=0.01)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_bar_shows_the_limits_eta():
    limiter, now = _after_the_opening_burst()
    left = TimeLeft(lambda: limiter.pace(now), rows=200)
    screen = _Terminal()
    bar = Progress(200, enabled=True, time_left=left, file=screen)
    for number in range(46):
        result = _sent(number)
        left.add(result)
        bar.add(result)
    bar.close()
    assert "46/200 [" in screen.getvalue() and "<00:30," in screen.getvalue()


def test_the_pages_eta_is_the_same():
    limiter, now = _after_the_opening_burst()
    left = TimeLeft(lambda: limiter.pace(now), rows=200)
    tally = Tally()
    tally.begin(200, Summary(input="", rate=""), left)
    for number in range(46):
        tally.add(_sent(number))
    assert live_numbers(tally)["eta_seconds"] == 31  # 30.6 s, whatever rows per second the tally saw


def test_a_lifted_limit_is_counted_without_a_place_per_call_of_its_budget():
    """A rate given as good as unlimited (--rate 1000000000000/1): the time left is the calls in the window's
    places, counted without a list as long as the budget (8 TB: a MemoryError in the bar's refresh, mid-run).
    Mutant: `places = [now] * (budget - len(taken)) + taken`."""
    limiter = WindowLimiter(10**12, 1, jitter=0.1)
    for _ in range(3):
        limiter.take(0.0)
    left = TimeLeft(lambda: limiter.pace(0.5), rows=10, calls_per_row=2)
    assert left.seconds() == 0.0
    assert limiter.pace(0.5).seconds_for(10**12 + 1) == pytest.approx(limiter.pace(0.5).hold, abs=0.01)


def test_a_call_budget_ends_the_time_left_where_it_ends_the_run():
    """max_calls=60, 46 calls made, 154 rows left: the run stops after 14 more calls, so the time left is theirs, at the
    limit's pace and at the pace seen alike. Mutant: `calls` not cut to the budget left (the time of 154 rows)."""
    limiter, now = _after_the_opening_burst()
    left = TimeLeft(lambda: limiter.pace(now), rows=200, max_calls=60)
    for number in range(46):
        left.add(_sent(number))
    assert left.calls == 14  # 60 less the 46 made, not the 154 the rows left would take
    assert left.seconds() == pytest.approx(10.2 - 5.2, abs=0.01)  # 4 free now, 10 of those that free at 10.2
    # The pace seen says 154 rows in 100 s: the 14 calls the budget leaves take 14/154 of that.
    assert left.seconds(observed=100.0) == pytest.approx(100.0 * 14 / 154, abs=0.01)
    for number in range(46, 60):
        left.add(_sent(number))
    assert left.calls == 0 and left.seconds(observed=50.0) == 0.0


def test_the_jobs_time_left_knows_its_call_budget(tmp_path, sandbox):
    """A run of 5 rows stopped by max_calls=2: nothing is left to send in this session, so no time is left.
    Mutant: the job's TimeLeft built without options.max_calls (3 rows' calls left, after the run ended)."""

    ids = new_ids(5)
    box = sandbox(activities=set(ids))
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in ids]])
    tally = Tally()
    send = SendSettings(box.url, Credentials(box.config.access_key, box.config.secret_key), rate=FAST_RATE, concurrency=1)
    summary = bulk_updater.run(sheet, tmp_path / "out", send, JobOptions(progress=False, tally=tally, max_calls=2, canary=False))
    assert summary.counts["not_sent"] == 3
    snapshot = tally.snapshot(0)
    assert snapshot.time_left is not None and snapshot.time_left.calls == 0
