"""bulk_updater: apply a spreadsheet of edits to LeadSquared account activities.

    from bulk_updater import run, SendSettings, Credentials, Rate
    summary = run("edits.csv", "out/", SendSettings(host, Credentials(access, secret)))
    summary = retry("out/failed.csv", "out-2/", SendSettings(host, Credentials(access, secret)))
    summary = resume("out/", Credentials(access, secret))  # an unfinished run, with the options it recorded
"""

from .errors import AuthError, BulkUpdaterError, ConnectError, InputError, StoppedAtOnce
from .job import JobOptions, resume, retry, run
from .report import Summary
from .settings import Credentials, Rate, SendSettings
from .stopping import StopToken

__all__ = ["AuthError", "BulkUpdaterError", "ConnectError", "Credentials", "InputError", "JobOptions", "Rate", "SendSettings", "StopToken", "StoppedAtOnce", "Summary", "resume", "retry", "run"]
