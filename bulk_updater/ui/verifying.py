"""Verify on the web page: the library's verify (the CLI's `verify DIR`) in a thread of its own, one per run.

The page shows its counts, the mismatches grouped by field with the first few activities of
each (id, sent, now), the first few activities it could not read, and the fields equal only by
an equivalence, once it ends; DIR/verify.csv is the record, offered for download like the run's
other files.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..application.verify_settings import verify_settings
from ..credentials import REDACTOR
from ..errors import BulkUpdaterError
from ..safety import verify as verifying
from ..settings import SendSettings


@dataclass
class Verification:
    run_dir: Path
    send: SendSettings
    unverified_account: bool = False  # the page's checkbox: verify's unverified_account (never recorded)
    state: str = "running"  # running, finished, failed
    counts: dict[str, int] = field(default_factory=dict)
    by_field: list[tuple[str, int]] = field(default_factory=list)
    examples: dict[str, list[verifying.Mismatch]] = field(default_factory=dict)  # field -> first mismatches, masked
    unread: list[tuple[str, str]] = field(default_factory=list)  # (activity, error): the first not read
    equal_by: list[tuple[str, str, int]] = field(default_factory=list)  # (field, equivalence, activities)
    error: str = ""
    thread: threading.Thread | None = None

    @property
    def live(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def wait(self, timeout: float) -> bool:
        """Whether the verification ended (its counts set, verify.csv written) within `timeout` seconds."""
        if self.thread is not None:
            self.thread.join(timeout)
        return self.thread is not None and not self.live


def verify_send(run_dir: Path, page_send: SendSettings) -> SendSettings:
    """The page's host and keys, at the pace the run recorded (verify reads as fast as the run wrote): what the CLI's verify takes."""
    return verify_settings(run_dir, {"host": page_send.host, "check_region": page_send.check_region}, lambda: page_send.credentials)


def start(verification: Verification) -> Verification:
    verification.thread = threading.Thread(target=_work, args=(verification,), name=f"verify-{verification.run_dir.name}", daemon=True)
    verification.thread.start()
    return verification


def _work(verification: Verification) -> None:
    try:
        result = verifying.verify(verification.run_dir, verification.send, verification.unverified_account)
        verification.counts = {name: result.counts.get(name, 0) for name in ("match", "mismatch", "error")}
        verification.by_field = result.by_field.most_common()
        # Values read from the CRM go on the page masked, as everything the page shows.
        verification.examples = {name: [_masked(m) for m in shown] for name, shown in result.examples.items()}
        verification.unread = [(activity_id, REDACTOR.redact(error)) for activity_id, error in result.unread]
        verification.equal_by = [(name, by, count) for (name, by), count in sorted(result.equal_by.items())]
        verification.state = "finished"
    except BulkUpdaterError as exc:
        verification.error, verification.state = REDACTOR.redact(str(exc)), "failed"
    except Exception as exc:  # a bug: say so on the page, keys masked
        verification.error, verification.state = REDACTOR.redact(f"unexpected error: {type(exc).__name__}: {exc}"), "failed"


def _masked(mismatch: verifying.Mismatch) -> verifying.Mismatch:
    return verifying.Mismatch(mismatch.activity_id, REDACTOR.redact(mismatch.sent), REDACTOR.redact(mismatch.now))
