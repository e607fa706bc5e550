"""Small pieces of English shared by everything that talks to the admin."""

from __future__ import annotations

import re

# What makes two error messages "the same" for grouping: the activity id, GUID or number they quote
# (and, in the tool's own messages, the quoted values and cells of the row).
_QUOTED = r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\""""
_CELL = r"\(cell [A-Z]{1,3}[0-9]+\)"
_GUID = r"\{?\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b\}?"
# Not a number inside a name: mx_Custom_1, UTF-8, Windows-1252 keep their digits.
_NUMBER = r"(?<![\w.-])[-+]?\d+(?:[.,]\d+)*(?![\w.])"
_VALUES = re.compile(f"(?P<quoted>{_QUOTED})|(?P<cell>{_CELL})|(?P<id>{_GUID})|(?P<n>{_NUMBER})")
_SERVER_VALUES = re.compile(f"(?P<id>{_GUID})|(?P<n>{_NUMBER})")  # a server's quoted words may be the cause
MASKS = {"quoted": "'…'", "cell": "(cell …)", "id": "<id>", "n": "<n>"}


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`1 row`, `2 rows`, `1,204 rows`."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


class Shape:
    """A message split into its words and the values it quotes: `key` masks every value (the group's
    key), `label(common)` masks only the values that differ between the rows of a group."""

    def __init__(self, message: str, own: bool = False) -> None:
        self.pieces: list[str] = []
        self.kinds: list[str] = []
        self.values: list[str] = []
        start = 0
        for match in (_VALUES if own else _SERVER_VALUES).finditer(message):
            self.pieces.append(message[start : match.start()])
            self.kinds.append(str(match.lastgroup))
            self.values.append(match.group())
            start = match.end()
        self.pieces.append(message[start:])

    @property
    def key(self) -> str:
        return self.label([None] * len(self.values))

    def label(self, common: list[str | None]) -> str:
        """The message with each value of `common` that is None masked."""
        out = [self.pieces[0]]
        for kind, value, piece in zip(self.kinds, common, self.pieces[1:], strict=True):
            out += [MASKS[kind] if value is None else value, piece]
        return "".join(out)


def message_pattern(message: str, own: bool = False) -> str:
    """The message with the ids, GUIDs and numbers it quotes replaced by `<id>` and `<n>` (`own`: and the
    quoted values and cells), so that 312 rows failing on 312 different activities make one group."""
    return Shape(message, own).key
