"""The run page's chart after a reload: pace.json keeps the rows finished in every second of the whole run
(every session of it), in a bounded number of buckets, on a clock the test moves (no waiting)."""

from __future__ import annotations

import json

from bulk_updater.outcomes import Outcome, RowOutcome
from bulk_updater.report.tally import SERIES_SECONDS, Tally
from bulk_updater.rows import Row
from bulk_updater.ui.screens import CHART_POINTS, PACE_FILE, PaceHistory, PaceKeeper, chart_points, read_history, read_pace, write_pace


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def rows_in(second: int) -> int:
    """A pace that changes, so a bucket of the wrong seconds shows: 1 to 9 rows a second, a pause each 10 minutes."""
    return 0 if second % 600 < 30 else second % 9 + 1


def _session(folder, seconds: int, keeper: PaceKeeper, late_every: int = 0) -> int:
    """`seconds` of a job on the tally's clock, the page's keeper looking each second (and, every
    `late_every` seconds, only after a stall of 30 s), pace.json written every 100 s and at the end (each
    second in the page: fewer here, as each write waits for the disk); the rows finished."""
    clock = Clock()
    tally = Tally(clock)
    finished = 0
    stalled = 0
    for second in range(seconds):
        for _ in range(rows_in(second)):
            clock.now = tally.started + second + 0.5
            tally.add(RowOutcome(Row(finished + 2, {}), Outcome.SUCCESS, attempts=1))
            finished += 1
        clock.now = tally.started + second + 1.01
        if late_every and second % late_every == 0:
            stalled = 30  # the keeper's thread got no CPU for a while: it catches up from the tally's last seconds
        if stalled:
            stalled -= 1
            continue
        keeper.take(tally.snapshot(0))
        if second % 100 == 0:
            write_pace(folder, keeper.history)
    keeper.take(tally.snapshot(0), final=True)
    write_pace(folder, keeper.history)
    return finished


def test_a_three_hour_run_keeps_every_second_in_at_most_a_chart_width_of_buckets(tmp_path):
    seconds = 3 * 3600
    finished = _session(tmp_path, seconds, PaceKeeper(), late_every=997)
    assert seconds > SERIES_SECONDS * 10  # far longer than the tally's own window
    history = read_history(tmp_path)
    assert history is not None
    assert history.seconds == seconds + 1  # every second, and the one the run ended in
    assert sum(history.rows) == finished  # each row counted once, the stalls caught up
    assert len(history.rows) <= CHART_POINTS and history.bucket == 32  # 10,800 s in 338 buckets of 32 s
    assert (tmp_path / PACE_FILE).stat().st_size < 4096  # as small as a two-minute run's
    pace = read_pace(tmp_path)
    # each point is the rows per second of its own seconds, from the run's first second to its last
    for index in (0, 1, 17, len(pace.series) - 2):
        span = range(index * pace.bucket, (index + 1) * pace.bucket)
        assert pace.series[index] == round(sum(rows_in(s) for s in span) / pace.bucket, 2)
    assert pace.seconds == seconds + 1 and pace.calls == finished
    # drawn across the whole chart, the first second at its left edge
    points = chart_points(pace.series).split()
    assert points[0].startswith("0.0,") and points[-1].startswith("480.0,")


def test_a_resumed_run_keeps_its_earlier_sessions_pace_before_its_own(tmp_path):
    first = _session(tmp_path, 500, PaceKeeper())
    before = read_history(tmp_path)
    assert before is not None and before.seconds == 501
    second = _session(tmp_path, 200, PaceKeeper(read_history(tmp_path)))
    after = read_history(tmp_path)
    assert after is not None and after.seconds == 501 + 201 and sum(after.rows) == first + second
    assert after.calls == first + second and after.elapsed >= 700


def test_a_pace_file_of_an_older_page_or_a_damaged_one_reads_as_what_it_can_say(tmp_path):
    (tmp_path / PACE_FILE).write_text(json.dumps({"series": [3, 0, 5], "calls": 8, "elapsed": 3.2}))  # the last two minutes, per second
    old = read_pace(tmp_path)
    assert old.series == [3, 0, 5] and old.bucket == 1 and old.seconds == 3 and old.calls_per_second == 2.5
    (tmp_path / PACE_FILE).write_text(json.dumps({"series": [3, 0, 5], "bucket": 4, "seconds": 30}))  # buckets and seconds disagree
    assert read_pace(tmp_path).series == []
    (tmp_path / PACE_FILE).write_text("{")
    assert read_pace(tmp_path).series == []


def test_a_run_over_in_a_few_milliseconds_reads_back_with_its_calls_per_second(tmp_path):
    history = PaceHistory(calls=1, elapsed=0.04)
    history.add_second(1)
    write_pace(tmp_path, history)
    assert read_pace(tmp_path).calls_per_second == 25.0


def test_the_last_bucket_is_the_rate_over_the_seconds_it_holds_so_far():
    history = PaceHistory()
    for _ in range(CHART_POINTS + 1):  # one more second than fits: buckets of 2 s
        history.add_second(4)
    history.add_second(4)
    history.add_second(1)  # a third bucket's first second... of 2: the 242nd bucket holds 1 second
    pace = history.pace()
    assert pace.bucket == 2 and len(pace.series) == (CHART_POINTS + 3 + 1) // 2
    assert pace.series[0] == 4 and pace.series[-1] == 1
