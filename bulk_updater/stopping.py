"""A clean stop: on Ctrl-C or SIGTERM (when asked to handle signals), or on a caller's `StopToken`.

The first stop stops taking rows (`Runner.stop()`: the rows left are recorded `not_sent`
once the calls in flight are done) and gives the calls in flight `grace` seconds to finish;
past that, they are cut off (`Runner.cut_off()`) and recorded `not_sent`. A second stop
cancels sending at once, even while the rows left are being recorded. Either way the
report is consistent: its lines are flushed one by one, and a resume sends every row
without a line.

A library must not take over a process's signals: `handle_signals` is off unless the caller
(the CLI) asks. A caller that runs the job in another thread (the web page) stops it with a
`StopToken`, which is safe to call from any thread.

On Windows the event loops have no `add_signal_handler`: `on_signal` then installs a plain
handler that hands the stop to the loop (the same first and second stop), and Ctrl-Break stops
as Ctrl-C does.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from .outcomes import Runner
from .stop_reason import StopReason

# Ctrl-Break, Windows's other console interrupt (signal.SIGBREAK exists only there).
_BREAK: int | None = getattr(signal, "SIGBREAK", None)
STOP_SIGNALS: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM, *(() if _BREAK is None else (_BREAK,)))
# A stop that came from a StopToken rather than a signal.
REQUESTED = 0
CAUSE_NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM", REQUESTED: "stop request"}
if _BREAK is not None:
    CAUSE_NAMES[_BREAK] = "Ctrl-Break"


def on_signal(loop: asyncio.AbstractEventLoop, sig: int, callback: Callable[..., object], *args: object) -> Callable[[], None] | None:
    """Call `callback(*args)` on `loop` when `sig` comes. Returns what puts back the handler that was
    there before, or None where none can be installed (not the main thread).

    Through the loop's own `add_signal_handler` where it has one (Unix). Windows's loops raise
    NotImplementedError: a plain `signal.signal` handler then hands the call to the loop
    thread-safely (Python runs the handler in the main thread, and the loop's wakeup fd wakes a
    loop that is waiting).
    """
    previous = signal.getsignal(sig)
    try:
        loop.add_signal_handler(sig, callback, *args)
    except NotImplementedError:
        try:
            signal.signal(sig, lambda _sig, _frame: _hand_to(loop, callback, args))
        except (ValueError, OSError):  # not the main thread, or a signal this system does not deliver
            return None
        return lambda: _put_back(sig, previous)
    except (ValueError, RuntimeError):
        return None  # not the main thread

    def remove() -> None:
        loop.remove_signal_handler(sig)  # this sets the default handler...
        _put_back(sig, previous)  # ...so put back the one that was there

    return remove


def _hand_to(loop: asyncio.AbstractEventLoop, callback: Callable[..., object], args: tuple[object, ...]) -> None:
    with contextlib.suppress(RuntimeError):  # the loop closed in between: its run is over, nothing to stop
        loop.call_soon_threadsafe(callback, *args)


def _put_back(sig: int, previous: Any) -> None:
    if previous is not None:  # None: a handler not installed from Python, which can't be put back
        signal.signal(sig, previous)


class StopToken:
    """What a caller holds to stop a job: `stop()` once stops cleanly, twice stops at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests = 0
        self._target: tuple[asyncio.AbstractEventLoop, Callable[[int], None]] | None = None

    @property
    def requested(self) -> bool:
        return self._requests > 0

    def stop(self) -> None:
        with self._lock:
            self._requests += 1
            target = self._target
        if target is not None:
            loop, callback = target
            loop.call_soon_threadsafe(callback, REQUESTED)

    def _attach(self, loop: asyncio.AbstractEventLoop, callback: Callable[[int], None]) -> None:
        with self._lock:
            self._target = (loop, callback)
            early = self._requests
        for _ in range(min(early, 2)):  # requests made before the job started sending
            loop.call_soon(callback, REQUESTED)

    def _detach(self) -> None:
        with self._lock:
            self._target = None


class StopOnSignals:
    def __init__(
        self, grace: float, say: Callable[[str], None], token: StopToken | None = None, handle_signals: bool = True, runner: Runner | None = None
    ) -> None:
        """`runner`: the one to stop (None: a first stop waits `grace`, then cancels what `run` awaits)."""
        self.grace, self._say = grace, say
        self._token, self._handle_signals = token, handle_signals
        self.signal: int | None = None  # the first stop's cause: a signal number, or REQUESTED
        self.at_once = False  # a second stop came
        self.gave_up = False  # the calls in flight outlasted the grace period
        self.runner = runner
        self._task: asyncio.Future | None = None
        self._timer: asyncio.TimerHandle | None = None

    @property
    def stop_reason(self) -> StopReason | None:
        """interrupted, terminated or stopped (a StopToken) after a stop; None when none came."""
        return StopReason.for_signal(self.signal) if self.signal is not None else None

    async def run(self, sending: Awaitable[Any]) -> None:
        """Await `sending` with the stop sources listening; return when it ends or is cut short."""
        loop = asyncio.get_running_loop()
        self._task = asyncio.ensure_future(sending)
        # The handlers in place before (the CLI's, see interrupts.py) take over again after the window.
        # Without them (not the main thread) there is no clean stop on a signal, but the run works.
        installed = [on_signal(loop, sig, self._on_stop, sig) for sig in STOP_SIGNALS] if self._handle_signals else []
        if self._token is not None:
            self._token._attach(loop, self._on_stop)
        try:
            await asyncio.wait({self._task})
        finally:
            if self._token is not None:
                self._token._detach()
            for put_back in installed:
                if put_back is not None:
                    put_back()
            if self._timer is not None:
                self._timer.cancel()
            if not self._task.done():  # we were cancelled ourselves
                self._task.cancel()
        if not self._task.cancelled():
            self._task.result()  # a failure in sending is raised here

    def _on_stop(self, cause: int) -> None:
        assert self._task is not None
        if self._task.done():
            return
        if self.signal is not None:
            self.at_once = True
            self._task.cancel()
            return
        self.signal = cause
        if self.runner is not None:
            self.runner.stop()
        self._timer = asyncio.get_running_loop().call_later(self.grace, self._give_up)
        name = CAUSE_NAMES[cause]
        again = "Stop again" if cause == REQUESTED else f"{name} again"
        self._say(f"Stopping ({name}): no new rows; waiting up to {self.grace:g} s for the calls in flight. {again} to stop at once.")

    def _give_up(self) -> None:
        if self._task is None or self._task.done():
            return
        self.gave_up = True
        if self.runner is not None:
            self.runner.cut_off()  # the rows in flight get not_sent lines, then the rows left
        else:
            self._task.cancel()
