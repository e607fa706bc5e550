"""The library is silent by default: what a job tells a person goes to `on_note`; the CLI prints it, the page shows it."""

from __future__ import annotations

import io
import warnings

from conftest import FAST_RATE, new_ids, write_csv
from test_ui_guard import fetch, signed_in, ui  # noqa: F401  (the `ui` fixture)
from test_ui_jobs import _events, _start_run

import bulk_updater
from bulk_updater import Credentials, Hooks, JobOptions, SendSettings
from bulk_updater.errors import BulkUpdaterWarning
from bulk_updater.rows import ReadOptions

HEADER = ["CompanyActivityId", "Status"]


class _Terminal(io.StringIO):
    """stderr as a terminal: where a progress bar would draw."""

    def isatty(self) -> bool:
        return True


def settings(box) -> SendSettings:
    return SendSettings(box.url, Credentials(box.config.access_key, box.config.secret_key), rate=FAST_RATE)


def stopped_run(tmp_path, box, ids, options: JobOptions):
    """A run of a CSV given --timezone (a warning from the reader) that stops at its call budget (a resume's note follows)."""
    path = write_csv(tmp_path / "in.csv", [HEADER, *[[i, "Won"] for i in ids]])
    return bulk_updater.run(path, tmp_path / "out", settings(box), JobOptions(read=ReadOptions(timezone="Asia/Kolkata"), max_calls=2, **options))


def test_a_library_job_says_nothing_unless_asked(tmp_path, sandbox, monkeypatch):
    """Mutants killed: Hooks.progress True by default (the bar draws on the terminal); a note printed on stderr
    (job.note printing, as job._note did); the reader's warning raised as a Python warning inside a job."""
    ids = new_ids(4)
    box = sandbox(activities=set(ids))
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    with warnings.catch_warnings(record=True) as raised:
        warnings.simplefilter("always")
        first = stopped_run(tmp_path, box, ids, {})
        again = bulk_updater.resume(tmp_path / "out", settings(box).credentials)
    assert first.stop_reason == "max_calls" and again.stop_reason is None and again.counts["success"] == 4
    assert terminal.getvalue() == ""
    assert not [w for w in raised if issubclass(w.category, BulkUpdaterWarning)]
    assert Hooks().progress is False and Hooks().on_note is None


def test_on_note_hears_what_the_cli_prints(tmp_path, sandbox, bulk):
    """The notes a library caller asks for are the lines the CLI prints on stderr, word for word.
    Mutants killed: on_note never called (notes dropped); the reader's warning kept out of the job's notes."""
    ids = new_ids(4)
    box = sandbox(activities=set(ids))
    heard: list[str] = []
    stopped_run(tmp_path, box, ids, {"on_note": heard.append})
    bulk_updater.resume(tmp_path / "out", settings(box).credentials, on_note=heard.append)
    where, out = tmp_path / "in.csv", tmp_path / "out"
    timezone = f"Warning: --timezone Asia/Kolkata does nothing for {where}: it is a text file, and text cells are never shifted"
    resuming = f"Resuming the run in {out}: 2 of 4 rows already have an outcome; 2 rows not sent before are sent now."
    assert heard == [timezone, timezone, resuming]

    # The CLI's own run of the same stop and resume: the same lines on stderr, and nothing else said by the library.
    _, _, said_then = bulk(box, "run", str(where), "--out", str(tmp_path / "cli"), "--timezone", "Asia/Kolkata", "--max-calls", "2", "--yes")
    _, _, said_now = bulk(box, "resume", str(tmp_path / "cli"), "--yes")
    assert timezone in said_then and timezone in said_now and resuming.replace(str(out), str(tmp_path / "cli")) in said_now


async def test_the_run_page_lists_the_jobs_notes(ui, sandbox, tmp_path):  # noqa: F811
    """The field check's warning, said through on_note, is on the run's page (#notes) and in its live events.
    Mutants killed: the page's job passes no on_note (nothing kept); run.html without the #notes list."""
    ids = new_ids(2)
    box = sandbox(fields=frozenset({"Status"}), activities=set(ids))
    sheet = write_csv(tmp_path / "edits.csv", [["CompanyActivityId", "Stauts"], *[[i, "Won"] for i in ids]])
    server = ui({"LSQ_HOST": box.url, "LSQ_ACCESS_KEY": box.config.access_key, "LSQ_SECRET_KEY": box.config.secret_key})
    run_id = await _start_run(server, box, sheet, "100/1")
    snapshots, _, ended = await _events(server, run_id)
    warning = "Warning: Stauts is not among this activity's fields; did you mean Status?"
    assert ended and warning in snapshots[-1]["notes"]
    _, page, _ = await fetch("GET", f"{server.base}/runs/{run_id}", headers=signed_in(server))
    notes = page.split('<ul id="notes"', 1)[1].split("</ul>", 1)[0]
    assert warning.replace("'", "&#39;") in notes
