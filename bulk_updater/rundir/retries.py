"""DIR/retries.jsonl: the retry that took over the rows a run left (docs/report.md, "Retrying a retried run").

A retry of a run's report sends the rows the run left, maybe fixed. From then on those rows are the
retry's: a resume of the run would send them again with the values the run read, over what the
retry sent; a second retry of the run's report would not see what the first (or a retry of it)
set, so supersession could not protect it. So a retry records itself in the folder of the run it
retries, right before its first update (a retry refused or declined before sending records
nothing), and both are refused while the record names it.

One line per retry, appended (never rewritten): {"retry": "/abs/out", "at": "..."}. A retry
resumed finds itself recorded and adds nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .. import files
from ..errors import InputError
from ..shell import quote
from .run_record import RUN_FILE, RunRecord

RETRIES_FILE = "retries.jsonl"


@dataclass(frozen=True)
class RecordedRetry:
    """A retry that sent rows `run` had left."""

    run: Path  # the retried run's folder
    folder: Path  # the retry's --out folder

    @property
    def gone(self) -> bool:
        """The retry's folder holds no run.json of a retry of `run` (moved, deleted, or started over as another job):
        what it sent can't be known, nor its rows left retried from there."""
        try:
            record = RunRecord.load(self.folder)
        except (InputError, OSError):
            return True
        return record is None or record.retry_of is None or Path(record.retry_of) != self.run

    @property
    def failed(self) -> Path:
        """The retry's report of its rows left: the workbook copy when it wrote one, else failed.csv."""
        xlsx = self.folder / "failed.xlsx"
        return xlsx if xlsx.is_file() else self.folder / "failed.csv"


def recorded_retry(run_dir: Path, but: Path | None = None) -> RecordedRetry | None:
    """The retry recorded in `run_dir` (the first, if more: the others were refused), other than `but`; None if none."""
    run_dir = run_dir.resolve()
    text = files.read_text(run_dir / RETRIES_FILE)
    if text is None:
        return None
    skip = but.resolve() if but is not None else None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        folder = _folder(line)
        if folder is None:
            raise InputError(
                f"line {number} of {RETRIES_FILE} can't be read: it should name the retry that sent this run's rows left",
                where=str(run_dir / RETRIES_FILE),
                hint=f"Put back the line as bulk-updater wrote it, or, if no retry of this run sent anything, delete {run_dir / RETRIES_FILE}.",
            )
        if folder != skip:
            return RecordedRetry(run_dir, folder)
    return None


def record_retry(run_dir: Path, retry_dir: Path) -> None:
    """Record `retry_dir` as the retry of the run in `run_dir`, once; refuse if another retry is recorded there.
    Call it under `run_dir`'s lock (rundir/folder.py: lock_out_dir), right before the retry's first update."""
    refuse_second_retry(run_dir, retry_dir)
    retry_dir = retry_dir.resolve()
    if recorded_retry(run_dir) is not None:
        return  # this retry, recorded by an earlier session
    line = json.dumps({"retry": str(retry_dir), "at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")})
    with files.open_append(run_dir / RETRIES_FILE) as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())  # on disk before the first update: a power cut must not forget it


def refuse_resume(run_dir: Path) -> None:
    """Refuse (InputError, nothing sent) another session of the run in `run_dir` once a retry took its rows left."""
    retry = recorded_retry(run_dir)
    if retry is None:
        return
    run, there = run_dir.resolve(), retry.folder
    if retry.gone:
        raise InputError(
            f"{run}'s rows left were given to the retry in {there}, which is gone (no {RUN_FILE} there naming this run): "
            "what it sent can't be known, and a resume would send the rows with the values this run read, over it",
            hint=f"If you moved that folder, resume or retry it where it is now. To resume this run anyway, over whatever "
            f"that retry set, delete {run / RETRIES_FILE} first.",
        )
    raise InputError(
        f"{run}'s rows left were given to the retry in {there}: resume or retry {there} instead",
        hint=f"A resume of this run would send them with the values it read, over what the retry sent. "
        f"If the retry is unfinished: bulk-updater resume {quote(str(there))}. Else: bulk-updater retry {quote(str(retry.failed))} --out NEW_DIR.",
    )


def refuse_restart(run_dir: Path) -> None:
    """Refuse (InputError, nothing sent) `--restart` in the folder of a run a retry took over: it would send every row
    again with the sheet's values, over what the retry sent, and drop the report that retry's history reads.
    Nor in the folder of that retry: started over, it would drop the report of what it sent and send its run's rows
    again without it, as a second retry of the run would."""
    retry = recorded_retry(run_dir)
    if retry is not None:
        raise InputError(
            f"{run_dir.resolve()}'s rows left were given to the retry in {retry.folder}: it is not started over",
            hint="To send every row of the sheet again, choose another --out folder (the retry reads this run's report).",
        )
    retried = _retried_run(run_dir)
    if retried is not None:
        there = run_dir.resolve()
        raise InputError(
            f"{there} holds the retry that took over {retried}'s rows left: it is not started over",
            hint=f"Its report is what says which of them it sent. Retry its rows left: bulk-updater retry "
            f"{quote(str(RecordedRetry(retried, there).failed))} --out NEW_DIR (or, if it is unfinished: bulk-updater resume {quote(str(there))}).",
        )


def _retried_run(run_dir: Path) -> Path | None:
    """The run whose rows left the retry in `run_dir` took over (its folder's record names it); None if none."""
    try:
        record = RunRecord.load(run_dir)
    except (InputError, OSError):
        return None  # no retry's record to keep: what refuses an unreadable run.json says so
    if record is None or record.retry_of is None:
        return None
    retried = Path(record.retry_of)
    try:
        recorded = recorded_retry(retried)
    except InputError:
        return retried  # its record can't be read: it may name this retry
    return retried if recorded is not None and recorded.folder == run_dir.resolve() else None


def refuse_second_retry(run_dir: Path, retry_dir: Path) -> None:
    """Refuse (InputError, nothing sent) a retry, into `retry_dir`, of the run in `run_dir` that another retry took over."""
    retry = recorded_retry(run_dir, but=retry_dir)
    if retry is None:
        return
    run, there = run_dir.resolve(), retry.folder
    if retry.gone:
        raise InputError(
            f"{run} was retried in {there}, which is gone (no {RUN_FILE} there naming this run): what it sent can't be known, "
            "and this retry would not see it",
            hint=f"If you moved that folder, retry its failed.xlsx (or failed.csv) where it is now. To retry this run's report "
            f"anyway, over whatever that retry set, delete {run / RETRIES_FILE} first.",
        )
    raise InputError(
        f"{run} was retried in {there}; retry {retry.failed} (it knows what {there} sent)",
        hint=f"bulk-updater retry {quote(str(retry.failed))} --out NEW_DIR (or, if that retry is unfinished: bulk-updater resume {quote(str(there))}). "
        "A second retry of this run's report would not see what the first one set, and could send over it.",
    )


def _folder(line: str) -> Path | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    folder = data.get("retry") if isinstance(data, dict) else None
    return Path(folder) if isinstance(folder, str) and folder else None
