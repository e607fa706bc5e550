"""`make demo`: start the sandbox, run the real CLI on samples/activities.csv with --backup,
show the report, verify it, then undo the run and show that every activity is as before.

The sandbox knows the activities in samples/sandbox-activities.json (some with values), so
the sample's rows end in every outcome: success, failed (unknown activity, bad Owner),
invalid and skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bulk_updater.sandbox import SandboxConfig, SandboxThread
from bulk_updater.settings import Rate

HERE = Path(__file__).parent
OUT = Path("demo-out")
UNDO = Path("demo-out-undo")


def main() -> int:
    activities = json.loads((HERE / "sandbox-activities.json").read_text())
    fields = frozenset({"Status", "Owner", "mx_Custom_1", "mx_Custom_2"})  # the activity type's fields
    config = SandboxConfig(rate=Rate(25, 5), latency=(0.05, 0.2), activities=set(activities), initial=activities, fields=fields)
    for folder in (OUT, UNDO):
        shutil.rmtree(folder, ignore_errors=True)
    with SandboxThread(config) as sandbox:
        print(f"Sandbox running at {sandbox.url}\n")
        env = {**os.environ, "LSQ_HOST": sandbox.url, "LSQ_ACCESS_KEY": config.access_key, "LSQ_SECRET_KEY": config.secret_key}
        before = _values(sandbox)
        code = _bulk_updater(env, "run", str(HERE / "activities.csv"), "--out", str(OUT), "--backup", "--yes")
        print(f"\nExit code {code} (1: some rows need another look). The report is in {OUT}/:")
        print((OUT / "report.csv").read_text(encoding="utf-8-sig"))
        print(f"The values from before the run are in {OUT}/undo.csv:")
        print((OUT / "undo.csv").read_text(encoding="utf-8-sig"))
        _bulk_updater(env, "verify", str(OUT))
        print()
        undo_code = _bulk_updater(env, "undo", str(OUT), "--out", str(UNDO), "--yes")
        restored = _values(sandbox) == before
        print(f"\nAfter the undo every activity is as before the run: {'yes' if restored else 'NO'}")
    if not restored:
        return 1
    return 0 if code in (0, 1) and undo_code == 0 else code or undo_code


def _bulk_updater(env: dict[str, str], *args: str) -> int:
    command = [sys.executable, "-m", "bulk_updater", *args]
    print("$ bulk-updater", " ".join(args), "\n", flush=True)
    return subprocess.run(command, env=env).returncode


def _values(sandbox: SandboxThread) -> dict:
    """Each activity's note and non-empty fields (an empty field and an absent one are the same)."""
    return {
        activity_id: (activity["ActivityNote"] or "", {k: v for k, v in activity["Fields"].items() if v})
        for activity_id, activity in sandbox.state.activities.items()
    }


if __name__ == "__main__":
    sys.exit(main())
