"""Pace calls so that no `period`-second window, as the server counts it, holds more than `calls`.

The window guarantee: a call starts only while fewer than `budget` calls started in the last
`period + jitter` seconds, and `budget` never exceeds `calls`. Then any `budget + 1` starts are more
than `period + jitter` apart, so their arrivals are at least `period` apart however the network
delays each (0 to `jitter`): a sliding window, a fixed window and a token bucket all allow it. Starts
are those of every process on this computer with the same host and key (the account's ledger,
calls/ledger.py), recorded before each call is sent; in one process one limiter serves an account
(`account_limiter`). On a shared account the budget is learned from 429s and probes, below the room
the other integration leaves. Why it is built this way: docs/design.md, "Pacing".
"""

from __future__ import annotations

import asyncio
import math
import secrets
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .ledger import Ledger, LedgerUnavailable, Taken, account_digest, ledger_folder, ledger_path

if TYPE_CHECKING:
    from ..settings import SendSettings

# Clean windows before the first probe of room above the budget; each probe answered 429 doubles the wait.
FIRST_PROBE_WINDOWS = 2
MAX_PROBE_WINDOWS = 256
# A probe's first calls: three, so that one call of the other's arriving late (or early) is not taken for room.
FIRST_PROBE_CALLS = 3
# Probes in a row that must find free the second call a guessed room keeps free before it is taken back
# (a probe's calls arrive over up to `jitter` seconds: one of the other's may leave the window meanwhile).
GUESS_VOTES = 3
# Seconds to wait for a probe's answers: a 429 comes back at once; none in this time is a pass.
PROBE_ANSWER = 1.0
# A probe goes this long (at most) before the earliest moment our oldest call may leave the window.
PROBE_EARLY = 0.005
# A room the 429s showed of this share of the ceiling or less keeps calls free (two while it is a guess, then one).
SPARE_AT_OR_BELOW = 0.5
# A start holds its place this much longer than the window, so that a server subtracting
# float times never sees two starts exactly one period apart as less than one.
MARGIN = 1e-6
# Say why a call waits when the calls of another run hold it back this long or more.
NOTE_AFTER = 0.5
# Far below the budget (a lifted limit), one ledger transaction records the starts of the next
# LEASE_SECONDS, up to LEASE_CALLS of them: each counts from now, used or not, until LEASE_SECONDS
# and its window later. Near the budget (25/5), never: a start leased and unused holds a place.
LEASE_CALLS, LEASE_SECONDS, LEASE_FROM = 64, 0.05, 256

Note = Callable[[str], None]


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def wall_offset() -> float:
    """The wall clock (which every process shares) less the event loop's (monotonic) clock."""
    return time.time() - time.monotonic()


@dataclass(frozen=True)
class Pace:
    """What the time left depends on: `budget` starts per `hold` seconds, and when this limiter's starts
    still in the window leave it (`frees`, oldest first)."""

    now: float
    budget: int
    hold: float
    frees: tuple[float, ...]

    def seconds_for(self, calls: int) -> float:
        """Seconds from `now` until the last of `calls` more calls may start at this pace.

        Each of the budget's places takes a call when it is free: the free ones now (the opening
        burst), the others when their start leaves the window, and each again one window after
        its last. So the last call goes in place (calls - 1) % budget, (calls - 1) // budget
        windows after that place frees. Counting places, not a rate, is what makes it true early
        in a run: after a burst of a window's calls, the next wait is a whole window.
        """
        if calls <= 0:
            return 0.0
        budget = max(self.budget, 1)
        taken = [at for at in self.frees if at > self.now][-budget:]
        free = budget - len(taken)  # the places free now come first, then the taken ones as they free
        last = calls - 1
        place = last % budget  # counted, not listed: a lifted limit's budget is as large as the rate given
        frees_at = self.now if place < free else taken[place - free]
        return frees_at + (last // budget) * self.hold - self.now


@dataclass
class _Probe:
    at: float  # the moment its calls go
    calls: int  # how many
    sent: int = 0
    sent_at: float = -math.inf
    answered_429: int = 0


class WindowLimiter:
    """The run's limiter: `acquire` before each call, then report 429s and successes."""

    def __init__(
        self, calls: int, period: float, jitter: float = 0.1, ledger: Ledger | None = None, note: Note | None = None,
        clock_offset: Callable[[], float] = wall_offset,
    ) -> None:
        """`ledger`: the account's, shared with other processes (None: this limiter's own starts only).
        `note`: where to say why a call waits, and that the ledger failed (stderr by default).
        `clock_offset`: the ledger's clock less `now`'s (tests that drive two limiters at explicit times give 0)."""
        self.ceiling = calls
        self.budget = calls
        self.period, self.jitter = period, jitter
        self.window = period + jitter
        self._hold = self.window + MARGIN  # how long a start counts against the budget
        # This limiter's start times in the last window, oldest first (no more than `ceiling` can be in it).
        self._starts: deque[float] = deque(maxlen=calls)
        self._last_throttled = -math.inf
        self._clean_since = -math.inf  # the last 429, or the last probe's answers
        self._spare = 0  # calls of the room the 429s showed that are kept free (see `_lower`)
        self._probe_windows = FIRST_PROBE_WINDOWS
        self._probe_calls = FIRST_PROBE_CALLS
        self._guess_votes = 0  # the probes in a row that found free the second call a guessed room keeps free
        self._step = 1  # the calls the last probe that passed took back
        self._counted_from = calls  # the room before the 429s that are counting it down
        self._unconfirmed = False  # the last probe passed, the one before did not
        self._before_pass: tuple[int, int, int] = (calls, 0, 0)  # (budget, spare, guess votes) before a lone pass
        self._probe: _Probe | None = None
        self._climbing = False  # the last probe passed: the next goes at the next chance
        self._next_even = -math.inf  # the next slot of the even pace, while learning
        self._lock = threading.RLock()
        self._ledger = ledger
        self._note = note or _stderr
        self._offset = clock_offset
        self._owner = secrets.token_hex(8)
        self._opened = -math.inf  # when this limiter first asked the ledger (the ledger's clock)
        self._blocked: tuple[float, int] | None = None  # (until, allowance): what the ledger last refused
        self._lease: tuple[float, int] | None = None  # (until, starts left): starts the ledger recorded ahead
        self._seen = 0  # the starts the ledger last counted
        self._noted: set[str] = set()

    # -- the runner's interface (time is the event loop's) --

    async def acquire(self) -> None:
        """Wait until one more call may start, and count it as started."""
        # Re-read on every wake-up: a 429 may have lowered the budget, another process taken the place.
        while (wait := self.take(now := _now()) - now) > 0:
            await asyncio.sleep(wait)

    def ready(self) -> bool:
        """True when `acquire()` would (most likely) return without waiting: another process may take the place first."""
        now = _now()
        return self.next_start(now) <= now

    def on_throttled(self) -> None:
        """A call got 429: lower the budget and pace evenly for a window."""
        self.throttled(_now())

    def on_success(self) -> None:
        """A call went through (the budget is won back by time: nothing to do per call)."""

    # -- the same, at an explicit time (what the tests drive) --

    def next_start(self, now: float) -> float:
        """The earliest moment, not before `now`, a call may start as this limiter knows things
        (the ledger may know of later starts: `take` asks it)."""
        with self._lock:
            self._update(now)
            return self._local_next(now)

    def take(self, now: float) -> float:
        """Start a call at `now` if one may start, and return `now`; else the moment to ask again."""
        with self._lock:
            self._update(now)
            at = self._local_next(now)
            if at > now:
                return at
            allowance = self._allowance(now)
            if self._ledger is not None and not self._leased(now, allowance):
                lease = (min(LEASE_CALLS, (allowance - self._seen) // 8), LEASE_SECONDS) if allowance - self._seen >= LEASE_FROM else (1, 0.0)
                taken = self._ask_ledger(lambda ledger: ledger.take(self._shared(now), allowance, self._hold, self._owner, lease))
                if taken is not None:
                    self._seen = taken.in_window
                    if not taken.started:
                        until = taken.at - self._offset()
                        self._blocked = (until, allowance)
                        self._say_why_waiting(now, until, taken)
                        return max(until, now + 0.001)
                    if taken.granted > 1:
                        self._lease = (now + lease[1], taken.granted - 1)
            self._count_start(now)
            return now

    def _leased(self, now: float, allowance: int) -> bool:
        """Take a start the ledger recorded ahead (never for a probe's call: its allowance is above the budget)."""
        lease = self._lease
        if lease is None or now > lease[0] or allowance != self.budget:
            self._lease = None
            return False
        until, left = lease
        self._lease = (until, left - 1) if left > 1 else None
        return True

    def start(self, now: float) -> None:
        """Count a call started at `now` (the caller checked `next_start(now) <= now`)."""
        with self._lock:
            if self._ledger is not None:
                self._ask_ledger(lambda ledger: ledger.record(self._shared(now), self._hold, self._owner))
            self._count_start(now)

    def throttled(self, now: float) -> None:
        with self._lock:
            self._update(now)
            probe = self._probe
            if probe is not None and probe.sent and now - probe.sent_at <= PROBE_ANSWER and probe.answered_429 < probe.sent:
                # A probe's calls were above the budget: their 429s say only how much of it found room.
                probe.answered_429 += 1
                if probe.answered_429 == probe.sent:
                    self._settle_probe(probe, now)
                return
            self._lower(now)

    def learning(self, now: float) -> bool:
        """True while a 429 was seen in the last window: calls are then spaced evenly."""
        return now - self._last_throttled < self.window

    def pace(self, now: float | None = None) -> Pace:
        """The limiter's state as far as the time left goes: its budget now, and when its starts in the window leave it.
        `now`: the event loop's clock (time.monotonic() by default, which it is unless a test's loop says otherwise)."""
        now = time.monotonic() if now is None else now
        with self._lock:  # only read: the page asks from another thread than the one sending
            return Pace(now, self.budget, self._hold, tuple(start + self._hold for start in self._starts if start + self._hold > now))

    # -- the learning --

    def _lower(self, now: float) -> None:
        in_window = self._in_window(now)
        cap = in_window - 1 if in_window else self.budget - 1
        if not self.learning(now):
            self._counted_from = self.budget + self._spare  # a new run of 429s: the room before it
        shown = self.budget + self._spare  # the calls the 429s so far showed room for
        fits = max(1, min(shown - 1, cap))
        if fits == shown - 1 and self._small(fits):
            # Counted down by 429s, a small room is likely a call too high (docs/design.md, "Pacing"):
            # keep that call free. Counted down by a burst's (three or more), it is a guess, maybe two
            # too high: keep two free until probes measure it.
            self._spare = min(2 if self._counted_from - fits >= 3 else 1, fits - 1)
        else:
            # A large room, or one set by the starts in the window (that many did not fit).
            self._spare = 0
        self.budget = fits - self._spare
        self._last_throttled = self._clean_since = now
        self._probe, self._climbing, self._blocked, self._guess_votes, self._lease = None, False, None, 0, None
        if self._starts:
            self._next_even = max(self._next_even, self._starts[-1] + self.window / self.budget)

    def _settle_probe(self, probe: _Probe, now: float) -> None:
        """The probe's answers are in (or PROBE_ANSWER passed): take the room it found, or wait longer for the next."""
        self._probe = None
        self._blocked = None
        self._clean_since = now
        if not probe.sent:
            return
        admitted = probe.sent - probe.answered_429
        if not probe.answered_429 and probe.sent >= min(probe.calls, 2):  # room for every one of them
            # One call back, then twice as many at each pass in a row: a single pass may be a moment
            # when the other's calls were late, and the probe right after it tells.
            # Room for FIRST_PROBE_CALLS or more above the budget is more than a late call of the other's
            # explains: it is leaving. Take it all, and the next probe, at once, asks for twice as much.
            leaving = admitted >= FIRST_PROBE_CALLS
            if not self._climbing:
                self._before_pass = (self.budget, self._spare, self._guess_votes)
            self._step = 2 * self._step if self._climbing and not self._unconfirmed else 1
            self._spare = 1 if self._small(self.budget + admitted) else 0
            raised = max(1, admitted - self._spare if leaving else min(self._step, admitted - self._spare))
            self.budget = min(self.ceiling, self.budget + raised)
            self._step = raised
            self._probe_windows = FIRST_PROBE_WINDOWS
            # The probe after a single pass checks it at the same size; after two in a row, twice the size.
            self._probe_calls = 2 * admitted if leaving else probe.calls if not self._climbing else 2 * probe.calls
            self._unconfirmed = not self._climbing
            self._climbing = self.budget < self.ceiling
            self._guess_votes = 0
            return
        if self._climbing and self._unconfirmed:
            # The one pass before was such a moment: back to the room as it was (a guess stays a guess),
            # and this probe, sized for a climb, measures nothing about it.
            self.budget, self._spare, self._guess_votes = self._before_pass
            self._climbing = False
            self._probe_windows = min(2 * self._probe_windows, MAX_PROBE_WINDOWS)
            self._probe_calls = FIRST_PROBE_CALLS
            return
        # Answered 429: the calls admitted were all the free room at that moment. A probe never raises
        # the budget on one such moment: a call admitted while one of the other's was late or early is
        # no room, and taking it costs the other a call per window. A room a burst's 429s guessed (two
        # calls kept free) takes one back once GUESS_VOTES probes in a row found that call free too (a
        # single probe's calls arrive over up to `jitter` seconds, and one of the other's may leave the
        # window meanwhile), and keeps it free as soon as one found only the other one free; a probe that found
        # not even the call kept free lowers the budget (and ends the guess).
        wanted = 1 if self._small(self.budget) else 0
        found = probe.sent - probe.answered_429 - wanted
        guessing = self._spare == 2
        if found < 0:
            self.budget, guessing = max(1, self.budget - 1), False
        elif guessing and found >= 1:
            self._guess_votes += 1
            if self._guess_votes >= GUESS_VOTES:
                self.budget, guessing = self.budget + 1, False
        else:
            guessing = False
        self._spare = 2 if guessing else wanted
        self._climbing = False
        self._probe_windows = min(2 * self._probe_windows, MAX_PROBE_WINDOWS)
        self._probe_calls = FIRST_PROBE_CALLS

    def _update(self, now: float) -> None:
        """Drop the starts that no longer count, settle a probe that was answered."""
        starts, hold = self._starts, self._hold
        while starts and starts[0] + hold <= now:
            starts.popleft()
        if self._blocked is not None and self._blocked[0] <= now:
            self._blocked = None
        probe = self._probe
        if probe is not None:
            if probe.sent and now - probe.sent_at > PROBE_ANSWER:
                self._settle_probe(probe, now)

    def _local_next(self, now: float) -> float:
        """The earliest start this limiter allows, from its own starts, the budget, the even pace and the probe."""
        at = max(now, self._place_frees(self.budget))
        if self._blocked is not None and self._blocked[1] >= self.budget:
            at = max(at, self._blocked[0])
        if self.learning(now):
            at = max(at, self._next_even)
        if at > now:
            # Wake for the probe's calls, or to settle the probe sent (which may plan the next).
            probe = self._probe
            if (probe_at := self._probe_at(now)) is not None:
                # Its calls go above the budget, never above the ceiling.
                free = max(probe_at, self._place_frees(self._allowance_for_probe()))
                if free <= probe_at + self._early:
                    at = max(now, min(at, free))
            elif probe is not None and probe.sent:
                at = min(at, probe.sent_at + PROBE_ANSWER + MARGIN)
        return at

    def _place_frees(self, allowance: int) -> float:
        """When fewer than `allowance` of this limiter's starts count (-inf: they do now)."""
        if len(self._starts) < allowance:
            return -math.inf
        return self._starts[-allowance] + self._hold

    def _probe_at(self, now: float) -> float | None:
        """When the next probe's calls go (they may go until PROBE_EARLY after); None while none is due."""
        probe = self._probe
        if probe is not None:
            return probe.at if probe.sent < probe.calls and not probe.answered_429 and now <= probe.at + self._early else None
        if self.budget >= self.ceiling or self.learning(now):
            return None
        if self._climbing:
            return now  # the other is leaving: no need to wait for a moment that spares it
        due = self._clean_since + self._probe_windows * self.window
        # Just before one of our calls leaves the window: the probe's arrival (up to `jitter` late)
        # comes before that call's leaving (at the earliest a period after its start).
        for start in self._starts:
            moment = start + self.period - self.jitter - self._early
            if moment >= due and moment + self._early >= now:
                return moment
        return None

    @property
    def _early(self) -> float:
        return min(PROBE_EARLY, self.period / 10)

    def _probe_now(self, now: float) -> float | None:
        """The moment of the probe whose calls may start at `now`, if any."""
        at = self._probe_at(now)
        return at if at is not None and at <= now else None

    def _allowance(self, now: float) -> int:
        """The starts that may count at `now` for one more to start: the budget, or more for a probe's call."""
        return self._allowance_for_probe() if self._probe_now(now) is not None else self.budget

    def _allowance_for_probe(self) -> int:
        return min(self.ceiling, self.budget + self._probe_size())

    def _probe_size(self) -> int:
        """Three calls (four while a guessed room keeps two free), twice as many after each pass, at most to the ceiling."""
        if self._probe is not None:
            return self._probe.calls
        return min(self._probe_calls + (1 if self._spare == 2 and self._probe_calls == FIRST_PROBE_CALLS else 0), self.ceiling - self.budget)

    def _small(self, room: int) -> bool:
        return room <= SPARE_AT_OR_BELOW * self.ceiling

    def _count_start(self, now: float) -> None:
        if (moment := self._probe_now(now)) is not None:
            if self._probe is None:
                self._probe = _Probe(moment, self._probe_size())
            self._probe.sent += 1
            self._probe.sent_at = now
        self._starts.append(now)
        self._next_even = now + self.window / self.budget

    def _in_window(self, now: float) -> int:
        """The starts that count at `now`: every process's when the ledger answers."""
        if self._ledger is not None:
            count = self._ask_ledger(lambda ledger: ledger.in_window(self._shared(now)))
            if count is not None:
                return count
        return len(self._starts)

    # -- the ledger --

    def _shared(self, now: float) -> float:
        shared = now + self._offset()
        if self._opened == -math.inf:
            self._opened = shared
        return shared

    def _ask_ledger(self, question):
        """The ledger's answer; None, after one warning, once it failed (this limiter then goes on alone)."""
        ledger = self._ledger
        if ledger is None:
            return None
        try:
            return question(ledger)
        except LedgerUnavailable as exc:
            self._ledger = None
            self._note(
                f"Warning: the ledger of this account's calls ({ledger.path}) is not usable: {exc}. This run counts only its own "
                f"calls in the rate window, as if no other bulk-updater used the account. To clear the ledgers, delete {ledger.path.parent}."
            )
            return None

    def _say_why_waiting(self, now: float, until: float, taken: Taken) -> None:
        """Tell the truth about a wait the calls of another run cause (once for an earlier run, once for one alongside)."""
        wait = until - now
        if taken.blocker_owner == self._owner or wait < NOTE_AFTER:
            return
        earlier = taken.blocker_start <= self._opened  # recorded before this limiter's first call
        if ("earlier" if earlier else "alongside") in self._noted:
            return
        self._noted.add("earlier" if earlier else "alongside")
        seconds = f"{wait:.0f}" if wait >= 2 else f"{wait:.1f}"
        if earlier:
            self._note(f"Waiting {seconds} s for calls of an earlier run on this account to leave the window.")
        else:
            self._note(f"Waiting {seconds} s for calls of another run on this account to leave the window (they share its limit).")


# -- one limiter per account in a process --

_limiters: weakref.WeakValueDictionary[tuple, WindowLimiter] = weakref.WeakValueDictionary()
_limiters_lock = threading.Lock()


def account_limiter(send: SendSettings, note: Note | None = None) -> WindowLimiter:
    """The limiter of `send`'s account (host and access key) at its rate, shared by every job of this
    process while any holds it, and through the account's ledger with every other process."""
    digest = account_digest(send.host, send.credentials.access_key)
    folder = ledger_folder()
    key = (str(folder), digest, send.rate.calls, send.rate.period, send.jitter)
    with _limiters_lock:
        limiter = _limiters.get(key)
        if limiter is None:
            ledger = Ledger(ledger_path(send.host, send.credentials.access_key, folder))
            limiter = WindowLimiter(send.rate.calls, send.rate.period, send.jitter, ledger=ledger, note=note)
            weakref.finalize(limiter, ledger.close)
            _limiters[key] = limiter
        return limiter


def _now() -> float:
    return asyncio.get_running_loop().time()
