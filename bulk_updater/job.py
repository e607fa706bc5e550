"""The library entry points: one sheet (or an earlier report) in, one report folder out.

    file -> rows -> requests -> calls -> outcomes -> report
    (rows)  (requests) (calls)  (outcomes)  (report)

`run` sends a sheet; `retry` sends again the rows of an earlier report that need it. Both
resume the unfinished run their folder holds (see report/folder.py), and stop cleanly on
Ctrl-C or SIGTERM (see stopping.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .calls import LeadSquaredClient, RetryPolicy, WindowLimiter, open_session
from .errors import StoppedAtOnce
from .outcomes import RowOutcome, Runner, RunStats
from .preflight import preflight
from .report import ReportWriter, Summary, write_failed
from .report.excel import write_workbook_copies
from .report.folder import FAILED, REPORT, SUMMARY, lock_out_dir, open_out_dir
from .report.progress import Progress
from .report.recovery import Recorded
from .report.rerun import Rerun
from .report.run_record import RunRecord, RunState
from .report.writer import report_header
from .requests import plan_row
from .rows import ReadOptions, Row, open_sheet
from .rows.records import is_records, spool_records
from .settings import CLEAR_TOKEN, SendSettings
from .stopping import SIGNAL_NAMES, StopOnSignals, StopToken

__all__ = ["FAILED", "REPORT", "SUMMARY", "JobOptions", "retry", "run"]

# Seconds the calls in flight get to finish after a first Ctrl-C or SIGTERM.
STOP_WAIT = 10.0


@dataclass(frozen=True)
class JobOptions:
    clear_token: str = CLEAR_TOKEN
    max_calls: int | None = None
    progress: bool = True
    read: ReadOptions = ReadOptions()
    restart: bool = False  # start over in a folder that holds another run, instead of refusing
    stop_wait: float = STOP_WAIT
    # Called with each row's outcome once it is in the report (the progress bar is another listener).
    on_outcome: Callable[[RowOutcome], None] | None = None
    # Set by the caller, from any thread, to stop the job as a first (then second) Ctrl-C would.
    stop_token: StopToken | None = None
    # Stop cleanly on Ctrl-C and SIGTERM. Off for a library: the process's signals are its owner's (the CLI sets it).
    handle_signals: bool = False


@dataclass(frozen=True)
class _Source:
    """Where a job's rows come from, numbered as its report numbers them."""

    command: str  # "run" or "retry"
    path: Path
    columns: list[str]
    rows: Callable[[], Iterator[Row]]
    sheet_name: str | None  # the workbook sheet read; None for delimited text


def run(edits: str | Path | Any, out_dir: str | Path, send: SendSettings, options: JobOptions = JobOptions()) -> Summary:
    """Apply every row of `edits`; write report.csv, failed.csv and summary.json in `out_dir`
    (and report.xlsx, failed.xlsx when the input is a workbook).

    `edits` is a sheet's path, or the edits themselves: a pandas DataFrame or a list of dicts,
    spooled first to a CSV in `out_dir` so the run resumes like any other.
    """
    return asyncio.run(run_async(edits, Path(out_dir), send, options))


async def run_async(edits: str | Path | Any, out_dir: Path, send: SendSettings, options: JobOptions) -> Summary:
    if is_records(edits):
        input_path = spool_records(edits, out_dir, options.read.timezone)
        # The spooled cells are text already, date-times in UTC: nothing is left to shift.
        options = dataclasses.replace(options, read=dataclasses.replace(options.read, timezone=None))
    else:
        input_path = Path(edits)
    sheet = open_sheet(input_path, options.read)
    return await _run_job(_Source("run", input_path, sheet.columns, sheet.rows, sheet.sheet_name), out_dir, send, options)


def retry(report_path: str | Path, out_dir: str | Path, send: SendSettings, options: JobOptions = JobOptions()) -> Summary:
    """Send again the rows of an earlier report that are neither success nor skipped, keeping their `_row`."""
    return asyncio.run(retry_async(Path(report_path), Path(out_dir), send, options))


async def retry_async(report_path: Path, out_dir: Path, send: SendSettings, options: JobOptions) -> Summary:
    rerun = Rerun(open_sheet(report_path, options.read))
    source = _Source("retry", report_path, rerun.sheet.columns, rerun.rows, rerun.sheet.sheet_name)
    return await _run_job(source, out_dir, send, options, rerun)


async def _run_job(source: _Source, out_dir: Path, send: SendSettings, options: JobOptions, rerun: Rerun | None = None) -> Summary:
    # A first pass finds unreadable lines before anything is sent, and sizes the progress bar.
    total = sum(1 for _ in source.rows())
    limiter = WindowLimiter(send.rate.calls, send.rate.period, send.jitter)
    # Keys and region are checked before anything is written or sent: a failure leaves no folder behind.
    await preflight(send, limiter)
    job = RunRecord.new(source.command, source.path, options.clear_token)
    job.options.setdefault("send", {})["throttle_timeout"] = send.throttle_timeout  # slice calls: lead routes into i9a's registry
    with lock_out_dir(out_dir):
        earlier = open_out_dir(out_dir, job, report_header(source.columns), options.restart)
        started = time.monotonic()
        summary = _summary_so_far(source, send, earlier, rerun)
        session = _Session(out_dir / REPORT, source.columns, summary, Progress(total, options.progress, done=summary.counts), send, options.on_outcome)
        if earlier.rows or earlier.not_sent_dropped or earlier.damaged_dropped:
            session.progress.note(_resume_note(out_dir, total, earlier))
        stop = StopOnSignals(options.stop_wait, session.progress.note, options.stop_token, options.handle_signals)
        try:
            await _send_rows_left(source, earlier, send, options, session, stop, limiter)
        finally:
            session.close()
            if stop.at_once:
                job.save(out_dir, RunState.STOPPED)
        _finish_summary(summary, stop.runner.stats if stop.runner else RunStats(), stop, started)
        write_failed(out_dir / REPORT, out_dir / FAILED)
        summary.write(out_dir / SUMMARY)
        write_workbook_copies(source.sheet_name, out_dir / REPORT, out_dir / FAILED)
        job.save(out_dir, RunState.STOPPED if summary.stop_reason else RunState.FINISHED)
    return summary


class _Session:
    """Where each outcome of this session goes: the report, the summary and the progress bar."""

    def __init__(
        self, report: Path, columns: list[str], summary: Summary, progress: Progress, send: SendSettings, on_outcome: Callable[[RowOutcome], None] | None
    ) -> None:
        self.summary, self.progress, self._credentials, self._on_outcome = summary, progress, send.credentials, on_outcome
        self.writer = ReportWriter(report, columns)

    def record(self, result: RowOutcome) -> None:
        # The last gate before the report and summary.json: no error text may carry a key.
        message = self._credentials.redact(result.error_message)
        if message != result.error_message:
            result = dataclasses.replace(result, error_message=message)
        self.writer.write(result)
        self.summary.add(result)
        self.progress.add(result)
        if self._on_outcome is not None:
            self._on_outcome(result)

    def close(self) -> None:
        self.progress.close()
        self.writer.close()


async def _send_rows_left(
    source: _Source, earlier: Recorded, send: SendSettings, options: JobOptions, session: _Session, stop: StopOnSignals, limiter: WindowLimiter
) -> None:
    """Send the rows without an outcome until done or stopped; after a stop, every row still gets its line."""
    pending = (row for row in source.rows() if row.number not in earlier.rows)
    await stop.run(_send_all(pending, send, options, session.record, stop, limiter))
    if stop.at_once:
        raise _stopped_at_once(stop)


async def _send_all(pending: Iterator[Row], send: SendSettings, options: JobOptions, record, stop: StopOnSignals, limiter: WindowLimiter) -> Runner:
    async with open_session(send.concurrency) as session:
        client = LeadSquaredClient(session, send.host, send.credentials, send.timeout)
        runner = Runner(
            client.send_update,
            limiter,
            record,
            concurrency=send.concurrency,
            retry=RetryPolicy(max_attempts=send.max_attempts, throttle_timeout=send.throttle_timeout),
            max_calls=options.max_calls,
        )
        stop.attach(runner)
        await runner.run((row, plan_row(row, options.clear_token)) for row in pending)
    return runner


def _summary_so_far(source: _Source, send: SendSettings, earlier: Recorded, rerun: Rerun | None) -> Summary:
    """A summary that starts from the outcomes earlier sessions of this run recorded."""
    summary = Summary(input=str(source.path), rate=str(send.rate), resumed=len(earlier.rows), passed_over=rerun.passed_over if rerun else 0)
    for outcome in earlier.outcomes:
        summary.count(*outcome)
    return summary


def _finish_summary(summary: Summary, stats: RunStats, stop: StopOnSignals, started: float) -> None:
    summary.calls, summary.calls_throttled = stats.calls, stats.throttled
    # A 401 first: it needs the admin to act before anything else.
    summary.stop_reason = (
        "unauthorized" if stats.unauthorized
        else stop.stop_reason or ("throttled" if stats.throttled_out else "max_calls" if stats.stopped_by_max_calls else "")
    )
    summary.elapsed_seconds = time.monotonic() - started


def _stopped_at_once(stop: StopOnSignals) -> StoppedAtOnce:
    assert stop.signal is not None
    return StoppedAtOnce(
        f"stopped at once by a second {SIGNAL_NAMES[stop.signal]}. The report holds every row that finished; "
        "the rows in flight are sent again when you run the same command again, which finishes the job.",
        stop.signal,
    )


def _resume_note(out_dir: Path, total: int, earlier: Recorded) -> str:
    note = f"Resuming the run in {out_dir}: {len(earlier.rows):,} of {total:,} rows already have an outcome"
    if earlier.not_sent_dropped:
        note += f"; {earlier.not_sent_dropped:,} rows not sent before are sent now"
    if earlier.damaged_dropped:
        note += f"; {earlier.damaged_dropped:,} torn or damaged report lines were dropped (those rows are sent again)"
    return note + "."
