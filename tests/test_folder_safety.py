"""The run folder under attack or failing: planted symlinks, special files, a full disk, a
read-only folder, a denied lock, a damaged run.json, a closed stdout.

In process: the disk and permission faults are injected as the OSError the kernel gives.
The real process, real signals and a real small filesystem are in test_stops_e2e.py.
"""

from __future__ import annotations

import errno
import io
import json
import os
from collections import Counter
from pathlib import Path

import pytest
from conftest import cli_env, new_ids, read_report, untouched, write_csv

from bulk_updater import cli, exit_codes, files
from bulk_updater.errors import FolderError

HEADER = ["CompanyActivityId", "ActivityNote", "Status"]
FAST = ["--rate", "1000/1", "--no-progress"]


@pytest.fixture
def env(monkeypatch):
    def set_for(box):
        for name, value in cli_env(box).items():
            monkeypatch.setenv(name, value)

    return set_for


def sheet(tmp_path: Path, rows: int = 10) -> Path:
    return write_csv(tmp_path / "in.csv", [HEADER, *[[id_, f"note {n}", "Won"] for n, id_ in enumerate(new_ids(rows))]])


def run(path: Path, out: Path, *options: str) -> int:
    return cli.main(["run", str(path), "--out", str(out), *FAST, *options])


def rows_of(report: Path) -> Counter:
    return Counter(int(line["_row"]) for line in read_report(report))


# --- planted symlinks and special files ----------------------------------------------------


@pytest.mark.parametrize("name", ["report.csv", "failed.csv", "summary.json", "run.json", "run.json.tmp", "failed.csv.tmp", ".bulk-updater.lock", "report.xlsx", ".state-sort.sqlite", ".state-sort.sqlite-journal"])
def test_a_planted_symlink_is_refused_before_anything_is_sent(tmp_path, sandbox, env, capsys, name):
    box = sandbox()
    env(box)
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / name).symlink_to(outside)

    assert run(sheet(tmp_path), out) == 2

    assert outside.read_text() == "precious\n" and (out / name).is_symlink()
    assert box.state.calls == 0
    err = capsys.readouterr().err
    assert f"{name} is a symlink" in err and "Traceback" not in err


def test_a_resume_never_appends_through_a_symlinked_report(tmp_path, sandbox, env, capsys):
    box = sandbox()
    env(box)
    path, out = sheet(tmp_path), tmp_path / "out"
    assert run(path, out, "--max-calls", "3") == 1  # stopped at the call budget: resumable
    outside = tmp_path / "elsewhere.csv"
    os.replace(out / "report.csv", outside)
    before = outside.read_bytes()
    (out / "report.csv").symlink_to(outside)

    assert run(path, out) == 2

    assert outside.read_bytes() == before and box.state.calls == 3
    assert "report.csv is a symlink" in capsys.readouterr().err


def test_a_symlink_planted_during_the_run_is_refused_at_the_final_writes(tmp_path, sandbox, env, capsys, monkeypatch):
    box = sandbox()
    env(box)
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    out = tmp_path / "out"
    replacing = files.replacing

    def planted_first(path, *args, **kwargs):
        if path.name == "failed.csv" and not path.is_symlink():
            path.symlink_to(outside)  # as another process would, while rows are sent
        return replacing(path, *args, **kwargs)

    monkeypatch.setattr(files, "replacing", planted_first)

    assert run(sheet(tmp_path), out) == 1  # rows were sent: exit 1, not 2

    assert outside.read_text() == "precious\n" and not (out / "failed.csv.tmp").exists()
    assert len(read_report(out / "report.csv")) == 10
    assert "failed.csv is a symlink" in capsys.readouterr().err


def test_appending_to_a_report_hard_linked_to_another_file_is_refused(tmp_path):
    report = tmp_path / "report.csv"
    report.write_text("header\n")
    os.link(report, tmp_path / "someone-elses.csv")
    with pytest.raises(FolderError, match="report.csv is a hard link to another file"):
        files.open_append(report)
    assert (tmp_path / "someone-elses.csv").read_text() == "header\n"


@pytest.mark.parametrize("make", [os.mkdir, os.mkfifo], ids=["folder", "fifo"])
def test_a_folder_or_fifo_in_place_of_a_file_is_refused_without_hanging(tmp_path, sandbox, env, capsys, make):
    box = sandbox()
    env(box)
    out = tmp_path / "out"
    out.mkdir()
    make(out / "summary.json")

    assert run(sheet(tmp_path), out) == 2

    assert box.state.calls == 0
    assert "summary.json is" in capsys.readouterr().err


def test_the_folder_itself_may_be_a_symlink(tmp_path, sandbox, env):
    box = sandbox()
    env(box)
    (tmp_path / "data").mkdir()
    (tmp_path / "runs").symlink_to(tmp_path / "data")

    assert run(sheet(tmp_path), tmp_path / "runs") == 0

    assert len(read_report(tmp_path / "data" / "report.csv")) == 10 and (tmp_path / "data" / "summary.json").is_file()


def test_files_refuses_a_symlink_for_reading_appending_and_replacing(tmp_path):
    target = tmp_path / "target"
    target.write_text("x")
    link = tmp_path / "link"
    link.symlink_to(target)
    for use in (files.open_read, files.open_append, files.open_lock, lambda p: files.replace_text(p, "y"), files.remove, files.read_text):
        with pytest.raises(FolderError, match="symlink"):
            use(link)
    assert target.read_text() == "x" and link.is_symlink()


# --- whole files, never half of one ---------------------------------------------------------


def test_a_replace_that_fails_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "summary.json"
    path.write_text("old")
    with pytest.raises(RuntimeError), files.replacing(path) as f:
        f.write("half of the n")
        raise RuntimeError("killed")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["summary.json"]


def test_a_leftover_temporary_from_a_kill_is_replaced(tmp_path):
    (tmp_path / "run.json.tmp").write_text("half")
    files.replace_text(tmp_path / "run.json", "whole")
    assert (tmp_path / "run.json").read_text() == "whole" and not (tmp_path / "run.json.tmp").exists()


def test_a_workbook_copy_that_fails_midway_leaves_the_old_copy_whole(tmp_path, monkeypatch):
    import xlsxwriter

    from bulk_updater.report.excel import csv_to_xlsx

    write_csv(tmp_path / "report.csv", [["_row", "_outcome"], ["2", "success"]])
    target = tmp_path / "report.xlsx"
    csv_to_xlsx(tmp_path / "report.csv", target)
    before = target.read_bytes()

    def half_saved(self):
        self.filename.write(b"PK\x03\x04 half a zip")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(xlsxwriter.Workbook, "close", half_saved)
    with pytest.raises(OSError):
        csv_to_xlsx(tmp_path / "report.csv", target)

    assert target.read_bytes() == before and not (tmp_path / "report.xlsx.tmp").exists()


def test_retry_refuses_a_report_replaced_by_a_symlink(tmp_path, sandbox, env, capsys):
    box = sandbox()
    env(box)
    planted = write_csv(tmp_path / "planted.csv", [[*HEADER, "_row", "_outcome"], [new_ids(1)[0], "x", "Won", "2", "failed"]])
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "failed.csv").symlink_to(planted)

    assert cli.main(["retry", str(tmp_path / "old" / "failed.csv"), "--out", str(tmp_path / "new"), *FAST]) == 2

    assert box.state.calls == 0 and "failed.csv is a symlink" in capsys.readouterr().err


# --- operating-system errors -----------------------------------------------------------------


class _Full:
    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class SmallDisk:
    """Writes to the named file fail with ENOSPC (from the file object, as the kernel gives it)
    once `capacity` characters went to it; the part that fit is written."""

    def __init__(self, monkeypatch, name: str, capacity: int) -> None:
        self.name, self.left = name, capacity
        write = files.GuardedFile.write
        disk = self

        def limited(self, data):
            if self.path.name != disk.name or len(data) <= disk.left:
                if self.path.name == disk.name:
                    disk.left -= len(data)
                return write(self, data)
            write(self, data[: disk.left])
            self.flush()
            disk.left = 0
            # Private on purpose: the file object under GuardedFile is the kernel's side, where a full disk shows.
            real, self._file = self._file, _Full()
            try:
                return write(self, data)
            finally:
                self._file = real

        monkeypatch.setattr(files.GuardedFile, "write", limited)


def test_disk_full_mid_run_stops_with_a_plain_message_and_the_resume_finishes(tmp_path, sandbox, env, capsys, monkeypatch):
    box = sandbox()
    env(box)
    path, out = sheet(tmp_path, rows=40), tmp_path / "out"
    disk = SmallDisk(monkeypatch, "report.csv", capacity=2_000)

    assert run(path, out, "--concurrency", "2") == 1  # rows were sent

    err = capsys.readouterr().err
    assert "the disk is full" in err and "report.csv" in err and "Traceback" not in err
    assert "Free space, then run the same command: the report holds every row up to here" in err
    assert json.loads((out / "run.json").read_text())["state"] == "running"
    assert not (out / "failed.csv").exists() and not (out / "summary.json").exists()
    sent_before = box.state.calls

    disk.left = 10**9  # space was freed
    assert run(path, out) == 0

    assert rows_of(out / "report.csv") == Counter(range(2, 42))  # one line per row
    assert box.state.calls < sent_before + 40  # the rows recorded before were not sent again
    assert json.loads((out / "run.json").read_text())["state"] == "finished"


def test_disk_full_while_writing_failed_csv_leaves_no_half_file_and_the_resume_writes_it(tmp_path, sandbox, env, capsys, monkeypatch):
    ids = new_ids(6)
    # The other 3 fail: failed.csv has lines (untouched: the first check decides, so their updates are sent).
    box = sandbox(activities=set(ids[:3]), initial=untouched(ids[:3]))
    env(box)
    path, out = write_csv(tmp_path / "in.csv", [HEADER, *[[id_, "n", "Won"] for id_ in ids]]), tmp_path / "out"
    disk = SmallDisk(monkeypatch, "failed.csv", capacity=100)

    assert run(path, out) == 1

    err = capsys.readouterr().err
    assert "the disk is full" in err and "failed.csv" in err
    assert not (out / "failed.csv").exists() and not (out / "failed.csv.tmp").exists()
    assert len(read_report(out / "report.csv")) == 6

    disk.left = 10**9
    assert run(path, out) == 1  # the 3 failed rows
    assert len(read_report(out / "failed.csv")) == 3 and box.state.calls == 6


def os_error_on_open(monkeypatch, name: str, number: int) -> None:
    real_open = os.open

    def failing(path, flags, *args, **kwargs):
        if Path(path).name == name and flags & (os.O_WRONLY | os.O_RDWR):
            raise OSError(number, os.strerror(number), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", failing)


@pytest.mark.parametrize("number", [errno.EROFS, errno.EACCES])
def test_a_read_only_folder_or_a_denied_lock_is_a_plain_message(tmp_path, sandbox, env, capsys, monkeypatch, number):
    box = sandbox()
    env(box)
    os_error_on_open(monkeypatch, ".bulk-updater.lock", number)

    assert run(sheet(tmp_path), tmp_path / "out") == 2

    err = capsys.readouterr().err
    assert f"can't write .bulk-updater.lock here ({os.strerror(number).lower()})" in err and "Traceback" not in err
    assert box.state.calls == 0


@pytest.mark.parametrize(
    "run_json",
    [
        {"command": "run", "input": "x", "input_sha256": "y", "clear_token": "#N/A", "state": "stopped", "sessions": "two"},
        {"command": "run", "input": "x", "input_sha256": "y", "clear_token": "#N/A", "state": "stopped", "options": []},
        {"command": ["run"], "input": "x", "input_sha256": "y", "clear_token": "#N/A", "state": "stopped"},
        {"command": "run", "input": "x", "input_sha256": "y", "state": "stopped", "options": {"read": "x", "send": {}, "record": {}}},
        ["not", "an", "object"],
    ],
)
def test_a_run_json_with_wrong_types_is_a_plain_message(tmp_path, sandbox, env, capsys, run_json):
    box = sandbox()
    env(box)
    out = tmp_path / "out"
    out.mkdir()
    (out / "run.json").write_text(json.dumps(run_json))

    assert run(sheet(tmp_path), out) == 2

    err = capsys.readouterr().err
    assert "run.json can't be read" in err and "Traceback" not in err


def test_a_run_json_that_is_a_folder_is_refused(tmp_path, sandbox, env, capsys):
    box = sandbox()
    env(box)
    (tmp_path / "out" / "run.json").mkdir(parents=True)
    assert run(sheet(tmp_path), tmp_path / "out") == 2
    assert "run.json is a folder" in capsys.readouterr().err


# --- a closed stdout -------------------------------------------------------------------------


class ClosedPipe(io.StringIO):
    def write(self, text):
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")


def test_a_closed_stdout_ends_quietly(tmp_path, monkeypatch, capsys):
    path = sheet(tmp_path)
    monkeypatch.setattr("sys.stdout", ClosedPipe())
    assert cli.main(["check", str(path)]) == exit_codes.CLOSED_PIPE == 141
    assert capsys.readouterr().err == ""


def test_spooled_records_never_go_through_a_planted_symlink(tmp_path, sandbox):
    from conftest import FAST_RATE

    import bulk_updater
    from bulk_updater import Credentials, JobOptions, SendSettings

    box = sandbox()
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "input-spooling.csv.tmp").symlink_to(outside)
    send = SendSettings(box.url, Credentials(box.config.access_key, box.config.secret_key), rate=FAST_RATE)

    with pytest.raises(FolderError, match="symlink"):
        bulk_updater.run([{"CompanyActivityId": new_ids(1)[0], "Status": "Won"}], out, send, JobOptions(progress=False))

    assert outside.read_text() == "precious\n" and box.state.calls == 0
