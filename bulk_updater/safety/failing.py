"""Stop on systematic failure: a misspelled column fails every row the same way, for hours.

Sending stops (stop reason `failing`, the rows left `not_sent`) when
- the first FIRST_ROWS rows sent all failed permanently with the same error type, or
- `streak` consecutive sent rows failed permanently (default STREAK, --stop-after-failures).
Only rows that were sent count. "Permanently" is the data's fault (an MX error, a 4xx, a
failed backup read): a server answering only 5xx is the retry rules' business, not this one's.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..outcomes import Outcome, RowOutcome
from ..settings import STREAK

FIRST_ROWS = 20
# Answers that say nothing about the data: the keys (401), the rate (429).
_NOT_THE_DATA = {401, 429}


@dataclass(frozen=True)
class StopRule:
    enabled: bool = True  # --keep-going turns it off
    streak: int = STREAK  # --stop-after-failures
    first_rows: int = FIRST_ROWS


@dataclass(frozen=True)
class Tripped:
    """Why sending stopped: the rule, the error, and an example row."""

    rule: str
    error_type: str
    error_message: str
    example_row: int


class FailureWatch:
    """Sees every recorded outcome; says when the rule trips (once)."""

    def __init__(self, rule: StopRule) -> None:
        self.rule = rule
        self.tripped: Tripped | None = None
        self._sent = 0
        self._first_type: str | None = None
        self._first_all_same = True
        self._streak = 0

    def observe(self, result: RowOutcome) -> Tripped | None:
        """The reason to stop, the first time the rule trips on `result`; else None."""
        if not self.rule.enabled or self.tripped or result.attempts == 0:
            return None
        self._sent += 1
        permanent = result.outcome is Outcome.FAILED and failed_permanently(result)
        self._streak = self._streak + 1 if permanent else 0
        if self._sent <= self.rule.first_rows:
            if self._first_type is None:
                self._first_type = result.error_type
            self._first_all_same &= permanent and result.error_type == self._first_type
            if self._sent == self.rule.first_rows and self._first_all_same:
                return self._trip(f"the first {self.rule.first_rows} rows sent all failed", result)
        if self._streak >= self.rule.streak:
            return self._trip(f"{self._streak} rows in a row failed", result)
        return None

    def _trip(self, rule: str, result: RowOutcome) -> Tripped:
        self.tripped = Tripped(rule, result.error_type, result.error_message, result.row.number)
        return self.tripped


def failed_permanently(result: RowOutcome) -> bool:
    """The row failed for its data, and would fail again if sent as it is (mirrors calls.classify_response)."""
    if result.error_type.startswith("MX") or result.error_type in ("BackupFailed", "UnexpectedResponse", "TLSError"):
        return True
    status = result.http_status
    return status is not None and 400 <= status < 500 and status not in _NOT_THE_DATA
