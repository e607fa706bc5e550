"""TLS errors: only a certificate error is permanent.

aiohttp raises ClientConnectorSSLError for any ssl.SSLError, a handshake cut short included;
that is a dropped connection, retried. A certificate that fails verification fails again,
so it is never retried. Tested against loopback servers that break the handshake.
"""

from __future__ import annotations

import asyncio
import json
import random
import ssl
import sys

import pytest
import trustme

from bulk_updater.calls import Backoff, Kind, LeadSquaredClient, RetryPolicy, open_session
from bulk_updater.errors import ConnectError
from bulk_updater.preflight import fetch_identity
from bulk_updater.settings import Credentials, SendSettings
from bulk_updater.updates import UpdateRequest

KEYS = Credentials("access-key-0123456789", "secret-key-0123456789")
REQUEST = UpdateRequest("255539a4-0380-4b8c-84db-7746b46c3fe2", "note", (("Status", "Won"),))
QUICK = RetryPolicy(max_attempts=3, backoff=Backoff(0.001, 0.002, random.Random(1)))
USER = json.dumps({"Id": "1a50c565", "Name": "Yogesh", "LSQCommonServiceURLs": {"api": "127.0.0.1"}}).encode()
# What a server that breaks the handshake sends instead of a ServerHello.
PLAIN_HTTP = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
HANDSHAKE_FAILURE_ALERT = b"\x15\x03\x03\x00\x02\x02\x28"


class BrokenHandshakes:
    """A loopback server whose first `broken` connections get `reply` instead of a TLS handshake;
    later ones (when given a `context`) a real TLS handshake and a 200 with `USER`."""

    def __init__(self, reply: bytes, broken: int, context: ssl.SSLContext | None = None) -> None:
        self.reply, self.broken, self.context = reply, broken, context
        self.connections = self.answered = 0

    async def __aenter__(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"https://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def __aexit__(self, *exc) -> None:
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            if self.connections <= self.broken or self.context is None:
                await reader.read(5)  # the start of the ClientHello
                writer.write(self.reply)
            else:
                await writer.start_tls(self.context)
                await reader.readuntil(b"\r\n\r\n")
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(USER), USER))
                self.answered += 1
            await writer.drain()
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


@pytest.fixture
def ca(tmp_path, monkeypatch):
    """A private CA that the client trusts (SSL_CERT_FILE), and a server context for 127.0.0.1 or another name."""
    authority = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))

    def server_context(name: str = "127.0.0.1") -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        authority.issue_cert(name).configure_cert(context)
        return context

    return server_context


async def send_update(host: str):
    async with open_session(1) as session:
        return await LeadSquaredClient(session, host, KEYS, 5).send_update(REQUEST)


@pytest.mark.parametrize("reply", [PLAIN_HTTP, HANDSHAKE_FAILURE_ALERT], ids=["garbage", "alert"])
async def test_a_broken_handshake_is_retryable_like_a_dropped_connection(reply):
    async with BrokenHandshakes(reply, broken=1) as host:
        result = await send_update(host)
    assert (result.kind, result.error_type) == (Kind.RETRYABLE, "ConnectionError")
    assert "SSL" in result.error_message  # it was a TLS error, and says so


async def test_a_certificate_from_an_unknown_authority_is_permanent(sandbox):
    untrusted = trustme.CA()  # SSL_CERT_FILE is not set to it: the system's CAs don't know it
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    untrusted.issue_cert("127.0.0.1").configure_cert(context)
    box = sandbox(ssl_context=context)
    result = await send_update(box.url)
    assert (result.kind, result.error_type) == (Kind.PERMANENT, "TLSError")
    assert box.state.calls == 0  # the keys never left: the handshake failed first


async def test_a_certificate_for_another_name_is_permanent(sandbox, ca):
    box = sandbox(ssl_context=ca("lsq.example"))
    result = await send_update(box.url)
    assert (result.kind, result.error_type) == (Kind.PERMANENT, "TLSError")
    assert box.state.calls == 0


@pytest.mark.skipif(sys.version_info < (3, 11), reason="StreamWriter.start_tls is Python 3.11+")
async def test_the_key_check_retries_a_handshake_cut_short_then_succeeds(ca):
    server = BrokenHandshakes(PLAIN_HTTP, broken=2, context=ca())
    async with server as host:
        identity = await fetch_identity(SendSettings(host, KEYS, check_region=False), policy=QUICK)
    assert identity.user == "Yogesh"
    assert (server.connections, server.answered) == (3, 1)


async def test_the_key_check_gives_up_on_broken_handshakes_after_max_attempts_saying_it_is_the_network():
    async with BrokenHandshakes(PLAIN_HTTP, broken=100) as host:
        with pytest.raises(ConnectError, match="Check the network") as error:
            await fetch_identity(SendSettings(host, KEYS), policy=QUICK)
    assert "certificate" not in str(error.value)
