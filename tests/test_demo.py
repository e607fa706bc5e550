"""`bulk-updater demo`: the sample sheet run, verified and undone against a sandbox in the same
process, in a new folder each time; and the sandbox's lines for the admin's shell."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from bulk_updater import cli, demo
from bulk_updater.credentials import read_env_file
from bulk_updater.sandbox.server import DEMO_ACCESS_KEY, SandboxConfig, connection_lines

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.e2e  # a whole flow of several commands: the slow tier keeps make test under a minute
def test_the_demo_runs_backs_up_verifies_and_undoes_in_its_own_folder(tmp_path, monkeypatch, capsys):
    """Mutant: the undo step left out of the demo's steps (the activities would stay as the run wrote them: exit 1)."""
    real = demo.sandbox_config
    monkeypatch.setattr(demo, "sandbox_config", lambda: real(rate=None, latency=(0.0, 0.0)))  # the commands pace themselves; no 429 waits
    monkeypatch.chdir(tmp_path)

    code = cli.main(["demo", "--no-progress"])

    printed = capsys.readouterr().out
    assert code == 0, printed
    folder = tmp_path / "demo-out"
    assert (folder / "activities.csv").read_bytes() == demo.sample_sheet()
    for step in ("run demo-out/activities.csv --out demo-out/run --backup", "verify demo-out/run", "undo demo-out/run --out demo-out/undo"):
        assert f"$ bulk-updater {step}" in printed
    assert "every activity is as before the run: yes" in printed
    assert {"report.csv", "report.xlsx", "failed.xlsx", "undo.csv", "verify.csv"} <= {p.name for p in (folder / "run").iterdir()}
    assert (folder / "undo" / "summary.json").exists()
    env = read_env_file(folder / "sandbox.env")  # an env file as the admin will write one
    assert env["LSQ_ACCESS_KEY"] == DEMO_ACCESS_KEY and env["LSQ_HOST"].startswith("http://127.0.0.1:")
    assert stat.S_IMODE((folder / "sandbox.env").stat().st_mode) == 0o600


def test_each_demo_takes_a_new_folder_and_leaves_an_edited_one_alone(tmp_path, monkeypatch):
    """Mutant: mkdir(exist_ok=True) in new_folder (the second demo would write over the first's fixed failed.xlsx)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo-out" / "run").mkdir(parents=True)
    (tmp_path / "demo-out" / "run" / "failed.xlsx").write_bytes(b"the admin's fixes")
    (tmp_path / "demo-out-2").write_text("a file, not a folder, is taken too")

    assert demo.new_folder() == Path("demo-out-3")
    assert demo.new_folder() == Path("demo-out-4")
    assert (tmp_path / "demo-out" / "run" / "failed.xlsx").read_bytes() == b"the admin's fixes"


def test_a_demo_folder_given_that_exists_is_refused_and_left_alone(tmp_path, monkeypatch, capsys):
    """Mutant: given_folder accepting a folder that exists (the demo would write its run into it)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine").mkdir()

    code = cli.main(["demo", "--out", "mine"])

    assert code == 2
    assert "Error: mine already exists" in capsys.readouterr().err
    assert list((tmp_path / "mine").iterdir()) == []


def test_the_sandbox_says_how_to_point_each_shell_at_it():
    """Windows has no `export`: its lines are PowerShell's and Command Prompt's. Mutant: `windows` ignored."""
    unix = "\n".join(connection_lines(SandboxConfig(), "http://127.0.0.1:8765", windows=False))
    windows = "\n".join(connection_lines(SandboxConfig(), "http://127.0.0.1:8765", windows=True))
    assert "export LSQ_HOST=http://127.0.0.1:8765" in unix
    assert '$env:LSQ_HOST = "http://127.0.0.1:8765"' in windows and "set LSQ_HOST=http://127.0.0.1:8765" in windows
    assert "export" not in windows


def test_the_sandbox_for_the_recipes_knows_the_demos_activities_and_fields():
    """`bulk-updater sandbox --demo` (make sandbox). Mutant: --demo parsed but not applied."""
    from bulk_updater.sandbox.server import config_from_args

    config = config_from_args(cli.build_parser("sandbox").parse_args(["sandbox", "--demo"]))
    assert config.initial == demo.sandbox_activities() and config.activities == set(config.initial) and config.fields == demo.FIELDS


def test_make_demo_and_make_sandbox_are_the_commands():
    """`make demo` stays a thin call of `bulk-updater demo`, and `make sandbox` of `sandbox --demo`."""
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo: .*\n\t\$\(VENV\)/bin/bulk-updater demo$", makefile, flags=re.M)
    assert re.search(r"^sandbox: .*\n\t\$\(VENV\)/bin/bulk-updater sandbox --demo$", makefile, flags=re.M)


def test_the_samples_folder_holds_the_demos_sheet_and_activities_as_installed():
    """samples/ is where a reader of the repository finds the sample sheet; the installed copy is the package's."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for name, package in (("activities.csv", "demo"), ("sandbox-activities.json", "sandbox")):
        assert (root / "samples" / name).read_bytes() == (root / "bulk_updater" / package / name).read_bytes(), name
