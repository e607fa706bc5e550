"""The options a run records in run.json, by class, and the rules a later command follows.

Every option that changes what is read, what is sent, how fast, or what is recorded has
one entry in OPTIONS, with its class (docs/design.md, "Options a run records"):

    read    changes what is read from the sheet: a later command giving another value is refused
    send    changes how the calls are made: a value given again is applied, and noted in summary.json
    record  changes what the run writes or when it stops: reused; a command that would drop it is refused

An option not given to a resume takes the recorded value. Keys are never recorded.

An option's entry here names the field of ReadOptions, JobOptions or SendSettings that holds it,
its class, its flag (for messages) and that holder, e.g.

    Option("backup", RECORD, "--backup", JOB),

plus `dump`/`load` when its value is not plain JSON (see "rate"). Its flag is added in cli.py,
and its field in ui/options.py when the page offers it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError
from .settings import Rate

READ, SEND, RECORD = "read", "send", "record"
CLASSES = (READ, SEND, RECORD)
# The settings object that holds an option: rows.ReadOptions, job.JobOptions or settings.SendSettings.
READING, JOB, SENDING = "reading", "job", "sending"


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Option:
    name: str  # the field of its holder, and its key in run.json
    kind: str  # READ, SEND or RECORD
    flag: str  # as the command line spells it, for messages
    holder: str  # READING, JOB or SENDING
    dump: Callable[[Any], Any] = _same  # value -> JSON
    load: Callable[[Any], Any] = _same  # JSON -> value
    # False for a value that is recorded but never compared (the map's path: its content's hash is compared).
    compared: bool = True


def _dump_rate(rate: Rate) -> str:
    return str(rate)


def _load_rate(text: str) -> Rate:
    calls, period = text.split("/")
    return Rate(int(calls), float(period))


def _absolute(path: str | Path | None) -> str | None:
    # Absolute, so that `resume DIR` finds the file from any folder.
    return os.path.abspath(path) if path is not None else None


OPTIONS: tuple[Option, ...] = (
    # read: what is read from the sheet
    Option("sheet", READ, "--sheet", READING),
    Option("map_path", READ, "--map", READING, dump=_absolute, compared=False),  # its content: map_sha256 below
    Option("timezone", READ, "--timezone", READING),
    Option("encoding", READ, "--encoding", READING),
    Option("delimiter", READ, "--delimiter", READING),
    Option("clear_token", READ, "--clear-token", JOB),
    # send: how the calls are made
    Option("rate", SEND, "--rate", SENDING, dump=_dump_rate, load=_load_rate),  # after --plan and --headroom
    Option("host", SEND, "--host", SENDING),  # resolved from --region, --host or LSQ_HOST; never the keys
    Option("check_region", SEND, "--no-region-check", SENDING),
    Option("concurrency", SEND, "--concurrency", SENDING),
    Option("max_attempts", SEND, "--max-attempts", SENDING),
    Option("timeout", SEND, "--timeout", SENDING),
    Option("jitter", SEND, "--jitter", SENDING),
    Option("max_calls", SEND, "--max-calls", JOB),  # a budget for each command, not for the whole run
    Option("stop_wait", SEND, "--stop-wait", JOB),
    Option("throttle_timeout", SEND, "--throttle-timeout", SENDING),
    Option("canary", SEND, "--no-canary", JOB),  # the first update alone, read before and after (safety/canary.py)
    Option("accept_spreadsheet_changes", SEND, "--accept-spreadsheet-changes", JOB),  # retry: send cells a spreadsheet changed
    # record: what the run writes, when it stops (the safety net; safety/options.py adds the undo clear token)
    Option("backup", RECORD, "--backup", JOB),
    Option("keep_going", RECORD, "--keep-going", JOB),
    Option("stop_after_failures", RECORD, "--stop-after-failures", JOB),
)
BY_NAME = {option.name: option for option in OPTIONS}
MAP_HASH = "map_sha256"  # recorded under read beside map_path: a map edited between sessions reads differently


def recorded(values: Mapping[str, Any], map_sha256: str | None) -> dict[str, dict]:
    """The options as run.json keeps them, by class; `values` maps option names to their values."""
    out: dict[str, dict] = {kind: {} for kind in CLASSES}
    for option in OPTIONS:
        out[option.kind][option.name] = option.dump(values[option.name])
    out[READ][MAP_HASH] = map_sha256
    return out


def complete(options: Mapping[str, dict]) -> bool:
    """Whether a run.json holds what a resume needs (an older bulk-updater recorded only --clear-token)."""
    return "host" in options.get(SEND, {})


def restore(options: Mapping[str, dict]) -> dict[str, Any]:
    """The values an earlier session recorded, by option name (old records may lack some)."""
    flat = {name: value for kind in CLASSES for name, value in options.get(kind, {}).items()}
    return {name: BY_NAME[name].load(value) for name, value in flat.items() if name in BY_NAME}


def refuse_mismatch(out_dir: Path, earlier: Mapping[str, dict], now: Mapping[str, dict]) -> None:
    """Refuse a command whose read options differ from the run it would resume, or that drops a record option."""
    problems = [_read_problem(name, then, now.get(READ, {}).get(name)) for name, then in earlier.get(READ, {}).items()]
    problems += [_dropped(name, then, now.get(RECORD, {}).get(name)) for name, then in earlier.get(RECORD, {}).items()]
    problems = [problem for problem in problems if problem]
    if problems:
        raise InputError(
            f"the unfinished run in {out_dir} was started with other options: " + "; ".join(problems),
            hint=f"Resuming would read or record the sheet differently. Finish it with: bulk-updater resume {out_dir} "
            f"(it takes the recorded options), or choose another --out folder, or add --restart to start over in {out_dir}.",
        )


def changes(earlier: Mapping[str, dict], now: Mapping[str, dict]) -> dict[str, list]:
    """Send and record options this session changed: name -> [recorded value, new value], as JSON."""
    return {
        name: [then, now[kind].get(name)]
        for kind in (SEND, RECORD)
        for name, then in earlier.get(kind, {}).items()
        if name in now.get(kind, {}) and now[kind][name] != then
    }


def resolve(earlier: Mapping[str, dict], given: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The values a resume runs with: each option given, else the recorded value, else its default."""
    unknown = set(given) - set(BY_NAME)
    if unknown:
        raise ValueError(f"not an option a run records: {', '.join(sorted(unknown))}")
    return dict(defaults) | restore(earlier) | dict(given)


def defaults_of(holders: Mapping[str, type]) -> dict[str, Any]:
    """Each option's default, from the dataclass that holds it (the host has none)."""
    fields = {holder: {f.name: f.default for f in dataclasses.fields(cls)} for holder, cls in holders.items()}
    values = {option.name: fields[option.holder][option.name] for option in OPTIONS}
    return {name: value for name, value in values.items() if value is not dataclasses.MISSING}


def of_holder(values: Mapping[str, Any], holder: str) -> dict[str, Any]:
    """The values that go into one settings object, as keyword arguments."""
    return {option.name: values[option.name] for option in OPTIONS if option.holder == holder and option.name in values}


def _read_problem(name: str, then: Any, now: Any) -> str:
    if then == now or (name in BY_NAME and not BY_NAME[name].compared):
        return ""
    if name == MAP_HASH:
        return f"the --map file's content changed (SHA-256 {_short(then)} then, {_short(now)} now)"
    flag = BY_NAME[name].flag if name in BY_NAME else name
    return f"{flag} was {_shown(then)}, this command gives {_shown(now)}"


def _dropped(name: str, then: Any, now: Any) -> str:
    if not then or now:
        return ""
    flag = BY_NAME[name].flag if name in BY_NAME else name
    return f"{flag} was {_shown(then)}, this command drops it"


def _shown(value: Any) -> str:
    return "not given" if value is None else repr(value)


def _short(digest: str | None) -> str:
    return digest[:12] + "..." if digest else "no file"
