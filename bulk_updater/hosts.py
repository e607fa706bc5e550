"""Where the calls go: LeadSquared's region hosts, and the check every host URL passes.

The check is pure text work, made before any connection or name lookup: a key must never
travel over plain HTTP to a machine other than this one.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from .errors import InputError

# One API host per region; the keys belong to exactly one of them.
REGIONS = {
    "sg": "api.leadsquared.com",  # Singapore
    "us11": "api-us11.leadsquared.com",  # United States
    "in21": "api-in21.leadsquared.com",  # India (Mumbai)
    "in22": "api-in22.leadsquared.com",  # India (Hyderabad)
    "ir31": "api-ir31.leadsquared.com",  # Ireland
    "ca12": "api-ca12.leadsquared.com",  # Canada
}
# UserByAccessKey.Get answers on any region's host, so `whoami` can ask here when none is set.
DEFAULT_LOOKUP_HOST = "https://" + REGIONS["sg"]
# Paths an admin may paste from LeadSquared's docs; the client adds /v2/... itself.
_ACCEPTED_PATHS = {"", "/", "/v2", "/v2/"}


def region_url(region: str) -> str:
    if region not in REGIONS:  # the CLI offers only these; a library caller may give any text
        raise InputError(f"{region!r} is not a LeadSquared region", hint=f"Use --region with one of: {', '.join(REGIONS)}.")
    return "https://" + REGIONS[region]


def host_url(region: str | None = None, host: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The checked base URL a region names, else `host`, else LSQ_HOST in `environ` (the process
    environment by default); "" when none is set. Nothing is resolved or connected."""
    environ = os.environ if environ is None else environ
    url = region_url(region) if region else host or environ.get("LSQ_HOST", "")
    return check_host(url) if url else ""


def require_host(url: str) -> str:
    """`url`, or a plain refusal when no host was set anywhere."""
    if not url:
        raise InputError(
            "no LeadSquared host is set",
            hint="Use --region (sg, us11, in21, in22, ir31, ca12), --host URL or LSQ_HOST. `bulk-updater whoami` tells the keys' region.",
        )
    return url


def region_of(hostname: str) -> str | None:
    """The --region name of a LeadSquared API host name, or None for any other host."""
    wanted = _bare(hostname)
    return next((name for name, host in REGIONS.items() if host == wanted), None)


def check_host(url: str) -> str:
    """Return `url` as `scheme://host[:port]`, or raise InputError if keys must not go there.

    HTTPS is required; http:// is allowed only for loopback addresses (the sandbox).
    Decided from the text alone: nothing is resolved or connected.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError:
        raise _bad_host(url, "is not a URL") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise _bad_host(url, "is not an https:// URL")
    if parts.username is not None or parts.password is not None:
        raise _bad_host(url, "holds a user name or password", hint="Give only the host; the keys travel in headers.")
    if parts.path not in _ACCEPTED_PATHS or parts.query or parts.fragment:
        raise _bad_host(url, "has a path or query", hint="Give only the host, e.g. https://api-in21.leadsquared.com.")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise InputError(
            f"the host {url!r} uses plain http://",
            hint="LeadSquared needs https://, and the keys must not travel unencrypted. "
            "Plain http:// is accepted only for this machine (127.0.0.1, ::1, localhost), e.g. the sandbox.",
        )
    return f"{parts.scheme}://{parts.netloc.lower()}"


def is_loopback(hostname: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1, judged from the text (no name lookup)."""
    if hostname.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def hostname(url_or_host: str) -> str:
    """The bare, lower-case host name of a URL, or of a host[:port] as LeadSquared writes it."""
    return _bare(_split(url_or_host).hostname or "")


def netloc(url_or_host: str) -> str:
    """The lower-case host[:port] of a URL, or of a host as LeadSquared writes it."""
    return _split(url_or_host).netloc.lower()


def _split(url_or_host: str):
    text = url_or_host.strip()
    return urlsplit(text if "//" in text else "//" + text)


def _bare(name: str) -> str:
    return name.lower().rstrip(".")


def _bad_host(url: str, problem: str, hint: str = "") -> InputError:
    return InputError(
        f"the host {url!r} {problem}",
        hint=hint or "Write it like https://api-in21.leadsquared.com, or use --region (sg, us11, in21, in22, ir31, ca12).",
    )
