"""Where the calls go and with which keys: kept in this server's memory only.

Keys come from the environment the server was started with (and its --env-file), or are
typed into the page's password fields. They are never written to disk, put in a URL or
logged; every key loaded is added to the process's redaction, so no page shows one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..credentials import ACCESS_KEY, REDACTOR, SECRET_KEY, Credentials
from ..errors import InputError
from ..hosts import REGIONS, check_host, hostname, region_of, region_url
from ..preflight import Identity, preflight
from ..settings import SendSettings


@dataclass(frozen=True)
class Connection:
    host: str
    credentials: Credentials
    identity: Identity
    check_region: bool = True

    @property
    def region(self) -> str:
        return region_of(hostname(self.identity.api_host)) or self.identity.api_host or "unknown"


def keys_in_environment(environ: Mapping[str, str]) -> bool:
    return bool(environ.get(ACCESS_KEY, "").strip() and environ.get(SECRET_KEY, "").strip())


def chosen_host(region: str, host: str, environ: Mapping[str, str]) -> str:
    """The checked base URL from the page's region or host field, else LSQ_HOST."""
    if region:
        if region not in REGIONS:
            raise InputError(f"there is no region {region!r}", hint=f"Pick one of {', '.join(REGIONS)}.")
        return region_url(region)
    url = host.strip() or environ.get("LSQ_HOST", "")
    if not url:
        raise InputError("no LeadSquared host is set", hint="Pick the account's region, or give its API host.")
    return check_host(url)


def chosen_credentials(typed_access: str, typed_secret: str, environ: Mapping[str, str]) -> Credentials:
    access, secret = typed_access.strip(), typed_secret.strip()
    if not (access or secret):
        access, secret = environ.get(ACCESS_KEY, "").strip(), environ.get(SECRET_KEY, "").strip()
    if not (access and secret):
        raise InputError(
            "both keys are needed",
            hint="Type the access key and the secret key, or start bulk-updater ui with them in the environment or an --env-file.",
        )
    credentials = Credentials(access, secret)
    REDACTOR.protect(credentials)
    return credentials


async def connect(host: str, credentials: Credentials, check_region: bool = True) -> Connection:
    """The key check a run makes first: the user, org and region, or the CLI's refusal."""
    send = SendSettings(host=host, credentials=credentials, check_region=check_region)
    identity = await preflight(send)
    return Connection(host, credentials, identity, check_region)
