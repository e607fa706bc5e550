"""The command line: options -> settings -> one library call -> exit code."""

from __future__ import annotations

import argparse
import inspect
import math
import os
import sys
from collections.abc import Callable, Sequence

from . import job
from .errors import BulkUpdaterError, InputError
from .settings import CLEAR_TOKEN, DEFAULT_RATE, PLAN_CALLS, Credentials, Rate, SendSettings

EXIT_OK, EXIT_SOME_FAILED, EXIT_BAD_INPUT, EXIT_UNAUTHORIZED = 0, 1, 2, 3


def cmd_run(args: argparse.Namespace) -> int:
    """Apply a sheet of activity edits: one update call per row, then a report.

    Reads INPUT (.csv or .xlsx; a CompanyActivityId column, an optional ActivityNote
    column, and one column per activity field named by its SchemaName). A blank cell
    leaves the field alone; #N/A clears it. Writes DIR/report.csv, DIR/failed.csv and
    DIR/summary.json. Keys come from LSQ_ACCESS_KEY and LSQ_SECRET_KEY, the host from
    LSQ_HOST or --host.

    Example: bulk-updater run edits.csv --out runs/monday
    """
    summary = job.run(args.input, args.out, _send_settings(args), _job_options(args))
    print("\n".join(summary.lines()))
    print(f"Report: {os.path.join(args.out, job.REPORT)}")
    if summary.stop_reason == "unauthorized":
        print("Error: LeadSquared rejected the keys (401). Check LSQ_ACCESS_KEY, LSQ_SECRET_KEY and the host, then rerun the failed rows.", file=sys.stderr)
        return EXIT_UNAUTHORIZED
    needs_look = summary.rows - summary.counts["success"] - summary.counts["skipped"]
    if needs_look:
        print(f"{needs_look:,} rows need another look: {os.path.join(args.out, job.FAILED)}")
        print(f"Fix them if needed, then: bulk-updater run {os.path.join(args.out, job.FAILED)} --out NEW_DIR")
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
        rate=_rate(args),
        concurrency=args.concurrency,
        max_attempts=args.max_attempts,
        timeout=args.timeout,
        jitter=args.jitter,
    )


def _rate(args: argparse.Namespace) -> Rate:
    rate = Rate.for_plan(args.plan) if args.plan else Rate.parse(args.rate or DEFAULT_RATE)
    return rate.with_headroom(args.headroom)


def _credentials_from_env() -> Credentials:
    missing = [name for name in ("LSQ_ACCESS_KEY", "LSQ_SECRET_KEY") if not os.environ.get(name)]
    if missing:
        raise InputError(f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set", hint="Export the account's keys in the environment before running.")
    return Credentials(os.environ["LSQ_ACCESS_KEY"], os.environ["LSQ_SECRET_KEY"])


def _job_options(args: argparse.Namespace) -> job.JobOptions:
    return job.JobOptions(clear_token=args.clear_token, max_calls=args.max_calls, progress=not args.no_progress)


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return int(text)


def _number(accept: Callable[[float], bool], wanted: str) -> Callable[[str], float]:
    """An argparse type for a number that `accept`s; NaN is accepted by no check."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not accept(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not {wanted}")
        return value

    return parse


_percent = _number(lambda v: 0 <= v < 100, "a percent from 0 to 99")
_seconds = _number(lambda v: v > 0, "a number of seconds above 0")
_seconds_or_zero = _number(lambda v: v >= 0, "a number of seconds, 0 or more")


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
    limit = group.add_mutually_exclusive_group()
    limit.add_argument("--rate", metavar="N/S", help=f"at most N calls in any S seconds (default: {DEFAULT_RATE})")
    limit.add_argument("--plan", choices=list(PLAN_CALLS), help="use the limit of this LeadSquared plan (lite 2/5 ... enterprise 25/5)")
    group.add_argument("--headroom", type=_percent, default=0.0, metavar="P", help="percent of the limit to leave for other integrations (default: 0)")
    group.add_argument("--jitter", type=_seconds_or_zero, default=0.1, metavar="S", help="seconds of network arrival jitter to allow for (default: %(default)s)")
    group.add_argument("--max-calls", type=_positive_int, metavar="N", help="stop sending after N calls (daily quotas); the rest are not_sent")
    group.add_argument("--concurrency", type=_positive_int, default=25, metavar="N", help="calls in flight at once (default: %(default)s)")
    group.add_argument("--max-attempts", type=_positive_int, default=5, metavar="N", help="tries per row for errors that may pass (default: %(default)s)")
    group.add_argument("--timeout", type=_seconds, default=30.0, metavar="S", help="seconds before a call is cut off and retried (default: %(default)s)")


def add_display_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


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
