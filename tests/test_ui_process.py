"""`bulk-updater ui` as a real process: it prints its address, and SIGTERM stops it and its runs cleanly."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
import types

import pytest
from conftest import cli_env, new_ids, untouched, write_csv
from test_ui_jobs import _start_run

from bulk_updater.settings import Rate

pytestmark = pytest.mark.e2e


def test_sigterm_stops_the_server_and_its_run_cleanly(sandbox, tmp_path):
    ids = new_ids(200)
    box = sandbox(rate=Rate(1000, 1), initial=untouched(ids))  # the first check decides: the rows go at the rate
    sheet = write_csv(tmp_path / "edits.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in ids]])
    proc = subprocess.Popen(
        [sys.executable, "-m", "bulk_updater", "ui", "--no-browser", "--workspace", str(tmp_path / "ws")],
        env=cli_env(box), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
    )
    try:
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/\?token=(\S+)", line)
        assert match, line
        server = types.SimpleNamespace(port=int(match[1]), token=match[2], base=f"http://127.0.0.1:{match[1]}")
        run_id = asyncio.run(_start_run(server, box, sheet, "20/1"))  # 10 s of sending
        while box.state.calls < 20:
            asyncio.run(asyncio.sleep(0.1))
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
