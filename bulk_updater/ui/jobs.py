"""Jobs the page started: each runs in its own thread with its own event loop, so a job's
blocking work (counting, reading, the final copies) never stalls the server.

A job's progress is kept as counts and a short series, never as rows: a page shows a
snapshot of it, whatever the size of the sheet. Closing the tab does not stop a job; the
job's StopToken does (the Stop button).
"""

from __future__ import annotations

import csv
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import job as library
from ..credentials import REDACTOR
from ..errors import BulkUpdaterError, StoppedAtOnce
from ..outcomes import Outcome, RowOutcome
from ..report import Summary
from ..report import files as report_files
from ..report.folder import FAILED, REPORT, SUMMARY
from ..report.rerun import Rerun
from ..report.run_record import RunRecord
from ..report.writer import REPORT_ENCODING, write_failed
from ..rows import ReadOptions, open_sheet
from ..safety.undo import rows_to_undo
from ..settings import SendSettings
from ..stopping import StopToken

SERIES_SECONDS = 120  # the chart's width: the last two minutes, one point a second
OUTCOMES = {outcome.value for outcome in Outcome}
GROUPS_SHOWN = 8


@dataclass
class Progress:
    """Counts of one job, updated from its thread and read from the server's."""

    total: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {o.value: 0 for o in Outcome})
    started: float = field(default_factory=time.monotonic)
    calls: int = 0
    summary: Summary = field(default_factory=lambda: Summary(input="", rate=""))
    series: deque = field(default_factory=lambda: deque(maxlen=SERIES_SECONDS))  # [second, rows]
    done_before: int = 0  # rows an earlier session of the run recorded
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: RowOutcome) -> None:
        second = int(time.monotonic() - self.started)
        with self.lock:
            self.counts[outcome.outcome.value] += 1
            self.calls += outcome.attempts
            self.summary.add(outcome)
            if self.series and self.series[-1][0] == second:
                self.series[-1][1] += 1
            else:
                self.series.append([second, 1])

    def snapshot(self) -> dict:
        with self.lock:
            elapsed = max(time.monotonic() - self.started, 1e-6)
            done = sum(self.counts.values())
            sent_now = done - self.done_before
            per_second = sent_now / elapsed
            left = max(self.total - done, 0)
            return {
                "total": self.total,
                "done": done,
                "counts": dict(self.counts),
                "rows_per_second": round(per_second, 2),
                "calls_per_second": round(self.calls / elapsed, 2),
                "eta_seconds": round(left / per_second) if per_second > 0 and sent_now else None,
                "elapsed_seconds": round(elapsed, 1),
                "groups": self.summary.failure_groups(GROUPS_SHOWN),
                "series": _filled(list(self.series), int(elapsed)),
            }


def _filled(series: list[list[int]], now: int) -> list[int]:
    """Rows per second for the last seconds up to now, zeros where none finished."""
    start = max(0, now - SERIES_SECONDS + 1)
    by_second = {second: rows for second, rows in series}
    return [by_second.get(second, 0) for second in range(start, now + 1)]


@dataclass
class Job:
    run_id: str
    out_dir: Path
    command: str  # "run", "retry", "undo", or "resume" (the job the folder holds, with its recorded options)
    source: Path  # the sheet, the report retried, the run folder undone; for a resume, what run.json names
    send: SendSettings
    read: ReadOptions
    stop_token: StopToken = field(default_factory=StopToken)
    progress: Progress = field(default_factory=Progress)
    headline: str = ""  # the confirmation line the run was started with
    safety: dict = field(default_factory=dict)  # JobOptions' backup, keep_going, stop_after_failures, force
    unverified_account: bool = False  # the page's checkbox: JobOptions.unverified_account (never recorded)
    state: str = "starting"  # starting, running, stopping, finished, stopped, failed
    error: str = ""
    summary: dict | None = None
    thread: threading.Thread | None = None

    @property
    def live(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def stop(self) -> None:
        self.state = "stopping"
        self.stop_token.stop()

    def snapshot(self) -> dict:
        data = self.progress.snapshot()
        data.update(state=self.state, error=REDACTOR.redact(self.error), live=self.live)
        return data


class Jobs:
    """The jobs this server started, by run id."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}

    def get(self, run_id: str) -> Job | None:
        return self._jobs.get(run_id)

    def live(self, run_id: str) -> bool:
        job = self._jobs.get(run_id)
        return job is not None and job.live

    def stop_all(self, wait: float) -> list[Job]:
        """Stop every live job within `wait` seconds (the server's --stop-wait); return any still going after it.

        First as a Ctrl-C would: no new rows, the calls in flight finish, the rows left are recorded
        not_sent. A job still going at half the wait (a big sheet's rows left take a while to record) is
        stopped at once, as by a second Ctrl-C: the rows without a line are sent by its resume. Either
        way it then writes failed.csv, summary.json and run.json, which agree; the workbook copies are
        left to the next session (report.excel.stop_copies, set by the server first).
        """
        deadline = time.monotonic() + wait
        live = [job for job in self._jobs.values() if job.live]
        for job in live:
            job.stop()
        _join(live, deadline - wait / 2)
        for job in live:
            if job.live:
                job.stop()
        _join(live, deadline)
        return [job for job in live if job.live]

    def start(self, job: Job, on_end: Callable[[Job], None] | None = None) -> Job:
        self._jobs[job.run_id] = job
        job.thread = threading.Thread(target=_work, args=(job, on_end), name=f"job-{job.run_id}", daemon=True)
        job.thread.start()
        return job


def _join(jobs: list[Job], deadline: float) -> None:
    for job in jobs:
        if job.thread is not None:
            job.thread.join(max(deadline - time.monotonic(), 0))


class _StoppedWhileCounting(Exception):
    pass


def _work(job: Job, on_end: Callable[[Job], None] | None) -> None:
    """The job's thread: count, then send (library.run/retry make their own event loop)."""
    try:
        try:
            job.progress.total = _rows_to_send(job)
        except _StoppedWhileCounting:  # stopped before anything was sent or written
            job.state = "stopped"
            return
        job.progress.done_before = _recorded_before(job.out_dir)
        for outcome, rows in _outcomes_before(job.out_dir).items():
            job.progress.counts[outcome] += rows
        job.state = "running" if job.state == "starting" else job.state
        # The page showed the line before Start; a `confirm` that says yes still has the job run the field
        # check (a column whose case clashes with a field is refused before any update), asking no one.
        if job.command == "resume":
            summary = library.resume(job.out_dir, job.send.credentials, {}, progress=False, on_outcome=job.progress.add, stop_token=job.stop_token,
                                     unverified_account=job.unverified_account, confirm=_started_already, confirm_asks=False)
        else:
            options = library.JobOptions(read=job.read, progress=False, on_outcome=job.progress.add, stop_token=job.stop_token,
                                         unverified_account=job.unverified_account, confirm=_started_already, confirm_asks=False, **job.safety)
            start = {"run": library.run, "retry": library.retry, "undo": library.undo}[job.command]
            summary = start(job.source, job.out_dir, job.send, options)
        job.summary = summary.to_json()
        job.state = "stopped" if summary.stop_reason else "finished"
    except StoppedAtOnce as exc:  # Stop clicked twice, or the server stopping (Jobs.stop_all)
        job.error, job.state = str(exc), "stopped"
        job.summary = _record_what_the_report_holds(job.out_dir).to_json()
    except BulkUpdaterError as exc:
        job.error, job.state = str(exc), "failed"
    except Exception as exc:  # a bug: say so on the page, keys masked; the report holds what finished
        job.error, job.state = f"unexpected error: {type(exc).__name__}: {exc}", "failed"
    finally:
        if on_end is not None:
            on_end(job)


def _record_what_the_report_holds(out_dir: Path) -> Summary:
    """After a stop at once, which writes only run.json (`stopped`): failed.csv and summary.json of the rows
    report.csv holds, so the folder's files agree and the run's page shows them. The rows without a line are
    sent by the run's resume, which writes both again."""
    record = RunRecord.load(out_dir)
    summary = Summary(input=record.input if record else "", rate=str(library.recorded_values(out_dir).get("rate", "")))
    if report_files.is_present(out_dir / REPORT):
        with report_files.open_read(out_dir / REPORT, encoding=REPORT_ENCODING) as f:
            for line in csv.DictReader(f):
                if (outcome := line.get("_outcome", "")) in OUTCOMES:
                    summary.count(outcome, line.get("_error_type") or "", line.get("_error_message") or "")
        write_failed(out_dir / REPORT, out_dir / FAILED)
    summary.stop_reason = "stopped"
    summary.stop_detail = "stopped at once: the rows without a line in report.csv are sent when the run is resumed"
    summary.write(out_dir / SUMMARY)
    return summary


def _started_already(line: str) -> bool:
    return True


def _rows_to_send(job: Job) -> int:
    command, read = job.command, job.read
    if command == "resume":  # read as the run recorded
        record = RunRecord.load(job.out_dir)
        if record is None:
            return 0
        command, read = record.command, library.settings_from(library.recorded_values(job.out_dir), job.send.credentials)[1].read
    if command == "undo":  # the run's backup, as library.undo reads it
        return rows_to_undo(job.source)
    if command == "retry":
        return _counted(Rerun(open_sheet(job.source, read)).rows(), job.stop_token)
    return _counted(open_sheet(job.source, read).rows(), job.stop_token)


def _counted(rows, stop_token: StopToken) -> int:
    """The rows, counted; a stop (the server stopping) ends the count, and the job, at once."""
    count = 0
    for count, _ in enumerate(rows, start=1):
        if count % 1000 == 0 and stop_token.requested:
            raise _StoppedWhileCounting
    return count


def _outcomes_before(out_dir: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    report = out_dir / REPORT
    if not report.exists():
        return counts
    with report.open(newline="", encoding="utf-8") as f:
        for line in csv.DictReader(f):
            outcome = line.get("_outcome", "")
            # Rows not sent before are sent again now: they are not done.
            if outcome in {o.value for o in Outcome} and outcome != Outcome.NOT_SENT.value:
                counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def _recorded_before(out_dir: Path) -> int:
    return sum(_outcomes_before(out_dir).values())
