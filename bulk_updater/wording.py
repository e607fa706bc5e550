"""Small pieces of English shared by everything that talks to the admin."""

from __future__ import annotations

import re

# What makes two error messages "the same" for grouping: the activity id, GUID or number they quote.
_GUID = re.compile(r"\{?\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b\}?")
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:[.,]\d+)*(?![\w.])")


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`1 row`, `2 rows`, `1,204 rows`."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


def message_pattern(message: str) -> str:
    """The message with the ids, GUIDs and numbers it quotes replaced by `<id>` and `<n>`,
    so that 312 rows failing on 312 different activities make one group."""
    return _NUMBER.sub("<n>", _GUID.sub("<id>", message))
