"""calls -> outcomes: the worker pool that gives every row exactly one outcome."""

from ..calls import RetryPolicy  # the runner's policy, re-exported for its callers
from .outcome import FINISHED, FINISHED_VALUES, Outcome, RowOutcome
from .runner import Runner, RunStats, second_call

__all__ = ["FINISHED", "FINISHED_VALUES", "Outcome", "RetryPolicy", "RowOutcome", "RunStats", "Runner", "second_call"]
