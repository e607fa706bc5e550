"""The README's recipes, followed as written: the commands are read from its code blocks and run in
process against the sandbox `bulk-updater sandbox --demo` starts, with the env file and the sheet
the README says to make. A README changed without its recipes working fails here."""

from __future__ import annotations

import asyncio
import csv
import re
import signal
from pathlib import Path

import openpyxl
import pytest
from test_ui_guard import _multipart, fetch, posting, signed_in
from test_ui_jobs import _events

from bulk_updater import cli, demo
from bulk_updater.credentials import environment
from bulk_updater.report.writer import ReportWriter
from bulk_updater.sandbox import SandboxThread
from bulk_updater.sandbox.server import config_from_args
from bulk_updater.ui import UiThread

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str, level: str = "##") -> str:
    """The README's section of that title, up to the next heading of its level or above."""
    match = re.search(rf"^{level} {re.escape(title)}\n(.*?)(?=^#{{1,{len(level)}}} |\Z)", README, flags=re.S | re.M)
    assert match, f"the README has no section {title!r}"
    return match[1]


def commands(text: str) -> list[list[str]]:
    """The bulk-updater commands of the text's ```sh blocks, each split into words, comments left out."""
    lines = [line.split("#")[0].split() for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S) for line in block.splitlines()]
    found = [words for words in lines if words]
    assert all(words[0] == "bulk-updater" for words in found), found
    return [words[1:] for words in found]


def recipe(number: int) -> str:
    [title] = re.findall(rf"^### ({number}\. .+)$", README, flags=re.M)
    return section(title, "###")


@pytest.fixture
def recipes(tmp_path, monkeypatch):
    """The set-up the Recipes section asks for: `bulk-updater sandbox --demo`, lsq.env with its lines, edits.csv."""
    intro = section("Recipes").split("### ")[0]
    [sandbox_command] = re.findall(r"`bulk-updater (sandbox[^`]*)`", intro)
    config = config_from_args(cli.build_parser("sandbox").parse_args(sandbox_command.split()))
    # Its limit lifted: each command still paces itself at 25/5, but one right after another would
    # meet the last one's calls in the sandbox's window and wait them out (seconds, not behaviour).
    config.rate = None
    box = SandboxThread(config).__enter__()
    [env_lines] = re.findall(r"```\n(LSQ_HOST=.*?)```", intro, flags=re.S)
    (tmp_path / "lsq.env").write_text(env_lines.replace("http://127.0.0.1:8765", box.url), encoding="utf-8")  # its port is a free one here
    (tmp_path / "lsq.env").chmod(0o600)
    [copy_of, named] = re.search(r"`(demo-out/activities\.csv)`, named `([^`]+)`", intro, flags=re.S).groups()
    assert copy_of.endswith(demo.SHEET)
    (tmp_path / named).write_bytes(demo.sample_sheet())
    monkeypatch.chdir(tmp_path)
    for name in ("LSQ_HOST", "LSQ_ACCESS_KEY", "LSQ_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    yield box
    box.__exit__(None, None, None)


def report(folder: Path) -> dict[str, dict[str, str]]:
    with (folder / "report.csv").open(encoding="utf-8-sig", newline="") as file:
        return {line["_row"]: line for line in csv.DictReader(file)}


def values(box: SandboxThread) -> dict:
    return {i: (a["ActivityNote"] or "", {k: v for k, v in a["Fields"].items() if v}) for i, a in box.state.activities.items()}


def test_the_recipes_set_up_is_the_demos_sandbox(recipes):
    """Mutant: `sandbox --demo` knowing no activities (every update would fail) or another sheet's."""
    assert set(recipes.state.activities) == set(demo.sandbox_activities()) and recipes.config.fields == demo.FIELDS


@pytest.mark.e2e  # a whole flow of several commands: the slow tier keeps make test under a minute
def test_recipe_1_check_run_fix_retry(recipes, tmp_path):
    """Mutant: retry sending the fixed row's old id again, or losing its _row (the report would not point at the sheet)."""
    check, run, retry = commands(recipe(1))
    assert cli.main(check) == 0
    assert cli.main(run) == 1  # the sample's rows that fail on purpose
    [(wrong, right)] = re.findall(r"replace `([^`]+)` with `([^`]+)`", recipe(1))
    failed = Path(retry[1])
    book = openpyxl.load_workbook(failed)  # the fix, as Excel saves a typed cell of Text format
    [cell] = [c for row in book.active.iter_rows() for c in row if c.value == wrong]
    cell.value = right
    book.save(failed)

    assert cli.main(retry) == 1  # the activity the sandbox does not know fails again
    fixed = [line for line in report(Path(retry[retry.index("--out") + 1])).values() if line["CompanyActivityId"] == right]
    assert [(line["_row"], line["_outcome"]) for line in fixed] == [(row, "success") for row, line in report(Path(run[run.index("--out") + 1])).items() if line["CompanyActivityId"] == wrong]


@pytest.mark.e2e  # a whole flow of several commands: the slow tier keeps make test under a minute
def test_recipe_2_back_up_verify_undo(recipes):
    """Mutant: undo leaving one activity as the run wrote it (the values would differ from before)."""
    run, verify, undo = commands(recipe(2))
    assert "--backup" in run
    before = values(recipes)
    assert cli.main(run) == 1
    assert values(recipes) != before
    assert cli.main(verify) == 0
    assert cli.main(undo) == 0
    assert values(recipes) == before


@pytest.mark.e2e  # a whole flow of several commands: the slow tier keeps make test under a minute
def test_recipe_3_stop_and_resume(recipes, monkeypatch, capsys):
    """Ctrl-C once the first row is recorded; the command printed is the README's resume, which finishes the job.
    Mutant: the stop suggesting a resume without the --env-file (the README's line would not be what is printed)."""
    run, resume = commands(recipe(3))
    real_write, written = ReportWriter.write, []

    def write(self, result):
        real_write(self, result)
        written.append(result)
        if len(written) == 1:
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(ReportWriter, "write", write)
    assert cli.main(run) == 130
    printed = capsys.readouterr()
    monkeypatch.setattr(ReportWriter, "write", real_write)
    assert "bulk-updater " + " ".join(resume) in printed.out + printed.err
    out = Path(run[run.index("--out") + 1])
    assert "not_sent" in {line["_outcome"] for line in report(out).values()}

    assert cli.main(resume) == 1  # the sample's failing rows
    lines = report(out)
    assert len(lines) == 16 and "not_sent" not in {line["_outcome"] for line in lines.values()}


@pytest.mark.e2e  # a whole flow of several commands: the slow tier keeps make test under a minute
def test_recipe_4_the_web_page(recipes, tmp_path):
    """The page launched as the README says: keys from lsq.env, the sheet uploaded, the options kept, the run to its end.
    Mutant: the page ignoring --env-file (the connection would have no keys)."""
    [ui] = commands(recipe(4))
    args = cli.build_parser("ui").parse_args(ui)
    assert "bulk-updater-runs/" in recipe(4) and args.workspace == "bulk-updater-runs"

    async def follow() -> str:
        with UiThread(Path(args.workspace), environment(args.env_file)) as server:
            sheet = tmp_path / "edits.csv"
            body, content_type = _multipart(sheet.name, sheet.read_bytes())
            _, _, response = await fetch("POST", server.base + "/upload", headers={**posting(server), "Content-Type": content_type}, data=body)
            upload = response.headers["Location"].rsplit("/", 1)[-1]
            await fetch("GET", f"{server.base}/check/{upload}", headers=signed_in(server))
            status, _, _ = await fetch("POST", server.base + "/connect", headers=posting(server), data={"next": "/"})  # the key fields left blank
            assert status == 200
            _, _, response = await fetch("POST", f"{server.base}/start/{upload}", headers=posting(server))
            run_id = response.headers["Location"].rsplit("/", 1)[-1]
            _, _, ended = await _events(server, run_id)
            assert ended
            _, page, _ = await fetch("GET", f"{server.base}/runs/{run_id}", headers=signed_in(server))
            assert "Retry failed rows" in page and f'href="/runs/{run_id}/fix"' in page  # "Fix and retry", as the recipe says
            return run_id

    run_id = asyncio.run(follow())
    lines = report(tmp_path / "bulk-updater-runs" / "runs" / run_id)
    assert len(lines) == 16 and {line["_outcome"] for line in lines.values()} == {"success", "failed", "invalid", "skipped"}


@pytest.mark.e2e  # a whole flow of several commands: the slow tier keeps make test under a minute
def test_before_the_first_real_run(recipes):
    """One activity checked and backed up, read back, then the rest. Mutant: --max-calls 1 sending more than one update."""
    first, verify, rest = commands(section("Before the first real run"))
    assert cli.main(first) == 1  # stopped by its budget
    assert sum(line["_outcome"] == "success" for line in report(Path(first[first.index("--out") + 1])).values()) == 1
    assert cli.main(verify) == 0
    assert cli.main(rest) == 1  # the sample's failing rows
    assert "not_sent" not in {line["_outcome"] for line in report(Path(first[first.index("--out") + 1])).values()}


def test_the_readme_fits_on_a_screen_and_its_links_lead_somewhere():
    """At most 200 lines; each relative link names a file of the project. Mutant: a page renamed under the README."""
    assert len(README.splitlines()) <= 200
    links = [link for link in re.findall(r"\]\(([^)#]+)", README) if not link.startswith("http")]
    assert links and [link for link in links if not (ROOT / link).exists()] == []


def test_the_quickstart_and_install_name_commands_and_files_that_exist():
    """The install line names the wheel `make dist` builds (version included); the quickstart's folders are the demo's.
    Mutant: a version bump without the README (its install line would name a file that is not built)."""
    from importlib.metadata import version  # what `bulk-updater --version` prints

    [block] = re.findall(r"```sh\n(.*?)```", section("Install"), flags=re.S)
    install = re.search(r"^pipx install (\S+)$", block, flags=re.M)
    assert install and install[1] == f"bulk_updater-{version('bulk-updater')}-py3-none-any.whl"
    assert block.splitlines()[-1] == "bulk-updater --version"
    assert commands(section("Quickstart: one minute, no account needed"))[0] == ["demo"]
    for path in ("demo-out/run/report.xlsx", "demo-out/run/failed.xlsx"):
        assert f"`{path}`" in README
    assert demo.DEFAULT_FOLDER == "demo-out"
