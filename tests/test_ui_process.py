"""`bulk-updater ui` as a real process: it prints its address, and SIGTERM stops it and its runs cleanly."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest
from conftest import cli_env, new_ids, run_cli, untouched, write_csv
from test_ui_jobs import _start_run

from bulk_updater.settings import Rate

pytestmark = pytest.mark.e2e


def _serve(box, workspace: Path, *options: str) -> tuple[subprocess.Popen, types.SimpleNamespace]:
    """`bulk-updater ui` as a process, and what its printed address gives."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bulk_updater", "ui", "--no-browser", "--workspace", str(workspace), *options],
        env=cli_env(box), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
    )
    line = proc.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:(\d+)/\?token=(\S+)", line)
    if not match:
        proc.kill()
    assert match, line
    return proc, types.SimpleNamespace(port=int(match[1]), token=match[2], base=f"http://127.0.0.1:{match[1]}")


def _leftovers(folder: Path) -> list[str]:
    """Temporary files: NAME.tmp (a whole-file write), xlsxwriter's (in .copying-*, or tmpXXXXXXXX as older versions left them)."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp") or p.name.startswith(".copying-") or re.fullmatch(r"tmp[a-z0-9_]{8}", p.name))


def test_sigterm_stops_the_server_and_its_run_cleanly(sandbox, tmp_path):
    ids = new_ids(200)
    box = sandbox(rate=Rate(1000, 1), initial=untouched(ids))  # the first check decides: the rows go at the rate
    sheet = write_csv(tmp_path / "edits.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in ids]])
    proc, server = _serve(box, tmp_path / "ws")
    try:
        run_id = asyncio.run(_start_run(server, box, sheet, "20/1"))  # 10 s of sending
        box.wait_until(lambda state: state.calls >= 20, timeout=60)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert server.token not in output.split("\n", 1)[1]  # only the first line, the address, carries it
    folder = tmp_path / "ws" / "runs" / run_id
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["stop_reason"] == "stopped" and summary["rows"] == 200 and summary["counts"]["not_sent"] > 0
    assert json.loads((folder / "run.json").read_text())["state"] == "stopped"


def test_sigterm_during_a_large_run_ends_it_within_stop_wait_with_its_files_agreeing_and_no_temporary_file(sandbox, tmp_path):
    """Before: the run's thread was abandoned after 15.6 s, run.json `running` beside a summary.json
    `stopped`, with failed.xlsx.tmp and a 45 MB temporary file left, which outlived a resume."""
    rows = 150_000  # the rows left take longer than --stop-wait to record, and the workbook copies longer still
    ids = new_ids(rows)
    box = sandbox(rate=Rate(100_000, 1), initial=untouched(ids))  # the first check decides: the rows go at the rate
    sheet = write_csv(tmp_path / "edits.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in ids]])
    stop_wait = 4
    proc, server = _serve(box, tmp_path / "ws", "--stop-wait", str(stop_wait))
    try:
        run_id = asyncio.run(_start_run(server, box, sheet, "200/1"))  # two and a half minutes of sending
        box.wait_until(lambda state: state.calls >= 100, timeout=60)
        sent_at = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
        took = time.monotonic() - sent_at
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert took < stop_wait + 3, output  # the run's thread ended within --stop-wait (and the process soon after)
    assert "Still going" not in output, output
    folder = tmp_path / "ws" / "runs" / run_id
    summary = json.loads((folder / "summary.json").read_text())
    record = json.loads((folder / "run.json").read_text())
    assert summary["stop_reason"] == "stopped" and record["state"] == "stopped"
    assert _leftovers(folder) == []
    # What an older crash left: the copy's NAME.tmp, and xlsxwriter's temporary files where it put them
    (folder / "failed.xlsx.tmp").write_bytes(b"")
    (folder / "tmpab12cd_9").write_bytes(b"x" * 1000)
    (folder / ".copying-q1w2e3").mkdir()
    (folder / ".copying-q1w2e3" / "tmpzz00zz00").write_bytes(b"x" * 1000)
    resumed = run_cli("resume", str(folder), "--max-calls", "5", "--yes", "--no-progress", env=cli_env(box))
    assert resumed.returncode != 2, resumed.stderr
    assert _leftovers(folder) == [] and (folder / "failed.xlsx").is_file()
