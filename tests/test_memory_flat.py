"""Memory stays flat (docs/design.md, "Per-row state lives on disk"): `run` keeps nothing per row beyond the report on disk.

The whole-process figures (1,000,000 rows beside 100,000, each process's own peak RSS) are in
`make bench BENCH=memory`. Here, in process: what the Python heap holds once a run is under
way does not grow with the rows it has sent.
"""

from __future__ import annotations

import tracemalloc
import uuid

from conftest import write_csv

from bulk_updater import job
from bulk_updater.calls import CallResult, Kind, LeadSquaredClient
from bulk_updater.credentials import Credentials
from bulk_updater.rows import Row
from bulk_updater.settings import CLEAR_TOKEN, Rate, SendSettings
from bulk_updater.updates import UpdateRequest, counting

HEADER = ["CompanyActivityId", "ActivityNote", "Status"]
ROWS = 3_000
# Heap sizes are taken at these outcomes: after the start-up and the first windows of the limiter,
# and at the last row. 2,000 rows between them.
FIRST, LAST = 1_000, ROWS
# A leak of one int or one float per row is 24-32 bytes, one set entry more; a kept row is hundreds.
# What the heap may grow by between the two, per row: allocator and buffer noise only.
MOST_BYTES_PER_ROW = 8


async def answered_at_once(_client: LeadSquaredClient, _request: UpdateRequest) -> CallResult:
    return CallResult(Kind.SUCCESS, 200)


def a_row(number: int, activity_id: str) -> Row:
    return Row(number, {"CompanyActivityId": activity_id, "ActivityNote": f"note {number}"})


def test_the_count_of_distinct_activities_stops_at_its_bound(monkeypatch):
    monkeypatch.setattr(counting, "MAX_DISTINCT", 10)

    under = counting.count_rows((a_row(n, str(uuid.uuid4())) for n in range(10)), CLEAR_TOKEN)
    over = counting.count_rows((a_row(n, str(uuid.uuid4())) for n in range(11)), CLEAR_TOKEN)

    assert (under.to_send, under.activities) == (10, 10)
    assert (over.to_send, over.activities) == (11, None)
    # Private on purpose: the memory let go has no public name (`activities is None` says only that counting stopped).
    assert over._ids is None  # the hashes were let go, not kept past the bound


def test_a_run_holds_no_more_heap_after_3000_rows_than_after_1000(tmp_path, sandbox, monkeypatch):
    box = sandbox(rate=None, counters_only=True)  # the key check; it shares the process, and keeps no per-call state
    # Each update answered at once, in process: what is measured is the tool's own state, not the
    # buffers of calls in flight. One worker, so the last outcome comes before the reader ends.
    monkeypatch.setattr(LeadSquaredClient, "send_update", answered_at_once)
    sheet = write_csv(tmp_path / "in.csv", [HEADER, *([str(uuid.uuid4()), f"note {n}", "Won"] for n in range(ROWS))])
    # A lifted limit, a window of 10 ms: the limiter's log of starts holds a few dozen.
    send = SendSettings(box.url, Credentials(box.config.access_key, box.config.secret_key), rate=Rate(1_000_000, 0.01), jitter=0.0, concurrency=1)
    heap: dict[int, int] = {}
    done = 0

    def on_outcome(_outcome) -> None:
        nonlocal done
        done += 1
        if done in (FIRST, LAST):
            heap[done] = tracemalloc.get_traced_memory()[0]

    tracemalloc.start()  # here: the imports and the test's own set-up are not counted
    try:
        summary = job.run(sheet, tmp_path / "out", send, job.JobOptions(progress=False, on_outcome=on_outcome, canary=False))  # updates answered in process: nothing to read back
    finally:
        tracemalloc.stop()

    assert summary.counts["success"] == ROWS
    growth = heap[LAST] - heap[FIRST]
    assert growth <= MOST_BYTES_PER_ROW * (LAST - FIRST), f"the heap grew by {growth:,} bytes over {LAST - FIRST:,} rows"
