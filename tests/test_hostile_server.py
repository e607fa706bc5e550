"""Keys and server text: the CLI against a real server that misbehaves on purpose.

Each test scripts a small aiohttp server on a free loopback port (redirects, the key echoed in
every encoding and across the cuts, huge bodies, formulas, escape sequences), runs the CLI in
process, and reads everything the run left: report.csv, failed.csv, summary.json, stdout, stderr.
"""

from __future__ import annotations

import asyncio
import base64
import html
import json
import re
import sys
import threading
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from aiohttp import web
from conftest import cli_env, new_ids, read_report, run_cli, write_csv

from bulk_updater.calls import Kind, classify_response
from bulk_updater.credentials import Credentials, Redactor, redacting_output
from bulk_updater.errors import InputError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
UPDATE_PATH = "/v2/CompanyActivity.svc/Update"
USER_PATH = "/v2/Authentication.svc/UserByAccessKey.Get"
RETRIEVE_PATH = "/v2/CompanyActivity.svc/RetrieveById"  # the field check before the first update (safety net)
# Keys with the characters each encoding changes: $ / + & < > " ' and a space.
ACCESS_KEY = f"ak{uuid.uuid4().hex[:20]}$/+&<>"
SECRET_KEY = f"sk{uuid.uuid4().hex[:24]}\"' q"


async def identity(request: web.Request) -> web.Response:
    # No LSQCommonServiceURLs: the region can't be told, so the check passes on to the updates.
    return web.json_response({"Id": "user-1", "Name": "Test Admin", "Role": "Administrator"})


async def success(request: web.Request) -> web.Response:
    return web.json_response({"Status": "Success", "Message": {"Id": "x", "IsSuccessful": True}})


class ScriptedServer:
    """A real HTTP server on 127.0.0.1 whose every answer the test writes; it records each request."""

    def __init__(self, update: Handler = success, user: Handler = identity, **routes: Handler) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.unfinished_bodies = 0  # streamed answers the client stopped reading
        self._routes = {UPDATE_PATH: update, USER_PATH: user, **{f"/{name}": handler for name, handler in routes.items()}}
        self._ready = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)
        self.url = ""

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path, dict(request.headers)))
        handler = self._routes.get(request.path)
        return await handler(request) if handler else web.Response(status=404)

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def keys_received(self) -> list[str]:
        return [headers.get("x-LSQ-SecretKey", "") for _, _, headers in self.requests]


@pytest.fixture
def server():
    started: list[ScriptedServer] = []

    def start(*args, **kwargs) -> ScriptedServer:
        started.append(ScriptedServer(*args, **kwargs).__enter__())
        return started[-1]

    yield start
    for box in started:
        box.__exit__()


def env_for(box: ScriptedServer, **extra: str) -> dict[str, str]:
    return cli_env(LSQ_ACCESS_KEY=ACCESS_KEY, LSQ_SECRET_KEY=SECRET_KEY, **extra)


def sheet(tmp_path: Path, ids: list[str], note: str = "note") -> Path:
    return write_csv(tmp_path / "in.csv", [["CompanyActivityId", "ActivityNote", "Status"], *[[i, note, "Won"] for i in ids]])


def run(box: ScriptedServer, path: Path, out: Path, *options: str, env: dict | None = None):
    # These servers answer updates only (no RetrieveById): what an update's answer does is tested, not the canary.
    return run_cli(
        "run", str(path), "--out", str(out), "--host", box.url, "--no-progress", "--rate", "1000/1", "--concurrency", "1", "--no-canary", *options,
        env=env or env_for(box),
    )


def everything_written(result, out: Path) -> str:
    files = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(out.rglob("*")) if p.is_file()] if out.exists() else []
    return "\n".join([result.stdout, result.stderr, *files])


def activity_id(request_json: dict) -> str:
    return request_json["CompanyActivityId"]


# --- 1. redirects are never followed -----------------------------------------------------------


def test_a_307_on_an_update_fails_the_row_and_the_key_never_reaches_the_target(tmp_path, server):
    elsewhere = server()  # a plain-http origin the host check would have refused

    async def redirect(request):
        raise web.HTTPTemporaryRedirect(f"{elsewhere.url}/steal?from=update")

    box = server(update=redirect)
    result = run(box, sheet(tmp_path, new_ids(2)), tmp_path / "out")
    assert result.returncode == 1
    assert elsewhere.requests == []
    lines = read_report(tmp_path / "out" / "report.csv")
    assert [(line["_outcome"], line["_http_status"], line["_error_type"]) for line in lines] == [("failed", "307", "Redirect")] * 2
    assert f"redirected to {elsewhere.url};" in lines[0]["_error_message"]
    assert "/steal" not in everything_written(result, tmp_path / "out")  # only the scheme and host


def test_a_302_is_not_followed_as_a_get_that_records_success(tmp_path, server):
    async def redirect(request):
        raise web.HTTPFound("/landing")

    box = server(update=redirect, landing=success)
    result = run(box, sheet(tmp_path, new_ids(1)), tmp_path / "out")
    assert result.returncode == 1
    [line] = read_report(tmp_path / "out" / "report.csv")
    assert (line["_outcome"], line["_error_type"]) == ("failed", "Redirect")
    assert f"redirected to {box.url};" in line["_error_message"]
    assert [(method, path) for method, path, _ in box.requests] == [("GET", USER_PATH), ("GET", RETRIEVE_PATH), ("POST", UPDATE_PATH)]


@pytest.mark.parametrize("command", ["run", "whoami"])
def test_a_redirected_key_check_stops_with_exit_4_and_says_where_it_pointed(tmp_path, server, command):
    elsewhere = server()

    async def redirect(request):
        raise web.HTTPTemporaryRedirect(f"{elsewhere.url}/v2/Authentication.svc/UserByAccessKey.Get")

    box = server(user=redirect)
    if command == "run":
        result = run(box, sheet(tmp_path, new_ids(1)), tmp_path / "out")
    else:
        result = run_cli("whoami", "--host", box.url, env=env_for(box))
    assert result.returncode == 4
    assert f"redirected to {elsewhere.url};" in result.stderr and "Nothing was sent" in result.stderr
    assert elsewhere.requests == []
    assert not (tmp_path / "out").exists()


# --- 2, 3. no form of a key anywhere, across the cuts and across writes ------------------------


def lower_hex_escapes(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda match: match[0].lower(), text)


def base64_inner(key: str, offset: int, urlsafe: bool) -> tuple[str, str]:
    """The key base64-encoded inside a longer text at `offset`, and the characters only the key decides
    (found as those that stay the same whatever bytes surround it)."""
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    data = key.encode()
    low, high = encode(b"\0" * offset + data + b"\0" * 3).decode(), encode(b"\xff" * offset + data + b"\xff" * 3).decode()
    same = [i for i, (a, b) in enumerate(zip(low, high)) if a == b]
    sent = encode(b"<" * offset + data + b">>>").decode()
    return sent, low[same[0] : same[-1] + 1]


def encoded_forms(key: str) -> list[tuple[str, str]]:
    """(what the server sends, the part of it that is the key's alone) for every encoding a server may echo."""
    plain = [
        key,
        json.dumps(key)[1:-1],
        json.dumps(key + "é", ensure_ascii=False)[1:-2],
        html.escape(key),
        html.escape(key, quote=False),
        key.encode().hex(),
        key.encode().hex().upper(),
        *(quoted for form in (quote(key, safe=""), quote(key), quote_plus(key, safe=""), quote_plus(key)) for quoted in (form, lower_hex_escapes(form))),
    ]
    return [(form, form) for form in plain] + [base64_inner(key, offset, urlsafe) for offset in range(3) for urlsafe in (False, True)]


def assert_no_piece_of(forms: list[str], text: str, piece: int = 10) -> None:
    for form in forms:
        for start in range(len(form) - piece + 1):
            assert form[start : start + piece] not in text, f"a piece of {form!r} was written"


def test_no_form_of_a_key_reaches_any_output_even_across_the_cuts(tmp_path, server):
    echoes = [sent for key in (ACCESS_KEY, SECRET_KEY) for sent, _ in encoded_forms(key)]
    bodies = [f"echo: {sent} (end)" for sent in echoes] + [
        "x" * 190 + SECRET_KEY + "y" * 50,  # across the old 200-character cut
        "x" * 990 + SECRET_KEY + "y" * 50,  # across the 1,000-character cut
        "x" * (1000 - len(SECRET_KEY) // 2) + SECRET_KEY,
    ]
    json_bodies = [json.dumps({"ExceptionType": "MXInvalidInputException", "ExceptionMessage": "z" * 995 + SECRET_KEY})]
    ids = new_ids(len(bodies) + len(json_bodies))
    answers = dict(zip(ids, bodies + json_bodies))

    async def echo(request):
        body = answers[activity_id(await request.json())]
        return web.Response(status=400, text=body, content_type="application/json" if body.startswith("{") else "text/plain")

    box = server(update=echo)
    out = tmp_path / "out"
    result = run(box, sheet(tmp_path, ids), out, "--keep-going")  # every row fails the same way: don't stop (safety net)
    assert result.returncode == 1
    assert box.keys_received() == [SECRET_KEY] * (len(ids) + 2)  # the server did get the key to echo (key check, field check, updates)
    text = everything_written(result, out)
    assert_no_piece_of([part for key in (ACCESS_KEY, SECRET_KEY) for _, part in encoded_forms(key)], text)
    assert "***" in text
    for line in read_report(out / "report.csv"):
        assert len(line["_error_message"]) <= 1000
    summary = json.loads((out / "summary.json").read_text())
    assert all(len(group["example"]) <= 1000 for group in summary["failure_groups"])


def test_the_key_checks_answer_is_masked_before_it_is_cut(tmp_path, server):
    async def echo(request):
        return web.Response(status=200, text="x" * 190 + request.headers["x-LSQ-SecretKey"] + "y" * 20)

    box = server(user=echo)
    result = run_cli("whoami", "--host", box.url, env=env_for(box))
    assert result.returncode == 4
    assert_no_piece_of([SECRET_KEY], result.stdout + result.stderr)
    assert "***" in result.stderr


@pytest.mark.parametrize("key", [ACCESS_KEY, SECRET_KEY, "plain-key-0123456789"], ids=["access", "secret", "plain"])
def test_every_encoding_of_a_key_is_masked(key):
    keys = Credentials(key, "another-key-entirely")
    for sent, part in encoded_forms(key):
        masked = keys.redact(f"<<{sent}>>")
        assert part not in masked and "***" in masked, sent


def test_a_key_split_across_writes_is_masked_and_held_text_comes_out_at_the_end(capsys):
    redactor = Redactor()
    redactor.protect(Credentials(ACCESS_KEY, SECRET_KEY))
    with redacting_output(redactor):
        sys.stdout.write("one: " + SECRET_KEY[:9])
        sys.stdout.flush()  # a flush may not pass on what could still become a key
        sys.stdout.write(SECRET_KEY[9:] + " two\n")
        print("three:", ACCESS_KEY[:5], end="", flush=True)
        print(ACCESS_KEY[5:])
        sys.stderr.write("prompt: ")
        sys.stderr.flush()
        so_far = capsys.readouterr()
        assert so_far.err == "prompt: "  # text that can't be a key is not held back
        sys.stderr.write("last words without a line end " + SECRET_KEY[:12])
    out, err = capsys.readouterr()
    assert so_far.out + out == "one: *** two\nthree: ***\n"
    assert err == "last words without a line end ***"  # flushed on exit; the key's start masked


# --- 4. a key holding a control character --------------------------------------------------------


@pytest.mark.parametrize("bad", ["\n", "\r", "\x1b", "\x7f"])
def test_a_key_with_a_control_character_is_refused_when_loaded(tmp_path, server, bad):
    box = server()
    result = run_cli("whoami", "--host", box.url, env=cli_env(LSQ_ACCESS_KEY=ACCESS_KEY, LSQ_SECRET_KEY="sk-0123" + bad + "456789"))
    assert result.returncode == 2
    assert result.stderr.startswith("Error: LSQ_SECRET_KEY holds a line break or another control character")
    assert "Traceback" not in result.stderr and "sk-0123" not in result.stderr
    assert box.requests == []


def test_a_library_caller_gets_the_same_refusal():
    with pytest.raises(InputError, match="LSQ_ACCESS_KEY holds a line break"):
        Credentials("access\r\nkey", SECRET_KEY)


def test_a_key_with_a_line_break_in_an_env_file_is_refused(tmp_path, server):
    box = server()
    env_file = tmp_path / "lsq.env"
    # A line break at either end is trimmed (a pasted line); inside the key it can't be meant.
    env_file.write_text(f'LSQ_ACCESS_KEY="{ACCESS_KEY[:6]}\\r\\n{ACCESS_KEY[6:]}"\nLSQ_SECRET_KEY=secret-key-123\n')
    env_file.chmod(0o600)
    result = run(box, sheet(tmp_path, new_ids(1)), tmp_path / "out", "--env-file", str(env_file), env=cli_env())
    assert (result.returncode, result.stdout) == (2, "")
    assert "LSQ_ACCESS_KEY holds a line break" in result.stderr
    assert box.requests == []


# --- 5. size limits ----------------------------------------------------------------------------


def test_a_100_kb_mx_body_fails_the_row_for_good_with_its_type(tmp_path, server):
    body = json.dumps({"Status": "Error", "ExceptionType": "MXInvalidEntityException", "ExceptionMessage": "Activity does not exist. " * 4200})
    assert len(body) > 100_000

    async def huge_mx(request):
        return web.Response(status=500, text=body, content_type="application/json")

    box = server(update=huge_mx)
    result = run(box, sheet(tmp_path, new_ids(1)), tmp_path / "out")
    assert result.returncode == 1
    [line] = read_report(tmp_path / "out" / "report.csv")
    assert (line["_outcome"], line["_attempts"], line["_error_type"]) == ("failed", "1", "MXInvalidEntityException")
    assert line["_error_message"].startswith("Activity does not exist. Activity")
    assert len(line["_error_message"]) == 1000
    assert len(box.requests) == 3  # the key check, the field check's read and one update: not sent again


@pytest.mark.parametrize("cut_at", [65536, 65537, 65538, 65539, 65540, 65541])
def test_a_cut_mx_body_keeps_its_type_whatever_escape_it_ends_in(cut_at):
    body = json.dumps({"ExceptionType": "MXDuplicateEntryException", "ExceptionMessage": "caf\u00e9 " * 20000})
    result = classify_response(500, body[:cut_at])
    assert (result.kind, result.error_type) == (Kind.PERMANENT, "MXDuplicateEntryException")
    assert result.error_message.startswith("café café")


def test_a_huge_body_is_read_no_further_than_64_kb(tmp_path, server):
    chunk = b"Activity does not exist. " * 4000  # 100 KB

    async def endless(request):
        response = web.StreamResponse(status=400, headers={"Content-Type": "application/json"})
        await response.prepare(request)
        try:
            await response.write(b'{"ExceptionType": "MXHugeException", "ExceptionMessage": "')
            for _ in range(200):  # 20 MB
                await response.write(chunk)
            await response.write(b'"}')
        except (ConnectionError, RuntimeError):
            box.unfinished_bodies += 1
        return response

    box = server(update=endless)
    out = tmp_path / "out"
    result = run(box, sheet(tmp_path, new_ids(3)), out)
    assert result.returncode == 1
    assert box.unfinished_bodies == 3
    lines = read_report(out / "report.csv")
    assert {(line["_error_type"], len(line["_error_message"])) for line in lines} == {("MXHugeException", 1000)}
    assert (out / "report.csv").stat().st_size < 5_000
    assert (out / "summary.json").stat().st_size < 5_000
    assert len(result.stdout) + len(result.stderr) < 3_000


# --- 6. formulas in the report, escape sequences on the terminal --------------------------------

FORMULAS = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+1", "-2+3", "@SUM(1)", "\tTab", "\rCR"]


def test_server_text_that_would_run_as_a_formula_is_prefixed_and_the_users_cells_are_not(tmp_path, server):
    ids = new_ids(len(FORMULAS))
    answers = dict(zip(ids, FORMULAS))

    async def formula(request):
        text = answers[activity_id(await request.json())]
        return web.json_response({"ExceptionType": text, "ExceptionMessage": text}, status=400)

    box = server(update=formula)
    out = tmp_path / "out"
    result = run(box, sheet(tmp_path, ids, note="=1+1"), out)
    assert result.returncode == 1
    for name in ("report.csv", "failed.csv"):
        lines = {line["CompanyActivityId"]: line for line in read_report(out / name)}
        for activity, text in answers.items():
            assert lines[activity]["_error_type"] == lines[activity]["_error_message"] == "'" + text
            assert lines[activity]["ActivityNote"] == "=1+1"  # the user's own cell, as read


def test_no_control_character_from_a_server_reaches_the_terminal(tmp_path, server):
    nasty = "\x1b]0;owned\x07\x1b[2J\rAll 1 rows succeeded\n\x9b31m\u202eevil"

    async def failing(request):
        return web.json_response({"ExceptionType": "MXNasty\x1b[5m", "ExceptionMessage": nasty}, status=400)

    async def who(request):
        return web.json_response({"Id": "user-1", "Name": "Admin\x1b[2J\r\nUser: someone else", "Role": "Administrator"})

    box = server(update=failing, user=who)
    result = run(box, sheet(tmp_path, new_ids(1)), tmp_path / "out")
    whoami = run_cli("whoami", "--host", box.url, env=env_for(box))
    printed = result.stdout + result.stderr + whoami.stdout + whoami.stderr
    assert not any(char in printed for char in "\x1b\x07\x9b\r\u202e")
    [failure] = [line for line in result.stdout.splitlines() if "MXNasty" in line]
    assert failure.startswith("  1 row failed: MXNasty") and failure.endswith("rows succeeded 31m evil")  # one line
    assert "User:      Admin [2J User: someone else (id user-1)" in whoami.stdout
    [line] = read_report(tmp_path / "out" / "report.csv")
    assert line["_error_message"] == nasty  # the report keeps the server's exact text


# --- 14. a byte-order mark that contradicts the text ---------------------------------------------

TEXT = "CompanyActivityId,Status\n255539a4-0380-4b8c-84db-7746b46c3fe2,Won\n"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"\xef\xbb\xbf" + TEXT.encode("utf-16-le"), "starts with a UTF-8 byte-order mark, but the text after it is UTF-16"),
        (b"\xff\xfe" + TEXT.encode("utf-8"), "starts with a UTF-16 byte-order mark, but the text after it is not UTF-16"),
        (b"\xfe\xff" + TEXT.encode("utf-8"), "starts with a UTF-16 byte-order mark, but the text after it is not UTF-16"),
        (TEXT.encode("utf-32"), "is UTF-32 text"),
        (TEXT.encode("utf-32-le"), "is UTF-32 text"),
        (TEXT.encode("utf-32-be"), "is UTF-32 text"),
    ],
)
def test_an_encoding_mismatch_is_named(tmp_path, data, problem):
    path = tmp_path / "in.csv"
    path.write_bytes(data)
    result = run_cli("check", str(path))
    assert result.returncode == 2
    assert problem in result.stderr and "CompanyActivityId column" not in result.stderr
    assert "Save the file again as 'CSV UTF-8'" in result.stderr


def test_utf_32_is_read_when_named(tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes(TEXT.encode("utf-32"))
    assert run_cli("check", str(path), "--encoding", "utf-32").returncode == 0


# --- other attacks ------------------------------------------------------------------------------


def test_a_lone_surrogate_in_server_text_does_not_crash_the_report(tmp_path, server):
    async def lone(request):  # valid JSON, but "\ud800" decodes to text no UTF-8 file can hold
        return web.Response(status=400, text='{"ExceptionType": "MXBad", "ExceptionMessage": "broken \\ud800 text"}', content_type="application/json")

    box = server(update=lone)
    result = run(box, sheet(tmp_path, new_ids(2)), tmp_path / "out")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert [line["_error_message"] for line in read_report(tmp_path / "out" / "report.csv")] == ["broken ? text"] * 2
