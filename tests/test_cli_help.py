"""`--help` that teaches: examples that parse, headings that say what the options are, no default where it doesn't apply."""

from __future__ import annotations

import re
import shlex

import pytest
from conftest import cli_commands, run_cli

from bulk_updater import cli
from bulk_updater.cli_examples import EXAMPLES


def _help(command: str) -> str:
    result = run_cli(command, "--help")
    assert result.returncode == 0, result.stderr
    return " ".join(result.stdout.split())  # argparse wraps lines: compare words


def test_every_command_ends_its_help_with_three_or_four_examples():
    for command in cli_commands():
        assert 3 <= len(EXAMPLES.get(command, [])) <= 4, command
        shown = _help(command)
        assert "examples:" in shown and all(" ".join(line.split()) in shown for line, _ in EXAMPLES[command]), command


@pytest.mark.parametrize("command,line", [(command, line) for command, examples in EXAMPLES.items() for line, _ in examples])
def test_each_example_parses(command, line):
    program, *argv = shlex.split(line)
    assert program == "bulk-updater" and argv[0] == command
    try:
        args = cli.build_parser(command).parse_args(argv)
    except SystemExit as exc:  # argparse's refusal of a flag or value that no longer exists
        pytest.fail(f"{line!r} does not parse (exit {exc.code})")
    assert args.command == command


def test_resume_shows_no_default_a_resume_does_not_use():
    shown = _help("resume")
    defaults = re.findall(r"\(default: ([^)]*)\)", shown)
    assert defaults and set(defaults) == {"the run's"}
    assert "(default: 25/5)" in _help("run")  # a new run still shows its defaults


def test_verify_says_its_sending_options_pace_its_reads_and_has_no_progress():
    result = run_cli("verify", "--help")
    assert "\nsending:" not in result.stdout and "\nreading back:" in result.stdout
    assert "--no-progress" in result.stdout
    shown = _help("verify")
    assert "--rate N/S at most N calls in any S seconds, at least 1 call in more than 0 seconds (default: the run's)" in shown
    assert "--max-calls" not in shown  # verify never honoured it: its reads are not the run's calls


def test_no_command_heads_its_own_options_with_a_bare_options():
    for command in ("run", "retry", "resume", "undo", "verify", "demo", "ui", "sandbox"):
        assert "\noptions:" not in run_cli(command, "--help").stdout, command
