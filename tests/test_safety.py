"""Safe with real credentials, end to end: the CLI against the sandbox.

Keys from the environment, --env-file or a hidden prompt; never in any output, even when
runs fail or crash; hosts checked before any connection; TLS verified; the key check first.
"""

from __future__ import annotations

import os
import select
import shutil
import ssl
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import trustme
from conftest import cli_env, new_ids, read_report, run_cli, untouched, write_csv

from bulk_updater.settings import Rate

HEADER = ["CompanyActivityId", "ActivityNote", "Status"]


def secret_keys() -> dict[str, str]:
    return {"access_key": f"u$r{uuid.uuid4().hex}", "secret_key": uuid.uuid4().hex + uuid.uuid4().hex[:8]}


def sheet(tmp_path: Path, ids: list[str]) -> Path:
    return write_csv(tmp_path / "in.csv", [HEADER, *[[i, "note", "Won"] for i in ids]])


def run(box, path: Path, out: Path, *options: str, env: dict | None = None):
    return run_cli("run", str(path), "--out", str(out), "--no-progress", "--rate", "1000/1", *options, env=env or cli_env(box))


# --- no key anywhere in what a failing run leaves behind -------------------------------------


def everything_written(result: subprocess.CompletedProcess, out: Path) -> str:
    files = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(out.rglob("*")) if p.is_file()] if out.exists() else []
    return "\n".join([result.stdout, result.stderr, *files])


def assert_no_key(keys: dict[str, str], result, out: Path) -> str:
    text = everything_written(result, out)
    for key in keys.values():
        assert key not in text
        assert key.replace("$", "%24") not in text  # nor as a URL would carry it
    # The keys were in the server's answers or the error's text: prove the redaction had work to do.
    assert "***" in text
    return text


def test_no_key_in_the_output_of_a_run_whose_keys_are_rejected(tmp_path, sandbox):
    keys = secret_keys()
    box = sandbox(access_key="the-account-key", secret_key="the-account-secret", echo_keys=True)
    result = run(box, sheet(tmp_path, new_ids(5)), tmp_path / "out", env=cli_env(box, LSQ_ACCESS_KEY=keys["access_key"], LSQ_SECRET_KEY=keys["secret_key"]))
    assert result.returncode == 3
    assert_no_key(keys, result, tmp_path / "out")


def test_no_key_in_the_output_of_a_run_cut_off_by_a_401(tmp_path, sandbox):
    keys = secret_keys()
    box = sandbox(**keys, echo_keys=True, revoke_after=3)
    out = tmp_path / "out"
    result = run(box, sheet(tmp_path, new_ids(30)), out, "--concurrency", "2", env=cli_env(box))
    assert result.returncode == 3
    text = assert_no_key(keys, result, out)
    assert "MXUnAuthorizedAccessException" in text


def test_no_key_in_the_output_of_a_run_full_of_500s(tmp_path, sandbox):
    keys = secret_keys()
    known = new_ids(5)
    # untouched: the first check decides, so the unknown activities' updates are sent, and answered with the keys
    box = sandbox(**keys, echo_keys=True, activities=set(known), initial=untouched(known), fail_503=0.3, seed=7)
    out = tmp_path / "out"
    result = run(box, sheet(tmp_path, known + new_ids(15)), out, env=cli_env(box))
    assert result.returncode == 1
    text = assert_no_key(keys, result, out)
    assert "MXInvalidEntityException" in text


def _fail_every_send(monkeypatch, secret: str) -> None:
    """Every update call raises an error quoting the secret key, as a careless library might."""
    from bulk_updater.calls.client import LeadSquaredClient

    async def send_update(self, request):
        raise RuntimeError(f"socket closed while sending x-LSQ-SecretKey={secret}")

    monkeypatch.setattr(LeadSquaredClient, "send_update", send_update)


def _crash_on_third_line(monkeypatch, secret: str) -> None:
    """Writing the third report line raises an error quoting the secret key, and it escapes the run."""
    from bulk_updater.report.writer import ReportWriter

    original, written = ReportWriter.write, []

    def write(self, result):
        written.append(result)
        if len(written) == 3:
            raise RuntimeError(f"disk gone while writing x-LSQ-SecretKey={secret}")
        original(self, result)

    monkeypatch.setattr(ReportWriter, "write", write)


@pytest.mark.parametrize("fault", [_fail_every_send, _crash_on_third_line])
def test_no_key_in_the_output_of_a_run_that_crashes(tmp_path, sandbox, monkeypatch, fault):
    keys = secret_keys()
    box = sandbox(**keys)
    out = tmp_path / "out"
    fault(monkeypatch, keys["secret_key"])
    result = run(box, sheet(tmp_path, new_ids(10)), out)
    assert result.returncode == 1
    text = assert_no_key(keys, result, out)
    assert "x-LSQ-SecretKey=***" in text
    if fault is _crash_on_third_line:
        assert "Traceback" in result.stderr and "unexpected error" in result.stderr
    else:
        assert {r["_error_type"] for r in read_report(out / "report.csv")} == {"InternalError"}


# --- where the keys come from ------------------------------------------------------------------


def test_keys_come_from_an_env_file_over_the_environment(tmp_path, sandbox):
    box = sandbox()
    env_file = tmp_path / "lsq.env"
    env_file.write_text(
        f"# the account's keys\nexport LSQ_ACCESS_KEY={box.config.access_key}\nLSQ_SECRET_KEY='{box.config.secret_key}'\nLSQ_HOST={box.url}\n"
    )
    env_file.chmod(0o600)
    env = cli_env(LSQ_ACCESS_KEY="stale-key-from-the-shell", LSQ_HOST="https://api.leadsquared.com")
    result = run_cli("whoami", "--env-file", str(env_file), env=env)
    assert result.returncode == 0, result.stderr
    assert "Sandbox Admin" in result.stdout and box.url in result.stdout
    assert result.stderr == ""
    env_file.chmod(0o644)
    shared = run_cli("whoami", "--env-file", str(env_file), env=env)
    assert shared.returncode == 0 and "can be read by other users" in shared.stderr and "chmod 600" in shared.stderr


def test_a_missing_env_file_is_bad_input(tmp_path):
    result = run_cli("whoami", "--env-file", str(tmp_path / "nope.env"), env=cli_env())
    assert result.returncode == 2
    assert "can't read the env file" in result.stderr and "Traceback" not in result.stderr


def test_no_option_takes_a_key():
    result = run_cli("run", "in.csv", "--out", "o", "--access-key", "abc", env=cli_env())
    assert result.returncode == 2 and "unrecognized arguments" in result.stderr


def read_until(fd: int, marker: bytes, seen: bytearray) -> None:
    while marker not in seen:
        ready, _, _ = select.select([fd], [], [], 30)
        assert ready, f"no prompt; saw {bytes(seen)!r}"
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # the terminal closed: the program ended
            chunk = b""
        if not chunk:
            return
        seen += chunk


@pytest.mark.e2e
@pytest.mark.skipif(shutil.which("setsid") is None, reason="needs util-linux setsid to give the CLI a terminal")
def test_missing_keys_are_asked_for_at_a_terminal_without_echo(sandbox):
    box = sandbox()
    terminal, cli_side = os.openpty()
    # setsid -c makes the pseudo-terminal the CLI's controlling terminal, as in a real shell.
    command = ["setsid", "-w", "-c", sys.executable, "-m", "bulk_updater", "whoami", "--host", box.url]
    process = subprocess.Popen(command, stdin=cli_side, stdout=cli_side, stderr=cli_side, env=cli_env())
    os.close(cli_side)
    transcript = bytearray()

    def expect(marker: bytes) -> None:
        seen = bytearray()
        read_until(terminal, marker, seen)
        transcript.extend(seen)

    try:
        for key in (box.config.access_key, box.config.secret_key):
            expect(b"typing is hidden): ")
            os.write(terminal, key.encode() + b"\n")
        expect(b"API host:")
        assert process.wait(30) == 0
    finally:
        process.kill()
        os.close(terminal)
    assert b"Sandbox Admin" in transcript
    # what was typed never came back on the screen
    assert box.config.secret_key.encode() not in transcript and box.config.access_key.encode() not in transcript


# --- hosts ---------------------------------------------------------------------------------------


def test_plain_http_to_another_machine_is_refused_before_any_lookup(tmp_path):
    # .invalid never resolves: a lookup would end in a connection error (exit 4), not this.
    path = sheet(tmp_path, new_ids(1))
    env = cli_env(LSQ_ACCESS_KEY="k" * 20, LSQ_SECRET_KEY="s" * 20)
    for command in (["run", str(path), "--out", str(tmp_path / "o")], ["whoami"]):
        result = run_cli(*command, "--host", "http://lsq-test.invalid", env=env)
        assert result.returncode == 2, result.stderr
        assert "uses plain http://" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()


@pytest.fixture
def tls_sandbox(sandbox, tmp_path):
    """A sandbox serving https:// with a certificate from a private CA; returns (sandbox, CA file)."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return sandbox(ssl_context=context), ca_file


def test_tls_certificates_are_verified(tls_sandbox):
    box, ca_file = tls_sandbox
    assert box.url.startswith("https://")
    untrusted = run_cli("whoami", env=cli_env(box))
    assert untrusted.returncode == 4
    assert "certificate" in untrusted.stderr and "Traceback" not in untrusted.stderr
    assert box.state.user_calls == 0  # the keys never left: the handshake failed first
    trusted = run_cli("whoami", env=cli_env(box, SSL_CERT_FILE=str(ca_file)))
    assert trusted.returncode == 0, trusted.stderr
    assert box.state.user_calls == 1


# --- the key check: whoami and the preflight of run ---------------------------------------------


def test_whoami_prints_who_the_keys_belong_to(sandbox):
    box = sandbox()
    result = run_cli("whoami", env=cli_env(box))
    assert result.returncode == 0, result.stderr
    for text in ("Sandbox Admin", "Administrator", "Sandbox Org", box.url.removeprefix("http://")):
        assert text in result.stdout
    assert result.stderr == ""
    assert (box.state.user_calls, box.state.calls, box.state.keys_in_query) == (1, 0, 0)


def test_whoami_warns_when_the_keys_belong_to_another_region(sandbox):
    box = sandbox(region_host="api-us11.leadsquared.com", role="Sales User")
    result = run_cli("whoami", env=cli_env(box))
    assert result.returncode == 0
    assert "API host:  api-us11.leadsquared.com (--region us11)" in result.stdout
    assert "Warning: the keys belong to the region host api-us11.leadsquared.com" in result.stderr
    assert "Sales User's keys" in result.stderr


def test_run_refuses_the_wrong_region_unless_told(tmp_path, sandbox):
    box = sandbox(region_host="api-in22.leadsquared.com")
    path = sheet(tmp_path, new_ids(3))
    refused = run(box, path, tmp_path / "refused")
    assert refused.returncode == 2
    assert "api-in22.leadsquared.com" in refused.stderr and "--region in22" in refused.stderr and "--no-region-check" in refused.stderr
    assert box.state.calls == 0 and not (tmp_path / "refused").exists()
    insisted = run(box, path, tmp_path / "insisted", "--no-region-check")
    assert insisted.returncode == 0, insisted.stderr
    assert box.state.calls == 3


def test_run_checks_the_keys_once_inside_the_rate_limit(tmp_path, sandbox):
    box = sandbox(rate=Rate(1000, 1))
    result = run(box, sheet(tmp_path, new_ids(12)), tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert (box.state.user_calls, box.state.calls, box.state.unauthorized) == (1, 12, 0)


def test_whoami_with_no_host_asks_the_lookup_host_and_says_which_to_use(sandbox, monkeypatch, capsys):
    from bulk_updater import cli

    box = sandbox(region_host="api-ca12.leadsquared.com")
    # Stands in for api.leadsquared.com, which answers UserByAccessKey.Get for every region.
    monkeypatch.setattr(cli, "DEFAULT_LOOKUP_HOST", box.url)
    for name, value in cli_env(box).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("LSQ_HOST")
    assert cli.main(["whoami"]) == 0
    out, err = capsys.readouterr()
    assert f"The keys work at {box.url}." in out and "API host:  api-ca12.leadsquared.com (--region ca12)" in out
    assert err == "No host was set: run with --region ca12\n"
