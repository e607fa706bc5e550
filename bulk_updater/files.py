"""The tool's own files in a run folder: never through a symlink, never onto anything but a
regular file, and replaced whole.

Every file bulk_updater reads or writes in an output folder goes through these functions:
report.csv, failed.csv, summary.json, run.json, the lock, the workbook copies, and any file
added later (undo.csv, verify.csv, .state-*.sqlite through `claim`): call them with the
file's path, there is no list of names to extend.

- A file named like one of ours that is a symlink, a folder, a FIFO or a device was put
  there by someone else: it is refused (`O_NOFOLLOW` and `fstat`, after an `lstat` so that
  opening never touches a device). The folder itself may be a symlink (`runs -> /mnt/data`);
  only the file's own name is checked.
- Whole-file writes (`replacing`) go to NAME.tmp in the folder and are renamed over NAME, so
  a kill or a full disk leaves the old file or the new one, never half of one.
- An operating-system error (disk full, read-only folder, permission denied) becomes a
  `FolderError` that names the file and says what to do.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import FolderError

TEMPORARY_SUFFIX = ".tmp"
SQLITE_SIDE_FILES = ("-journal", "-wal", "-shm")
try:
    import fcntl
except ImportError:  # Windows: no fcntl, and no FIFO to fear either
    fcntl = None  # type: ignore[assignment]

_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)  # not on Windows: an lstat before and one after opening refuse links
# A planted FIFO must not hang the open before fstat refuses it; blocking is set back with fcntl after.
_NO_BLOCK = getattr(os, "O_NONBLOCK", 0) if fcntl is not None else 0
_CLOSE_ON_EXEC = getattr(os, "O_CLOEXEC", 0)
_NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG}
_NOT_ALLOWED = {errno.EACCES, errno.EPERM, errno.EROFS}
# Windows: ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION. The file is open in another program
# (failed.xlsx in Excel, most often), which keeps it from being replaced or deleted.
_IN_USE = {32, 33}
# What to say once the report may hold rows: the same command goes on from its last complete line.
GOES_ON = "then run the same command: the report holds every row up to here, and the run goes on from there."


def open_append(path: Path, encoding: str = "utf-8") -> GuardedFile:
    """Open a text file of ours for appending (created if absent), e.g. report.csv.

    A file with a second hard link is refused too: appending would write into that other name.
    """
    fd = _open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    if os.fstat(fd).st_nlink > 1:
        os.close(fd)
        raise _planted(path, "a hard link to another file")
    return GuardedFile(_fdopen(fd, "a", encoding), path)


def open_read(path: Path, binary: bool = False, encoding: str = "utf-8", errors: str = "strict") -> IO[Any]:
    """Open a file of ours for reading (text as written: newline="")."""
    return _fdopen(_open(path, os.O_RDONLY), "rb" if binary else "r", encoding, errors)


def open_lock(path: Path) -> GuardedFile:
    """Open (or create) the folder's lock file, for `flock`."""
    return GuardedFile(_fdopen(_open(path, os.O_RDWR | os.O_CREAT), "rb+"), path)


def read_text(path: Path) -> str | None:
    """The whole text of a small file of ours (run.json), or None when there is none."""
    if not is_present(path):
        return None
    with open_read(path) as f, explained(path):
        return f.read()


@contextlib.contextmanager
def replacing(path: Path, binary: bool = False, encoding: str = "utf-8") -> Iterator[GuardedFile]:
    """Write a file of ours whole: the block writes NAME.tmp, which then replaces NAME.

    If the block fails (or a signal stops it), NAME is left as it was and NAME.tmp is removed.
    """
    temporary = path.with_name(path.name + TEMPORARY_SUFFIX)
    remove(temporary)  # a kill's leftover
    target = GuardedFile(_fdopen(_open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL), "wb" if binary else "w", encoding), path)
    try:
        with target:
            yield target
            target.flush()
            with explained(path):
                os.fsync(target.fileno())
        is_present(path)  # refuses a symlink planted at NAME while we wrote
        with explained(path):
            os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_folder(path.parent)


def replace_text(path: Path, text: str, encoding: str = "utf-8") -> None:
    """Replace a file of ours with `text`, whole (see `replacing`); "utf-8-sig" starts a non-empty one with a BOM."""
    with replacing(path, encoding=encoding) as f:
        f.write(text)


def is_present(path: Path) -> bool:
    """True if `path` is a regular file, False if nothing has the name; refuses anything else."""
    try:
        status = os.lstat(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise folder_error(exc, path) from None
    _refuse_unless_regular(status.st_mode, path)
    return True


def remove(path: Path) -> None:
    """Delete a file of ours if it is there (a symlink in its place is refused, not removed)."""
    if is_present(path):
        with explained(path):
            os.unlink(path)


def claim(path: Path) -> Path:
    """Free `path` for a library that creates the file by its name (sqlite3.connect): whatever
    regular file had the name is removed, a symlink or special file refused; returns `path`.

    For SQLite the journal beside it is claimed too. Use for DIR/.state-<purpose>.sqlite.
    """
    for name in (path.name, *(path.name + suffix for suffix in SQLITE_SIDE_FILES)):
        remove(path.with_name(name))
    return path


@contextlib.contextmanager
def explained(path: Path) -> Iterator[None]:
    """Turn an operating-system error on a file of ours into a `FolderError` that says what to do."""
    try:
        yield
    except FolderError:
        raise
    except OSError as exc:
        raise folder_error(exc, path) from None


def folder_error(exc: OSError, path: Path) -> FolderError:
    reason = (exc.strerror or str(exc)).lower()
    if exc.errno in _NO_SPACE:
        return FolderError(f"the disk is full ({reason}) while writing {path.name}", where=str(path.parent), hint=f"Free space, {GOES_ON}")
    if getattr(exc, "winerror", None) in _IN_USE:
        return FolderError(
            f"{path.name} is open in another program (Excel?), which keeps it from being replaced", where=str(path.parent), hint=f"Close it there, {GOES_ON}"
        )
    if exc.errno in _NOT_ALLOWED:
        return FolderError(
            f"can't write {path.name} here ({reason})",
            where=str(path.parent),
            hint=f"Make the folder and its files writable for you, {GOES_ON} If nothing was sent yet, you may also choose another --out folder.",
        )
    return FolderError(f"can't use {path.name} ({reason})", where=str(path.parent), hint=f"Fix the folder, {GOES_ON}")


def sqlite_error(exc: Exception, path: Path) -> FolderError:
    """SQLite's own error for a state file of ours (it raises no OSError): disk full, read-only, locked."""
    text = str(exc).lower()
    number = errno.ENOSPC if "full" in text else errno.EROFS if "readonly" in text or "read-only" in text else errno.EIO
    return folder_error(OSError(number, str(exc)), path)


class GuardedFile:
    """A file of ours whose write errors come out as `FolderError`s naming it."""

    def __init__(self, file: IO[Any], path: Path) -> None:
        self._file, self.path = file, path

    def write(self, data: Any) -> int:
        with explained(self.path):
            return self._file.write(data)

    def flush(self) -> None:
        with explained(self.path):
            self._file.flush()

    def close(self) -> None:
        with explained(self.path):
            self._file.close()

    def __enter__(self) -> GuardedFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if exc_info[0] is None:
            self.close()
            return
        with contextlib.suppress(OSError):  # the first error is the one to report
            self._file.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


def _open(path: Path, flags: int) -> int:
    is_present(path)  # refuse before opening: opening a device can have effects
    try:
        # Windows opens in text mode unless told (O_BINARY): it would write "\r\r\n" into a CSV and break a workbook.
        fd = os.open(path, flags | _NO_FOLLOW | _NO_BLOCK | _CLOSE_ON_EXEC | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO, errno.EEXIST):
            with contextlib.suppress(OSError):
                _refuse_unless_regular(os.lstat(path).st_mode, path)  # it was swapped in after the lstat
        raise folder_error(exc, path) from None
    try:
        _refuse_unless_regular(os.fstat(fd).st_mode, path)
        if not _NO_FOLLOW:
            _refuse_unless_still_regular(path)
        if _NO_BLOCK and fcntl is not None:
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~_NO_BLOCK)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _fdopen(fd: int, mode: str, encoding: str = "utf-8", errors: str = "strict") -> IO[Any]:
    if "b" in mode:
        return os.fdopen(fd, mode)
    # Append mode seeks to the end on opening, so "utf-8-sig" writes no second BOM into a file that has lines.
    return os.fdopen(fd, mode, newline="", encoding=encoding, errors=errors)


def _refuse_unless_regular(mode: int, path: Path) -> None:
    if stat.S_ISREG(mode):
        return
    kind = "a symlink" if stat.S_ISLNK(mode) else "a folder" if stat.S_ISDIR(mode) else "not a regular file"
    raise _planted(path, kind)


def _refuse_unless_still_regular(path: Path) -> None:
    """Without O_NOFOLLOW (Windows) the open follows a link swapped in after the first lstat: look
    again, and refuse a name that is no longer a regular file. (Not compared: the file ids, which
    some Windows file systems give as 0 or differently to lstat and fstat; a false refusal would
    lock the admin out of their own folder.)"""
    try:
        now = os.lstat(path)
    except OSError as exc:
        raise folder_error(exc, path) from None
    _refuse_unless_regular(now.st_mode, path)


def _planted(path: Path, kind: str) -> FolderError:
    return FolderError(
        f"{path.name} is {kind}; bulk-updater reads and writes its files only as regular files in the folder, never through a link",
        where=str(path.parent),
        hint=f"Someone or something put it there. Look at it, remove it ({path}), then run the same command; or choose another --out folder.",
    )


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (a power cut after it keeps the new file); best effort."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
