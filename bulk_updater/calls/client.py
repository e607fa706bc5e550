"""The LeadSquared HTTP calls, and the classification of every answer.

This is the only module that knows URLs and headers. Each call returns a `CallResult`;
nothing a server does raises out of here.
"""

from __future__ import annotations

import asyncio
import enum
import json
from dataclasses import dataclass

import aiohttp

from ..requests import UpdateRequest
from ..settings import Credentials

UPDATE_PATH = "/v2/CompanyActivity.svc/Update"
# Gateway and overload answers: the call never reached the application, so it may succeed later.
RETRYABLE_STATUSES = {502, 503, 504}


class Kind(enum.Enum):
    SUCCESS = "success"
    THROTTLED = "throttled"  # 429: over the rate limit
    RETRYABLE = "retryable"  # may succeed later: gateway errors, timeouts, dropped connections
    PERMANENT = "permanent"  # the data's fault (MX... errors, other 4xx): fails again if resent
    UNAUTHORIZED = "unauthorized"  # 401: no call with these keys will succeed


@dataclass(frozen=True)
class CallResult:
    kind: Kind
    http_status: int | None = None
    error_type: str = ""
    error_message: str = ""


def classify_response(status: int, body: str) -> CallResult:
    """Sort one HTTP answer into success / throttled / retryable / permanent / unauthorized."""
    payload = _json_object(body)
    error_type = str(payload.get("ExceptionType") or "")
    message = str(payload.get("ExceptionMessage") or payload.get("Message") or "") if payload else body.strip()[:200]
    if status == 200:
        if payload.get("Status") == "Success" and _is_successful(payload):
            return CallResult(Kind.SUCCESS, status)
        return CallResult(Kind.PERMANENT, status, error_type or "UnexpectedResponse", message or "200 without Status Success")
    if status == 401:
        return CallResult(Kind.UNAUTHORIZED, status, error_type or "Unauthorized", message or "the keys were rejected")
    if status == 429:
        return CallResult(Kind.THROTTLED, status, error_type or "TooManyRequests", message or "over the rate limit")
    if error_type.startswith("MX"):
        # LeadSquared's own rule: application errors are never worth retrying.
        return CallResult(Kind.PERMANENT, status, error_type, message)
    if status in RETRYABLE_STATUSES or status == 500:
        return CallResult(Kind.RETRYABLE, status, error_type or f"HTTP{status}", message)
    return CallResult(Kind.PERMANENT, status, error_type or f"HTTP{status}", message)


def _json_object(body: str) -> dict:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _is_successful(payload: dict) -> bool:
    message = payload.get("Message")
    return not isinstance(message, dict) or message.get("IsSuccessful", True) is not False


class LeadSquaredClient:
    """Makes calls to one LeadSquared host with one set of keys, sent only as headers."""

    def __init__(self, session: aiohttp.ClientSession, host: str, credentials: Credentials, timeout: float) -> None:
        self._session = session
        self._update_url = host.rstrip("/") + UPDATE_PATH
        self._headers = credentials.headers()
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def send_update(self, request: UpdateRequest) -> CallResult:
        try:
            async with self._session.post(
                self._update_url, json=request.to_json(), headers=self._headers, timeout=self._timeout
            ) as response:
                return classify_response(response.status, await response.text(errors="replace"))
        except asyncio.TimeoutError:
            return CallResult(Kind.RETRYABLE, None, "Timeout", f"no answer within {self._timeout.total:g} s")
        except aiohttp.ClientError as exc:
            # aiohttp's messages name the URL (which holds no keys) but never the headers.
            return CallResult(Kind.RETRYABLE, None, "ConnectionError", f"{type(exc).__name__}: {exc}"[:300])
