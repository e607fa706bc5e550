"""One account, one window: the ledger of starts that every process of the tool shares.

Two limiters stand for two processes: each has its own ledger connection to the same file, and
both are driven at explicit times (the ledger's clock is theirs: `clock_offset=lambda: 0.0`), so no
test waits on a period. The window guarantee must hold for their starts together, including a
start recorded by a process that died before it sent its call.
"""

from __future__ import annotations

import heapq
import random
import sqlite3
import threading
import time

import pytest
from test_limiter import most_in_any_window, rejected

from bulk_updater.calls import WindowLimiter, account_limiter
from bulk_updater.calls import ledger as ledger_module
from bulk_updater.calls.ledger import Ledger, account_digest, ledger_folder
from bulk_updater.calls.limiter import LEASE_SECONDS
from bulk_updater.credentials import Credentials
from bulk_updater.sandbox.limits import MODES
from bulk_updater.settings import Rate, SendSettings

CALLS, PERIOD, JITTER = 5, 1.0, 0.1
ACCESS_KEY, SECRET_KEY = "u$rA1b2C3d4E5f6G7h8I9j0K", "S3cr3tK3yTh4tMu5tN3v3rL34k"


def limiter_on(path, calls: int = CALLS, notes: list[str] | None = None, **kwargs) -> WindowLimiter:
    """A limiter as a process would have it: its own connection to the ledger at `path`."""
    note = notes.append if notes is not None else (lambda text: None)
    return WindowLimiter(calls, PERIOD, JITTER, ledger=Ledger(path, **kwargs), note=note, clock_offset=lambda: 0.0)


def interleave(limiters: list[WindowLimiter], calls_each: int, workers: int = 6, seed: int = 0, begin: list[float] | None = None) -> list[list[float]]:
    """Each limiter's workers ask `take` whenever they wake (as `acquire` does), all on one clock; the starts of each."""
    rng = random.Random(seed)
    starts: list[list[float]] = [[] for _ in limiters]
    events = [((begin or [0.0] * len(limiters))[n] + rng.uniform(0, 0.01), n, w) for n in range(len(limiters)) for w in range(workers)]
    heapq.heapify(events)
    while events:
        now, n, worker = heapq.heappop(events)
        if len(starts[n]) >= calls_each:
            continue
        at = limiters[n].take(now)
        if at > now:
            heapq.heappush(events, (at, n, worker))
            continue
        starts[n].append(now)
        heapq.heappush(events, (now + rng.uniform(0.05, 0.3), n, worker))  # the call's answer, then the next
    return starts


# -- the window guarantee across processes --


def test_two_processes_sharing_one_ledger_never_overfill_a_window(tmp_path):
    path = tmp_path / "account.sqlite"
    first, second = limiter_on(path), limiter_on(path)
    a, b = interleave([first, second], calls_each=30)
    together = sorted(a + b)
    assert len(a) == len(b) == 30
    assert most_in_any_window(together, PERIOD + JITTER) <= CALLS
    for mode in MODES:
        assert all(rejected(together, mode, JITTER, seed, CALLS, PERIOD) == 0 for seed in range(20)), mode
    # Together at the bound: 60 calls in 12 windows, the second's calls not held back for want of a 429.
    assert together[-1] <= (60 // CALLS) * (PERIOD + JITTER) + 0.05


def test_without_the_ledger_two_processes_overfill_the_window(tmp_path):
    """What the test above guards against: each counting only its own starts, they burst into each other's."""
    first, second = (WindowLimiter(CALLS, PERIOD, JITTER) for _ in range(2))
    a, b = interleave([first, second], calls_each=30)
    assert most_in_any_window(sorted(a + b), PERIOD + JITTER) > CALLS


def test_a_process_killed_between_recording_a_start_and_sending_its_call_still_holds_its_place(tmp_path):
    """A resume right after kill -9: the killed process's starts count until they leave the window,
    whether or not their calls went out, so the resume opens with what the window has left."""
    path = tmp_path / "account.sqlite"
    killed = limiter_on(path)
    for k in range(CALLS):
        assert killed.take(0.1 * k) == pytest.approx(0.1 * k)  # recorded: then the process dies before sending
    del killed
    resumed = limiter_on(path)
    [starts] = interleave([resumed], calls_each=10, begin=[0.5])
    # Not one start before the killed process's leave the window, then the whole budget at once.
    assert starts[0] >= PERIOD + JITTER
    assert most_in_any_window([0.1 * k for k in range(CALLS)] + starts, PERIOD + JITTER) <= CALLS


def test_each_limiter_counts_every_start_in_the_ledger_even_through_a_429(tmp_path):
    """The room left after a 429 is the starts in the window minus one: every process's starts."""
    path = tmp_path / "account.sqlite"
    first, second = limiter_on(path, calls=10), limiter_on(path, calls=10)
    for _ in range(6):
        assert second.take(0.0) == 0.0
    for _ in range(3):
        assert first.take(0.1) == pytest.approx(0.1)
    first.throttled(0.2)  # 9 in the window, 3 of them its own
    assert first.budget == 8


def test_the_ledger_holds_one_window_of_starts(tmp_path):
    path = tmp_path / "account.sqlite"
    limiter = limiter_on(path, calls=1000)
    for n in range(3000):
        assert limiter.take(n * 0.002) == pytest.approx(n * 0.002)  # 500 a second for 6 s
    rows = sqlite3.connect(path).execute("SELECT until FROM starts").fetchall()
    # Far below the limit, starts are recorded 50 ms ahead (a lease): still, only what counts now is kept.
    assert len(rows) <= 1000 and all(until > 5.998 - LEASE_SECONDS for (until,) in rows)


def test_a_start_recorded_before_the_clock_was_set_back_no_longer_counts(tmp_path):
    path = tmp_path / "account.sqlite"
    earlier = limiter_on(path)
    for _ in range(CALLS):
        earlier.take(3600.0)  # an hour ahead of the clock the next process reads
    later = limiter_on(path)
    assert later.take(0.0) == 0.0


# -- what the ledger holds, and where --


def test_the_ledger_is_named_by_a_one_way_hash_and_never_holds_the_keys(tmp_path, monkeypatch):
    monkeypatch.setenv(ledger_module.STATE_DIR_ENV, str(tmp_path))
    send = SendSettings("https://api-in21.leadsquared.com", Credentials(ACCESS_KEY, SECRET_KEY), Rate(25, 5))
    limiter = account_limiter(send)
    limiter.take(0.0)
    [path] = [written for written in (tmp_path / "ledger").iterdir() if written.suffix == ".sqlite"]
    assert path.parent == ledger_folder() == tmp_path / "ledger"
    assert path.name == account_digest(send.host, ACCESS_KEY) + ".sqlite"
    for written in (tmp_path / "ledger").iterdir():
        data = written.read_bytes()
        for key in (ACCESS_KEY, SECRET_KEY):
            assert key.encode() not in data and key.encode("utf-16-le") not in data
            assert key not in written.name
    # Another host, or another key, is another account's window.
    assert account_digest("https://api-us11.leadsquared.com", ACCESS_KEY) != account_digest(send.host, ACCESS_KEY)
    assert account_digest(send.host, ACCESS_KEY + "x") != account_digest(send.host, ACCESS_KEY)
    assert account_digest("https://API-in21.leadsquared.com/", ACCESS_KEY) == account_digest(send.host, ACCESS_KEY)


def test_tests_never_write_the_users_state_folder(tmp_path_factory):
    """The autouse fixture in conftest.py: every test's ledgers live in a folder of its own."""
    assert str(tmp_path_factory.getbasetemp()) in str(ledger_folder())


def test_one_limiter_per_account_and_rate_in_a_process(tmp_path, monkeypatch):
    """The page's jobs and a library caller's concurrent runs share one limiter (and its learning)."""
    monkeypatch.setenv(ledger_module.STATE_DIR_ENV, str(tmp_path))
    send = SendSettings("https://api-in21.leadsquared.com", Credentials(ACCESS_KEY, SECRET_KEY), Rate(25, 5))
    same = account_limiter(send)
    assert account_limiter(SendSettings(send.host, Credentials(ACCESS_KEY, "another secret"), Rate(25, 5))) is same
    assert account_limiter(SendSettings(send.host, Credentials(ACCESS_KEY + "2", SECRET_KEY), Rate(25, 5))) is not same
    assert account_limiter(SendSettings(send.host, Credentials(ACCESS_KEY, SECRET_KEY), Rate(15, 5))) is not same
    from_threads: list[WindowLimiter] = []
    threads = [threading.Thread(target=lambda: from_threads.append(account_limiter(send))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(limiter is same for limiter in from_threads)


# -- a ledger that can't be used never blocks or fails a run --


def test_an_unreadable_ledger_warns_once_and_the_run_paces_alone(tmp_path):
    path = tmp_path / "account.sqlite"
    path.write_bytes(b"this is not a database, nor anything SQLite can read" * 100)
    notes: list[str] = []
    limiter = limiter_on(path, notes=notes)
    starts = [limiter.take(0.0) for _ in range(CALLS)]
    assert starts == [0.0] * CALLS  # today's behaviour: its own starts only, the burst at once
    assert limiter.take(0.0) > 0.0
    limiter.throttled(0.3)
    assert len(notes) == 1 and "not usable" in notes[0] and str(path.parent) in notes[0]


def test_a_ledger_locked_too_long_warns_once_and_the_run_goes_on(tmp_path):
    path = tmp_path / "account.sqlite"
    limiter_on(path).take(0.0)  # the file exists
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process, stuck with the lock
    notes: list[str] = []
    limiter = limiter_on(path, notes=notes, timeout=0.05)
    started = time.monotonic()
    try:
        assert limiter.take(0.0) == 0.0
        assert limiter.take(0.0) == 0.0
    finally:
        holder.execute("ROLLBACK")
    assert time.monotonic() - started < 1.0
    assert len(notes) == 1 and "lock was not given within 0.05 s" in notes[0]


def test_a_new_ledger_opened_while_another_process_creates_it_waits_for_the_lock(tmp_path):
    """Two runs started together both create the file; SQLite refuses the switch to WAL at once
    (no busy wait) while the other holds it, and each run then paced alone into one window."""
    path = tmp_path / "account.sqlite"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # the other process, creating the ledger
    threading.Timer(0.1, holder.execute, ("ROLLBACK",)).start()
    notes: list[str] = []
    limiter = limiter_on(path, notes=notes, timeout=5.0)
    assert limiter.take(0.0) == 0.0
    assert notes == [] and Ledger(path).in_window(0.0) == 1


def test_opening_a_ledger_never_waits_past_its_timeout(tmp_path):
    """Refused at once for half the timeout (a writer creating the file), then held by a reader of a file in
    rollback mode (the busy handler waits): the warning comes at the timeout, not half a timeout after it."""
    path = tmp_path / "account.sqlite"
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")
    reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    def hand_over() -> None:
        writer.execute("CREATE TABLE other (x)")
        writer.execute("COMMIT")
        reader.execute("BEGIN")
        reader.execute("SELECT * FROM other").fetchall()  # a shared lock, kept

    timer = threading.Timer(0.5, hand_over)
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(ledger_module.LedgerUnavailable, match="not given within 1 s"):
            Ledger(path, timeout=1.0).in_window(0.0)
        took = time.monotonic() - started
    finally:
        timer.join()
        reader.execute("ROLLBACK")
    assert 0.9 < took < 1.35, took


def test_a_folder_that_cannot_be_made_warns_once(tmp_path):
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    notes: list[str] = []
    limiter = limiter_on(blocker / "ledger" / "account.sqlite", notes=notes)
    assert [limiter.take(0.0) for _ in range(2)] == [0.0, 0.0]
    assert len(notes) == 1


# -- telling the truth about waiting --


def test_a_wait_for_an_earlier_runs_calls_is_said_once(tmp_path):
    path = tmp_path / "account.sqlite"
    earlier = limiter_on(path)
    for _ in range(CALLS):
        earlier.take(0.0)
    notes: list[str] = []
    resumed = limiter_on(path, notes=notes)
    assert resumed.take(0.05) == pytest.approx(PERIOD + JITTER, abs=1e-3)
    resumed.take(0.06)
    assert notes == ["Waiting 1.1 s for calls of an earlier run on this account to leave the window."]


def test_no_note_for_a_wait_on_its_own_calls(tmp_path):
    path = tmp_path / "account.sqlite"
    notes: list[str] = []
    first, second = limiter_on(path, notes=notes), limiter_on(path)
    for _ in range(3):
        first.take(0.0)
    for _ in range(2):
        second.take(0.5)
    # The window is full; the place frees when the first's own oldest call leaves: nothing to explain.
    assert first.take(0.55) == pytest.approx(PERIOD + JITTER, abs=1e-3)
    assert notes == []


def counting_asks(*limiters: WindowLimiter) -> dict[str, int]:
    asked = {"count": 0}
    for limiter in limiters:
        # Private on purpose: how often a limiter asks its ledger is the cost measured; no public counter says it.
        ledger = limiter._ledger
        assert ledger is not None
        original = ledger.take

        def counted(*args, original=original, **kwargs):
            asked["count"] += 1
            return original(*args, **kwargs)

        ledger.take = counted  # type: ignore[method-assign]
    return asked


def asking(limiters: list[WindowLimiter], seconds: float, every: float = 0.0005) -> list[float]:
    """Each limiter asks for a start every `every` seconds (2,000 a second); the starts they got."""
    starts: list[float] = []
    for n in range(int(seconds / every)):
        for limiter in limiters:
            if limiter.take(n * every) <= n * every:
                starts.append(n * every)
    return starts


def test_far_below_a_lifted_limit_one_transaction_records_many_starts(tmp_path):
    """A lease: the starts of the next 50 ms recorded at once, each counting from then, used or not."""
    path = tmp_path / "account.sqlite"
    limiters = [limiter_on(path, calls=100_000), limiter_on(path, calls=100_000)]
    asked = counting_asks(*limiters)
    starts = asking(limiters, 2.0)
    assert len(starts) == 8000
    assert asked["count"] < len(starts) / 8


def test_leases_never_overfill_a_window(tmp_path):
    """Two processes asking far faster than 600 a window allows: they lease while the window is far from
    full, then record each start; together, never more than 600 in a window."""
    path = tmp_path / "account.sqlite"
    limiters = [limiter_on(path, calls=600), limiter_on(path, calls=600)]
    starts = asking(limiters, 3.0)
    assert len(starts) >= 2 * 600
    assert most_in_any_window(starts, PERIOD + JITTER) <= 600


def test_a_lease_never_takes_more_than_is_free_and_holds_its_places_until_its_last_start_leaves(tmp_path):
    path = tmp_path / "account.sqlite"
    leasing, other = limiter_on(path, calls=600), limiter_on(path, calls=600)
    starts = [0.0001 * k for k in range(64) if leasing.take(0.0001 * k) <= 0.0001 * k]  # one lease of 64
    while len(starts) < 590 and other.take(0.01) <= 0.01:  # another process takes all but 10 places
        starts.append(0.01)
    # The leasing process last saw 64 in the window: it asks for a lease of 64 again, and gets the 10 left,
    # which it uses over the next 50 ms.
    starts += [0.02 + 0.0025 * k for k in range(20) if leasing.take(0.02 + 0.0025 * k) <= 0.02 + 0.0025 * k]
    assert len(starts) == 600
    # Its last start came 22.5 ms after the lease: its place is held until that start's window ends.
    later = 0.02 + PERIOD + JITTER + 0.001
    while other.take(later) <= later:
        starts.append(later)
    assert most_in_any_window(starts, PERIOD + JITTER) <= 600
