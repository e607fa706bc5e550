"""`--throttle-timeout` through the CLI, in process, against the sandbox.

When every answer has been a 429 for the timeout, the run stops cleanly: reason `throttled`,
state stopped, exit 1, the rows left `not_sent`, and a message saying why and how to finish.
"""

from __future__ import annotations

import json

import pytest
from conftest import cli_env, new_ids, read_report, untouched, write_csv

from bulk_updater import cli


def test_a_run_that_gets_only_429s_stops_after_the_throttle_timeout(tmp_path, sandbox, monkeypatch, capsys):
    ids = new_ids(8)
    # Another integration takes the whole limit after two calls (untouched: the canary's first check decides).
    box = sandbox(script=("ok", "ok", *["429"] * 40), initial=untouched(ids))
    for name, value in cli_env(box).items():
        monkeypatch.setenv(name, value)
    path = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], *[[id_, "Won"] for id_ in ids]])
    out = tmp_path / "out"

    # A 429 pauses everyone for one period (0.2 s): a few 429s, then the timeout.
    code = cli.main(["run", str(path), "--out", str(out), "--rate", "100/0.2", "--concurrency", "1",
                     "--throttle-timeout", "0.5", "--no-progress"])

    _, err = capsys.readouterr()
    assert code == 1, err
    assert "Stopped (throttled)" in err and "Another integration may be using the account's limit" in err
    assert f"bulk-updater resume {out}" in err
    outcomes = {int(line["_row"]): line for line in read_report(out / "report.csv")}
    assert [outcomes[n]["_outcome"] for n in range(2, 10)] == ["success"] * 2 + ["not_sent"] * 6
    assert int(outcomes[4]["_attempts"]) == box.state.throttled >= 2 and outcomes[4]["_http_status"] == "429"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stop_reason"] == "throttled" and summary["calls_throttled"] == box.state.throttled
    record = json.loads((out / "run.json").read_text())
    assert record["state"] == "stopped" and record["options"]["send"]["throttle_timeout"] == 0.5
    assert len(read_report(out / "failed.csv")) == 6  # the rows to send, in failed.csv as after any stop


def test_the_throttle_timeout_must_be_a_positive_number_of_seconds(tmp_path, capsys):
    for bad in ("0", "-1", "soon"):
        with pytest.raises(SystemExit) as exit_:
            cli.main(["run", "in.csv", "--out", str(tmp_path / "o"), "--throttle-timeout", bad])
        assert exit_.value.code == 2 and "--throttle-timeout" in capsys.readouterr().err


def test_verify_reads_answered_only_429_give_up_at_its_throttle_timeout(tmp_path, sandbox, monkeypatch, capsys):
    # The reads follow the retry policy the updates do: nothing but 429s for --throttle-timeout, and the
    # activity is not read (an error line). Kills: reads with a loop of their own (they counted 50 429s and
    # had no timeout: here they would wait out the 30 429s and read a match), and verify reading with a
    # policy that is not its settings' (the default 600 s: the same).
    ids = new_ids(1)
    box = sandbox(script=("ok", *["429"] * 30))  # the update goes through; then 30 answers of 429
    for name, value in cli_env(box).items():
        monkeypatch.setenv(name, value)
    path = write_csv(tmp_path / "in.csv", [["CompanyActivityId", "Status"], [ids[0], "Won"]])
    out = tmp_path / "out"
    assert cli.main(["run", str(path), "--out", str(out), "--rate", "1000/0.1", "--no-progress"]) == 0
    box.config.read_faults = True  # from now on the reads get the script's 429s too
    capsys.readouterr()

    code = cli.main(["verify", str(out), "--rate", "1000/0.1", "--throttle-timeout", "0.3"])

    printed, err = capsys.readouterr()
    assert code == 1, err
    [line] = read_report(out / "verify.csv")
    assert line["_verified"] == "error" and "MXAPIRateLimitExceededException" in line["_error"], line
    assert 2 <= box.state.throttled < 30 and "0 match, 0 mismatch, 1 error" in printed
