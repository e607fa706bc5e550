"""A clean stop on Ctrl-C or SIGTERM.

The first signal stops taking rows (`Runner.stop()`: the rows left are recorded `not_sent`)
and gives the calls in flight `grace` seconds to finish; past that, sending is cancelled.
A second signal cancels sending at once. Either way the report is consistent: its lines
are flushed one by one, and a resume sends every row without a line.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from typing import Any

from .outcomes import Runner

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
SIGNAL_NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}
STOP_REASONS = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}


class StopOnSignals:
    def __init__(self, grace: float, say: Callable[[str], None]) -> None:
        self.grace, self._say = grace, say
        self.signal: int | None = None  # the first stop signal received
        self.at_once = False  # a second signal came
        self.gave_up = False  # the calls in flight outlasted the grace period
        self.runner: Runner | None = None
        self._task: asyncio.Future | None = None
        self._timer: asyncio.TimerHandle | None = None

    @property
    def stop_reason(self) -> str:
        return STOP_REASONS.get(self.signal, "") if self.signal is not None else ""

    def attach(self, runner: Runner) -> None:
        """The runner to stop; a signal that came before it existed stops it at once."""
        self.runner = runner
        if self.signal is not None:
            runner.stop()

    async def run(self, sending: Awaitable[Any]) -> None:
        """Await `sending` with the signal handlers installed; return when it ends or is cut short."""
        loop = asyncio.get_running_loop()
        self._task = asyncio.ensure_future(sending)
        installed = [sig for sig in STOP_SIGNALS if self._install(loop, sig)]
        try:
            await asyncio.wait({self._task})
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
            if self._timer is not None:
                self._timer.cancel()
            if not self._task.done():  # we were cancelled ourselves
                self._task.cancel()
        if not self._task.cancelled():
            self._task.result()  # a failure in sending is raised here

    def _install(self, loop: asyncio.AbstractEventLoop, sig: int) -> bool:
        try:
            loop.add_signal_handler(sig, self._on_signal, sig)
        except (ValueError, RuntimeError, NotImplementedError):
            return False  # not the main thread, or no Unix signals: no clean stop, but the run works
        return True

    def _on_signal(self, sig: int) -> None:
        assert self._task is not None
        if self.signal is not None:
            self.at_once = True
            self._task.cancel()
            return
        self.signal = sig
        if self.runner is not None:
            self.runner.stop()
        self._timer = asyncio.get_running_loop().call_later(self.grace, self._give_up)
        self._say(
            f"Stopping ({SIGNAL_NAMES[sig]}): no new rows; waiting up to {self.grace:g} s for the calls in flight. "
            f"{SIGNAL_NAMES[sig]} again to stop at once."
        )

    def _give_up(self) -> None:
        if self._task is not None and not self._task.done():
            self.gave_up = True
            self._task.cancel()
