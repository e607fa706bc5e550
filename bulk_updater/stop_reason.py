"""Why a run stopped sending before its last row: one enum, and one rule for when causes meet.

summary.json writes a reason's value ("unauthorized", "failing", ...), as it always has, so a
summary written by an earlier version reads the same; the CLI maps a reason to its exit code
(exit_codes.py) and its message, and the page shows it.

Several causes can come together: a 401 answers a call still in flight after the run was
throttled out; the failure watch trips as the call budget runs out. The run then gives one
reason, the first of them in the order the members are listed (`first`), with its detail.
"""

from __future__ import annotations

import enum
import signal
from collections.abc import Iterable


class StopReason(str, enum.Enum):
    """Listed in precedence order: when several causes came together, the run gives the first listed."""

    UNAUTHORIZED = "unauthorized"  # a 401: nothing can go on until the keys are fixed, so it comes first
    INTERRUPTED = "interrupted"  # Ctrl-C: a person asked the run to stop
    TERMINATED = "terminated"  # SIGTERM
    STOPPED = "stopped"  # a library caller's StopToken (the page's Stop)
    THROTTLED = "throttled"  # every answer was a 429 for --throttle-timeout
    CANARY = "canary"  # the first update did more or less than it was asked (safety/canary.py)
    FAILING = "failing"  # the rows sent kept failing the same way (safety/failing.py)
    MAX_CALLS = "max_calls"  # the --max-calls budget ran out: the plainest stop, so any other cause says more
    INCOMPLETE = "incomplete"  # a row read got no report line (a bug): never call such a run finished
    DRY_RUN = "dry_run"  # run --dry-run: nothing was sent (it never meets another cause)

    def __str__(self) -> str:
        return self.value  # as summary.json and the messages spell it, on every Python version

    @classmethod
    def first(cls, causes: Iterable[StopReason]) -> StopReason | None:
        """The reason a run gives for `causes` (the one listed first); None when there is none."""
        ranked = list(cls)
        return min(causes, key=ranked.index, default=None)

    @classmethod
    def for_signal(cls, signal_number: int) -> StopReason:
        """The reason for a stop by this signal; any other number (0: a StopToken's request) is STOPPED."""
        by_signal: dict[int, StopReason] = {signal.SIGINT: cls.INTERRUPTED, signal.SIGTERM: cls.TERMINATED}
        if (ctrl_break := getattr(signal, "SIGBREAK", None)) is not None:  # Windows: Ctrl-Break stops as Ctrl-C does
            by_signal[ctrl_break] = cls.INTERRUPTED
        return by_signal.get(signal_number, cls.STOPPED)

    @classmethod
    def read(cls, text: object) -> StopReason | None:
        """The reason a summary.json names: None for "" (it did not stop), and for a value this version does not know."""
        try:
            return cls(text) if text else None
        except ValueError:
            return None
