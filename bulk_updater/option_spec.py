"""How an option is declared: a settings dataclass's field whose metadata says all there is to say about it.

    concurrency: int = option(SEND, "--concurrency", "calls in flight at once", default=25, value=WHOLE, metavar="N", group=SENDING)

options.py collects every field so declared into the registry (options.OPTIONS). From that one
declaration the CLI adds the flag and reads its text, the web page reads and checks its form
field, a library caller's value is checked, run.json records the value in its class, and the
the docs' option tables and docs/cli.md show the help (cli_reference.py).

The classes (what a later command on the same run folder does with the option):

    read    changes what is read from the sheet: a later command giving another value is refused
    send    changes how the calls are made: a value given again is applied, and noted in summary.json
    record  changes what the run writes or when it stops: reused; a command that would drop it is refused

This module imports nothing of the package, so that every layer can declare options.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

READ, SEND, RECORD = "read", "send", "record"
CLASSES = (READ, SEND, RECORD)

# The CLI's groups of flags (argparse argument groups); "" is the command's own options.
READING, CONNECTION, SENDING, RESUMING, SAFETY, COMMAND = "reading the sheet", "connection", "sending", "stopping and resuming", "safety net", ""
READING_BACK = "reading back"  # verify's title for the sending options: they pace its reads

_METADATA_KEY = "bulk_updater.option"


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()  # an option whose field has no default (the host)


def _same(value: Any) -> Any:
    return value


def _anything(value: Any) -> bool:
    return True


@dataclass(frozen=True)
class Value:
    """A kind of option value: how a flag's or a form field's text becomes one, and which values a library caller may give."""

    wanted: str  # what a refusal says the value must be: "'0' is not a whole number of 1 or more"
    convert: Callable[[str], Any]  # text -> value; ValueError when the text is no such value
    accepts: Callable[[Any], bool] = _anything  # a value (converted, or a library caller's) that may be used
    typed: str = ""  # what a library caller must give, when not what `wanted` says of text ("a Rate", not "N/S")

    def parse(self, text: str) -> Any:
        """The value `text` stands for; ValueError("'TEXT' is not WANTED") when it stands for none."""
        try:
            value = self.convert(text)
        except ValueError:
            raise ValueError(f"{text!r} is not {self.wanted}") from None
        if not self.accepts(value):
            raise ValueError(f"{text!r} is not {self.wanted}")
        return value


def _real(value: object) -> bool:
    """A number, not a bool, not NaN (NaN passes no comparison, so no check would refuse it)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


def whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _whole_text(text: str) -> int:
    if not (text.isascii() and text.isdigit()):  # no sign, no decimal point, no other script's digits
        raise ValueError(text)
    return int(text)


TEXT = Value("text", str, lambda value: value is None or isinstance(value, str))
FLAG = Value("true or false", lambda text: {"true": True, "false": False}[text.lower()], lambda value: isinstance(value, bool))
WHOLE = Value("a whole number of 1 or more", _whole_text, whole)
# Seconds: a wait may be endless (inf: never give up); a timeout or a jitter is a finite number.
SECONDS = Value("a number of seconds above 0", float, lambda value: _real(value) and value > 0)
FINITE_SECONDS = Value("a number of seconds above 0", float, lambda value: _real(value) and math.isfinite(value) and value > 0)
FINITE_SECONDS_OR_ZERO = Value("a number of seconds, 0 or more", float, lambda value: _real(value) and math.isfinite(value) and value >= 0)
PERCENT = Value("a percent from 0 to 99", float, lambda value: _real(value) and 0 <= value < 100)


@dataclass(frozen=True)
class Option:
    """One option a run records, as the field that holds it declares it."""

    kind: str  # READ, SEND or RECORD
    flag: str  # as the command line spells it: for the CLI, and for messages
    help: str  # one line, for --help, the docs' option tables and docs/cli.md (the default is added to it)
    value: Value = TEXT
    metavar: str | None = None
    # The default as the help shows it: None: the default's own text (none for a flag, None or no default); "": none shown.
    shown: str | None = None
    negated: bool = False  # the flag turns the option off: --no-canary gives canary=False
    # The CLI's group of flags it goes in (READING...); None: the CLI adds it by hand, as other flags stand for it too (--plan, --region).
    group: str | None = COMMAND
    commands: tuple[str, ...] = ()  # the only commands whose group takes it (--backup: not resume, not undo); empty: every one
    also: tuple[str, ...] = ()  # the other flags that give it, for the docs (--plan and --headroom give the rate)
    dump: Callable[[Any], Any] = _same  # value -> JSON, for run.json
    load: Callable[[Any], Any] = _same  # JSON -> value
    compared: bool = True  # False: recorded, never compared (the map's path: its content's hash is compared)
    # Filled in by options.py from the field itself:
    name: str = ""  # the field's name, and its key in run.json
    holder: type | None = None  # the dataclass whose field it is
    default: Any = NO_DEFAULT

    @property
    def dest(self) -> str:
        """The argparse attribute that holds the flag's value."""
        return self.flag.removeprefix("--").replace("-", "_")

    @property
    def default_text(self) -> str:
        """The default as --help and the docs show it; "" for none."""
        if self.shown is not None:
            return self.shown
        if self.default is NO_DEFAULT or self.default is None or isinstance(self.default, bool):
            return ""
        return f"{self.default:g}" if isinstance(self.default, float) else str(self.default)

    @property
    def cli_help(self) -> str:
        return f"{self.help} (default: {self.default_text})" if self.default_text else self.help

    def takes(self, command: str) -> bool:
        return not self.commands or command in self.commands

    def check(self, value: Any, where: str) -> str:
        """Why a library caller's `value` can't be used ("" when it can)."""
        return "" if self.value.accepts(value) else f"{where} {self.name}={value!r} is not {self.value.typed or self.value.wanted}"


def option(kind: str, flag: str, help: str, *, default: Any, **more: Any) -> Any:
    """A dataclass field that is an option: its class, flag, help and default, and what `Option` takes besides."""
    more.setdefault("value", FLAG if isinstance(default, bool) else TEXT)
    return dataclasses.field(default=default, metadata=metadata(kind, flag, help, **more))


def metadata(kind: str, flag: str, help: str, **more: Any) -> dict[str, Option]:
    """The metadata that makes a field an option, for a field with no default: `host: str = field(metadata=metadata(...))`."""
    return {_METADATA_KEY: Option(kind, flag, help, **more)}


def options_of(holder: type) -> list[Option]:
    """The options `holder`'s fields declare, in field order, each knowing its name, holder and default."""
    return [
        dataclasses.replace(
            field.metadata[_METADATA_KEY], name=field.name, holder=holder, default=NO_DEFAULT if field.default is dataclasses.MISSING else field.default
        )
        for field in dataclasses.fields(holder)
        if _METADATA_KEY in field.metadata
    ]


def refusals(instance: Any) -> list[str]:
    """Why the option values of a settings dataclass can't be used (empty when they can): what a library caller gets refused."""
    where = type(instance).__name__
    return [problem for declared in options_of(type(instance)) if (problem := declared.check(getattr(instance, declared.name), where))]
