"""The command line: options -> settings -> one library call -> exit code."""

from __future__ import annotations

import argparse
import inspect
import os
import shlex
import sys
from collections.abc import Sequence

from . import job
from .errors import BulkUpdaterError, InputError
from .report import Summary
from .settings import CLEAR_TOKEN, DEFAULT_RATE, Credentials, Rate, SendSettings

EXIT_OK, EXIT_SOME_FAILED, EXIT_BAD_INPUT, EXIT_UNAUTHORIZED = 0, 1, 2, 3
# A run stopped by a signal exits as the shell reports a process killed by it: 128 + the signal.
EXIT_STOPPED = {"interrupted": 130, "terminated": 143}


def cmd_run(args: argparse.Namespace) -> int:
    """Apply a sheet of activity edits: one update call per row, then a report.

    Reads INPUT (.csv or .xlsx; a CompanyActivityId column, an optional ActivityNote
    column, and one column per activity field named by its SchemaName). A blank cell
    leaves the field alone; #N/A clears it. Writes DIR/report.csv, DIR/failed.csv and
    DIR/summary.json. Keys come from LSQ_ACCESS_KEY and LSQ_SECRET_KEY, the host from
    LSQ_HOST or --host.

    If DIR holds an unfinished run of the same INPUT (stopped, killed, crashed), the same
    command resumes it: rows with an outcome are not sent again.

    Example: bulk-updater run edits.csv --out runs/monday
    """
    summary = job.run(args.input, args.out, _send_settings(args), _job_options(args))
    return _report_end(summary, args, f"run {shlex.quote(args.input)}")


def cmd_retry(args: argparse.Namespace) -> int:
    """Send again the rows of an earlier report that did not succeed.

    Reads REPORT (an earlier report.csv or failed.csv, maybe with cells fixed) and sends
    every row whose _outcome is failed, invalid or not_sent; invalid rows are checked
    again. Rows that succeeded or were skipped are never sent again. The new report in
    DIR keeps each row's original _row number. Same options as run; like run, the same
    command resumes an unfinished retry.

    Example: bulk-updater retry runs/monday/failed.csv --out runs/monday-2
    """
    summary = job.retry(args.report, args.out, _send_settings(args), _job_options(args))
    return _report_end(summary, args, f"retry {shlex.quote(args.report)}")


def _report_end(summary: Summary, args: argparse.Namespace, command: str) -> int:
    """Print the summary and what to do next; return the exit code."""
    print("\n".join(summary.lines()))
    print(f"Report: {os.path.join(args.out, job.REPORT)}")
    failed = os.path.join(args.out, job.FAILED)
    if summary.stop_reason == "unauthorized":
        print(
            "Error: LeadSquared rejected the keys (401). Check LSQ_ACCESS_KEY, LSQ_SECRET_KEY and the host, "
            f"then send the rows left: bulk-updater retry {shlex.quote(failed)} --out NEW_DIR",
            file=sys.stderr,
        )
        return EXIT_UNAUTHORIZED
    if summary.stop_reason in EXIT_STOPPED:
        print(f"Stopped ({summary.stop_reason}). To finish the job, run: bulk-updater {command} --out {shlex.quote(args.out)}", file=sys.stderr)
        return EXIT_STOPPED[summary.stop_reason]
    needs_look = summary.rows - summary.counts["success"] - summary.counts["skipped"]
    if needs_look:
        print(f"{needs_look:,} rows need another look: {failed}")
        print(f"Fix them if needed, then: bulk-updater retry {shlex.quote(failed)} --out NEW_DIR")
        return EXIT_SOME_FAILED
    return EXIT_OK


def cmd_sandbox(args: argparse.Namespace) -> int:
    """Run a local LeadSquared stand-in on 127.0.0.1 for demos and tests.

    It serves the Update endpoint with key checking, a rate limit that answers 429,
    body validation, MX errors for unknown activities, latency and injected faults.
    The keys it accepts are LSQ_ACCESS_KEY and LSQ_SECRET_KEY (demo keys if unset).

    Example: bulk-updater sandbox --port 8080 --rate 25/5 --latency 0.1-0.6
    """
    from .sandbox.server import serve_forever

    serve_forever(args)
    return EXIT_OK


def _send_settings(args: argparse.Namespace) -> SendSettings:
    host = args.host or os.environ.get("LSQ_HOST", "")
    if not host:
        raise InputError("no LeadSquared host is set", hint="Set LSQ_HOST (e.g. https://api-in21.leadsquared.com) or pass --host.")
    if not host.startswith(("https://", "http://")):
        raise InputError(f"the host {host!r} is not a URL", hint="Write it with its scheme, e.g. https://api-in21.leadsquared.com.")
    return SendSettings(
        host=host,
        credentials=_credentials_from_env(),
        rate=Rate.parse(args.rate),
        concurrency=args.concurrency,
        max_attempts=args.max_attempts,
        timeout=args.timeout,
    )


def _credentials_from_env() -> Credentials:
    missing = [name for name in ("LSQ_ACCESS_KEY", "LSQ_SECRET_KEY") if not os.environ.get(name)]
    if missing:
        raise InputError(f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set", hint="Export the account's keys in the environment before running.")
    return Credentials(os.environ["LSQ_ACCESS_KEY"], os.environ["LSQ_SECRET_KEY"])


def _job_options(args: argparse.Namespace) -> job.JobOptions:
    return job.JobOptions(clear_token=args.clear_token, progress=not args.no_progress, **_stop_options(args))


def _stop_options(args: argparse.Namespace) -> dict:
    return {"restart": args.restart, "stop_wait": args.stop_wait}


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bulk-updater", description="Apply a spreadsheet of edits to LeadSquared account activities.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = _command(commands, "run", cmd_run)
    run.add_argument("input", metavar="INPUT", help="the sheet of edits (.csv or .xlsx)")
    run.add_argument("--out", required=True, metavar="DIR", help="folder for report.csv, failed.csv and summary.json")
    add_input_options(run)
    add_connection_options(run)
    add_sending_options(run)
    add_display_options(run)
    add_resume_options(run)

    retry = _command(commands, "retry", cmd_retry)
    retry.add_argument("report", metavar="REPORT", help="an earlier report.csv or failed.csv")
    retry.add_argument("--out", required=True, metavar="DIR", help="folder for the new report.csv, failed.csv and summary.json")
    add_input_options(retry)
    add_connection_options(retry)
    add_sending_options(retry)
    add_display_options(retry)
    add_resume_options(retry)

    sandbox = _command(commands, "sandbox", cmd_sandbox)
    from .sandbox.server import add_sandbox_options

    add_sandbox_options(sandbox)
    return parser


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """How the sheet is read and turned into requests."""
    group = parser.add_argument_group("reading the sheet")
    group.add_argument("--clear-token", default=CLEAR_TOKEN, metavar="TEXT", help="a cell holding this clears the field (default: %(default)s)")


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """Where the calls go. The keys are never options: they come from the environment."""
    group = parser.add_argument_group("connection")
    group.add_argument("--host", help="LeadSquared API base URL (default: $LSQ_HOST)")


def add_sending_options(parser: argparse.ArgumentParser) -> None:
    """How fast, how many at once, how hard to retry."""
    group = parser.add_argument_group("sending")
    group.add_argument("--rate", default=DEFAULT_RATE, metavar="N/S", help="at most N calls in any S seconds (default: %(default)s)")
    group.add_argument("--concurrency", type=_positive_int, default=25, metavar="N", help="calls in flight at once (default: %(default)s)")
    group.add_argument("--max-attempts", type=_positive_int, default=5, metavar="N", help="tries per row for errors that may pass (default: %(default)s)")
    group.add_argument("--timeout", type=_seconds, default=30.0, metavar="S", help="seconds before a call is cut off and retried (default: %(default)s)")


def add_display_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_resume_options(parser: argparse.ArgumentParser) -> None:
    """Stopping, resuming and starting over."""
    group = parser.add_argument_group("stopping and resuming")
    group.add_argument("--restart", action="store_true", help="DIR holds another run (finished, or of another input): replace it and start over")
    group.add_argument(
        "--stop-wait", type=_seconds, default=job.STOP_WAIT, metavar="S",
        help="after a first Ctrl-C or SIGTERM, seconds the calls in flight get to finish (default: %(default)s)",
    )


def _command(commands, name: str, handler) -> argparse.ArgumentParser:
    doc = inspect.cleandoc(handler.__doc__ or "")
    parser = commands.add_parser(name, help=doc.splitlines()[0], description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(handler=handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except BulkUpdaterError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
