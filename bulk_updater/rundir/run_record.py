"""DIR/run.json: which job a report folder holds and how far it got, so a later command
can resume it, or refuse to mix it with another job."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import json
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from .. import files
from .. import options as recorded_options
from ..account import Account
from ..errors import InputError

RUN_FILE = "run.json"
# The command of a dry run's folder: nothing was sent, so any later command may replace it.
DRY_RUN = "dry-run"
_HASH_CHUNK = 1 << 20


class RunState(str, enum.Enum):
    RUNNING = "running"  # a session is sending, or it crashed: resume finishes it
    STOPPED = "stopped"  # it stopped early (Ctrl-C, SIGTERM, 401, call budget): resume finishes it
    FINISHED = "finished"  # every row has its outcome: never resumed nor overwritten silently


@dataclass
class RunRecord:
    command: str  # "run" or "retry": the command that resumes it; DRY_RUN for a dry run's report
    input: str
    input_sha256: str
    state: RunState = RunState.RUNNING
    sessions: int = 1
    started_at: str = ""
    updated_at: str = ""
    # The options that shape the run, by class (docs/design.md, "Options a run records"): {"read": {...}, "send": {...}, "record": {...}}.
    # Keys are never recorded. See options.py for each option's class and what a resume does with it.
    options: dict[str, dict] = field(default_factory=dict)
    # The LeadSquared account the keys belong to, every identity UserByAccessKey.Get gave (OrgId,
    # OrgDisplayName, OrgShortCode, LSQCommonServiceURLs.api): never the keys themselves. A later
    # command on this run compares them with its keys' (account.py).
    org_id: str = ""
    org: str = ""
    org_code: str = ""
    org_api_host: str = ""
    # The send and record options this session changed from the last one: name -> [then, now].
    changed_on_resume: dict[str, list] = field(default_factory=dict)
    # A retry: the folder of the run whose report it retries (None if that report sat in no run folder).
    # A chain of retries leads back to the first run and its original cells (history/lineage.py).
    retry_of: str | None = None
    # The SchemaNames its --map named (a retry's and undo's: also those the runs behind it named). A column
    # that matches a field only when case is ignored is sent for these, refused for others (safety/confirm.py).
    named_columns: list[str] = field(default_factory=list)

    @classmethod
    def new(
        cls, command: str, input_path: Path, clear_token: str | None = None, options: dict[str, dict] | None = None, retry_of: str | None = None
    ) -> RunRecord:
        now = _now()
        options = options or {"read": {}, "send": {}, "record": {}}
        if clear_token is not None:
            options["read"]["clear_token"] = clear_token
        # Absolute, so that `resume DIR` finds the input from any folder.
        return cls(command, os.path.abspath(input_path), file_sha256(input_path), started_at=now, updated_at=now, options=options, retry_of=retry_of)

    @property
    def replaceable(self) -> bool:
        """A dry run's report records nothing that happened: a real run may start over in its folder."""
        return self.command == DRY_RUN

    @property
    def account(self) -> Account:
        return Account(self.org_id, self.org_code, self.org, self.org_api_host)

    @account.setter
    def account(self, account: Account) -> None:
        self.org_id, self.org_code, self.org, self.org_api_host = account.org_id, account.org_code, account.org, account.api_host

    @property
    def clear_token(self) -> str | None:
        return self.options.get("read", {}).get("clear_token")

    @classmethod
    def load(cls, folder: Path) -> RunRecord | None:
        path = folder / RUN_FILE
        text = files.read_text(path)  # refuses a symlink or a folder named run.json
        if text is None:
            return None
        try:
            data = json.loads(text)
            data["state"] = RunState(data["state"])
            if "clear_token" in data:  # run.json of an older bulk-updater: it was the only option recorded
                data.setdefault("options", {}).setdefault("read", {})["clear_token"] = data.pop("clear_token")
            _check_types(data)
            return cls(**data)
        except (ValueError, TypeError, KeyError, AttributeError):
            raise InputError(
                f"{RUN_FILE} can't be read",
                where=str(path),
                hint="Choose another --out folder, or add --restart to start over in this one.",
            ) from None

    def follow(self, earlier: RunRecord) -> None:
        """Make this record the next session of `earlier`."""
        self.started_at, self.sessions = earlier.started_at, earlier.sessions + 1
        self.account = self.account.filled_from(earlier.account)  # an answer that gives less never erases what was recorded
        self.changed_on_resume = recorded_options.changes(earlier.options, self.options)

    def save(self, folder: Path, state: RunState | None = None) -> None:
        """Write run.json atomically, so a kill never leaves half of it."""
        if state is not None:
            self.state = state
        self.updated_at = _now()
        data = dataclasses.asdict(self) | {"state": self.state.value}
        replace_atomically(folder / RUN_FILE, json.dumps(data, indent=2) + "\n")


def _check_types(data: dict) -> None:
    """A run.json edited by hand or by another tool: each field must hold its declared type (TypeError if not)."""
    hints = typing.get_type_hints(RunRecord)
    for name, value in data.items():
        if name not in hints:
            raise TypeError(name)
        declared = hints[name]
        choices = typing.get_args(declared) if isinstance(declared, types.UnionType) or typing.get_origin(declared) is typing.Union else (declared,)
        allowed = tuple(typing.get_origin(t) or t for t in choices)
        if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
            raise TypeError(name)
        if typing.get_origin(declared) is dict and typing.get_args(declared):  # options: {"read": {...}, ...}
            inner = typing.get_origin(typing.get_args(declared)[1]) or typing.get_args(declared)[1]
            if not all(isinstance(item, inner) for item in value.values()):
                raise TypeError(name)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def replace_atomically(path: Path, text: str, encoding: str = "utf-8") -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path` (see files.py).

    With encoding "utf-8-sig" a non-empty file starts with a BOM, as the report CSVs do.
    """
    files.replace_text(path, text, encoding)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def recorded_values(out_dir: str | Path) -> dict[str, object]:
    """The option values the run in `out_dir` recorded, by name; empty when it holds none."""
    earlier = RunRecord.load(Path(out_dir))
    return recorded_options.restore(earlier.options) if earlier is not None else {}
