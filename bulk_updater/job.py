"""The library entry points: one sheet (or an earlier report) in, one report folder out.

    file -> rows -> requests -> calls -> outcomes -> report
    (rows)  (requests) (calls)  (outcomes)  (report)

`run` sends a sheet; `retry` sends again the rows of an earlier report that need it. Both
resume the unfinished run their folder holds (see report/folder.py), and stop cleanly on
Ctrl-C or SIGTERM (see stopping.py). `resume` finishes the unfinished run or retry of a
folder with the options it recorded in run.json (see options.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import options as recorded_options
from .account import refuse_another_account
from .calls import LeadSquaredClient, RetryPolicy, WindowLimiter, account_limiter, open_session
from .credentials import Credentials
from .errors import Declined, FolderError, InputError, StoppedAtOnce
from .outcomes import RowOutcome, Runner, RunStats
from .preflight import Identity, preflight
from .report import ReportWriter, Summary, files, write_failed
from .report.excel import write_workbook_copies
from .report.folder import FAILED, REPORT, SUMMARY, check_resumable, lock_out_dir, open_out_dir
from .report.progress import Progress
from .report.recovery import Recorded
from .report.rerun import SENT_WITHOUT, Rerun
from .report.run_record import RUN_FILE, RunRecord, RunState, file_sha256
from .report.writer import report_header
from .requests import Plan, plan_row
from .rows import ReadOptions, Row, open_sheet
from .rows.reader import ReadFindings
from .rows.records import is_records, spool_records
from .safety import hooks
from .safety.canary import Canary, reads_needed
from .safety.confirm import FIX_IN_SHEET, FIX_IN_UNDO
from .safety.failing import STREAK, FailureWatch, StopRule
from .safety.options import record_safety
from .safety.options import recorded as recorded_options_of_safety
from .safety.undo import UndoSource, retry_clear_token
from .settings import CLEAR_TOKEN, SendSettings
from .stopping import CAUSE_NAMES, StopOnSignals, StopToken

__all__ = ["FAILED", "REPORT", "SUMMARY", "JobOptions", "holds_unfinished", "recorded_values", "resume", "retry", "run", "settings_from", "undo"]

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
    # retry: send rows whose cells look changed by a spreadsheet (leading zeros, 1.23457E+19...) as they are.
    accept_spreadsheet_changes: bool = False
    # The safety net (safety/): --backup, and the stop on systematic failure, recorded (record class).
    backup: bool = False
    keep_going: bool = False
    stop_after_failures: int = STREAK
    # Not recorded. Shown "About to update N rows ... in ORG as USER" before the first update; False
    # sends nothing. None: no line, no field check (so no case-clash refusal either), no question (a
    # library caller that decided already; the web page passes one that says yes, for the field check).
    confirm: Callable[[str], bool] | None = None
    # False when `confirm` never asks anyone (--yes, no terminal): then the field check's one read goes out
    # with the first updates instead of before them, and its warnings follow the line; but only when it
    # can refuse nothing (every field column named by --map): a column whose case may clash waits for it.
    confirm_asks: bool = True
    force: bool = False  # undo: restore even the activities changed since the run (kept in run.json for its resume)
    # Not recorded (given again each time, as --yes): act on an existing run (resume, retry of its report,
    # undo) even when no identity of the keys' account can be compared with the run's (account.py).
    # A disagreement is refused whatever this says.
    unverified_account: bool = False
    # The first update goes alone, read before and after (safety/canary.py); --no-canary skips it (send class).
    canary: bool = True

    @property
    def stop_rule(self) -> StopRule:
        return StopRule(enabled=not self.keep_going, streak=self.stop_after_failures)


@dataclass(frozen=True)
class _Source:
    """Where a job's rows come from, numbered as its report numbers them."""

    command: str  # "run", "retry" or "undo"
    path: Path
    columns: list[str]
    rows: Callable[[], Iterator[Row]]
    sheet_name: str | None  # the workbook sheet read; None for delimited text
    # (row, clear token) -> the row as recorded and what to send for it
    plan: Callable[[Row, str], tuple[Row, Plan]] = lambda row, clear_token: (row, plan_row(row, clear_token))
    # What reading the rows noticed (a workbook's date-times taken as UTC); filled in by the counting pass.
    findings: ReadFindings | None = None


def run(edits: str | Path | Any, out_dir: str | Path, send: SendSettings, options: JobOptions = JobOptions()) -> Summary:
    """Apply every row of `edits`; write report.csv, failed.csv, their copies report.xlsx and
    failed.xlsx, and summary.json in `out_dir`.

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
    job = _job_record("run", input_path, send, options, out_dir)
    job.named_columns = hooks.names_mapped(options.read.map_path)
    sheet = open_sheet(input_path, options.read)
    return await _run_job(job, _Source("run", input_path, sheet.columns, sheet.rows, sheet.sheet_name, findings=sheet.findings), out_dir, send, options)


def retry(report_path: str | Path, out_dir: str | Path, send: SendSettings, options: JobOptions = JobOptions()) -> Summary:
    """Send again the rows of an earlier report that are neither success nor skipped, keeping their `_row`."""
    return asyncio.run(retry_async(Path(report_path), Path(out_dir), send, options))


async def retry_async(report_path: Path, out_dir: Path, send: SendSettings, options: JobOptions) -> Summary:
    # A report's cells mean what they meant to the run that wrote it: an undo's report holds its own clear
    # token, a run's its --clear-token. Read with another, a field to clear would be sent as the token's text.
    options = dataclasses.replace(options, clear_token=retry_clear_token(report_path, options.clear_token))
    job = _job_record("retry", report_path, send, options, out_dir)
    rerun = Rerun.open(report_path, options.read, options.accept_spreadsheet_changes)
    job.retry_of = str(rerun.lineage.folder) if rerun.lineage.folder else None
    # A column the run behind the report sent as --map named it is sent so again (the page's retry gives no map).
    inherited = {name for earlier in rerun.lineage.runs for name in earlier.record.named_columns}
    job.named_columns = sorted(inherited | set(hooks.names_mapped(options.read.map_path)))
    source = _Source("retry", report_path, rerun.sheet.columns, rerun.rows, rerun.sheet.sheet_name, rerun.plan, rerun.sheet.findings)
    # The run that wrote the report: its failed rows go only to its account. A report with no run
    # behind it has nothing to compare (and a dry run sent nothing to any account).
    behind = rerun.lineage.runs[-1] if rerun.lineage.runs else None
    acted_on = (behind.folder, behind.record) if behind is not None and not behind.record.replaceable else None
    return await _run_job(job, source, out_dir, send, options, rerun, acted_on=acted_on)


def undo(run_dir: str | Path, out_dir: str | Path, send: SendSettings, options: JobOptions = JobOptions()) -> Summary:
    """Send back the run_dir/undo.csv of a --backup run, skipping activities changed since (unless `options.force`)."""
    return asyncio.run(undo_async(Path(run_dir), Path(out_dir), send, options))


async def undo_async(run_dir: Path, out_dir: Path, send: SendSettings, options: JobOptions) -> Summary:
    if run_dir.is_file():  # resume names the undo.csv
        run_dir = run_dir.parent
    if not (run_dir / RUN_FILE).is_file():
        raise InputError(f"{run_dir} holds no run (no {RUN_FILE})", hint="Give the --out folder of a run made with --backup.")
    with lock_out_dir(run_dir):  # refused while a command still writes there: its undo.csv is not complete
        found = UndoSource.find(run_dir)
        undone = RunRecord.load(run_dir)
    options = dataclasses.replace(options, clear_token=found.clear_token, read=ReadOptions(), backup=False)
    job = _job_record("undo", found.undo_csv, send, options, out_dir)
    undone = RunRecord.load(run_dir)
    job.named_columns = list(undone.named_columns) if undone is not None else []  # undo.csv has the run's columns
    sheet = open_sheet(found.undo_csv)
    source = _Source("undo", found.undo_csv, sheet.columns, sheet.rows, None)
    return await _run_job(job, source, out_dir, send, options, undo_from=found, acted_on=(run_dir, undone) if undone else None)


def resume(
    out_dir: str | Path, credentials: Credentials, given: Mapping[str, object] | None = None, *, input_path: str | Path | None = None, **not_recorded: Any
) -> Summary:
    """Finish the unfinished run or retry in `out_dir` with the options its run.json recorded.

    `given` overrides options by name (the fields of ReadOptions, JobOptions and SendSettings that
    options.OPTIONS lists, e.g. {"rate": Rate(10, 5)}): a send option is applied and noted in
    summary.json; a read option that differs from the recorded one is refused (InputError).
    `input_path` names the input when it moved (its content must be the same). `not_recorded`
    are the JobOptions fields a run does not record: progress, on_outcome, stop_token, handle_signals.
    """
    return asyncio.run(resume_async(Path(out_dir), credentials, given or {}, input_path=input_path, **not_recorded))


async def resume_async(
    out_dir: Path, credentials: Credentials, given: Mapping[str, object], *, input_path: str | Path | None = None, **not_recorded: Any
) -> Summary:
    earlier = _resumable_record(out_dir)
    values = recorded_options.resolve(earlier.options, given, _defaults())
    send, options = settings_from(values, credentials, **not_recorded)
    if earlier.command == "undo":
        options = dataclasses.replace(options, force=options.force or bool(recorded_options_of_safety(earlier).get("force")))
    start = {"run": run_async, "retry": retry_async, "undo": undo_async}[earlier.command]
    return await start(Path(input_path or earlier.input), out_dir, send, options)


def settings_from(values: Mapping[str, object], credentials: Credentials, **not_recorded: Any) -> tuple[SendSettings, JobOptions]:
    """The settings of a job from option values by name (options.OPTIONS); an option left out takes its default.

    `not_recorded` are the other JobOptions fields (progress, restart, on_outcome, stop_token, handle_signals).
    """
    recorded_here = set(not_recorded) & set(recorded_options.BY_NAME)
    if recorded_here:
        raise ValueError(f"give {', '.join(sorted(recorded_here))} among the option values, not as a keyword")
    values = _defaults() | dict(values)
    if "host" not in values:
        raise InputError("no LeadSquared host is set", hint="Give the host, e.g. https://api-in21.leadsquared.com.")
    read = ReadOptions(**recorded_options.of_holder(values, recorded_options.READING))
    options = JobOptions(read=read, **not_recorded, **recorded_options.of_holder(values, recorded_options.JOB))
    return SendSettings(credentials=credentials, **recorded_options.of_holder(values, recorded_options.SENDING)), options


def recorded_values(out_dir: str | Path) -> dict[str, object]:
    """The option values the run in `out_dir` recorded, by name; empty when it holds none."""
    earlier = RunRecord.load(Path(out_dir))
    return recorded_options.restore(earlier.options) if earlier is not None else {}


def holds_unfinished(out_dir: str | Path, command: str) -> bool:
    """Whether `out_dir` holds an unfinished `command` ("run" or "retry") that `resume` can finish.

    Not one started by an older bulk-updater, which recorded no options: the full command resumes it, as then.
    """
    earlier = RunRecord.load(Path(out_dir))
    return earlier is not None and earlier.state is not RunState.FINISHED and earlier.command == command and recorded_options.complete(earlier.options)


def _resumable_record(out_dir: Path) -> RunRecord:
    earlier = RunRecord.load(out_dir)
    if earlier is None:
        raise InputError(f"{out_dir} holds no run to resume (no {RUN_FILE})", hint="Start one with: bulk-updater run INPUT --out DIR.")
    if earlier.replaceable:
        raise InputError(
            f"{out_dir} holds a dry run of {earlier.input}: nothing was sent, so there is nothing to resume",
            hint=f"Start the run in the same folder (it replaces the dry run's report): bulk-updater run {earlier.input} --out {out_dir}",
        )
    if earlier.state is RunState.FINISHED:
        raise InputError(
            f"{out_dir} holds a finished {earlier.command} of {earlier.input}: nothing is left to resume",
            hint=f"To send its failed rows again: bulk-updater retry {out_dir / FAILED} --out NEW_DIR.",
        )
    if not recorded_options.complete(earlier.options):
        raise InputError(
            f"the run in {out_dir} was started by an older bulk-updater, which did not record its options",
            hint=f"Finish it with the command that started it, with the same options: bulk-updater {earlier.command} {earlier.input} --out {out_dir} ...",
        )
    return earlier


def _defaults() -> dict[str, object]:
    holders = {recorded_options.READING: ReadOptions, recorded_options.JOB: JobOptions, recorded_options.SENDING: SendSettings}
    return recorded_options.defaults_of(holders)


def _job_record(command: str, path: Path, send: SendSettings, options: JobOptions, out_dir: Path) -> RunRecord:
    """The run.json of this job; refused at once when the folder holds a run it must not resume."""
    holders = {recorded_options.READING: options.read, recorded_options.JOB: options, recorded_options.SENDING: send}
    values = {option.name: getattr(holders[option.holder], option.name) for option in recorded_options.OPTIONS}
    map_path = options.read.map_path
    map_sha256 = file_sha256(Path(map_path)) if map_path is not None and Path(map_path).is_file() else None
    job = RunRecord.new(command, path, options=recorded_options.recorded(values, map_sha256))
    record_safety(out_dir, job, options.backup, options.force, options.restart)  # the undo clear token, before the comparison
    # Before the sheet is read: read with other options, it could fail in ways that hide the real problem.
    check_resumable(out_dir, job, options.restart)
    return job


async def _run_job(
    job: RunRecord, source: _Source, out_dir: Path, send: SendSettings, options: JobOptions, rerun: Rerun | None = None,
    undo_from: UndoSource | None = None, acted_on: tuple[Path, RunRecord] | None = None,
) -> Summary:
    """`acted_on`: the run this job acts on (the run undone, or the one whose report is retried), with its folder."""
    limiter = account_limiter(send, _note)  # shared with the account's other jobs, here and in other processes
    counted, identity = await _count_beside_key_check(source, send, limiter, options.clear_token)
    total = counted.total
    job.account = identity.account  # a resume with another account's keys is refused (open_out_dir)
    if acted_on is not None:  # before anything is read or written in the run's account
        folder, record = acted_on
        refuse_another_account(record.account, identity.account, f"the {record.command} in {folder}", options.unverified_account)
    stop: StopOnSignals | None = None
    with _exit_1_once_sent(lambda: stop is not None and stop.runner is not None and stop.runner.stats.calls > 0), lock_out_dir(out_dir):
        if rerun is not None:  # another run's report in a run folder: refused before anything of this run is written
            rerun.check_run(out_dir)
        earlier = open_out_dir(out_dir, job, report_header(source.columns), options.restart, options.unverified_account)
        if earlier.rows:  # a resume: count the rows left
            counted = hooks.count_rows((row for row in source.rows() if row.number not in earlier.rows), options.clear_token)
        field_check = await _before_sending(job, source, counted, identity, send, limiter, options, undo_from, out_dir)
        guard = undo_from.open_guard(out_dir, options.force) if undo_from else None
        log = hooks.open_undo_log(out_dir, source.columns, job.options["record"]["undo_clear_token"]) if options.backup else None
        started = time.monotonic()
        summary = _summary_so_far(source, send, earlier, rerun)
        summary.changed_on_resume = job.changed_on_resume
        session = _Session(out_dir / REPORT, source.columns, summary, Progress(total, options.progress, done=summary.counts), send, options.on_outcome)
        session.watch, session.translate = FailureWatch(options.stop_rule), guard.translate if guard else None
        if earlier.rows or earlier.not_sent_dropped or earlier.damaged_dropped:
            session.progress.note(_resume_note(out_dir, total, earlier))
        if job.changed_on_resume:
            session.progress.note(_changes_note(job.changed_on_resume))
        if rerun is not None:
            _open_history(rerun, out_dir, summary, session.progress.note)
        stop = StopOnSignals(options.stop_wait, session.progress.note, options.stop_token, options.handle_signals)
        sender = hooks.Sender(log, guard)
        if field_check is not None:
            field_check.say_when_answered(session.progress.note)
        try:
            await _send_rows_left(source, earlier, send, options, session, stop, limiter, sender, field_check, counted)
        finally:
            if field_check is not None:
                field_check.reading.cancel()  # still unanswered only after a failure or a stop at once
            session.close()
            if rerun is not None:
                rerun.close()
                summary.edited_cells, summary.edits = rerun.edited_cells, rerun.edits
            sender.close()
            if stop.at_once:
                job.save(out_dir, RunState.STOPPED)
        _finish_summary(summary, stop.runner.stats if stop.runner else RunStats(), stop, started)
        hooks.finish_summary(summary, session.watch, sender)
        hooks.keep_canary_reads(out_dir, sender)
        if not summary.stop_reason and not _one_line_each(total, summary):
            summary.stop_reason = "incomplete"  # a bug: never call it finished; a resume sends the rows left
        write_failed(out_dir / REPORT, out_dir / FAILED)
        summary.write(out_dir / SUMMARY)
        write_workbook_copies(source.sheet_name, out_dir / REPORT, out_dir / FAILED)
        job.save(out_dir, RunState.STOPPED if summary.stop_reason else RunState.FINISHED)
    return summary


async def _count_beside_key_check(source: _Source, send: SendSettings, limiter: WindowLimiter, clear_token: str) -> tuple[hooks.Counted, Identity]:
    """Count the rows while the keys and region are checked.

    The counting pass finds unreadable lines before any update is sent, sizes the progress bar
    and counts what is sent; it runs in a thread beside the key check (which goes through the
    run's limiter, so it counts against the rate limit), so start-up waits for the longer of
    the two, not both. Both come before anything is written: a failure leaves no folder
    behind. A bad sheet is reported before bad keys, as when the two ran in turn.
    """
    counting = asyncio.ensure_future(asyncio.to_thread(hooks.count_rows, source.rows(), clear_token))
    try:
        identity = await preflight(send, limiter)
    except Exception:  # (a Ctrl-C or a cancel is not held up here)
        await asyncio.wait([counting])
        if not counting.cancelled() and (problem := counting.exception()) is not None:
            raise problem from None
        raise
    return await counting, identity


async def _before_sending(
    job: RunRecord, source: _Source, counted: hooks.Counted, identity, send: SendSettings, limiter: WindowLimiter,
    options: JobOptions, undo_from: UndoSource | None, out_dir: Path,
) -> hooks.FieldCheck | None:
    """The field check and the line (and question) before the first update; a no, or a column refused, leaves no new run behind."""
    calls_per_row = 2 if options.backup or (undo_from and not options.force) else 1
    # undo sends the columns the run sent: warned about then; only a case clash is refused
    check = hooks.ColumnCheck(
        source.columns, frozenset(job.named_columns), str(source.path), FIX_IN_UNDO if undo_from else FIX_IN_SHEET, warn_unknown=not undo_from
    )
    utc_datetimes = source.findings.utc_datetimes if source.findings else 0
    token = options.stop_token
    try:
        check_reads = reads_needed(options.canary, options.backup)
        return await hooks.before_sending(
            check, counted, calls_per_row, identity, send, limiter, options.confirm, _note, options.confirm_asks,
            stopped=lambda: token is not None and token.requested, utc_datetimes=utc_datetimes, check_reads=check_reads,
        )
    except (Declined, InputError):
        if job.sessions == 1:
            files.remove(out_dir / RUN_FILE)
        raise


def _note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class _Session:
    """Where each outcome of this session goes: the report, the summary and the progress bar."""

    def __init__(
        self, report: Path, columns: list[str], summary: Summary, progress: Progress, send: SendSettings, on_outcome: Callable[[RowOutcome], None] | None
    ) -> None:
        self.summary, self.progress, self._credentials, self._on_outcome = summary, progress, send.credentials, on_outcome
        self.out_dir = report.parent
        self.writer = ReportWriter(report, columns)
        self.watch: FailureWatch | None = None  # stop on systematic failure
        self.translate: Callable[[RowOutcome], RowOutcome] | None = None  # undo: held-back rows are skipped
        self.runner: Runner | None = None

    def record(self, result: RowOutcome) -> None:
        if self.translate is not None:
            result = self.translate(result)
        # The last gate before the report and summary.json: no error text may carry a key.
        if not result.error_message and (left_out := result.row.meta.get(SENT_WITHOUT)):
            result = dataclasses.replace(result, error_message=left_out)  # retry: the fields later rows had set
        message = self._credentials.redact(result.error_message)
        if message != result.error_message:
            result = dataclasses.replace(result, error_message=message)
        self.writer.write(result)
        self.summary.add(result)
        self.progress.add(result)
        if self._on_outcome is not None:
            self._on_outcome(result)
        if self.watch is not None and self.watch.observe(result) and self.runner is not None:
            self.runner.stop()  # the rows left are recorded not_sent

    def close(self) -> None:
        self.progress.close()
        self.writer.close()


async def _send_rows_left(
    source: _Source, earlier: Recorded, send: SendSettings, options: JobOptions, session: _Session, stop: StopOnSignals, limiter: WindowLimiter,
    sender: hooks.Sender, field_check: hooks.FieldCheck | None, counted: hooks.Counted,
) -> None:
    """Send the rows without an outcome until done or stopped; after a stop, every row still gets its line."""
    pending = _canary_row_first(source, earlier, counted.clearing) if options.canary else _rows_left(source, earlier)

    async def sending() -> None:
        await _send_all(source, pending, send, options, session, stop, limiter, sender)
        if field_check is not None:  # within the stop window: a second Ctrl-C cuts its wait short too
            await field_check.finish(stopped=lambda: stop.signal is not None)

    await stop.run(sending())
    if stop.at_once:
        raise _stopped_at_once(stop, session.out_dir)


async def _send_all(
    source: _Source, pending: Iterator[Row], send: SendSettings, options: JobOptions, recorder: _Session, stop: StopOnSignals, limiter: WindowLimiter,
    sender: hooks.Sender,
) -> Runner:
    async with open_session(send.concurrency) as session:
        client = LeadSquaredClient(session, send.host, send.credentials, send.timeout)
        each = sender.send(client, lambda: runner.acquire_call())
        canary = sender.canary = Canary(each, client, limiter, send.max_attempts) if options.canary else None
        if canary is not None and sender.backup is not None:
            sender.backup.read_before = canary.before  # the canary's read before serves as the snapshot's: 2 reads, not 3
            canary.send_reads = True
        runner = Runner(
            canary or each,
            limiter,
            recorder.record,
            concurrency=send.concurrency,
            retry=RetryPolicy(max_attempts=send.max_attempts, throttle_timeout=send.throttle_timeout),
            max_calls=options.max_calls,
        )
        stop.attach(runner)
        recorder.runner = runner
        planned = (source.plan(row, options.clear_token) for row in pending)
        if canary is not None:
            await canary.send_alone(runner, planned)
        await runner.run(planned)
    return runner


def _rows_left(source: _Source, earlier: Recorded) -> Iterator[Row]:
    return (row for row in source.rows() if row.number not in earlier.rows)


def _canary_row_first(source: _Source, earlier: Recorded, clearing: int | None) -> Iterator[Row]:
    """The rows left, with the row chosen to check a clear first (hooks.Counted.clearing): no earlier row names its activity."""
    if clearing is not None:
        yield from (row for row in source.rows() if row.number == clearing)
    yield from (row for row in _rows_left(source, earlier) if row.number != clearing)




def _open_history(rerun: Rerun, out_dir: Path, summary: Summary, note: Callable[[str], None]) -> None:
    """Index the runs behind the retried report; say once what could not be checked, and why."""
    for warning in rerun.lineage.warnings:
        note(f"Warning: {warning}")
    summary.warnings += rerun.lineage.warnings
    rerun.prepare(out_dir)


def _summary_so_far(source: _Source, send: SendSettings, earlier: Recorded, rerun: Rerun | None) -> Summary:
    """A summary that starts from the outcomes earlier sessions of this run recorded."""
    summary = Summary(input=str(source.path), rate=str(send.rate), resumed=len(earlier.rows), passed_over=rerun.passed_over if rerun else 0)
    for (outcome, error_type, message), rows in earlier.outcomes.items():
        summary.count(outcome, error_type, message, rows=rows)
    return summary


def _finish_summary(summary: Summary, stats: RunStats, stop: StopOnSignals, started: float) -> None:
    summary.calls, summary.calls_throttled = stats.calls, stats.throttled
    # A 401 first: it needs the admin to act before anything else.
    summary.stop_reason = (
        "unauthorized" if stats.unauthorized
        else stop.stop_reason or ("throttled" if stats.throttled_out else "max_calls" if stats.stopped_by_max_calls else "")
    )
    summary.elapsed_seconds = time.monotonic() - started


def _one_line_each(total: int, summary: Summary) -> bool:
    """Every row read has a report line: as many lines as rows. (The runner gives each row one
    outcome, and recovery drops a repeated line, so a count that matches means one line each.)"""
    return summary.rows == total


@contextlib.contextmanager
def _exit_1_once_sent(sent: Callable[[], bool]) -> Iterator[None]:
    """A folder error (disk full, a planted symlink) after rows were sent: exit 1, the run did part of its work."""
    try:
        yield
    except FolderError as exc:
        if sent():
            exc.exit_code = FolderError.SOME_SENT_EXIT_CODE
        raise


def _stopped_at_once(stop: StopOnSignals, out_dir: Path) -> StoppedAtOnce:
    assert stop.signal is not None
    return StoppedAtOnce(
        f"stopped at once by a second {CAUSE_NAMES[stop.signal]}. The report holds every row that finished; "
        f"the rows in flight are sent again when you resume the run (bulk-updater resume {out_dir}), which finishes the job.",
        stop.signal,
    )


def _changes_note(changes: dict[str, list]) -> str:
    changed = ", ".join(f"{recorded_options.BY_NAME[name].flag} {now} (was {then})" for name, (then, now) in changes.items())
    return f"Resuming with {changed}."


def _resume_note(out_dir: Path, total: int, earlier: Recorded) -> str:
    note = f"Resuming the run in {out_dir}: {len(earlier.rows):,} of {total:,} rows already have an outcome"
    if earlier.not_sent_dropped:
        note += f"; {earlier.not_sent_dropped:,} rows not sent before are sent now"
    if earlier.damaged_dropped:
        note += f"; {earlier.damaged_dropped:,} torn or damaged report lines were dropped (those rows are sent again)"
    return note + "."
