"""Options as data: each option is one dataclass field whose metadata the CLI, the page, the library,
run.json and the docs all read, so no default, check or list of names is written twice."""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
from pathlib import Path

import pytest
from cogapp import Cog
from conftest import new_ids, untouched, write_csv

from bulk_updater import cli, job, options
from bulk_updater.credentials import Credentials
from bulk_updater.errors import InputError
from bulk_updater.job import Hooks, JobOptions
from bulk_updater.option_spec import FLAG, SEND, TEXT
from bulk_updater.option_spec import option as declared_option
from bulk_updater.options import BY_NAME, DEFAULTS, OPTIONS, VERIFY_TAKES, RunOptions
from bulk_updater.rows import ReadOptions
from bulk_updater.rundir.run_record import RunRecord
from bulk_updater.settings import Rate, SendSettings
from bulk_updater.stopping import StopToken
from bulk_updater.ui import options_screen as page
from bulk_updater.ui.verifying import verify_send

ROOT = Path(__file__).parent.parent
HOST = "https://api-in21.leadsquared.com"
KEYS = Credentials("access-key-0123", "secret-key-0123")

# The options of a run.json as bulk-updater 0.1.0 wrote it before options were fields (its key order, every value not the default).
OLD_RUN_JSON_OPTIONS = {
    "read": {"sheet": "Edits", "map_path": None, "timezone": "Asia/Kolkata", "encoding": "utf-16", "delimiter": ";", "clear_token": "#CLR", "map_sha256": None},
    "send": {
        "rate": "1000/1", "host": HOST, "check_region": False, "concurrency": 1, "max_attempts": 3, "timeout": 9.0, "jitter": 0.2, "max_calls": 2,
        "stop_wait": 4.0, "throttle_timeout": 50.0, "canary": False, "accept_spreadsheet_changes": True,
    },
    "record": {"backup": True, "keep_going": True, "stop_after_failures": 7},
}


def _flags(command: str) -> dict[str, argparse.Action]:
    return _flags_of(cli.build_parser(), command)


# --- run.json keeps its shape -------------------------------------------------------------------


def test_an_old_run_folders_options_come_back_whole_and_are_recorded_again_the_same():
    """Mutants: an option renamed (old folders lose it), moved to another class, or its JSON form changed (rate)."""
    restored = options.restore(OLD_RUN_JSON_OPTIONS)
    assert set(restored) == set(BY_NAME)
    assert restored["rate"] == Rate(1000, 1) and restored["check_region"] is False and restored["max_calls"] == 2
    send, job_options = job.settings_from(restored, KEYS)
    again = options.recorded(options.values_of(job_options.read, job_options, send), None)
    assert again == OLD_RUN_JSON_OPTIONS


def test_every_option_is_recorded_in_the_class_it_had():
    """The option classes (docs/design.md, "Options a run records"): read options refuse a change, send options apply it, record options are kept."""
    by_class = {kind: {option.name for option in OPTIONS if option.kind == kind} for kind in options.CLASSES}
    assert by_class == {kind: set(names) - {options.MAP_HASH} for kind, names in OLD_RUN_JSON_OPTIONS.items()}


# --- one field: the registry, the CLI, the library ------------------------------------------------


def test_the_registry_is_the_fields_that_declare_an_option():
    declared = [field.name for holder in (ReadOptions, SendSettings, RunOptions) for field in dataclasses.fields(holder) if field.metadata]
    assert [option.name for option in OPTIONS] == declared
    assert len({option.flag for option in OPTIONS}) == len(OPTIONS) and all(option.help for option in OPTIONS)
    # Not recorded: the reader's own switches, the keys, this command's choices and the caller's hooks.
    assert not {"strict_utf8", "mixed_lines", "credentials", "restart", "force", "unverified_account", "hooks", "progress", "on_outcome"} & set(BY_NAME)


@pytest.mark.parametrize("command", ["run", "retry", "resume", "undo", "verify", "check"])
def test_each_flag_of_an_option_has_its_fields_help_default_and_parser(command):
    """Mutant: a flag added by hand in cli.py with its own help, default or check, which then drifts from the field's."""
    flags = _flags(command)
    for option in OPTIONS:
        if option.flag not in flags:
            continue
        action = flags[option.flag]
        # resume takes the run's options, verify the run's host and pace: their help says so, not the default
        runs = command == "resume" or (command == "verify" and option.name in options.VERIFY_TAKES)
        assert action.help == (f"{option.help} (default: the run's)" if runs else option.cli_help) and action.default is None, option.flag
        if option.value is not FLAG and option.value is not TEXT:  # the field's parser, and its refusal
            good, bad = ("7/1", "0/1") if option.name == "rate" else ("7", "-1")
            assert action.type(good) == option.value.parse(good), option.flag  # type: ignore[misc, operator]
            with pytest.raises(argparse.ArgumentTypeError, match=option.value.wanted.replace("?", "\\?")):
                action.type(bad)  # type: ignore[misc, operator]


def test_a_new_option_field_is_a_flag_of_the_cli_and_given_by_name(monkeypatch):
    """Adding an option is one field and its help. Mutant: the CLI adds flags from a list of its own."""

    @dataclasses.dataclass(frozen=True)
    class Holder:
        pause: float = declared_option(SEND, "--pause", "seconds between two calls", default=0.5, value=options.SECONDS, metavar="S", group="sending")

    extra = options.options_of(Holder)
    monkeypatch.setattr(options, "OPTIONS", (*OPTIONS, *extra))
    parser = cli.build_parser("run")
    assert _flags_of(parser, "run")["--pause"].help == "seconds between two calls (default: 0.5)"
    args = parser.parse_args(["run", "in.csv", "--out", "out", "--pause", "2"])
    # Private on purpose: the step from parsed flags to the recorded options, short of starting a whole run.
    assert cli._given(args, resuming=False)["pause"] == 2.0


def _flags_of(parser: argparse.ArgumentParser, command: str) -> dict[str, argparse.Action]:
    # argparse's own privates: it has no public way to list a parser's subcommands and their options.
    parsers = {action.dest: action for action in parser._actions}["command"].choices  # type: ignore[union-attr]
    return {flag: action for action in parsers[command]._actions for flag in action.option_strings}


# --- defaults and checks live once ----------------------------------------------------------------


def test_the_library_the_page_and_the_cli_start_from_the_same_defaults():
    """Mutant: a default written again (the page's concurrency 25 -> 20, SendSettings' timeout...) and changed in one place only."""
    send, job_options = job.settings_from({"host": HOST}, KEYS)
    assert options.values_of(job_options.read, job_options, send) == DEFAULTS | {"host": HOST}
    assert options.values_of(ReadOptions(), JobOptions(), SendSettings(HOST, KEYS)) == DEFAULTS | {"host": HOST}
    choices = page.SendChoices()
    assert {name: getattr(choices, name) for name in (*page.NUMBERS, "backup", "keep_going", "canary")} == {
        name: DEFAULTS[name] for name in (*page.NUMBERS, "backup", "keep_going", "canary")
    }
    assert choices.limit == DEFAULTS["rate"]
    assert page.parse_choices({}) == choices  # blank fields: the defaults


# Each kind of value: a text it refuses, the value a library caller would give for it, and what the refusal says it must be.
BAD = [
    ("concurrency", "0", 0, "a whole number of 1 or more"),
    ("concurrency", "2.5", 2.5, "a whole number of 1 or more"),
    ("max_attempts", "-1", -1, "a whole number of 1 or more"),
    ("stop_after_failures", "0", 0, "a whole number of 1 or more"),
    ("timeout", "0", 0.0, "a number of seconds above 0"),
    ("timeout", "nan", float("nan"), "a number of seconds above 0"),
    ("timeout", "inf", float("inf"), "a number of seconds above 0"),
    ("throttle_timeout", "-5", -5.0, "a number of seconds above 0"),
    ("stop_wait", "0", 0.0, "a number of seconds above 0"),
    ("jitter", "-0.1", -0.1, "a number of seconds, 0 or more"),
    ("max_calls", "0", 0, "a whole number of 1 or more"),
    ("rate", "10/0", "10/0", "a rate: write it as CALLS/SECONDS"),
]


@pytest.mark.parametrize(("name", "text", "value", "wanted"), BAD)
def test_the_cli_the_page_and_the_library_refuse_the_same_values(name, text, value, wanted, capsys):
    """Mutant: one front end's check written again and loosened (the page's timeout accepting 0, the CLI's jitter accepting -1)."""
    option = BY_NAME[name]
    command = ["run", "in.csv", "--out", "out", option.flag, text]
    with pytest.raises(SystemExit) as refused:
        cli.main(command)
    assert refused.value.code == 2 and f"{text!r} is not {wanted}" in capsys.readouterr().err
    if name in page.NUMBERS:
        with pytest.raises(InputError, match=f"{name.replace('_', ' ')} {text!r} is not {wanted}"):
            page.parse_choices({name: text})
    with pytest.raises(InputError, match=name):
        SendSettings(HOST, KEYS, **{name: value}) if option.holder is SendSettings else JobOptions(**{name: value})


def test_the_page_reads_a_field_as_the_cli_reads_its_flag():
    choices = page.parse_choices({"concurrency": "3", "max_attempts": " 2 ", "timeout": "9.5", "stop_after_failures": "7", "headroom": "20", "plan": "pro"})
    assert (choices.concurrency, choices.max_attempts, choices.timeout, choices.stop_after_failures) == (3, 2, 9.5, 7)
    assert choices.limit == Rate(4, 5)  # pro (5/5) less 20%, as --plan pro --headroom 20


# --- hooks are not options --------------------------------------------------------------------------


def test_hooks_given_by_their_old_names_land_in_hooks_and_nowhere_in_the_record():
    """Mutant: JobOptions' compatibility keywords dropping one (a stop_token that never stops the job)."""
    token, listen, confirm = StopToken(), (lambda outcome: None), (lambda line: True)
    by_name = JobOptions(progress=False, on_outcome=listen, stop_token=token, handle_signals=True, confirm=confirm, confirm_asks=False, backup=True)
    hooks = Hooks(progress=False, on_outcome=listen, stop_token=token, handle_signals=True, confirm=confirm, confirm_asks=False)
    assert by_name.hooks == hooks and by_name == JobOptions(backup=True, hooks=hooks)
    assert dataclasses.replace(by_name, clear_token="X").hooks == hooks  # job.py replaces fields of the options it was given
    assert JobOptions(hooks=Hooks(progress=False), stop_token=token).hooks == Hooks(progress=False, stop_token=token)
    recorded = options.values_of(by_name.read, by_name, SendSettings(HOST, KEYS))
    assert not set(recorded) & {field.name for field in dataclasses.fields(Hooks)}


# --- verify takes one list --------------------------------------------------------------------------


def test_the_cli_and_the_page_verify_at_the_pace_the_run_recorded(tmp_path, monkeypatch, capsys):
    """Mutant: the page's or the CLI's own list of what verify takes from the run, missing one (throttle_timeout, jitter)."""
    values = options.restore(OLD_RUN_JSON_OPTIONS)
    RunRecord.new("run", write_csv(tmp_path / "in.csv", [["CompanyActivityId"]]), options=OLD_RUN_JSON_OPTIONS).save(tmp_path)
    used: list[SendSettings] = []

    class Nothing:
        counts = {"match": 1}

        def lines(self):
            return []

    monkeypatch.setattr(cli.verifying, "verify", lambda run_dir, send, unverified, **_: used.append(send) or Nothing())
    monkeypatch.setenv("LSQ_ACCESS_KEY", KEYS.access_key)
    monkeypatch.setenv("LSQ_SECRET_KEY", KEYS.secret_key)
    monkeypatch.delenv("LSQ_HOST", raising=False)
    assert cli.main(["verify", str(tmp_path)]) == 0
    [from_cli] = used
    from_page = verify_send(tmp_path, SendSettings("https://api.leadsquared.com", KEYS))
    assert VERIFY_TAKES == tuple(option.name for option in OPTIONS if option.holder is SendSettings)
    for name in VERIFY_TAKES:
        assert getattr(from_cli, name) == values[name], name
        if name not in ("host", "check_region"):  # the page's own connection gives these
            assert getattr(from_page, name) == values[name], name
    assert from_page.host == "https://api.leadsquared.com" and from_page.check_region is True


# --- an undo resumed with --force ---------------------------------------------------------------------


def test_an_undo_resumed_with_force_says_so_and_finishes(tmp_path, bulk, sandbox):
    """It crashed (KeyError: 'force') naming the change: force is recorded beside the options, not among them."""
    ids = new_ids(3)
    box = sandbox(activities=set(ids), initial=untouched(ids))  # the canary's first check decides: the rest go together
    path = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in ids]])
    assert bulk(box, "run", str(path), "--out", str(tmp_path / "run"), "--backup", "--yes")[0] == 0
    undo = ["undo", str(tmp_path / "run"), "--out", str(tmp_path / "undo"), "--yes"]
    assert bulk(box, *undo, "--max-calls", "3", "--concurrency", "1")[0] == 1  # stopped by its budget, resumable

    code, _, err = bulk(box, *undo, "--force", "--max-calls", "none")

    assert code == 0, err
    assert "Resuming with --max-calls None (was 3), --force True (was False)." in err
    assert json.loads((tmp_path / "undo" / "run.json").read_text())["options"]["record"]["force"] is True


# --- the docs are the registry's ---------------------------------------------------------------------


def test_the_docs_tables_and_the_cli_reference_are_what_make_docs_writes(monkeypatch):
    """`make docs-check` in the fast suite too. Mutant: a flag's help changed without `make docs` (or a table edited by hand)."""
    monkeypatch.chdir(ROOT)
    [pages] = re.findall(r"^DOCS := (.+)$", (ROOT / "Makefile").read_text(), flags=re.M)
    assert Cog().main(["cog", "--check", *pages.split()]) == 0
    generated = "".join((ROOT / page).read_text(encoding="utf-8") for page in pages.split())
    assert generated.count("[[[cog") >= 4 and "`--no-canary`" in (ROOT / "docs" / "commands.md").read_text()  # the sending table, written from the parser, misses no flag
    reference = (ROOT / "docs" / "cli.md").read_text()
    for option in OPTIONS:
        assert f"`{option.flag}" in reference and option.help.replace("|", "\\|") in reference, option.flag
