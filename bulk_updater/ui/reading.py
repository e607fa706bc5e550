"""The page reads uploads in a child process: a crash of a native reader fails that read, not the server.

calamine (the workbook reader) is Rust: a file it can't handle may abort the process it runs
in, with no exception to catch. The readers refuse the files known to do so (rows/extent.py),
but the server holds the runs in progress, so every read of an upload the page makes (its
sheets and header, its first row, its check) runs in a child process, under a memory limit.
A child that dies without answering fails that one read with a message; the server and its
runs go on.

A run reads its sheet in the server's own process, but only once its check, in a child, has
read the whole sheet the same way (Start needs a usable check).

The children are forked from multiprocessing's fork server: a small process started once,
which has imported the readers (a child starts in milliseconds) and holds no thread, socket
or key of the server's.
"""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
import os
import signal
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

from ..checking import CheckResult
from ..checking import check as check_sheet  # (the package's `check` is the library's, errors in its words)
from ..errors import BulkUpdaterError, InputError
from ..rows import ReadOptions
from ..rows.extent import FALLBACK_MEMORY
from ..rows.reader import read_header
from ..rows.workbook import sheet_names
from .fields import first_request

__all__ = ["ReaderCrashed", "checked", "first_request", "in_child", "sheets_and_header"]
Result = TypeVar("Result")
# A child may take half the memory: a sheet that passes the readers' check takes at most a quarter.
MEMORY_SHARE = 2
HINT = "Open it in Excel or LibreOffice and save it again, or export the sheet as CSV UTF-8, then upload that."


class ReaderCrashed(InputError):
    """The child reading an upload ended without an answer: the file is refused, nothing was sent."""


async def in_child(function: Callable[..., Result], *args: Any) -> Result:
    """`function(*args)` in a child process; its BulkUpdaterError comes back as an InputError with its message."""
    return await asyncio.get_running_loop().run_in_executor(None, _call, function, args)


# --- what the children do: plain functions of the library, their answers made small -----------


def sheets_and_header(path: Path, is_workbook: bool, sheet: str | None) -> tuple[list[str], list[str], str]:
    """The workbook's sheets (none for text), the headers of the sheet read, before any map, and why
    they could not be read (the sheets are still listed: another may be picked)."""
    sheets = sheet_names(path) if is_workbook else []
    try:
        return sheets, read_header(path, ReadOptions(sheet=sheet)), ""
    except InputError as exc:
        return sheets, [], str(exc)


def checked(path: Path, read: ReadOptions) -> CheckResult:
    """The check, without the ids it counted duplicates with (a million rows: megabytes to send back)."""
    return dataclasses.replace(check_sheet(path, read), _ids=set())


# --- the parent's side ----------------------------------------------------------------------


def _call(function: Callable[..., Result], args: tuple) -> Result:
    context = _context()
    receiving, sending = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(sending, function, args, _memory_limit()), daemon=True, name="bulk-updater-read")
    child.start()
    sending.close()
    try:
        answer = receiving.recv()
    except EOFError:  # the child died before it answered
        answer = None
    finally:
        receiving.close()
        child.join()
    if answer is None:
        raise ReaderCrashed(f"the file could not be read: the reader stopped abnormally ({_how(child.exitcode)})", where=_name(args), hint=HINT)
    kind, value = answer
    if kind == "ok":
        return value
    raise InputError(value)


def _child(sending: Connection, function: Callable, args: tuple, memory_limit: int | None) -> None:
    _limit_memory(memory_limit)
    try:
        answer: tuple[str, Any] = ("ok", function(*args))
    except BulkUpdaterError as exc:
        answer = ("error", str(exc))
    except MemoryError:
        answer = ("error", f"{_name(args)}: the file is too large to read in this computer's memory\n{HINT}")
    except Exception as exc:  # a bug: said, not a traceback
        answer = ("error", f"{_name(args)}: the file could not be read (unexpected error: {type(exc).__name__}: {exc})")
    sending.send(answer)
    sending.close()


def _context():
    if "forkserver" not in multiprocessing.get_all_start_methods():  # not on Windows
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])  # the readers, imported once (only until the server starts)
    return context


def _memory_limit() -> int | None:
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
    return max(memory // MEMORY_SHARE, FALLBACK_MEMORY)


def _limit_memory(limit: int | None) -> None:
    """A child that asks for more gets an allocation failure (a MemoryError, or its own end), never the machine's swap."""
    try:
        import resource
    except ImportError:  # not on Windows
        return
    if limit is None:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _how(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"signal {-exitcode}, {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit status {exitcode}"


def _name(args: tuple) -> str:
    return str(args[0]) if args and isinstance(args[0], Path) else "the file"
