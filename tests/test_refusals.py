"""Every file in the corpus of unusable inputs is refused with its message: by the library, and by
the real CLI (exit 2, "Error: ...", no traceback, nothing sent)."""

from __future__ import annotations

import argparse

import pytest
from bad_inputs import CASES, BadInput
from conftest import cli_env, run_cli

from bulk_updater.checking import check
from bulk_updater.cli import add_input_options
from bulk_updater.errors import InputError
from bulk_updater.rows import ReadOptions

IDS = [case.name for case in CASES]


def _expected(case: BadInput, path) -> list[str]:
    return [part.replace("{path}", str(path)) for part in case.expected]


def _options(cli_options: list[str]) -> ReadOptions:
    """The library's ReadOptions for the case's CLI flags (the input options' own names)."""
    parser = argparse.ArgumentParser()
    add_input_options(parser)
    args = parser.parse_args(cli_options)
    return ReadOptions(sheet=args.sheet, encoding=args.encoding, delimiter=args.delimiter, timezone=args.timezone, map_path=args.map)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_library_refuses_with_a_message_saying_what_and_where(tmp_path, case):
    path, cli_options = case.build(tmp_path)
    with pytest.raises(InputError) as refused:
        check(path, _options(cli_options))
    for part in _expected(case, path):
        assert part in str(refused.value)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_cli_check_exits_2_with_the_message(tmp_path, case):
    path, cli_options = case.build(tmp_path)
    result = run_cli("check", str(path), *cli_options)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("Error: ") and "Traceback" not in result.stderr
    for part in _expected(case, path):
        assert part in result.stderr


@pytest.mark.parametrize("case", [c for c in CASES if c.name in ("header only", "password-protected workbook", "bad bytes in the chosen encoding")], ids=lambda c: c.name)
def test_cli_run_sends_nothing_and_writes_no_report(tmp_path, sandbox, case):
    box = sandbox()
    path, cli_options = case.build(tmp_path)
    out = tmp_path / "out"
    result = run_cli("run", str(path), "--out", str(out), "--no-progress", *cli_options, env=cli_env(box))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert box.state.calls == 0 and not out.exists()
