"""`verify DIR`: read back every activity a `success` row of the run updated, and compare it with what was sent.

Per (activity, field) the value sent is that of the successful row with the highest `_row`.
DIR/verify.csv gets one line per activity: `_verified` is match, mismatch (with the fields,
what was sent and what is there now, as LeadSquared spelled it) or error, and `_equal_by` names
each field that is equal only by one of compare.py's equivalences (`mx_When: same instant`).
The result keeps, per differing field, the first few mismatching activities (in id order), and
the first few activities it could not read, so the terminal and the page say what did not match,
not only how much. Reads go through a limiter at the given rate, `concurrency` at a time.
"""

from __future__ import annotations

import asyncio
import csv
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .. import files
from ..account import refuse_another_account
from ..calls import LeadSquaredClient, RetryPolicy, WindowLimiter, account_limiter, open_session
from ..errors import InputError
from ..preflight import preflight
from ..report.progress import ReadingBar
from ..report.tally import TimeLeft
from ..report.writer import REPORT_ENCODING
from ..rundir.folder import REPORT
from ..rundir.run_record import RunRecord
from ..server_text import spreadsheet_safe
from ..settings import CLEAR_TOKEN, SendSettings
from ..wording import counted
from . import written
from .activity import WRONG_ACTIVITY, JsonValue, read_activity, wrong_activity
from .compare import Sameness, compare, spelling

VERIFY_FILE = "verify.csv"
INDEX_FILE = ".state-verify.sqlite"
HEADER = ["CompanyActivityId", "_verified", "_fields", "_sent", "_now", "_equal_by", "_error"]
EXAMPLES = 3  # per differing field, the mismatching activities shown; and the unread activities shown


@dataclass(frozen=True)
class Mismatch:
    """One activity where a field differs: the value sent and the value there now, as `shown` writes them."""

    activity_id: str
    sent: str
    now: str


@dataclass(frozen=True)
class FieldCheck:
    name: str
    sent: str
    now: JsonValue
    sameness: Sameness


@dataclass
class VerifyResult:
    path: Path
    counts: Counter = field(default_factory=Counter)  # match / mismatch / error -> activities
    by_field: Counter = field(default_factory=Counter)  # field -> activities where it differs
    equal_by: Counter = field(default_factory=Counter)  # (field, equivalence) -> activities equal only by it
    examples: dict[str, list[Mismatch]] = field(default_factory=dict)  # field -> the first EXAMPLES mismatches, in id order
    unread: list[tuple[str, str]] = field(default_factory=list)  # the first EXAMPLES (activity, error) not read, in id order

    def record(self, activity_id: str, checks: list[FieldCheck] | None, error: str) -> None:
        if checks is None:
            self.counts["error"] += 1
            self.unread[:] = _first([*self.unread, (activity_id, error)])
            return
        differ = [check for check in checks if not check.sameness.equal]
        self.counts["mismatch" if differ else "match"] += 1
        for check in differ:
            self.by_field[check.name] += 1
            shown_now = Mismatch(activity_id, shown(check.sent), shown(check.now))
            self.examples[check.name] = _first([*self.examples.get(check.name, []), shown_now])
        self.equal_by.update((check.name, check.sameness.by) for check in checks if check.sameness.equal and check.sameness.by)

    def lines(self) -> list[str]:
        read = counted(sum(self.counts.values()), "activity", "activities")
        out = [f"{read} read back: " + ", ".join(f"{self.counts[k]:,} {k}" for k in ("match", "mismatch", "error"))]
        for name, count in self.by_field.most_common():
            out.append(f"  {name}: differs on {counted(count, 'activity', 'activities')}:")
            out.extend(f"    {m.activity_id}: sent {m.sent}, now {m.now or '(empty)'}" for m in self.examples[name])
            out.extend([f"    and {count - len(self.examples[name]):,} more in {self.path.name}"] if count > len(self.examples[name]) else [])
        if self.unread:
            out.append(f"  not read: {counted(self.counts['error'], 'activity', 'activities')}:")
            out.extend(f"    {activity_id}: {error}" for activity_id, error in self.unread)
            out.extend([f"    and {self.counts['error'] - len(self.unread):,} more in {self.path.name}"] if self.counts["error"] > len(self.unread) else [])
        if self.equal_by:
            out.append("Equal only by an equivalence (verify.csv's _equal_by):")
            out.extend(f"  {name}: {by} on {counted(count, 'activity', 'activities')}" for (name, by), count in sorted(self.equal_by.items()))
        out.append(f"Details: {self.path}")
        return out


def _first(items: list) -> list:
    """The EXAMPLES smallest (by activity id): the same examples whatever order the reads finish in."""
    return sorted(items, key=lambda item: item[0] if isinstance(item, tuple) else item.activity_id)[:EXAMPLES]


def shown(value: JsonValue) -> str:
    """A value as LeadSquared spelled it: text quoted, a JSON boolean or number bare (`true`, `3.00`),
    an object or list as JSON, and an absent or null value as nothing."""
    if value is None:
        return ""
    if isinstance(value, str):
        return repr(value)
    return _json(value)


def _json(value: JsonValue) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(key), ensure_ascii=False)}: {_json(item)}" for key, item in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_json(item) for item in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return "null" if value is None else spelling(value)


def verify(run_dir: str | Path, send: SendSettings, unverified_account: bool = False, progress: bool = False) -> VerifyResult:
    """`unverified_account`: read even when no identity of the keys' account can be compared with the run's (account.py).
    `progress`: a bar of the activities read on stderr (drawn only on a terminal); the CLI asks for it."""
    return asyncio.run(verify_async(Path(run_dir), send, unverified_account, progress))


async def verify_async(run_dir: Path, send: SendSettings, unverified_account: bool = False, progress: bool = False) -> VerifyResult:
    record = RunRecord.load(run_dir)
    if record is None or not files.is_present(run_dir / REPORT):
        raise InputError(f"{run_dir} holds no run (no run.json and report.csv)", hint="Give the --out folder of a run, retry or undo.")
    limiter = account_limiter(send)
    identity = await preflight(send, limiter)
    if not record.replaceable:  # (a dry run sent nothing to any account)
        # Another account's activities read back would be a report on the wrong CRM (and its ids may exist there).
        refuse_another_account(record.account, identity.account, f"the {record.command} in {run_dir}", unverified_account)
    db = written.build(run_dir / REPORT, record.clear_token or CLEAR_TOKEN, run_dir / INDEX_FILE)
    result = VerifyResult(run_dir / VERIFY_FILE)
    total = written.count_updated(db)
    bar = ReadingBar(total, progress, TimeLeft(limiter.pace, total))
    try:
        with _open_for_writing(result.path) as f:
            out = csv.writer(f)
            out.writerow(HEADER)
            async with open_session(send.concurrency) as session:
                client = LeadSquaredClient(session, send.host, send.credentials, send.timeout)
                activities = written.updated_activities(db)
                workers = [_work(activities, db, client, limiter, send, out, f, result, bar) for _ in range(send.concurrency)]
                await asyncio.gather(*workers)
    finally:
        bar.close()
        db.close()
    return result


def _open_for_writing(path: Path):
    # The one place verify.csv is written: whole, through the folder's guarded files; with a BOM, as the reports.
    return files.replacing(path, encoding=REPORT_ENCODING)


async def _work(
    activities: Iterator[str], db, client: LeadSquaredClient, limiter: WindowLimiter, send: SendSettings, out, f, result: VerifyResult, bar: ReadingBar,
) -> None:
    for activity_id in activities:  # shared iterator: each worker takes the next
        sent = written.last_written(db, activity_id)
        answer, now = await read_activity(client, limiter, activity_id, RetryPolicy.of(send))
        error = f"{answer.error_type}: {answer.error_message}"
        if now is not None and (wrong := wrong_activity(now, activity_id)):
            now, error = None, f"{WRONG_ACTIVITY}: {wrong}"  # another activity's values say nothing of this one
        checks = None if now is None else [FieldCheck(name, value, now.value(name), compare(value, now.value(name))) for name, value in sent.items()]
        out.writerow([spreadsheet_safe(cell) for cell in _line(activity_id, checks, error)])  # defused, as every CSV the tool writes
        f.flush()
        result.record(activity_id, checks, error)
        bar.read()


def _line(activity_id: str, checks: list[FieldCheck] | None, error: str) -> list[str]:
    if checks is None:
        return [activity_id, "error", "", "", "", "", error]
    equal_by = "; ".join(f"{check.name}: {check.sameness.by}" for check in checks if check.sameness.equal and check.sameness.by)
    differ = [check for check in checks if not check.sameness.equal]
    if not differ:
        return [activity_id, "match", "", "", "", equal_by, ""]
    names, sent, now = ("; ".join(part) for part in zip(*((check.name, shown(check.sent), shown(check.now)) for check in differ)))
    return [activity_id, "mismatch", names, sent, now, equal_by, ""]
