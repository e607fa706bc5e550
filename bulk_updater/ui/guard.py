"""Who may use the page: the browser tab that opened the printed address, on this machine only.

- The address printed at start-up carries a random key, new at each launch (as Jupyter's
  token). The page's script (static/page.js) takes it from the address bar, keeps it in the
  storage of this origin (127.0.0.1 and this port: no page of another port can read it),
  and takes it out of the address bar.
- Every request that reads data or changes something sends the key in the X-Bulk-Updater-Key
  header: the script fetches each screen with it, and sends each form, each download and the
  live progress with it. No cookie is set: a browser sends a host's cookies to every port of
  it, so any other local server the browser visits would receive it.
- A GET without the key gets only the shell (shell.html: the script, which loads the screen
  with the key; no data), so that a reload or a bookmark still opens; any other request
  without it gets 403. The static files (style, script) hold no data and need no key.
- The Host header must name the loopback address and our port: a DNS-rebinding page that
  points its own name at 127.0.0.1 sends its own name, and is refused.
- A request that changes something (anything but GET/HEAD) must carry an Origin header
  naming this server: another site's form can't start, stop or upload (and its script can't
  send the key header without a CORS preflight, which is an OPTIONS request without our Origin).
- Every answer forbids framing (X-Frame-Options: DENY; CSP frame-ancestors 'none'), loads
  scripts, styles and everything else from this server only (CSP default-src 'self'; the
  page has no inline script or style), and sends no Referer.
- The access log shows method, path (no query: the first address carries the key) and status.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

KEY_HEADER = "X-Bulk-Updater-Key"
TOKEN_PARAM = "token"
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
SAFE_METHODS = ("GET", "HEAD")
STATIC = "/static/"
SHELL = Path(__file__).parent / "templates" / "shell.html"
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
NO_KEY = "Open the address bulk-updater ui printed when it started (it carries the key to this page)."

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def new_token() -> str:
    return secrets.token_urlsafe(32)


def guard_middleware(token: str):
    """The aiohttp middleware that applies every rule above, in order: Host, Origin, the key."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        port = own_port(request)
        allowed = {f"{name}:{port}" for name in LOOPBACK_NAMES}
        if request.host not in allowed:
            return _refused("This page answers only at its own loopback address (the Host header names another).")
        if request.method not in SAFE_METHODS and request.headers.get("Origin") not in {f"http://{host}" for host in allowed}:
            return _refused("A change must come from this page itself (the Origin header is missing or names another site).")
        if _same(request.headers.get(KEY_HEADER), token):
            return await handler(request)
        if request.method in SAFE_METHODS:
            return await handler(request) if request.path.startswith(STATIC) else shell()
        return _refused(NO_KEY)

    return guard


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every answer, the refusals and the files included (aiohttp's on_response_prepare)."""
    response.headers.update(SECURITY_HEADERS)


def shell() -> web.Response:
    """The page without data: its script loads the screen at this address with the key it holds."""
    return web.Response(text=SHELL.read_text(encoding="utf-8"), content_type="text/html", headers={"Cache-Control": "no-store"})


def own_port(request: web.Request) -> int:
    """The port this server listens on, from the connection itself (not from anything the client says)."""
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    return sockname[1] if sockname else 0


def _same(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def _refused(why: str) -> web.Response:
    return web.Response(status=403, text=f"403 Forbidden: {why}\n")


class QuietAccessLogger(AbstractAccessLogger):
    """Method, path without the query, status: never the key."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s", request.method, request.path, response.status)


ACCESS_LOG = logging.getLogger("bulk_updater.ui.access")
