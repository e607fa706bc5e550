"""`python tests/bench/today_cli.py ARGS...`: the CLI as it paced before the shared ledger, for the `accounts` bench's
baseline. Each job builds its own limiter (today_limiter.py): no ledger, nothing shared with another job
or process. Also `python tests/bench/today_cli.py --page ...` (page_jobs.py) with the same limiter.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def use_todays_limiter() -> None:
    from today_limiter import WindowLimiter

    from bulk_updater import job, preflight
    from bulk_updater.safety import verify
    from bulk_updater.ui import fields

    def todays(send, note=None):
        return WindowLimiter(send.rate.calls, send.rate.period, send.jitter)

    for module in (job, preflight, verify, fields):
        module.account_limiter = todays  # type: ignore[attr-defined]


if __name__ == "__main__":
    use_todays_limiter()
    if sys.argv[1:2] == ["--page"]:
        import page_jobs

        sys.exit(page_jobs.main(sys.argv[2:]))
    from bulk_updater import cli

    sys.exit(cli.main(sys.argv[1:]))
