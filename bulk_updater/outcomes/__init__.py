"""calls -> outcomes: the worker pool that gives every row exactly one outcome."""

from .outcome import FINISHED, FINISHED_VALUES, Outcome, RowOutcome
from .runner import RetryPolicy, Runner, RunStats

__all__ = ["FINISHED", "FINISHED_VALUES", "Outcome", "RetryPolicy", "RowOutcome", "RunStats", "Runner"]
