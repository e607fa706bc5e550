"""The LeadSquared HTTP calls, and the classification of every answer.

This is the only module that knows URLs and headers. Each call returns a `CallResult`;
nothing a server does raises out of here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import json
import ssl
from dataclasses import dataclass

import aiohttp

from ..requests import UpdateRequest
from ..credentials import Credentials

UPDATE_PATH = "/v2/CompanyActivity.svc/Update"
USER_PATH = "/v2/Authentication.svc/UserByAccessKey.Get"
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


def _is_certificate_error(exc: aiohttp.ClientError) -> bool:
    """aiohttp raises ClientConnectorSSLError for any ssl.SSLError; only a certificate error is permanent."""
    return isinstance(exc, aiohttp.ClientConnectorCertificateError) or isinstance(
        getattr(exc, "os_error", None) or exc.__cause__, ssl.SSLCertVerificationError
    )


def tls_context() -> ssl.SSLContext:
    """Certificates and host names are verified against the system's CAs (SSL_CERT_FILE honoured).

    Built here, in the one place sessions are made, so that nothing can quietly turn it off.
    """
    return ssl.create_default_context()


def open_session(concurrency: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency, ssl=tls_context()))


class LeadSquaredClient:
    """Makes calls to one LeadSquared host with one set of keys, sent only as headers.

    Every text that comes back (an error body, an aiohttp message) is redacted before it leaves:
    a server or a library may quote the keys.
    """

    def __init__(self, session: aiohttp.ClientSession, host: str, credentials: Credentials, timeout: float) -> None:
        self._session = session
        self._host = host.rstrip("/")
        self._credentials = credentials
        self._headers = credentials.headers()
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def send_update(self, request: UpdateRequest) -> CallResult:
        answer = await self._call("POST", UPDATE_PATH, json=request.to_json())
        return answer if isinstance(answer, CallResult) else self._redacted(classify_response(*answer))

    async def fetch_user(self) -> tuple[CallResult, dict]:
        """GET UserByAccessKey.Get: the user, org and region host the keys belong to (keys in headers)."""
        answer = await self._call("GET", USER_PATH)
        if isinstance(answer, CallResult):
            return answer, {}
        status, body = answer
        payload = _json_object(body)
        if status == 200 and payload.get("Id"):
            return CallResult(Kind.SUCCESS, status), payload
        if status == 200:
            return self._redacted(CallResult(Kind.PERMANENT, status, "UnexpectedResponse", body.strip()[:200] or "an empty answer")), {}
        return self._redacted(classify_response(status, body)), {}

    async def _call(self, method: str, path: str, **kwargs) -> tuple[int, str] | CallResult:
        """The answer's status and body, or the CallResult of a call that got no answer."""
        try:
            async with self._session.request(
                method, self._host + path, headers=self._headers, timeout=self._timeout, **kwargs
            ) as response:
                return response.status, await response.text(errors="replace")
        except asyncio.TimeoutError:
            return CallResult(Kind.RETRYABLE, None, "Timeout", f"no answer within {self._timeout.total:g} s")
        except aiohttp.ClientError as exc:
            if _is_certificate_error(exc):
                # A certificate that fails verification fails again: never worth a retry.
                return CallResult(Kind.PERMANENT, None, "TLSError", self._describe(exc))
            # Any other TLS error (a handshake reset or cut short) is a dropped connection.
            return CallResult(Kind.RETRYABLE, None, "ConnectionError", self._describe(exc))

    def _redacted(self, result: CallResult) -> CallResult:
        message = self._credentials.redact(result.error_message)
        return result if message == result.error_message else dataclasses.replace(result, error_message=message)

    def _describe(self, exc: Exception) -> str:
        return self._credentials.redact(f"{type(exc).__name__}: {exc}")[:300]
