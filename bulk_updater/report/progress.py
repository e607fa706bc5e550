"""The progress bar on stderr: rows done, each outcome counted under its own name, rate and ETA."""

from __future__ import annotations

import sys
from typing import IO, Any

from tqdm import tqdm

from ..outcomes import Outcome, RowOutcome
from .tally import TimeLeft

# The bar's short names for the outcomes, in the order they are shown.
LABELS = {Outcome.SUCCESS: "ok", Outcome.FAILED: "failed", Outcome.INVALID: "invalid", Outcome.SKIPPED: "skipped", Outcome.NOT_SENT: "not_sent"}


def write_line(text: str) -> None:
    """A line on stderr that does not break the bar (the CLI's on_note: shown even with --no-progress)."""
    tqdm.write(text, file=sys.stderr)
    sys.stderr.flush()


# tqdm's own right side, with the ETA (`{eta}`) taken from TimeLeft instead of tqdm's `{remaining}`.
BAR_FORMAT = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{eta}, {rate_fmt}{postfix}]"


class _Bar(tqdm):
    """tqdm whose ETA is the job's TimeLeft: tqdm's own, from the rows per second seen, is half the truth after the opening burst."""

    time_left: TimeLeft | None = None

    @property
    def format_dict(self) -> dict[str, Any]:
        values = super().format_dict
        n, total, elapsed = values["n"], values["total"], values["elapsed"]
        # The average since the start, not tqdm's smoothed rate: just after a wait for the window, that one
        # counts the wait alone and says twice the time. (The page's ETA takes the same average.)
        rate = (n - self.initial) / elapsed if elapsed else None
        observed = (total - n) / rate if rate and total is not None else None
        seconds = self.time_left.seconds(observed) if self.time_left is not None else observed
        return {**values, "eta": tqdm.format_interval(seconds) if seconds is not None else "?"}


class Progress:
    def __init__(
        self, total: int, enabled: bool, done: dict[str, int] | None = None, time_left: TimeLeft | None = None, file: IO[str] | None = None,
    ) -> None:
        """`done`: the outcomes a resumed run recorded before, by outcome value; the bar starts there.
        `time_left`: the ETA shown (tqdm's own when None); `file`: where the bar goes (stderr)."""
        self.counts = {outcome: (done or {}).get(outcome.value, 0) for outcome in LABELS}
        # disable=None: tqdm draws only on a terminal, so logs and pipes get no carriage-return noise.
        self._bar = _Bar(
            total=total, initial=sum(self.counts.values()), unit="row", file=file or sys.stderr, disable=None if enabled else True, dynamic_ncols=True,
            bar_format=BAR_FORMAT,
        )
        self._bar.time_left = time_left

    def add(self, result: RowOutcome) -> None:
        self.counts[result.outcome] += 1
        if self._bar.disable:
            return  # no terminal or --no-progress: spare the formatting on every row
        # refresh=False: tqdm redraws on its own schedule, not once per row.
        self._bar.set_postfix_str(self.postfix(), refresh=False)
        if result.outcome is Outcome.NOT_SENT:
            # Rows given their not_sent line after a stop were never sent: counting them as
            # progress would show a burst of thousands of rows a second.
            return
        self._bar.update(1)

    def postfix(self) -> str:
        return ", ".join(f"{LABELS[outcome]}={count:,}" for outcome, count in self.counts.items() if count or outcome is Outcome.SUCCESS)

    def close(self) -> None:
        if not self._bar.disable:
            self._bar.set_postfix_str(self.postfix(), refresh=False)
        self._bar.close()


class ReadingBar:
    """verify's bar: the activities read back, and the ETA at the rate limit's pace (one read each)."""

    def __init__(self, total: int, enabled: bool, time_left: TimeLeft | None = None, file: IO[str] | None = None) -> None:
        self._time_left = time_left
        self._bar = _Bar(
            total=total, unit="activity", file=file or sys.stderr, disable=None if enabled else True, dynamic_ncols=True, bar_format=BAR_FORMAT,
        )
        self._bar.time_left = time_left

    def read(self) -> None:
        """One activity read (or not: an error is an answer too)."""
        if self._time_left is not None:
            self._time_left.sent()
        if not self._bar.disable:
            self._bar.update(1)

    def close(self) -> None:
        self._bar.close()
