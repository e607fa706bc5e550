"""The workbook copies when the process stops: the web page's server, on SIGTERM, must see
its runs end within --stop-wait. A copy of a big report takes minutes, and a thread killed while writing one
left failed.xlsx.tmp and xlsxwriter's temporary file (45 MB) in the run folder, which no later run removed."""

from __future__ import annotations

import threading

import pytest
from conftest import write_csv

from bulk_updater.report import excel


@pytest.fixture
def stopping(monkeypatch) -> threading.Event:
    event = threading.Event()  # this test's own: the process's stays unset
    # Private on purpose: stop_copies() sets the process's event for good; the test swaps in one of its own.
    monkeypatch.setattr(excel, "_STOPPING", event)
    return event


def _reports(folder, lines: int = 100):
    rows = [["CompanyActivityId", "Status", "_row", "_outcome"], *[[f"id-{n}", "Won", str(n + 2), "not_sent"] for n in range(lines)]]
    return write_csv(folder / "report.csv", rows), write_csv(folder / "failed.csv", rows)


def _temporary(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp") or p.name.startswith((".copying-", "tmp")))


def test_no_copy_is_started_once_the_process_is_stopping_and_an_older_one_goes(tmp_path, stopping):
    report, failed = _reports(tmp_path)
    (tmp_path / "report.xlsx").write_bytes(b"an earlier session's copy")
    excel.stop_copies()
    assert excel.write_workbook_copies("Sheet1", report, failed) == []
    assert not (tmp_path / "report.xlsx").exists() and not (tmp_path / "failed.xlsx").exists()
    assert _temporary(tmp_path) == []


def test_a_copy_under_way_is_given_up_and_leaves_no_temporary_file(tmp_path, stopping, monkeypatch):
    report, failed = _reports(tmp_path, lines=500)
    monkeypatch.setattr(excel, "LINES_BETWEEN_LOOKS", 50)
    cells = []

    class StopsMidway:  # the server stops while the copy is at its 300th cell
        def sub(self, new, value):
            cells.append(value)
            if len(cells) == 300:
                stopping.set()
            return value

    monkeypatch.setattr(excel, "ILLEGAL_CHARACTERS", StopsMidway())
    assert excel.write_workbook_copies("Sheet1", report, failed) == []
    assert 300 <= len(cells) < 500 and not (tmp_path / "report.xlsx").exists()
    assert _temporary(tmp_path) == []


def test_the_next_copy_removes_what_a_killed_one_left(tmp_path, stopping):
    report, failed = _reports(tmp_path)
    (tmp_path / "failed.xlsx.tmp").write_bytes(b"")
    (tmp_path / "tmpab12cd_9").write_bytes(b"x" * 1000)  # where older versions let xlsxwriter write
    (tmp_path / ".copying-q1w2e3").mkdir()
    (tmp_path / ".copying-q1w2e3" / "tmpzz00zz00").write_bytes(b"x" * 1000)
    (tmp_path / "tmp-notes").write_text("not ours")
    assert [p.name for p in excel.write_workbook_copies("Sheet1", report, failed)] == ["report.xlsx", "failed.xlsx"]
    assert _temporary(tmp_path) == ["tmp-notes"]
