"""Signals outside the sending window, in process; the real process is in test_stops_e2e.py."""

from __future__ import annotations

import signal

import pytest

from bulk_updater import exit_codes, interrupts
from bulk_updater.stopping import StopOnSignals


def test_a_signal_while_starting_exits_quietly_and_inside_main_raises_stopped(monkeypatch, capsys):
    # Private on purpose: a real signal would reach the test runner's own handlers (the real process
    # is in test_stops_e2e.py), so the handler is called as the signal would; and no public step takes
    # a process that has run `main` back to "starting".
    monkeypatch.setattr(interrupts, "_phase", "starting")
    with pytest.raises(SystemExit) as exited:
        interrupts._on_signal(signal.SIGTERM, None)
    assert exited.value.code == 143 and "Stopped (SIGTERM) while starting" in capsys.readouterr().err

    with interrupts.inside_main(), pytest.raises(interrupts.Stopped) as stopped:
        interrupts._on_signal(signal.SIGINT, None)
    assert exit_codes.for_error(stopped.value) == 130 and isinstance(stopped.value, KeyboardInterrupt)


async def test_the_handler_in_place_before_the_sending_window_is_back_after_it():
    def the_clis(sig, frame):
        pass

    before = {sig: signal.signal(sig, the_clis) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:

        async def sending():
            return None

        await StopOnSignals(1.0, lambda text: None, handle_signals=True).run(sending())

        # asyncio's remove_signal_handler sets the default: SIGTERM would then kill the final writes silently.
        assert signal.getsignal(signal.SIGTERM) is the_clis and signal.getsignal(signal.SIGINT) is the_clis
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
