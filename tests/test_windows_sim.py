"""Windows and macOS by construction, proved by simulation: there is no Windows machine here.

`windows` re-imports bulk_updater (and filelock) in this process as Windows would see them:
- `fcntl`, `termios` and `tty` can't be imported;
- the event loop has no `add_signal_handler` (NotImplementedError, as Windows's loops);
- `os` has no O_NOFOLLOW, O_NONBLOCK or O_CLOEXEC, and has O_BINARY: a file of ours opened
  without it would be in text mode on Windows (LF written as CRLF, Ctrl-Z read as the end);
- a file that is open can't be replaced or deleted (PermissionError, as Windows's sharing rules),
  and the test may hold one open "in Excel";
- signal.SIGBREAK exists (Ctrl-Break; 21 on Windows, which Linux delivers as SIGTTIN);
- commands are suggested for cmd.exe and PowerShell (shell.WINDOWS).
The one part not simulated is LockFileEx itself: filelock's `lock_descriptor` stands on flock
here, with LockFileEx's contract (exclusive, without waiting; a handle closed without
UnlockFileEx frees its lock only "when resources allow").

Then `check`, `run` (stopped by a first Ctrl-C through the fallback handler), `resume` and
`undo` run in process against the sandbox, start to end.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl as real_fcntl  # before the simulation hides it: the stand-in for LockFileEx
import importlib
import io
import json
import os
import signal
import stat
import sys
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import read_report, write_csv

UNIX_ONLY = ("fcntl", "termios", "tty")
NOT_ON_WINDOWS = ("O_NOFOLLOW", "O_NONBLOCK", "O_CLOEXEC")
O_BINARY = 0x8000  # Windows's value; stripped before the real open
SIGBREAK = 21
FAST = ["--rate", "1000/1", "--no-progress"]


@dataclass
class Windows:
    """What the simulation saw, and the freshly imported modules to drive."""

    cli: ModuleType
    text_mode_opens: list[str] = field(default_factory=list)  # files of ours opened without O_BINARY
    refused_while_open: list[str] = field(default_factory=list)  # replaced or deleted while open
    open_in_excel: set[Path] = field(default_factory=set)  # held open by another program
    locks_taken: int = 0

    def module(self, name: str) -> ModuleType:
        return importlib.import_module(name)


def _fresh(name: str) -> bool:
    return name.split(".")[0] in ("bulk_updater", "filelock")


@pytest.fixture
def windows(monkeypatch, tmp_path):
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, SIGBREAK)}
    imported = {name: module for name, module in sys.modules.items() if _fresh(name)}
    for name in imported:
        del sys.modules[name]
    try:
        yield _simulate(monkeypatch, tmp_path)
    finally:
        monkeypatch.undo()
        for name in [name for name in sys.modules if _fresh(name)]:
            del sys.modules[name]
        sys.modules.update(imported)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def _simulate(monkeypatch, tmp_path: Path) -> Windows:
    for name in UNIX_ONLY:
        monkeypatch.setitem(sys.modules, name, None)  # `import fcntl` raises ImportError
    for name in NOT_ON_WINDOWS:
        monkeypatch.delattr(os, name, raising=False)
    monkeypatch.setattr(os, "O_BINARY", O_BINARY, raising=False)
    monkeypatch.setattr(signal, "SIGBREAK", SIGBREAK, raising=False)

    def no_signal_handlers(self, sig, *args):
        raise NotImplementedError  # as asyncio's ProactorEventLoop (and AbstractEventLoop) do

    monkeypatch.setattr(asyncio.SelectorEventLoop, "add_signal_handler", no_signal_handlers)  # the loop asyncio.run makes here
    monkeypatch.setattr(asyncio.SelectorEventLoop, "remove_signal_handler", no_signal_handlers)

    cli = importlib.import_module("bulk_updater.cli")
    seen = Windows(cli)
    _binary_opens_only(monkeypatch, seen)
    _no_replacing_what_is_open(monkeypatch, tmp_path, seen)
    _lock_file_ex(monkeypatch, seen)
    monkeypatch.setattr(importlib.import_module("bulk_updater.shell"), "WINDOWS", True)
    return seen


def _binary_opens_only(monkeypatch, seen: Windows) -> None:
    real_open = os.open

    def open_(path, flags, mode=0o777, *, dir_fd=None):
        fd = real_open(path, flags & ~O_BINARY, mode, dir_fd=dir_fd)
        ours = sys._getframe(1).f_globals.get("__name__", "").startswith("bulk_updater")  # not tempfile's: it adds O_BINARY on Windows
        if ours and not flags & O_BINARY and stat.S_ISREG(os.fstat(fd).st_mode):
            seen.text_mode_opens.append(str(path))
        return fd

    monkeypatch.setattr(os, "open", open_)


def _open_here(path: Any) -> bool:
    """True when this process holds `path` open (as Windows's sharing rules see it)."""
    try:
        named = os.lstat(path)
    except OSError:
        return False
    for fd in os.listdir("/proc/self/fd"):
        try:
            held = os.fstat(int(fd))
        except OSError:
            continue
        if (held.st_dev, held.st_ino) == (named.st_dev, named.st_ino) and stat.S_ISREG(held.st_mode):
            return True
    return False


def _no_replacing_what_is_open(monkeypatch, tmp_path: Path, seen: Windows) -> None:
    def refusing(real, names: int):
        def call(*args, **kwargs):
            for path in args[:names]:
                if Path(path) in seen.open_in_excel or (Path(path).is_relative_to(tmp_path) and _open_here(path)):
                    if Path(path) not in seen.open_in_excel:
                        seen.refused_while_open.append(str(path))
                    exc = PermissionError(errno.EACCES, "The process cannot access the file because it is being used by another process", str(path))
                    exc.winerror = 32  # type: ignore[attr-defined]  # ERROR_SHARING_VIOLATION (Linux's OSError has no winerror)
                    raise exc
            return real(*args, **kwargs)

        return call

    for name, names in (("replace", 2), ("rename", 2), ("unlink", 1), ("remove", 1)):
        monkeypatch.setattr(os, name, refusing(getattr(os, name), names))


def _lock_file_ex(monkeypatch, seen: Windows) -> None:
    """LockFileEx's contract, on flock: exclusive, without waiting, and a lock whose handle was
    closed without UnlockFileEx is freed only "when resources allow" (Microsoft's words): here, never."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "only soft file lock is available": folder.py says it for itself
        filelock = importlib.import_module("filelock")
    assert not filelock.has_fcntl  # imported without fcntl, as on Windows
    held: dict[int, tuple[int, int]] = {}  # fd -> the file it locks

    def lock_descriptor(fd: int, *, blocking: bool = True, poll_interval: float = 0.05) -> bool:
        file = _identity(fd)
        if any(other != fd and locked == file for other, locked in held.items()):
            return False  # held by another handle, or by one closed without unlocking
        try:
            real_fcntl.flock(fd, real_fcntl.LOCK_EX | real_fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        held[fd] = file
        seen.locks_taken += 1
        return True

    def unlock_descriptor(fd: int) -> None:
        real_fcntl.flock(fd, real_fcntl.LOCK_UN)
        del held[fd]

    monkeypatch.setattr(filelock, "lock_descriptor", lock_descriptor)
    monkeypatch.setattr(filelock, "unlock_descriptor", unlock_descriptor)


def _identity(fd: int) -> tuple[int, int]:
    status = os.fstat(fd)
    return status.st_dev, status.st_ino


def command(windows: Windows, box, capsys, monkeypatch, *args: str) -> tuple[int, str, str]:
    monkeypatch.setenv("LSQ_HOST", box.url)
    monkeypatch.setenv("LSQ_ACCESS_KEY", box.config.access_key)
    monkeypatch.setenv("LSQ_SECRET_KEY", box.config.secret_key)
    code = windows.cli.main([*args, *(FAST if args[0] != "check" else [])])
    out = capsys.readouterr()
    return code, out.out, out.err


def ctrl_c_after_lines(windows: Windows, monkeypatch, lines: int, sig: int = signal.SIGINT) -> None:
    """A Ctrl-C once `lines` report lines are written, delivered as Windows delivers it: to the
    handler signal.signal installed (the loop has no add_signal_handler)."""
    writer = windows.module("bulk_updater.report.writer").ReportWriter
    real_write, written = writer.write, []

    def write(self, result):
        real_write(self, result)
        written.append(result)
        if len(written) == lines:  # once: the commands after it run without
            signal.raise_signal(sig)

    monkeypatch.setattr(writer, "write", write)


def status(box, ids: list[str]) -> list[str]:
    return [box.state.activities[i]["Fields"].get("Status", "") for i in ids]


def test_check_run_stopped_by_ctrl_c_resume_and_undo_on_a_simulated_windows(windows, tmp_path, sandbox, capsys, monkeypatch):
    ids = [str(uuid.uuid4()) for _ in range(40)]
    box = sandbox(initial={i: {"ActivityNote": "", "Fields": {"Status": "Open"}} for i in ids})
    sheet = write_csv(tmp_path / "edits.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in ids]])
    run_dir = tmp_path / "run 1"  # a space, as in "C:\Users\Ana Maria\run 1"

    code, out, err = command(windows, box, capsys, monkeypatch, "check", str(sheet))
    assert code == 0, err
    assert "40 will update" in out

    ctrl_c_after_lines(windows, monkeypatch, 3)
    code, out, err = command(windows, box, capsys, monkeypatch, "run", str(sheet), "--out", str(run_dir), "--backup", "--yes", "--concurrency", "2")
    assert code == 130, err
    # The clean stop, not the abrupt one: the calls in flight finished, the rest recorded not_sent.
    assert "Stopping (Ctrl-C): no new rows" in out + err, out + err
    assert json.loads((run_dir / "summary.json").read_text())["stop_reason"] == "interrupted"
    outcomes = [line["_outcome"] for line in read_report(run_dir / "report.csv")]
    assert len(outcomes) == 40 and "not_sent" in outcomes and "success" in outcomes
    assert f'bulk-updater resume "{run_dir}"' in out + err  # quoted for cmd.exe and PowerShell

    with (run_dir / "undo-record.jsonl").open("ab") as record:
        record.write(b'{"row": 9')  # a kill cut the backup's last line short: the resume drops it, rewriting the record

    code, out, err = command(windows, box, capsys, monkeypatch, "resume", str(run_dir))
    assert code == 0, err
    assert status(box, ids) == ["Won"] * 40
    assert [line["_outcome"] for line in read_report(run_dir / "report.csv")] == ["success"] * 40

    code, out, err = command(windows, box, capsys, monkeypatch, "undo", str(run_dir), "--out", str(tmp_path / "undo"), "--yes")
    assert code == 0, err
    assert status(box, ids) == ["Open"] * 40

    assert windows.text_mode_opens == []
    assert windows.refused_while_open == []
    assert windows.locks_taken >= 3  # run, resume, undo (its run folder and its own)
    assert all(sys.modules.get(name) is None for name in UNIX_ONLY)  # still hidden: nothing went round the block


@pytest.mark.parametrize(("sig", "name"), [(signal.SIGINT, "Ctrl-C"), (SIGBREAK, "Ctrl-Break")])
def test_a_first_stop_is_clean_and_a_second_stops_at_once_through_the_fallback_handler(windows, sig, name):
    stopping = windows.module("bulk_updater.stopping")
    said: list[str] = []
    stop = stopping.StopOnSignals(30.0, said.append)
    seen_after_first: list[tuple] = []

    def the_clis(signum, frame):  # interrupts.py's handler, outside the sending window (and no default: SIGTTIN would suspend us)
        pass

    signal.signal(sig, the_clis)

    async def sending():
        signal.raise_signal(sig)  # Python runs the handler signal.signal installed, on this (the main) thread
        await asyncio.sleep(0)  # the loop runs the stop it was handed
        seen_after_first.append((stop.signal, stop.at_once))
        signal.raise_signal(sig)
        await asyncio.sleep(30)  # cancelled by the second stop

    asyncio.run(asyncio.wait_for(stop.run(sending()), 10))

    assert seen_after_first == [(sig, False)]
    assert stop.at_once and not stop.gave_up
    assert said == [f"Stopping ({name}): no new rows; waiting up to 30 s for the calls in flight. {name} again to stop at once."]
    assert signal.getsignal(sig) is the_clis  # the handler in place before the window is back after it


def test_a_copy_left_open_in_excel_is_named_and_the_resume_goes_on_once_it_is_closed(windows, tmp_path, sandbox, capsys, monkeypatch):
    ids = [str(uuid.uuid4()) for _ in range(20)]
    box = sandbox()
    sheet = write_csv(tmp_path / "edits.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in ids]])
    ctrl_c_after_lines(windows, monkeypatch, 2)
    code, out, err = command(windows, box, capsys, monkeypatch, "run", str(sheet), "--out", str(tmp_path / "out"), "--yes", "--concurrency", "1")
    assert code == 130, err
    calls = box.state.calls

    windows.open_in_excel.add(tmp_path / "out" / "failed.xlsx")  # the admin looks at the failed rows
    code, out, err = command(windows, box, capsys, monkeypatch, "resume", str(tmp_path / "out"))

    assert code == 2 and box.state.calls == calls
    assert f"Error: {tmp_path / 'out'}: failed.xlsx is open in another program (Excel?), which keeps it from being replaced" in err
    assert "Close it there, then run the same command" in err and "Traceback" not in err
    windows.open_in_excel.clear()
    code, out, err = command(windows, box, capsys, monkeypatch, "resume", str(tmp_path / "out"))
    assert code == 0, err
    assert box.state.calls == 20


def test_a_second_command_writing_the_folder_is_refused_on_windows_too(windows, tmp_path, sandbox, capsys, monkeypatch):
    ids = [str(uuid.uuid4()) for _ in range(3)]
    box = sandbox()
    sheet = write_csv(tmp_path / "edits.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in ids]])
    folder = windows.module("bulk_updater.rundir.folder")

    with folder.lock_out_dir(tmp_path / "out"):  # the other command, still writing
        code, out, err = command(windows, box, capsys, monkeypatch, "run", str(sheet), "--out", str(tmp_path / "out"), "--yes")

    assert code == 2
    assert f"Error: another bulk-updater command is writing in {tmp_path / 'out'}" in err and "Traceback" not in err
    assert box.state.calls == 0
    code, out, err = command(windows, box, capsys, monkeypatch, "run", str(sheet), "--out", str(tmp_path / "out"), "--yes")
    assert code == 0, err  # freed with its holder


def test_where_the_file_system_has_no_locks_the_command_goes_on_and_says_so(windows, tmp_path, sandbox, capsys, monkeypatch):
    filelock = windows.module("filelock")
    # The stand-in for LockFileEx taken away: filelock's own answer where there is no lock at all (its private: no public name).
    monkeypatch.setattr(filelock, "lock_descriptor", windows.module("filelock._native").lock_descriptor)
    ids = [str(uuid.uuid4()) for _ in range(3)]
    box = sandbox()
    sheet = write_csv(tmp_path / "edits.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in ids]])

    code, out, err = command(windows, box, capsys, monkeypatch, "run", str(sheet), "--out", str(tmp_path / "out"), "--yes")

    assert code == 0, err
    assert f"Warning: {tmp_path / 'out'} can't be locked (its file system has no file locks)" in err
    assert "Traceback" not in err and "soft file lock" not in err
    assert box.state.calls == 3


def test_the_page_server_stops_on_ctrl_c_without_add_signal_handler(windows, tmp_path):
    server = windows.module("bulk_updater.ui.server")
    said: list[str] = []

    def say(text: str) -> None:
        said.append(text)
        if len(said) == 1:  # the address: the server is up, its handlers are installed before the loop runs this
            asyncio.get_running_loop().call_soon(signal.raise_signal, signal.SIGINT)

    server.serve(tmp_path / "workspace", 0, open_browser=False, environ={}, say=say)

    assert said[-1].startswith("Stopping the server")


# --- the pieces, on this system ---------------------------------------------------------------


@pytest.mark.parametrize("no_follow", ["the system's O_NOFOLLOW", "none (Windows)"])
@pytest.mark.parametrize("use", ["open_append", "open_lock", "open_read"])
def test_a_link_swapped_in_between_the_check_and_the_open_is_refused_with_or_without_o_nofollow(tmp_path, monkeypatch, no_follow, use):
    from bulk_updater import files
    from bulk_updater.errors import FolderError

    if no_follow.startswith("none"):
        # Private on purpose: the system's O_NOFOLLOW, read once at import; this plays a system without it.
        monkeypatch.setattr(files, "_NO_FOLLOW", 0)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    ours = tmp_path / "report.csv"
    ours.write_text("")
    real_open = os.open

    def swapping_open(path, flags, *args, **kwargs):
        if Path(path) == ours:  # after files.py's lstat saw a regular file: the race
            os.unlink(ours)
            os.symlink(victim, ours)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", swapping_open)

    with pytest.raises(FolderError, match="symlink"):
        with getattr(files, use)(ours) as f:
            if use == "open_append":
                f.write("a report line\n")
    assert victim.read_text() == "keep me\n"


def test_an_input_that_is_one_of_the_reports_files_under_another_name_is_refused(tmp_path, sandbox, monkeypatch, capsys):
    """On macOS and Windows, `Report.csv` (the admin's sheet, kept in the run folder) and the
    tool's `report.csv` are one file. A hard link is two names of one file on any system."""
    from bulk_updater import cli

    box = sandbox()
    for name, value in {"LSQ_HOST": box.url, "LSQ_ACCESS_KEY": box.config.access_key, "LSQ_SECRET_KEY": box.config.secret_key}.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "out").mkdir()
    sheet = write_csv(tmp_path / "out" / "Report.csv", [["CompanyActivityId", "Status"], [str(uuid.uuid4()), "Won"]])
    os.link(sheet, tmp_path / "out" / "report.csv")  # what a case-insensitive file system sees
    before = sheet.read_bytes()

    code = cli.main(["run", str(sheet), "--out", str(tmp_path / "out"), "--restart", "--yes", *FAST])

    assert code == 2
    assert f"{sheet} is one of the files this command writes in {tmp_path / 'out'}" in capsys.readouterr().err
    assert sheet.read_bytes() == before and box.state.calls == 0


def test_output_in_a_code_page_that_cannot_show_a_value_escapes_it_instead_of_failing(tmp_path, monkeypatch):
    from bulk_updater import cli

    sheet = write_csv(tmp_path / "edits.csv", [["CompanyActivityId", "Status"], ["李四", "Won"], [str(uuid.uuid4()), "Won"]])
    # Windows, output to a file or a pipe: the system's code page.
    streams = [io.TextIOWrapper(io.BytesIO(), encoding="cp1252", newline="") for _ in range(2)]
    monkeypatch.setattr(sys, "stdout", streams[0])
    monkeypatch.setattr(sys, "stderr", streams[1])

    code = cli.main(["check", str(sheet)])

    for stream in streams:
        stream.flush()
    out, err = (stream.buffer.getvalue().decode("cp1252") for stream in streams)
    assert code == 0, err
    assert "row 2: CompanyActivityId '\\u674e\\u56db' is not a GUID" in out
    assert "Traceback" not in err


def test_suggested_commands_are_quoted_for_the_admins_shell(monkeypatch):
    from bulk_updater import shell

    assert shell.quote("runs/out 1") == "'runs/out 1'"  # Linux and macOS: a POSIX shell
    monkeypatch.setattr(shell, "WINDOWS", True)
    assert shell.quote(r"C:\Users\ana\run-1.2") == r"C:\Users\ana\run-1.2"  # cmd.exe and PowerShell read it as it is
    assert shell.quote(r"C:\Users\Ana Maria\run 1") == r'"C:\Users\Ana Maria\run 1"'
    assert shell.quote("D:\\runs\\it's") == '"D:\\runs\\it\'s"'
