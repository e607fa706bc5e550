"""The exceptions bulk_updater raises on purpose.

    BulkUpdaterError            base: anything the CLI turns into a clean message
    ├── InputError              the sheet or the options can't be used; raised before any call is sent
    ├── FolderError             a file of the run folder can't be used: a planted symlink, disk full,
    │                           read-only, permission denied; raised before the first call or after
    │                           rows were sent (`rows_sent`), so never caught as an InputError
    ├── AuthError               LeadSquared rejected the keys
    ├── ConnectError            the key check got no usable answer (TLS, network, not LeadSquared)
    ├── StoppedAtOnce           a second Ctrl-C, SIGTERM or stop request ended the run at once
    └── Declined                the admin answered no to "Continue?"; nothing was sent

    BulkUpdaterWarning          (a Python warning, not an error) something the admin should know;
                                the command goes on. The CLI prints it as `Warning: ...`

The exit code of each is in exit_codes.py, the one table (beside the stop reasons').

Everything that goes wrong with a single row (a timeout, a 500, an MX error) is not
an exception: it becomes that row's recorded outcome, so one bad row never stops a run.
"""

from __future__ import annotations

from .stop_reason import StopReason


class BulkUpdaterError(Exception):
    """Base class; its message is written for the admin, not the programmer."""


class InputError(BulkUpdaterError):
    """Raised when the input file or an option can't be used. Raised before any call is sent."""

    def __init__(self, problem: str, *, where: str = "", hint: str = "") -> None:
        self.problem, self.where, self.hint = problem, where, hint
        super().__init__(said(problem, where, hint))


class FolderError(BulkUpdaterError):
    """Raised when the tool can't safely read or write one of its files in the run folder.

    A planted symlink or a non-regular file is refused; an operating-system error (disk full,
    read-only folder, permission denied) is explained. The report stays consistent: a resume
    (the same command) goes on from its last complete line.

    Not an InputError: it may come after rows were sent, and a caller that passes over input it
    can't use (an earlier run's unreadable run.json) must not pass over a disk that fails.
    """

    def __init__(self, problem: str, *, where: str = "", hint: str = "") -> None:
        self.problem, self.where, self.hint = problem, where, hint
        self.rows_sent = False  # set by the job when rows were sent before it: the run did part of its work
        super().__init__(said(problem, where, hint))


class AuthError(BulkUpdaterError):
    """Raised when LeadSquared answers 401: the keys are wrong, or the user is inactive."""


class ConnectError(BulkUpdaterError):
    """Raised when the check made before the first update gets no usable answer. Nothing was sent."""


class StoppedAtOnce(BulkUpdaterError):
    """Raised when a second Ctrl-C or SIGTERM ends a run without waiting for the calls in flight.

    The report still holds one complete line per finished row; a resume sends the rest.
    """

    def __init__(self, message: str, reason: StopReason) -> None:
        super().__init__(message)
        self.reason = reason  # interrupted, terminated, or stopped (a stop request): its exit code is the stop's


class BulkUpdaterWarning(UserWarning):
    """Issued (warnings.warn) for an option that does nothing here, or a copy of the report that
    was not made. The command goes on; the CLI prints the message on stderr."""


class Declined(BulkUpdaterError):
    """Raised when the admin answers no to the question asked before the first update. Nothing was sent."""


def said(problem: str, where: str, hint: str) -> str:
    """What, where, and what to do: one line each."""
    parts = [f"{where}: {problem}" if where else problem]
    if hint:
        parts.append(hint)
    return "\n".join(parts)
