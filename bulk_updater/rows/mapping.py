"""`--map FILE`: sheet headers -> SchemaNames, so a sheet can be used as the admin made it.

A map is a JSON object or a two-column CSV (header line `column,schema_name`):

    {"Activity ID": "CompanyActivityId", "Stage": "mx_Custom_1", "Comments": "ActivityNote"}

The header mapped to `CompanyActivityId` is the activity id column. Headers are
matched trimmed and ignoring case; headers the map does not name are kept as they are.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

CSV_HEADER = ["column", "schema_name"]


@dataclass(frozen=True)
class ColumnMap:
    """(sheet header, SchemaName) pairs, in the map's order."""

    entries: tuple[tuple[str, str], ...] = ()
    source: str = ""

    def rename(self, header: str) -> str:
        return next((name for h, name in self.entries if _key(h) == _key(header)), header)

    def unmatched(self, header: list[str]) -> list[str]:
        """The map's headers that `header` does not have."""
        present = {_key(name) for name in header}
        return [h for h, _ in self.entries if _key(h) not in present]

    def header_for(self, schema_name: str) -> str | None:
        """The sheet header the map turns into `schema_name`, for messages."""
        return next((h for h, name in self.entries if name.lower() == schema_name.lower()), None)


def load_map(path: str | Path) -> ColumnMap:
    """Read a map file; raises InputError saying what to fix."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such map file", where=str(path), hint="Check the --map path.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("the map file is not UTF-8 text", where=str(path), hint="Save it again as UTF-8.") from None
    pairs = _json_pairs(path, text) if path.suffix.lower() == ".json" else _csv_pairs(path, text)
    return ColumnMap(_checked(path, pairs), source=str(path))


def _json_pairs(path: Path, text: str) -> list[tuple[str, str]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"the map is not valid JSON ({exc.msg} at line {exc.lineno})", where=str(path), hint='Write it as {"Sheet header": "SchemaName", ...}.') from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise InputError("the map must be one JSON object of texts", where=str(path), hint='Write it as {"Sheet header": "SchemaName", ...}.')
    return list(data.items())


def _csv_pairs(path: Path, text: str) -> list[tuple[str, str]]:
    lines = list(csv.reader(text.splitlines()))
    if not lines or [cell.strip().lower() for cell in lines[0]] != CSV_HEADER:
        raise InputError(f"the map's first line must be {','.join(CSV_HEADER)}", where=f"{path}, line 1", hint="Add that header line, then one line per sheet column.")
    pairs = []
    for number, line in enumerate(lines[1:], start=2):
        if not any(cell.strip() for cell in line):
            continue
        if len(line) != 2:
            raise InputError(f"line {number} has {len(line)} cells, not 2", where=f"{path}, line {number}", hint="Write each line as: sheet header,SchemaName.")
        pairs.append((line[0], line[1]))
    return pairs


def _checked(path: Path, pairs: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    seen: set[str] = set()
    for header, schema_name in pairs:
        if not header.strip() or not schema_name.strip():
            raise InputError("a map entry has a blank header or SchemaName", where=str(path), hint="Fill in both sides of every entry, or delete it.")
        if _key(header) in seen:
            raise InputError(f"the header {header.strip()!r} is mapped twice", where=str(path), hint="Keep one entry for it.")
        seen.add(_key(header))
    return tuple((header.strip(), schema_name.strip()) for header, schema_name in pairs)


def _key(header: str) -> str:
    return header.strip().lower()
