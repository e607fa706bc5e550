"""The progress bar's ETA against the time that really remained: 200 rows at 25/5 against the sandbox.

The bar's ETA (report/tally.py TimeLeft: the limiter's pace and the rows left) beside what tqdm's own
would say (the rows left at its smoothed rows per second), at each time the bar was drawn.

    python tests/bench/run.py eta
"""

from __future__ import annotations

import csv
import io
import re
import sys
import tempfile
import time
import uuid
from pathlib import Path

import bulk_updater
from bulk_updater.sandbox.server import SandboxConfig, SandboxThread
from bulk_updater.settings import Rate

ROWS = 200


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def main() -> dict:
    with tempfile.TemporaryDirectory() as folder:
        sheet = Path(folder) / "edits.csv"
        with sheet.open("w", newline="") as f:
            csv.writer(f).writerows([["CompanyActivityId", "Status"], *[[str(uuid.uuid4()), "Won"] for _ in range(ROWS)]])
        with SandboxThread(SandboxConfig(rate=Rate(25, 5), latency=(0.05, 0.2))) as box:
            send = bulk_updater.SendSettings(box.url, bulk_updater.Credentials(box.config.access_key, box.config.secret_key), rate=Rate(25, 5))
            screen, stamps = _Terminal(), []
            real, sys.stderr = sys.stderr, screen
            try:
                bulk_updater.run(sheet, Path(folder) / "out", send, bulk_updater.JobOptions(progress=True, canary=False, on_outcome=lambda _: stamps.append(time.monotonic())))
            finally:
                sys.stderr = real
    figures = []
    print(f"{'rows done':>9} {'bar ETA':>8} {'tqdm ETA':>9} {'remained':>9}")
    for done, minutes, seconds, rate in re.findall(rf"(\d+)/{ROWS} \[\d\d:\d\d<(\d\d):(\d\d), *([\d.]+)row/s", screen.getvalue()):
        n = int(done)
        if 0 < n < ROWS:
            bar, own, remained = int(minutes) * 60 + int(seconds), (ROWS - n) / float(rate), stamps[-1] - stamps[n - 1]
            figures.append({"done": n, "bar_eta": bar, "tqdm_eta": round(own, 1), "remained": round(remained, 1)})
            print(f"{n:>9} {bar:>7}s {own:>8.0f}s {remained:>8.1f}s")
    worst_bar = max(abs(f["bar_eta"] - f["remained"]) for f in figures)
    worst_tqdm = max(abs(f["tqdm_eta"] - f["remained"]) for f in figures)
    print(f"worst error: bar {worst_bar:.1f} s, tqdm's own {worst_tqdm:.1f} s")
    return {"draws": figures, "worst_bar_error": worst_bar, "worst_tqdm_error": worst_tqdm}
