"""Workbooks (.xlsx, .xlsm, .xls, .ods) through python-calamine, one fast reader for all four.

calamine loads the chosen sheet into compact Rust cells; `iter_rows()` then hands
Python one row at a time, so the Python objects for the whole sheet never exist at once
(pandas.read_excel would build them all into a DataFrame first). A sheet whose cells
would not fit in memory is refused before calamine tries (extent.py): its failure to
allocate would abort the process.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError
from .extent import check_book, check_sheet
from .overlay import merged, read_facts

if TYPE_CHECKING:
    import python_calamine as calamine

SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods"}


@dataclass(frozen=True)
class WorkbookSource:
    """One sheet of a workbook; `records()` streams its rows."""

    path: Path
    sheet_name: str
    is_workbook = True

    @property
    def where(self) -> str:
        return f"{self.path}, sheet {self.sheet_name!r}"

    def records(self) -> Iterator[tuple[int, Sequence[object]]]:
        """Yield (row number as Excel shows it, typed cells).

        Error values, formulas without a saved value and midnight date-times arrive as the
        file holds them (cell_facts.py), not as calamine reads them.
        """
        check_sheet(self.path, self.sheet_name)  # before calamine builds it (extent.py)
        yield from merged(self._calamine_records(), _facts(self.path, self.sheet_name))

    def _calamine_records(self) -> Iterator[tuple[int, list[object]]]:
        with _opened(self.path) as book:
            sheet = _loaded(self.path, lambda: book.get_sheet_by_name(self.sheet_name))
            # iter_rows starts at row 1 even when the first rows are blank, so numbers match
            # Excel's; but it drops blank columns on the left, which we put back so that
            # positions match Excel's column letters.
            blank_left = [""] * (sheet.start[1] if sheet.start else 0)
            for number, cells in enumerate(sheet.iter_rows(), start=1):
                yield number, blank_left + cells if blank_left else cells


def open_workbook(path: Path, sheet: str | None = None) -> WorkbookSource:
    """Check that `path` opens and holds the sheet asked for (a name, or a 1-based index)."""
    with _opened(path) as book:
        names = book.sheet_names
    return WorkbookSource(path, _chosen_sheet(path, names, sheet))


def sheet_names(path: Path) -> list[str]:
    """The workbook's sheets, in order (the web page lets the admin pick one)."""
    with _opened(path) as book:
        return list(book.sheet_names)


def _chosen_sheet(path: Path, names: list[str], wanted: str | None) -> str:
    if not names:
        raise InputError("the workbook has no sheets", where=str(path), hint="Open it in Excel and save it again.")
    if wanted is None:
        return names[0]
    if wanted in names:
        return wanted
    by_case = [name for name in names if name.strip().lower() == wanted.strip().lower()]
    if by_case:
        return by_case[0]
    if wanted.strip().isdigit() and 1 <= int(wanted) <= len(names):
        return names[int(wanted) - 1]
    listed = ", ".join(repr(name) for name in names)
    raise InputError(f"there is no sheet {wanted!r}", where=str(path), hint=f"Its sheets are {listed}; pass one of them, or its number from 1, with --sheet.")


class _opened:
    """A workbook opened for reading, with calamine's errors turned into admin messages."""

    def __init__(self, path: Path) -> None:
        import python_calamine as calamine  # here, not above: only workbooks need it

        check_book(path)  # an .xls or .ods is read whole on opening: refused first if it would not fit (extent.py)
        self._book = _loaded(path, lambda: calamine.CalamineWorkbook.from_path(str(path)))

    def __enter__(self) -> calamine.CalamineWorkbook:
        return self._book

    def __exit__(self, *exc_info) -> None:
        self._book.close()


def _facts(path: Path, sheet_name: str):
    """read_facts, with a file calamine opened but the fact readers can't turn into a clear message."""
    try:
        yield from read_facts(path, sheet_name)
    except (KeyError, ValueError, OSError, SyntaxError, zipfile.BadZipFile) as exc:  # zip part missing, bad XML (ParseError is a SyntaxError)
        raise InputError(
            f"the workbook's cells can't be checked for error values and formats ({type(exc).__name__}: {exc})",
            where=str(path),
            hint="Open it in Excel and save it again, or export it as CSV UTF-8.",
        ) from None


def _loaded(path: Path, load):
    import python_calamine as calamine

    try:
        return load()
    except calamine.PasswordError:
        raise InputError("the workbook is protected by a password", where=str(path), hint="Open it in Excel, remove the password (File > Info > Protect Workbook), and save it again.") from None
    except (calamine.CalamineError, ValueError) as exc:  # ValueError: calamine bugs on odd files
        raise InputError(f"the workbook can't be read ({exc})", where=str(path), hint=f"Open it in Excel and save it again as {path.suffix.lower() or '.xlsx'}, or export it as CSV UTF-8.") from None
