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


def test_no_public_name_is_also_a_module_of_the_package():
    """One name, one meaning: importing a module sets the package's attribute of its name, so a module or subpackage
    named like a public function would replace it (`from bulk_updater import run, retry` gave the retry subpackage).
    Mutant: checking.py named check.py again, or history/ named retry/."""
    package = ROOT / "bulk_updater"
    modules = {path.stem for path in package.glob("*.py")} | {path.name for path in package.iterdir() if (path / "__init__.py").exists()}
    assert not modules & set(bulk_updater.__all__), modules & set(bulk_updater.__all__)


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


def test_the_public_functions_pickle_as_themselves():
    """A process pool (spawn: macOS and Windows) sends the function it runs by name: `bulk_updater.run` must be found
    again under the name it pickles as. Mutant: the wrapped function keeps its module's name (bulk_updater.job.run,
    which is the unwrapped function: PicklingError)."""
    import pickle

    for name in ("check", "credentials_from", "environment", "host_url", "resume", "retry", "run", "undo", "verify", "whoami"):
        function = getattr(bulk_updater, name)
        assert pickle.loads(pickle.dumps(function)) is function, name


def test_retry_and_check_are_the_functions_whatever_was_imported_first():
    """`from bulk_updater import run, retry` (the docstring's example) after the modules behind them were imported,
    in a fresh interpreter, where the order of imports is what matters. Mutant: history/ named retry/ again."""
    script = (
        "import bulk_updater.history.rerun, bulk_updater.checking, bulk_updater.job\n"
        "from bulk_updater import run, retry, check\n"
        "import bulk_updater\n"
        "assert callable(retry) and retry is bulk_updater.retry, retry\n"
        "assert callable(check) and check is bulk_updater.check, check\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
