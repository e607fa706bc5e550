"""Jobs the page started: each runs in its own thread with its own event loop, so a job's
blocking work (counting, reading, the final copies) never stalls the server.

A job's progress is the library's own tally (report/tally.py): counts and a short series,
never rows, so a page shows a snapshot of it whatever the size of the sheet, and ends on the
numbers of summary.json. Closing the tab does not stop a job; the
job's StopToken does (the Stop button).
"""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import files as report_files
from .. import job as library
from ..credentials import REDACTOR
from ..errors import BulkUpdaterError, StoppedAtOnce
from ..outcomes import Outcome
from ..report import Summary
from ..report.tally import Tally
from ..report.writer import REPORT_ENCODING, write_failed
from ..rows import ReadOptions
from ..rundir.folder import FAILED, REPORT, SUMMARY
from ..rundir.run_record import RunRecord
from ..settings import SendSettings
from ..stop_reason import StopReason
from ..stopping import StopToken
from .screens import Pace, PaceKeeper, read_history, write_pace

OUTCOMES = {outcome.value for outcome in Outcome}
GROUPS_SHOWN = 8
PACE_EVERY = 1.0  # seconds between two writes of the job's pace.json
PACE_WRITE_GRACE = 1.0  # seconds a stopping server gives an ended job to write its pace.json, past --stop-wait if need be


def live_numbers(tally: Tally) -> dict:
    """What the page shows of a job as it goes: the library's counts (its tally), with the rates and ETA they give."""
    now = tally.snapshot(GROUPS_SHOWN)
    sent_now = now.done - now.done_before
    per_second = sent_now / now.elapsed
    left = max(now.total - now.done, 0)
    observed = left / per_second if per_second > 0 and sent_now else None
    eta = now.time_left.seconds(observed) if now.time_left is not None else observed
    return {
        "total": now.total,
        "done": now.done - now.counts.get("not_sent", 0),  # rows with an outcome of their own; not those a stop left
        "not_sent": now.counts.get("not_sent", 0),
        "counts": now.counts,
        "rows_per_second": round(per_second, 2),
        "calls_per_second": round(now.calls / now.elapsed, 2),
        "eta_seconds": round(eta) if eta is not None else None,  # the bar's (TimeLeft): the limit's pace and the rows left
        "elapsed_seconds": round(now.elapsed, 1),
        "groups": now.groups,
        "series": now.series,
    }


@dataclass
class PageJob:
    run_id: str
    out_dir: Path
    command: str  # "run", "retry", "undo", or "resume" (the job the folder holds, with its recorded options)
    source: Path  # the sheet, the report retried, the run folder undone; for a resume, what run.json names
    send: SendSettings
    read: ReadOptions
    stop_token: StopToken = field(default_factory=StopToken)
    tally: Tally = field(default_factory=Tally)  # the library keeps the job's counts in it
    headline: str = ""  # the confirmation line the run was started with
    safety: dict = field(default_factory=dict)  # JobOptions' backup, keep_going, stop_after_failures, force
    unverified_account: bool = False  # the page's checkbox: JobOptions.unverified_account (never recorded)
    state: str = "starting"  # starting, running, stopping, finished, stopped, failed
    error: str = ""
    # What the library told the person running the job (its on_note): a resume, a warning, a stop on its way.
    notes: list[str] = field(default_factory=list)
    summary: dict | None = None
    thread: threading.Thread | None = None
    pace: Pace = field(default_factory=Pace)  # the whole run's rows per second, as pace.json keeps it (set each second)
    ended: threading.Event = field(default_factory=threading.Event)  # set once the job ended and pace.json was written the last time

    @property
    def live(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def wait(self, timeout: float) -> bool:
        """Whether the job ended, its folder's files (pace.json the last) all written, within `timeout` seconds."""
        return self.ended.wait(timeout)

    def stop(self) -> None:
        self.state = "stopping"
        self.stop_token.stop()

    def snapshot(self) -> dict:
        data = live_numbers(self.tally)
        data.update(state=self.state, error=REDACTOR.redact(self.error), live=self.live, notes=[REDACTOR.redact(note) for note in list(self.notes)])
        data.update(series=self.pace.series, bucket=self.pace.bucket, seconds=self.pace.seconds)  # the whole run's, as a reload draws it
        return data


class Jobs:
    """The jobs this server started, by run id."""

    def __init__(self) -> None:
        self._jobs: dict[str, PageJob] = {}

    def get(self, run_id: str) -> PageJob | None:
        return self._jobs.get(run_id)

    def live(self, run_id: str) -> bool:
        job = self._jobs.get(run_id)
        return job is not None and job.live

    def stop_all(self, wait: float) -> list[PageJob]:
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
        for job in live:  # its pace.json written the last time: a process ending mid-write would leave pace.json.tmp
            if not job.live:
                job.wait(max(deadline - time.monotonic(), PACE_WRITE_GRACE))
        return [job for job in live if job.live]

    def start(self, job: PageJob, on_end: Callable[[PageJob], None] | None = None) -> PageJob:
        self._jobs[job.run_id] = job
        job.thread = threading.Thread(target=_work, args=(job, on_end), name=f"job-{job.run_id}", daemon=True)
        job.thread.start()
        threading.Thread(target=_keep_pace, args=(job,), name=f"pace-{job.run_id}", daemon=True).start()
        return job


def _join(jobs: list[PageJob], deadline: float) -> None:
    for job in jobs:
        if job.thread is not None:
            job.thread.join(max(deadline - time.monotonic(), 0))


def _keep_pace(job: PageJob) -> None:
    """The job's per-second counts into its folder (screens.PACE_FILE) every second, and once at its end,
    so the chart of a finished run, or of one seen after a restart, is drawn again, the whole run
    (a resume's after the earlier sessions')."""
    assert job.thread is not None
    keeper = PaceKeeper(read_history(job.out_dir) if job.command == "resume" else None)
    while True:
        job.thread.join(PACE_EVERY)
        ended = not job.thread.is_alive()
        job.pace = keeper.take(job.tally.snapshot(0), final=ended)
        try:
            write_pace(job.out_dir, keeper.history)
        except (OSError, BulkUpdaterError):  # the chart is not worth a failed job: the next second tries again
            pass
        if ended:
            job.ended.set()
            return


def _work(job: PageJob, on_end: Callable[[PageJob], None] | None) -> None:
    """The job's thread (library.run/retry make their own event loop)."""
    try:
        job.state = "running" if job.state == "starting" else job.state
        # The page showed the line before Start; a `confirm` that says yes still has the job run the field
        # check (a column whose case clashes with a field is refused before any update), asking no one.
        if job.command == "resume":
            summary = library.resume(job.out_dir, job.send.credentials, {}, tally=job.tally, on_note=job.notes.append,
                                     stop_token=job.stop_token, unverified_account=job.unverified_account, confirm=_started_already, confirm_asks=False)
        else:
            options = library.JobOptions(read=job.read, tally=job.tally, on_note=job.notes.append, stop_token=job.stop_token,
                                         unverified_account=job.unverified_account, confirm=_started_already, confirm_asks=False, **job.safety)
            start = {"run": library.run, "retry": library.retry, "undo": library.undo}[job.command]
            summary = start(job.source, job.out_dir, job.send, options)
        job.summary = summary.to_json()
        job.state = "stopped" if summary.stop_reason is not None else "finished"
    except StoppedAtOnce as exc:  # Stop clicked twice, or the server stopping (Jobs.stop_all)
        job.error, job.state = str(exc), "stopped"
        job.summary = _record_what_the_report_holds(job.out_dir, exc.reason).to_json()
    except BulkUpdaterError as exc:
        job.error, job.state = str(exc), "failed"
    except Exception as exc:  # a bug: say so on the page, keys masked; the report holds what finished
        job.error, job.state = f"unexpected error: {type(exc).__name__}: {exc}", "failed"
    finally:
        if on_end is not None:
            on_end(job)


def _record_what_the_report_holds(out_dir: Path, reason: StopReason) -> Summary:
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
    summary.stop_reason = reason
    summary.stop_detail = "stopped at once: the rows without a line in report.csv are sent when the run is resumed"
    summary.write(out_dir / SUMMARY)
    return summary


def _started_already(line: str) -> bool:
    return True
