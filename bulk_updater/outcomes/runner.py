"""The worker pool: planned rows in, exactly one `RowOutcome` per row out.

Each free worker takes the next row straight from the (lazy) planned rows, so memory does
not grow with the file, and no queue or producer task sits between them. Rows that name
the same activity are chained: while one is in flight the next waits in that activity's
backlog, and the worker that finishes one takes the next. So they are applied in file order,
never concurrently, and the activity ends with the last row's values.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field

from ..calls import Backoff, CallResult, Kind, WindowLimiter
from ..requests import Invalid, NothingToChange, Plan, UpdateRequest
from ..rows import Row
from .outcome import Outcome, RowOutcome

# A row answered 429 this many times in a row is failed (and can be rerun), so that a
# server that never lets us through can't hold a run forever.
MAX_THROTTLED_CALLS = 50

Send = Callable[[UpdateRequest], Awaitable[CallResult]]
Record = Callable[[RowOutcome], None]


@dataclass
class RunStats:
    calls: int = 0
    throttled: int = 0
    unauthorized: bool = False
    stopped_by_max_calls: bool = False


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff: Backoff = field(default_factory=Backoff)


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
    ) -> None:
        self._send, self._limiter, self._record = send, limiter, record
        self._concurrency, self._retry, self._max_calls = concurrency, retry, max_calls
        self.stats = RunStats()
        self._stopping = asyncio.Event()
        self._backlogs: dict[str, deque[tuple[Row, UpdateRequest]]] = {}

    def stop(self) -> None:
        """Take no new rows and start no new calls; calls in flight finish."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def run(self, planned: Iterable[tuple[Row, Plan]]) -> RunStats:
        rows = iter(planned)
        workers = [asyncio.create_task(self._work(rows)) for _ in range(self._concurrency)]
        try:
            await asyncio.gather(*workers)
        finally:
            for worker in workers:
                worker.cancel()
        return self.stats

    def _take(self, rows: Iterator[tuple[Row, Plan]]) -> tuple[Row, UpdateRequest] | None:
        """The next row for a worker to send, recording on the way the rows that need no call.

        Synchronous, so no two workers are ever inside the iterator at once; rows are read
        only as workers free up, so memory does not grow with the file.
        """
        for row, plan in rows:
            if (request := self._route(row, plan)) is not None:
                return row, request
        return None

    def _route(self, row: Row, plan: Plan) -> UpdateRequest | None:
        """Record rows that need no call; return the request if a worker should take the row now."""
        if isinstance(plan, Invalid):
            self._record(RowOutcome(row, Outcome.INVALID, error_type="InvalidRow", error_message=plan.reason))
        elif isinstance(plan, NothingToChange):
            self._record(RowOutcome(row, Outcome.SKIPPED, error_message="no cells to change"))
        elif self.stopping:
            self._record(self._not_sent(row))
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
        try:
            return await self._send_with_retries(row, request)
        except Exception as exc:  # a bug must not cost the row its outcome
            return RowOutcome(row, Outcome.FAILED, error_type="InternalError", error_message=f"{type(exc).__name__}: {exc}")

    async def _send_with_retries(self, row: Row, request: UpdateRequest) -> RowOutcome:
        calls = attempts = throttled_in_a_row = 0
        last: CallResult | None = None
        while True:
            if not self._may_call():
                return self._not_sent(row) if last is None else self._failed(row, calls, last)
            if not await self._acquire_unless_stopping() or not self._may_call():
                continue
            self.stats.calls += 1
            calls += 1
            last = await self._send(request)
            if last.kind is Kind.THROTTLED:
                # Not the row's fault, so it costs no attempt: everyone slows down instead.
                self.stats.throttled += 1
                self._limiter.on_throttled()
                throttled_in_a_row += 1
                if throttled_in_a_row >= MAX_THROTTLED_CALLS:
                    return self._failed(row, calls, last)
                continue
            throttled_in_a_row = 0
            attempts += 1
            if last.kind is Kind.SUCCESS:
                self._limiter.on_success()
                return RowOutcome(row, Outcome.SUCCESS, calls, last.http_status)
            if last.kind is Kind.UNAUTHORIZED:
                self.stats.unauthorized = True
                self.stop()
                return self._failed(row, calls, last)
            if last.kind is Kind.PERMANENT or attempts >= self._retry.max_attempts:
                return self._failed(row, calls, last)
            await self._pause(self._retry.backoff.delay(attempts))

    def _may_call(self) -> bool:
        if self._max_calls is not None and self.stats.calls >= self._max_calls:
            self.stats.stopped_by_max_calls = True
            self.stop()
        return not self.stopping

    async def _acquire_unless_stopping(self) -> bool:
        """Wait for the limiter; False if the run starts stopping first.

        At a slow rate the other workers may wait minutes for their turn: a stop must not.
        """
        if self._limiter.ready():
            await self._limiter.acquire()  # returns at once: no need to race the stop
            return True
        acquire = asyncio.ensure_future(self._limiter.acquire())
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({acquire, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not acquire.done():
                acquire.cancel()  # harmless to the limiter: at worst one slot of the pace goes unused
        return not acquire.cancelled()

    async def _pause(self, seconds: float) -> None:
        """Sleep before a retry, but wake at once if the run is stopping."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    @staticmethod
    def _failed(row: Row, calls: int, result: CallResult) -> RowOutcome:
        return RowOutcome(row, Outcome.FAILED, calls, result.http_status, result.error_type, result.error_message)

    @staticmethod
    def _not_sent(row: Row) -> RowOutcome:
        return RowOutcome(row, Outcome.NOT_SENT, error_message="not sent: the run stopped before this row")
