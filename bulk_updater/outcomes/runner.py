"""The worker pool: planned rows in, exactly one `RowOutcome` per row out.

Each free worker takes the next row straight from the (lazy) planned rows, so memory does
not grow with the file, and no queue or producer task sits between them. Rows that name
the same activity are chained: while one is in flight the next waits in that activity's
backlog, and the worker that finishes one takes the next. So they are applied in file order,
never concurrently, and the activity ends with the last row's values.

What to do after each answer is the retry policy's call (calls/policy.py); the runner only
turns its decisions into outcomes. A stop (Ctrl-C, the call budget, a 401, the throttle
timeout) starts no new call: a row waiting to retry is recorded `not_sent` with the calls it
made, and the rows no worker took get their `not_sent` lines once the calls in flight are done.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass

from ..calls import Action, CallResult, Kind, RetryPolicy, Tries, WindowLimiter
from ..rows import Row
from ..stop_reason import StopReason
from ..updates import Invalid, NothingToChange, Plan, UpdateRequest
from .outcome import Outcome, RowOutcome

# After a stop, the rows left get their not_sent lines this many at a time between yields to
# the event loop: on a big sheet that takes seconds, and a second Ctrl-C must not wait for it.
RECORD_BATCH = 256

Send = Callable[[UpdateRequest], Awaitable[CallResult]]
Record = Callable[[RowOutcome], None]


@dataclass
class RunStats:
    calls: int = 0
    throttled: int = 0
    unauthorized: bool = False
    stopped_by_max_calls: bool = False
    throttled_out: bool = False  # every answer was a 429 for the throttle timeout

    def stop_causes(self) -> dict[StopReason, str]:
        """The causes to stop the runner met (a run may meet several; StopReason.first says which it gives)."""
        met = {StopReason.UNAUTHORIZED: self.unauthorized, StopReason.THROTTLED: self.throttled_out, StopReason.MAX_CALLS: self.stopped_by_max_calls}
        return {reason: "" for reason, happened in met.items() if happened}


class Runner:
    def __init__(
        self,
        send: Send,
        limiter: WindowLimiter,
        record: Record,
        *,
        concurrency: int = 25,
        retry: RetryPolicy = RetryPolicy(),
        max_calls: int | None = None,
        stats: RunStats | None = None,
        stopping: asyncio.Event | None = None,
    ) -> None:
        """`stats`: the session's, shared with the send steps' second calls (`second_call`); `stopping`: set by
        whoever stops the run (the runner itself, a signal, the failure watch), made before them all."""
        self._send, self._limiter, self._record = send, limiter, record
        self._concurrency, self._retry, self._max_calls = concurrency, retry, max_calls
        self._retrying = retry.watch()  # one throttle clock for the whole run
        self.stats = stats if stats is not None else RunStats()
        self._stopping = stopping if stopping is not None else asyncio.Event()
        self._cut = False
        self._workers: list[asyncio.Task] = []
        self._backlogs: dict[str, deque[tuple[Row, UpdateRequest]]] = {}

    def stop(self) -> None:
        """Take no new rows and start no new calls; calls in flight finish."""
        self._stopping.set()

    def cut_off(self) -> None:
        """Stop, and end the calls still in flight (the stop wait ran out): their rows are recorded not_sent."""
        self.stop()
        self._cut = True
        for worker in self._workers:
            worker.cancel()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def run(self, planned: Iterable[tuple[Row, Plan]]) -> RunStats:
        rows = iter(planned)
        self._workers = [asyncio.create_task(self._work(rows)) for _ in range(self._concurrency)]
        try:
            await asyncio.gather(*self._workers)
        finally:
            for worker in self._workers:
                worker.cancel()
        await self._record_rows_left(rows)
        return self.stats

    async def _record_rows_left(self, rows: Iterator[tuple[Row, Plan]]) -> None:
        """After a stop, once no call is in flight: a line for each row no worker took.

        Yields to the event loop between batches, so that signals are still handled.
        """
        for count, (row, plan) in enumerate(rows, 1):
            self._route(row, plan)  # stopping: not_sent, unless invalid or with nothing to change
            if count % RECORD_BATCH == 0:
                await asyncio.sleep(0)

    def _take(self, rows: Iterator[tuple[Row, Plan]]) -> tuple[Row, UpdateRequest] | None:
        """The next row for a worker to send, recording on the way the rows that need no call.

        Synchronous, so no two workers are ever inside the iterator at once; rows are read
        only as workers free up, so memory does not grow with the file. After a stop it
        takes nothing: `run` records the rows left once the calls in flight are done.
        """
        if self.stopping:
            return None
        for row, plan in rows:
            if (request := self._route(row, plan)) is not None:
                return row, request
            if self.stopping:
                return None
        return None

    def _route(self, row: Row, plan: Plan) -> UpdateRequest | None:
        """Record rows that need no call; return the request if a worker should take the row now."""
        if isinstance(plan, Invalid):
            self._record(RowOutcome(row, Outcome.INVALID, error_type="InvalidRow", error_message=plan.reason))
        elif isinstance(plan, NothingToChange):
            self._record(RowOutcome(row, Outcome.SKIPPED, error_message=plan.reason))
        elif self.stopping:
            self._record(self._not_sent(row, Tries(), None))
        elif plan.activity_id in self._backlogs:
            self._backlogs[plan.activity_id].append((row, plan))
        else:
            self._backlogs[plan.activity_id] = deque()
            return plan
        return None

    async def _work(self, rows: Iterator[tuple[Row, Plan]]) -> None:
        while (item := self._take(rows)) is not None:
            row, request = item
            while True:
                self._record(await self._settle(row, request))
                backlog = self._backlogs[request.activity_id]
                if not backlog:
                    del self._backlogs[request.activity_id]
                    break
                row, request = backlog.popleft()

    async def _settle(self, row: Row, request: UpdateRequest) -> RowOutcome:
        tries = Tries()
        try:
            return await self._send_with_retries(row, request, tries)
        except asyncio.CancelledError:
            if not self._cut:
                raise
            _uncancel()  # this cancellation was ours (`cut_off`), and is handled here
            return RowOutcome(row, Outcome.NOT_SENT, tries.calls, error_message=CUT_OFF)
        except Exception as exc:  # a bug must not cost the row its outcome
            return RowOutcome(row, Outcome.FAILED, tries.calls, error_type="InternalError", error_message=f"{type(exc).__name__}: {exc}")

    async def _send_with_retries(self, row: Row, request: UpdateRequest, tries: Tries) -> RowOutcome:
        """Call until the policy says the row is done; the runner only turns its decisions into outcomes."""
        last: CallResult | None = None
        while True:
            if not self._may_call():
                return self._not_sent(row, tries, last)
            if not await self._acquire_unless_stopping() or not self._may_call():
                continue
            self.stats.calls += 1
            tries.calls += 1
            last = await self._send(request)
            self._pace_after(last)
            decision = self._retrying.decide(last, tries)
            if decision.action is Action.RETRY:
                await self._pause(decision.wait)
            elif decision.action is Action.DONE:
                return RowOutcome(row, Outcome.SUCCESS, tries.calls, last.http_status)
            elif decision.action is Action.FAIL:
                return self._failed(row, tries.calls, last)
            elif decision.action is Action.UNAUTHORIZED:
                self.stats.unauthorized = True
                self.stop()
                return self._failed(row, tries.calls, last)
            else:  # THROTTLED_OUT: the row was not the problem; a resume sends it
                self.stats.throttled_out = True
                self.stop()
                return self._not_sent(row, tries, last)

    def _pace_after(self, result: CallResult) -> None:
        if result.kind is Kind.THROTTLED:
            # Not the row's fault, so it costs no attempt: everyone slows down instead.
            self.stats.throttled += 1
            self._limiter.on_throttled()
        elif result.kind is Kind.SUCCESS:
            self._limiter.on_success()

    def may_call(self) -> bool:
        """Whether a row's first call may start (the call budget, the throttle timeout); if not, the run stops.
        The canary asks before it reads a row's activity: a read for a row the budget won't send is wasted."""
        return self._may_call()

    def _may_call(self) -> bool:
        if self._max_calls is not None and self.stats.calls >= self._max_calls:
            self.stats.stopped_by_max_calls = True
            self.stop()
        if not self.stopping and self._retrying.throttled_out():  # the timeout passed while we waited
            self.stats.throttled_out = True
            self.stop()
        return not self.stopping

    async def _acquire_unless_stopping(self) -> bool:
        """Wait for the limiter; False if the run starts stopping first.

        At a slow rate the other workers may wait minutes for their turn: a stop must not.
        """
        if self._limiter.ready():
            await self._limiter.acquire()  # returns at once: no need to race the stop
            return True
        # Cancelling a wait is harmless to the limiter: at worst one slot of the pace goes unused.
        return await self.unless_stopping(self._limiter.acquire())

    async def _pause(self, seconds: float) -> None:
        """Sleep before a retry, but wake at once if the run is stopping."""
        if seconds > 0 and not self.stopping:
            await self.unless_stopping(self._retry.sleep(seconds))

    async def unless_stopping(self, waiting: Awaitable[None]) -> bool:
        """Await `waiting`, or cancel it when the run starts stopping first; True if it finished."""
        task = asyncio.ensure_future(waiting)
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not task.done():
                task.cancel()
        return task.done() and not task.cancelled()

    @staticmethod
    def _failed(row: Row, calls: int, result: CallResult) -> RowOutcome:
        return RowOutcome(row, Outcome.FAILED, calls, result.http_status, result.error_type, result.error_message)

    @staticmethod
    def _not_sent(row: Row, tries: Tries, last: CallResult | None) -> RowOutcome:
        """A row the stop left unsent; one that waited to retry keeps its calls and its last answer."""
        if last is None:
            return RowOutcome(row, Outcome.NOT_SENT, tries.calls, error_message=NEVER_SENT)
        return RowOutcome(row, Outcome.NOT_SENT, tries.calls, last.http_status, last.error_type, WAITING_TO_RETRY)


def second_call(limiter: WindowLimiter, stats: RunStats) -> Callable[[], Awaitable[None]]:
    """What a send step awaits before the second call of a row in flight (a --backup snapshot's update,
    undo's restore after its check): a limiter slot, counted as a call in `stats`, the runner's. Like any
    call in flight it finishes after a stop, and the call budget is checked before the row's next call, not here."""

    async def acquire() -> None:
        await limiter.acquire()
        stats.calls += 1

    return acquire


NEVER_SENT = "not sent: the run stopped before this row"
WAITING_TO_RETRY = "not sent again: the run stopped while this row waited to retry"
CUT_OFF = "no answer before the run stopped: the call may have been applied"


def _uncancel() -> None:
    task = asyncio.current_task()
    if task is not None and hasattr(task, "uncancel"):  # Python 3.11+: keep the task's cancel count true
        task.uncancel()
