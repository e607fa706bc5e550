"""calls -> outcomes: the worker pool that gives every row exactly one outcome."""

from .outcome import FINISHED, Outcome, RowOutcome
from .runner import RetryPolicy, Runner, RunStats

__all__ = ["FINISHED", "Outcome", "RetryPolicy", "RowOutcome", "RunStats", "Runner"]
