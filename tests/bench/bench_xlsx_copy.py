"""The workbook copies (report.xlsx, failed.xlsx) of a big report: how long they take to write.

Their cost sets `report/excel.py`'s COPY_MAX_LINES. Generates a 100,000-line report CSV of
12 columns (6 of the sheet, 6 of the report) in a temporary folder and times, in this process:
- `csv_to_xlsx`, the copy the tool writes (xlsxwriter, constant memory): every cell a text cell with the Text format;
- baseline: openpyxl's write-only mode appending the plain values (which would turn `#N/A`
  into an error cell and `=1+1` into a formula);
- baseline: reading the CSV alone.

    python tests/bench/run.py xlsx_copy
"""

from __future__ import annotations

import csv
import tempfile
import time
import uuid
from pathlib import Path

from openpyxl import Workbook

from bulk_updater.report.excel import csv_to_xlsx

LINES = 100_000
HEADER = ["CompanyActivityId", "ActivityNote", "Status", "mx_Custom_1", "mx_Custom_2", "mx_Custom_3",
          "_row", "_outcome", "_attempts", "_http_status", "_error_type", "_error_message"]


def write_report(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for n in range(LINES):
            out.writerow([str(uuid.UUID(int=n + 1)), f"called on day {n % 28 + 1}", "Won", f"{n % 1000:03d}", str(n), "#N/A",
                          n + 2, "failed", 1, 500, "MXInvalidEntityException", "Activity does not exist"])
    return path


def _timed(action) -> float:
    started = time.monotonic()
    action()
    return round(time.monotonic() - started, 2)


def _plain_copy(source: Path, target: Path) -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("report")
    with source.open(newline="", encoding="utf-8-sig") as f:
        for line in csv.reader(f):
            sheet.append(line)
    book.save(target)


def _read_only(source: Path) -> None:
    with source.open(newline="", encoding="utf-8-sig") as f:
        sum(1 for _ in csv.reader(f))


def main() -> dict:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        report = write_report(folder / "report.csv")
        figures = {
            "csv_to_xlsx_100k_seconds": _timed(lambda: csv_to_xlsx(report, folder / "report.xlsx")),
            "plain_openpyxl_100k_seconds": _timed(lambda: _plain_copy(report, folder / "plain.xlsx")),
            "read_csv_only_100k_seconds": _timed(lambda: _read_only(report)),
        }
    print(f"{LINES:,} report lines x {len(HEADER)} columns")
    for name, seconds in figures.items():
        print(f"{name:<36}{seconds:>10}")
    return figures


if __name__ == "__main__":
    main()
