"""Whether a workbook fits in memory, read from the file before calamine reads it.

calamine holds a sheet as one dense block of cells, 32 bytes each, from its top-left cell
to its bottom-right one, and reserves what some counts in the file declare (an .xlsx's
shared strings, an .xls sheet's dimension). A 1.6 KB .xlsx holding one cell at XFD1048576
asks for 17 billion cells, 512 GB: the allocation fails inside Rust, and the process aborts
(no exception to catch: the CLI exits 134, the web page's server dies with its runs).

So before calamine opens a workbook (`check_book`) or loads a sheet (`check_sheet`), the
format's reader reads what the file declares and where its cells reach, cheaply (a
streaming pass over the sheet's XML, or the .xls records), and a sheet that would take
more than a share of this computer's memory is refused with a plain message. The reach
is counted with every cell the file places, even an empty one calamine would skip: the
check may refuse a sheet calamine could read, never let through one it can't.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from ..errors import InputError
from .reach import Extent

CELL_BYTES = 32  # calamine's Data: a cell of the dense block, measured (10 million cells: 302 MB)
MEMORY_SHARE = 4  # a sheet may take a quarter of the memory (the page may read several; the run needs some)
FALLBACK_MEMORY = 4 << 30  # where the system does not say how much it has
HINT = ("Delete the rows and columns beyond the data (or copy the data into a new sheet), save the workbook, "
        "and try again; or export the sheet as CSV UTF-8.")


def cell_budget() -> int:
    """The most cells a sheet may span here: a share of the physical memory."""
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # not a POSIX system
        memory = FALLBACK_MEMORY
    return max(memory, FALLBACK_MEMORY // 4) // MEMORY_SHARE // CELL_BYTES


def check_book(path: Path) -> None:
    """Refuse a workbook whose opening would not fit: calamine reads every sheet of an .xls or .ods
    when it opens one, and reserves an .xlsx's shared strings."""
    for sheet, extent, count in _book(str(path), *_stamp(path)):
        if count is not None:
            _refuse_count(path, count)
        if extent is not None:
            refuse_if_too_big(path, sheet, extent)


def check_sheet(path: Path, sheet_name: str) -> None:
    """Refuse a sheet whose loading would not fit (an .xlsx sheet is loaded on its own, when read)."""
    check_book(path)  # done already when the workbook was opened (kept): an .xls's facts reader loads its sheet first
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        for extent in _sheet(str(path), sheet_name, *_stamp(path)):
            refuse_if_too_big(path, sheet_name, extent)


@functools.lru_cache(maxsize=8)
def _sheet(path_text: str, sheet_name: str, size: int, mtime: int) -> tuple[Extent, ...]:
    """An .xlsx sheet's extents, kept for the file as it is: a run reads its sheet two or three times."""
    from .xlsx_facts import xlsx_extents

    path = Path(path_text)
    return tuple(_guarded(path, lambda: xlsx_extents(path, sheet_name)))


def refuse_if_too_big(path: Path, sheet_name: str, extent: Extent) -> None:
    budget = cell_budget()
    if extent.cells <= budget:
        return
    size = f"{extent.rows:,} rows \u00d7 {extent.columns:,} columns ({extent.cells:,} cells)"
    how = f"its dimension declares {extent.reach}" if extent.declared else f"it has a cell at {extent.reach}"
    raise InputError(
        f"the sheet is too large to read: {how}, so it spans {size}, more than the {budget:,} cells this computer can hold",
        where=f"{path}, sheet {sheet_name!r}",
        hint=HINT,
    )


def _refuse_count(path: Path, count: int) -> None:
    raise InputError(
        f"the workbook is too large to read: it declares {count:,} distinct text values, more than this computer can hold",
        where=str(path),
        hint="Open it in Excel and save it again, or export the sheet as CSV UTF-8.",
    )


def _stamp(path: Path) -> tuple[int, int]:
    try:
        status = path.stat()
    except OSError:
        return 0, 0  # calamine says what is wrong with the path
    return status.st_size, status.st_mtime_ns


@functools.lru_cache(maxsize=8)
def _book(path_text: str, size: int, mtime: int) -> tuple[tuple[str, Extent | None, int | None], ...]:
    """(sheet, extent, None) for each sheet calamine loads on opening, (book, None, count) for a count it reserves
    that would not fit. Kept for the file as it is: a page reads the same upload several times."""
    path = Path(path_text)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        import zipfile

        from .xlsx_facts import shared_strings_declared

        if not zipfile.is_zipfile(path):  # a password-protected workbook, or not a workbook: calamine says which
            return ()
        # calamine reserves a string (24 bytes) for each: held to the cells' budget (32 bytes each).
        count = _guarded(path, lambda: shared_strings_declared(path))
        return ((path.name, None, count),) if count > cell_budget() else ()
    if suffix == ".ods":
        from .ods_facts import ods_extents

        return tuple((name, extent, None) for name, extent in _guarded(path, lambda: list(ods_extents(path))))
    if suffix == ".xls":
        from .xls_facts import xls_extents

        return tuple((name, extent, None) for name, extent in _guarded(path, lambda: list(xls_extents(path))))
    return ()


def _guarded(path: Path, scan):
    """The scan's answer; a file the scan can't read is refused: calamine, more lenient, might load it anyway."""
    import xml.etree.ElementTree as ET
    import zipfile

    try:
        return scan()
    except (KeyError, ValueError, OSError, ET.ParseError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError(
            f"the workbook can't be read ({type(exc).__name__}: {exc})",
            where=str(path),
            hint=f"Open it in Excel and save it again as {path.suffix.lower() or '.xlsx'}, or export it as CSV UTF-8.",
        ) from None
