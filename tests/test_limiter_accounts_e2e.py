"""One account, one window, with real processes (`make test-e2e`): two runs started together,
and a resume right after kill -9, against the sandbox. The sandbox answers no call 429, so no window
it counted ever held more than the limit, and the calls it admitted show the same.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from conftest import cli_env, new_ids, read_report, write_csv

from bulk_updater.settings import Rate

pytestmark = pytest.mark.e2e

HEADER = ["CompanyActivityId", "ActivityNote", "Status"]
CALLS, PERIOD = 10, 1.0
OPTIONS = ["--rate", f"{CALLS}/{PERIOD:g}", "--no-progress", "--no-canary"]


def sheet(path, rows: int):
    return write_csv(path, [HEADER, *[[id_, f"note {n}", "Won"] for n, id_ in enumerate(new_ids(rows))]])


def start(*args: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bulk_updater", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def most_in_any_window(arrivals: list[float], width: float = PERIOD) -> int:
    arrivals = sorted(arrivals)
    return max(sum(1 for u in arrivals if t <= u < t + width) for t in arrivals)


def test_two_runs_started_together_share_the_window(tmp_path, sandbox):
    box = sandbox(rate=Rate(CALLS, PERIOD))
    runs = [start("run", str(sheet(tmp_path / f"{name}.csv", 25)), "--out", str(tmp_path / name), *OPTIONS, env=cli_env(box)) for name in "ab"]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert box.state.throttled == 0 and box.state.calls == 50, outputs  # (a ledger not usable says why in stderr)
    assert most_in_any_window(box.state.arrivals) <= CALLS
    # Both at the bound for all their calls (54 with the key checks and the field checks' reads): 6 windows of 1.1 s.
    assert max(box.state.arrivals) - min(box.state.user_arrivals) < 6 * (PERIOD + 0.1) + 0.5


def test_a_resume_right_after_kill_9_opens_with_what_the_window_has_left(tmp_path, sandbox):
    """A window of 3 s, so that the resume still finds the killed run's calls in it after its start-up."""
    box = sandbox(rate=Rate(CALLS, 3.0), latency=(0.05, 0.05))
    path = sheet(tmp_path / "in.csv", 25)
    out = tmp_path / "out"
    process = start("run", str(path), "--out", str(out), "--rate", f"{CALLS}/3", "--no-progress", "--no-canary", env=cli_env(box))
    deadline = time.monotonic() + 60
    while box.state.calls < 13:  # just after its second window's burst
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    resumed = subprocess.run([sys.executable, "-m", "bulk_updater", "resume", str(out), "--no-progress"], env=cli_env(box), capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert box.state.throttled == 0
    assert "for calls of an earlier run on this account to leave the window" in resumed.stderr
    assert len({line["_row"] for line in read_report(out / "report.csv")}) == 25
