"""The exceptions bulk_updater raises on purpose.

    BulkUpdaterError            base: anything the CLI turns into a clean message
    ├── InputError              the sheet or the options can't be used; nothing was sent (exit 2)
    │   └── FolderError         a file of the run folder can't be used: a planted symlink, disk full,
    │                           read-only, permission denied (exit 2; 1 once rows were sent)
    ├── AuthError               LeadSquared rejected the keys (exit 3)
    ├── ConnectError            the key check got no usable answer (TLS, network, not LeadSquared) (exit 4)
    ├── StoppedAtOnce           a second Ctrl-C, SIGTERM or stop request ended the run at once (exit 130, 143 or 1)
    └── Declined                the admin answered no to "Continue?"; nothing was sent (exit 1)

    BulkUpdaterWarning          (a Python warning, not an error) something the admin should know;
                                the command goes on. The CLI prints it as `Warning: ...`

Everything that goes wrong with a single row (a timeout, a 500, an MX error) is not
an exception: it becomes that row's recorded outcome, so one bad row never stops a run.
"""

from __future__ import annotations


class BulkUpdaterError(Exception):
    """Base class; its message is written for the admin, not the programmer."""

    exit_code = 1


class InputError(BulkUpdaterError):
    """Raised when the input file or an option can't be used. Raised before any call is sent."""

    exit_code = 2

    def __init__(self, problem: str, *, where: str = "", hint: str = "") -> None:
        self.problem, self.where, self.hint = problem, where, hint
        parts = [f"{where}: {problem}" if where else problem]
        if hint:
            parts.append(hint)
        super().__init__("\n".join(parts))


class FolderError(InputError):
    """Raised when the tool can't safely read or write one of its files in the run folder.

    A planted symlink or a non-regular file is refused; an operating-system error (disk full,
    read-only folder, permission denied) is explained. The report stays consistent: a resume
    (the same command) goes on from its last complete line.
    """

    # Set by the job once rows were sent: the run did part of its work.
    SOME_SENT_EXIT_CODE = 1


class AuthError(BulkUpdaterError):
    """Raised when LeadSquared answers 401: the keys are wrong, or the user is inactive."""

    exit_code = 3


class ConnectError(BulkUpdaterError):
    """Raised when the check made before the first update gets no usable answer. Nothing was sent."""

    exit_code = 4


class StoppedAtOnce(BulkUpdaterError):
    """Raised when a second Ctrl-C or SIGTERM ends a run without waiting for the calls in flight.

    The report still holds one complete line per finished row; a resume sends the rest.
    """

    def __init__(self, message: str, signal_number: int) -> None:
        super().__init__(message)
        # The shell's convention for a process ended by a signal: 130 for SIGINT, 143 for SIGTERM;
        # a stop requested by a library caller (signal number 0) is a plain failure.
        self.exit_code = 128 + signal_number if signal_number else 1


class BulkUpdaterWarning(UserWarning):
    """Issued (warnings.warn) for an option that does nothing here, or a copy of the report that
    was not made. The command goes on; the CLI prints the message on stderr."""


class Declined(BulkUpdaterError):
    """Raised when the admin answers no to the question asked before the first update. Nothing was sent."""

    exit_code = 1
