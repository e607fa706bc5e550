"""`python tests/bench/page_jobs.py OUT RUN_SHEET RETRY_REPORT`: what the page does when a run and a retry
of another run are started at once: two jobs of ui/jobs.py, each in its own thread, in one process.
Keys and host from the environment (LSQ_ACCESS_KEY, LSQ_SECRET_KEY, LSQ_HOST); 25/5, no canary.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main(argv: list[str]) -> int:
    from bulk_updater.credentials import Credentials
    from bulk_updater.rows import ReadOptions
    from bulk_updater.settings import Rate, SendSettings
    from bulk_updater.ui.jobs import Job, Jobs

    out, run_sheet, retry_report = (Path(arg) for arg in argv)
    send = SendSettings(os.environ["LSQ_HOST"], Credentials(os.environ["LSQ_ACCESS_KEY"], os.environ["LSQ_SECRET_KEY"]), Rate(25, 5))
    jobs = Jobs()
    started = [
        jobs.start(Job("run", out / "run", "run", run_sheet, send, ReadOptions(), safety={"canary": False})),
        jobs.start(Job("retry", out / "retry", "retry", retry_report, send, ReadOptions(), safety={"canary": False})),
    ]
    for job in started:
        assert job.thread is not None
        job.thread.join()
    failed = [f"{job.run_id}: {job.state} {job.error}" for job in started if job.state != "finished"]
    print("\n".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
