"""What a job did, and what to do next: the CLI's last lines (and exit code), the page's buttons.

Read from the job's summary (as summary.json keeps it) and its run.json, so the page reads a run
the CLI made the same way as one it made itself.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..rundir.folder import FAILED
from ..rundir.retries import recorded_retry
from ..rundir.run_record import RunRecord, RunState
from ..stop_reason import StopReason

FAILED_XLSX = "failed.xlsx"


class Step(enum.Enum):
    """One thing to do after a job, with what it takes (`Ending.target`)."""

    # Finish the job: `resume DIR` sends the rows left with the options the run recorded.
    RESUME = "resume"
    RESUME_KEEP_GOING = "resume --keep-going"  # the rows sent kept failing the same way: send the rest anyway
    RESUME_NO_CANARY = "resume --no-canary"  # the first update's check stopped the run: once its cause is understood
    CHECK_KEYS = "whoami"  # LeadSquared rejected the keys during the run (401)
    RETRY = "retry"  # send the rows that need another look again, fixed if needed (`Ending.fix_in`)
    # An undo's rows: undo the run again (a retry would restore without the "changed since the run" check).
    UNDO_AGAIN = "undo"
    UNDO_FORCED = "undo --force"  # an undo's rows held back (their activity changed since the run): only --force restores them


@dataclass(frozen=True)
class Ending:
    command: str  # the job's: run, retry or undo
    out_dir: str  # as the front end names it
    stop_reason: StopReason | None
    stop_detail: str  # for failing and canary: what tripped
    rows: int
    needs_look: int  # rows not done: neither success nor skipped (failed.csv lists them, with those held back)
    held_back: int  # undo: rows skipped because their activity changed since the run
    undone: str  # undo: the run folder it undid; "" for the others
    finished: bool  # run.json says finished: every row read has its line

    @classmethod
    def of(cls, summary: Mapping[str, Any] | None, record: RunRecord | None, out_dir: str | Path) -> Ending:
        """The ending of the job in `out_dir`, from its summary.json (`summary`, None when the job wrote none:
        killed, or failed before the end) and its run.json (`record`)."""
        summary = summary or {}
        counts = summary.get("counts", {})
        rows = summary.get("rows", sum(counts.values()))
        command = record.command if record is not None else ""
        # (A summary.json written before it kept held_back has them in its groups.)
        held = summary.get("held_back", sum(group.get("rows", 0) for group in summary.get("failure_groups", []) if group.get("outcome") == "skipped"))
        return cls(
            command=command,
            out_dir=str(out_dir),
            stop_reason=StopReason.read(summary.get("stop_reason")) if summary else None,
            stop_detail=summary.get("stop_detail", ""),
            rows=rows,
            needs_look=rows - counts.get("success", 0) - counts.get("skipped", 0),
            held_back=held if command == "undo" else 0,
            undone=str(Path(record.input).parent) if record is not None and command == "undo" else "",
            finished=record is not None and record.state is RunState.FINISHED,
        )

    @property
    def steps(self) -> tuple[Step, ...]:
        """What to do next, in the order to offer it; () when the job is done."""
        reason = self.stop_reason
        if reason is StopReason.UNAUTHORIZED:
            return (Step.CHECK_KEYS, Step.RETRY)  # the rows left and the row the 401 failed are all in failed.csv
        if reason is StopReason.FAILING:
            return (Step.RETRY, Step.RESUME_KEEP_GOING)
        if reason is StopReason.CANARY:
            return (Step.RESUME_NO_CANARY,)
        if reason is not None or (not self.finished and self.command):
            return (Step.RESUME,)  # stopped, or killed before its summary: resume finishes it
        if self.command == "undo":
            return ((Step.UNDO_FORCED,) if self.held_back else ()) + ((Step.UNDO_AGAIN,) if self.needs_look else ())
        return (Step.RETRY,) if self.needs_look else ()

    @property
    def resumes(self) -> bool:
        """Whether the next step finishes this job with `resume` (whatever flag it takes)."""
        return any(step in (Step.RESUME, Step.RESUME_KEEP_GOING, Step.RESUME_NO_CANARY) for step in self.steps)

    @property
    def failed(self) -> str:
        return os.path.join(self.out_dir, FAILED)

    @property
    def fix_in(self) -> str:
        """The file to fix the rows in: the workbook copy when the job wrote one (it survives Excel; a CSV
        opened and saved in Excel loses leading zeros and digits), else failed.csv."""
        xlsx = os.path.join(self.out_dir, FAILED_XLSX)
        return xlsx if os.path.exists(xlsx) else self.failed

    @property
    def retried(self) -> str:
        """The report a RETRY step sends: after a 401, failed.csv (the rows left are as the run left them); else `fix_in`."""
        return self.failed if self.stop_reason is StopReason.UNAUTHORIZED else self.fix_in


def finished_hint(out_dir: Path, record: RunRecord) -> str:
    """What to do with a finished job's folder given again: its failed rows' retry (from failed.xlsx when the job
    wrote one), or, when none failed, that nothing is left to send."""
    import json

    try:
        summary = json.loads((Path(out_dir) / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        summary = None  # none (killed before it wrote one), or unreadable: say where the failed rows would be
    ending = Ending.of(summary, record, out_dir)
    if summary is not None and not ending.needs_look:
        return "Every row of it succeeded or was skipped: nothing is left to send again."
    try:
        retry = recorded_retry(Path(out_dir))
    except InputError:
        retry = None  # its retries.jsonl can't be read: the retry itself says so
    if retry is not None:  # its rows left are that retry's (rundir/retries.py)
        return f"Its failed rows were retried in {retry.folder}: to send them again, bulk-updater retry {retry.failed} --out NEW_DIR."
    return f"To send its failed rows again: bulk-updater retry {ending.fix_in} --out NEW_DIR."
