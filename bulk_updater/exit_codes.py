"""The exit code of every way a command ends: one table, keyed by stop reason and by exception class.

The CLI's `main` turns an exception into its code (`for_error`), and the end of a run its stop
reason (`for_stop`); a run that did not stop exits OK, or SOME_FAILED when rows need another look.
The docs' tables of exit codes (docs/commands.md, docs/troubleshooting.md) are this one.
"""

from __future__ import annotations

import signal

from . import interrupts
from .errors import AuthError, BulkUpdaterError, ConnectError, Declined, FolderError, InputError, StoppedAtOnce
from .stop_reason import StopReason

OK = 0
SOME_FAILED = 1  # some rows failed, were invalid or were not sent; or the run stopped and a resume finishes it
BAD_INPUT = 2  # the input, the options or a file can't be used: nothing was sent
UNAUTHORIZED = 3  # LeadSquared rejected the keys (401)
NO_ANSWER = 4  # the key check got no usable answer (network, TLS, not LeadSquared): nothing was sent
CRASH = 1  # what Python itself returns for an uncaught error
CLOSED_PIPE = 141  # 128 + SIGPIPE, as the shell reports a process ended by SIGPIPE (`... | head` closed stdout)

# A run stopped by a signal exits as the shell reports a process killed by it: 128 + the signal.
BY_STOP_REASON: dict[StopReason, int] = {
    StopReason.UNAUTHORIZED: UNAUTHORIZED,
    StopReason.INTERRUPTED: 128 + signal.SIGINT,  # 130
    StopReason.TERMINATED: 128 + signal.SIGTERM,  # 143
    StopReason.STOPPED: SOME_FAILED,  # a library caller's stop request: no signal to report
    StopReason.THROTTLED: SOME_FAILED,
    StopReason.CANARY: SOME_FAILED,
    StopReason.FAILING: SOME_FAILED,
    StopReason.MAX_CALLS: SOME_FAILED,
    StopReason.INCOMPLETE: SOME_FAILED,
    StopReason.DRY_RUN: OK,  # nothing was meant to be sent (the dry run exits as `check` does: OK, or BAD_INPUT)
}

# The nearest class in an exception's ancestry decides. A stop (StoppedAtOnce, Ctrl-C outside the
# sending window) exits as its stop reason does.
BY_ERROR: dict[type[BaseException], int] = {
    InputError: BAD_INPUT,
    FolderError: BAD_INPUT,  # before any row was sent; SOME_FAILED once rows were (`rows_sent`): the run did part of its work
    AuthError: UNAUTHORIZED,
    ConnectError: NO_ANSWER,
    Declined: SOME_FAILED,
    BulkUpdaterError: SOME_FAILED,
    BrokenPipeError: CLOSED_PIPE,
    OSError: BAD_INPUT,  # a file outside the run folder (the input, --map, --env-file), or stdout that can't be written
    Exception: CRASH,
}


def for_stop(reason: StopReason) -> int:
    return BY_STOP_REASON[reason]


def for_error(error: BaseException) -> int:
    """The code a command that ended on `error` exits with."""
    if isinstance(error, FolderError) and error.rows_sent:
        return SOME_FAILED
    if (reason := _stop_reason_of(error)) is not None:
        return for_stop(reason)
    return next((BY_ERROR[kind] for kind in type(error).__mro__ if kind in BY_ERROR), CRASH)


def _stop_reason_of(error: BaseException) -> StopReason | None:
    if isinstance(error, StoppedAtOnce):
        return error.reason
    if isinstance(error, interrupts.Stopped):
        return StopReason.for_signal(error.signal_number)
    if isinstance(error, KeyboardInterrupt):
        return StopReason.INTERRUPTED
    return None
