"""What happened to one row."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..rows import Row


class Outcome(str, enum.Enum):
    SUCCESS = "success"
    FAILED = "failed"
    INVALID = "invalid"
    SKIPPED = "skipped"
    NOT_SENT = "not_sent"


# Outcomes an admin does not need to look at again.
FINISHED = frozenset({Outcome.SUCCESS, Outcome.SKIPPED})
# The same, as written in a report's _outcome column.
FINISHED_VALUES = frozenset(outcome.value for outcome in FINISHED)


@dataclass(frozen=True)
class RowOutcome:
    row: Row
    outcome: Outcome
    attempts: int = 0
    http_status: int | None = None
    error_type: str = ""
    error_message: str = ""
