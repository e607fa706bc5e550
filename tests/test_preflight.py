"""The key check before the first update: UserByAccessKey.Get, its answers, its place in the limit."""

import json
import random

import pytest
import yarl

from bulk_updater.calls import Backoff, RetryPolicy, WindowLimiter
from bulk_updater.errors import AuthError, ConnectError, InputError
from bulk_updater.preflight import Identity, fetch_identity, preflight
from bulk_updater.settings import Credentials, SendSettings

HOST = "https://api-in21.leadsquared.com"
URL = HOST + "/v2/Authentication.svc/UserByAccessKey.Get"
KEYS = Credentials("u$r-access-0123456789", "secret-0123456789abcdef")
SEND = SendSettings(HOST, KEYS, max_attempts=3)
QUICK = RetryPolicy(max_attempts=3, backoff=Backoff(base=0.001, cap=0.002, rng=random.Random(1)))


def user(api_host: str = "api-in21.leadsquared.com", **fields) -> str:
    """An answer shaped like LeadSquared's documented one (trimmed)."""
    body = {
        "Id": "1a50c565-8525-11ea-a93b-0aa4c559f4ca", "Name": "Yogesh", "Role": "Administrator", "EmailAddress": None,
        "TimeZone": "Asia/Kolkata", "OrgDisplayName": "Education 101", "OrgId": "3b1041a3-8374-11e7-8758-0a106ee76b21",
        "OrgShortCode": "22824", "LSQCommonServiceURLs": {"api": api_host, "app": "in21.leadsquared.com"},
    }
    return json.dumps({**body, **fields})


class CountingLimiter(WindowLimiter):
    def __init__(self) -> None:
        super().__init__(1000, 1, jitter=0)
        self.acquired = 0

    async def acquire(self) -> None:
        self.acquired += 1
        await super().acquire()


async def test_the_check_is_one_call_through_the_runs_limiter(mocked):
    mocked.get(URL, status=200, body=user())
    limiter = CountingLimiter()
    identity = await preflight(SEND, limiter)
    assert limiter.acquired == 1
    assert (identity.user, identity.role, identity.org, identity.api_host) == ("Yogesh", "Administrator", "Education 101", "api-in21.leadsquared.com")
    [(method, url)] = mocked.requests
    assert (method, str(url)) == ("GET", URL)  # no key in the URL
    assert mocked.requests[(method, url)][0].kwargs["headers"] == KEYS.headers()


async def test_wrong_keys_raise_auth_error_at_once(mocked):
    body = json.dumps({"Status": "Error", "ExceptionType": "MXUnAuthorizedAccessException", "ExceptionMessage": f"bad key {KEYS.secret_key}"})
    mocked.get(URL, status=401, body=body)
    with pytest.raises(AuthError) as error:
        await fetch_identity(SEND, policy=QUICK)
    assert "rejected the keys" in str(error.value) and KEYS.secret_key not in str(error.value)
    assert len(mocked.requests[("GET", yarl.URL(URL))]) == 1


async def test_the_wrong_region_is_refused_unless_the_check_is_off(mocked):
    mocked.get(URL, status=200, body=user("api-us11.leadsquared.com"), repeat=True)
    with pytest.raises(InputError, match="--region us11") as error:
        await preflight(SEND)
    assert "--no-region-check" in str(error.value)
    unchecked = SendSettings(HOST, KEYS, check_region=False)
    assert (await preflight(unchecked)).api_host == "api-us11.leadsquared.com"


async def test_429_and_503_are_waited_out(mocked):
    mocked.get(URL, status=429, body="{}")
    mocked.get(URL, status=503, body="busy")
    mocked.get(URL, status=200, body=user())
    limiter = WindowLimiter(1000, 0.01, jitter=0)  # a 429 pauses callers for one period
    assert (await fetch_identity(SEND, limiter, policy=QUICK)).user == "Yogesh"


@pytest.mark.parametrize(
    ("status", "body", "hint"),
    [(404, "Not Found", "Is this a LeadSquared API host?"), (503, "busy", "Check the network"), (200, "<html>portal</html>", "Check the network")],
)
async def test_no_usable_answer_is_a_connect_error(mocked, status, body, hint):
    mocked.get(URL, status=status, body=body, repeat=True)
    with pytest.raises(ConnectError, match=hint):
        await fetch_identity(SEND, policy=QUICK)


def test_identity_reads_hosts_with_or_without_scheme():
    assert Identity.from_json(json.loads(user("https://api-ir31.leadsquared.com/"))).api_host == "api-ir31.leadsquared.com"
    lines = Identity.from_json(json.loads(user("api-ir31.leadsquared.com"))).lines()
    assert "API host:  api-ir31.leadsquared.com (--region ir31)" in lines
    unknown = Identity.from_json({"Id": "x", "Name": "n"})
    assert unknown.region_mismatch(HOST) is None  # nothing to compare with: not refused


def test_the_region_is_compared_by_host_name():
    identity = Identity.from_json(json.loads(user("api-in21.leadsquared.com")))
    assert identity.region_mismatch("https://API-in21.leadsquared.com:443") is None
    assert identity.region_mismatch("https://api.leadsquared.com") is not None


@pytest.mark.parametrize(
    ("fields", "email"),
    [
        ({"EmailAddress": None, "PassPhrase": "yogesh@education101.example"}, "yogesh@education101.example"),  # as documented
        ({"EmailAddress": "", "PassPhrase": "yogesh@education101.example"}, "yogesh@education101.example"),
        ({"EmailAddress": "  ", "PassPhrase": " yogesh@education101.example "}, "yogesh@education101.example"),
        ({"PassPhrase": "yogesh@education101.example"}, "yogesh@education101.example"),  # EmailAddress left out
        ({"EmailAddress": "y.k@education101.example", "PassPhrase": "yogesh@education101.example"}, "y.k@education101.example"),
        ({"EmailAddress": None, "PassPhrase": "correct horse battery staple"}, ""),  # not an address: maybe a secret, never shown
        ({"EmailAddress": None, "PassPhrase": "s3cr3t@"}, ""),
        ({"EmailAddress": None, "PassPhrase": None}, ""),
    ],
)
def test_the_email_comes_from_pass_phrase_when_email_address_is_empty(fields, email):
    identity = Identity.from_json(json.loads(user(**fields)))
    assert identity.email == email
    assert identity.lines()[0] == f"User:      Yogesh{f' <{email}>' if email else ''} (id 1a50c565-8525-11ea-a93b-0aa4c559f4ca)"


def test_whoami_shows_the_email_from_pass_phrase(mocked, monkeypatch, capsys):
    from bulk_updater import cli

    mocked.get(URL, status=200, body=user(EmailAddress=None, PassPhrase="yogesh@education101.example"))
    monkeypatch.setenv("LSQ_ACCESS_KEY", KEYS.access_key)
    monkeypatch.setenv("LSQ_SECRET_KEY", KEYS.secret_key)

    assert cli.main(["whoami", "--region", "in21"]) == 0
    assert "User:      Yogesh <yogesh@education101.example> (id " in capsys.readouterr().out
