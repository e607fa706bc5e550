import asyncio
import json

import aiohttp
import pytest

from bulk_updater.calls import Kind, LeadSquaredClient, classify_response
from bulk_updater.requests import UpdateRequest
from bulk_updater.settings import Credentials

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


async def test_error_texts_are_redacted(mocked):
    # A server or a library may quote the keys: the client masks them before anything keeps the text.
    mocked.post(URL, status=500, body=mx("MXInvalidEntityException", f"no activity for key {KEYS.access_key}"))
    mocked.post(URL, exception=aiohttp.ClientConnectionError(f"reset while sending x-LSQ-SecretKey: {KEYS.secret_key}"))
    server, library = await send(), await send()
    assert server.error_message == "no activity for key ***"
    assert library.error_message == "ClientConnectionError: reset while sending x-LSQ-SecretKey: ***"
