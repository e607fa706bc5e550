import asyncio
import json
import ssl

import aiohttp
import pytest

from bulk_updater.calls import CallResult, Kind, LeadSquaredClient, classify_response
from bulk_updater.settings import Credentials
from bulk_updater.updates import UpdateRequest

HOST = "https://api-in21.leadsquared.com"
URL = HOST + "/v2/CompanyActivity.svc/Update"
ID = "255539a4-0380-4b8c-84db-7746b46c3fe2"
REQUEST = UpdateRequest(ID, "note", (("Status", "Won"),))
KEYS = Credentials("ACCESS-123", "SECRET-456")


def mx(kind: str, message: str) -> str:
    return json.dumps({"Status": "Error", "ExceptionType": kind, "ExceptionMessage": message})


SUCCESS = json.dumps({"Status": "Success", "Message": {"Id": ID, "IsSuccessful": True}})


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (200, SUCCESS, Kind.SUCCESS),
        (200, json.dumps({"Status": "Success", "Message": {"Id": ID, "IsSuccessful": False}}), Kind.PERMANENT),
        (200, json.dumps({"Status": "Success", "Message": {"Id": ID}}), Kind.SUCCESS),  # only IsSuccessful false says it failed
        (200, json.dumps({"Status": "Error"}), Kind.PERMANENT),
        (200, "not json", Kind.PERMANENT),
        (401, mx("MXUnAuthorizedAccessException", "bad keys"), Kind.UNAUTHORIZED),
        (429, mx("MXAPIRateLimitExceededException", "API calls exceeded the limit of 25 in 5 second(s)"), Kind.THROTTLED),
        (500, mx("MXInvalidEntityException", "Activity does not exist"), Kind.PERMANENT),
        (400, mx("MXInvalidInputException", "bad body"), Kind.PERMANENT),
        (500, "<html>oops</html>", Kind.RETRYABLE),
        (500, json.dumps({"Status": "Error", "ExceptionType": "System.Exception"}), Kind.RETRYABLE),
        (502, "", Kind.RETRYABLE),
        (503, "", Kind.RETRYABLE),
        (504, "", Kind.RETRYABLE),
        (404, "", Kind.PERMANENT),
        (409, "", Kind.PERMANENT),
    ],
)
def test_classify_response(status, body, kind):
    assert classify_response(status, body).kind is kind


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, SUCCESS, CallResult(Kind.SUCCESS, 200)),  # its status: an answer from past the rate limit restarts the throttle clock
        (503, " <html>busy</html>\n", CallResult(Kind.RETRYABLE, 503, "HTTP503", "<html>busy</html>")),  # a body that is no JSON is the message
        (404, "Not Found", CallResult(Kind.PERMANENT, 404, "HTTP404", "Not Found")),
        (500, json.dumps({"Status": "Error", "Message": "went wrong"}), CallResult(Kind.RETRYABLE, 500, "HTTP500", "went wrong")),
        (200, "not json", CallResult(Kind.PERMANENT, 200, "UnexpectedResponse", "not json")),
        (200, json.dumps({"Status": "Error"}), CallResult(Kind.PERMANENT, 200, "UnexpectedResponse", "200 without Status Success")),
        (401, "", CallResult(Kind.UNAUTHORIZED, 401, "Unauthorized", "the keys were rejected")),
        (429, "", CallResult(Kind.THROTTLED, 429, "TooManyRequests", "over the rate limit")),
    ],
)
def test_an_answer_without_an_error_type_is_named_by_its_status_and_says_what_came_back(status, body, expected):
    # The report's _error_type and _error_message, and the summary's groups of failures, are these.
    assert classify_response(status, body) == expected


def test_mx_error_keeps_type_and_message():
    result = classify_response(500, mx("MXInvalidEntityException", "Activity does not exist"))
    assert (result.http_status, result.error_type, result.error_message) == (500, "MXInvalidEntityException", "Activity does not exist")


async def send() -> object:
    async with aiohttp.ClientSession() as session:
        return await LeadSquaredClient(session, HOST, KEYS, 5).send_update(REQUEST)


async def test_keys_go_in_headers_only_and_body_is_the_request(mocked):
    mocked.post(URL, status=200, body=SUCCESS)
    result = await send()
    assert result.kind is Kind.SUCCESS
    [(method, url)] = mocked.requests
    assert str(url) == URL and "ACCESS-123" not in str(url)
    call = mocked.requests[(method, url)][0]
    assert call.kwargs["headers"] == {"x-LSQ-AccessKey": "ACCESS-123", "x-LSQ-SecretKey": "SECRET-456"}
    assert call.kwargs["json"] == REQUEST.to_json()


async def test_timeout_and_dropped_connection_are_retryable(mocked):
    mocked.post(URL, exception=asyncio.TimeoutError())
    mocked.post(URL, exception=aiohttp.ServerDisconnectedError())
    timeout, dropped = await send(), await send()
    assert (timeout.kind, timeout.error_type) == (Kind.RETRYABLE, "Timeout")
    assert (dropped.kind, dropped.error_type) == (Kind.RETRYABLE, "ConnectionError")


async def test_a_certificate_that_fails_verification_is_permanent_however_aiohttp_wraps_it(mocked):
    """aiohttp may raise its SSL error with the verification failure underneath, not its certificate
    error: it fails the same way every time, so it is no retry (a handshake cut short is one)."""
    key = aiohttp.client_reqrep.ConnectionKey("api-in21.leadsquared.com", 443, True, True, None, None, None)
    mocked.post(URL, exception=aiohttp.ClientConnectorSSLError(key, ssl.SSLCertVerificationError(1, "certificate verify failed")))
    mocked.post(URL, exception=aiohttp.ClientConnectorSSLError(key, ssl.SSLError(1, "handshake cut short")))
    unverified, cut = await send(), await send()
    assert (unverified.kind, unverified.error_type) == (Kind.PERMANENT, "TLSError")
    assert (cut.kind, cut.error_type) == (Kind.RETRYABLE, "ConnectionError")


async def test_error_texts_are_redacted(mocked):
    # A server or a library may quote the keys: the client masks them before anything keeps the text.
    mocked.post(URL, status=500, body=mx("MXInvalidEntityException", f"no activity for key {KEYS.access_key}"))
    mocked.post(URL, exception=aiohttp.ClientConnectionError(f"reset while sending x-LSQ-SecretKey: {KEYS.secret_key}"))
    server, library = await send(), await send()
    assert server.error_message == "no activity for key ***"
    assert library.error_message == "ClientConnectionError: reset while sending x-LSQ-SecretKey: ***"


# --- Throttling recognised by what the answer says, whatever its status ---

RATE_TEXT = "API calls exceeded the limit of 25 in 5 second(s)"
CUT_AT = 64 * 1024  # MAX_BODY_BYTES: the client reads no more of a body


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (403, mx("MXAPIRateLimitExceededException", RATE_TEXT)),  # a public client saw this with 403
        (403, mx("MXException", "API calls exceeded the limit of 72 in 5 second(s)")),  # the message alone
        (403, mx("", "api calls EXCEEDED THE LIMIT of 10 in 5 second(s)")),  # any case
        (403, json.dumps({"Status": "Error", "ExceptionType": "MXAPIRateLimitExceededException"})),  # the type alone
        (500, mx("MXAPIRateLimitExceededException", RATE_TEXT)),  # an MX type is otherwise the data's fault
        (500, json.dumps({"Status": "Error", "Message": "Rate limit exceeded"})),
        (200, mx("MXAPIRateLimitExceededException", RATE_TEXT)),  # a 200 with Status Error
        (200, json.dumps({"Status": "Error", "Message": RATE_TEXT})),
        (403, json.dumps(RATE_TEXT)),  # a JSON string, not an object
        (403, RATE_TEXT),  # plain text
        (403, f"<html><body><h1>Forbidden</h1><p>{RATE_TEXT}</p></body></html>"),  # an HTML page
        (403, "<html><body><h1>429 Too Many Requests</h1></body></html>"),  # a gateway's page
        (400, json.dumps({"message": "Too Many Requests"})),
        (403, mx("MXAPIRateLimitExceededException", "x" * CUT_AT)[:CUT_AT]),  # cut: the type still shows
        (403, json.dumps({"Status": "Error", "ExceptionMessage": RATE_TEXT + " " + "x" * CUT_AT})[:CUT_AT]),  # cut: the message
        (401, mx("MXAPIRateLimitExceededException", RATE_TEXT)),  # not the keys' fault: slow down, don't stop
    ],
)
def test_an_answer_that_says_the_rate_limit_was_exceeded_is_throttled_whatever_its_status(status, body):
    result = classify_response(status, body)
    assert result.kind is Kind.THROTTLED
    assert result.http_status == status  # the report says what came back


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (403, "", Kind.PERMANENT),  # an ordinary 403 stays the data's (or the keys' role's) fault
        (403, "Forbidden", Kind.PERMANENT),
        (403, mx("MXAccessDeniedException", "You do not have permission to update this activity"), Kind.PERMANENT),
        (500, mx("MXFieldLengthExceededException", "Value exceeded the limit of 200 characters for mx_Note"), Kind.PERMANENT),
        (400, mx("MXInvalidInputException", "Number of fields exceeded the limit of 50"), Kind.PERMANENT),
        (500, mx("MXInvalidInputException", "Maximum length exceeded for mx_Rate_Limit"), Kind.PERMANENT),
        (500, mx("MXInvalidInputException", "mx_RateLimit exceeded its maximum value"), Kind.PERMANENT),
        (500, "<html>API call failed: the request exceeded the time limit</html>", Kind.RETRYABLE),
        # Fields besides the error's own may echo an activity's data: a read with no ActivityFields.
        (200, json.dumps({"ActivityFields": None, "ActivityNote": "API calls exceeded the limit of 25 in 5 second(s)"}), Kind.PERMANENT),
    ],
)
def test_exceeded_texts_that_are_not_a_rate_limit_are_not_throttles(status, body, kind):
    assert classify_response(status, body).kind is kind


RETRIEVE_URL = HOST + "/v2/CompanyActivity.svc/RetrieveById"
USER_URL = HOST + "/v2/Authentication.svc/UserByAccessKey.Get"


@pytest.mark.parametrize("status", [200, 403])
async def test_a_read_answered_with_a_throttle_is_throttled_not_permanent(mocked, status):
    # The backup's read, verify's and the field check's all go through retrieve_activity: a 200 that
    # is no activity was permanent before the text was looked at (every --backup row BackupFailed).
    mocked.get(f"{RETRIEVE_URL}?activityId={ID}", status=status, body=mx("MXAPIRateLimitExceededException", RATE_TEXT))
    mocked.get(f"{RETRIEVE_URL}?activityId={ID}", status=200, body=json.dumps({"Status": "Error"}))
    async with aiohttp.ClientSession() as session:
        client = LeadSquaredClient(session, HOST, KEYS, 5)
        (throttled, _), (other, _) = await client.retrieve_activity(ID), await client.retrieve_activity(ID)
    assert (throttled.kind, throttled.http_status) == (Kind.THROTTLED, status)
    assert (other.kind, other.error_type) == (Kind.PERMANENT, "UnexpectedResponse")  # a 200 that is no activity, still


@pytest.mark.parametrize("status", [200, 403])
async def test_the_key_check_answered_with_a_throttle_is_throttled_not_permanent(mocked, status):
    mocked.get(USER_URL, status=status, body=mx("MXAPIRateLimitExceededException", RATE_TEXT))
    mocked.get(USER_URL, status=200, body=json.dumps({"Status": "Error"}))
    async with aiohttp.ClientSession() as session:
        client = LeadSquaredClient(session, HOST, KEYS, 5)
        (throttled, _), (other, _) = await client.fetch_user(), await client.fetch_user()
    assert (throttled.kind, throttled.http_status) == (Kind.THROTTLED, status)
    assert (other.kind, other.error_type) == (Kind.PERMANENT, "UnexpectedResponse")
