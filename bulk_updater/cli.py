"""The command line: options -> settings -> one library call -> exit code."""

from __future__ import annotations

import argparse
import inspect
import os
import sys
from collections.abc import Sequence

from . import check, job, rows
from .errors import BulkUpdaterError, InputError
from .settings import CLEAR_TOKEN, DEFAULT_RATE, Credentials, Rate, SendSettings

EXIT_OK, EXIT_SOME_FAILED, EXIT_BAD_INPUT, EXIT_UNAUTHORIZED = 0, 1, 2, 3


def cmd_run(args: argparse.Namespace) -> int:
    """Apply a sheet of activity edits: one update call per row, then a report.

    Reads INPUT (.csv/.tsv/.txt or .xlsx/.xlsm/.xls/.ods; a CompanyActivityId column, an optional ActivityNote
    column, and one column per activity field named by its SchemaName). A blank cell
    leaves the field alone; #N/A clears it. Writes DIR/report.csv, DIR/failed.csv and
    DIR/summary.json. Keys come from LSQ_ACCESS_KEY and LSQ_SECRET_KEY, the host from
    LSQ_HOST or --host.

    With --dry-run nothing is sent (no keys needed): it checks the sheet like `check`
    and writes the report a run would write, the rows it would send marked not_sent.

    Example: bulk-updater run edits.csv --out runs/monday
    """
    if args.dry_run:
        return _dry_run(args)
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


def cmd_check(args: argparse.Namespace) -> int:
    """Check a sheet without sending anything: what a run would do, row by row, counted.

    Reads INPUT with the same options as `run` and prints how many rows will update,
    are invalid, have nothing to change or name an activity twice, the first invalid
    rows with the reason, and the first payloads as JSON. Exits 0 if the file is usable,
    2 if it can't be read or no row would change anything.

    Example: bulk-updater check edits.xlsx --sheet Edits --timezone Asia/Kolkata
    """
    result = check.check(args.input, _read_options(args), args.clear_token)
    return _report_check(result)


def _dry_run(args: argparse.Namespace) -> int:
    result = check.dry_run(args.input, args.out, _read_options(args), args.clear_token)
    code = _report_check(result)
    print(f"Report of the dry run (nothing was sent): {os.path.join(args.out, job.REPORT)}")
    return code


def _report_check(result: check.CheckResult) -> int:
    print("\n".join(result.lines()))
    if not result.usable:
        print(f"Error: {result.where}: {result.problem()}\nFix the rows listed above, then check again.", file=sys.stderr)
        return EXIT_BAD_INPUT
    print("The file is usable.")
    return EXIT_OK


def _read_options(args: argparse.Namespace) -> rows.ReadOptions:
    return rows.ReadOptions(sheet=args.sheet, encoding=args.encoding, delimiter=args.delimiter, timezone=args.timezone, map_path=args.map)


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
    return job.JobOptions(clear_token=args.clear_token, progress=not args.no_progress, read=_read_options(args))


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return int(text)


def _positive_float(text: str) -> float:
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
    run.add_argument("input", metavar="INPUT", help="the sheet of edits (.csv, .tsv, .txt, .xlsx, .xlsm, .xls, .ods)")
    run.add_argument("--out", required=True, metavar="DIR", help="folder for report.csv, failed.csv and summary.json")
    add_input_options(run)
    add_connection_options(run)
    add_sending_options(run)
    add_display_options(run)
    add_dry_run_option(run)

    checking = _command(commands, "check", cmd_check)
    checking.add_argument("input", metavar="INPUT", help="the sheet of edits (.csv, .tsv, .txt, .xlsx, .xlsm, .xls, .ods)")
    add_input_options(checking)

    sandbox = _command(commands, "sandbox", cmd_sandbox)
    from .sandbox.server import add_sandbox_options

    add_sandbox_options(sandbox)
    return parser


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """How the sheet is read and turned into requests."""
    group = parser.add_argument_group("reading the sheet")
    group.add_argument("--clear-token", default=CLEAR_TOKEN, metavar="TEXT", help="a cell holding this clears the field (default: %(default)s)")
    group.add_argument("--sheet", metavar="NAME|N", help="the workbook's sheet to read, by name or number from 1 (default: the first)")
    group.add_argument("--encoding", metavar="NAME", help="the text file's encoding, e.g. utf-8, utf-16, cp1252 (default: found from the file)")
    group.add_argument("--delimiter", metavar="SEP", help="the text file's separator: comma, semicolon, tab, or the character (default: found from the header)")
    group.add_argument("--timezone", metavar="TZ", help="the time zone the workbook's date-times were written in, e.g. Asia/Kolkata; they are sent as UTC (default: UTC)")
    group.add_argument("--map", metavar="FILE", help="a .json or .csv file mapping sheet headers to SchemaNames (the id column maps to CompanyActivityId)")


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
    group.add_argument("--timeout", type=_positive_float, default=30.0, metavar="S", help="seconds before a call is cut off and retried (default: %(default)s)")


def add_dry_run_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="send nothing: check the sheet and write the report a run would write")


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
