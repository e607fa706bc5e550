"""The safety net's part of sending: the runner's send (the plain update, --backup's snapshot before
it, or undo's check), and what those steps leave for the summary and the stop causes.

The canary goes around whichever send it is (safety/canary.py); its read before serves the step
that would read the same activity again (docs/design.md, "Where the canary meets the backup and undo").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from .. import files
from ..calls import CallResult, LeadSquaredClient
from ..report import Summary
from ..stop_reason import StopReason
from ..updates import UpdateRequest
from .activity import Activity
from .backup import BackupSend, UndoLog
from .canary import CANARY_FILE, Canary, reads_record
from .canary import report as canary_report
from .failing import FailureWatch
from .undo import UndoGuard

Send = Callable[[UpdateRequest], Awaitable[CallResult]]


@dataclass(frozen=True)
class SendSteps:
    """The runner's send, built once for a session, and the steps inside it the job reads afterwards."""

    send: Send  # what the runner calls for each update: the canary when there is one
    backup: BackupSend | None = None  # --backup's snapshot before each update
    canary: Canary | None = None  # the first update's check


def update_step(
    client: LeadSquaredClient, acquire: Callable[[], Awaitable[None]], log: UndoLog | None, guard: UndoGuard | None, read_before: dict[str, Activity]
) -> tuple[Send, BackupSend | None]:
    """The send for one update: undo's check then the restore, --backup's snapshot then the update, or the update alone.

    `acquire` takes the limiter slot of a row's second call (counted as a call); `read_before` holds
    the canary's read of the activity just before, which the check or the snapshot takes instead of reading.
    """
    if guard is not None:
        return guard.send(client, acquire, read_before), None
    if log is not None:
        backup = BackupSend(client, log, acquire, read_before)
        return backup, backup
    return client.send_update, None


def keep_canary_reads(out_dir: Path, steps: SendSteps) -> None:
    """The first update's activity, read before and after, in DIR/canary.json (when it was checked)."""
    record = reads_record(steps.canary) if steps.canary is not None else None
    if record is not None:
        files.replace_text(out_dir / CANARY_FILE, record)


def add_to_summary(summary: Summary, steps: SendSteps) -> None:
    """The backup's snapshot reads and what the canary found."""
    if steps.backup is not None:
        summary.backup_reads = steps.backup.reads
    canary = steps.canary
    if canary is not None and (canary.decided or canary.reads):
        summary.canary = canary_report(canary)


def stop_causes(watch: FailureWatch, steps: SendSteps) -> dict[StopReason, str]:
    """The safety net's causes to stop that came (the canary's finding, the failure watch's), each with its detail."""
    causes: dict[StopReason, str] = {}
    canary = steps.canary
    if canary is not None and canary.decided and not canary.passed:
        causes[StopReason.CANARY] = "; ".join(finding.sentence() for finding in canary.found or []) or canary.failure
    if watch.tripped:
        tripped = watch.tripped
        causes[StopReason.FAILING] = (
            f"{tripped.rule} with {tripped.error_type or 'the same error'}"
            + (f" ({tripped.error_message})" if tripped.error_message else "")
            + f", e.g. row {tripped.example_row}"
        )
    return causes
