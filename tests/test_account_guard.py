"""The account guard fails closed, end to end through the CLI against the sandbox.

resume, retry, undo and verify act on an existing run only with keys of the account it was sent
to. LeadSquared's own example answer to the key check has no OrgId: keys of another org must
still be refused, on the identities that are left (short code, name with API host), and keys
that can't be compared at all are refused unless the admin says --unverified-account.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from conftest import new_ids, write_csv
from test_ui_guard import fetch, posting, signed_in, ui  # noqa: F401  (the `ui` fixture)
from test_ui_safety_net import _backup_run, _environ, _finished

from bulk_updater.ui.workspace import new_id

HEADER = ["CompanyActivityId", "Status"]
# Every identity the key check can give; the sandbox leaves out the ones a test names.
IDENTITY = frozenset({"OrgId", "OrgShortCode", "OrgDisplayName", "LSQCommonServiceURLs"})
QUICK = ("--concurrency", "1")  # one call at a time: --max-calls stops at an exact row


def another_org_without_org_id(box, name: str = "Sandbox Org") -> None:
    """From now on the keys belong to another org, and the answer gives no OrgId (as LeadSquared's
    example). Same display name by default: two orgs may share one; only the short code tells them apart."""
    box.config.omit_identity = frozenset({"OrgId"})
    box.config.org_code, box.config.org_name = "20002", name


def nothing_to_compare(box) -> None:
    box.config.omit_identity = IDENTITY


def sent(box) -> tuple[int, int]:
    """Updates and reads the sandbox got: what a refused command must leave as it was."""
    return box.state.calls, box.state.retrieve_calls


def stopped_run(tmp_path: Path, box, bulk, rows: int = 3) -> Path:
    """A run stopped by its --max-calls budget after one row: unfinished, for resume."""
    sheet = write_csv(tmp_path / "in.csv", [HEADER, *[[i, "Won"] for i in new_ids(rows)]])
    out = tmp_path / "run"
    code, _, err = bulk(box, "run", str(sheet), "--out", str(out), "--max-calls", "1", *QUICK)
    assert code == 1, err
    return out


def backup_run(tmp_path: Path, box, bulk) -> tuple[Path, list[str]]:
    ids = new_ids(2)
    for i in ids:
        box.state.activities[i] = {"ActivityNote": "", "Fields": {"Status": "Open"}}
    sheet = write_csv(tmp_path / "in.csv", [HEADER, *[[i, "Won"] for i in ids]])
    code, _, err = bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"), "--backup")
    assert code == 0, err
    return tmp_path / "run", ids


def failed_run(tmp_path: Path, sandbox, bulk):
    """A run whose every row failed (unknown activities), and a sandbox where they exist, for retry."""
    box = sandbox(activities=set())
    sheet = write_csv(tmp_path / "in.csv", [HEADER, *[[i, "Won"] for i in new_ids(2)]])
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "run"))[0] == 1
    box.config.activities = None
    return box, tmp_path / "run" / "failed.csv"


def statuses(box, ids) -> list[str]:
    return [box.state.activities[i]["Fields"]["Status"] for i in ids]


# --- run.json records every identity, never the keys ------------------------------------


def test_run_json_records_every_identity_the_key_check_gives_and_never_the_keys(tmp_path, sandbox, bulk):
    box = sandbox()
    out = stopped_run(tmp_path, box, bulk)
    text = (out / "run.json").read_text()
    record = json.loads(text)
    assert (record["org_id"], record["org_code"], record["org"], record["org_api_host"]) == (
        box.config.org_id, "10001", "Sandbox Org", box.url.removeprefix("http://"))
    assert box.config.access_key not in text and box.config.secret_key not in text


def test_a_resume_whose_answer_gives_less_keeps_what_the_run_recorded(tmp_path, sandbox, bulk):
    box = sandbox()
    out = stopped_run(tmp_path, box, bulk)
    box.config.omit_identity = frozenset({"OrgId"})  # the same org, answering without its OrgId
    code, _, err = bulk(box, "resume", str(out), "--max-calls", "none")
    assert code == 0, err
    assert json.loads((out / "run.json").read_text())["org_id"] == box.config.org_id  # the next resume can still compare it


# --- another org's keys, the answer without OrgId: refused, nothing sent --------------------


def test_resume_with_another_orgs_keys_and_no_org_id_is_refused(tmp_path, sandbox, bulk):
    box = sandbox()
    out = stopped_run(tmp_path, box, bulk)
    another_org_without_org_id(box)
    before = sent(box)

    code, _, err = bulk(box, "resume", str(out))

    assert code == 2 and sent(box) == before
    assert "the keys belong to another account than the unfinished run" in err and "(they differ in short code)" in err
    assert "short code 10001" in err and "short code 20002" in err  # the run's account, and the keys'
    assert "Give the keys of the account the run was sent to" in err and "Traceback" not in err
    assert box.config.secret_key not in err
    # --unverified-account is for keys that can't be compared, never for another account's
    assert bulk(box, "resume", str(out), "--unverified-account")[0] == 2 and sent(box) == before


def test_resume_with_another_orgs_keys_named_otherwise_at_the_same_host_is_refused(tmp_path, sandbox, bulk):
    box = sandbox()
    out = stopped_run(tmp_path, box, bulk)
    box.config.omit_identity = frozenset({"OrgId", "OrgShortCode"})
    box.config.org_name = "Other Org"  # only the name at the API host is left to compare
    before = sent(box)

    code, _, err = bulk(box, "resume", str(out))

    assert code == 2 and sent(box) == before and "(they differ in name at API host)" in err


def test_retry_with_another_orgs_keys_and_no_org_id_is_refused(tmp_path, sandbox, bulk):
    box, failed = failed_run(tmp_path, sandbox, bulk)
    another_org_without_org_id(box)
    before = sent(box)

    code, _, err = bulk(box, "retry", str(failed), "--out", str(tmp_path / "retry"))

    assert code == 2 and sent(box) == before and not (tmp_path / "retry").exists()
    assert f"another account than the run in {tmp_path / 'run'}" in err


def test_undo_with_another_orgs_keys_and_no_org_id_is_refused(tmp_path, sandbox, bulk):
    box = sandbox()
    run, ids = backup_run(tmp_path, box, bulk)
    another_org_without_org_id(box)
    before = sent(box)

    code, _, err = bulk(box, "undo", str(run), "--out", str(tmp_path / "undo"))

    assert code == 2 and sent(box) == before and not (tmp_path / "undo").exists()
    assert statuses(box, ids) == ["Won", "Won"] and "another account than the run in" in err


def test_verify_with_another_orgs_keys_and_no_org_id_is_refused(tmp_path, sandbox, bulk):
    box = sandbox()
    run, _ = backup_run(tmp_path, box, bulk)
    another_org_without_org_id(box)
    before = sent(box)

    code, _, err = bulk(box, "verify", str(run))

    assert code == 2 and sent(box) == before and not (run / "verify.csv").exists()
    assert "another account than the run in" in err


# --- nothing to compare: refused, unless --unverified-account ------------------------------


@pytest.mark.parametrize("why", ["the answer gives none", "the answer gives only the org name", "the run recorded none"])
def test_resume_with_nothing_to_compare_is_refused_and_goes_ahead_with_the_flag(tmp_path, sandbox, bulk, why):
    box = sandbox()
    out = stopped_run(tmp_path, box, bulk)
    if why == "the run recorded none":  # a run.json of an older bulk-updater
        record = json.loads((out / "run.json").read_text())
        for name in ("org_id", "org_code", "org", "org_api_host"):
            record.pop(name, None)
        (out / "run.json").write_text(json.dumps(record))
    elif why == "the answer gives only the org name":  # a name alone is no identity: two orgs may share it
        box.config.omit_identity = IDENTITY - {"OrgDisplayName"}
    else:
        nothing_to_compare(box)
    before = sent(box)

    code, _, err = bulk(box, "resume", str(out))

    assert code == 2 and sent(box) == before
    assert "can't tell whether the keys belong to the account the unfinished run" in err
    assert "--unverified-account (not recorded: give it again each time)" in err

    code, _, err = bulk(box, "resume", str(out), "--unverified-account", "--max-calls", "none")

    assert code == 0, err
    assert box.state.calls == before[0] + 2
    assert "unverified" not in (out / "run.json").read_text()  # never recorded


def test_retry_undo_and_verify_with_nothing_to_compare_are_refused_and_go_ahead_with_the_flag(tmp_path, sandbox, bulk):
    box = sandbox()
    run, ids = backup_run(tmp_path, box, bulk)
    nothing_to_compare(box)
    before = sent(box)
    commands = {
        "verify": ("verify", str(run)),
        "undo": ("undo", str(run), "--out", str(tmp_path / "undo")),
    }
    for name, command in commands.items():
        code, _, err = bulk(box, *command)
        assert code == 2 and "can't tell whether the keys belong to the account the run in" in err, name
    assert sent(box) == before and not (tmp_path / "undo").exists() and not (run / "verify.csv").exists()

    assert bulk(box, *commands["verify"], "--unverified-account")[0] == 0
    assert bulk(box, *commands["undo"], "--unverified-account")[0] == 0
    assert statuses(box, ids) == ["Open", "Open"]

    (tmp_path / "r").mkdir()
    retry_box, failed = failed_run(tmp_path / "r", sandbox, bulk)
    nothing_to_compare(retry_box)
    assert bulk(retry_box, "retry", str(failed), "--out", str(tmp_path / "retry"))[0] == 2
    # The run sent nothing: the canary's read before each row found no such activity (an MX error), so no update went.
    assert retry_box.state.calls == 0 and not (tmp_path / "retry").exists()
    code, _, err = bulk(retry_box, "retry", str(failed), "--out", str(tmp_path / "retry"), "--unverified-account")
    assert code == 0, err


def test_a_report_with_no_run_behind_it_has_nothing_to_compare_and_is_retried(tmp_path, sandbox, bulk):
    box, failed = failed_run(tmp_path, sandbox, bulk)
    another_org_without_org_id(box)
    copied = tmp_path / "elsewhere.csv"
    copied.write_bytes(failed.read_bytes())  # no run.json beside it: no run, no account to compare

    code, _, err = bulk(box, "retry", str(copied), "--out", str(tmp_path / "retry"))

    assert code == 0, err
    assert box.state.calls == 2  # the run's rows were never sent: the canary's read found no such activity


# --- on the page: the same guard, and a checkbox for --unverified-account -----------------


async def _reconnect(server) -> None:
    """The page keeps the identity of its last key check: check the keys again, as after changing them."""
    assert (await fetch("POST", server.base + "/connect", headers=posting(server), data={"next": "/"}))[0] == 200


def _run_ids(tmp_path: Path) -> set[str]:
    return {p.name for p in (tmp_path / "ws" / "runs").iterdir()}


async def test_the_pages_undo_refuses_keys_it_cant_compare_unless_the_checkbox_is_ticked(ui, sandbox, tmp_path):  # noqa: F811
    ids = new_ids(2)
    box = sandbox(initial={i: {"ActivityNote": "", "Fields": {"Status": "Open"}} for i in ids})
    server = ui(_environ(box))
    run_id, page = await _backup_run(server, box, tmp_path, ids)
    assert 'id="unverified-account-undo"' in page and 'id="unverified-account-verify"' in page
    nothing_to_compare(box)
    await _reconnect(server)
    before = sent(box)

    status, text, _ = await fetch("POST", f"{server.base}/runs/{run_id}/undo", headers=posting(server), data={"confirmed": "1"})

    assert status == 400 and "can&#39;t tell whether the keys belong to the account the run in" in text
    assert "tick “Act even if the account can&#39;t be checked”" in text
    assert sent(box) == before and _run_ids(tmp_path) == {run_id} and statuses(box, ids) == ["Won", "Won"]

    status, _, response = await fetch("POST", f"{server.base}/runs/{run_id}/undo", headers=posting(server), data={"confirmed": "1", "unverified_account": "1"})

    assert status == 303
    undo_id = response.headers["Location"].rsplit("/", 1)[-1]
    await _finished(server, undo_id)
    assert statuses(box, ids) == ["Open", "Open"]
    assert "unverified" not in (tmp_path / "ws" / "runs" / undo_id / "run.json").read_text()  # never recorded


async def test_the_page_refuses_another_orgs_keys_without_org_id_even_with_the_checkbox(ui, sandbox, tmp_path, bulk):  # noqa: F811
    box = sandbox()
    server = ui(_environ(box))
    run_id, _ = await _backup_run(server, box, tmp_path, new_ids(2))
    stopped = new_id()  # an unfinished run in the workspace, for Resume
    sheet = write_csv(tmp_path / "more.csv", [HEADER, *[[i, "Won"] for i in new_ids(3)]])
    code, _, err = await asyncio.to_thread(bulk, box, "run", str(sheet), "--out", str(tmp_path / "ws" / "runs" / stopped), "--max-calls", "1", *QUICK)
    assert code == 1, err
    another_org_without_org_id(box)
    await _reconnect(server)
    before, runs = sent(box), _run_ids(tmp_path)

    for run, action in ((run_id, "verify"), (run_id, "undo"), (run_id, "retry"), (stopped, "resume")):
        for form in ({}, {"unverified_account": "1"}):
            status, text, _ = await fetch("POST", f"{server.base}/runs/{run}/{action}", headers=posting(server), data=form)
            assert status == 400 and "the keys belong to another account than the" in text, (action, form)
            assert "short code 10001" in text and "short code 20002" in text

    # A job or a verification is registered before its page answers: one started by mistake shows,
    # live ("running now", a verification), or it has sent or made its folder already.
    _, home, _ = await fetch("GET", server.base + "/", headers=signed_in(server))
    _, page, _ = await fetch("GET", f"{server.base}/runs/{run_id}", headers=signed_in(server))
    assert "running now" not in home and 'id="verification"' not in page
    assert sent(box) == before and _run_ids(tmp_path) == runs
    assert not (tmp_path / "ws" / "runs" / run_id / "verify.csv").exists()


def test_a_dry_runs_report_sent_nothing_to_any_account_and_is_retried(tmp_path, sandbox, bulk):
    box = sandbox()
    sheet = write_csv(tmp_path / "in.csv", [HEADER, *[[i, "Won"] for i in new_ids(2)]])
    assert bulk(box, "run", str(sheet), "--out", str(tmp_path / "dry"), "--dry-run")[0] == 0  # its run.json names no account
    nothing_to_compare(box)

    code, _, err = bulk(box, "retry", str(tmp_path / "dry" / "failed.csv"), "--out", str(tmp_path / "retry"))

    assert code == 0, err
    assert box.state.calls == 2
