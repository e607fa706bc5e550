"""bulk_updater: apply a spreadsheet of edits to LeadSquared account activities.

    from bulk_updater import run, SendSettings, Credentials, Rate, credentials_from, environment, host_url
    summary = run("edits.csv", "out/", SendSettings(host_url(region="in21"), credentials_from(environment("lsq.env")), Rate.resolve(plan="pro")))
    summary = run("edits.csv", "out/", SendSettings(host, Credentials(access, secret)))
    summary = retry("out/failed.csv", "out-2/", SendSettings(host, Credentials(access, secret)))
    summary = resume("out/", Credentials(access, secret))  # an unfinished run, with the options it recorded
    summary = run("edits.csv", "out/", settings, JobOptions(backup=True))
    summary = undo("out/", "out-undo/", settings)   # a run made with backup=True
    result = verify("out/", settings)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Imported on first use, not here: the CLI installs its signal handlers on its first line,
# and importing this package must not first pull in aiohttp and pandas (so a Ctrl-C during
# the imports stops cleanly). `from bulk_updater import run` works as before.
_HOMES = {
    "credentials_from": ".credentials", "environment": ".credentials",
    "AuthError": ".errors", "BulkUpdaterError": ".errors", "ConnectError": ".errors", "InputError": ".errors", "StoppedAtOnce": ".errors",
    "Hooks": ".job", "JobOptions": ".job", "resume": ".job", "retry": ".job", "run": ".job", "undo": ".job",
    "verify": ".safety.verify",
    "host_url": ".hosts",
    "Summary": ".report",
    "Tally": ".report.tally",
    "Credentials": ".settings", "Rate": ".settings", "SendSettings": ".settings",
    "StopToken": ".stopping",
    "StopReason": ".stop_reason",
}  # fmt: skip

__all__ = ["AuthError", "BulkUpdaterError", "ConnectError", "Credentials", "Hooks", "InputError", "JobOptions", "Rate", "SendSettings", "StopReason", "StopToken", "StoppedAtOnce", "Summary", "Tally", "credentials_from", "environment", "host_url", "resume", "retry", "run", "undo", "verify"]

if TYPE_CHECKING:
    from .credentials import credentials_from, environment
    from .errors import AuthError, BulkUpdaterError, ConnectError, InputError, StoppedAtOnce
    from .hosts import host_url
    from .job import Hooks, JobOptions, resume, retry, run, undo
    from .report import Summary
    from .report.tally import Tally
    from .safety.verify import verify
    from .settings import Credentials, Rate, SendSettings
    from .stop_reason import StopReason
    from .stopping import StopToken


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'bulk_updater' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name], __name__), name)
    globals()[name] = value
    return value
