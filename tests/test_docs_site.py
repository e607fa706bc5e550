"""The docs pages say what the code does: the troubleshooting page's messages are what the commands
print, word for word, and every page is in the site's nav."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import openpyxl
import pytest
from conftest import write_csv

from bulk_updater import cli
from bulk_updater.sandbox import SandboxConfig, SandboxThread
from bulk_updater.settings import Rate

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
FIRST = "6513270e-269e-4d37-b2a7-4de452e6b438"  # the first activity to send, named by the case-clash message
SHOWN_HOST = "https://api-in21.leadsquared.com"  # the page shows a real account's host where the test has a sandbox's
# `<!-- example: ARGS -->`, then the fenced block of what the command prints.
EXAMPLE = re.compile(r"<!-- example: (?P<args>.+?) -->\n```\n(?P<printed>.*?)```", re.S)


def examples() -> list[tuple[str, str]]:
    return [(m["args"], m["printed"]) for m in EXAMPLE.finditer((DOCS / "troubleshooting.md").read_text(encoding="utf-8"))]


def _ids(count: int) -> list[str]:
    return [FIRST, *(str(uuid.uuid4()) for _ in range(count - 1))]


def _env_file(path: Path, **values: str) -> None:
    path.write_text("".join(f"{name}={value}\n" for name, value in values.items()), encoding="utf-8")
    path.chmod(0o600)


def _files(folder: Path, box: SandboxThread, elsewhere: SandboxThread, ids: list[str]) -> None:
    """The files the page's commands name, each made to show its message."""
    keys = {"LSQ_ACCESS_KEY": box.config.access_key, "LSQ_SECRET_KEY": box.config.secret_key}
    _env_file(folder / "lsq.env", LSQ_HOST=box.url, **keys)
    _env_file(folder / "wrong-keys.env", LSQ_HOST=box.url, LSQ_ACCESS_KEY=box.config.access_key, LSQ_SECRET_KEY="not-the-secret")
    _env_file(folder / "other-region.env", LSQ_HOST=elsewhere.url, **keys)
    _env_file(folder / "host-only.env", LSQ_HOST=box.url)
    write_csv(folder / "edits.csv", [["CompanyActivityId", "Status"], *[[i, "Won"] for i in ids]])
    (folder / "edits.numbers").write_bytes(b"PK")
    write_csv(folder / "no-id.csv", [["Activity", "Status"], [FIRST, "Won"]])
    write_csv(folder / "twice.csv", [["CompanyActivityId", "Status", "Status"], [FIRST, "Won", "Lost"]])
    write_csv(folder / "header-only.csv", [["CompanyActivityId", "Status"]])
    write_csv(folder / "attributes.csv", [["CompanyActivityId", "CreatedOn"], [FIRST, "2024-01-01"]])
    write_csv(folder / "blank.csv", [["CompanyActivityId", "Status"], [FIRST, ""]])
    (folder / "shifted.csv").write_text(f"CompanyActivityId,Status\n{FIRST},Won,Lost\n", encoding="utf-8")
    (folder / "stray-byte.csv").write_bytes(f"CompanyActivityId,ActivityNote\n{FIRST},Müller\n{FIRST},Caf".encode() + b"\xe9\n")
    book = openpyxl.Workbook()
    book.active.title = "Sheet1"
    book.active.append(["CompanyActivityId", "Status"])
    book.active.append([FIRST, "Won"])
    book.create_sheet("Archive")
    book.save(folder / "edits.xlsx")
    write_csv(folder / "case.csv", [["CompanyActivityId", "status"], *[[i, "Won"] for i in ids]])
    write_csv(folder / "misspelled.csv", [["CompanyActivityId", "mx_Cod"], *[[i, "7"] for i in ids]])


def _before(args: str) -> list[list[str]]:
    """The commands that leave the run folder an example needs (a finished run; a stopped one whose sheet then changed)."""
    if "--out runs/done" in args:
        return [["run", "edits.csv", "--out", "runs/done", "--env-file", "lsq.env", "--yes", "--no-progress"]]
    if "--out runs/stopped" in args:
        return [["run", "edits.csv", "--out", "runs/stopped", "--env-file", "lsq.env", "--yes", "--no-progress", "--max-calls", "1"]]
    return []


def _shown(text: str, folder: Path, urls: list[str]) -> str:
    """What the admin would see: paths relative to their folder, their account's host, any row as N."""
    text = text.replace(f"{folder}/", "")
    for url in urls:
        text = text.replace(url, SHOWN_HOST)
    return re.sub(r"e\.g\. row \d+", "e.g. row N", text)


@pytest.mark.e2e  # twenty commands run to compare their output with the page: the slow tier keeps make test under a minute
def test_the_troubleshooting_page_shows_what_the_commands_print(tmp_path, monkeypatch, capsys):
    """Mutant: any message or hint of the page reworded in the code (or the page edited by hand)."""
    cases = examples()
    assert len(cases) >= 15, "the page's examples are no longer found"
    ids = _ids(21)  # enough for the stop on 20 failures, few enough for one burst at the default 25/5
    fields = frozenset({"Status", "mx_Code"})
    config = SandboxConfig(rate=Rate(1000, 1), activities=set(ids), initial={i: {"ActivityNote": "", "Fields": {"Status": "Open"}} for i in ids}, fields=fields)
    with SandboxThread(config) as box, SandboxThread(SandboxConfig(rate=Rate(1000, 1), region_host="api-us11.leadsquared.com")) as elsewhere:
        _files(tmp_path, box, elsewhere, ids)
        monkeypatch.chdir(tmp_path)
        for name in ("LSQ_HOST", "LSQ_ACCESS_KEY", "LSQ_SECRET_KEY"):
            monkeypatch.delenv(name, raising=False)
        for args, printed in cases:
            for earlier in _before(args):
                cli.main(earlier)
            if "runs/stopped" in args:  # the sheet changed after the run stopped
                write_csv(tmp_path / "edits.csv", [["CompanyActivityId", "Status"], *[[i, "Lost"] for i in ids]])
            capsys.readouterr()
            code = cli.main(args.split())
            out = capsys.readouterr()
            seen = _shown(out.out + out.err, tmp_path, [box.url, elsewhere.url])
            assert code != 0, args
            assert _shown(printed, tmp_path, []) in seen, f"bulk-updater {args}\n--- the page ---\n{printed}--- printed ---\n{seen}"


def test_every_page_of_docs_is_in_the_sites_nav():
    """Mutant: a page added to docs/ and left out of mkdocs.yml (the site would not show it)."""
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = sorted(path.name for path in DOCS.glob("*.md"))
    assert [page for page in pages if f": {page}" not in nav] == []


@pytest.mark.parametrize("page", sorted(path.name for path in DOCS.glob("*.md")))
def test_no_page_links_outside_the_site(page):
    """The site is built from docs/ alone: a link to ../README.md or a source file works on GitHub and breaks in the site."""
    links = re.findall(r"\]\(([^)#]+)", (DOCS / page).read_text(encoding="utf-8"))
    assert [link for link in links if link.startswith("../") or (not link.startswith("http") and not (DOCS / link).exists())] == []
