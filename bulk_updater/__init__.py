"""bulk_updater: apply a spreadsheet of edits to LeadSquared account activities.

    from bulk_updater import run, SendSettings, Credentials, Rate, credentials_from, environment, host_url
    summary = run("edits.csv", "out/", SendSettings(host_url(region="in21"), credentials_from(environment("lsq.env")), Rate.resolve(plan="pro")))
    summary = run("edits.csv", "out/", SendSettings(host, Credentials(access, secret)))
    summary = retry("out/failed.csv", "out-2/", SendSettings(host, Credentials(access, secret)))
    summary = resume("out/", Credentials(access, secret))  # an unfinished run, with the options it recorded
    summary = run("edits.csv", "out/", settings, JobOptions(backup=True))
    summary = undo("out/", "out-undo/", settings)   # a run made with backup=True
    result = verify("out/", settings)
    checked = check("edits.xlsx", ReadOptions(sheet="Edits"))   # nothing sent
    identity = whoami(settings)                                 # whose keys, which region

Errors raised to a caller of these functions name their parameters (`restart=True`), not the
CLI's flags (library_wording.py).
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
    "verify": ".safety.verify", "VerifyResult": ".safety.verify",
    "check": ".checking", "CheckResult": ".checking",
    "whoami": ".preflight", "Identity": ".preflight",
    "ReadOptions": ".rows",
    "host_url": ".hosts",
    "Summary": ".report",
    "Tally": ".report.tally",
    "Credentials": ".settings", "Rate": ".settings", "SendSettings": ".settings",
    "StopToken": ".stopping",
    "StopReason": ".stop_reason",
}  # fmt: skip

__all__ = [
    "AuthError", "BulkUpdaterError", "CheckResult", "ConnectError", "Credentials", "Hooks", "Identity", "InputError", "JobOptions", "Rate",
    "ReadOptions", "SendSettings", "StopReason", "StopToken", "StoppedAtOnce", "Summary", "Tally", "VerifyResult", "check", "credentials_from",
    "environment", "host_url", "resume", "retry", "run", "undo", "verify", "whoami",
]  # fmt: skip
# The functions whose errors reach their caller in the library's words (library_wording.py).
_facing: dict[str, Any] = {}  # each wrapped once: `from bulk_updater import check` is `bulk_updater.check`
_FACING = {"check", "credentials_from", "environment", "host_url", "resume", "retry", "run", "undo", "verify", "whoami"}

if TYPE_CHECKING:
    from .checking import CheckResult, check
    from .credentials import credentials_from, environment
    from .errors import AuthError, BulkUpdaterError, ConnectError, InputError, StoppedAtOnce
    from .hosts import host_url
    from .job import Hooks, JobOptions, resume, retry, run, undo
    from .preflight import Identity, whoami
    from .report import Summary
    from .report.tally import Tally
    from .rows import ReadOptions
    from .safety.verify import VerifyResult, verify
    from .settings import Credentials, Rate, SendSettings
    from .stop_reason import StopReason
    from .stopping import StopToken


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'bulk_updater' has no attribute {name!r}")
    if name in _facing:
        return _facing[name]
    value = getattr(importlib.import_module(_HOMES[name], __name__), name)
    if name in _FACING:
        from .library_wording import library_facing

        value = _facing[name] = library_facing(value)
        # Pickled by this name (a process pool's target), which finds this wrapper, not the module's own function.
        value.__module__, value.__qualname__ = __name__, name
    globals()[name] = value
    return value
