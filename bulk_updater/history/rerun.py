"""Read an earlier report (report.csv or failed.csv) back as the rows to send again.

The report is read by the ordinary rows reader, so any format it reads works here; the
report's own columns arrive in `Row.meta`. Each row keeps its original `_row` number, so
the new report traces back to the source sheet.

With the run behind the report found (lineage.py), the report must be that run's (matching.py:
refused otherwise), and each row is planned against its history, in this order (docs/design.md,
"Outcome precedence for one row"):
1. a row that can't be read as meant (no id, a bad id...) is `invalid`;
2. the fields a later row (higher `_row`) of the chain set with success are left out; a row
   with nothing left is `skipped`, "superseded by row N", even if its cells are damaged,
   since nothing of it is sent;
3. a cell to be sent that is its earlier value put through a spreadsheet change (damage.py)
   makes the row `invalid`, unless --accept-spreadsheet-changes;
4. other changes from the first run are the admin's edits: sent, and listed.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path

from .. import files
from ..errors import InputError
from ..outcomes import FINISHED_VALUES, Outcome
from ..rows import ACTIVITY_ID, NOTE, ReadOptions, Row, Sheet, open_sheet
from ..rundir.folder import lock_out_dir
from ..rundir.retries import record_retry, refuse_second_retry
from ..updates import Invalid, NothingToChange, Plan, UpdateRequest, plan_row
from .damage import spreadsheet_change
from .lineage import STATE_FILE, History, Lineage, find_lineage
from .matching import check_report_matches_run
from .row_order import ORDER_FILE, RowOrder

NEEDED = ("_row", "_outcome")
_KNOWN = {outcome.value for outcome in Outcome}
# Row.meta keys this module adds (never written: the report writes only the cells and its own columns).
NOT_UTF8 = "_line_not_utf8"  # the row's line was decoded as Windows-1252 in a mixed-encoding file
SENT_WITHOUT = "_sent_without"  # the fields left out because later rows set them: noted on the report line
SENT_WITHOUT_PREFIX, SUPERSEDED_BY = "sent without ", ": superseded by "
DAMAGE, SUPERSEDED = ": spreadsheet damage: ", "superseded by "  # in the reasons `plan` gives
EDIT_EXAMPLES = 100  # listed in summary.json


class Rerun:
    """The rows of an earlier report whose outcome is neither success nor skipped."""

    def __init__(self, sheet: Sheet, lineage: Lineage | None = None, accept_changes: bool = False) -> None:
        missing = [name for name in NEEDED if name not in sheet.meta_columns]
        if missing:
            raise InputError(
                f"there is no {' and no '.join(missing)} column: this is not a bulk-updater report",
                where=f"{sheet.path}, row 1",
                hint="Give the report.csv or failed.csv of an earlier run; to send a sheet of edits, use `bulk-updater run`.",
            )
        self.sheet = sheet
        self.passed_over = 0  # rows already done (success or skipped), counted by the last full pass
        self.lineage = lineage or Lineage()
        self.accept_changes = accept_changes
        self.history: History | None = None
        self._order: RowOrder | None = None
        # The admin's edits sent (cells changed since the first run): counted, the first ones kept.
        self.edited_cells = 0
        self.edits: list[str] = []

    @classmethod
    def open(cls, report: Path, read: ReadOptions, accept_changes: bool = False) -> Rerun:
        """An earlier report, opened as `retry` (and its dry run) read it: refused if a symlink was
        planted in its place, read line by line (a tool report saved from Excel may mix encodings:
        the odd lines are flagged as damage), with the runs behind it found."""
        files.is_present(report)
        sheet = open_sheet(report, dataclasses.replace(read, mixed_lines=True))
        return cls(sheet, find_lineage(report), accept_changes)

    def check_run(self, state_dir: Path) -> None:
        """Refuse (InputError, nothing sent) a report that is not the report of the run whose folder holds it:
        its history would be another run's (matching.py). Call it before the retry writes anything."""
        if self.lineage.runs:
            refuse_second_retry(self.lineage.runs[-1].folder, state_dir)
            check_report_matches_run(self.sheet, self.lineage.runs[-1], state_dir)

    def record_retry(self, out_dir: Path) -> None:
        """Record this retry, into `out_dir`, in the folder of the run it retries (rundir/retries.py): right before its
        first update. Under that folder's lock: refused while a command (its resume) writes there."""
        folder = self.lineage.folder
        if folder is None:
            return
        with contextlib.ExitStack() as held:
            try:
                held.enter_context(lock_out_dir(folder))
            except InputError:
                raise InputError(
                    f"another bulk-updater command is writing in {folder}, the run this retries (its resume?): both would send its rows left",
                    hint=f"Let it finish (or stop it with Ctrl-C); then retry the failed.xlsx it leaves in {folder}.",
                ) from None
            record_retry(folder, out_dir)

    def prepare(self, out_dir: Path) -> None:
        """Build the on-disk indexes in `out_dir` (again by every session: the reports may have moved on):
        the chain's history, and the rows in `_row` order."""
        if self.lineage.runs:
            self.history = History(out_dir / STATE_FILE, self.lineage)
        self._order = RowOrder(out_dir / ORDER_FILE, self.sheet.columns, self._file_rows())

    @property
    def prepared(self) -> bool:
        return self._order is not None

    def close(self) -> None:
        """Close the indexes and delete them: every session builds its own."""
        for index in (self.history, self._order):
            if index is not None:
                index.close()
                files.remove(index.path)
        self.history = self._order = None

    def rows(self) -> Iterator[Row]:
        """Yield the rows to send again, numbered by their `_row`: in `_row` order once `prepare`d.

        Rows naming one activity are applied in the order they come; a report sorted in a
        spreadsheet would otherwise let row 2 overwrite row 4 (file order wins).
        """
        return self._order.rows() if self._order is not None else self._file_rows()

    def _file_rows(self) -> Iterator[Row]:
        """The rows to send again in the report's line order; raise InputError on a damaged line."""
        passed_over, seen = 0, set()
        for line in self.sheet.rows():
            number, outcome = self._row_number(line), line.meta["_outcome"].strip()
            if outcome not in _KNOWN:
                raise self._bad(line, "_outcome", f"{outcome!r} is not an outcome ({', '.join(sorted(_KNOWN))})")
            if number in seen:
                raise self._bad(line, "_row", f"row {number} appears twice in the report")
            seen.add(number)
            if outcome in FINISHED_VALUES:
                passed_over += 1
            elif line.number in getattr(self.sheet.source, "not_utf8", ()):
                yield Row(number, line.cells, {**line.meta, NOT_UTF8: "1"})
            else:
                yield Row(number, line.cells, line.meta)
        self.passed_over = passed_over

    def plan(self, row: Row, clear_token: str, *, noting: bool = True) -> tuple[Row, Plan]:
        """What to send for `row` given its history: see the module docstring for the order.
        `noting=False`: the counting pass's plan, which notes no edits (the send's plan does)."""
        plan = plan_row(row, clear_token)
        if not isinstance(plan, UpdateRequest):
            return row, plan
        if self.history is not None:
            plan, left_out = self._supersede(row.number, plan)
            if isinstance(plan, NothingToChange):
                return row, plan
            if left_out:
                row = Row(row.number, row.cells, {**row.meta, SENT_WITHOUT: left_out})
        columns = _columns_sent(plan)
        earlier = self.history.cells(row.number) if self.history is not None else []
        damage = self._damage(row, columns, earlier)
        if damage and not self.accept_changes:
            return row, Invalid(damage, damage=True)
        if earlier and noting:
            self._note_edits(row, columns, earlier[0])
            self._note_blanked(row, columns, earlier[0], clear_token)
        return row, plan

    def _supersede(self, number: int, plan: UpdateRequest) -> tuple[UpdateRequest | NothingToChange, str]:
        """`plan` without the fields a later row set with success, and a note of what was left out."""
        assert self.history is not None
        later = self.history.superseding(plan.activity_id, number)
        if not later:
            return plan, ""
        fields = tuple((name, value) for name, value in plan.fields if name not in later)
        note = None if NOTE in later else plan.note
        left = [name for name, _ in plan.fields if name in later] + ([NOTE] if plan.note is not None and note is None else [])
        if not left:
            return plan, ""
        by = _rows(sorted({later[name] for name in left}))
        if note is None and not fields:
            return NothingToChange(f"{SUPERSEDED}{by}", superseded=True), ""
        return UpdateRequest(plan.activity_id, note, fields, row=plan.row), f"{SENT_WITHOUT_PREFIX}{', '.join(left)}{SUPERSEDED_BY}{by}"

    def _damage(self, row: Row, columns: list[str], earlier: list[dict[str, str]]) -> str:
        """Why `row` looks damaged by a spreadsheet, naming row, column and both values; "" if it does not."""
        problems = []
        for column in columns:
            new = row.cells.get(column, "")
            for cells in earlier:
                old = cells.get(column)
                if old is not None and old != new and (kind := spreadsheet_change(old, new)):
                    problems.append(f"{column} was {old!r}, now {new!r} ({kind})")
                    break
        if row.meta.get(NOT_UTF8):
            problems += self._mixed_line(row, columns, earlier)
        if not problems:
            return ""
        return (
            f"row {row.number}{DAMAGE}{'; '.join(problems)}. Type the value as it should be (in failed.xlsx, "
            "as text), or add --accept-spreadsheet-changes to send it as it is"
        )

    @staticmethod
    def _mixed_line(row: Row, columns: list[str], earlier: list[dict[str, str]]) -> list[str]:
        note = "its line is not UTF-8 while the rest of the file is (saved from Excel after opening it as ANSI?)"
        if not earlier:
            return [note]
        first = earlier[0]
        changed = [f"{c} was {first.get(c, '')!r}, now {row.cells.get(c, '')!r}" for c in columns if first.get(c, "") != row.cells.get(c, "")]
        return [f"{note}: {'; '.join(changed)}"] if changed else []

    def _note_edits(self, row: Row, columns: list[str], first: dict[str, str]) -> None:
        for column in columns:
            old, new = first.get(column, ""), row.cells.get(column, "")
            if old != new:
                self.edited_cells += 1
                if len(self.edits) < EDIT_EXAMPLES:
                    self.edits.append(f"row {row.number}, {column}: {old!r} -> {new!r}")

    def _note_blanked(self, row: Row, columns: list[str], first: dict[str, str], clear_token: str) -> None:
        """A cell emptied since the first run: a blank cell is not sent, so the field keeps its value in LeadSquared.
        Listed with the edits, saying so: an admin who blanked it meant to clear it."""
        for column, new in row.cells.items():
            old = first.get(column, "")
            if column in columns or new.strip() or not old.strip():
                continue
            self.edited_cells += 1
            if len(self.edits) < EDIT_EXAMPLES:
                what = "the note" if column == NOTE else "the field"
                self.edits.append(f"row {row.number}, {column}: {old!r} -> {new!r} (a blank cell is not sent: type {clear_token} to clear {what})")

    def _row_number(self, line: Row) -> int:
        text = line.meta["_row"].strip()
        if not (text.isascii() and text.isdigit()):  # "²" is a digit to isdigit(), not to int()
            raise self._bad(line, "_row", f"{text!r} is not a row number (plain digits 0-9)")
        return int(text)

    def _bad(self, line: Row, column: str, problem: str) -> InputError:
        return InputError(
            problem,
            where=f"{self.sheet.path}, row {line.number}, column {column}",
            hint="Put back the value the report had there, or give the report as bulk-updater wrote it.",
        )


def _columns_sent(plan: UpdateRequest) -> list[str]:
    return [ACTIVITY_ID, *([NOTE] if plan.note is not None else []), *(name for name, _ in plan.fields)]


def _rows(numbers: list[int]) -> str:
    return f"row {numbers[0]}" if len(numbers) == 1 else "rows " + ", ".join(map(str, numbers))


def left_out_fields(message: str) -> set[str]:
    """The fields (and the note) a retry's report line says it did not send, from its `_error_message`
    (`sent without Status, ActivityNote: superseded by row 4`); none for any other message."""
    if not message.startswith(SENT_WITHOUT_PREFIX) or SUPERSEDED_BY not in message:
        return set()
    return set(message[len(SENT_WITHOUT_PREFIX) :].split(SUPERSEDED_BY)[0].split(", "))
