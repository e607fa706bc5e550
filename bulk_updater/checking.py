"""Check a sheet without sending anything: `check` prints what a run would do; `dry_run` also writes its report.

One streaming pass: every row is planned exactly as a run plans it, and only counts, a
few examples and the ids seen (to count duplicates) are kept, so memory stays flat
except for the ids.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import notes
from .history.damage import DamageSigns
from .history.rerun import Rerun
from .outcomes import Outcome, RowOutcome
from .report import ReportWriter, Summary, write_failed
from .report.excel import write_workbook_copies
from .rows import ReadOptions, Row, Sheet, open_sheet
from .rows.reader import ReadFindings
from .rundir.folder import FAILED, REPORT, SUMMARY, open_fresh_out_dir
from .safety.undo import retry_clear_token
from .settings import CLEAR_TOKEN
from .stop_reason import StopReason
from .updates import Invalid, NothingToChange, Plan, UpdateRequest, plan_row
from .wording import counted

EXAMPLES = 5
PREVIEWS = 3
# The outcome a dry run records for a row a run would send: not_sent, so that the dry
# run's failed.csv holds exactly the rows to send, and can be fed to `run` as it is.
DRY_RUN_TYPE, DRY_RUN_MESSAGE = "DryRun", "dry run: would be sent"


@dataclass
class CheckResult:
    """What a run of the sheet would do, row by row, counted."""

    where: str
    will_update: int = 0
    invalid: int = 0
    skipped: int = 0
    # Rows that name an activity an earlier row to be sent already names (applied in file order).
    duplicate_ids: int = 0
    invalid_examples: list[tuple[int, str]] = field(default_factory=list)
    previews: list[tuple[int, dict]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    utc_datetimes: int = 0  # a workbook's date-time cells read as UTC (no --timezone): the page warns before Start
    # Ids as 128-bit numbers: half the memory of the text, for a million rows.
    _ids: set[int] = field(default_factory=set, repr=False)

    @property
    def rows(self) -> int:
        return self.will_update + self.invalid + self.skipped

    @property
    def usable(self) -> bool:
        """The sheet can be read and at least one row would change something."""
        return self.will_update > 0

    def add(self, row: Row, plan: Plan) -> None:
        if isinstance(plan, Invalid):
            self.invalid += 1
            if len(self.invalid_examples) < EXAMPLES:
                self.invalid_examples.append((row.number, plan.reason))
        elif isinstance(plan, NothingToChange):
            self.skipped += 1
        else:
            self.will_update += 1
            activity = uuid.UUID(plan.activity_id).int
            if activity in self._ids:
                self.duplicate_ids += 1
            self._ids.add(activity)
            if len(self.previews) < PREVIEWS:
                self.previews.append((row.number, plan.to_json()))

    def lines(self) -> list[str]:
        """The check's findings, for people."""
        out = [
            f"{self.where}: {counted(self.rows, 'row')}",
            f"  {self.will_update:,} will update",
            f"  {self.invalid:,} invalid (never sent)",
            f"  {self.skipped:,} skipped (nothing to change)",
            f"  {counted(self.duplicate_ids, 'duplicate id')} (rows naming an activity an earlier row names; applied in file order)",
            f"Calls: {counted(self.will_update, 'update')}; with --backup {2 * self.will_update:,} (a read before each update: about half the speed)",
        ]
        if self.invalid_examples:
            out.append(f"First invalid rows (of {self.invalid:,}):")
            out += [f"  row {number}: {reason}" for number, reason in self.invalid_examples]
        if self.previews:
            out.append("First payloads:")
            out += [f"  row {number}: {json.dumps(body, ensure_ascii=False)}" for number, body in self.previews]
        out += [f"Warning: {warning}" for warning in self.warnings]
        return out

    def note_findings(self, findings: ReadFindings) -> None:
        self.utc_datetimes = findings.utc_datetimes
        if findings.long_numbers:
            self.warnings.append(
                f"{findings.long_numbers:,} number cells hold 1e15 or more (the first: {findings.first_long_number}). "
                "A spreadsheet keeps 15 significant digits, so the digits after them are sent as 0s: "
                "to keep every digit, format the column as text and type the numbers again"
            )

    def problem(self) -> str:
        """Why the sheet is not usable, or "" when it is."""
        if self.usable:
            return ""
        if self.invalid:
            return f"no row can be sent: {self.invalid:,} invalid, {self.skipped:,} with nothing to change"
        return "no row changes anything: every cell besides the ids is blank"


def check(input_path: str | Path, read: ReadOptions = ReadOptions(), clear_token: str = CLEAR_TOKEN) -> CheckResult:
    """Read and plan every row of `input_path` exactly as a run would, sending nothing."""
    sheet = open_sheet(input_path, read)
    result = CheckResult(sheet.where)
    signs = DamageSigns()  # an Excel round trip's marks: mojibake, runs of ?, 1.23457E+19 in an id column
    for row, plan in _planned(sheet, clear_token):
        result.add(row, plan)
        signs.add(row.number, row.cells)
    result.note_findings(sheet.findings)
    result.warnings += signs.warnings()
    return result


def dry_run(input_path: str | Path, out_dir: str | Path, read: ReadOptions = ReadOptions(), clear_token: str = CLEAR_TOKEN) -> CheckResult:
    """`check`, and write the report, failed rows and summary a run would write, sending nothing."""
    input_path, out_dir = Path(input_path), Path(out_dir)
    sheet = open_sheet(input_path, read)
    open_fresh_out_dir(out_dir, input_path)
    return _write_dry_run(sheet, input_path, out_dir, _planned(sheet, clear_token))


def dry_run_retry(
    report_path: str | Path, out_dir: str | Path, read: ReadOptions = ReadOptions(), clear_token: str = CLEAR_TOKEN, accept_changes: bool = False
) -> CheckResult:
    """What `retry` would send of an earlier report, sending nothing: the same rows, planned with
    the same history (supersession) and damage checks, written as a dry run's report."""
    report_path, out_dir = Path(report_path), Path(out_dir)
    clear_token = retry_clear_token(report_path, clear_token)  # as retry reads it
    rerun = Rerun.open(report_path, read, accept_changes)
    open_fresh_out_dir(out_dir, report_path)
    rerun.check_run(out_dir)
    for warning in rerun.lineage.warnings:
        notes.warn(warning)
    rerun.prepare(out_dir)
    try:
        return _write_dry_run(rerun.sheet, report_path, out_dir, (rerun.plan(row, clear_token) for row in rerun.rows()))
    finally:
        rerun.close()


def _write_dry_run(sheet: Sheet, input_path: Path, out_dir: Path, planned: Iterator[tuple[Row, Plan]]) -> CheckResult:
    result = CheckResult(sheet.where)
    summary = Summary(input=str(input_path), rate="dry run")
    writer = ReportWriter(out_dir / REPORT, sheet.columns)
    signs = DamageSigns()
    try:
        for row, plan in planned:
            result.add(row, plan)
            signs.add(row.number, row.cells)
            outcome = _dry_outcome(row, plan)
            writer.write(outcome)
            summary.add(outcome)
    finally:
        writer.close()
    result.note_findings(sheet.findings)
    result.warnings += signs.warnings()
    write_failed(out_dir / REPORT, out_dir / FAILED)
    summary.stop_reason = StopReason.DRY_RUN
    summary.write(out_dir / SUMMARY)
    write_workbook_copies(sheet.sheet_name, out_dir / REPORT, out_dir / FAILED)
    return result


def _planned(sheet: Sheet, clear_token: str) -> Iterator[tuple[Row, Plan]]:
    return ((row, plan_row(row, clear_token)) for row in sheet.rows())


def _dry_outcome(row: Row, plan: Plan) -> RowOutcome:
    if isinstance(plan, UpdateRequest):
        return RowOutcome(row, Outcome.NOT_SENT, error_type=DRY_RUN_TYPE, error_message=DRY_RUN_MESSAGE)
    if isinstance(plan, Invalid):
        return RowOutcome(row, Outcome.INVALID, error_type="InvalidRow", error_message=plan.reason)
    return RowOutcome(row, Outcome.SKIPPED, error_message=plan.reason)
