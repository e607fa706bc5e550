"""The library's wording of the tool's messages: its parameters, not the CLI's flags, and no internal file.

The messages are written once, for the command line (`add --restart`, `bulk-updater resume DIR`),
which is what the CLI and the page show. A library caller (the public functions of `bulk_updater`)
gets each error raised to it in its own words: a flag becomes the parameter it stands for, as the
option registry (options.OPTIONS: each option's flag and field) says, so there is one source for
both: `add --restart` becomes `add restart=True`, `another --out folder` becomes `another out_dir`,
`bulk-updater resume DIR` becomes `bulk_updater.resume('DIR', credentials)`. The CSV the library
spools a DataFrame or a list of records to, in the run folder, is named as what the caller gave.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable
from typing import Any, TypeVar

from . import options as registry
from .errors import BulkUpdaterError, FolderError, InputError, said
from .hosts import REGIONS
from .option_spec import FLAG, Option
from .rows.records import SPOOL_PREFIX
from .settings import PLAN_CALLS

F = TypeVar("F", bound=Callable[..., Any])

# JobOptions' fields that are no recorded option, by the flag that gives them on the command line.
NOT_RECORDED = {"--restart": "restart", "--force": "force", "--unverified-account": "unverified_account"}
# Flags that stand for a library call's argument rather than a field.
ARGUMENTS = {
    "--out": "out_dir", "--env-file": "environment(PATH)", "--region": "host_url(region=...)", "--plan": "Rate.resolve(plan=...)",
    "--headroom": "Rate.resolve(..., headroom=...)",
}  # fmt: skip
# Each command the messages suggest, as the library call that does it (SOURCE and OUT filled in).
CALLS = {
    "run": "bulk_updater.run({source}, {out}, send)",
    "retry": "bulk_updater.retry({source}, {out}, send)",
    "undo": "bulk_updater.undo({source}, {out}, send)",
    "resume": "bulk_updater.resume({source}, credentials)",
    "verify": "bulk_updater.verify({source}, send)",
    "check": "bulk_updater.check({source})",
    "whoami": "bulk_updater.whoami(send)",
}
# Words that follow a flag in a sentence ("--timezone was not given"), never its value.
_NOT_VALUES = frozenset(
    "a an and are as beside budget can did file folder gives give given included is it its name named or restores run skips snapshot the to "
    "turns was were would alone".split()
)
_WORD = r"""'[^']*'|"[^"]*"|[^\s'"]+"""
_COMMAND = re.compile(rf"bulk-updater (?P<command>{'|'.join(CALLS)})\b")
_NEXT = re.compile(rf" (?P<word>{_WORD})")
# A flag stands after a space or a bracket: one after a path's separator is in a folder's name (/data/--backup/).
_FLAG = re.compile(rf"(?<![\w/\\-])--(?P<name>[a-z][a-z0-9-]*)(?: (?P<value>{_WORD}))?")
_SPOOLED = re.compile(rf"\S*{re.escape(SPOOL_PREFIX)}(?:[0-9a-f]{{16}}|spooling)\.csv")
# A quoted value or name: quotes not inside a word (the run's rows are no quote).
_QUOTED = re.compile(r"""(?<!\w)(?:'[^'\n]*'|"[^"\n]*")(?!\w)""")
_TRAILING = ".,;:)"
_CHOICES = frozenset([*REGIONS, *PLAN_CALLS, "none"])


def library_text(text: str) -> str:
    """`text`, written for the command line, in the library's words. What a message quotes ('a cell', "a sheet")
    is the user's and stays as written, whatever it holds (a value '--restart' is no flag); a quoted word may
    still be a flag's value (--clear-token '#REF!')."""
    text = _unspooled(text)
    quoted = [found.span() for found in _QUOTED.finditer(text)]

    def users(at: int) -> bool:
        return any(start <= at < end for start, end in quoted)

    out, position = [], 0
    for found in _COMMAND.finditer(text):
        if found.start() < position or users(found.start()):
            continue
        out.append(_flags(text, position, found.start(), users))
        call, position = _call(found["command"], text, found.end())
        out.append(call)
    out.append(_flags(text, position, len(text), users))
    return "".join(out)


def _unspooled(text: str) -> str:
    """The CSV the library spooled the caller's DataFrame or records to, named as what the caller gave."""
    return _SPOOLED.sub("the edits given (spooled in the run folder)", text)


def _flags(text: str, start: int, end: int, users: Callable[[int], bool]) -> str:
    """`text[start:end]`, its flags as the parameters they stand for, but those inside the user's words."""
    out, at = [], start
    for found in _FLAG.finditer(text, start, end):
        out += [text[at : found.start()], found.group() if users(found.start()) else _parameter(found)]
        at = found.end()
    out.append(text[at:end])
    return "".join(out)


def library_facing(function: F) -> F:
    """`function`, whose errors reach its caller in the library's words (the same class, the same attributes)."""

    @functools.wraps(function)
    def facing(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except BulkUpdaterError as exc:
            raise reworded(exc).with_traceback(exc.__traceback__) from exc.__cause__

    return facing  # type: ignore[return-value]


def reworded(exc: BulkUpdaterError) -> BulkUpdaterError:
    """A copy of `exc` whose message (and problem and hint) are in the library's words. Its `where` is the
    caller's own file (a path, a row, a column): kept as it is, but for the spooled CSV's name."""
    if isinstance(exc, (InputError, FolderError)):
        placed = copy.copy(exc)
        placed.problem, placed.where, placed.hint = library_text(exc.problem), _unspooled(exc.where), library_text(exc.hint)
        placed.args = (said(placed.problem, placed.where, placed.hint),)
        return placed
    new = copy.copy(exc)
    new.args = tuple(library_text(arg) if isinstance(arg, str) else arg for arg in exc.args)
    return new


def _option(flag: str) -> Option | None:
    return next((option for option in registry.OPTIONS if option.flag == flag), None)


def _call(command: str, text: str, position: int) -> tuple[str, int]:
    """The command suggested from `position` on (`bulk-updater undo DIR --out NEW_DIR --force`), as the library call that does it
    (`bulk_updater.undo('DIR', NEW_DIR, send, JobOptions(force=True))`), and where the command ends in `text`."""
    source, out, keywords = "", "NEW_DIR", []
    while (found := _NEXT.match(text, position)) is not None:
        word, ends = _split_end(found["word"])
        if word.startswith("--"):
            option = _option(word)
            value = ""
            if not ends and (word == "--out" or word in ARGUMENTS or (option is not None and option.value is not FLAG)):
                if (given := _NEXT.match(text, found.end())) is not None:
                    found, (value, ends) = given, _split_end(given["word"])
            if word == "--out":
                out = _literal(value) if value else out
            else:
                keywords.append(_keyword(word, value, option))
        elif source:
            break  # the sentence goes on
        else:
            source = _literal(word)
        position = found.end() - len(ends)
        if ends:
            break
    call = CALLS[command].format(source=source or "DIR", out=out)
    if keywords:
        call = call[:-1] + f", JobOptions({', '.join(keywords)}))"
    return call, position


def _split_end(word: str) -> tuple[str, str]:
    """A word and the punctuation that ends its sentence or clause (`out.` -> `out`, `.`); a quoted word has none."""
    if word.startswith(("'", '"')):
        return word, ""
    bare = word.rstrip(_TRAILING)
    return bare, word[len(bare) :]


def _literal(word: str) -> str:
    """A path or a placeholder as a Python argument: NEW_DIR stays a name, a path becomes a string."""
    if re.fullmatch(r"[A-Z_]+", word):
        return word
    return repr(word.strip("'\""))


def _keyword(flag: str, value: str, option: Option | None) -> str:
    if flag in NOT_RECORDED:
        return f"{NOT_RECORDED[flag]}=True"
    if option is None:
        return ARGUMENTS.get(flag, flag)
    if option.value is FLAG:
        return f"{option.name}={not option.negated}"
    return f"{option.name}={_value(option, value) if value else '...'}"


def _parameter(found: re.Match[str]) -> str:
    """A flag in a sentence: `--restart` -> `restart=True`, `--encoding cp1252.` -> `encoding='cp1252'.`, `--map file` -> `map_path file`."""
    flag, value = "--" + found["name"], found["value"] or ""
    bare, tail = _split_end(value)
    option = _option(flag)
    going_on = f" {value}" if value else ""
    if flag == "--out" and bare in ("folder", ""):
        return "out_dir" + tail  # "choose another --out folder"
    if bare in ("was", "is", "were"):  # "--backup was True": the parameter's name
        return (NOT_RECORDED.get(flag) or (option.name if option is not None else ARGUMENTS.get(flag, flag))) + going_on
    if flag in NOT_RECORDED:
        return f"{NOT_RECORDED[flag]}=True" + going_on
    if option is not None and option.value is FLAG:
        return f"{option.name}={not option.negated}" + going_on
    if not _is_value(bare):
        return (option.name if option is not None else ARGUMENTS.get(flag, flag)) + going_on
    if option is not None:
        return f"{option.name}={_value(option, bare)}{tail}"
    if flag == "--region":
        return f"host_url(region={bare!r}){tail}"
    if flag == "--plan":
        return f"rate=Rate.resolve(plan={bare!r}){tail}"
    if flag == "--headroom":
        return f"Rate.resolve(..., headroom={bare}){tail}"
    if flag == "--env-file":
        return f"environment({_literal(bare)}){tail}"
    return found.group()


def _value(option: Option, text: str) -> str:
    """A flag's value as the parameter's: `5/5` -> `Rate.parse('5/5')`, `none` -> `None`, 7 -> 7, text -> 'text'."""
    if option.name == "rate":
        return f"Rate.parse({text!r})"
    if text.lower() == "none":
        return "None"
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return text
    return _literal(text)


def _is_value(word: str) -> bool:
    """Whether the word after a flag is its value (`cp1252`, `5/5`, `Asia/Kolkata`, `NAME`, `in21`, `none`), not the sentence going on."""
    if not word or word.lower() in _NOT_VALUES:
        return False
    return word.startswith(("'", '"', "{")) or word in _CHOICES or bool(re.search(r"[\d/:.\\_-]", word)) or word.isupper()
