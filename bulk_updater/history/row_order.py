"""The rows of a retry in `_row` order, kept on disk so memory stays flat (docs/design.md, "Per-row state lives on disk").

A report's lines are in finish order, and an admin may sort failed.csv in a spreadsheet; a
retry sends the rows in `_row` order so that, for one activity, the later row of the sheet
is still applied last.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

from .. import files
from ..rows import Row

ORDER_FILE = ".state-order.sqlite"
BATCH = 10_000


class RowOrder:
    def __init__(self, path: Path, columns: list[str], rows: Iterable[Row]) -> None:
        self._columns = columns  # every row's cells have these keys: stored as a list
        files.claim(path)  # stale ones removed; a planted symlink refused (files.py)
        self.path = path
        self._db = sqlite3.connect(path)
        self._db.executescript(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
            "CREATE TABLE rows (row INTEGER PRIMARY KEY, cells TEXT NOT NULL, meta TEXT NOT NULL);"
        )
        encoded = (
            (row.number, json.dumps([row.cells[name] for name in columns], ensure_ascii=False), json.dumps(row.meta, ensure_ascii=False))
            for row in rows
        )
        while batch := list(islice(encoded, BATCH)):
            self._db.executemany("INSERT INTO rows VALUES (?, ?, ?)", batch)
        self._db.commit()

    def rows(self) -> Iterator[Row]:
        for number, cells, meta in self._db.execute("SELECT row, cells, meta FROM rows ORDER BY row"):
            yield Row(number, dict(zip(self._columns, json.loads(cells))), json.loads(meta))

    def close(self) -> None:
        self._db.close()
