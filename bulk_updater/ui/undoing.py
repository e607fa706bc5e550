"""What the page checks before verify or undo of a run: the account, and (for undo) the line shown before sending.

The page's connection is whatever keys were last checked. An undo sent with another
account's keys would write a run's old values into the wrong CRM, so a run is verified or
undone only with the keys of the account it was sent to (run.json's org id).
"""

from __future__ import annotations

from pathlib import Path

from ..report.run_record import RunRecord
from ..safety import hooks
from ..safety.confirm import SendPlan
from ..safety.undo import UndoSource
from .connection import Connection


def wrong_account(run_dir: Path, connection: Connection) -> str:
    """Why the connected keys may not act on this run ("" when they may)."""
    record = RunRecord.load(run_dir)
    if record is None:
        return f"{run_dir.name} holds no run (no run.json)."
    if record.org_id and connection.identity.org_id and record.org_id != connection.identity.org_id:
        return (f"This run was sent to another account (org {record.org or record.org_id}) than the connected keys' "
                f"({connection.identity.org or connection.identity.org_id}). Connect with that account's keys first.")
    return ""


def undo_plan(run_dir: Path, force: bool) -> SendPlan:
    """The rows undo will send, counted as the library's undo counts them; 2 calls a row unless forced (the re-read)."""
    found = UndoSource.find(run_dir)
    counted = hooks.count_rows(found.rows(), found.clear_token, found.planned)
    return SendPlan(counted.to_send, counted.activities, 1 if force else 2)
