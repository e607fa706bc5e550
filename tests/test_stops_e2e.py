"""The real process: signals outside the sending window, a closed pipe, a full stdout, a real
full disk and a read-only folder. All `make test-e2e`.

tests/paused_cli.py runs the real CLI paused at a chosen point, so each signal lands exactly
where the test means it to, with no timing guesses.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import cli_env, new_ids, read_report, run_cli, untouched, write_csv

pytestmark = pytest.mark.e2e

HEADER = ["CompanyActivityId", "ActivityNote", "Status"]
FAST = ["--rate", "1000/1", "--no-progress"]
PAUSED_CLI = Path(__file__).with_name("paused_cli.py")


def sheet(tmp_path: Path, rows: int = 10, note: str = "note") -> Path:
    return write_csv(tmp_path / "in.csv", [HEADER, *[[id_, f"{note} {n}", "Won"] for n, id_ in enumerate(new_ids(rows))]])


def paused(at: str, marker: Path, *args: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(PAUSED_CLI), at, str(marker), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def signal_when_reached(process: subprocess.Popen, marker: Path, sig: int) -> tuple[str, str]:
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the CLI never reached the pause"
        time.sleep(0.01)
    process.send_signal(sig)
    return process.communicate(timeout=60)


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_the_imports_stops_cleanly(tmp_path, sig, code):
    process = paused("imports", tmp_path / "marker", "check", str(sheet(tmp_path)), env=cli_env())
    out, err = signal_when_reached(process, tmp_path / "marker", sig)
    assert process.returncode == code, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "Stopped (" in err and "nothing was read, sent or written" in err


def test_sigterm_during_the_key_check_stops_cleanly_and_nothing_is_written(tmp_path, sandbox):
    box = sandbox()
    out_dir = tmp_path / "out"
    process = paused("key-check", tmp_path / "marker", "run", str(sheet(tmp_path)), "--out", str(out_dir), *FAST, env=cli_env(box))
    out, err = signal_when_reached(process, tmp_path / "marker", signal.SIGTERM)
    assert process.returncode == 143, err
    assert "Stopped (SIGTERM)" in err and "run the same command again" in err and "Traceback" not in err
    assert not out_dir.exists() and box.state.calls == 0


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_while_failed_csv_is_written_leaves_no_half_file_and_the_resume_writes_it(tmp_path, sandbox, sig, code):
    ids = new_ids(8)
    # 4 rows fail: failed.csv gets lines (untouched: the first check decides, so their updates are sent).
    box = sandbox(activities=set(ids[:4]), initial=untouched(ids[:4]))
    path = write_csv(tmp_path / "in.csv", [HEADER, *[[id_, "n", "Won"] for id_ in ids]])
    out_dir = tmp_path / "out"
    process = paused("failed-csv", tmp_path / "marker", "run", str(path), "--out", str(out_dir), *FAST, env=cli_env(box))
    out, err = signal_when_reached(process, tmp_path / "marker", sig)

    assert process.returncode == code, err
    assert "Traceback" not in err and "run the same command again" in err
    assert not (out_dir / "failed.csv").exists(), "a half-written failed.csv"
    assert not (out_dir / "failed.csv.tmp").exists()
    assert len(read_report(out_dir / "report.csv")) == 8
    assert json.loads((out_dir / "run.json").read_text())["state"] != "finished"

    again = run_cli("run", str(path), "--out", str(out_dir), *FAST, env=cli_env(box))
    assert again.returncode == 1, again.stderr
    assert len(read_report(out_dir / "failed.csv")) == 4 and box.state.calls == 8  # nothing sent twice
    assert json.loads((out_dir / "run.json").read_text())["state"] == "finished"


def test_check_piped_into_head_exits_quietly(tmp_path):
    path = sheet(tmp_path, rows=2000)
    process = subprocess.Popen([sys.executable, "-m", "bulk_updater", "check", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env())
    process.stdout.readline()
    process.stdout.close()  # as `| head -1` does
    err = process.stderr.read().decode()
    process.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception ignored" not in err
    assert process.returncode in (0, 141)  # 0 if everything fitted in the pipe before it closed


def test_a_full_stdout_is_a_plain_message(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "bulk_updater", "check", str(sheet(tmp_path))], stdout=full, stderr=subprocess.PIPE, text=True, env=cli_env()
        )
    assert result.returncode == 2
    assert result.stderr == "Error: can't write to standard output (No space left on device).\n"


@contextlib.contextmanager
def small_filesystem(path: Path, size: str, *options: str):
    """A real tmpfs of `size` mounted at `path` (root only)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join([f"size={size}", *options]), "tmpfs", str(path)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"can't mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_real_full_disk_mid_run_then_the_resume_finishes(tmp_path, sandbox):
    box = sandbox()
    path = sheet(tmp_path, rows=400, note="x" * 300)  # about 140 KB of report
    with small_filesystem(tmp_path / "disk", "64k") as disk:
        out_dir = disk / "out"
        result = run_cli("run", str(path), "--out", str(out_dir), *FAST, env=cli_env(box))
        assert result.returncode == 1, result.stderr  # rows were sent
        assert "the disk is full" in result.stderr and "Free space, then run the same command" in result.stderr
        assert "Traceback" not in result.stderr
        sent = box.state.calls
        assert 0 < sent < 400

        subprocess.run(["mount", "-o", "remount,size=4m", str(disk)], check=True)  # space was freed
        again = run_cli("run", str(path), "--out", str(out_dir), *FAST, env=cli_env(box))
        assert again.returncode == 0, again.stderr
        rows = Counter(int(line["_row"]) for line in read_report(out_dir / "report.csv"))
        assert rows == Counter(range(2, 402))  # every row once
        assert box.state.calls <= 400 + 25  # at most the rows in flight at the failure were sent twice
        assert json.loads((out_dir / "run.json").read_text())["state"] == "finished"


def test_a_read_only_folder_is_a_plain_message(tmp_path, sandbox):
    box = sandbox()
    with small_filesystem(tmp_path / "ro", "1m", "ro") as folder:
        result = run_cli("run", str(sheet(tmp_path)), "--out", str(folder), *FAST, env=cli_env(box))
    assert result.returncode == 2
    assert "can't write .bulk-updater.lock here (read-only file system)" in result.stderr and "Traceback" not in result.stderr
    assert box.state.calls == 0
