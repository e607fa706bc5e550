"""The LeadSquared HTTP calls, and the classification of every answer.

This is the only module that makes calls and knows their headers (the paths are in endpoints.py,
which the sandbox serves too). Each call returns a `CallResult`; nothing a server does raises out of here. Redirects are never followed (they would carry
the keys' headers to another origin), at most MAX_BODY_BYTES of an answer are read, and
every text a server wrote is masked of the keys, then cut (server_text.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import functools
import json
import os
import re
import ssl
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

if TYPE_CHECKING:
    import aiohttp

from ..credentials import Credentials
from ..server_text import cut
from ..updates import UpdateRequest
from .endpoints import RETRIEVE_PATH, UPDATE_PATH, USER_PATH

# Gateway and overload answers: the call never reached the application, so it may succeed later.
RETRYABLE_STATUSES = {502, 503, 504}
# LeadSquared's answers are a few hundred bytes; a 50 MB one is read no further than this.
MAX_BODY_BYTES = 64 * 1024
# A JSON field's string value, complete or cut short: what a body cut at MAX_BODY_BYTES still holds.
_JSON_FIELD = r'"{name}"\s*:\s*"((?:[^"\\]|\\.)*)'
_CUT_ESCAPE = re.compile(r"\\u[0-9a-fA-F]{0,3}$")
# Throttling, recognised by what the answer says, whatever its status: LeadSquared documents 429
# "API calls exceeded the limit of 25 in 5 second(s)" (MXAPIRateLimitExceededException), and public
# clients saw the same text with 403, and "...72 in 5 second(s)". Taken for the data's fault (an MX
# error, a 403), it would fail every row of a busy account. Only the error's type and message are
# read (a whole body when it is not JSON); texts that merely say "exceeded" (a field too long)
# don't match: each pattern needs a rate, a call limit or a count of calls in a time.
_THROTTLE_TYPE = re.compile(r"rate\W?limit|throttl|too\W?many\W?requests", re.IGNORECASE)
_THROTTLE_TEXT = re.compile(
    r"\bcalls?\s+(?:have\s+|has\s+)?exceeded\s+the\s+(?:\w+\s+)?limit"  # API calls exceeded the (daily) limit ...
    r"|\bapi\s+(?:call|request)s?\s+limit"  # API call limit exceeded
    r"|\blimit\s+of\s+\d+\s+(?:\w+\s+)?(?:in|per)\s+(?:\d+\s*)?(?:second|minute|hour|day)"  # limit of 25 in 5 second(s)
    r"|\brate\W?limit\w*\s+(?:was\s+|has\s+been\s+|is\s+)?(?:exceeded|reached|hit)"  # rate limit exceeded
    r"|\b(?:exceeded|reached|over)\s+(?:the\s+|your\s+)?(?:api\s+)?rate\W?limit"  # exceeded the rate limit
    r"|\btoo\s+many\s+(?:api\s+)?(?:requests|calls)\b",  # 429 Too Many Requests (a gateway's page)
    re.IGNORECASE,
)
_ERROR_TEXTS = ("ExceptionMessage", "Message", "message")


class Kind(enum.Enum):
    SUCCESS = "success"
    THROTTLED = "throttled"  # 429, or any answer that says the rate limit was exceeded
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
    payload = _json_object(body) or _fields_of_cut_json(body)
    error_type = str(payload.get("ExceptionType") or "")
    message = str(payload.get("ExceptionMessage") or payload.get("Message") or "") if payload else body.strip()
    if status == 200 and payload.get("Status") == "Success" and _is_successful(payload):
        return CallResult(Kind.SUCCESS, status)
    if status == 429 or _says_throttled(payload, body):
        # Before any other rule: a throttle answered 403, 500 or 200 is still only "slow down".
        return CallResult(Kind.THROTTLED, status, error_type or "TooManyRequests", message or "over the rate limit")
    if status == 200:
        return CallResult(Kind.PERMANENT, status, error_type or "UnexpectedResponse", message or "200 without Status Success")
    if status == 401:
        return CallResult(Kind.UNAUTHORIZED, status, error_type or "Unauthorized", message or "the keys were rejected")
    if error_type.startswith("MX"):
        # LeadSquared's own rule: application errors are never worth retrying.
        return CallResult(Kind.PERMANENT, status, error_type, message)
    if status in RETRYABLE_STATUSES or status == 500:
        return CallResult(Kind.RETRYABLE, status, error_type or f"HTTP{status}", message)
    return CallResult(Kind.PERMANENT, status, error_type or f"HTTP{status}", message)


def _says_throttled(payload: dict, body: str) -> bool:
    """The answer says the rate limit was exceeded: a JSON error in its ExceptionType or message
    (never in other fields, which may echo an activity's data), any other body in its text."""
    if not payload:
        return bool(_THROTTLE_TEXT.search(body))
    if _THROTTLE_TYPE.search(str(payload.get("ExceptionType") or "")):
        return True
    return any(isinstance(text := payload.get(name), str) and _THROTTLE_TEXT.search(text) for name in _ERROR_TEXTS)


def _json_object(body: str, exact: bool = False) -> dict:
    """The body's JSON object, or {}; `exact` keeps a number's digits as written (Decimal, never float)."""
    try:
        value = json.loads(body, parse_float=Decimal) if exact else json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _fields_of_cut_json(body: str) -> dict:
    """The error fields a JSON body cut short (or otherwise broken) still shows.

    A 100 KB MX error, cut at MAX_BODY_BYTES, no longer parses; its ExceptionType still says
    it is the data's fault, so the row must fail for good rather than be sent again.
    """
    fields = {}
    for name in ("ExceptionType", "ExceptionMessage"):
        if match := re.search(_JSON_FIELD.format(name=name), body):
            fields[name] = _json_string(match[1])
    return fields


def _json_string(escaped: str) -> str:
    try:
        return json.loads(f'"{_CUT_ESCAPE.sub("", escaped)}"')
    except ValueError:
        return escaped


def _is_activity(payload: dict) -> bool:
    """Whether a RetrieveById 200 is an activity: its ActivityFields an object, or missing or null
    (an activity listing no field: absent is empty) in an answer that names the activity's id.

    Without the id, a 200 with no ActivityFields ({"Status": "Success"}, a proxy's page) is not
    taken for an activity whose fields are all empty: undo would put those empties back.
    """
    fields = payload.get("ActivityFields")
    if isinstance(fields, dict):
        return True
    named = any(isinstance(payload.get(key), str) and payload[key].strip() for key in ("CompanyActivityId", "Id"))
    return fields is None and named


def _is_successful(payload: dict) -> bool:
    message = payload.get("Message")
    return not isinstance(message, dict) or message.get("IsSuccessful", True) is not False


def _is_certificate_error(exc: aiohttp.ClientError) -> bool:
    """aiohttp raises ClientConnectorSSLError for any ssl.SSLError; only a certificate error is permanent."""
    import aiohttp

    return isinstance(exc, aiohttp.ClientConnectorCertificateError) or isinstance(
        getattr(exc, "os_error", None) or exc.__cause__, ssl.SSLCertVerificationError
    )


async def _read_body(response: aiohttp.ClientResponse) -> str:
    """At most MAX_BODY_BYTES of the body, as text; the rest is never read (the connection is closed)."""
    chunks: list[bytes] = []
    size = 0
    while size < MAX_BODY_BYTES and (chunk := await response.content.read(MAX_BODY_BYTES - size)):
        chunks.append(chunk)
        size += len(chunk)
    try:
        return b"".join(chunks).decode(response.charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python doesn't know
        return b"".join(chunks).decode("utf-8", errors="replace")


def _origin(response: aiohttp.ClientResponse) -> str:
    """Where a redirect points, as scheme://host[:port] only: its path or query may carry anything."""
    location = response.headers.get("Location", "")
    if not location:
        return "nowhere (no Location)"
    try:
        target = urlsplit(urljoin(str(response.url), location))
        port = f":{target.port}" if target.port else ""
    except ValueError:
        return "an address that is not a URL"
    return f"{target.scheme}://{target.hostname or ''}{port}"


def tls_context() -> ssl.SSLContext:
    """Certificates and host names are verified against the system's CAs (SSL_CERT_FILE honoured).

    Built here, in the one place sessions are made, so that nothing can quietly turn it off.
    """
    return _verifying_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.lru_cache(maxsize=8)
def _verifying_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """One context for each place the CAs are read from (OpenSSL reads the two variables as it loads them):
    loading the system's CAs takes tens of milliseconds, and every step of a run opens a session.
    Sessions only use it, never change it (aiohttp keeps its own default the same way)."""
    return ssl.create_default_context()


def open_session(concurrency: int) -> aiohttp.ClientSession:
    # aiohttp is imported where it is used: its import takes about a quarter of a second
    # that --help and check never need.
    import aiohttp

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
        import aiohttp

        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def send_update(self, request: UpdateRequest) -> CallResult:
        answer = await self._call("POST", UPDATE_PATH, json=request.to_json())
        return answer if isinstance(answer, CallResult) else self._redacted(classify_response(*answer))

    async def retrieve_activity(self, activity_id: str) -> tuple[CallResult, dict]:
        """GET RetrieveById: the activity's note and fields as they are now (keys in headers, like the update).

        Classified like the update; a 200 that is not an activity (`_is_activity`) is permanent.
        """
        answer = await self._call("GET", RETRIEVE_PATH, params={"activityId": activity_id})
        if isinstance(answer, CallResult):
            return answer, {}
        status, body = answer
        payload = _json_object(body, exact=True)  # 1.50 stays 1.50: a snapshot keeps what the read said
        if status == 200 and _is_activity(payload):
            return CallResult(Kind.SUCCESS, status), payload
        result = classify_response(status, body)  # a 200 that says throttled is a 429
        if status == 200 and result.kind is not Kind.THROTTLED:
            return self._redacted(CallResult(Kind.PERMANENT, status, "UnexpectedResponse", body.strip()[:200] or "an empty answer")), {}
        return self._redacted(result), {}

    async def fetch_user(self) -> tuple[CallResult, dict]:
        """GET UserByAccessKey.Get: the user, org and region host the keys belong to (keys in headers)."""
        answer = await self._call("GET", USER_PATH)
        if isinstance(answer, CallResult):
            return answer, {}
        status, body = answer
        payload = _json_object(body)
        if status == 200 and payload.get("Id"):
            return CallResult(Kind.SUCCESS, status), payload
        result = classify_response(status, body)  # a 200 that says throttled is a 429
        if status == 200 and result.kind is not Kind.THROTTLED:
            return self._redacted(CallResult(Kind.PERMANENT, status, "UnexpectedResponse", body.strip() or "an empty answer")), {}
        return self._redacted(result), {}

    async def _call(self, method: str, path: str, **kwargs) -> tuple[int, str] | CallResult:
        """The answer's status and body, or the CallResult of a call that got no answer."""
        import aiohttp

        try:
            # allow_redirects=False: aiohttp would send the keys' headers on to whatever origin a
            # 3xx names (plain http included), and turn a POST into a GET that "succeeds".
            async with self._session.request(
                method, self._host + path, headers=self._headers, timeout=self._timeout, allow_redirects=False, **kwargs
            ) as response:
                if 300 <= response.status < 400:
                    return self._redacted(self._redirected(response))
                return response.status, await _read_body(response)
        except asyncio.TimeoutError:
            return CallResult(Kind.RETRYABLE, None, "Timeout", f"no answer within {self._timeout.total:g} s")
        except aiohttp.ClientError as exc:
            if _is_certificate_error(exc):
                # A certificate that fails verification fails again: never worth a retry.
                return CallResult(Kind.PERMANENT, None, "TLSError", self._describe(exc))
            # Any other TLS error (a handshake reset or cut short) is a dropped connection.
            return CallResult(Kind.RETRYABLE, None, "ConnectionError", self._describe(exc))

    def _redacted(self, result: CallResult) -> CallResult:
        """The result with the server's texts masked of the keys, then cut (in that order: a key
        cut in half could no longer be found)."""
        error_type, message = (cut(self._credentials.redact(text)) for text in (result.error_type, result.error_message))
        if (error_type, message) == (result.error_type, result.error_message):
            return result
        return dataclasses.replace(result, error_type=error_type, error_message=message)

    def _redirected(self, response: aiohttp.ClientResponse) -> CallResult:
        return CallResult(
            Kind.PERMANENT, response.status, "Redirect",
            f"the server redirected to {_origin(response)}; redirects are not followed, so the keys go only to {self._host}",
        )

    def _describe(self, exc: Exception) -> str:
        return self._credentials.redact(f"{type(exc).__name__}: {exc}")[:300]
