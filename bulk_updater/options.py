"""The options a run records in run.json, by class, and the rules a later command follows.

The registry, OPTIONS, is not written here: it is collected from the fields that declare an
option (option_spec.option) in the three settings dataclasses a job is made of:

    rows.ReadOptions        how the sheet is read (--sheet, --map, --timezone...)
    RunOptions (below)      what the job itself does (--clear-token, --max-calls, --backup...)
    settings.SendSettings   how the calls are made (--rate, --concurrency, the host...)

Each option has one class (option_spec.py says what a later command does with each; docs/design.md, "Options a run records"):

    read    changes what is read from the sheet: a later command giving another value is refused
    send    changes how the calls are made: a value given again is applied, and noted in summary.json
    record  changes what the run writes or when it stops: reused; a command that would drop it is refused

An option not given to a resume takes the recorded value. Keys are never recorded.

To add an option, add one field to the dataclass that uses it, made by `option(...)` with its
class, flag and help. The CLI's flag, the run.json entry, the resume rules, the library's check
of its value and the docs' option tables (`make docs`) follow from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .credentials import Credentials
from .errors import InputError
from .option_spec import (
    CLASSES,
    NO_DEFAULT,
    READ,
    READING,
    RECORD,
    RESUMING,
    SAFETY,
    SECONDS,
    SEND,
    SENDING,
    WHOLE,
    Option,
    Value,
    option,
    options_of,
    refusals,
    whole,
)
from .rows.reader import ReadOptions
from .settings import CLEAR_TOKEN, STREAK, SendSettings

# Seconds the calls in flight get to finish after a first Ctrl-C or SIGTERM.
STOP_WAIT = 10.0


class _Lifted:
    def __repr__(self) -> str:
        return "NO_BUDGET"


# `--max-calls none`: lift the budget the run being resumed recorded (a value no library caller can give by accident).
NO_BUDGET: Any = _Lifted()


def _budget_text(text: str) -> Any:
    return NO_BUDGET if text.strip().lower() == "none" else WHOLE.convert(text)


BUDGET = Value("a whole number of 1 or more", _budget_text, lambda value: value is None or value is NO_BUDGET or whole(value))


@dataclass(frozen=True)
class RunOptions:
    """What a job does that run.json records, beside how it reads the sheet (`read`) and how it sends (SendSettings).

    Frozen: a resume rebuilds it from run.json. The library's JobOptions adds what is not
    recorded: the caller's hooks and this command's own choices.
    """

    clear_token: str = option(READ, "--clear-token", "a cell holding this clears the field", default=CLEAR_TOKEN, metavar="TEXT", group=READING)
    # A budget for each command, not for the whole run: a resume spends it again.
    max_calls: int | None = option(
        SEND, "--max-calls", "stop sending after N calls in this command (daily quotas); the rows left are not_sent, and a "
        "resume (tomorrow) sends them with the same budget unless given again: `none` lifts it", default=None, value=BUDGET, metavar="N", group=SENDING,
        commands=("run", "retry", "resume", "undo"),  # not verify: its reads are not the run's calls
    )
    stop_wait: float = option(
        SEND, "--stop-wait", "after a first Ctrl-C or SIGTERM, seconds the calls in flight get to finish", default=STOP_WAIT, value=SECONDS,
        metavar="S", group=RESUMING,
    )
    # retry: send rows whose cells look changed by a spreadsheet (leading zeros, 1.23457E+19...) as they are.
    accept_spreadsheet_changes: bool = option(
        SEND, "--accept-spreadsheet-changes", "retry: send rows whose cells look changed by a spreadsheet (007 -> 7, 1.23457E+19, MÃ¼ller, ?) "
        "as they are, instead of marking them invalid", default=False, group=READING, commands=("retry", "resume"),
    )
    # The safety net (safety/): the backup, and the stop on systematic failure.
    backup: bool = option(
        RECORD, "--backup", "read each activity before updating it and keep the old values (DIR/undo-record.jsonl, copy DIR/undo.csv), "
        "for `undo` (2 calls per row)", default=False, group=SAFETY, commands=("run", "retry"),  # resume keeps the run's; undo never backs up
    )
    keep_going: bool = option(RECORD, "--keep-going", "don't stop when every row sent fails the same way", default=False, group=SAFETY)
    # The first update goes alone, read before and after (safety/canary.py).
    canary: bool = option(
        SEND, "--no-canary", "don't send the first update alone and read its activity before and after (2 reads) before the other rows",
        default=True, negated=True, group=SAFETY,
    )
    stop_after_failures: int = option(
        RECORD, "--stop-after-failures", "stop after N rows in a row failed for their data; the first 20 rows all failing the same way also stop",
        default=STREAK, value=WHOLE, metavar="N", group=SAFETY,
    )
    read: ReadOptions = ReadOptions()

    def __post_init__(self) -> None:
        # The CLI and the page check these too, with the same rules; a library caller gets the same refusal, before anything is read.
        problems = refusals(self)
        if problems:
            raise InputError(problems[0])


OPTIONS: tuple[Option, ...] = (*options_of(ReadOptions), *options_of(SendSettings), *options_of(RunOptions))
BY_NAME = {option.name: option for option in OPTIONS}
DEFAULTS: dict[str, Any] = {option.name: option.default for option in OPTIONS if option.default is not NO_DEFAULT}  # the host has none
MAP_HASH = "map_sha256"  # recorded under read beside map_path: a map edited between sessions reads differently
# What verify takes from the run it reads back (a flag given wins): how to reach its account and how fast. It reads no sheet.
VERIFY_TAKES = tuple(option.name for option in OPTIONS if option.holder is SendSettings)


def recorded(values: Mapping[str, Any], map_sha256: str | None) -> dict[str, dict]:
    """The options as run.json keeps them, by class; `values` maps option names to their values."""
    out: dict[str, dict] = {kind: {} for kind in CLASSES}
    for declared in OPTIONS:
        out[declared.kind][declared.name] = declared.dump(values[declared.name])
    out[READ][MAP_HASH] = map_sha256
    return out


def values_of(*holders: Any) -> dict[str, Any]:
    """Each option's value, by name, from the settings objects that hold them (a ReadOptions, a RunOptions, a SendSettings)."""
    return {declared.name: getattr(held, declared.name) for declared in OPTIONS for held in holders if isinstance(held, declared.holder)}  # type: ignore[arg-type]


def of_holder(values: Mapping[str, Any], holder: type) -> dict[str, Any]:
    """The values that go into one settings dataclass, as keyword arguments."""
    return {declared.name: values[declared.name] for declared in OPTIONS if issubclass(holder, declared.holder) and declared.name in values}  # type: ignore[arg-type]


def with_defaults(values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` with each option left out at its default; refused without a host, which has none."""
    values = DEFAULTS | dict(values)
    if "host" not in values:
        raise InputError("no LeadSquared host is set", hint="Give the host, e.g. https://api-in21.leadsquared.com.")
    return values


def send_settings(values: Mapping[str, Any], credentials: Credentials) -> SendSettings:
    """How the calls are made, from option values by name (`with_defaults`'s)."""
    return SendSettings(credentials=credentials, **of_holder(values, SendSettings))


def for_verify(recorded_values: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """The values verify reads with: those `given`, else the run's (its host and pace); nothing it does not take."""
    return {name: value for name, value in (dict(recorded_values) | dict(given)).items() if name in VERIFY_TAKES}


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


def resolve(earlier: Mapping[str, dict], given: Mapping[str, Any], defaults: Mapping[str, Any] = DEFAULTS) -> dict[str, Any]:
    """The values a resume runs with: each option given, else the recorded value, else its default."""
    unknown = set(given) - set(BY_NAME)
    if unknown:
        raise ValueError(f"not an option a run records: {', '.join(sorted(unknown))}")
    return dict(defaults) | restore(earlier) | dict(given)


def flag_of(name: str) -> str:
    """How the command line spells what run.json records under `name`: an option's flag, or, for a value recorded
    beside the options (undo's force, safety/recorded_extras.py), the flag its name would be."""
    return BY_NAME[name].flag if name in BY_NAME else "--" + name.replace("_", "-")


def _read_problem(name: str, then: Any, now: Any) -> str:
    if then == now or (name in BY_NAME and not BY_NAME[name].compared):
        return ""
    if name == MAP_HASH:
        return f"the --map file's content changed (SHA-256 {_short(then)} then, {_short(now)} now)"
    return f"{flag_of(name)} was {_shown(then)}, this command gives {_shown(now)}"


def _dropped(name: str, then: Any, now: Any) -> str:
    if not then or now:
        return ""
    return f"{flag_of(name)} was {_shown(then)}, this command drops it"


def _shown(value: Any) -> str:
    return "not given" if value is None else repr(value)


def _short(digest: str | None) -> str:
    return digest[:12] + "..." if digest else "no file"
