"""The workspace's uploads are capped together (--max-upload-total, 2 GB by default), and an upload that would
leave the disk too little room for the runs' reports is refused (before, 20 parallel uploads of 150 MB
were all accepted)."""

from __future__ import annotations

import asyncio

import pytest
from test_ui_guard import _multipart, fetch, posting, ui  # noqa: F401  (the `ui` fixture)

from bulk_updater import cli
from bulk_updater.ui import workspace
from bulk_updater.ui.workspace import FREE_SPACE_KEPT, Workspace, WorkspaceFull, parse_size

HEADER = b"CompanyActivityId,Status\n"


def _sheet(size: int) -> bytes:
    return HEADER + b"x" * (size - len(HEADER))


async def _post(server, content: bytes, chunked: bool = False, pause: float = 0.0) -> tuple[int, str]:
    body, content_type = _multipart("edits.csv", content)

    async def chunks():  # no Content-Length: the limits are applied while the file streams
        for start in range(0, len(body), 1000):
            yield body[start:start + 1000]
            await asyncio.sleep(pause)

    status, text, _ = await fetch("POST", server.base + "/upload", headers={**posting(server), "Content-Type": content_type},
                                  data=chunks() if chunked else body)
    return status, text


def _kept(tmp_path) -> list[int]:
    uploads = tmp_path / "ws" / "uploads"
    return sorted(path.stat().st_size for path in uploads.rglob("input.*")) if uploads.exists() else []


async def test_an_upload_past_the_workspace_total_is_refused_and_leaves_nothing(ui, tmp_path):  # noqa: F811
    server = ui(upload_total=5000)
    assert (await _post(server, _sheet(3000)))[0] == 303
    status, text = await _post(server, _sheet(3000))
    assert status == 413 and "would pass their 5,000 bytes limit" in text and "--max-upload-total" in text
    status, text = await _post(server, _sheet(3000), chunked=True)
    assert status == 413 and "--max-upload-total" in text
    assert _kept(tmp_path) == [3000]
    assert (await _post(server, _sheet(1500)))[0] == 303  # what is left still fits


async def test_uploads_under_way_at_once_are_counted_together(ui, tmp_path):  # noqa: F811
    server = ui(upload_cap=5000, upload_total=10_000)
    answers = await asyncio.gather(*(_post(server, _sheet(4000), chunked=True, pause=0.02) for _ in range(5)))
    accepted = [status for status, _ in answers if status == 303]
    assert 1 <= len(accepted) <= 2 and sum(_kept(tmp_path)) <= 10_000  # all five were kept, before
    assert all("--max-upload-total" in text for status, text in answers if status != 303)


async def test_an_upload_that_would_leave_the_disk_too_little_room_is_refused(ui, tmp_path, monkeypatch):  # noqa: F811
    server = ui()
    monkeypatch.setattr(workspace, "free_space", lambda folder: FREE_SPACE_KEPT + 1000)
    status, text = await _post(server, _sheet(3000))  # announced: 3,000 bytes and the form's
    assert status == 507 and "disk has 512.001 MB free: too little to keep this upload" in text and "--workspace on another disk" in text
    monkeypatch.setattr(workspace, "free_space", lambda folder: FREE_SPACE_KEPT - 1)
    status, text = await _post(server, _sheet(500), chunked=True)  # not announced: seen as it streams
    assert status == 507 and _kept(tmp_path) == []
    monkeypatch.setattr(workspace, "free_space", lambda folder: FREE_SPACE_KEPT + 10_000)
    assert (await _post(server, _sheet(3000)))[0] == 303


def test_every_upload_under_way_and_every_one_kept_meanwhile_count_against_the_total(tmp_path):
    space = Workspace(tmp_path, upload_cap=5000, upload_total=6000)
    with space.receiving(tmp_path / "a", None) as first, space.receiving(tmp_path / "b", None) as second:
        first.add(3000)
        with pytest.raises(WorkspaceFull):
            second.add(3500)  # 6,500 bytes arriving at once
    with space.receiving(tmp_path / "c", None) as going_on:
        with space.receiving(tmp_path / "d", None) as done:
            done.add(4000)  # kept while the other arrives
        with pytest.raises(WorkspaceFull):
            going_on.add(2500)


def test_max_upload_total_takes_sizes_and_refuses_others(capsys):
    assert parse_size("2GB") == 2 * 1024**3 and parse_size("500 mb") == 500 * 1024**2 and parse_size("1.5G") == 1536 * 1024**2
    assert parse_size("123456") == 123456
    for wrong in ("", "lots", "-1GB", "2PB", "0"):
        with pytest.raises(ValueError):
            parse_size(wrong)
    with pytest.raises(SystemExit) as exited:
        cli.main(["ui", "--max-upload-total", "lots"])
    assert exited.value.code == 2 and "'lots' is not a size" in capsys.readouterr().err
