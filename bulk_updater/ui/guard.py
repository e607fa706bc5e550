"""Who may use the page: the browser that opened the printed address, on this machine only.

- The address printed at start-up carries a random token (as Jupyter's does). The first
  request trades it for an HttpOnly, SameSite=Strict cookie and is redirected to the same
  path without it, so the token leaves the address bar and the history.
- Any request with neither the token nor the cookie gets 403.
- The Host header must name the loopback address and our port: a DNS-rebinding page that
  points its own name at 127.0.0.1 sends its own name, and is refused.
- A request that changes something (anything but GET/HEAD) must carry an Origin header
  naming this server: another site's form or script can't start, stop or upload.
- The access log shows method, path (no query: the token may be in it) and status.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

# Cookies are shared by every port of a host: each server's cookie is named after its port,
# so two pages open at once don't sign each other out.
COOKIE = "bulk_updater_session"
TOKEN_PARAM = "token"
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
SAFE_METHODS = ("GET", "HEAD")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def new_token() -> str:
    return secrets.token_urlsafe(32)


def guard_middleware(token: str):
    """The aiohttp middleware that applies every rule above, in order: Host, Origin, token or cookie."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        port = own_port(request)
        allowed = {f"{name}:{port}" for name in LOOPBACK_NAMES}
        if request.host not in allowed:
            return _refused("This page answers only at its own loopback address (the Host header names another).")
        if request.method not in SAFE_METHODS and request.headers.get("Origin") not in {f"http://{host}" for host in allowed}:
            return _refused("A change must come from this page itself (the Origin header is missing or names another site).")
        if _same(request.cookies.get(cookie_name(port)), token):
            return await handler(request)
        if request.method in SAFE_METHODS and _same(request.query.get(TOKEN_PARAM), token):
            return _trade_token(request, token, cookie_name(port))
        return _refused("Open the address bulk-updater ui printed when it started (it carries the key to this page).")

    return guard


def own_port(request: web.Request) -> int:
    """The port this server listens on, from the connection itself (not from anything the client says)."""
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    return sockname[1] if sockname else 0


def cookie_name(port: int) -> str:
    return f"{COOKIE}_{port}"


def _trade_token(request: web.Request, token: str, cookie: str) -> web.StreamResponse:
    query = {k: v for k, v in request.query.items() if k != TOKEN_PARAM}
    location = str(request.rel_url.with_query(query)) if query else request.path
    response = web.Response(status=303, headers={"Location": location})
    response.set_cookie(cookie, token, httponly=True, samesite="Strict", path="/")
    return response


def _same(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def _refused(why: str) -> web.Response:
    return web.Response(status=403, text=f"403 Forbidden: {why}\n")


class QuietAccessLogger(AbstractAccessLogger):
    """Method, path without the query, status: never the token."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s", request.method, request.path, response.status)


ACCESS_LOG = logging.getLogger("bulk_updater.ui.access")
