"""The library entry point: one sheet in, one report folder out.

    file -> rows -> requests -> calls -> outcomes -> report
    (rows)  (requests) (calls)  (outcomes)  (report)
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

from .calls import LeadSquaredClient, WindowLimiter, open_session
from .errors import InputError
from .outcomes import RetryPolicy, RowOutcome, Runner
from .preflight import preflight
from .report import ReportWriter, Summary, write_failed
from .report.excel import write_workbook_copies
from .report.progress import Progress
from .requests import plan_row
from .rows import ReadOptions, open_sheet
from .settings import CLEAR_TOKEN, SendSettings

REPORT, FAILED, SUMMARY = "report.csv", "failed.csv", "summary.json"


@dataclass(frozen=True)
class JobOptions:
    clear_token: str = CLEAR_TOKEN
    max_calls: int | None = None
    progress: bool = True
    read: ReadOptions = ReadOptions()


def run(input_path: str | Path, out_dir: str | Path, send: SendSettings, options: JobOptions = JobOptions()) -> Summary:
    """Apply every row of `input_path`; write report.csv, failed.csv and summary.json in `out_dir`
    (and report.xlsx, failed.xlsx when the input is a workbook)."""
    return asyncio.run(run_async(Path(input_path), Path(out_dir), send, options))


async def run_async(input_path: Path, out_dir: Path, send: SendSettings, options: JobOptions) -> Summary:
    sheet = open_sheet(input_path, options.read)
    # A first pass finds unreadable lines before anything is sent, and sizes the progress bar.
    total = sum(1 for _ in sheet.rows())
    limiter = _limiter(send)
    # Keys and region are checked before anything is written or sent: a failure leaves no folder behind.
    await preflight(send, limiter)
    _prepare(out_dir)
    started = time.monotonic()
    summary = Summary(input=str(input_path), rate=str(send.rate))
    writer = ReportWriter(out_dir / REPORT, sheet.columns)
    progress = Progress(total, options.progress)

    def record(result: RowOutcome) -> None:
        result = _redacted(result, send)
        writer.write(result)
        summary.add(result)
        progress.add(result)

    try:
        runner = await _send_all(sheet, send, options, record, limiter)
    finally:
        progress.close()
        writer.close()
    summary.calls, summary.calls_throttled = runner.stats.calls, runner.stats.throttled
    summary.stop_reason = "unauthorized" if runner.stats.unauthorized else "max_calls" if runner.stats.stopped_by_max_calls else ""
    summary.elapsed_seconds = time.monotonic() - started
    write_failed(out_dir / REPORT, out_dir / FAILED)
    summary.write(out_dir / SUMMARY)
    write_workbook_copies(sheet.sheet_name, out_dir / REPORT, out_dir / FAILED)
    return summary


def _limiter(send: SendSettings) -> WindowLimiter:
    return WindowLimiter(send.rate.calls, send.rate.period, send.jitter)


def _redacted(result: RowOutcome, send: SendSettings) -> RowOutcome:
    """The last gate before the report and summary.json: no error text may carry a key."""
    return dataclasses.replace(result, error_message=send.credentials.redact(result.error_message))


async def _send_all(sheet, send: SendSettings, options: JobOptions, record, limiter: WindowLimiter) -> Runner:
    async with open_session(send.concurrency) as session:
        client = LeadSquaredClient(session, send.host, send.credentials, send.timeout)
        runner = Runner(
            client.send_update,
            limiter,
            record,
            concurrency=send.concurrency,
            retry=RetryPolicy(max_attempts=send.max_attempts),
            max_calls=options.max_calls,
        )
        await runner.run((row, plan_row(row, options.clear_token)) for row in sheet.rows())
    return runner


def _prepare(out_dir: Path) -> None:
    if (out_dir / REPORT).exists():
        raise InputError(
            f"{out_dir} already holds a report",
            hint="Choose another --out folder, or move the old report away first.",
        )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"can't create the output folder ({exc.strerror})", where=str(out_dir), hint="Choose another --out folder.") from None
