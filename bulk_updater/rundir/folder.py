"""The output folder: start a new run in it, resume the unfinished run it holds, or refuse.

A folder holds one job: report.csv, failed.csv, summary.json and run.json. A finished run
is never overwritten, and an unfinished one is resumed only by the same command on the
same input (the same bytes, by SHA-256) with the same read options (options.py), unless --restart.
"""

from __future__ import annotations

import contextlib
import errno
import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

from .. import files, notes
from .. import options as recorded_options
from ..account import refuse_another_account
from ..errors import InputError
from .recovery import Recorded, recover_report
from .retries import refuse_restart, refuse_resume
from .run_record import DRY_RUN, RUN_FILE, RunRecord, RunState

REPORT, FAILED, SUMMARY = "report.csv", "failed.csv", "summary.json"
# The workbook copies written beside the CSVs when the input is a workbook (report/excel.py).
WORKBOOK_COPIES = ("report.xlsx", "failed.xlsx")
OUTPUTS = (REPORT, FAILED, SUMMARY, RUN_FILE, *WORKBOOK_COPIES)
LOCK_FILE = ".bulk-updater.lock"
STATE_PREFIX = ".state-"  # DIR/.state-<purpose>.sqlite
FinishedHint = Callable[[Path, RunRecord], str]  # what to do with a finished run's folder: application/ending.py says


@contextlib.contextmanager
def lock_out_dir(out_dir: Path) -> Iterator[None]:
    """Hold `out_dir` while a command writes in it: two writing one report would record rows twice.

    The lock is the system's own (filelock: `flock` on Linux and macOS, `LockFileEx` on Windows), on
    the lock file's descriptor, opened as every file of ours is (never through a link). It goes with
    the process, so a killed command never leaves the folder locked. Where the file system has no
    locks at all, the command goes on with a warning: refusing would leave no way to use the folder.
    """
    _create(out_dir)
    _refuse_planted_files(out_dir)
    lock_path = out_dir / LOCK_FILE
    with files.open_lock(lock_path) as handle:
        held = _lock(handle.fileno(), lock_path)
        if held is False:
            raise InputError(
                f"another bulk-updater command is writing in {out_dir}",
                hint="Let it finish (or stop it with Ctrl-C), or choose another --out folder.",
            )
        if held is None:
            notes.warn(
                f"{out_dir} can't be locked (its file system has no file locks): make sure no other bulk-updater command writes in it while this one runs",
                stacklevel=3,
            )
        try:
            yield
        finally:
            if held:
                # Windows frees a lock of a closed file "when resources allow": free it now, for the next command.
                with contextlib.suppress(OSError):
                    _filelock().unlock_descriptor(handle.fileno())


# What a system or file system says when it has no file locks (filelock says ENOSYS where there is no flock).
_NO_LOCKS = {errno.ENOSYS, errno.ENOLCK, errno.EOPNOTSUPP, getattr(errno, "ENOTSUP", errno.EOPNOTSUPP)}
_WINDOWS_NO_LOCKS = {1, 50}  # ERROR_INVALID_FUNCTION, ERROR_NOT_SUPPORTED


def _lock(fd: int, lock_path: Path) -> bool | None:
    """Lock `fd` without waiting: True, held; False, another process holds it; None, there are no locks here."""
    try:
        return bool(_filelock().lock_descriptor(fd, blocking=False))
    except OSError as exc:
        if exc.errno in _NO_LOCKS or getattr(exc, "winerror", None) in _WINDOWS_NO_LOCKS:
            return None
        raise files.folder_error(exc, lock_path) from None


def _filelock() -> ModuleType:
    """filelock, imported on first use (`--help` and `check` need no lock)."""
    with warnings.catch_warnings():
        # Where there is neither flock nor Windows, filelock warns at import that it falls back to
        # its soft lock; we use no soft lock, and lock_out_dir says itself what it could not do.
        warnings.filterwarnings("ignore", message="only soft file lock is available")
        import filelock
    return filelock


def open_out_dir(
    out_dir: Path, job: RunRecord, header: list[str], restart: bool = False, unverified_account: bool = False, finished_hint: FinishedHint | None = None
) -> Recorded:
    """Make `out_dir` ready for `job` and save its run.json; return what earlier sessions recorded.

    `job` holds the account of this session's keys: a resume with keys of another account is refused
    (account.py; `unverified_account` lets through keys that can't be compared at all).
    `finished_hint` says what to do with a finished run's folder given again (the application layer's
    `ending.finished_hint`, handed down: this folder's rules sit below what reads its summary).
    """
    _refuse_input_inside(out_dir, Path(job.input))
    if restart:
        refuse_restart(out_dir)
    earlier = None if restart else RunRecord.load(out_dir)
    if restart or (earlier is not None and earlier.replaceable):
        earlier = None
        _remove_outputs(out_dir)
    elif earlier is None and files.is_present(out_dir / REPORT):
        raise InputError(
            f"{out_dir} already holds a report, and no {RUN_FILE} saying which run it belongs to",
            hint="Choose another --out folder, or add --restart to start over in this one (its report is replaced).",
        )
    elif earlier is not None:
        _check_resumable(out_dir, earlier, job, finished_hint)
        # Here, not in _check_resumable: the early check runs before the keys are checked.
        refuse_another_account(earlier.account, job.account, f"the unfinished run in {out_dir}", unverified_account)
    _create(out_dir)
    if earlier is None:
        job.save(out_dir)
        return Recorded()
    # The old failed.csv and summary.json describe a state that is about to change.
    for stale in (FAILED, SUMMARY, *WORKBOOK_COPIES):
        files.remove(out_dir / stale)
    recorded = recover_report(out_dir / REPORT, header)
    job.follow(earlier)
    job.save(out_dir)
    return recorded


def open_fresh_out_dir(out_dir: Path, input_path: Path) -> None:
    """Make `out_dir` ready for a dry run's report: refuse a folder that holds a real run; replace an
    earlier dry run's. Its run.json says it is a dry run, so the real run may start over in it."""
    _refuse_input_inside(out_dir, input_path)
    earlier = RunRecord.load(out_dir)
    if earlier is not None and earlier.replaceable:
        _remove_outputs(out_dir)
    elif any(files.is_present(out_dir / name) for name in OUTPUTS):
        raise InputError(f"{out_dir} already holds a report", hint="Choose another --out folder for the dry run.")
    _create(out_dir)
    RunRecord.new(DRY_RUN, input_path).save(out_dir, RunState.FINISHED)


def check_resumable(out_dir: Path, job: RunRecord, restart: bool = False, finished_hint: FinishedHint | None = None) -> None:
    """Refuse early, before the sheet is read, a command that `open_out_dir` would refuse for its options or input."""
    if restart:
        refuse_restart(out_dir)
    earlier = None if restart else RunRecord.load(out_dir)
    if earlier is not None and not earlier.replaceable:
        _check_resumable(out_dir, earlier, job, finished_hint)


def _check_resumable(out_dir: Path, earlier: RunRecord, job: RunRecord, finished_hint: FinishedHint | None) -> None:
    start_over = f"add --restart to start over in {out_dir} (its report is replaced)"
    if earlier.state is RunState.FINISHED:
        next_step = f"{finished_hint(out_dir, earlier)} " if finished_hint is not None else ""
        raise InputError(
            f"{out_dir} holds a finished {earlier.command} of {earlier.input}; it is not overwritten",
            hint=f"Nothing is left to resume. {next_step}"
            "To send every row again, choose another --out folder, or add --restart (its report is replaced).",
        )
    refuse_resume(out_dir)  # a retry took its rows left (retries.py)
    if earlier.command != job.command:
        raise InputError(
            f"{out_dir} holds an unfinished {earlier.command} of {earlier.input}, not a {job.command}",
            hint=f"Resume it with: bulk-updater resume {out_dir}. Or choose another --out folder, or {start_over}.",
        )
    if earlier.input_sha256 != job.input_sha256:
        raise InputError(
            f"{job.input} is not the file the unfinished run in {out_dir} started with ({earlier.input}): its content changed",
            hint=f"Resuming would mix two versions of the sheet. Put back the file the run started with (then: bulk-updater resume {out_dir}), "
            f"choose another --out folder, or {start_over}.",
        )
    recorded_options.refuse_mismatch(out_dir, earlier.options, job.options)


def _refuse_input_inside(out_dir: Path, input_path: Path) -> None:
    """--restart or a new report must never delete or overwrite the file being read.

    Compared by name, and by the file itself: on macOS's and Windows's file systems `Report.csv`
    and `report.csv` are one file under two spellings, as two hard links are anywhere."""
    outputs = [out_dir / name for name in OUTPUTS]
    if input_path.resolve() in {output.resolve() for output in outputs} or any(_same_file(input_path, output) for output in outputs):
        raise InputError(
            f"{input_path} is one of the files this command writes in {out_dir}",
            hint="Choose another --out folder.",
        )


def _same_file(a: Path, b: Path) -> bool:
    try:
        first, second = os.stat(a), os.stat(b)
    except OSError:  # either is absent (or can't be looked at: the open says why)
        return False
    # Some network drives on Windows give every file the id 0: that says nothing.
    return first.st_ino != 0 and (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def _refuse_planted_files(out_dir: Path) -> None:
    """Before anything is sent: a symlink or a non-regular file named like one of ours is refused
    (files.py refuses it again at each open, for one planted while the run goes)."""
    for name in (*OUTPUTS, LOCK_FILE):
        for variant in (name, name + files.TEMPORARY_SUFFIX):
            files.is_present(out_dir / variant)
    with files.explained(out_dir / LOCK_FILE), os.scandir(out_dir) as entries:
        state_files = [entry.name for entry in entries if entry.name.startswith(STATE_PREFIX)]
    for name in state_files:  # the SQLite state files (docs/design.md, "Per-row state lives on disk"), whatever their purpose
        files.is_present(out_dir / name)


def _remove_outputs(out_dir: Path) -> None:
    for name in OUTPUTS:
        files.remove(out_dir / name)


def _create(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"can't create the output folder ({exc.strerror})", where=str(out_dir), hint="Choose another --out folder.") from None
