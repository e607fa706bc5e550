"""Hosts: regions, HTTPS only, http:// only for loopback, decided without any lookup."""

import socket

import pytest

from bulk_updater.cli import build_parser
from bulk_updater.errors import InputError
from bulk_updater.hosts import REGIONS, check_host, host_url, hostname, region_of, region_url, require_host
from bulk_updater.settings import Credentials, SendSettings


@pytest.fixture(autouse=True)
def no_name_lookups(monkeypatch):
    """Any name lookup fails the test: the check must decide from the text alone."""

    def forbidden(*args, **kwargs):
        raise AssertionError("a name lookup was made")

    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "create_connection"):
        monkeypatch.setattr(socket, name, forbidden)


def test_regions_name_leadsquared_hosts():
    assert region_url("sg") == "https://api.leadsquared.com"
    assert region_url("in21") == "https://api-in21.leadsquared.com"
    assert sorted(REGIONS) == ["ca12", "in21", "in22", "ir31", "sg", "us11"]
    assert region_of("API-US11.leadsquared.com.") == "us11" and region_of("example.com") is None


@pytest.mark.parametrize(
    ("url", "checked"),
    [
        ("https://api-in21.leadsquared.com", "https://api-in21.leadsquared.com"),
        (" https://API-in21.LeadSquared.com/v2/ ", "https://api-in21.leadsquared.com"),
        ("https://gateway.example.com:8443", "https://gateway.example.com:8443"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("http://127.9.8.7", "http://127.9.8.7"),
        ("http://[::1]:8765/", "http://[::1]:8765"),
        ("http://localhost:8765", "http://localhost:8765"),
    ],
)
def test_accepted_hosts(url, checked):
    assert check_host(url) == checked


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://api.leadsquared.com", "plain http://"),
        ("http://10.0.0.1", "plain http://"),
        ("http://127.0.0.1.example.com", "plain http://"),
        ("http://localhost.example.com", "plain http://"),
        ("http://[::2]", "plain http://"),
        ("api.leadsquared.com", "is not an https:// URL"),
        ("ftp://api.leadsquared.com", "is not an https:// URL"),
        ("https://", "is not an https:// URL"),
        ("https://user:pw@api.leadsquared.com", "user name or password"),
        ("https://api.leadsquared.com/v2/CompanyActivity.svc", "has a path or query"),
        ("https://api.leadsquared.com?accessKey=x", "has a path or query"),
        ("https://api.leadsquared.com:99999", "is not a URL"),
    ],
)
def test_refused_hosts(url, problem):
    with pytest.raises(InputError, match=problem):
        check_host(url)


def test_send_settings_refuse_plain_http_to_another_machine():
    with pytest.raises(InputError, match="plain http://"):
        SendSettings("http://api.leadsquared.com", Credentials("a" * 10, "b" * 10))


def test_region_host_and_env_are_taken_in_that_order():
    env = {"LSQ_HOST": "https://x.example"}
    assert host_url("ca12", environ=env) == "https://api-ca12.leadsquared.com"
    assert host_url(host="https://y.example/v2/", environ=env) == "https://y.example"
    assert host_url(environ=env) == "https://x.example"
    assert host_url(environ={}) == ""
    with pytest.raises(InputError, match="no LeadSquared host is set"):
        require_host(host_url(environ={}))
    with pytest.raises(SystemExit):
        build_parser().parse_args(["whoami", "--region", "in21", "--host", "https://y.example"])


def test_hostname_reads_urls_and_bare_hosts():
    assert hostname("https://API.example.com:443/v2") == "api.example.com"
    assert hostname("api-in21.leadsquared.com") == "api-in21.leadsquared.com"
    assert hostname("127.0.0.1:8765") == "127.0.0.1"

