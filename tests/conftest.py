"""Shared fixtures: a sandbox on a free loopback port, and the CLI run in process or in a subprocess."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bulk_updater.sandbox import SandboxConfig, SandboxThread
from bulk_updater.settings import Rate

# Fast enough that tests not about the rate never wait on it.
FAST_RATE = Rate(1000, 1)


def new_ids(count: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(count)]


def untouched(ids: list[str]) -> dict[str, dict]:
    """Sandbox activities holding a note and a field (mx_Other) that no row sets, as real ones do: the canary's
    first check could show blanking there, so it decides. The sandbox's own are empty: each row would go alone."""
    return {i: {"ActivityNote": "a note", "Fields": {"mx_Other": "untouched"}} for i in ids}


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return path


def read_report(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


@pytest.fixture(autouse=True)
def _ledger_of_the_test(tmp_path_factory, monkeypatch):
    """Each test's ledgers of calls (calls/ledger.py) live in a folder of its own, never in the user's
    state folder: set for subprocesses, and for code that runs in process with another environment."""
    folder = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("BULK_UPDATER_STATE_DIR", str(folder))
    monkeypatch.setattr("bulk_updater.calls.ledger.state_folder", lambda: Path(os.environ.get("BULK_UPDATER_STATE_DIR") or folder))
    return folder


@pytest.fixture
def sandbox():
    """Start a sandbox with the given config fields; stopped after the test."""
    started: list[SandboxThread] = []

    def start(**fields) -> SandboxThread:
        fields.setdefault("rate", FAST_RATE)
        thread = SandboxThread(SandboxConfig(**fields)).__enter__()
        started.append(thread)
        return thread

    yield start
    for thread in started:
        thread.__exit__(None, None, None)


def cli_env(box: SandboxThread | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LSQ_")}
    if box is not None:
        env.update(LSQ_HOST=box.url, LSQ_ACCESS_KEY=box.config.access_key, LSQ_SECRET_KEY=box.config.secret_key)
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run the CLI in process, as an admin would from a shell (its own environment, no terminal on
    stdin), and capture what it prints. Tests about the process boundary use `run_cli_process`."""
    from bulk_updater import cli

    out, err = io.StringIO(), io.StringIO()
    with _environment(env if env is not None else cli_env()), _no_terminal(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(list(args))
        except SystemExit as exc:  # argparse's usage errors and --help
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def run_cli_process(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess: for tests about signals, exit codes of a process, or import-time faults."""
    return subprocess.run(
        [sys.executable, "-m", "bulk_updater", *args],
        env=env if env is not None else cli_env(),
        stdin=subprocess.DEVNULL,  # never a terminal: the CLI must not stop to ask for keys
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# What `bulk` adds to a command that does not give it; a test module may set its own BULK_OPTIONS.
BULK_OPTIONS = {"--rate": "1000/1", "--no-progress": None}
# verify takes no progress bar and sends nothing but reads: only the rate applies to it.
_VERIFY_OPTIONS = {"--rate"}


@pytest.fixture
def bulk(request, monkeypatch, capsys):
    """`bulk(box, "run", ...)`: the CLI in process against the sandbox `box`; returns (exit code,
    stdout, stderr). Each of the module's BULK_OPTIONS the command does not give is added."""
    from bulk_updater import cli

    defaults: dict[str, str | None] = getattr(request.module, "BULK_OPTIONS", BULK_OPTIONS)

    def call(box: SandboxThread, *args: str) -> tuple[int, str, str]:
        monkeypatch.setenv("LSQ_HOST", box.url)
        monkeypatch.setenv("LSQ_ACCESS_KEY", box.config.access_key)
        monkeypatch.setenv("LSQ_SECRET_KEY", box.config.secret_key)
        added: list[str] = []
        for flag, value in defaults.items():
            if flag not in args and (args[0] != "verify" or flag in _VERIFY_OPTIONS):
                added += [flag] if value is None else [flag, value]
        code = cli.main([*args, *added])
        out = capsys.readouterr()
        return code, out.out, out.err

    return call


def cli_commands() -> list[str]:
    """The commands `bulk-updater --help` lists, so a new command is covered by the tests over all of them."""
    listing = run_cli("--help").stdout.split("COMMAND", 2)[-1].split("options:")[0]
    return re.findall(r"^    (\w+) ", listing, flags=re.MULTILINE)


@contextlib.contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _no_terminal() -> Iterator[None]:
    saved, sys.stdin = sys.stdin, io.StringIO("")
    try:
        yield
    finally:
        sys.stdin = saved


@pytest.fixture
def mocked():
    """aioresponses: aiohttp calls answered from a script, for the client's unit tests."""
    import aioresponses

    with aioresponses.aioresponses() as mock:
        yield mock
