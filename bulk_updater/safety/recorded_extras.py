"""What the safety net adds to run.json beside the options the registry (options.py) records.

--backup, --keep-going and --stop-after-failures are record-class options in options.OPTIONS.
Here, under options["record"]: the undo clear token a --backup run chose (kept by every
session, since undo.csv is written with it) and undo's --force (so `resume` of an undo
restores the same way). And three refusals: a resume may not add --backup to a run begun
without it (undo.csv could not cover the rows already sent), nor go on with a backup an
older bulk-updater began without the record (backup.py), and no command replaces a
backup, the only way back for the run that wrote it.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..rundir.run_record import RunRecord, RunState
from .backup import new_undo_clear_token, refuse_extending_an_older_backup, refuse_replacing_undo_log

UNDO_CLEAR_TOKEN, FORCE = "undo_clear_token", "force"


def recorded_safety(record: RunRecord) -> dict:
    return record.options.get("record", {})


def record_safety(out_dir: Path, job: RunRecord, backup: bool, force: bool, restart: bool) -> str:
    """Complete `job`'s record options before it is compared with the run it resumes; return the undo clear token."""
    earlier = None if restart else RunRecord.load(out_dir)
    resuming = earlier is not None and earlier.state is not RunState.FINISHED and earlier.command == job.command
    before = recorded_safety(earlier) if earlier is not None and resuming else {}
    if not resuming:
        refuse_replacing_undo_log(out_dir, "--restart would replace it" if restart else "a new run would write over it")
    if resuming and backup and not before.get("backup"):
        raise InputError(
            f"the unfinished {job.command} in {out_dir} was started without --backup",
            hint="undo.csv could not cover the rows it already sent. Resume it without --backup, or choose another --out folder.",
        )
    if resuming and backup:
        refuse_extending_an_older_backup(out_dir)
    record = job.options.setdefault("record", {})
    if backup:
        record[UNDO_CLEAR_TOKEN] = before.get(UNDO_CLEAR_TOKEN) or new_undo_clear_token()
    if job.command == "undo":
        record[FORCE] = force
    return record.get(UNDO_CLEAR_TOKEN, "")
