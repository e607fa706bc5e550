"""The progress bar on stderr: rows done, succeeded, failed, rate and ETA."""

from __future__ import annotations

import sys

from tqdm import tqdm

from ..outcomes import Outcome, RowOutcome


class Progress:
    def __init__(self, total: int, enabled: bool, done: int = 0) -> None:
        # `done`: rows a resumed run recorded before; the bar starts there.
        # disable=None: tqdm draws only on a terminal, so logs and pipes get no carriage-return noise.
        self._bar = tqdm(total=total, initial=done, unit="row", file=sys.stderr, disable=None if enabled else True, dynamic_ncols=True)
        self._ok = self._failed = 0

    def add(self, result: RowOutcome) -> None:
        if result.outcome is Outcome.SUCCESS:
            self._ok += 1
        elif result.outcome is not Outcome.SKIPPED:
            self._failed += 1
        if self._bar.disable:
            return  # no terminal or --no-progress: spare the formatting on every row
        # refresh=False: tqdm redraws on its own schedule, not once per row.
        self._bar.set_postfix(ok=self._ok, failed=self._failed, refresh=False)
        self._bar.update(1)

    def note(self, text: str) -> None:
        """Print a line on stderr without breaking the bar (shown even with --no-progress)."""
        tqdm.write(text, file=sys.stderr)
        sys.stderr.flush()

    def close(self) -> None:
        self._bar.close()
