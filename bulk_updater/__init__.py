"""bulk_updater: apply a spreadsheet of edits to LeadSquared account activities.

    from bulk_updater import run, SendSettings, Credentials, Rate, credentials_from, environment, host_url
    summary = run("edits.csv", "out/", SendSettings(host_url(region="in21"), credentials_from(environment("lsq.env")), Rate.resolve(plan="pro")))
    summary = run("edits.csv", "out/", SendSettings(host, Credentials(access, secret)))
    summary = retry("out/failed.csv", "out-2/", SendSettings(host, Credentials(access, secret)))
    summary = resume("out/", Credentials(access, secret))  # an unfinished run, with the options it recorded
"""

from .credentials import credentials_from, environment
from .errors import AuthError, BulkUpdaterError, ConnectError, InputError, StoppedAtOnce
from .job import JobOptions, resume, retry, run
from .hosts import host_url
from .report import Summary
from .settings import Credentials, Rate, SendSettings
from .stopping import StopToken

__all__ = ["AuthError", "BulkUpdaterError", "ConnectError", "Credentials", "InputError", "JobOptions", "Rate", "SendSettings", "StopToken", "StoppedAtOnce", "Summary", "credentials_from", "environment", "host_url", "resume", "retry", "run"]
