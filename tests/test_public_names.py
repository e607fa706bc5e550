"""The names docs/python.md shows are exported from `bulk_updater` and typed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import bulk_updater

ROOT = Path(__file__).parent.parent


def _shown_names() -> set[str]:
    text = (ROOT / "docs" / "python.md").read_text(encoding="utf-8")
    names = set(re.findall(r"bulk_updater\.([A-Za-z_]\w*)", text))
    # the errors the page lists by name, and the results it names
    names |= set(re.findall(r"`(\w+Error|StoppedAtOnce|CheckResult|VerifyResult|Identity|JobOptions|Hooks|ReadOptions)`", text))
    return names - {"errors"}  # the module the tree lives in


def test_every_name_the_python_page_shows_is_exported():
    """Mutant: `check`, `whoami` or `ReadOptions` left out of __all__ (or of the names imported on first use)."""
    shown = _shown_names()
    assert {"check", "whoami", "ReadOptions", "run", "SendSettings", "InputError"} <= shown
    missing = shown - set(bulk_updater.__all__)
    assert not missing, missing
    for name in bulk_updater.__all__:
        assert getattr(bulk_updater, name) is not None, name


def test_check_is_the_function_even_once_its_module_is_imported():
    """Mutant: no _Package: importing bulk_updater.check (the CLI does) makes `bulk_updater.check` the module."""
    import bulk_updater.check  # noqa: F401

    assert callable(bulk_updater.check) and bulk_updater.check.__name__ == "check"
    from bulk_updater import check

    assert check is bulk_updater.check


def test_the_package_is_typed_and_its_public_names_type_check(tmp_path):
    assert (ROOT / "bulk_updater" / "py.typed").exists()
    script = tmp_path / "caller.py"
    script.write_text(
        "import bulk_updater\n"
        "from bulk_updater import ReadOptions, check, whoami, CheckResult, Identity\n"
        "result: CheckResult = check('edits.csv', ReadOptions(sheet='Edits'))\n"
        "usable: bool = result.usable\n"
        "def who(send: bulk_updater.SendSettings) -> str:\n"
        "    identity: Identity = whoami(send)\n"
        "    return identity.org\n",
        encoding="utf-8",
    )
    mypy = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", "--strict", "--follow-imports=silent", str(script)], capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "MYPYPATH": str(ROOT)})
    if "No module named mypy" in mypy.stderr:
        pytest.skip("mypy is not installed")
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr


def test_no_module_takes_the_check_module_from_the_package():
    """`from .. import check` gives the library's function, not the module (see bulk_updater._Package): a module of
    the package that meant the module would fail only when its code runs. Mutant: ui/app.py's import put back."""
    import ast

    for path in sorted((ROOT / "bulk_updater").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module in (None, "bulk_updater") and any(alias.name == "check" for alias in node.names):
                pytest.fail(f"{path.relative_to(ROOT)}:{node.lineno}: `from {'.' * node.level}{node.module or ''} import check`: use `from ..check import ...`")


def test_the_public_functions_pickle_as_themselves():
    """A process pool (spawn: macOS and Windows) sends the function it runs by name: `bulk_updater.run` must be found
    again under the name it pickles as. Mutant: the wrapped function keeps its module's name (bulk_updater.job.run,
    which is the unwrapped function: PicklingError)."""
    import pickle

    for name in ("check", "credentials_from", "environment", "host_url", "resume", "retry", "run", "undo", "verify", "whoami"):
        function = getattr(bulk_updater, name)
        assert pickle.loads(pickle.dumps(function)) is function, name


def test_retry_is_the_function_though_a_subpackage_has_its_name():
    """`from bulk_updater import run, retry` (the docstring's example): importing run imports the retry subpackage,
    whose import set the package's `retry` to the module ('module' object is not callable). A fresh interpreter:
    which of the two comes first is what matters. Mutant: _Package lets the import system set `retry`."""
    script = (
        "import bulk_updater.retry.rerun, bulk_updater.check\n"
        "from bulk_updater import run, retry, check\n"
        "import bulk_updater\n"
        "assert callable(retry) and retry is bulk_updater.retry, retry\n"
        "assert callable(check) and check is bulk_updater.check, check\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
