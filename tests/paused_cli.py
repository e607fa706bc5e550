"""The real CLI, paused at one point so an e2e test can signal it exactly there.

    python tests/paused_cli.py AT MARKER ARGS...

AT is where it pauses: "imports" (bulk_updater.preflight being imported, after the CLI's first
line; aiohttp, pandas and openpyxl are imported later, where they are used),
"key-check" (the call that checks the keys) or "failed-csv" (halfway through writing
failed.csv). On reaching it, the process creates the file MARKER and sleeps, for the test
to send its signal. Everything else is the real `bulk_updater.cli.main`.
"""

from __future__ import annotations

import importlib.abc
import sys
import time
from pathlib import Path

PAUSE = 60.0


def reached(marker: Path) -> None:
    marker.write_text("here")
    time.sleep(PAUSE)


class _PauseOnImport(importlib.abc.MetaPathFinder):
    def __init__(self, name: str, marker: Path) -> None:
        self.name, self.marker = name, marker

    def find_spec(self, fullname, path, target=None):
        if fullname == self.name:
            sys.meta_path.remove(self)
            reached(self.marker)
        return None


def pause_in_key_check(marker: Path) -> None:
    from bulk_updater.calls import client

    async def paused(self, *args, **kwargs):
        import asyncio

        marker.write_text("here")
        await asyncio.sleep(PAUSE)

    client.LeadSquaredClient.fetch_user = paused


def pause_in_failed_csv(marker: Path) -> None:
    from bulk_updater import files

    write = files.GuardedFile.write

    def paused(self, data):
        written = write(self, data)
        if self.path.name == "failed.csv":
            self.flush()  # the first bytes are on disk, as a kill mid-write would leave them
            reached(marker)
        return written

    files.GuardedFile.write = paused


def main() -> None:
    at, marker, *args = sys.argv[1:]
    marker = Path(marker)
    if at == "imports":
        sys.meta_path.insert(0, _PauseOnImport("bulk_updater.preflight", marker))
    elif at == "key-check":
        pause_in_key_check(marker)
    elif at == "failed-csv":
        pause_in_failed_csv(marker)
    else:
        raise SystemExit(f"unknown pause point {at!r}")
    from bulk_updater import cli

    sys.exit(cli.main(args))


if __name__ == "__main__":
    main()
