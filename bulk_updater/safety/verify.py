"""`verify DIR`: read back every activity a `success` row of the run updated, and compare it with what was sent.

Per (activity, field) the value sent is that of the successful row with the highest `_row`.
DIR/verify.csv gets one line per activity: `_verified` is match, mismatch (with the fields,
what was sent and what is there now) or error. Values are compared as compare.py says.
Reads go through a limiter at the given rate, `concurrency` at a time.
"""

from __future__ import annotations

import asyncio
import csv
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..account import refuse_another_account
from ..calls import LeadSquaredClient, WindowLimiter, open_session
from ..errors import InputError
from ..preflight import preflight
from ..report import files
from ..report.folder import REPORT
from ..report.run_record import RunRecord
from ..report.writer import REPORT_ENCODING
from ..settings import CLEAR_TOKEN, SendSettings
from ..wording import counted
from . import written
from .activity import Activity, read_activity
from .compare import same_value

VERIFY_FILE = "verify.csv"
INDEX_FILE = ".state-verify.sqlite"
HEADER = ["CompanyActivityId", "_verified", "_fields", "_sent", "_now", "_error"]


@dataclass
class VerifyResult:
    path: Path
    counts: Counter = field(default_factory=Counter)  # match / mismatch / error -> activities
    by_field: Counter = field(default_factory=Counter)  # field -> activities where it differs

    def lines(self) -> list[str]:
        read = counted(sum(self.counts.values()), "activity", "activities")
        out = [f"{read} read back: " + ", ".join(f"{self.counts[k]:,} {k}" for k in ("match", "mismatch", "error"))]
        for name, count in self.by_field.most_common():
            out.append(f"  {name}: differs on {counted(count, 'activity', 'activities')}")
        out.append(f"Details: {self.path}")
        return out


def verify(run_dir: str | Path, send: SendSettings, unverified_account: bool = False) -> VerifyResult:
    """`unverified_account`: read even when no identity of the keys' account can be compared with the run's (account.py)."""
    return asyncio.run(verify_async(Path(run_dir), send, unverified_account))


async def verify_async(run_dir: Path, send: SendSettings, unverified_account: bool = False) -> VerifyResult:
    record = RunRecord.load(run_dir)
    if record is None or not files.is_present(run_dir / REPORT):
        raise InputError(f"{run_dir} holds no run (no run.json and report.csv)", hint="Give the --out folder of a run, retry or undo.")
    limiter = WindowLimiter(send.rate.calls, send.rate.period, send.jitter)
    identity = await preflight(send, limiter)
    if not record.replaceable:  # (a dry run sent nothing to any account)
        # Another account's activities read back would be a report on the wrong CRM (and its ids may exist there).
        refuse_another_account(record.account, identity.account, f"the {record.command} in {run_dir}", unverified_account)
    db = written.build(run_dir / REPORT, record.clear_token or CLEAR_TOKEN, run_dir / INDEX_FILE)
    result = VerifyResult(run_dir / VERIFY_FILE)
    try:
        with _open_for_writing(result.path) as f:
            out = csv.writer(f)
            out.writerow(HEADER)
            async with open_session(send.concurrency) as session:
                client = LeadSquaredClient(session, send.host, send.credentials, send.timeout)
                activities = written.updated_activities(db)
                workers = [_work(activities, db, client, limiter, send, out, f, result) for _ in range(send.concurrency)]
                await asyncio.gather(*workers)
    finally:
        db.close()
    return result


def _open_for_writing(path: Path):
    # The one place verify.csv is written: whole, through the folder's guarded files; with a BOM, as the reports.
    return files.replacing(path, encoding=REPORT_ENCODING)


async def _work(activities: Iterator[str], db, client: LeadSquaredClient, limiter: WindowLimiter, send: SendSettings, out, f, result: VerifyResult) -> None:
    for activity_id in activities:  # shared iterator: each worker takes the next
        sent = written.last_written(db, activity_id)
        answer, now = await read_activity(client, limiter, activity_id, send.max_attempts)
        line = _line(activity_id, sent, now, f"{answer.error_type}: {answer.error_message}")
        out.writerow(line)
        f.flush()
        result.counts[line[1]] += 1
        if line[1] == "mismatch":
            result.by_field.update(line[2].split("; "))


def _line(activity_id: str, sent: dict[str, str], now: Activity | None, error: str) -> list[str]:
    if now is None:
        return [activity_id, "error", "", "", "", error]
    differ = [name for name, value in sent.items() if not same_value(value, now.value(name))]
    if not differ:
        return [activity_id, "match", "", "", "", ""]
    return [activity_id, "mismatch", "; ".join(differ), "; ".join(repr(sent[n]) for n in differ), "; ".join(repr(now.value(n)) for n in differ), ""]
