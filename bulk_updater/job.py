"""The library entry points: one sheet (or an earlier report) in, one report folder out.

    file -> rows -> updates -> calls -> outcomes -> report
    (rows)  (requests) (calls)  (outcomes)  (report)

`run` sends a sheet; `retry` sends again the rows of an earlier report that need it. Both
resume the unfinished run their folder holds (see rundir/folder.py), and stop cleanly on
Ctrl-C or SIGTERM (see stopping.py). `resume` finishes the unfinished run or retry of a
folder with the options it recorded in run.json (see options.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import time
from collections.abc import Callable, Coroutine, Iterator, Mapping
from dataclasses import InitVar, dataclass
from pathlib import Path
from typing import Any

from . import files, notes
from . import options as recorded_options
from .account import refuse_another_account
from .application.ending import finished_hint
from .calls import LeadSquaredClient, RetryPolicy, account_limiter, open_session
from .credentials import Credentials
from .errors import Declined, FolderError, InputError, StoppedAtOnce
from .history.rerun import SENT_WITHOUT, Rerun
from .options import STOP_WAIT, RunOptions
from .outcomes import RowOutcome, Runner, RunStats, second_call
from .preflight import Identity, preflight
from .report import ReportWriter, Summary, write_failed
from .report.excel import write_workbook_copies
from .report.progress import Progress
from .report.tally import Tally, TimeLeft
from .report.writer import report_header
from .rows import ReadOptions, Row, open_sheet
from .rows.reader import ReadFindings
from .rows.records import is_records, spool_records
from .rundir.folder import FAILED, REPORT, SUMMARY, check_resumable, lock_out_dir, open_out_dir
from .rundir.recovery import Recorded
from .rundir.retries import refuse_second_retry
from .rundir.run_record import RUN_FILE, RunRecord, RunState, file_sha256, recorded_values
from .safety.activity import Activity
from .safety.backup import UndoLog
from .safety.canary import Canary
from .safety.confirm import FIX_IN_SHEET, FIX_IN_UNDO, SendPlan, about_to_update, reads_first, timezone_warning, zone_to_warn_of
from .safety.failing import FailureWatch, StopRule
from .safety.field_check import ColumnCheck, FieldCheck, names_mapped, say_warnings
from .safety.recorded_extras import record_safety
from .safety.recorded_extras import recorded_safety as recorded_options_of_safety
from .safety.send_steps import SendSteps, add_to_summary, keep_canary_reads, stop_causes, update_step
from .safety.undo import UndoGuard, UndoSource, retry_clear_token
from .settings import SendSettings
from .stop_reason import StopReason
from .stopping import CAUSE_NAMES, StopOnSignals, StopToken
from .updates import Plan, activity_to_update, plan_row
from .updates.counting import Counted, count_rows
from .wording import counted as counted_noun

__all__ = ["FAILED", "REPORT", "STOP_WAIT", "SUMMARY", "Hooks", "Job", "JobOptions", "RunOptions", "holds_unfinished", "recorded_values", "resume", "retry", "run", "settings_from", "undo"]


@dataclass(frozen=True)
class Hooks:
    """How the caller follows and steers a job. Never recorded: each command gives its own."""

    progress: bool = False  # a progress bar on stderr (drawn only on a terminal); the CLI asks for it
    # Called with each row's outcome once it is in the report (the progress bar is another listener).
    on_outcome: Callable[[RowOutcome], None] | None = None
    # Called with each thing the job tells a person: a resume, a warning ("Warning: ..."), a stop on its way.
    # None: the library says nothing (notes.py); the CLI prints them on stderr, the page shows them.
    on_note: Callable[[str], None] | None = None
    # The job's counts as it goes (report/tally.py), for a caller that shows them from another thread (the page).
    tally: Tally | None = None
    # Set by the caller, from any thread, to stop the job as a first (then second) Ctrl-C would.
    stop_token: StopToken | None = None
    # Stop cleanly on Ctrl-C and SIGTERM. Off for a library: the process's signals are its owner's (the CLI sets it).
    handle_signals: bool = False
    # Shown "About to update N rows ... in ORG as USER" before the first update; False
    # sends nothing. None: no line, no field check (so no case-clash refusal either), no question (a
    # library caller that decided already; the web page passes one that says yes, for the field check).
    confirm: Callable[[str], bool] | None = None
    # False when `confirm` never asks anyone (--yes, no terminal): then the field check's one read goes out
    # with the first updates instead of before them, and its warnings follow the line; but only when it
    # can refuse nothing (every field column named by --map): a column whose case may clash waits for it.
    confirm_asks: bool = True


@dataclass(frozen=True)
class JobOptions(RunOptions):
    """The options of one job: what run.json records (RunOptions: each field's metadata names its class
    and flag), this command's own choices, which no run records, and the caller's `hooks`.

    The hooks may also be given by name, as before: JobOptions(progress=False) is JobOptions(hooks=Hooks(progress=False)).
    """

    restart: bool = False  # start over in a folder that holds another run, instead of refusing
    # undo: restore even the activities changed since the run (safety/recorded_extras.py keeps it in the undo's run.json for its resume).
    force: bool = False
    # Given again each time (as --yes): act on an existing run (resume, retry of its report, undo) even
    # when no identity of the keys' account can be compared with the run's (account.py). A disagreement
    # is refused whatever this says.
    unverified_account: bool = False
    hooks: Hooks = Hooks()
    # Hooks' fields by their own names (read them from `hooks`: these attributes stay None).
    progress: InitVar[bool | None] = None
    on_outcome: InitVar[Callable[[RowOutcome], None] | None] = None
    on_note: InitVar[Callable[[str], None] | None] = None
    tally: InitVar[Tally | None] = None
    stop_token: InitVar[StopToken | None] = None
    handle_signals: InitVar[bool | None] = None
    confirm: InitVar[Callable[[str], bool] | None] = None
    confirm_asks: InitVar[bool | None] = None

    def __post_init__(
        self, progress: bool | None, on_outcome: Callable[[RowOutcome], None] | None, on_note: Callable[[str], None] | None, tally: Tally | None,
        stop_token: StopToken | None, handle_signals: bool | None, confirm: Callable[[str], bool] | None, confirm_asks: bool | None,
    ) -> None:
        super().__post_init__()
        by_name: dict[str, Any] = dict(
            progress=progress, on_outcome=on_outcome, on_note=on_note, tally=tally, stop_token=stop_token, handle_signals=handle_signals, confirm=confirm,
            confirm_asks=confirm_asks,
        )
        given = {name: value for name, value in by_name.items() if value is not None}
        if given:
            object.__setattr__(self, "hooks", dataclasses.replace(self.hooks, **given))


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
    # What the counting pass plans each row with; None: the sheet's cells, as plan_row reads them (undo: its record)
    counted_plan: Callable[[Row, str], Plan] | None = None


Entry = Callable[[Any, Path, SendSettings, "JobOptions"], Coroutine[Any, Any, Summary]]


def _telling_its_caller(entry: Entry) -> Entry:
    """The job's warnings that rise in the readers or the run folder go to its caller's on_note (notes.py), not to stderr."""

    @functools.wraps(entry)
    async def told(source: Any, out_dir: Path, send: SendSettings, options: JobOptions) -> Summary:
        with notes.telling(options.hooks.on_note):
            return await entry(source, out_dir, send, options)

    return told


def run(edits: str | Path | Any, out_dir: str | Path, send: SendSettings, options: JobOptions = JobOptions()) -> Summary:
    """Apply every row of `edits`; write report.csv, failed.csv, their copies report.xlsx and
    failed.xlsx, and summary.json in `out_dir`.

    `edits` is a sheet's path, or the edits themselves: a pandas DataFrame or a list of dicts,
    spooled first to a CSV in `out_dir` so the run resumes like any other.
    """
    return asyncio.run(run_async(edits, Path(out_dir), send, options))


@_telling_its_caller
async def run_async(edits: str | Path | Any, out_dir: Path, send: SendSettings, options: JobOptions) -> Summary:
    if is_records(edits):
        input_path = spool_records(edits, out_dir, options.read.timezone)
        # The spooled cells are text already, date-times in UTC: nothing is left to shift.
        options = dataclasses.replace(options, read=dataclasses.replace(options.read, timezone=None))
    else:
        input_path = Path(edits)
    record = _new_record("run", input_path, send, options, out_dir)
    record.named_columns = names_mapped(options.read.map_path)
    sheet = open_sheet(input_path, options.read)
    source = _Source("run", input_path, sheet.columns, sheet.rows, sheet.sheet_name, findings=sheet.findings)
    return await Job(record, source, out_dir, send, options).run()


def retry(report_path: str | Path, out_dir: str | Path, send: SendSettings, options: JobOptions = JobOptions()) -> Summary:
    """Send again the rows of an earlier report that are neither success nor skipped, keeping their `_row`."""
    return asyncio.run(retry_async(Path(report_path), Path(out_dir), send, options))


@_telling_its_caller
async def retry_async(report_path: Path, out_dir: Path, send: SendSettings, options: JobOptions) -> Summary:
    # A report's cells mean what they meant to the run that wrote it: an undo's report holds its own clear
    # token, a run's its --clear-token. Read with another, a field to clear would be sent as the token's text.
    options = dataclasses.replace(options, clear_token=retry_clear_token(report_path, options.clear_token))
    record = _new_record("retry", report_path, send, options, out_dir)
    rerun = Rerun.open(report_path, options.read, options.accept_spreadsheet_changes)
    if rerun.lineage.folder is not None:  # before the keys are checked: a run another retry took over is refused at once
        refuse_second_retry(rerun.lineage.folder, out_dir)
    record.retry_of = str(rerun.lineage.folder) if rerun.lineage.folder else None
    # A column the run behind the report sent as --map named it is sent so again (the page's retry gives no map).
    inherited = {name for earlier in rerun.lineage.runs for name in earlier.record.named_columns}
    record.named_columns = sorted(inherited | set(names_mapped(options.read.map_path)))
    # Counted as it is sent: a row the damage check makes invalid, or superseded, is not "about to update".
    counted_plan = lambda row, token: rerun.plan(row, token, noting=False)[1]  # noqa: E731
    source = _Source("retry", report_path, rerun.sheet.columns, rerun.rows, rerun.sheet.sheet_name, rerun.plan, rerun.sheet.findings, counted_plan)
    # The run that wrote the report: its failed rows go only to its account. A report with no run
    # behind it has nothing to compare (and a dry run sent nothing to any account).
    behind = rerun.lineage.runs[-1] if rerun.lineage.runs else None
    acted_on = (behind.folder, behind.record) if behind is not None and not behind.record.replaceable else None
    return await Job(record, source, out_dir, send, options, rerun, acted_on=acted_on).run()


def undo(run_dir: str | Path, out_dir: str | Path, send: SendSettings, options: JobOptions = JobOptions()) -> Summary:
    """Send back the old values a --backup run kept (run_dir's backup record), skipping activities changed since (unless `options.force`)."""
    return asyncio.run(undo_async(Path(run_dir), Path(out_dir), send, options))


@_telling_its_caller
async def undo_async(run_dir: Path, out_dir: Path, send: SendSettings, options: JobOptions) -> Summary:
    if run_dir.is_file():  # resume names the file the undo read (the backup's record, or an older version's undo.csv)
        run_dir = run_dir.parent
    if not (run_dir / RUN_FILE).is_file():
        raise InputError(f"{run_dir} holds no run (no {RUN_FILE})", hint="Give the --out folder of a run made with --backup.")
    with lock_out_dir(run_dir):  # refused while a command still writes there: its backup is not complete
        found = UndoSource.find(run_dir)
        found.check()  # the whole record read (a damaged line refused) and undo.csv compared with it, before anything is sent
        undone = RunRecord.load(run_dir)
    options = dataclasses.replace(options, clear_token=found.clear_token, read=ReadOptions(), backup=False)
    # What is sent is the backup's record (undo.csv only in a folder an older version wrote without one).
    record = _new_record("undo", found.input_path, send, options, out_dir)
    record.named_columns = list(undone.named_columns) if undone is not None else []  # undo.csv has the run's columns
    source = _Source("undo", found.input_path, found.columns, found.rows, None, found.plan, counted_plan=found.planned)
    return await Job(record, source, out_dir, send, options, undo_from=found, acted_on=(run_dir, undone) if undone else None).run()


def resume(
    out_dir: str | Path, credentials: Credentials, given: Mapping[str, object] | None = None, *, input_path: str | Path | None = None, **not_recorded: Any
) -> Summary:
    """Finish the unfinished run or retry in `out_dir` with the options its run.json recorded.

    `given` overrides options by name (the fields of ReadOptions, RunOptions and SendSettings that
    options.OPTIONS lists, e.g. {"rate": Rate(10, 5)}): a send option is applied and noted in
    summary.json; a read option that differs from the recorded one is refused (InputError).
    `input_path` names the input when it moved (its content must be the same). `not_recorded`
    are the JobOptions fields a run does not record: `hooks` (or its fields by name), force, unverified_account.
    """
    return asyncio.run(resume_async(Path(out_dir), credentials, given or {}, input_path=input_path, **not_recorded))


async def resume_async(
    out_dir: Path, credentials: Credentials, given: Mapping[str, object], *, input_path: str | Path | None = None, **not_recorded: Any
) -> Summary:
    earlier = _resumable_record(out_dir)
    values = recorded_options.resolve(earlier.options, given)
    send, options = settings_from(values, credentials, **not_recorded)
    if earlier.command == "undo":
        options = dataclasses.replace(options, force=options.force or bool(recorded_options_of_safety(earlier).get("force")))
    start = {"run": run_async, "retry": retry_async, "undo": undo_async}[earlier.command]
    return await start(Path(input_path or earlier.input), out_dir, send, options)


def settings_from(values: Mapping[str, object], credentials: Credentials, **not_recorded: Any) -> tuple[SendSettings, JobOptions]:
    """The settings of a job from option values by name (options.OPTIONS); an option left out takes its default.

    `not_recorded` are the other JobOptions fields (restart, force, unverified_account, `hooks` or its fields by name).
    """
    recorded_here = set(not_recorded) & set(recorded_options.BY_NAME)
    if recorded_here:
        raise ValueError(f"give {', '.join(sorted(recorded_here))} among the option values, not as a keyword")
    values = recorded_options.with_defaults(values)
    read = ReadOptions(**recorded_options.of_holder(values, ReadOptions))
    options = JobOptions(read=read, **not_recorded, **recorded_options.of_holder(values, RunOptions))
    return recorded_options.send_settings(values, credentials), options


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
            hint=finished_hint(out_dir, earlier),
        )
    if not recorded_options.complete(earlier.options):
        raise InputError(
            f"the run in {out_dir} was started by an older bulk-updater, which did not record its options",
            hint=f"Finish it with the command that started it, with the same options: bulk-updater {earlier.command} {earlier.input} --out {out_dir} ...",
        )
    return earlier


def _new_record(command: str, path: Path, send: SendSettings, options: JobOptions, out_dir: Path) -> RunRecord:
    """The run.json of this job; refused at once when the folder holds a run it must not resume."""
    values = recorded_options.values_of(options.read, options, send)
    map_path = options.read.map_path
    map_sha256 = file_sha256(Path(map_path)) if map_path is not None and Path(map_path).is_file() else None
    record = RunRecord.new(command, path, options=recorded_options.recorded(values, map_sha256))
    record_safety(out_dir, record, options.backup, options.force, options.restart)  # the undo clear token, before the comparison
    # Before the sheet is read: read with other options, it could fail in ways that hide the real problem.
    check_resumable(out_dir, record, options.restart, finished_hint)
    return record


@dataclass(frozen=True)
class Prepared:
    """What the prepare step found: the rows counted, and whose keys they are."""

    counted: Counted
    identity: Identity


@dataclass(frozen=True)
class Confirmed:
    """What the confirm step leaves for sending: the folder's earlier outcomes, the rows left, and the field check still out."""

    earlier: Recorded
    total: int  # every row read, done before or not
    left: Counted  # the rows without an outcome (all of them, unless a resume)
    field_check: FieldCheck | None  # going out with the first updates; None when answered (or not made)


@dataclass(frozen=True)
class Sent:
    """What the send step did: the summary so far, and what stopped it, if anything."""

    summary: Summary
    total: int  # every row read: as many report lines, or the run is not finished
    watch: FailureWatch
    stop: StopOnSignals
    steps: SendSteps
    started: float


class Job:
    """One run, retry or undo into `out_dir`, in four steps (docs/design.md, "The pipeline, and a job's steps"):

        prepare  count the rows beside the key check; refuse another account's keys (nothing written yet)
        confirm  open the folder (a resume counts the rows left), the field check, the line before sending
        send     the rows without an outcome, until done or stopped
        finish   the summary, failed.csv, the workbook copies, run.json's state

    Built once with what every step shares; each step hands the next what it found.
    `acted_on`: the run this job acts on (the run undone, or the one whose report is retried), with its folder.
    """

    def __init__(
        self, record: RunRecord, source: _Source, out_dir: Path, send: SendSettings, options: JobOptions, rerun: Rerun | None = None,
        undo_from: UndoSource | None = None, acted_on: tuple[Path, RunRecord] | None = None,
    ) -> None:
        self.record, self.source, self.out_dir, self.settings, self.options = record, source, out_dir, send, options
        self.rerun, self.undo_from, self.acted_on = rerun, undo_from, acted_on
        self.hooks = options.hooks
        self.limiter = account_limiter(send, self.note)  # shared with the account's other jobs, here and in other processes
        self.stats = RunStats()  # this session's calls: the runner's, and the send steps' second calls
        self.tally = self.hooks.tally if self.hooks.tally is not None else Tally()  # its counts as it goes

    def note(self, text: str) -> None:
        """Tell the person running the job something (a warning, a resume, a stop): the caller's on_note, if any."""
        if self.hooks.on_note is not None:
            self.hooks.on_note(text)

    async def run(self) -> Summary:
        prepared = await self.prepare()
        with _exit_1_once_sent(lambda: self.stats.calls > 0), lock_out_dir(self.out_dir):
            confirmed = await self.confirm(prepared)
            sent = await self.send(confirmed)
            return self.finish(sent)

    # --- prepare ------------------------------------------------------------------------

    async def prepare(self) -> Prepared:
        """Count the rows while the keys and region are checked; refuse keys of another account than the run acted on."""
        counted, identity = await self._count_beside_key_check()
        self.record.account = identity.account  # a resume with another account's keys is refused (open_out_dir)
        if self.acted_on is not None:  # before anything is read or written in the run's account
            folder, acted_on = self.acted_on
            refuse_another_account(acted_on.account, identity.account, f"the {acted_on.command} in {folder}", self.options.unverified_account)
        return Prepared(counted, identity)

    async def _count_beside_key_check(self) -> tuple[Counted, Identity]:
        """Count the rows while the keys and region are checked.

        The counting pass finds unreadable lines before any update is sent, sizes the progress bar
        and counts what is sent; it runs in a thread beside the key check (which goes through the
        run's limiter, so it counts against the rate limit), so start-up waits for the longer of
        the two, not both. Both come before anything is written: a failure leaves no folder
        behind. A bad sheet is reported before bad keys, as when the two ran in turn.
        """
        source = self.source
        counting = asyncio.ensure_future(asyncio.to_thread(count_rows, source.rows(), self.options.clear_token, source.counted_plan))
        try:
            identity = await preflight(self.settings, self.limiter)
        except Exception:  # (a Ctrl-C or a cancel is not held up here)
            await asyncio.wait([counting])
            if not counting.cancelled() and (problem := counting.exception()) is not None:
                raise problem from None
            raise
        return await counting, identity

    # --- confirm ------------------------------------------------------------------------

    async def confirm(self, prepared: Prepared) -> Confirmed:
        """Open the folder for this session, then the field check and the line (and question) before the
        first update; a no, or a column refused, leaves no new run behind."""
        if self.rerun is not None:  # another run's report in a run folder: refused before anything of this run is written
            self.rerun.check_run(self.out_dir)
        options = self.options
        earlier = open_out_dir(self.out_dir, self.record, report_header(self.source.columns), options.restart, options.unverified_account, finished_hint)
        left = prepared.counted
        # A retry with runs behind it: their history, so a row the damage check makes invalid (or superseded) is not counted as sent.
        history = self.rerun is not None and bool(self.rerun.lineage.runs)
        if history:
            assert self.rerun is not None
            self.rerun.prepare(self.out_dir)
        if earlier.rows or history:  # a resume: count the rows left
            left = count_rows(_rows_left(self.source, earlier), options.clear_token, self.source.counted_plan)
        self._say_resumed(earlier, prepared.counted.total)  # before the question: what a yes carries on with
        try:
            field_check = await self._check_and_ask(left, prepared.identity)
            if self.rerun is not None and left.to_send:  # right before the first update: a retry refused before it records nothing
                self.rerun.record_retry(self.out_dir)
        except (Declined, InputError):
            if self.rerun is not None:
                self.rerun.close()
            if self.record.sessions == 1:
                files.remove(self.out_dir / RUN_FILE)
            raise
        return Confirmed(earlier, prepared.counted.total, left, field_check)

    def _say_resumed(self, earlier: Recorded, total: int) -> None:
        """A resume: what it carries on from, and what it changed."""
        if earlier.rows or earlier.not_sent_dropped or earlier.damaged_dropped:
            self.note(_resume_note(self.out_dir, total, earlier))
        if self.record.changed_on_resume:
            self.note(_changes_note(self.record.changed_on_resume))

    async def _check_and_ask(self, counted: Counted, identity: Identity) -> FieldCheck | None:
        """Check the columns against the first activity (refuse a case clash, warn about unknown
        columns), then say what is about to change and ask. Raises InputError for a clash.

        The field check's read answers before anything is sent whenever it can refuse (a field
        column --map did not name: its case may clash), and when someone is asked (the warnings come
        before the question). Only when it can do neither (every field column named, nobody asked)
        does the read go out with the first updates: the FieldCheck returned says its warnings when
        it answers. A stop (the caller's stop token) during the read ends the wait: the read is
        dropped and nothing is asked; the job then stops before sending anything.

        Date-time cells that go as UTC (a workbook read without --timezone) while the keys' user
        is in another zone: a warning names it and the flag, and so does the line.
        """
        confirm, undo_from, options = self.hooks.confirm, self.undo_from, self.options
        if confirm is not None and counted.total and not counted.to_send:
            self.note(f"Nothing to update: none of the {counted_noun(counted.total, 'row')} would be sent (invalid, or nothing to change); the report says why.")
        if confirm is None or not counted.to_send:
            return None  # no line, no field check (so no case-clash refusal either), no question
        # undo sends the columns the run sent: warned about then; only a case clash is refused
        check = ColumnCheck(
            self.source.columns, frozenset(self.record.named_columns), str(self.source.path), FIX_IN_UNDO if undo_from else FIX_IN_SHEET,
            warn_unknown=not undo_from,
        )
        reading = FieldCheck.start(check, counted.first, self.settings, self.limiter)
        utc_datetimes = self.source.findings.utc_datetimes if self.source.findings else 0
        zone = zone_to_warn_of(identity.time_zone, utc_datetimes)
        if zone:
            say_warnings([timezone_warning(zone, utc_datetimes)], self.note)
        answered_first = self.hooks.confirm_asks or check.may_refuse
        if answered_first:
            if not await reading.answered(self._stop_requested):
                return None
            say_warnings(reading.reading.result(), self.note)  # or raises the refusal
        each_read_first = reads_first(options.backup, undo=undo_from is not None, force=options.force)
        plan = SendPlan.of(counted.to_send, counted.activities, reads_first=each_read_first, canary=options.canary, datetimes_not_in=zone)
        if not confirm(about_to_update(plan, identity.org, identity.user, self.settings.host, self.settings.rate)):
            reading.reading.cancel()
            raise Declined("Nothing was sent.")
        return None if answered_first else reading

    def _stop_requested(self) -> bool:
        token = self.hooks.stop_token
        return token is not None and token.requested

    # --- send ---------------------------------------------------------------------------

    async def send(self, confirmed: Confirmed) -> Sent:
        """Send the rows without an outcome until done or stopped; after a stop, every row still gets its line."""
        out_dir, options = self.out_dir, self.options
        guard = self.undo_from.open_guard(out_dir, options.force) if self.undo_from else None
        log = UndoLog(out_dir, self.source.columns, self.record.options["record"]["undo_clear_token"]) if options.backup else None
        started = time.monotonic()
        summary = self._summary_so_far(confirmed.earlier)
        summary.changed_on_resume = self.record.changed_on_resume
        # The ETA the bar and the page show: the limiter's pace, the calls per row, the rows left to send.
        calls_per_row = 2 if reads_first(options.backup, undo=self.undo_from is not None, force=options.force) else 1
        time_left = TimeLeft(self.limiter.pace, confirmed.left.to_send, calls_per_row, options.max_calls)
        self.tally.begin(confirmed.total, summary, time_left)
        stopping = asyncio.Event()  # set by every stop: the runner's own causes, a signal, the stop token, the failure watch
        progress = Progress(confirmed.total, self.hooks.progress, done=summary.counts, time_left=time_left)
        recorder = Recorder(
            out_dir / REPORT, self.source.columns, self.tally, progress, self.settings.credentials,
            self.hooks.on_outcome, FailureWatch(StopRule(enabled=not options.keep_going, streak=options.stop_after_failures)), UndoGuard.translate if guard else None, stopping.set,
        )
        self._say_what_goes_on(confirmed, summary)
        try:
            stop, steps = await self._send_all(confirmed, recorder, guard, log, stopping)
        finally:
            if confirmed.field_check is not None:
                confirmed.field_check.reading.cancel()  # still unanswered only after a failure or a stop at once
            recorder.close()
            if self.rerun is not None:
                self.rerun.close()
                summary.edited_cells, summary.edits = self.rerun.edited_cells, self.rerun.edits
            for part in (log, guard):
                if part is not None:
                    part.close()
        if stop.at_once:
            self.record.save(out_dir, RunState.STOPPED)
            raise _stopped_at_once(stop, out_dir)
        return Sent(summary, confirmed.total, recorder.watch, stop, steps, started)

    def _say_what_goes_on(self, confirmed: Confirmed, summary: Summary) -> None:
        """Before sending: the warnings the job's sources gave (what a resume carries on from: `_say_resumed`)."""
        if self.rerun is not None:
            _open_history(self.rerun, self.out_dir, summary, self.note)
        if self.undo_from is not None:
            _say_warnings(self.undo_from.warnings, summary, self.note)  # undo.csv changed since the run, a torn line...

    async def _send_all(
        self, confirmed: Confirmed, recorder: Recorder, guard: UndoGuard | None, log: UndoLog | None, stopping: asyncio.Event
    ) -> tuple[StopOnSignals, SendSteps]:
        send, options, source, earlier = self.settings, self.options, self.source, confirmed.earlier
        pending = _canary_row_first(source, earlier, confirmed.left.clearing, options.clear_token) if options.canary else _rows_left(source, earlier)
        async with open_session(send.concurrency) as http:
            client = LeadSquaredClient(http, send.host, send.credentials, send.timeout)
            # The canary's read before serves as the snapshot's (2 reads, not 3) and as undo's "changed since the run" check's.
            read_before: dict[str, Activity] = {}
            each, backup = update_step(client, second_call(self.limiter, self.stats), log, guard, read_before)
            retry = RetryPolicy.of(send)  # one policy for the updates and the canary's reads
            canary = (
                Canary(
                    each, client, self.limiter, retry, before=read_before, send_reads=backup is not None,
                    needs_clear=confirmed.left.clears, leaves_note=confirmed.left.leaves_note,
                )
                if options.canary else None
            )
            steps = SendSteps(canary or each, backup, canary)
            runner = Runner(
                steps.send,
                self.limiter,
                recorder.record,
                concurrency=send.concurrency,
                retry=retry,
                max_calls=options.max_calls,
                stats=self.stats,
                stopping=stopping,
            )
            stop = StopOnSignals(options.stop_wait, self.note, self.hooks.stop_token, self.hooks.handle_signals, runner=runner)
            field_check = confirmed.field_check
            if field_check is not None:
                field_check.say_when_answered(self.note)

            async def sending() -> None:
                planned = (source.plan(row, options.clear_token) for row in pending)
                if canary is not None:
                    await canary.send_alone(runner, planned)
                await runner.run(planned)
                if field_check is not None:  # within the stop window: a second Ctrl-C cuts its wait short too
                    await field_check.finish(stopped=lambda: stop.signal is not None)

            await stop.run(sending())
        return stop, steps

    def _summary_so_far(self, earlier: Recorded) -> Summary:
        """A summary that starts from the outcomes earlier sessions of this run recorded."""
        passed_over = self.rerun.passed_over if self.rerun else 0
        summary = Summary(input=str(self.source.path), rate=str(self.settings.rate), resumed=len(earlier.rows), passed_over=passed_over)
        for (outcome, error_type, message), rows in earlier.outcomes.items():
            summary.count(outcome, error_type, message, rows=rows)
        return summary

    # --- finish -------------------------------------------------------------------------

    def finish(self, sent: Sent) -> Summary:
        """The summary's last numbers and stop reason; failed.csv, summary.json, the workbook copies, run.json's state."""
        summary, out_dir = sent.summary, self.out_dir
        summary.calls, summary.calls_throttled = self.stats.calls, self.stats.throttled
        summary.elapsed_seconds = time.monotonic() - sent.started
        add_to_summary(summary, sent.steps)
        keep_canary_reads(out_dir, sent.steps)
        summary.stop(self._stop_causes(sent))
        write_failed(out_dir / REPORT, out_dir / FAILED)
        summary.write(out_dir / SUMMARY)
        write_workbook_copies(self.source.sheet_name, out_dir / REPORT, out_dir / FAILED)
        self.record.save(out_dir, RunState.STOPPED if summary.stop_reason is not None else RunState.FINISHED)
        return summary

    def _stop_causes(self, sent: Sent) -> dict[StopReason, str]:
        """Every cause to stop this session met: the summary gives the first (StopReason.first), whichever came first in time."""
        causes = self.stats.stop_causes() | stop_causes(sent.watch, sent.steps)
        if sent.stop.stop_reason is not None:
            causes[sent.stop.stop_reason] = ""
        if not _one_line_each(sent.total, sent.summary):
            causes[StopReason.INCOMPLETE] = ""  # a bug: never call it finished; a resume sends the rows left
        return causes


class Recorder:
    """Where each outcome of this session goes: the report, the tally (the summary's counts), the progress bar
    and the caller's listener. The failure watch sees each one too, and stops the run (`stop`) when it trips."""

    def __init__(
        self, report: Path, columns: list[str], tally: Tally, progress: Progress, credentials: Credentials,
        on_outcome: Callable[[RowOutcome], None] | None, watch: FailureWatch, translate: Callable[[RowOutcome], RowOutcome] | None,
        stop: Callable[[], None],
    ) -> None:
        """`translate`: undo's, whose held-back rows are skipped; `stop`: stops the runner (the rows left are recorded not_sent)."""
        self.tally, self.progress, self._credentials, self._on_outcome = tally, progress, credentials, on_outcome
        self.watch, self._translate, self._stop = watch, translate, stop
        self.writer = ReportWriter(report, columns)

    def record(self, result: RowOutcome) -> None:
        if self._translate is not None:
            result = self._translate(result)
        # The last gate before the report and summary.json: no error text may carry a key.
        if not result.error_message and (left_out := result.row.meta.get(SENT_WITHOUT)):
            result = dataclasses.replace(result, error_message=left_out)  # retry: the fields later rows had set
        message = self._credentials.redact(result.error_message)
        if message != result.error_message:
            result = dataclasses.replace(result, error_message=message)
        self.writer.write(result)
        self.tally.add(result)
        self.progress.add(result)
        if self._on_outcome is not None:
            self._on_outcome(result)
        if self.watch.observe(result):
            self._stop()

    def close(self) -> None:
        self.progress.close()
        self.writer.close()


def _rows_left(source: _Source, earlier: Recorded) -> Iterator[Row]:
    return (row for row in source.rows() if row.number not in earlier.rows)


def _canary_row_first(source: _Source, earlier: Recorded, clearing: int | None, clear_token: str) -> Iterator[Row]:
    """The rows left, with the row chosen to check a clear first (Counted.clearing): no earlier row names its activity."""
    if clearing is not None and not _first_for_its_activity(source, earlier, clearing, clear_token):
        clearing = None  # the count went in file order; a retry sends in `_row` order, where an earlier row names it
    if clearing is not None:
        yield from (row for row in source.rows() if row.number == clearing)
    yield from (row for row in _rows_left(source, earlier) if row.number != clearing)


def _first_for_its_activity(source: _Source, earlier: Recorded, number: int, clear_token: str) -> bool:
    """Whether no row sent before row `number`, in the order the rows are sent, names its activity:
    sent first, it then changes nothing's order (a later row's value must win)."""
    target = next((activity_to_update(row, clear_token) for row in source.rows() if row.number == number), None)
    for row in _rows_left(source, earlier):
        if row.number == number:
            return target is not None
        if activity_to_update(row, clear_token) == target:
            return False
    return False




def _open_history(rerun: Rerun, out_dir: Path, summary: Summary, note: Callable[[str], None]) -> None:
    """Index the runs behind the retried report; say once what could not be checked, and why."""
    for warning in rerun.lineage.warnings:
        note(f"Warning: {warning}")
    summary.warnings += rerun.lineage.warnings
    if not rerun.prepared:  # a retry with runs behind it prepared them before its line (Job.confirm)
        rerun.prepare(out_dir)


def _say_warnings(warnings: list[str], summary: Summary, note: Callable[[str], None]) -> None:
    """Say each warning once, and keep it in summary.json."""
    for warning in warnings:
        note(f"Warning: {warning}")
    summary.warnings += warnings


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
        exc.rows_sent = sent()
        raise


def _stopped_at_once(stop: StopOnSignals, out_dir: Path) -> StoppedAtOnce:
    assert stop.signal is not None
    return StoppedAtOnce(
        f"stopped at once by a second {CAUSE_NAMES[stop.signal]}. The report holds every row that finished; "
        f"the rows in flight are sent again when you resume the run (bulk-updater resume {out_dir}), which finishes the job.",
        StopReason.for_signal(stop.signal),
    )


def _changes_note(changes: dict[str, list]) -> str:
    changed = ", ".join(f"{recorded_options.flag_of(name)} {now} (was {then})" for name, (then, now) in changes.items())
    return f"Resuming with {changed}."


def _resume_note(out_dir: Path, total: int, earlier: Recorded) -> str:
    note = f"Resuming the run in {out_dir}: {len(earlier.rows):,} of {total:,} rows already have an outcome"
    if earlier.not_sent_dropped:
        note += f"; {earlier.not_sent_dropped:,} rows not sent before are sent now"
    if earlier.damaged_dropped:
        note += f"; {earlier.damaged_dropped:,} torn or damaged report lines were dropped (those rows are sent again)"
    return note + "."
