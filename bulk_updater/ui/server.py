"""Starting and stopping the page's server: on 127.0.0.1 only, with a fresh token each time."""

from __future__ import annotations

import asyncio
import html
import logging
import os
import socket
import sys
import tempfile
import threading
import webbrowser
from collections.abc import Mapping
from pathlib import Path

from aiohttp import web

from ..job import STOP_WAIT
from ..report.excel import stop_copies
from ..stopping import STOP_SIGNALS, on_signal
from .app import STATE, build_app
from .guard import ACCESS_LOG, TOKEN_PARAM, QuietAccessLogger, new_token

HOST = "127.0.0.1"


def listen(port: int) -> socket.socket:
    """A socket on the loopback address only: nothing else on the network can reach the page."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    return sock


def page_address(port: int, token: str) -> str:
    return f"http://{HOST}:{port}/?{TOKEN_PARAM}={token}"


async def start_site(app: web.Application, sock: socket.socket) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=ACCESS_LOG, access_log_class=QuietAccessLogger, shutdown_timeout=1.0)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return runner


def serve(workspace: Path, port: int, open_browser: bool, environ: Mapping[str, str], say=print, *, stop_wait: float = STOP_WAIT,
          upload_total: int | None = None) -> None:
    """Serve until Ctrl-C or SIGTERM. The runs still going then are stopped within `stop_wait` seconds
    (Jobs.stop_all): each saves its report, summary.json and run.json, which agree; Resume finishes it."""
    workspace.mkdir(parents=True, exist_ok=True)
    token = new_token()
    sock = listen(port)
    address = page_address(sock.getsockname()[1], token)
    app = build_app(workspace, environ, token, upload_total=upload_total)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    async def main() -> None:
        runner = await start_site(app, sock)
        say(f"bulk-updater ui: open {address}\n(workspace: {workspace}; Ctrl-C stops the server)")
        sys.stdout.flush()  # the address must show at once, even through a pipe
        opener = _redirect_file(address) if open_browser else None
        if opener is not None:
            webbrowser.open(opener.as_uri())
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            on_signal(loop, sig, stop.set)  # the loop's own handler; on Windows, a plain one that hands it to the loop
        try:
            await stop.wait()
        finally:
            say(f"Stopping the server; runs still going are stopped within {stop_wait:g} s (Resume finishes them).")
            stop_copies()  # a run's workbook copies can take minutes: its next session writes them
            stopping = loop.run_in_executor(None, app[STATE].jobs.stop_all, stop_wait)
            await runner.cleanup()
            if opener is not None:
                opener.unlink(missing_ok=True)
            if still := await stopping:
                say(f"Still going after {stop_wait:g} s, left as they are (run.json says running; Resume finishes them): "
                    + ", ".join(str(job.out_dir) for job in still))

    asyncio.run(main())


def _redirect_file(address: str) -> Path:
    """A private page that sends the browser on to `address`: opening it keeps the token out of the
    browser's command line, which other users of the machine can read (as Jupyter does)."""
    fd, name = tempfile.mkstemp(prefix="bulk-updater-ui-", suffix=".html")  # mode 0600
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(f'<!doctype html><meta http-equiv="refresh" content="0;url={html.escape(address)}"><a href="{html.escape(address)}">Open bulk-updater</a>\n')
    return Path(name)


class UiThread:
    """The page's server on a free loopback port in a background thread (tests, screenshots)."""

    def __init__(self, workspace: Path, environ: Mapping[str, str], upload_cap: int | None = None, upload_total: int | None = None) -> None:
        self.token = new_token()
        self.sock = listen(0)
        self.port = self.sock.getsockname()[1]
        self.base = f"http://{HOST}:{self.port}"
        self.url = page_address(self.port, self.token)
        self.app = build_app(workspace, environ, self.token, upload_cap, upload_total)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        runner = await start_site(self.app, self.sock)
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()

    def __enter__(self) -> UiThread:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the ui server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
