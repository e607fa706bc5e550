"""Errors raised to a library caller name the library's parameters (restart=True), not the CLI's flags (--restart) or
the run folder's internal files; the CLI's own messages keep the flags."""

from __future__ import annotations

import ast
import io
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import cli_env, run_cli

import bulk_updater
from bulk_updater import demo
from bulk_updater.library_wording import library_text

PACKAGE = Path(bulk_updater.__file__).parent
# What only the CLI, the page, the sandbox and the demo say: never raised to a library caller.
NOT_THE_LIBRARYS = ("cli.py", "cli_examples.py", "cli_reference.py", "library_wording.py", "sandbox/", "demo/", "ui/")
FLAG = re.compile(r"(?<![\w-])--[a-z]|bulk-updater (run|retry|resume|undo|verify|check|whoami)\b")


def _send(box) -> bulk_updater.SendSettings:
    return bulk_updater.SendSettings(box.url, bulk_updater.Credentials(box.config.access_key, box.config.secret_key))


def _python_example_twice(tmp_path, sandbox):
    box = sandbox(**vars(demo.sandbox_config()))
    edits = pd.read_csv(io.BytesIO(demo.sample_sheet()), dtype=str, keep_default_na=False)
    out = tmp_path / "runs" / "from-python"
    bulk_updater.run(edits, out, _send(box))
    with pytest.raises(bulk_updater.InputError) as raised:
        bulk_updater.run(edits, out, _send(box))
    return box, out, raised.value


def test_a_second_run_of_the_python_example_names_the_librarys_parameters(tmp_path, sandbox):
    """Mutant: bulk_updater.run is job.run itself (no library wording): the message says --restart and input-<hash>.csv."""
    _, out, error = _python_example_twice(tmp_path, sandbox)
    said = str(error)
    assert "restart=True" in said and "another out_dir" in said and "bulk_updater.retry(" in said
    assert not FLAG.search(said) and "input-" not in said, said
    assert "restart=True" in error.hint and not FLAG.search(error.hint)  # the parts a caller may show alone, too
    assert isinstance(error, bulk_updater.InputError) and str(out) in said


def test_the_cli_still_names_its_flags(tmp_path, sandbox):
    """Mutant: the library's wording applied to what the CLI prints."""
    box = sandbox(**vars(demo.sandbox_config()))
    sheet = tmp_path / "activities.csv"
    sheet.write_bytes(demo.sample_sheet())
    out = tmp_path / "out"
    first = run_cli("run", str(sheet), "--out", str(out), "--yes", env=cli_env(box))
    assert first.returncode in (0, 1), first.stderr
    again = run_cli("run", str(sheet), "--out", str(out), "--yes", env=cli_env(box))
    assert again.returncode == 2 and "--restart" in again.stderr and "restart=True" not in again.stderr


def _messages(path: Path):
    """The string literals of a module (f-strings with their values as placeholders), docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value) for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body
        and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }  # fmt: skip
    parts = {id(value) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for value in node.values}
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = ""
            for value in node.values:
                text += value.value if isinstance(value, ast.Constant) else ("run" if text.endswith("bulk-updater ") else "DIR")
            yield node.lineno, text
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings | parts:
            yield node.lineno, node.value


def test_every_message_that_names_a_flag_has_a_library_wording():
    """Each string of the library's modules that names a flag or suggests a command reads, in the library's words, with neither.
    Mutant: a flag the registry does not know (a new one added by hand) is left as it is."""
    left = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.relative_to(PACKAGE).as_posix().startswith(NOT_THE_LIBRARYS):
            continue
        for line, text in _messages(path):
            if FLAG.search(text) and FLAG.search(worded := library_text(text)):
                left.append(f"{path.name}:{line}: {worded}")
    assert not left, "\n".join(left)


@pytest.mark.parametrize(
    "cli, library",
    [
        ("add --restart to start over", "add restart=True to start over"),
        ("or choose another --out folder.", "or choose another out_dir."),
        ("Resume it with: bulk-updater resume runs/a. Or", "Resume it with: bulk_updater.resume('runs/a', credentials). Or"),
        ("To restore them anyway: bulk-updater undo runs/a --out NEW_DIR --force", "To restore them anyway: bulk_updater.undo('runs/a', NEW_DIR, send, JobOptions(force=True))"),
        ("(bulk-updater undo runs/a --out UNDO_DIR), or", "(bulk_updater.undo('runs/a', UNDO_DIR, send)), or"),
        ("run again with --timezone Asia/Kolkata.", "run again with timezone='Asia/Kolkata'."),
        ("--timezone was 'UTC', this command gives None", "timezone was 'UTC', this command gives None"),
        ("--plan pro is --rate 5/5.", "rate=Rate.resolve(plan='pro') is rate=Rate.parse('5/5')."),
        ("add --no-region-check to send", "add check_region=False to send"),
        ("--max-calls none lifts it", "max_calls=None lifts it"),
        ("a run of runs/a/input-0123456789abcdef.csv; it", "a run of the edits given (spooled in the run folder); it"),
        ("or give --clear-token '#REF!' (quoted: still the flag's value)", "or give clear_token='#REF!' (quoted: still the flag's value)"),
    ],
)
def test_the_wording(cli, library):
    assert library_text(cli) == library


def test_an_unknown_region_is_an_input_error_naming_the_parameter():
    """Mutant: REGIONS[region] looked up bare (a KeyError reaches the caller)."""
    with pytest.raises(bulk_updater.InputError, match=r"'xx' is not a LeadSquared region\nUse host_url\(region=\.\.\.\) with one of: sg, "):
        bulk_updater.host_url(region="xx")


@pytest.mark.parametrize(
    "said",
    [
        "there is no sheet '--restart'",  # a value the message quotes: the user's, whatever it holds
        'the column "Status --force" is not a field',
        "/data/--backup/edits.csv: no such file",  # a path: a folder of the user's named like a flag
        "C:\\runs\\--out\\edits.csv: no such file",
    ],
)
def test_the_users_words_inside_a_message_are_left_as_they_are(said):
    """Mutant: flags rewritten wherever they stand (inside a quoted value, inside a path)."""
    assert library_text(said) == said


def test_an_error_names_the_file_given_as_it_is(tmp_path):
    """The place an error names is the caller's own file: `where` and the message keep it, character for character.
    Mutant: `where` reworded as the message is (a folder named --backup became backup=True)."""
    folder = tmp_path / "--backup" / "a --sheet Edits"
    folder.mkdir(parents=True)
    missing = folder / "edits.csv"
    with pytest.raises(bulk_updater.InputError) as raised:
        bulk_updater.check(missing)
    assert raised.value.where == str(missing)
    assert str(raised.value).startswith(f"{missing}: ")
