"""The safety net where a real process matters: kill -9 during a --backup run, and the question at a terminal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import cli_env, new_ids, read_report, run_cli, write_csv

FAST = ["--rate", "1000/1", "--no-progress"]


def state(box, ids):
    out = {}
    for i in ids:
        activity = box.state.activities.get(i, {"ActivityNote": None, "Fields": {}})
        out[i] = (activity["ActivityNote"] or "", {k: v for k, v in activity["Fields"].items() if v})
    return out


@pytest.mark.e2e
def test_kill_9_during_a_backup_run_then_resume_then_undo_leaves_the_state_as_before(tmp_path, sandbox):
    ids = new_ids(60)
    # mx_Other, which no row sets: the canary's first check decides, and the rows go three at a time.
    initial = {i: {"ActivityNote": f"was {n}", "Fields": {"Status": "Open", "mx_Other": "x"} if n % 2 else {"mx_Other": "x"}} for n, i in enumerate(ids)}
    box = sandbox(initial=json.loads(json.dumps(initial)), latency=(0.08, 0.08))
    before = state(box, ids)
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "ActivityNote", "Status"], *[[i, f"now {n}", "Won"] for n, i in enumerate(ids)]])
    out = tmp_path / "run"
    command = ["run", str(sheet), "--out", str(out), "--backup", *FAST, "--concurrency", "3"]
    process = subprocess.Popen([sys.executable, "-m", "bulk_updater", *command], env=cli_env(box), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not ((out / "report.csv").exists() and len(read_report(out / "report.csv")) >= 12):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert len(read_report(out / "report.csv")) < 60  # killed mid-run
    snapshots = len(read_report(out / "undo.csv"))
    assert snapshots >= len(set(box.state.applied))  # no activity that may have changed lacks its snapshot
    with (out / "undo.csv").open("a", encoding="utf-8") as f:
        f.write(f"{ids[-1]},was")  # as if the kill had cut a snapshot line short (its update was never sent)

    resumed = run_cli(*command, env=cli_env(box))
    assert resumed.returncode == 0, resumed.stderr
    assert len(read_report(out / "undo.csv")) == 60
    assert all(note.startswith("now") for note, _ in state(box, ids).values())

    undone = run_cli("undo", str(out), "--out", str(tmp_path / "undo"), *FAST, env=cli_env(box))

    assert undone.returncode == 0, undone.stderr
    assert state(box, ids) == before


def ask(box, tmp_path, *options: str, answer: bytes | None) -> tuple[int, str]:
    """Run with stdin on a terminal (a pty); answer the question if it comes; return (exit code, stderr)."""
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in new_ids(3)]])
    controller, terminal = os.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "bulk_updater", "run", str(sheet), "--out", str(tmp_path / f"out{time.monotonic_ns()}"), *FAST, *options],
        env=cli_env(box), stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    os.close(terminal)
    try:
        if answer is not None:
            seen = b""
            while b"Continue? [y/N]" not in seen:
                chunk = os.read(process.stderr.fileno(), 4096)
                assert chunk, f"the CLI never asked: {seen!r}"
                seen += chunk
            os.write(controller, answer)
            _, rest = process.communicate(timeout=60)
            return process.returncode, (seen + rest).decode()
        _, err = process.communicate(timeout=60)
        return process.returncode, err.decode()
    finally:
        os.close(controller)


@pytest.mark.e2e
def test_at_a_terminal_the_run_asks_before_sending(tmp_path, sandbox):
    box = sandbox()

    code, err = ask(box, tmp_path, answer=b"n\n")
    assert code == 1 and "About to update 3 rows (3 activities)" in err and "Nothing was sent." in err
    assert box.state.calls == 0
    assert not list(tmp_path.glob("out*/run.json"))  # no run left behind to resume or refuse

    code, err = ask(box, tmp_path, answer=b"y\n")
    assert code == 0, err
    assert box.state.calls == 3

    code, err = ask(box, tmp_path, "--yes", answer=None)
    assert code == 0 and "About to update 3 rows" in err and "Continue?" not in err
    assert box.state.calls == 6


@pytest.mark.e2e
def test_without_a_terminal_nobody_is_asked(tmp_path, sandbox):
    box = sandbox()
    sheet = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in new_ids(3)]])

    result = run_cli("run", str(sheet), "--out", str(tmp_path / "out"), *FAST, env=cli_env(box))  # stdin: /dev/null

    assert result.returncode == 0, result.stderr
    assert "About to update 3 rows" in result.stderr and "Continue?" not in result.stderr
    assert box.state.calls == 3
