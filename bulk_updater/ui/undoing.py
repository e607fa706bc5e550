"""What the page checks before it acts on an existing run (resume, retry, verify, undo): the account.

The page's connection is whatever keys were last checked. An undo sent with another
account's keys would write a run's old values into the wrong CRM, so the page acts on a run
only with the keys of the account it was sent to, compared as the CLI compares them
(account.py). The library checks again when the job starts; checking here first shows the
refusal on the run's page, and starts no job.
"""

from __future__ import annotations

from pathlib import Path

from ..account import another_account
from ..rundir.run_record import RunRecord
from .connection import Connection

# The page's word for --unverified-account: a checkbox beside each button that acts on a run.
UNVERIFIED_CHECKBOX = "unverified_account"
OVERRIDE = ("The Connection screen shows the keys' account; if it is the run's, tick "
            "\u201cAct even if the account can't be checked\u201d (asked again each time)")


def wrong_account(run_dir: Path, connection: Connection, unverified_account: bool = False) -> str:
    """Why the connected keys may not act on this run ("" when they may)."""
    record = RunRecord.load(run_dir)
    if record is None:
        return f"{run_dir.name} holds no run (no run.json)."
    if record.replaceable:  # a dry run sent nothing to any account
        return ""
    problem = another_account(record.account, connection.identity.account, f"the {record.command} in {run_dir.name}", unverified_account, OVERRIDE)
    return f"Error: {problem}" if problem else ""
