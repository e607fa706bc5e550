"""The canary: the first update of a run, retry or undo goes alone, and its activity is read in full
before and after it.

LeadSquared does not say what an update does with the fields and the note it is not sent, nor
whether "" clears a field. If it blanks them, or ignores clears, every row would do the same and
still answer success. So the other rows wait, and are sent only if what the row did not set reads
back unchanged, what it set reads back equal (compare.py), and what it cleared reads back empty;
otherwise sending stops (stop reason `canary`). A row whose update fails checks nothing, so the
next row to send goes alone (at most MAX_TRIES rows). The reads go through the run's limiter;
with --backup, or undo's check, the send step's read serves as the read before.

A check decides only once it could have seen what it looks for: a field holding a value its row
did not set (an activity holding nothing else can't show blanking); a note its row did not set,
when some row leaves the note (`leaves_note`: LeadSquared may keep the fields it is not sent and
still empty the note, or the reverse); and, when some row clears (`needs_clear`), a clear of a
field that held a value (clearing an empty field can't show clears ignored). Until then the next
row goes alone and is checked too; past MAX_TRIES rows the run goes on and the summary says what
no check could see (`unseen`).

Why, and what a read that fails does: docs/design.md, "The canary".
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field

from ..calls import CallResult, Kind, LeadSquaredClient, RetryPolicy, WindowLimiter
from ..outcomes import Runner
from ..rows import NOTE, Row
from ..updates import Plan, UpdateRequest
from ..wording import counted
from .activity import Activity, read_activity, spelled, wrong_activity
from .compare import same_value

Send = Callable[[UpdateRequest], Awaitable[CallResult]]
READS = 2  # a read before and a read after each update checked
MAX_TRIES = 20  # rows sent alone before the canary gives up (the stop on systematic failure's first 20), or goes on unseen


def reads_needed(canary: bool, send_reads_first: bool) -> int:
    """The reads the check adds per row sent alone: 2, or 1 when the send step's own read serves as the read before."""
    return 0 if not canary else READS - 1 if send_reads_first else READS


@dataclass(frozen=True)
class Finding:
    """One thing the first update did that the run must not do on every activity."""

    field: str
    problem: str  # "blanked", "changed", "not set", "not cleared"
    before: object
    sent: str | None  # None: the row did not set this field
    after: object

    def sentence(self) -> str:
        before, after = _shown(self.before), _shown(self.after)
        if self.problem == "blanked":
            return (
                f"the update blanked {self.field}, which the row did not set (it held {before}): LeadSquared replaces the whole "
                "activity here, so every row would wipe the fields and note it does not set"
            )
        if self.problem == "changed":
            return f"the update changed {self.field}, which the row did not set: {before} before, {after} after"
        if self.problem == "not cleared":
            return (
                f"the update sent an empty {self.field} to clear it, but it still holds {after}: LeadSquared ignores empty "
                "values here, so every clear would report success and clear nothing"
            )
        return f"{self.field} was sent as {_shown(self.sent)} but reads back as {after}"


def _shown(value: object) -> str:
    text = spelled(value)
    return "empty" if text == "" else repr(text if text is not None else value)


def findings(request: UpdateRequest, before: Activity, after: Activity) -> list[Finding]:
    """What the update did beyond what `request` asked for, or short of it; [] when it did exactly that."""
    sent = _sent_values(request)
    found = []
    for name in [NOTE, *sorted(set(before.fields) | set(after.fields))]:
        was, now = before.value(name), after.value(name)
        if name in sent:
            value = sent[name]
            if value == "" and not same_value("", now):
                found.append(Finding(name, "not cleared", was, value, now))
            elif value != "" and not same_value(value, now):
                found.append(Finding(name, "not set", was, value, now))
        elif not same_value(was, now):
            found.append(Finding(name, "blanked" if same_value("", now) else "changed", was, None, now))
    return found


@dataclass
class Canary:
    """The first update's check. `send_alone` sends rows one at a time until a check decides;
    the runner's send goes through `__call__`, which notes the update that succeeded."""

    send: Send
    client: LeadSquaredClient
    limiter: WindowLimiter
    retry: RetryPolicy  # the run's: the reads follow the policy the updates do
    found: list[Finding] | None = None  # None until an update succeeded and was read back
    failure: str = ""  # why the check could not be made (a read that failed, not the row's fault)
    reads: int = 0
    checked: tuple[int, str] | None = None  # the (row, activity) whose update was checked
    reads_of_checked: tuple[Activity, Activity] | None = None  # its activity before and after, kept in canary.json
    # The read before, for the send step that would read the same activity again (--backup's snapshot, undo's
    # check); an entry lives only while its row is sent.
    before: dict[str, Activity] = field(default_factory=dict)
    # The send step reads the activity itself and judges a failed read (--backup's snapshot: BackupFailed).
    send_reads: bool = False
    needs_clear: bool = False  # some row clears a field or the note: a clear must be seen to empty one that held a value
    leaves_note: bool = True  # some row does not set the note: a note must be seen kept by an update that did not set it
    saw_field: bool = False  # a check saw a field hold a value its row did not set (so blanking fields would have shown)
    saw_note: bool = False  # a check saw a note its row did not set (so blanking the note would have shown)
    saw_clear: bool = False  # a check saw a clear empty a field that held a value (so ignored clears would have shown)
    checks: int = 0  # updates read back and checked
    unseen: str = ""  # what no check could see, when MAX_TRIES rows went alone and the run went on (said in the summary)
    _succeeded: UpdateRequest | None = None
    _refused: dict[str, CallResult] = field(default_factory=dict)

    @property
    def decided(self) -> bool:
        return self.found is not None or bool(self.failure)

    @property
    def passed(self) -> bool:
        return self.found == [] and not self.failure

    async def __call__(self, request: UpdateRequest) -> CallResult:
        if (refused := self._refused.pop(request.activity_id, None)) is not None:
            return refused  # its read before failed: the row is not sent, and says why
        result = await self.send(request)
        if result.kind is Kind.SUCCESS and not self.decided:
            self._succeeded = request
        return result

    async def send_alone(self, runner: Runner, planned: Iterator[tuple[Row, Plan]]) -> None:
        """Send rows one at a time until a check decides (see the module's docstring); stop the runner if the check failed."""
        tries = 0
        for row, plan in planned:
            if isinstance(plan, UpdateRequest) and runner.may_call():
                tries += 1
                if tries > MAX_TRIES and self.checks:
                    self._go_on_unseen()
                    await runner.run([(row, plan)])
                else:
                    await self._send_checked(runner, row, plan, tries)
            else:
                await runner.run([(row, plan)])  # recorded without a call: invalid, nothing to change, or not_sent after a stop
            if self.decided or runner.stopping:
                break
        if not self.decided and self.checks and not runner.stopping:
            self.found = []  # every update that succeeded was checked alone, and did just what it asked
        if self.decided and not self.passed:
            runner.stop()  # the rows left are recorded not_sent

    async def _send_checked(self, runner: Runner, row: Row, request: UpdateRequest, tries: int) -> None:
        if tries > MAX_TRIES:
            self.failure = f"none of the first {MAX_TRIES} rows sent alone succeeded, so no update could be checked"
        else:
            await self._read_before(runner, request)  # sets `failure` when no update can be checked
        if self.failure:
            runner.stop()  # this row is recorded not_sent, with the rows left
        self._succeeded = None
        await runner.run([(row, request)])
        before = self.before.pop(request.activity_id, None)
        if self._succeeded is not None and before is not None:
            await self._check(runner, request, before)

    async def _read_before(self, runner: Runner, request: UpdateRequest) -> None:
        """Read the activity before its update; set `failure` when reads can't be made at all."""
        answer, activity = await self._read(runner, request.activity_id)
        if runner.stopping:
            return  # the row is recorded not_sent
        if activity is not None and (wrong := wrong_activity(activity, request.activity_id)):
            self.failure = f"{wrong}, so no update could be checked"
        elif activity is not None:
            self.before[request.activity_id] = activity
        elif answer.kind not in (Kind.RETRYABLE, Kind.THROTTLED) and not answer.error_type.startswith("MX"):
            self.failure = f"reading activity {request.activity_id} before the first update failed ({_why(answer)}), so no update could be checked"
        elif not self.send_reads:
            # The row's own fault (no such activity), or a server that did not answer after every retry:
            # the row fails as a --backup snapshot's would, and the next row is checked.
            message = f"reading the activity before the update failed: {answer.error_message}"
            self._refused[request.activity_id] = CallResult(Kind.PERMANENT, answer.http_status, answer.error_type, message)

    async def _check(self, runner: Runner, request: UpdateRequest, before: Activity) -> None:
        answer, after = await self._read(runner, request.activity_id)
        if runner.stopping:
            return  # a stop during the read: the update stays unchecked, and the run stops for its own reason
        self.checked = (request.row, request.activity_id)
        if after is not None and (wrong := wrong_activity(after, request.activity_id)):
            self.failure = f"{wrong}, so the first update was not checked"
            return
        if after is None:
            self.failure = f"activity {request.activity_id} could not be read back after the first update ({_why(answer)}), so the update was not checked"
            return
        self.reads_of_checked = (before, after)
        self.checks += 1
        found = findings(request, before, after)
        self.saw_field |= _held_unset(request, before, before.fields)
        self.saw_note |= _held_unset(request, before, [NOTE])
        self.saw_clear |= _cleared_held(request, before)
        if found or not self._missed():
            self.found = found  # otherwise this update could not show what the check looks for: the next row goes alone too

    def _missed(self) -> list[str]:
        """What no check so far could have shown LeadSquared does; [] once every check needed was possible."""
        missed = [] if self.saw_field else ["blanks the fields an update does not set (none of their activities held one)"]
        if self.leaves_note and not self.saw_note:
            missed.append("empties the note when an update does not set it (none held one its row left)")
        if self.needs_clear and not self.saw_clear:
            missed.append("ignores clears (none cleared a field that held a value)")
        return missed

    def _go_on_unseen(self) -> None:
        """MAX_TRIES rows went alone, every check passed, none could show all: the rows go on, and the summary says what was not seen."""
        self.unseen = f"none of the {counted(self.checks, 'update')} checked alone could show whether LeadSquared " + ", or ".join(self._missed())
        self.found = []

    async def _read(self, runner: Runner, activity_id: str) -> tuple[CallResult, Activity | None]:
        """Read with the run's retries; a stop (Ctrl-C) ends the wait at once, as it does the runner's."""
        self.reads += 1
        answers: list[tuple[CallResult, Activity | None]] = []

        async def reading() -> None:
            answers.append(await read_activity(self.client, self.limiter, activity_id, self.retry))

        if await runner.unless_stopping(reading()):
            return answers[0]
        return CallResult(Kind.RETRYABLE, None, "Stopped", "the run stopped before the read answered"), None


def _sent_values(request: UpdateRequest) -> dict[str, str]:
    return dict(request.fields) | ({NOTE: request.note} if request.note is not None else {})


def _held_unset(request: UpdateRequest, before: Activity, names: Iterable[str]) -> bool:
    """Whether one of `names` held a value the row did not set: an update that blanks what it is not sent would show."""
    sent = _sent_values(request)
    return any(not same_value("", before.value(name)) for name in names if name not in sent)


def _cleared_held(request: UpdateRequest, before: Activity) -> bool:
    """Whether the row cleared a field (or the note) that held a value: a server that ignores clears would show."""
    return any(value == "" and not same_value("", before.value(name)) for name, value in _sent_values(request).items())


def _why(answer: CallResult) -> str:
    status = f"{answer.http_status} " if answer.http_status else ""
    return f"{status}{answer.error_type}: {answer.error_message}".strip()


CANARY_FILE = "canary.json"


def reads_record(canary: Canary) -> str | None:
    """canary.json: the checked activity's note and every field before and after its update, as an update
    would send them back; with it an admin can put back by hand what the first update wiped. None: no check."""
    if canary.checked is None or canary.reads_of_checked is None:
        return None
    before, after = canary.reads_of_checked
    names = [NOTE, *sorted(set(before.fields) | set(after.fields))]
    values = {name: {"before": _as_sent(before.value(name)), "after": _as_sent(after.value(name))} for name in names}
    # ensure_ascii: a lone surrogate a server sent (no UTF-8 file can hold one) is kept escaped, not a crash.
    return json.dumps({**report(canary), "values": values}, indent=2) + "\n"


def _as_sent(value: object) -> object:
    text = spelled(value)
    return text if text is not None else value  # an object kept as read


def report(canary: Canary) -> dict:
    """What the canary found, for summary.json (and the summary's line)."""
    row, activity = canary.checked or (None, None)
    return {
        "passed": canary.passed, "row": row, "activity": activity, "reads": canary.reads,
        "failure": canary.failure, "found": [finding.sentence() for finding in canary.found or []], "checks": canary.checks,
        **({"unseen": canary.unseen} if canary.unseen else {}),
    }
