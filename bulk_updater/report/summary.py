"""summary.json: the counts of a run, and its failures (and the rows a check held back) grouped by cause."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .. import files
from ..outcomes import FINISHED_VALUES, Outcome, RowOutcome
from ..rows.reader import ACTIVITY_ID
from ..server_text import cut, printable
from ..stop_reason import StopReason
from ..wording import Shape, counted

# The tool's invalid-row messages: their quoted values (`'abc'`) and cells (`(cell D7)`) are the row's
# own details, masked in the group's key (so 500 bad ids are one group); a server's quoted words are kept.
OWN_MESSAGES = "InvalidRow"
FIRST_ROWS = 3  # a group that masks values shows its first rows, and one message in full
HELD_BACK_DETAILS = "): "  # ends the fields a held-back row names (safety/undo.py UndoGuard.translate)
TOP_GROUPS = 10  # printed at the end of a run
JSON_GROUPS = 100  # kept in summary.json; when messages vary per row there can be thousands
EDITS_PRINTED = 20  # retry: the admin's edits printed at the end (summary.json keeps more)


@dataclass
class Summary:
    input: str
    rate: str
    counts: dict[str, int] = field(default_factory=lambda: {o.value: 0 for o in Outcome})
    calls: int = 0
    calls_throttled: int = 0
    elapsed_seconds: float = 0.0
    # Why sending stopped early (stop_reason.py), None when it did not; summary.json writes its value, or "".
    stop_reason: StopReason | None = None
    stop_detail: str = ""  # for "failing" and "canary": what tripped, e.g. the rule, the error and an example row
    backup_reads: int = 0  # --backup: snapshot reads (calls besides the updates) this session
    # The first update's check (safety/canary.py): passed, row, activity, reads, failure, found, checks (, unseen); {} when none ran
    canary: dict = field(default_factory=dict)
    # Rows whose outcome an earlier session of this run recorded (a resume); they are in `counts`.
    resumed: int = 0
    # retry: rows of the earlier report already done (success or skipped), not sent nor reported again.
    passed_over: int = 0
    # Send options a resume changed from the session before: name -> [then, now], e.g. {"rate": ["25/5", "10/5"]}.
    changed_on_resume: dict[str, list] = field(default_factory=dict)
    # retry: cells changed since the first run, sent as the admin's edits ("row 7, Status: 'Open' -> 'Closed'"), the first ones
    edited_cells: int = 0
    edits: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. retry: the run behind the report was not found
    # (outcome, error type, message pattern) -> rows, for every row that needs another look (needs_a_look);
    # the pattern has the ids and numbers of the message masked (wording.message_pattern)
    _groups: Counter = field(default_factory=Counter, repr=False)
    # pattern key -> the first message seen in full, as an example
    _examples: dict = field(default_factory=dict, repr=False)
    # pattern key -> (the first message's Shape, its values that every row of the group shares, else None)
    _common: dict = field(default_factory=dict, repr=False)
    _first_rows: dict = field(default_factory=dict, repr=False)  # pattern key -> the first row numbers, when known
    # pattern key -> the first activities of a group of rows held back (undo: changed since the run), when known
    _first_activities: dict = field(default_factory=dict, repr=False)

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    def stop(self, causes: Mapping[StopReason, str]) -> None:
        """Give the reason the causes that came together make (StopReason.first), and its detail; none: not stopped."""
        self.stop_reason = StopReason.first(causes)
        self.stop_detail = causes[self.stop_reason] if self.stop_reason is not None else ""

    def add(self, result: RowOutcome) -> None:
        self.count(result.outcome.value, result.error_type, result.error_message, row=result.row.number)
        if result.outcome is Outcome.SKIPPED and needs_a_look(result.outcome.value, result.error_type):
            # Held back (undo: its activity changed since the run): the admin looks the activity up, so name it.
            key = self._key(result.outcome.value, result.error_type, result.error_message)
            activity = result.row.cells.get(ACTIVITY_ID, "").strip()
            if activity and len(names := self._first_activities.setdefault(key, [])) < FIRST_ROWS:
                names.append(activity)

    def count(self, outcome: str, error_type: str = "", error_message: str = "", rows: int = 1, row: int | None = None) -> None:
        """Count `rows` rows of one outcome, as a `RowOutcome` (`row`: its number) or as read back from a report."""
        self.counts[outcome] += rows
        if needs_a_look(outcome, error_type):
            shape = Shape(group_message(error_type, error_message, outcome), own=error_type == OWN_MESSAGES)
            key = (outcome, error_type, shape.key)  # (as _key)
            self._groups[key] += rows
            self._examples.setdefault(key, cut(error_message))
            first, common = self._common.setdefault(key, (shape, list(shape.values)))
            # A value that differs between two rows is masked in the group's message; the others explain it.
            common[:] = [value if value == now else None for value, now in zip(common, shape.values, strict=True)]
            if row is not None and len(numbers := self._first_rows.setdefault(key, [])) < FIRST_ROWS:
                numbers.append(row)

    @staticmethod
    def _key(outcome: str, error_type: str, error_message: str) -> tuple:
        """The group a row's message falls in (as `count` makes it)."""
        return (outcome, error_type, Shape(group_message(error_type, error_message, outcome), own=error_type == OWN_MESSAGES).key)

    def _label(self, key: tuple) -> str:
        shape, common = self._common[key]
        return shape.label(common)

    def failure_groups(self, limit: int = TOP_GROUPS) -> list[dict]:
        """The rows that need another look, grouped by outcome, error type and message, biggest first."""
        return [
            {"rows": rows, "outcome": key[0], "error_type": key[1], "error_message": self._label(key), "example": self._examples[key]}
            for key, rows in self._groups.most_common(limit)
        ]

    @property
    def held_back(self) -> int:
        """Rows `skipped` because a check held them back (undo: changed since the run): not done, to look at."""
        return sum(rows for key, rows in self._groups.items() if key[0] == Outcome.SKIPPED.value)

    def groups_left_out(self, limit: int) -> tuple[int, int]:
        """(groups, rows) beyond the `limit` biggest groups."""
        rest = self._groups.most_common()[limit:]
        return len(rest), sum(rows for _, rows in rest)

    def to_json(self) -> dict:
        data = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        data["stop_reason"] = self.stop_reason.value if self.stop_reason is not None else ""
        data["rows"] = self.rows
        data["held_back"] = self.held_back
        data["elapsed_seconds"] = round(self.elapsed_seconds, 3)
        data["failure_groups"] = self.failure_groups(JSON_GROUPS)
        groups, rows = self.groups_left_out(JSON_GROUPS)
        data["failure_groups_left_out"] = {"groups": groups, "rows": rows}
        return data

    def write(self, path: Path) -> None:
        files.replace_text(path, json.dumps(self.to_json(), indent=2) + "\n")

    def lines(self) -> list[str]:
        """The end-of-run summary for people."""
        counts = ", ".join(f"{n:,} {name}" for name, n in self.counts.items() if n)
        out = [
            f"{counted(self.rows, 'row')}: {counts or 'none'}",
            f"{counted(self.calls, 'call')} ({self.calls_throttled:,} answered 429) in {self.elapsed_seconds:.1f} s at {self.rate}",
        ]
        if self.stop_reason is StopReason.MAX_CALLS:
            out.append("Stopped sending at --max-calls: the rows left are not_sent.")
        if self.stop_reason is StopReason.INCOMPLETE:
            out.append(f"{self.rows:,} report lines, but not exactly one for each row read (a bug): the run is not finished; resume it.")
        if self.canary:
            out.append(_canary_line(self.canary))
        if self.backup_reads:
            out.append(f"Backup: {self.backup_reads:,} snapshot reads kept in undo.csv (a read before each update: 2 calls per row, about half the speed)")
        if self.resumed:
            out.append(f"{self.resumed:,} of these rows {'was' if self.resumed == 1 else 'were'} recorded before this session (resumed)")
        if self.passed_over:
            out.append(f"{counted(self.passed_over, 'row')} of the earlier report had succeeded or were skipped: not sent again")
        for key, rows in self._groups.most_common(TOP_GROUPS):
            out += self._group_lines(key, rows)
        groups, rows = self.groups_left_out(TOP_GROUPS)
        if groups:
            out.append(f"  and {counted(rows, 'row')} in {counted(groups, 'other group')} (see summary.json)")
        if self.edited_cells:
            out.append(f"{counted(self.edited_cells, 'cell')} changed since the first run, sent as edits:")
            out += [f"  {edit}" for edit in self.edits[:EDITS_PRINTED]]
            if self.edited_cells > EDITS_PRINTED:
                out.append(f"  and {self.edited_cells - EDITS_PRINTED:,} more (see summary.json)")
        return out


    def _group_lines(self, key: tuple, rows: int) -> list[str]:
        """`  3 rows invalid: InvalidRow: row <n>: ... was '…', now '7' ...`, and when it masks values the first rows
        and one message in full."""
        outcome, error_type, _ = key
        message, example = self._label(key), self._examples[key]
        said = outcome.replace("_", " ") + ": "  # "not_sent: not sent: the run stopped" says it once
        shown = message.removeprefix(said) if message.startswith(said) else message
        label = ": ".join(printable(part) for part in (error_type, shown) if part)
        out = [f"  {counted(rows, 'row')} {outcome}: {label}"]
        if message != example:
            numbers = self._first_rows.get(key, [])
            if numbers:
                more = f" and {rows - len(numbers):,} more" if rows > len(numbers) else ""
                out.append(f"    {'row' if len(numbers) == 1 else 'rows'} {', '.join(map(str, numbers))}{more}; the first says:")
            out.append(f"    {printable(example)}")
        if names := self._first_activities.get(key):
            more = f" and {rows - len(names):,} more" if rows > len(names) else ""
            out.append(f"    {'activity' if rows == 1 else 'activities'} {', '.join(printable(name) for name in names)}{more}")
        return out


def _canary_line(canary: dict) -> str:
    where = f"row {canary['row']}, activity {canary['activity']}" if canary.get("row") is not None else "no update succeeded"
    checks = canary.get("checks", 1)  # a check that could not show enough sends the next row alone too (safety/canary.py)
    head = f"First {checks} updates checked alone (the last: {where}" if checks > 1 else f"First update checked ({where}"
    head += f"; {canary['reads']} reads)"
    if canary.get("passed") and canary.get("unseen"):
        return f"{head}: each did just what it asked, but {canary['unseen']}; the other rows went on."
    if canary.get("passed"):
        it = "they" if checks > 1 else "it"
        return f"{head}: the fields {it} did not set are unchanged, what {it} set reads back."
    if canary.get("found") or canary.get("failure"):
        return f"{head}: " + "; ".join(canary.get("found") or [canary["failure"]])
    if canary.get("checks"):
        return f"{head}: not decided, as no checked activity could show all it looks for; the next row sent goes alone, checked."
    return f"First update not checked yet ({where})."


def needs_a_look(outcome: str, error_type: str) -> bool:
    """Whether a row goes into the groups and failed.csv: one not finished, or one `skipped` because a
    check held it back, which says so with an error type (undo's ChangedSinceRun: the activity changed
    since the run, so it was not restored). A row skipped for having nothing to change has none."""
    return outcome not in FINISHED_VALUES or (outcome == Outcome.SKIPPED.value and bool(error_type))


def group_message(error_type: str, message: str, outcome: str = "") -> str:
    """The message a row is grouped under (its values then masked by wording.Shape).

    A held-back row's message says what and which fields, then the values: "changed since the run
    (Status): Status is now 'Won'". It is grouped on the first part, so rows group by the fields.
    """
    if outcome == Outcome.SKIPPED.value and HELD_BACK_DETAILS in message:
        return message.split(HELD_BACK_DETAILS, 1)[0] + ")"
    return message

