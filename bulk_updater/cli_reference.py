"""The docs' option tables and docs/cli.md, written from the CLI's parser and the option registry.

`make docs` runs cog over the pages the Makefile lists (DOCS), whose marked blocks call these functions;
`make docs-check` (CI) fails when what is committed differs from what they write now. Every
flag's help comes from one place: a recorded option's from its field (option_spec.py), any other
flag's from cli.py. The help's "(default: X)" becomes the table's default column.

The tables are built from the parser's actions, not from argparse's formatted help, whose layout
changes between Python versions.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator, Sequence

from . import cli
from .cli_examples import EXAMPLES
from .option_spec import CLASSES, READ, RECORD, SEND, Option
from .options import OPTIONS

_DEFAULT = re.compile(r"^(?P<meaning>.*?)\s*\(default: (?P<default>.*)\)$", re.S)
# What a later command on the same run folder does with an option of each class (options.py).
ON_RESUME = {
    READ: "another value is refused (exit 2, naming both values): the rest of the sheet would be read differently",
    SEND: "a value given is applied, kept for the next resume, and noted in summary.json (`changed_on_resume`)",
    RECORD: "kept; a resume that would drop it is refused",
}


def options_table(command: str, groups: Sequence[str] | None = None, leave_out: Sequence[str] = ("--help", "--out")) -> str:
    """`command`'s flags as a markdown table (option, default, meaning), in the parser's order.

    `groups`: only the flags of these argparse groups ("reading the sheet"...); None: every group.
    """
    parser = _commands()[command]
    rows = [_row(action, parser.prog) for action in _flags(parser, groups) if action.option_strings[-1] not in leave_out]
    return _table(("option", "default", "meaning"), rows)


def classes_table() -> str:
    """The options a run records, by class, and what a later command on its folder does with each class."""
    rows = [(kind, ", ".join(_spelled(option) for option in OPTIONS if option.kind == kind), ON_RESUME[kind]) for kind in CLASSES]
    return _table(("class", "options", "on a resume"), rows, code_first=False)


def _spelled(option: Option) -> str:
    text = f"`{option.flag}`"
    if option.also:
        text += " (or " + ", ".join(f"`{flag}`" for flag in option.also) + ")"
    return text if option.compared else text + " and its file's content"


def reference() -> str:
    """docs/cli.md's body: each command's synopsis, description and flags, group by group."""
    out = []
    for name, parser in _commands().items():
        out += [f"## {name}", "", "```", _synopsis(parser), "```", "", *_description(parser.description or ""), "", *_examples(name)]
        for group in parser._action_groups:
            if [action for action in _flags(parser, [group.title or ""]) if action.option_strings != ["-h", "--help"]]:
                out += [f"### {group.title}", "", options_table(name, [group.title or ""], leave_out=("--help",)).rstrip("\n"), ""]
    return "\n".join(out)


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    [subcommands] = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    return dict(subcommands.choices)


def _flags(parser: argparse.ArgumentParser, groups: Sequence[str] | None) -> Iterator[argparse.Action]:
    """The flags of `groups`, in that order (None: every group, in the parser's)."""
    by_title = {group.title or "": group for group in parser._action_groups}  # argparse keeps no public list of its groups
    for title in by_title if groups is None else groups:
        if title in by_title:
            yield from (action for action in by_title[title]._group_actions if action.option_strings)


def _row(action: argparse.Action, prog: str) -> tuple[str, str, str]:
    flag = action.option_strings[-1]
    if action.nargs != 0:  # a flag that takes a value
        metavar = action.metavar if isinstance(action.metavar, str) else ""
        flag += " " + (metavar or "|".join(str(choice) for choice in action.choices or ()) or action.dest.upper())
    text = (action.help or "") % {"default": action.default, "prog": prog} if "%" in (action.help or "") else action.help or ""  # as argparse shows it
    found = _DEFAULT.match(text)
    return flag, found["default"] if found else "", found["meaning"] if found else text


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], code_first: bool = True) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for first, *rest in rows:
        cells = [f"`{first}`" if code_first else first, *rest]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def _synopsis(parser: argparse.ArgumentParser) -> str:
    words = [parser.prog]
    for action in parser._actions:
        if not action.option_strings and not isinstance(action, argparse._SubParsersAction):
            words.append(action.metavar or action.dest.upper())  # type: ignore[arg-type]
        elif action.required:
            words.append(f"{action.option_strings[-1]} {action.metavar or action.dest.upper()}")
    return " ".join([*words, "[options]"])


def _description(text: str) -> list[str]:
    """A command's docstring as markdown: its paragraphs."""
    return [re.sub(r"^([#>+*=-] |#|\d+\. )", r"\\\1", line) for line in text.splitlines()]  # a line markdown would take for a heading or a list


def _examples(command: str) -> list[str]:
    """The examples `--help` ends with, as a shell block, each with what it does as a comment."""
    examples = EXAMPLES.get(command, [])
    if not examples:
        return []
    return ["Examples:", "", "```sh", *(f"{line}  # {what}" for line, what in examples), "```", ""]
