"""Ctrl-C and SIGTERM outside the run's own stop window: a clean stop at any moment.

While rows are being sent, `stopping.StopOnSignals` handles the signals (finish the calls in
flight, record the rest). Everywhere else (the imports, reading the sheet, the key check,
the final writes) these handlers do: the CLI installs them on its first line, before the
heavy imports. Standard library only, so installing them costs nothing.

- Before `main` runs (imports): nothing has been read or written; say so and exit.
- Inside `main`: raise `Stopped` (a KeyboardInterrupt, so `except Exception` never swallows
  it and asyncio lets it through); the CLI prints one line and exits 130 or 143. Every file
  the tool writes whole is written to a temporary file and renamed (files.py), and
  report.csv is appended line by line, so a stop leaves each file complete or untouched.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator

# And Ctrl-Break, Windows's other console interrupt, where there is one (signal.SIGBREAK).
_BREAK: int | None = getattr(signal, "SIGBREAK", None)
HANDLED: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM, *(() if _BREAK is None else (_BREAK,)))
NAMES: dict[int, str] = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}
if _BREAK is not None:
    NAMES[_BREAK] = "Ctrl-Break"

_phase = "starting"  # then "running" (inside main), then "ended"


class Stopped(KeyboardInterrupt):
    """Raised by a Ctrl-C or SIGTERM that came outside the sending window."""

    def __init__(self, signal_number: int) -> None:
        super().__init__(signal_number)
        self.signal_number = signal_number  # its exit code is the stop's (exit_codes.py): 130 for SIGINT, 143 for SIGTERM

    @property
    def name(self) -> str:
        return NAMES.get(self.signal_number, f"signal {self.signal_number}")


def install() -> None:
    """Handle Ctrl-C and SIGTERM from now on (main thread only; elsewhere, a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in HANDLED:
        signal.signal(sig, _on_signal)


@contextlib.contextmanager
def inside_main() -> Iterator[None]:
    """While the block runs, a signal raises `Stopped` for the CLI to report."""
    global _phase
    _phase = "running"
    try:
        yield
    finally:
        _phase = "ended"


def _on_signal(sig: int, frame: object) -> None:
    if _phase == "running":
        raise Stopped(sig)
    # Starting up (imports) or ending: no file of the run is open, so there is nothing to finish.
    if _phase == "starting":
        with contextlib.suppress(Exception):
            sys.stderr.write(f"Stopped ({NAMES.get(sig, str(sig))}) while starting; nothing was read, sent or written.\n")
    raise SystemExit(128 + sig)
