"""bulk_updater: apply a spreadsheet of edits to LeadSquared account activities.

    from bulk_updater import run, SendSettings, Credentials, Rate
    summary = run("edits.csv", "out/", SendSettings(host, Credentials(access, secret)))
"""

from .errors import AuthError, BulkUpdaterError, ConnectError, InputError
from .job import JobOptions, run
from .report import Summary
from .settings import Credentials, Rate, SendSettings

__all__ = ["AuthError", "BulkUpdaterError", "ConnectError", "Credentials", "InputError", "JobOptions", "Rate", "SendSettings", "Summary", "run"]
