"""The routes of the web page: one screen at a time, Sheet -> Check -> Connection -> Options -> Run -> Results.

Handlers are thin: the work is the library's (check, run, retry), the files are the
workspace's, the jobs are jobs.py's, the rules of who may ask are guard.py's.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import mimetypes
import secrets
import shutil
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from aiohttp import BodyPartReader, web

from .. import files
from ..application.ending import Ending, Step
from ..application.preview import Preview, RetryPreview, retry_preview, run_preview, undo_preview
from ..checking import CheckResult
from ..credentials import REDACTOR
from ..errors import BulkUpdaterError, FolderError, InputError
from ..hosts import REGIONS
from ..rows import ReadOptions
from ..rundir.folder import FAILED
from ..rundir.retries import recorded_retry
from ..safety.backup import UNDO_FILE
from ..safety.canary import CANARY_FILE
from ..safety.confirm import timezone_flag
from ..safety.verify import VERIFY_FILE
from ..wording import counted
from . import fixing
from .connection import Connection, chosen_credentials, chosen_host, connect, keys_in_environment
from .fields import ActivityFields, first_activity_fields
from .guard import guard_middleware, security_headers
from .jobs import GROUPS_SHOWN, Jobs, PageJob
from .options_screen import PLANS, SendChoices, parse_choices
from .reading import checked, first_request, in_child, sheets_and_header
from .screens import STATE_WORDS, Pace, Progress, chart_points, finished_progress, read_pace, run_title, stop_words
from .undoing import UNVERIFIED_CHECKBOX, wrong_account
from .verifying import Verification, verify_send
from .verifying import start as start_verification
from .workspace import SHEET_EXTENSIONS, Receipt, UploadRefused, Workspace, megabytes, too_big

# How often a live page gets the job's numbers: a few times a second, whatever the row rate.
PROGRESS_INTERVAL = 0.3
DOWNLOAD_CHUNK = 1 << 16
# The hidden field of each form that acts on a run: the same form sent twice lands where it first did.
ONCE = "once"
ONCE_KEPT = 1000
# Files a results page offers for download (the CLI's outputs, and the safety net's undo.csv and verify.csv).
DOWNLOADS = ("report.csv", "failed.csv", "summary.json", "report.xlsx", "failed.xlsx", UNDO_FILE, VERIFY_FILE, CANARY_FILE)
HERE = Path(__file__).parent


@dataclass
class UiState:
    workspace: Workspace
    environ: Mapping[str, str]
    jobs: Jobs = field(default_factory=Jobs)
    connection: Connection | None = None
    choices: dict[str, SendChoices] = field(default_factory=dict)  # by upload or run id
    checks: dict[str, CheckResult] = field(default_factory=dict)  # by upload id
    started: dict[str, str] = field(default_factory=dict)  # upload id -> the run last started from it
    verifications: dict[str, Verification] = field(default_factory=dict)  # by run id: the last verify of it
    undoing: dict[str, str] = field(default_factory=dict)  # run id -> the undo last started of it
    retrying: dict[str, str] = field(default_factory=dict)  # run id -> the retry last started of it
    # One action on a run at a time: a second POST waits for the first to have started its job, then lands on it.
    acting: dict[str, asyncio.Lock] = field(default_factory=dict)  # by run id
    submitted: dict[str, str] = field(default_factory=dict)  # a form's one-time value -> where its action landed


STATE = web.AppKey("state", UiState)


def build_app(workspace: Path, environ: Mapping[str, str], token: str, upload_cap: int | None = None, upload_total: int | None = None) -> web.Application:
    limits = {name: value for name, value in (("upload_cap", upload_cap), ("upload_total", upload_total)) if value is not None}
    state = UiState(Workspace(workspace, **limits), dict(environ))
    if keys_in_environment(environ):  # masked from the start, even before the page uses them
        chosen_credentials("", "", environ)
    # The upload streams past aiohttp's body limit; every other body is a small form, but for the fix grid's, which
    # has a field per cell (GRID_ROWS rows of every column): past aiohttp's default of 1,000 fields.
    app = web.Application(middlewares=[guard_middleware(token)], client_max_fields=fixing.FORM_FIELDS)
    app.on_response_prepare.append(security_headers)
    app[STATE] = state
    app.add_routes([
        web.get("/", home),
        web.post("/upload", upload),
        web.get("/sheet/{upload}", sheet_page),
        web.post("/sheet/{upload}", sheet_save),
        web.get("/check/{upload}", check_page),
        web.get("/connect", connect_page),
        web.post("/connect", connect_save),
        web.get("/options/{upload}", options_page),
        web.post("/options/{upload}", options_save),
        web.get("/confirm/{upload}", confirm_page),
        web.post("/start/{upload}", start),
        web.get("/runs/{run}", run_page),
        web.get("/runs/{run}/events", run_events),
        web.post("/runs/{run}/stop", run_stop),
        web.post("/runs/{run}/retry", run_retry),
        web.get("/runs/{run}/fix", fix_page),
        web.post("/runs/{run}/fix", fix_save),
        web.post("/runs/{run}/fix/upload", fix_upload),
        web.get("/runs/{run}/fix/review", fix_review),
        web.post("/runs/{run}/resume", run_resume),
        web.post("/runs/{run}/verify", run_verify),
        web.post("/runs/{run}/undo", run_undo),
        web.get("/runs/{run}/files/{name}", run_file),
        web.static("/static", HERE / "static"),
    ])
    return app


# --- rendering ------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        # Every value a page shows passes the CLI's key masking.
        finalize=lambda value: REDACTOR.redact(value) if isinstance(value, str) else value,
        undefined=jinja2.StrictUndefined,
    )


def render(name: str, status: int = 200, **context) -> web.Response:
    html = _templates().get_template(name).render(regions=REGIONS, counted=counted, **context)
    return web.Response(text=html, content_type="text/html", status=status, headers={"Cache-Control": "no-store"})


def problem(message: str, back: str = "/", status: int = 400) -> web.Response:
    return render("problem.html", status=status, message=message, back=back)


def _state(request: web.Request) -> UiState:
    return request.app[STATE]


async def _in_thread(function, *args):
    """Blocking work (reading a sheet, counting rows) off the server's loop."""
    return await asyncio.get_running_loop().run_in_executor(None, function, *args)


# --- home and Sheet -------------------------------------------------------------------


async def home(request: web.Request) -> web.Response:
    state = _state(request)
    runs = await _in_thread(state.workspace.all_runs)
    titles = await _in_thread(lambda: {run.id: run_title(run.record, state.workspace.original_name) for run in runs})
    return render("home.html", runs=runs, titles=titles, live={run.id for run in runs if state.jobs.live(run.id)},
                  cap=megabytes(state.workspace.upload_cap), extensions=SHEET_EXTENSIONS, connected=state.connection is not None)


async def upload(request: web.Request) -> web.Response:
    """The sheet streams to disk, counted against the upload cap, the workspace's total and the disk's free space."""
    workspace = _state(request).workspace
    if request.content_length is not None and request.content_length > workspace.upload_cap + 64 * 1024:
        return problem(too_big(workspace.upload_cap), status=413)  # before reading anything
    part = await _sheet_part(request)
    if part is None or not part.filename:
        return problem("Choose a file to upload.")
    filename = part.filename
    if Path(filename).suffix.lower() not in SHEET_EXTENSIONS:
        return problem(f"{Path(filename).name}: not a sheet bulk-updater reads. Upload a {', '.join(SHEET_EXTENSIONS)} file.")
    path = workspace.new_upload_path(filename)
    try:
        with workspace.receiving(path, request.content_length) as receipt:
            await _stream_to(part, path, receipt)
    except UploadRefused as refused:
        shutil.rmtree(path.parent, ignore_errors=True)
        return problem(str(refused), status=refused.status)
    except BaseException:
        shutil.rmtree(path.parent, ignore_errors=True)
        raise
    saved = workspace.save_upload(path, filename)
    raise web.HTTPSeeOther(f"/sheet/{saved.id}")


async def _sheet_part(request: web.Request) -> BodyPartReader | None:
    """The form's `sheet` field, not yet read: the file streams from it."""
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if isinstance(part, BodyPartReader) and part.name == "sheet":
            return part
    return None


async def _stream_to(part: BodyPartReader, path: Path, receipt: Receipt) -> None:
    with path.open("wb") as f:
        while chunk := await part.read_chunk(1 << 16):
            receipt.add(len(chunk))
            f.write(chunk)


def _upload(request: web.Request):
    found = _state(request).workspace.upload(request.match_info["upload"])
    if found is None:
        raise web.HTTPNotFound(text="No such upload.")
    return found


async def sheet_page(request: web.Request) -> web.Response:
    item = _upload(request)
    try:
        # Headers as the sheet has them, before any map: the fields to map from.
        sheets, columns, error = await in_child(sheets_and_header, item.path, item.is_workbook, item.sheet)
    except InputError as exc:
        sheets, columns, error = [], [], str(exc)
    suggested = await _activity_fields(_state(request), item) if columns else None
    return render("sheet.html", upload=item, sheets=sheets, columns=columns, error=error, suggested=suggested)


async def _activity_fields(state: UiState, item) -> ActivityFields | None:
    """When connected: the fields of the first row's activity (the safety net's field check), to map to."""
    if state.connection is None:
        return None
    try:
        columns, first = await in_child(first_request, item.path, item.read_options())
    except InputError:  # the id column is not mapped yet, or the map does not fit: nothing to read
        columns, first = [], None
    return await first_activity_fields(columns, first, SendChoices().send_settings(state.connection), frozenset(item.mapped.values()))


async def sheet_save(request: web.Request) -> web.Response:
    item = _upload(request)
    form = await request.post()
    if item.is_workbook and form.get("sheet"):
        item.sheet = str(form["sheet"])
    if form.get("action") == "pick":  # another sheet picked: show its headers
        item.mapped = {}
        _state(request).workspace.save_choices(item)
        raise web.HTTPSeeOther(f"/sheet/{item.id}")
    item.mapped = _map_from_form(form)
    _state(request).workspace.save_choices(item)
    _state(request).checks.pop(item.id, None)
    raise web.HTTPSeeOther(f"/check/{item.id}")


def _map_from_form(form) -> dict[str, str]:
    """Fields header_N (the sheet's header), schema_N (what it maps to; blank: kept as it is) and
    exact_N ("send as spelled": kept in the map as it is, so a case clash with a field is sent, as --map names it)."""
    mapped = {}
    for key in form:
        if key.startswith("header_"):
            number = key[len("header_"):]
            target = str(form.get("schema_" + number, "")).strip()
            header = str(form[key])
            if target and (target != header or form.get("exact_" + number)):
                mapped[header] = target
    return mapped


# --- Check ----------------------------------------------------------------------------


async def check_page(request: web.Request) -> web.Response:
    state, item = _state(request), _upload(request)
    try:
        result = await in_child(checked, item.path, item.read_options())  # without the ids it counted duplicates with
    except InputError as exc:
        state.checks.pop(item.id, None)
        return render("check.html", upload=item, result=None, refusal=f"Error: {exc}")
    refusal = "" if result.usable else f"Error: {result.where}: {result.problem()}\nFix the rows listed above, then check again."
    if result.usable:  # kept for the confirmation
        state.checks[item.id] = result
    previews = [(number, json.dumps(body, ensure_ascii=False, indent=1)) for number, body in result.previews]
    return render("check.html", upload=item, result=result, refusal=refusal, previews=previews)


# --- Connection -----------------------------------------------------------------------


def _next_path(value: str) -> str:
    """Only a path on this server: never a redirect elsewhere."""
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else "/"


async def connect_page(request: web.Request) -> web.Response:
    state = _state(request)
    return render("connect.html", connection=state.connection, error="", next=_next_path(request.query.get("next", "/")),
                  env_keys=keys_in_environment(state.environ), env_host=state.environ.get("LSQ_HOST", ""))


async def connect_save(request: web.Request) -> web.Response:
    state = _state(request)
    form = await request.post()
    following = _next_path(str(form.get("next", "/")))
    try:
        host = chosen_host(str(form.get("region", "")), str(form.get("host", "")), state.environ)
        credentials = chosen_credentials(str(form.get("access_key", "")), str(form.get("secret_key", "")), state.environ)
        state.connection = await connect(host, credentials, check_region=not form.get("no_region_check"))
        error = ""
    except BulkUpdaterError as exc:
        error = f"Error: {exc}"
    return render("connect.html", connection=state.connection if not error else None, error=error, next=following,
                  env_keys=keys_in_environment(state.environ), env_host=state.environ.get("LSQ_HOST", ""),
                  status=400 if error else 200)


# --- Options, confirmation, start -----------------------------------------------------


async def options_page(request: web.Request) -> web.Response:
    item = _upload(request)
    choices = _state(request).choices.get(item.id, SendChoices())
    return render("options.html", upload=item, choices=choices, defaults=SendChoices(), plans=PLANS, error="")


async def options_save(request: web.Request) -> web.Response:
    state, item = _state(request), _upload(request)
    form = await request.post()
    try:
        state.choices[item.id] = parse_choices({k: str(v) for k, v in form.items()})
    except InputError as exc:
        return render("options.html", upload=item, choices=SendChoices(), defaults=SendChoices(), plans=PLANS, error=f"Error: {exc}", status=400)
    raise web.HTTPSeeOther(f"/confirm/{item.id}")


async def confirm_page(request: web.Request) -> web.Response:
    state, item = _state(request), _upload(request)
    result = state.checks.get(item.id)
    if result is None:
        raise web.HTTPSeeOther(f"/check/{item.id}")
    if state.connection is None:
        raise web.HTTPSeeOther(f"/connect?next=/options/{item.id}")
    choices = state.choices.get(item.id, SendChoices())
    # The run's field check, before Start: a column whose case clashes with a field is refused here too.
    fields = await _activity_fields(state, item)
    preview = _preview(state.connection, result, choices)
    return render("confirm.html", upload=item, result=result, connection=state.connection, choices=choices,
                  line=preview.line, zone_warning=preview.zone_warning(_zone_remedy(preview)), refusal=fields.refusal if fields else "")


def _preview(connection: Connection, result: CheckResult, choices: SendChoices) -> Preview:
    """What the run will do (the CLI's "About to update N rows (M activities) in ORG as USER ..." line), from the check's counts."""
    return run_preview(result, connection.identity, connection.host, choices.limit, backup=choices.backup, canary=choices.canary)


def _zone_remedy(preview: Preview) -> str:
    """The page has no --timezone: what to do instead, in the warning about date-times sent as UTC."""
    return (f"The page sends them as UTC: turn them into UTC in the sheet, or send it from the command line "
            f"with {timezone_flag(preview.plan.datetimes_not_in)}.")


async def start(request: web.Request) -> web.Response:
    state, item = _state(request), _upload(request)
    if state.connection is None or item.id not in state.checks:
        raise web.HTTPSeeOther(f"/confirm/{item.id}")
    running = state.started.get(item.id)
    if running and (state.jobs.live(running) or _sent_rows(state, running)):  # a second click on Start: the run already going,
        raise web.HTTPSeeOther(f"/runs/{running}")  # or ended (Back, a form sent again): never a second run of the whole sheet
    choices = state.choices.get(item.id, SendChoices())
    folder = state.workspace.new_run_folder()
    state.choices[folder.id] = choices
    state.started[item.id] = folder.id
    line = _preview(state.connection, state.checks[item.id], choices).line
    state.jobs.start(PageJob(folder.id, folder.path, "run", item.path, choices.send_settings(state.connection), item.read_options(), headline=line,
                         safety=choices.safety()))
    raise web.HTTPSeeOther(f"/runs/{folder.id}")


def _sent_rows(state: UiState, run_id: str) -> bool:
    """Whether the page's job `run_id` sent any row (one refused at its key check sent none: Start may go again)."""
    job = state.jobs.get(run_id)
    return job is not None and job.tally.snapshot(0).calls > 0


# --- Run and Results ------------------------------------------------------------------


def _run_folder(request: web.Request):
    found = _state(request).workspace.run(request.match_info["run"])
    if found is None:
        raise web.HTTPNotFound(text="No such run.")
    return found


async def run_page(request: web.Request) -> web.Response:
    state, folder = _state(request), _run_folder(request)
    job = state.jobs.get(folder.id)
    offered = [name for name in DOWNLOADS if _offered(folder.path / name)]
    summary = folder.summary
    ending = Ending.of(summary, folder.record, folder.path)
    # An undo's rows skipped because their activity changed since the run: not restored, said with their fields.
    held = [group for group in summary.get("failure_groups", []) if group.get("outcome") == "skipped"] if ending.held_back else []
    live = bool(job and job.live)
    screen = await _in_thread(_run_screen, folder, job if live else None, job.state if job else "")
    title = await _in_thread(run_title, folder.record, state.workspace.original_name)
    # (a run left to its Resume too: a retry from the command line may have taken its rows left)
    retried = await _in_thread(_retried_by, state, folder) if Step.RETRY in ending.steps or ending.resumes else ""
    return render("run.html", run=folder, job=job, live=live, files=offered, summary=summary, ending=ending, Step=Step, retried=retried,
                  screen=screen, title=title, stop_words=stop_words(ending.stop_reason),
                  connected=state.connection is not None, error=REDACTOR.redact(job.error) if job else "",
                  verification=state.verifications.get(folder.id), can_undo=_offered(folder.path / UNDO_FILE), held=held,
                  undone=Path(ending.undone).name if ending.undone else "", once=secrets.token_urlsafe(12))


@dataclass(frozen=True)
class RunScreen:
    """The run's progress as the page first draws it: from the live job, else from the run folder."""

    progress: Progress
    groups: list[dict]
    pace: Pace

    @property
    def chart(self) -> str:
        return chart_points(self.pace.series)


def _run_screen(folder, job: PageJob | None, job_state: str) -> RunScreen:
    if job is not None:  # live: the job's own numbers
        now = job.tally.snapshot(GROUPS_SHOWN)
        progress = Progress(now.total, dict(now.counts), STATE_WORDS.get(job.state, job.state))
        return RunScreen(progress, now.groups, dataclasses.replace(job.pace, calls=now.calls, elapsed=now.elapsed))
    summary = folder.summary
    return RunScreen(finished_progress(summary, job_state), summary.get("failure_groups", [])[:GROUPS_SHOWN], read_pace(folder.path))


async def run_events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: the job's numbers, at most a few times a second, then `end`."""
    job = _state(request).jobs.get(request.match_info["run"])
    if job is None:
        raise web.HTTPNotFound(text="No live job for this run.")
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
    await response.prepare(request)
    last = ""
    try:
        while True:
            live = job.live
            text = REDACTOR.redact(json.dumps(job.snapshot()))
            if text != last:
                await response.write(f"data: {text}\n\n".encode())
                last = text
            if not live:
                await response.write(b"event: end\ndata: {}\n\n")
                break
            await asyncio.sleep(PROGRESS_INTERVAL)
    except ConnectionResetError:  # the tab was closed: the job goes on
        pass
    return response


async def run_stop(request: web.Request) -> web.Response:
    job = _state(request).jobs.get(request.match_info["run"])
    if job is not None and job.live:
        job.stop()
    raise web.HTTPSeeOther(f"/runs/{request.match_info['run']}")


async def run_retry(request: web.Request) -> web.Response:
    """The CLI's `retry DIR/failed.csv --out NEW`, or, from the fix screen's confirmation (`fixed`), of the run's
    draft as it was reviewed: both planned by the library's retry, so the line counts only the rows it sends."""
    state, earlier = _state(request), _run_folder(request)
    if state.connection is None:
        raise web.HTTPSeeOther(f"/connect?next=/runs/{earlier.id}")
    async with _acting_on(state, earlier.id):
        form = await request.post()
        _land_if_started(state, form, state.retrying.get(earlier.id))
        if earlier.record is None:
            return problem("This run's run.json is missing or can't be read: it can't be retried from the page.", back=f"/runs/{earlier.id}")
        unverified = bool(form.get(UNVERIFIED_CHECKBOX))
        if refusal := await _in_thread(wrong_account, earlier.path, state.connection, unverified):
            return problem(refusal, back=f"/runs/{earlier.id}")
        if retry := await _in_thread(_retried_by, state, earlier):
            return problem(f"This run was retried in the run /runs/{retry}: its rows left are that run's, fixed and retried from its page "
                           "(a second retry of this one would not see what that one set).", back=f"/runs/{earlier.id}")
        if not _retryable(state, earlier):  # under the run's lock: a Resume's click may have started it since the page
            return problem("This run has no failed rows to retry: it is going on, its Resume sends the rows left, or it is an undo "
                           "(undo it again instead).", back=f"/runs/{earlier.id}")
        fixed = "fixed" in form
        if fixed and (not form.get(CONFIRMED) or await _in_thread(fixing.is_stale, earlier.path, str(form["fixed"]))):
            raise web.HTTPSeeOther(f"/runs/{earlier.id}/fix/review")  # the fixes changed since they were reviewed: review them again
        choices = state.choices.get(earlier.id, SendChoices())
        report = earlier.path / (fixing.FIXED if fixed else FAILED)
        try:
            plan = await _retry_plan(state.connection, report, choices)
        except (InputError, FolderError) as exc:  # the report can't be read, or is not its run's
            return problem(f"Error: {exc}", back=f"/runs/{earlier.id}")
        if not form.get(CONFIRMED):  # the "About to update" screen first, as for a run
            return _confirm_action(earlier.id, "retry", plan.preview, state.connection, form, unverified=unverified)
        folder = state.workspace.new_run_folder()
        if fixed:  # the retry's own copy of the draft: its run.json names it, a later fix leaves it alone
            report = await _in_thread(fixing.freeze, earlier.path, folder.id)
        state.choices[folder.id] = choices
        state.retrying[earlier.id] = folder.id
        state.jobs.start(PageJob(folder.id, folder.path, "retry", report, choices.send_settings(state.connection), ReadOptions(),
                                 headline=plan.line, safety=choices.safety(), unverified_account=unverified))
        raise _landed(state, form, f"/runs/{folder.id}")


async def _retry_plan(connection: Connection, report: Path, choices: SendChoices) -> RetryPreview:
    return await _in_thread(functools.partial(retry_preview, report, connection.identity, connection.host, choices.limit,
                                              backup=choices.backup, canary=choices.canary))


# --- Fix and retry (fixing.py) --------------------------------------------------------


def _retryable(state: UiState, folder) -> bool:
    """A run or retry not going on whose next step is a retry of its failed.csv, as its page offers it: not one
    left to its Resume (its failed.csv lists the rows not sent, which the resume sends: both would write them), nor
    an undo (its rows are undone again, with its check of what changed since the run, never retried)."""
    record = folder.record
    if state.jobs.live(folder.id) or record is None or not _offered(folder.path / FAILED):
        return False
    return Step.RETRY in Ending.of(folder.summary, record, folder.path).steps


async def _fixable(state: UiState, folder) -> None:
    """Only a run the page offers to retry (`_retryable`), not retried yet (`_retried_by`)."""
    if not _retryable(state, folder) or await _in_thread(_retried_by, state, folder):
        raise web.HTTPSeeOther(f"/runs/{folder.id}")


async def fix_page(request: web.Request, error: str = "", status: int = 200) -> web.Response:
    state, folder = _state(request), _run_folder(request)
    await _fixable(state, folder)
    try:
        drafted = await _in_thread(fixing.digest, folder.path)  # before the read: a save between them makes this grid stale, not wrongly fresh
        draft = await _in_thread(fixing.load, folder.path)
    except (InputError, FolderError) as exc:
        return problem(f"Error: {exc}", back=f"/runs/{folder.id}")
    title = await _in_thread(run_title, folder.record, state.workspace.original_name)
    return render("fix.html", run=folder, title=title, columns=draft.columns, rows=draft.grid(), total=len(draft.lines),
                  edited=len(draft.edited()), multiline=fixing.multiline, error=error, status=status,
                  drafted_field=fixing.DRAFTED, drafted=drafted)


async def fix_save(request: web.Request) -> web.Response:
    """The grid's cells, each checked against the run (fixing.edits_from_form), into the run's draft; then the review."""
    state, folder = _state(request), _run_folder(request)
    await _fixable(state, folder)
    form = await request.post()
    async with _acting_on(state, folder.id):
        try:
            if await _in_thread(fixing.is_stale, folder.path, str(form.get(fixing.DRAFTED, ""))):
                return await fix_page(request, "The fixes were changed in another tab since this grid was shown: here they are now. "
                                               "Nothing of this form was saved; make its edits again.", status=409)
            draft = await _in_thread(fixing.load, folder.path)
            if form.get("action") == "drop":
                await _in_thread(fixing.drop, folder.path)
                raise web.HTTPSeeOther(f"/runs/{folder.id}/fix")
            draft.apply(fixing.edits_from_form(form.items(), draft))
            await _in_thread(fixing.save, folder.path, draft)
        except fixing.FixRefused as exc:
            return await fix_page(request, f"Error: {exc}", status=400)
        except FolderError as exc:
            return problem(f"Error: {exc}", back=f"/runs/{folder.id}/fix")
    raise web.HTTPSeeOther(f"/runs/{folder.id}/fix/review" if form.get("action") == "review" else f"/runs/{folder.id}/fix")


async def fix_upload(request: web.Request) -> web.Response:
    """A failed.xlsx (or failed.csv) fixed in a spreadsheet, into the same draft: streamed as any upload (its caps),
    read in a child process, each cell checked against the run, then shown in the grid."""
    state, folder = _state(request), _run_folder(request)
    await _fixable(state, folder)
    workspace = state.workspace
    part = await _sheet_part(request)
    if part is None or not part.filename:
        return await fix_page(request, "Choose the fixed failed.xlsx to upload.", status=400)
    if Path(part.filename).suffix.lower() not in (".xlsx", ".csv"):
        return await fix_page(request, f"{Path(part.filename).name}: upload the run's failed.xlsx (or failed.csv), fixed.", status=400)
    path = workspace.new_upload_path(part.filename)
    try:
        with workspace.receiving(path, request.content_length) as receipt:
            await _stream_to(part, path, receipt)
        async with _acting_on(state, folder.id):
            draft = await _in_thread(fixing.load, folder.path)
            columns, rows = await in_child(fixing.read_fixes, path, len(draft.lines))
            draft.apply(fixing.edits_from_upload(columns, rows, draft))
            await _in_thread(fixing.save, folder.path, draft)
    except UploadRefused as refused:
        return problem(str(refused), back=f"/runs/{folder.id}/fix", status=refused.status)
    except (InputError, FolderError) as exc:  # FixRefused too
        return await fix_page(request, f"Error: {exc}", status=400)
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    raise web.HTTPSeeOther(f"/runs/{folder.id}/fix")


async def fix_review(request: web.Request) -> web.Response:
    """Before the fixed rows are sent: the retry planned as the library plans it (its line, the edits, the rows refused
    as damaged with the reason, the rows sent), and a button that carries what was reviewed."""
    state, folder = _state(request), _run_folder(request)
    if state.connection is None:
        raise web.HTTPSeeOther(f"/connect?next=/runs/{folder.id}/fix/review")
    await _fixable(state, folder)
    try:
        async with _acting_on(state, folder.id):  # not over a save another tab makes meanwhile
            if not files.is_present(folder.path / fixing.FIXED):
                await _in_thread(lambda: fixing.save(folder.path, fixing.load(folder.path)))  # no edit: failed.csv as it is
        reviewed = await _in_thread(fixing.digest, folder.path)
        plan = await _retry_plan(state.connection, folder.path / fixing.FIXED, state.choices.get(folder.id, SendChoices()))
    except (InputError, FolderError) as exc:
        return await fix_page(request, f"Error: {exc}", status=400)
    title = await _in_thread(run_title, folder.record, state.workspace.original_name)
    return render("fix_review.html", run=folder, title=title, plan=plan, connection=state.connection, confirmed=CONFIRMED,
                  once_field=ONCE, once=secrets.token_urlsafe(12), reviewed=reviewed, checkbox=UNVERIFIED_CHECKBOX)


async def run_resume(request: web.Request) -> web.Response:
    state, folder = _state(request), _run_folder(request)
    if state.connection is None:
        raise web.HTTPSeeOther(f"/connect?next=/runs/{folder.id}")
    async with _acting_on(state, folder.id):
        if state.jobs.live(folder.id) or not folder.unfinished or folder.record is None:  # a second click: the resume going on
            raise web.HTTPSeeOther(f"/runs/{folder.id}")
        if retry := await _in_thread(_retried_by, state, folder):
            return problem(f"This run's failed rows, with those it did not send, were retried in the run /runs/{retry}: a resume would "
                           "send them again with the values this run read, over what the retry sent. Retry that run's failed rows "
                           "instead, from its page.", back=f"/runs/{folder.id}")
        unverified = await _unverified_account(request)
        if refusal := await _in_thread(wrong_account, folder.path, state.connection, unverified):
            return problem(refusal, back=f"/runs/{folder.id}")
        # The library resumes with the options run.json recorded (sheet, map, rate...): the CLI's `resume DIR`.
        send = SendChoices().send_settings(state.connection)  # only its keys are used
        state.jobs.start(PageJob(folder.id, folder.path, "resume", Path(folder.record.input), send, ReadOptions(), unverified_account=unverified))
        raise web.HTTPSeeOther(f"/runs/{folder.id}")


def _retried_by(state: UiState, folder) -> str:
    """The id of the retry that took over `folder`'s rows left ("" if none): the one this page started, while it goes on
    (it records itself in the run's folder only right before its first update), or the one the run's folder records
    (rundir/retries.py: the rule the CLI's resume and retry follow too)."""
    if (started := state.retrying.get(folder.id)) and state.jobs.live(started):
        return started
    try:
        retry = recorded_retry(folder.path)
    except InputError:  # its retries.jsonl can't be read: taken over by some retry, as far as anyone can tell
        return "?"
    return retry.folder.name if retry is not None else ""


async def run_verify(request: web.Request) -> web.Response:
    """The CLI's `verify DIR` on this run, in a thread; the run's page shows its counts when it ends."""
    state, folder = _state(request), _run_folder(request)
    if state.connection is None:
        raise web.HTTPSeeOther(f"/connect?next=/runs/{folder.id}")
    async with _acting_on(state, folder.id):
        form = await request.post()
        _land_if_started(state, form, None)
        if state.jobs.live(folder.id) or (folder.id in state.verifications and state.verifications[folder.id].live):
            raise web.HTTPSeeOther(f"/runs/{folder.id}")
        unverified = bool(form.get(UNVERIFIED_CHECKBOX))
        if refusal := await _in_thread(wrong_account, folder.path, state.connection, unverified):
            return problem(refusal, back=f"/runs/{folder.id}")
        try:
            send = await _in_thread(verify_send, folder.path, SendChoices().send_settings(state.connection))
        except (InputError, FolderError) as exc:  # the run's run.json can't be used
            return problem(f"Error: {exc}", back=f"/runs/{folder.id}")
        state.verifications[folder.id] = start_verification(Verification(folder.path, send, unverified_account=unverified))
        raise _landed(state, form, f"/runs/{folder.id}")


async def run_undo(request: web.Request) -> web.Response:
    """The CLI's `undo DIR --out UNDO_DIR` for a run made with backup: into a new run folder, shown like any run."""
    state, earlier = _state(request), _run_folder(request)
    if state.connection is None:
        raise web.HTTPSeeOther(f"/connect?next=/runs/{earlier.id}")
    async with _acting_on(state, earlier.id):
        form = await request.post()
        _land_if_started(state, form, state.undoing.get(earlier.id))
        if state.jobs.live(earlier.id) or not (earlier.path / UNDO_FILE).is_file():
            return problem("This run has no undo.csv to undo (it was not made with backup), or it is still running.", back=f"/runs/{earlier.id}")
        unverified = bool(form.get(UNVERIFIED_CHECKBOX))
        if refusal := await _in_thread(wrong_account, earlier.path, state.connection, unverified):
            return problem(refusal, back=f"/runs/{earlier.id}")
        force = bool(form.get("force"))
        choices = dataclasses.replace(state.choices.get(earlier.id, SendChoices()), backup=False)
        try:
            preview = await _in_thread(functools.partial(undo_preview, earlier.path, state.connection.identity, state.connection.host, choices.limit,
                                                         force=force, canary=choices.canary))
        except (InputError, FolderError) as exc:  # the run's files can't be used
            return problem(f"Error: {exc}", back=f"/runs/{earlier.id}")
        if not form.get(CONFIRMED):  # the "About to update" screen first, as for a run
            return _confirm_action(earlier.id, "undo", preview, state.connection, form, unverified=unverified, force=force)
        folder = state.workspace.new_run_folder()
        state.choices[folder.id] = choices
        state.undoing[earlier.id] = folder.id
        safety = {"keep_going": choices.keep_going, "stop_after_failures": choices.stop_after_failures, "force": force, "canary": choices.canary}
        state.jobs.start(PageJob(folder.id, folder.path, "undo", earlier.path, choices.send_settings(state.connection), ReadOptions(),
                             headline=preview.line, safety=safety, unverified_account=unverified))
        raise _landed(state, form, f"/runs/{folder.id}")


@contextlib.asynccontextmanager
async def _acting_on(state: UiState, run_id: str) -> AsyncIterator[None]:
    """Hold the run's lock from the first look at what is going on until the job started: the check and the
    start have `await`s between them, where a second click's request would otherwise pass the same check."""
    lock = state.acting.setdefault(run_id, asyncio.Lock())
    async with lock:
        yield


def _land_if_started(state: UiState, form, last_started: str | None) -> None:
    """The same form sent again lands where it did the first time; any form lands on the job still going."""
    landing = state.submitted.get(str(form.get(ONCE, "")))
    if landing is None and last_started is not None and state.jobs.live(last_started):
        landing = f"/runs/{last_started}"
    if landing is not None:
        raise web.HTTPSeeOther(landing)


def _landed(state: UiState, form, landing: str) -> web.HTTPSeeOther:
    if once := str(form.get(ONCE, "")):
        state.submitted[once] = landing
        while len(state.submitted) > ONCE_KEPT:
            state.submitted.pop(next(iter(state.submitted)))
    return web.HTTPSeeOther(landing)


# The form field a retry's or undo's confirmation screen sends with its button: without it, the screen is shown.
CONFIRMED = "confirmed"


def _confirm_action(run_id: str, action: str, preview: Preview, connection: Connection, form, *, unverified: bool,
                    force: bool = False) -> web.Response:
    """Before a retry or an undo sends anything: the run's line (rows, activities, account, user, host, rate), the
    account the keys belong to, and a button that posts the same choices again, confirmed. It carries the run
    page's `once` on: this screen started nothing, so the confirmed post is the form's first landing."""
    return render("confirm_action.html", run_id=run_id, action=action, line=preview.line, connection=connection,
                  unverified=unverified, force=force, checkbox=UNVERIFIED_CHECKBOX, confirmed=CONFIRMED,
                  once_field=ONCE, once=str(form.get(ONCE, "")) or secrets.token_urlsafe(12))


async def _unverified_account(request: web.Request) -> bool:
    """The checkbox beside the button: act even if the keys' account can't be compared with the run's (never recorded)."""
    return bool((await request.post()).get(UNVERIFIED_CHECKBOX))


def _offered(path: Path) -> bool:
    """A run's file the page offers: a regular file of the folder (files.py), never what a link or anything else stands in for."""
    try:
        return files.is_present(path)
    except FolderError:
        return False


async def run_file(request: web.Request) -> web.StreamResponse:
    """A run's file, read as every file of a run folder is (files.py: no link followed, nothing but a regular file)."""
    folder, name = _run_folder(request), request.match_info["name"]
    if name not in DOWNLOADS:
        raise web.HTTPNotFound(text="No such file in this run.")
    try:
        source = await _in_thread(files.open_read, folder.path / name, True)
    except FolderError:  # absent, or not a regular file
        raise web.HTTPNotFound(text="No such file in this run.") from None
    response = web.StreamResponse(headers={
        "Content-Type": mimetypes.guess_type(name)[0] or "application/octet-stream",
        "Content-Disposition": f'attachment; filename="{folder.id}-{name}"',
        "Cache-Control": "no-store",
    })
    try:
        await response.prepare(request)
        while chunk := await _in_thread(source.read, DOWNLOAD_CHUNK):
            await response.write(chunk)
    finally:
        source.close()
    await response.write_eof()
    return response


