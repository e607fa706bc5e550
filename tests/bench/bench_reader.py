"""Reading and checking big sheets: `bulk-updater check` beside pandas reading the same file.

Generates, in a temporary folder (not in git):
- a 1,000,000-row, 6-column CSV (target: `check` under 20 s and under 400 MB peak RSS),
- a 100,000-row, 6-column .xlsx (target: `check` under 15 s),
- a 100,000-row CSV and a 10,000-row .xlsx, to show how memory grows with the file.

Each command runs in its own process; its wall time and its own peak RSS (own_peak.py: not
the bench's, which os.wait4 would include) are measured. The baselines read the same file into a DataFrame:
pandas.read_csv(dtype=str) and pandas.read_excel(engine="calamine"), and the old reader's
pandas.read_excel(engine="openpyxl").

    python tests/bench/run.py reader
"""

from __future__ import annotations

import csv
import sys
import tempfile
import uuid
from pathlib import Path

from openpyxl import Workbook
from own_peak import own_peak_mb

CSV_ROWS, XLSX_ROWS, SMALL_CSV_ROWS = 1_000_000, 100_000, 100_000
HEADER = ["CompanyActivityId", "ActivityNote", "Status", "mx_Custom_1", "mx_Custom_2", "mx_Custom_3"]


def _rows(count: int):
    for n in range(count):
        yield [str(uuid.UUID(int=n + 1)), f"called on day {n % 28 + 1}, left a note", "Won" if n % 3 else "Lost", f"{n % 1000:03d}", str(n), "" if n % 5 else "#N/A"]


def write_csv(path: Path, rows: int) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        out.writerows(_rows(rows))
    return path


def write_xlsx(path: Path, rows: int) -> Path:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Edits")
    sheet.append(HEADER)
    for row in _rows(rows):
        sheet.append([*row[:4], int(row[4]), row[5]])  # one typed number column
    book.save(path)
    return path


def measure(command: list[str]) -> dict:
    """Run `command`; return its wall seconds and its own peak RSS in MB (see own_peak.py)."""
    code, peak_mb, seconds = own_peak_mb(command)
    if code != 0:
        raise RuntimeError(f"{command} exited {code}")
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(peak_mb, 1)}


def _check(path: Path) -> list[str]:
    return [sys.executable, "-m", "bulk_updater", "check", str(path)]


def main() -> dict:
    figures: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        big_csv = write_csv(folder / "big.csv", CSV_ROWS)
        small_csv = write_csv(folder / "small.csv", SMALL_CSV_ROWS)
        xlsx = write_xlsx(folder / "big.xlsx", XLSX_ROWS)
        small_xlsx = write_xlsx(folder / "small.xlsx", XLSX_ROWS // 10)
        figures["csv_1m_size_mb"] = round(big_csv.stat().st_size / 2**20, 1)
        figures["xlsx_100k_size_mb"] = round(xlsx.stat().st_size / 2**20, 1)
        runs = {
            "check_csv_1m": _check(big_csv),
            "pandas_read_csv_1m": _pandas_call("read_csv", big_csv, "dtype=str, keep_default_na=False"),
            "check_csv_100k": _check(small_csv),
            "check_xlsx_100k": _check(xlsx),
            "check_xlsx_10k": _check(small_xlsx),
            "pandas_read_excel_calamine_100k": _pandas_call("read_excel", xlsx, "engine='calamine', dtype=object"),
            "pandas_read_excel_openpyxl_100k": _pandas_call("read_excel", xlsx, "engine='openpyxl', dtype=object"),
            "python_startup": [sys.executable, "-c", "import bulk_updater.checking"],
        }
        for name, command in runs.items():
            figures[name] = measure(command)
    _print(figures)
    return figures


def _pandas_call(call: str, path: Path, arguments: str) -> list[str]:
    return [sys.executable, "-c", f"import pandas as pd; frame = pd.{call}({str(path)!r}, header=None, {arguments}); print(len(frame))"]


def _print(figures: dict) -> None:
    print(f"CSV: {CSV_ROWS:,} rows x 6 columns, {figures['csv_1m_size_mb']} MB; XLSX: {XLSX_ROWS:,} rows x 6 columns, {figures['xlsx_100k_size_mb']} MB")
    print(f"{'what':<36}{'seconds':>10}{'peak RSS MB':>14}")
    for name, value in figures.items():
        if isinstance(value, dict):
            print(f"{name:<36}{value['seconds']:>10}{value['peak_rss_mb']:>14}")


if __name__ == "__main__":
    main()
