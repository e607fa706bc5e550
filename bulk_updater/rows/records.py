"""In-memory edits (a pandas DataFrame, or a list of dicts) -> a CSV the job reads like any sheet.

A job reads its source more than once (a counting pass, the sending pass, a resume), and a
resume must prove it reads the same rows: so the records are spooled once to a CSV in the
run folder, named by its hash, and the run goes on from that file. Values become the text a
spreadsheet would show: NaN, None and pd.NA are blank, numpy booleans are true/false,
timestamps follow the date-time rules of workbook cells; never "<NA>" or "nan".
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import files
from ..errors import InputError
from .cells import cell_text

SPOOL_PREFIX = "input-"


def is_records(source: object) -> bool:
    """True for a DataFrame or a list of dicts; False for a path."""
    return not isinstance(source, (str, os.PathLike))


def spool_records(source: Any, folder: Path, timezone: str | None = None) -> Path:
    """Write `source` as a UTF-8 CSV in `folder`; return its path (the same bytes, the same name)."""
    header, rows = _header_and_rows(source)
    zone = zoneinfo.ZoneInfo(timezone) if timezone else None
    # The run folder's files never go through a planted symlink (files.py).
    folder.mkdir(parents=True, exist_ok=True)
    spooled = folder / f"{SPOOL_PREFIX}spooling.csv"
    with files.replacing(spooled) as f:
        lines = csv.writer(f)
        for line in (header, *([_text(value, zone) for value in row] for row in rows)):
            lines.writerow(line)
    digest = hashlib.sha256()
    with files.open_read(spooled, binary=True) as f:
        while block := f.read(1 << 20):
            digest.update(block)
    target = folder / f"{SPOOL_PREFIX}{digest.hexdigest()[:16]}.csv"
    files.is_present(target)  # refuses a symlink planted at the final name
    with files.explained(target):
        os.replace(spooled, target)
    return target


def _header_and_rows(source: Any) -> tuple[list[str], Iterable[Sequence[object]]]:
    if hasattr(source, "columns") and hasattr(source, "itertuples"):  # a pandas DataFrame
        return [str(name) for name in source.columns], source.itertuples(index=False, name=None)
    records = list(source) if not isinstance(source, list) else source
    if not all(isinstance(record, Mapping) for record in records):
        raise InputError("the edits are neither a file, a DataFrame nor a list of dicts", hint="Give a path, a pandas DataFrame, or a list of dicts.")
    header = list(dict.fromkeys(name for record in records for name in record))
    return [str(name) for name in header], ([record.get(name) for name in header] for record in records)


def _text(value: object, zone: dt.tzinfo | None) -> str:
    value = _plain(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)  # an aware time names its instant
        zone = None
    return cell_text(value, zone)


def _plain(value: object) -> object:
    """numpy and pandas scalars -> the Python values cells.py knows; missing values -> None."""
    if value is None or type(value).__name__ in {"NAType", "NaTType"}:
        return None
    if type(value).__name__ == "datetime64":
        import pandas  # only a caller who already holds numpy/pandas values gets here

        value = pandas.Timestamp(value)
    elif type(value).__module__ == "numpy":
        value = value.item()  # type: ignore[attr-defined]  # np.bool_ -> bool, np.int64 -> int, np.datetime64 -> datetime/int
    if hasattr(value, "to_pydatetime"):  # pd.Timestamp
        return value.to_pydatetime()
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


