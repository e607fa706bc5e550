"""Before the first update: one call that checks the keys and the region (UserByAccessKey.Get).

Wrong keys or a wrong region then fail within a second, with a clear message, instead of
as thousands of failed rows. The call goes through the run's own limiter, so it counts
against the account's limit like any other.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass

from .account import Account
from .calls import Action, CallResult, LeadSquaredClient, RetryPolicy, WindowLimiter, account_limiter, call_until_decided, open_session
from .errors import AuthError, ConnectError, InputError
from .hosts import hostname, netloc, region_of
from .server_text import printable
from .settings import SendSettings


@dataclass(frozen=True)
class Identity:
    """Who the keys belong to, as UserByAccessKey.Get says."""

    user: str
    user_id: str
    email: str
    role: str
    org: str
    org_id: str
    org_code: str
    time_zone: str
    api_host: str  # the region's API host, bare (api-in21.leadsquared.com); "" if not given

    @classmethod
    def from_json(cls, payload: dict, redact: Callable[[str], str] = str) -> Identity:
        """`redact` masks the keys in the server's texts, before they are cut to one printable line."""

        def text(name: str) -> str:
            return printable(redact(str(payload.get(name) or "")))

        urls = payload.get("LSQCommonServiceURLs")
        api = printable(redact(str(urls.get("api") or ""))) if isinstance(urls, dict) else ""
        return cls(
            user=text("Name"), user_id=text("Id"), email=text("EmailAddress").strip() or _email_in(text("PassPhrase").strip()), role=text("Role"),
            org=text("OrgDisplayName"), org_id=text("OrgId"), org_code=text("OrgShortCode"),
            time_zone=text("TimeZone"), api_host=netloc(api),
        )

    @property
    def account(self) -> Account:
        """The org the keys belong to, as a run records it and the account guard compares it (account.py)."""
        return Account(self.org_id, self.org_code, self.org, self.api_host)

    def lines(self) -> list[str]:
        email = f" <{self.email}>" if self.email else ""
        region = region_of(hostname(self.api_host)) if self.api_host else None
        return [
            f"User:      {self.user}{email} (id {self.user_id})",
            f"Role:      {self.role or 'unknown'}",
            f"Org:       {self.org} (short code {self.org_code or '-'}, id {self.org_id or '-'})",
            f"Time zone: {self.time_zone or 'unknown'}",
            f"API host:  {self.api_host or 'not given'}" + (f" (--region {region})" if region else ""),
        ]

    def host_option(self) -> str:
        """The option that sends calls to the keys' region host."""
        region = region_of(hostname(self.api_host))
        return f"--region {region}" if region else f"--host https://{self.api_host}"

    def region_mismatch(self, host: str) -> InputError | None:
        """The error to show when `host` is not the keys' region host; None when it is (or can't be told)."""
        if not self.api_host or hostname(self.api_host) == hostname(host):
            return None
        right = self.host_option()
        return InputError(
            f"the keys belong to the region host {self.api_host}, but the calls would go to {host}",
            hint=f"LeadSquared fails calls sent to another region's host: use {right}. "
            f"If {host} forwards to LeadSquared (a gateway), add --no-region-check to send there anyway.",
        )


# An email address, and nothing else: the only PassPhrase worth showing (see _email_in).
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _email_in(pass_phrase: str) -> str:
    """The login email LeadSquared's documented answer keeps in PassPhrase (its EmailAddress is null
    there); "" for anything else, which the name says may be a secret and is never shown."""
    return pass_phrase if _EMAIL.fullmatch(pass_phrase) else ""


def whoami(send: SendSettings) -> Identity:
    """Who the keys belong to (one call, nothing else): the user, role, org, time zone and region host.
    `identity.region_mismatch(send.host)` says whether `send.host` is the keys' region's."""
    return asyncio.run(fetch_identity(send))


async def preflight(send: SendSettings, limiter: WindowLimiter | None = None) -> Identity:
    """Check the keys and the region before the first update; raise AuthError, InputError or ConnectError.

    `limiter` is the run's own, so the check counts against the rate limit.
    """
    identity = await fetch_identity(send, limiter)
    if send.check_region and (mismatch := identity.region_mismatch(send.host)):
        raise mismatch
    return identity


async def fetch_identity(send: SendSettings, limiter: WindowLimiter | None = None, policy: RetryPolicy | None = None) -> Identity:
    """Ask LeadSquared who the keys belong to, retrying what the policy retries (429, 5xx, timeouts)."""
    limiter = limiter or account_limiter(send)
    policy = policy or RetryPolicy.of(send)
    async with open_session(1) as session:
        client = LeadSquaredClient(session, send.host, send.credentials, send.timeout)
        action, result, payload = await call_until_decided(client.fetch_user, limiter, policy)
    if action is Action.DONE:
        return Identity.from_json(payload, send.credentials.redact)
    if action is Action.UNAUTHORIZED:
        raise _rejected(result)
    if action is Action.THROTTLED_OUT:
        raise _throttled(send.host, policy.throttle_timeout)
    raise _unusable(send.host, result)


def _rejected(result: CallResult) -> AuthError:
    return AuthError(
        f"LeadSquared rejected the keys (401: {printable(result.error_message)}). Nothing was sent.\n"
        "Check LSQ_ACCESS_KEY and LSQ_SECRET_KEY (or the --env-file); the user may be inactive."
    )


def _unusable(host: str, result: CallResult) -> ConnectError:
    status = f"{result.http_status} " if result.http_status else ""
    problem = f"couldn't check the keys at {host} ({status}{printable(result.error_type)}: {printable(result.error_message)}). Nothing was sent."
    if result.error_type == "Redirect":
        hint = ("The keys are never sent on to another address. Use --region, or the API host itself "
                "with --host, once you know it is LeadSquared's.")
    elif result.error_type == "TLSError":
        hint = ("The server's certificate could not be verified. If a company proxy re-signs TLS, "
                "point SSL_CERT_FILE at its CA bundle; never send the keys without verification.")
    elif result.http_status == 404:
        hint = "Is this a LeadSquared API host? Use --region (sg, us11, in21, in22, ir31, ca12)."
    else:
        hint = "Check the network and the host, then run again."
    return ConnectError(f"{problem}\n{hint}")


def _throttled(host: str, timeout: float) -> ConnectError:
    return ConnectError(
        f"couldn't check the keys at {host}: every answer was a 429 (over the rate limit) for {timeout:g} s. Nothing was sent.\n"
        "Another integration may be using the account's limit: check with the admin, or try again later."
    )
