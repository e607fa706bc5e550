"""The command line: options -> settings -> one library call -> exit code."""

from __future__ import annotations

# First, before the heavy imports below: Ctrl-C and SIGTERM stop cleanly from here on.
from . import interrupts

interrupts.install()

import argparse  # noqa: E402  (after the handlers, on purpose)
import asyncio
import codecs
import contextlib
import getpass
import importlib
import inspect
import io
import logging
import os
import sys
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import cli_examples, exit_codes
from . import options as recorded_options
from .credentials import credentials_from, environment, redacting_output
from .errors import BulkUpdaterError, BulkUpdaterWarning, InputError
from .hosts import DEFAULT_LOOKUP_HOST, REGIONS, host_url, require_host
from .option_spec import CONNECTION, FLAG, PERCENT, READING, READING_BACK, RESUMING, SAFETY, SECONDS, SENDING, TEXT, Option, Value
from .preflight import fetch_identity
from .settings import DEFAULT_RATE, NO_HEADROOM, PLAN_CALLS, PLAN_PERIOD, Credentials, Rate, SendSettings
from .shell import quote as shell_quote
from .stop_reason import StopReason


class _Lazy:
    """A module imported on its first attribute access."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._name, __package__), attribute)


if TYPE_CHECKING:
    from . import checking, job, rows
    from .application import ending as job_ending
    from .application import verify_settings as verifying_settings
    from .report import Summary
    from .rundir import run_record
    from .safety import verify as verifying
else:
    # Imported when a command first uses them: `--help` and `whoami` start without the readers,
    # the report writers and the progress bar.
    checking, job, rows, verifying, job_ending, verifying_settings, run_record = (
        _Lazy(name) for name in (".checking", ".job", ".rows", ".safety.verify", ".application.ending", ".application.verify_settings", ".rundir.run_record")
    )


def cmd_run(args: argparse.Namespace) -> int:
    """Apply a sheet of activity edits: one update call per row, then a report.

    Reads INPUT (.csv/.tsv/.txt or .xlsx/.xlsm/.xls/.ods; a CompanyActivityId column, an optional ActivityNote
    column, and one column per activity field named by its SchemaName). A blank cell
    leaves the field alone; #N/A clears it. Writes DIR/report.csv, DIR/failed.csv, their
    copies DIR/report.xlsx and DIR/failed.xlsx (to fix rows in Excel), and DIR/summary.json.
    Keys come from LSQ_ACCESS_KEY and LSQ_SECRET_KEY (the environment, --env-file, or a
    hidden prompt), the host from --region, --host or LSQ_HOST. Before the
    first update one call checks the keys and the region (see `whoami`).

    With --dry-run nothing is sent (no keys needed): it checks the sheet like `check`
    and writes the report a run would write, the rows it would send marked not_sent.

    If DIR holds an unfinished run of the same INPUT (stopped, killed, crashed), the same
    command resumes it as `resume` does: rows with an outcome are not sent again, and the
    options not given take the values the run recorded.
    """
    if args.dry_run:
        return _dry_run(args)
    return _send(args, "run", args.input)


def cmd_retry(args: argparse.Namespace) -> int:
    """Send again the rows of an earlier report that did not succeed.

    Reads REPORT (an earlier failed.xlsx, failed.csv or report.csv, maybe with cells fixed) and sends
    every row whose _outcome is failed, invalid or not_sent; invalid rows are checked
    again. Rows that succeeded or were skipped are never sent again. The new report in
    DIR keeps each row's original _row number. Same options as run; like run, the same
    command resumes an unfinished retry.

    When REPORT sits in its run's folder, a row is sent without the fields a later row
    (higher _row) already set with success ("superseded by row N" when nothing is left),
    and its cells are compared with the first run's: changes a spreadsheet makes (007 -> 7,
    1.23457E+19, a reformatted date, MÃ¼ller, ?) make the row invalid; other changes are
    sent as edits and listed.
    """
    if args.dry_run:
        return _dry_run(args)
    return _send(args, "retry", args.report)


def cmd_resume(args: argparse.Namespace) -> int:
    """Finish a stopped, killed or crashed run or retry, with the options it recorded.

    Reads DIR/run.json and carries on: the same input, read the same way, sent the same way;
    rows with an outcome are not sent again. Keys come from the environment, --env-file or a
    prompt, as for run. A sending option given here (--rate, --concurrency, --max-calls...)
    replaces the recorded one and is noted in summary.json ("changed_on_resume"); a reading
    option given with another value than the run's is refused.
    """
    return _report_end(_resume(args, _given(args, resuming=True)), args)


def cmd_undo(args: argparse.Namespace) -> int:
    """Take back a run made with --backup: send back the old values its backup kept.

    It sends the backup's record (DIR/undo-record.jsonl), the values exactly as they were
    read, never DIR/undo.csv, the readable copy (one a spreadsheet saved over is named in a
    warning). Before restoring an activity it reads it again: if someone changed one of its fields
    since the run wrote it, the activity is not touched (skipped, "changed since the run:
    Status is now 'Won'"). --force restores anyway. Writes the undo's own report in
    UNDO_DIR; the same options and resume rules as run.
    """
    return _send(args, "undo", args.run_dir)


def cmd_verify(args: argparse.Namespace) -> int:
    """Read back every activity a run updated and compare it with what the run sent.

    Reads DIR/report.csv (of a run, retry or undo) and, for each activity a successful row
    updated, the value of the last successful row per field. Writes DIR/verify.csv, one line
    per activity: match, mismatch (which fields, sent, now) or error, and which fields are
    equal only by an equivalence (same instant, trailing zeros, GUID case, boolean spelling,
    empty, surrounding spaces). Prints the mismatches grouped by field with the first
    activities of each, and the activities it could not read. One read per activity, at the rate given.
    Exits 0 when everything matches, 1 otherwise.
    """
    environ = _environment(args)
    # The run's own host and pace unless given: verify reads the account the run wrote to.
    send = verifying_settings.verify_settings(
        args.run_dir, _given(args, resuming=False), lambda: _credentials(environ), default_host=lambda: require_host(host_url(environ=environ))
    )
    result = verifying.verify(args.run_dir, send, args.unverified_account, progress=not args.no_progress)
    print("\n".join(result.lines()))
    return exit_codes.OK if set(result.counts) <= {"match"} else exit_codes.SOME_FAILED


def _send(args: argparse.Namespace, command: str, source: str) -> int:
    """run, retry or undo: a new job in DIR, or the same command resuming the unfinished one it holds."""
    if not args.restart and job.holds_unfinished(args.out, command):
        # Options not given take the recorded values: argparse's defaults are None, so "not given" shows.
        return _report_end(_resume(args, _given(args, resuming=True), source), args)
    given = _given(args, resuming=False)
    environ = _environment(args)
    given["host"] = given.get("host") or require_host(host_url(environ=environ))
    send, options = job.settings_from(given, _credentials(environ), restart=args.restart, **_session_options(args))
    start = {"run": job.run, "retry": job.retry, "undo": job.undo}[command]
    return _report_end(start(source, args.out, send, options), args)


def _resume(args: argparse.Namespace, given: dict, input_path: str | None = None) -> Summary:
    # LSQ_HOST is not an option given: the recorded host wins over the environment's.
    return job.resume(args.out, _credentials(_environment(args)), given, input_path=input_path, **_session_options(args))


def _session_options(args: argparse.Namespace) -> dict:
    """What this command does that no run records: the bar, the notes, stopping on Ctrl-C and SIGTERM, the question before sending."""
    return {
        "progress": not args.no_progress, "on_note": _say, "handle_signals": True, "confirm": _confirmer(args), "confirm_asks": _asks(args),
        "force": bool(getattr(args, "force", None)), "unverified_account": args.unverified_account,
    }


def _say(text: str) -> None:
    """What the library tells a person (on_note): on stderr, without breaking the progress bar."""
    from .report.progress import write_line

    write_line(text)


def _report_end(summary: Summary, args: argparse.Namespace) -> int:
    """Print the summary and what to do next (the job's ending, application/ending.py); return the exit code."""
    print("\n".join(summary.lines()))
    print(f"Report: {os.path.join(args.out, job.REPORT)}")
    ending = job_ending.Ending.of(summary.to_json(), run_record.RunRecord.load(Path(args.out)), args.out)
    if ending.stop_reason is not None:
        print(_after_stop(ending, args), file=sys.stderr)
        return exit_codes.for_stop(ending.stop_reason)
    undone = shell_quote(getattr(args, "run_dir", None) or ending.undone)  # the folder as typed, when this command named it
    if job_ending.Step.UNDO_FORCED in ending.steps:
        # Skipped, yet not done: say so, where they are listed, and the one way to restore them over the colleague's edit.
        print(
            f"{ending.held_back:,} rows not restored: their activity changed since the run (listed in {ending.failed}). "
            f"To restore them anyway: bulk-updater undo {undone} --out NEW_DIR --force"
        )
    if job_ending.Step.UNDO_AGAIN in ending.steps:
        # Not `retry`: that would restore without the "changed since the run" check.
        print(f"{ending.needs_look:,} rows need another look: {ending.failed}")
        print(f"To try again: bulk-updater undo {undone} --out NEW_DIR (activities already restored get the same values again)")
    if job_ending.Step.RETRY in ending.steps:
        print(f"{ending.needs_look:,} rows need another look: {ending.fix_in}")
        print(f"Fix them if needed (in Excel or LibreOffice), then: bulk-updater retry {shell_quote(ending.fix_in)} --out NEW_DIR")
    return exit_codes.SOME_FAILED if ending.needs_look else exit_codes.OK


def _after_stop(ending: job_ending.Ending, args: argparse.Namespace) -> str:
    """Why the job stopped, and how to finish it (its steps, as commands)."""
    reason = ending.stop_reason
    if reason is StopReason.UNAUTHORIZED:
        return (
            "Error: LeadSquared rejected the keys (401) during the run; the user may have been deactivated. "
            f"Check the keys (bulk-updater whoami), then send the rows left: bulk-updater retry {shell_quote(ending.retried)} --out NEW_DIR"
        )
    if reason is StopReason.THROTTLED:
        return (
            "Stopped (throttled): every answer was a 429 (over the rate limit) for the whole --throttle-timeout. "
            "Another integration may be using the account's limit: check with the admin, or lower --rate. "
            f"The rows left are not_sent. To finish the job, run: {_finish_command(args)}"
        )
    if reason is StopReason.FAILING:
        return (
            f"Error: stopped sending: {ending.stop_detail}. The rows left are not_sent. "
            f"If a column or value is wrong, fix it in {ending.fix_in} and send those rows again: "
            f"bulk-updater retry {shell_quote(ending.fix_in)} --out NEW_DIR. "
            f"If these failures are expected, send the rest anyway: {_finish_command(args)} --keep-going"
        )
    if reason is StopReason.CANARY:
        return (
            f"Error: stopped after the first update: {ending.stop_detail}. The rows left are not_sent. "
            f"Its values before and after are in {os.path.join(args.out, 'canary.json')}: check that activity in LeadSquared "
            "(docs/leadsquared-api.md says what the first update tells). "
            f"Once the cause is understood, send the rest: {_finish_command(args)} --no-canary"
        )
    return f"Stopped ({reason}). To finish the job, run: {_finish_command(args)}"


def _confirmer(args: argparse.Namespace) -> Callable[[str], bool]:
    """Print the "About to update" line; ask Continue? only when someone at a terminal can answer."""

    def confirm(line: str) -> bool:
        print(line, file=sys.stderr, flush=True)
        if not _asks(args):
            return True
        print("Continue? [y/N] ", end="", file=sys.stderr, flush=True)
        return sys.stdin.readline().strip().lower() in ("y", "yes")

    return confirm


def _asks(args: argparse.Namespace) -> bool:
    return not getattr(args, "yes", False) and sys.stdin is not None and sys.stdin.isatty()


def _finish_command(args: argparse.Namespace) -> str:
    """`resume DIR`: everything else is in DIR/run.json, except where the keys come from."""
    env_file = f" --env-file {shell_quote(args.env_file)}" if args.env_file else ""
    return f"bulk-updater resume {shell_quote(args.out)}{env_file}"


def cmd_whoami(args: argparse.Namespace) -> int:
    """Check the keys: print the user, role, org and region host they belong to.

    Makes one call (UserByAccessKey.Get, keys in headers) and nothing else. That call
    answers on every region's host, so with no --region, --host or LSQ_HOST it asks
    api.leadsquared.com. Warns when the keys belong to another region than the one set.
    """
    environ = _environment(args)
    host = host_url(args.region, args.host, environ)
    send = SendSettings(host=host or DEFAULT_LOOKUP_HOST, credentials=_credentials(environ))
    identity = asyncio.run(fetch_identity(send))
    print(f"The keys work at {send.host}.")
    print("\n".join(identity.lines()))
    mismatch = identity.region_mismatch(send.host)
    if mismatch and host:
        print(f"Warning: {mismatch}", file=sys.stderr)
    elif not host and identity.api_host:
        print(f"No host was set: run with {identity.host_option()}", file=sys.stderr)
    if identity.role and identity.role != "Administrator":
        print(f"Note: these are a {identity.role}'s keys; another role may not be allowed to update every activity.", file=sys.stderr)
    return exit_codes.OK


def cmd_check(args: argparse.Namespace) -> int:
    """Check a sheet without sending anything: what a run would do, row by row, counted.

    Reads INPUT with the same options as `run` and prints how many rows will update,
    are invalid, have nothing to change or name an activity twice, the first invalid
    rows with the reason, and the first payloads as JSON. Exits 0 if the file is usable,
    2 if it can't be read or no row would change anything.
    """
    result = checking.check(args.input, _read_options(args), _clear_token(args))
    return _report_check(result)


def _dry_run(args: argparse.Namespace) -> int:
    """run --dry-run or retry --dry-run: what the command would send, written as its report; nothing sent."""
    if args.command == "retry":
        source = args.report
        result = checking.dry_run_retry(source, args.out, _read_options(args), _clear_token(args), bool(args.accept_spreadsheet_changes))
    else:
        source = args.input
        result = checking.dry_run(source, args.out, _read_options(args), _clear_token(args))
    code = _report_check(result)
    print(f"Report of the dry run (nothing was sent): {os.path.join(args.out, job.REPORT)}")
    if code == exit_codes.OK:
        print(f"To send it: bulk-updater {args.command} {shell_quote(source)} --out {shell_quote(args.out)} (the dry run's report is replaced)")
    return code


def _report_check(result: checking.CheckResult) -> int:
    print("\n".join(result.lines()))
    if not result.usable:
        advice = "Fix the rows listed above" if result.invalid_examples else "Fill in the cells to change (a blank cell leaves its field alone)"
        print(f"Error: {result.where}: {result.problem()}\n{advice}, then check again.", file=sys.stderr)
        return exit_codes.BAD_INPUT
    print("The file is usable.")
    return exit_codes.OK


def _read_options(args: argparse.Namespace) -> rows.ReadOptions:
    return rows.ReadOptions(**{option.name: getattr(args, option.dest) for option in recorded_options.OPTIONS if option.holder is rows.ReadOptions})


def _clear_token(args: argparse.Namespace) -> str:
    return recorded_options.DEFAULTS["clear_token"] if args.clear_token is None else args.clear_token


def cmd_sandbox(args: argparse.Namespace) -> int:
    """Run a local LeadSquared stand-in on 127.0.0.1 for demos and tests.

    It serves the Update endpoint and UserByAccessKey.Get with key checking, a rate
    limit that answers 429, body validation, MX errors for unknown activities, latency
    and injected faults.
    The keys it accepts are LSQ_ACCESS_KEY and LSQ_SECRET_KEY (demo keys if unset).
    """
    from .sandbox.server import serve_forever

    serve_forever(args)
    return exit_codes.OK


def cmd_demo(args: argparse.Namespace) -> int:
    """Try the tool with no account: a sample sheet run, checked and taken back, on this computer.

    Starts the sandbox (a LeadSquared stand-in) inside this command, copies the sample sheet into a
    new folder (demo-out, else demo-out-2, demo-out-3...: a folder that exists is never written
    over), then runs the real commands against the sandbox: `run --backup`, `verify` and `undo`,
    printing each, its report and the values the backup kept. The sheet's rows end in every
    outcome: success, failed, invalid and skipped. The folder keeps the sheet, the run's report
    (run/report.xlsx, run/failed.xlsx) and an env file (sandbox.env) like the one for your keys.
    """
    from . import demo

    folder = demo.given_folder(args.out) if args.out else demo.new_folder()
    return demo.run_demo(folder, _main, progress=not args.no_progress)


def cmd_ui(args: argparse.Namespace) -> int:
    """Open the whole job in a local web page: sheet, check, connection, options, run, results.

    Starts a server on 127.0.0.1 only and opens the browser at its address, which carries
    a one-time token. Uploads and run folders go in the workspace (the CLI's folders:
    either can resume or retry the other's runs). Keys come from the environment, the
    --env-file, or the page's password fields, and stay in the server's memory.
    """
    from .ui import serve

    serve(Path(args.workspace), args.port, not args.no_browser, _environment(args), stop_wait=args.stop_wait, upload_total=args.max_upload_total)
    return exit_codes.OK


def _given(args: argparse.Namespace, resuming: bool) -> dict[str, object]:
    """The recorded options this command line gives, by name; those left out are not in it.

    Each option's flag has no argparse default (None), so that a resume can tell an option given
    from one left out. The rate and the host are given by several flags (added by hand): see below.
    """
    flags = [option for option in recorded_options.OPTIONS if option.group is not None]
    given = {option.name: _flag_value(option, value) for option in flags if (value := getattr(args, option.dest, None)) is not None}
    if given.get("max_calls") is recorded_options.NO_BUDGET:
        given["max_calls"] = None
    rate = _rate(args, resuming)
    if rate is not None:
        given["rate"] = rate
    if args.region or args.host:
        given["host"] = host_url(args.region, args.host)
    return given


def _flag_value(option: Option, value: object) -> object:
    return not value if option.negated else value  # --no-canary given: canary=False


def _rate(args: argparse.Namespace, resuming: bool) -> Rate | None:
    """The rate --rate or --plan and --headroom give, or None when none of them is given."""
    if args.rate is None and args.plan is None and args.headroom is None:
        return None
    rate = Rate.resolve(args.rate, args.plan, NO_HEADROOM if args.headroom is None else args.headroom)
    if resuming and args.rate is None and args.plan is None:
        _refuse_headroom_alone(args, rate)
    return rate


def _refuse_headroom_alone(args: argparse.Namespace, rate: Rate) -> None:
    """--headroom alone takes its share off the default limit, as on a new run: fine when that is the
    rate the run recorded (the command that started it, given again); refused when it would change it."""
    recorded = job.recorded_values(args.out).get("rate")
    if recorded is not None and rate != recorded:
        raise InputError(
            f"--headroom {args.headroom:g} alone would send at {rate} (the default {DEFAULT_RATE} less {args.headroom:g}%), "
            f"but the run being resumed sends at {recorded}, its headroom already taken off",
            hint="Give the limit with it (--rate N/S or --plan NAME), or the rate to use with --rate alone.",
        )


def _environment(args: argparse.Namespace) -> dict[str, str]:
    return environment(args.env_file, warn=lambda text: print(f"Warning: {text}", file=sys.stderr))


def _credentials(environ: Mapping[str, str]) -> Credentials:
    # A hidden prompt only when someone can answer it: never block a script or CI on stdin.
    return credentials_from(environ, getpass.getpass if sys.stdin is not None and sys.stdin.isatty() else None)


def _argparse_type(value: Value) -> Callable[[str], Any]:
    """argparse's type for an option's kind of value: its own parser (the page's and the library's rules), argparse's refusal."""

    def parse(text: str) -> Any:
        try:
            return value.parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _upload_size(text: str) -> int:
    from .ui.workspace import parse_size  # the page's only: imported when its command is given

    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# Commands whose options not given take the run's values, not the defaults: a resume takes the recorded options,
# verify the run's host and pace (options.VERIFY_TAKES). Their help shows that instead of a default.
RUNS_VALUES = "the run's"


def _takes_the_runs(option: Option, command: str) -> bool:
    return command == "resume" or (command == "verify" and option.name in recorded_options.VERIFY_TAKES)


def _argument(option: Option, command: str = "") -> dict[str, Any]:
    """add_argument's keywords for a registry option (option_spec.py): its help with the default, its value's parser, no default."""
    text = (f"{option.help} (default: {RUNS_VALUES})" if _takes_the_runs(option, command) else option.cli_help).replace("%", "%%")  # argparse formats help with %
    if option.value is FLAG:
        return {"action": "store_true", "default": None, "help": text}
    return {"type": None if option.value is TEXT else _argparse_type(option.value), "metavar": option.metavar, "help": text}


def add_registered_options(group, title: str, command: str) -> None:
    """The registry's options of one group of flags (`title`) that `command` takes, in registry order."""
    for option in recorded_options.OPTIONS:
        if option.group == title and option.takes(command):
            group.add_argument(option.flag, **_argument(option, command))


def _command_name(parser: argparse.ArgumentParser) -> str:
    return parser.prog.split()[-1]  # "bulk-updater run"


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; given the `command` about to run, only what that command needs."""
    parser = argparse.ArgumentParser(prog="bulk-updater", description="Apply a spreadsheet of edits to LeadSquared account activities.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = _sending_command(commands, "run", cmd_run, "input", "the sheet of edits (.csv, .tsv, .txt, .xlsx, .xlsm, .xls, .ods)")
    add_dry_run_option(run)
    retry = _sending_command(commands, "retry", cmd_retry, "report", "an earlier report (.csv or .xlsx) or failed.csv")
    add_dry_run_option(retry)

    resuming = _command(commands, "resume", cmd_resume)
    resuming.add_argument("out", metavar="DIR", help="the folder of the unfinished run or retry (it holds run.json)")
    for add_options in (add_input_options, add_connection_options, add_sending_options, add_display_options):
        add_options(resuming)
    add_resume_options(resuming, restart=False)
    add_safety_options(resuming)

    undoing = _command(commands, "undo", cmd_undo)
    undoing.add_argument("run_dir", metavar="DIR", help="the --out folder of a run made with --backup")
    undoing.add_argument("--out", required=True, metavar="UNDO_DIR", help="folder for the undo's report.csv, failed.csv and summary.json")
    for add_options in (add_connection_options, add_sending_options, add_display_options, add_resume_options):
        add_options(undoing)
    safety = add_safety_options(undoing)
    safety.add_argument("--force", action="store_true", default=None, help="restore even the activities someone changed since the run")

    verify = _command(commands, "verify", cmd_verify)
    verify.add_argument("run_dir", metavar="DIR", help="the --out folder of a run, retry or undo (its host is the default)")
    add_connection_options(verify)
    add_sending_options(verify, READING_BACK)
    add_display_options(verify)
    add_account_option(verify.add_argument_group(SAFETY))

    checking = _command(commands, "check", cmd_check)
    checking.add_argument("input", metavar="INPUT", help="the sheet of edits (.csv, .tsv, .txt, .xlsx, .xlsm, .xls, .ods)")
    add_input_options(checking)

    whoami = _command(commands, "whoami", cmd_whoami)
    add_connection_options(whoami)

    ui = _command(commands, "ui", cmd_ui)
    ui.add_argument("--workspace", default="bulk-updater-runs", metavar="DIR", help="folder for the uploads and the run folders (default: %(default)s)")
    ui.add_argument("--port", type=int, default=0, metavar="N", help="the port on 127.0.0.1 (default: a free one)")
    ui.add_argument("--no-browser", action="store_true", help="print the address; don't open a browser")
    ui.add_argument("--env-file", metavar="PATH", help="a .env-style file of LSQ_ACCESS_KEY, LSQ_SECRET_KEY, LSQ_HOST for the page to use")
    ui.add_argument("--stop-wait", type=_argparse_type(SECONDS), default=recorded_options.STOP_WAIT, metavar="S",
                    help="on Ctrl-C or SIGTERM, seconds the runs going get to stop cleanly; past half of it they stop at once (default: %(default)g)")
    ui.add_argument("--max-upload-total", type=_upload_size, default=2 * 1024**3, metavar="SIZE",
                    help="most the uploads kept in the workspace may take together, e.g. 500MB (default: 2GB)")

    demo = _command(commands, "demo", cmd_demo)
    demo.add_argument("--out", metavar="DIR", help="a new folder for the demo (default: demo-out, or demo-out-2... if it exists)")
    add_display_options(demo)

    sandbox = _command(commands, "sandbox", cmd_sandbox)
    if command in (None, "sandbox"):  # its options live beside the server, which imports aiohttp.web
        from .sandbox.server import add_sandbox_options

        add_sandbox_options(sandbox)
    return parser


def _sending_command(commands, name: str, handler, source: str, source_help: str) -> argparse.ArgumentParser:
    """`run` and `retry`: what to send, where the report goes, and every option that shapes a run."""
    parser = _command(commands, name, handler)
    parser.add_argument(source, metavar=source.upper(), help=source_help)
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for report.csv, failed.csv, report.xlsx, failed.xlsx and summary.json")
    for add_options in (add_input_options, add_connection_options, add_sending_options, add_display_options, add_resume_options):
        add_options(parser)
    add_safety_options(parser)
    return parser


def add_safety_options(parser: argparse.ArgumentParser):
    """Backup (not for resume or undo), the first update alone, stopping on systematic failure (recorded); the question before sending."""
    group = parser.add_argument_group(SAFETY)
    add_registered_options(group, SAFETY, _command_name(parser))
    group.add_argument("--yes", action="store_true", help="don't ask Continue? [y/N] before sending (nobody is asked without a terminal)")
    add_account_option(group)
    return group


def add_account_option(parser) -> None:
    """resume, retry, undo and verify act on an existing run only with keys of its account (account.py)."""
    parser.add_argument(
        "--unverified-account", action="store_true",
        help="act on an existing run (resume, retry, undo, verify) even when LeadSquared's key check gives no org id, short code or "
        "org name with host to compare with the run's (another account is still refused); not recorded: give it again each time",
    )


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """How the sheet is read and turned into requests (the read-class options)."""
    group = parser.add_argument_group(READING)
    add_registered_options(group, READING, _command_name(parser))


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """Where the calls go, and where the keys come from.

    The keys are never option values (they would land in shell history): they come from the
    environment, a file, or a hidden prompt.
    """
    group = parser.add_argument_group(CONNECTION)
    where = group.add_mutually_exclusive_group()  # both give the host option
    where.add_argument("--region", choices=list(REGIONS), help="the account's region: sg is api.leadsquared.com, the others api-REGION.leadsquared.com")
    where.add_argument("--host", **_argument(recorded_options.BY_NAME["host"], _command_name(parser)))
    group.add_argument("--env-file", metavar="PATH", help="a .env-style file of NAME=value lines (LSQ_ACCESS_KEY, LSQ_SECRET_KEY, LSQ_HOST); it wins over the environment")
    add_registered_options(group, CONNECTION, _command_name(parser))


def add_sending_options(parser: argparse.ArgumentParser, title: str = SENDING) -> None:
    """How fast, how many at once, how hard to retry (`title`: verify's are the pace of its reads)."""
    command = _command_name(parser)
    group = parser.add_argument_group(title)
    limit = group.add_mutually_exclusive_group()  # both (and --headroom) give the rate option
    limit.add_argument("--rate", **_argument(recorded_options.BY_NAME["rate"], command))
    plans = ", ".join(f"{plan} {calls}/{PLAN_PERIOD:g}" for plan, calls in PLAN_CALLS.items())
    limit.add_argument("--plan", choices=list(PLAN_CALLS), help=f"use the limit of this LeadSquared plan ({plans})")
    # No argparse defaults (see _given): the defaults shown are the registry's.
    default = "" if _takes_the_runs(recorded_options.BY_NAME["rate"], command) else f" (default: {NO_HEADROOM:g})"
    group.add_argument(
        "--headroom", type=_argparse_type(PERCENT), metavar="P",
        help=f"percent of the limit to leave for other integrations sharing the account: --plan enterprise --headroom 20 sends at 20/5{default}",
    )
    add_registered_options(group, SENDING, command)


def add_dry_run_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="send nothing: check the sheet as `check` does, and write the report a run would write")


def add_display_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_resume_options(parser: argparse.ArgumentParser, restart: bool = True) -> None:
    """Stopping, resuming and starting over."""
    group = parser.add_argument_group(RESUMING)
    if restart:
        group.add_argument("--restart", action="store_true", help="DIR holds another run (finished, or of another input): replace it and start over")
    add_registered_options(group, RESUMING, _command_name(parser))


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bulk-updater")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _command(commands, name: str, handler) -> argparse.ArgumentParser:
    doc = inspect.cleandoc(handler.__doc__ or "")
    parser = commands.add_parser(
        name, help=doc.splitlines()[0], description=doc, epilog=cli_examples.epilog(name), formatter_class=argparse.RawDescriptionHelpFormatter
    )
    if name in cli_examples.OWN_OPTIONS:
        # argparse's heading for the flags in no group ("options") says nothing; it has no public way to name it.
        parser._optionals.title = cli_examples.OWN_OPTIONS[name]
    parser.set_defaults(handler=handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    interrupts.install()  # again: a caller in the same process may have replaced them
    _escape_what_output_cannot_show()
    try:
        with interrupts.inside_main():
            code = _main(argv)
            sys.stdout.flush()  # here, where a closed pipe can still be caught
            return code
    except BrokenPipeError as exc:
        _silence_stdout()
        return exit_codes.for_error(exc)
    except interrupts.Stopped as exc:  # while parsing the options or printing the last lines
        print(f"Stopped ({exc.name}).", file=sys.stderr)
        return exit_codes.for_error(exc)
    except OSError as exc:  # stdout itself can't be written: a full disk, > /dev/full
        _silence_stdout()
        print(f"Error: can't write to standard output ({exc.strerror or exc}).", file=sys.stderr)
        return exit_codes.for_error(exc)


def _main(argv: Sequence[str] | None) -> int:
    # Everything printed, tracebacks included, passes through the redaction of the keys.
    with redacting_output(), warnings.catch_warnings():
        warnings.simplefilter("always", BulkUpdaterWarning)
        warnings.showwarning = _print_warning
        argv = sys.argv[1:] if argv is None else list(argv)
        if not argv:  # a bare `bulk-updater`: what it does and its commands, not a usage error
            build_parser().print_help()
            return exit_codes.OK
        args = build_parser(argv[0] if argv else None).parse_args(argv)
        try:
            return args.handler(args)
        except BulkUpdaterError as exc:
            print(f"Error: {exc}", file=sys.stderr)
            return exit_codes.for_error(exc)
        except interrupts.Stopped as exc:
            # The signal may have landed in any task of the run's event loop; asyncio would then log
            # that task's "exception never retrieved", with a traceback, as the process ends. The
            # stop is reported here, once.
            logging.getLogger("asyncio").disabled = True
            print(_stopped_message(exc, args), file=sys.stderr)
            return exit_codes.for_error(exc)
        except KeyboardInterrupt as exc:
            print("Interrupted.", file=sys.stderr)
            return exit_codes.for_error(exc)
        except BrokenPipeError:
            raise  # stdout was closed (`| head`): nothing more to say, and nowhere to say it
        except OSError as exc:
            if exc.filename is None:
                raise  # writing stdout failed: main says so
            return _os_error(exc)
        except Exception as exc:
            return _crashed(exc)


def _print_warning(message, category, *_args, **_kwargs) -> None:
    """The library's warnings, for people: `Warning: ...` on stderr; Python's own as Python shows them."""
    if issubclass(category, BulkUpdaterWarning):
        print(f"Warning: {message}", file=sys.stderr)
    else:
        print(warnings.formatwarning(message, category, *_args[:2]), file=sys.stderr, end="")


def _stopped_message(exc: interrupts.Stopped, args: argparse.Namespace) -> str:
    """A stop outside the sending window: at start-up, during the key check, or the final writes."""
    if args.command not in ("run", "retry", "resume") or getattr(args, "dry_run", False):
        return f"Stopped ({exc.name})."
    return (
        f"Stopped ({exc.name}). Nothing is lost: every row that finished is in the report, and each other file is whole or absent. "
        f"To finish the job, run the same command again, or: bulk-updater resume {shell_quote(args.out)}"
    )


def _os_error(exc: OSError) -> int:
    """An operating-system error on a file outside the run folder (the input, --map, --env-file): a plain message.

    (The run folder's files raise FolderError, which says more: files.py.)
    """
    print(f"Error: {exc.filename}: {exc.strerror or exc}. Fix it, then run the same command again.", file=sys.stderr)
    return exit_codes.for_error(exc)


def _escape_what_output_cannot_show() -> None:
    """Output to a file or a pipe on Windows is in the system's code page (cp1252): a value quoted
    from the sheet (李四) would fail the command. Such characters are written escaped (\\u674e)."""
    streams: tuple[Any, ...] = (sys.stdout, sys.stderr)  # TextIOWrapper's reconfigure, where they are one
    for stream in streams:
        if not _shows_every_character(stream):
            with contextlib.suppress(AttributeError, ValueError, io.UnsupportedOperation):
                stream.reconfigure(errors="backslashreplace")


def _shows_every_character(stream: Any) -> bool:
    try:
        unicode = codecs.lookup(getattr(stream, "encoding", None) or "utf-8").name.startswith("utf")
    except LookupError:
        unicode = False
    return unicode or getattr(stream, "errors", "strict") != "strict"


def _silence_stdout() -> None:
    """stdout was closed early (`bulk-updater check big.csv | head -2`) or can't be written.

    Python flushes stdout once more at exit; point it at /dev/null so that flush can't fail
    and print a traceback.
    """
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _crashed(exc: Exception) -> int:
    """An unexpected error (a bug): show the traceback, keys masked, and say where the work stands."""
    traceback.print_exc()
    print("Error: bulk-updater stopped on an unexpected error (above, with the keys masked). "
          "Rows finished before it are in the report.", file=sys.stderr)
    return exit_codes.for_error(exc)


if __name__ == "__main__":
    sys.exit(main())
