"""`make demo`: start the sandbox, run the real CLI on samples/activities.csv, show the report.

The sandbox knows the activities in samples/sandbox-activities.txt, so the sample's rows end
in every outcome: success, failed (unknown activity, bad Owner), invalid and skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from bulk_updater.sandbox import SandboxConfig, SandboxThread
from bulk_updater.settings import Rate

HERE = Path(__file__).parent
OUT = Path("demo-out")


def main() -> int:
    ids = {line.strip() for line in (HERE / "sandbox-activities.txt").read_text().splitlines() if line.strip()}
    config = SandboxConfig(rate=Rate(25, 5), latency=(0.05, 0.2), activities=ids)
    shutil.rmtree(OUT, ignore_errors=True)
    with SandboxThread(config) as sandbox:
        print(f"Sandbox running at {sandbox.url}\n")
        env = {**os.environ, "LSQ_HOST": sandbox.url, "LSQ_ACCESS_KEY": config.access_key, "LSQ_SECRET_KEY": config.secret_key}
        command = [sys.executable, "-m", "bulk_updater", "run", str(HERE / "activities.csv"), "--out", str(OUT)]
        print("$", " ".join(command[1:]), "\n", flush=True)
        code = subprocess.run(command, env=env).returncode
    print(f"\nExit code {code} (1: some rows need another look). The report is in {OUT}/:")
    print((OUT / "report.csv").read_text(encoding="utf-8-sig"))
    return 0 if code in (0, 1) else code


if __name__ == "__main__":
    sys.exit(main())
