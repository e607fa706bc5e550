"""Read an earlier report (report.csv or failed.csv) back as the rows to send again.

The report is read by the ordinary rows reader, so any format it reads works here; the
report's own columns arrive in `Row.meta`. Each row keeps its original `_row` number, so
the new report traces back to the source sheet.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..errors import InputError
from ..outcomes import FINISHED_VALUES, Outcome
from ..rows import Row, Sheet

NEEDED = ("_row", "_outcome")
_KNOWN = {outcome.value for outcome in Outcome}


class Rerun:
    """The rows of an earlier report whose outcome is neither success nor skipped."""

    def __init__(self, sheet: Sheet) -> None:
        missing = [name for name in NEEDED if name not in sheet.meta_columns]
        if missing:
            raise InputError(
                f"there is no {' and no '.join(missing)} column: this is not a bulk-updater report",
                where=f"{sheet.path}, row 1",
                hint="Give the report.csv or failed.csv of an earlier run; to send a sheet of edits, use `bulk-updater run`.",
            )
        self.sheet = sheet
        self.passed_over = 0  # rows already done (success or skipped), counted by the last full pass

    def rows(self) -> Iterator[Row]:
        """Yield the rows to send again, numbered by their `_row`; raise InputError on a damaged line."""
        passed_over, seen = 0, set()
        for line in self.sheet.rows():
            number, outcome = self._row_number(line), line.meta["_outcome"].strip()
            if outcome not in _KNOWN:
                raise self._bad(line, "_outcome", f"{outcome!r} is not an outcome ({', '.join(sorted(_KNOWN))})")
            if number in seen:
                raise self._bad(line, "_row", f"row {number} appears twice in the report")
            seen.add(number)
            if outcome in FINISHED_VALUES:
                passed_over += 1
            else:
                yield Row(number, line.cells, line.meta)
        self.passed_over = passed_over

    def _row_number(self, line: Row) -> int:
        text = line.meta["_row"].strip()
        if not text.isdigit():
            raise self._bad(line, "_row", f"{text!r} is not a row number")
        return int(text)

    def _bad(self, line: Row, column: str, problem: str) -> InputError:
        return InputError(
            problem,
            where=f"{self.sheet.path}, row {line.number}, column {column}",
            hint="Put back the value the report had there, or give the report as bulk-updater wrote it.",
        )
