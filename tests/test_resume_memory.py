"""Resume memory stays flat (docs/design.md, "Per-row state lives on disk"): the repair streams the
report, and the recovered state is counts and a bitmap.
The whole-process figures at 1,000,000 rows are in `make bench BENCH=resume`."""

from __future__ import annotations

import csv
import tracemalloc

from conftest import read_report

from bulk_updater.report.writer import report_header
from bulk_updater.rundir.recovery import recover_report
from bulk_updater.rundir.rowset import RowSet

COLUMNS = ["CompanyActivityId", "ActivityNote"]
HEADER = report_header(COLUMNS)
LINES = 30_000


def big_report(path, lines: int = LINES):
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for n in range(lines):
            outcome = "not_sent" if n % 10 == 0 else "success"
            out.writerow([f"255539a4-0380-4b8c-84db-{n:012d}", f"a note for row {n}", n + 2, outcome, 1, 200, "", ""])
        f.write("255539a4-0380-4b8c-84db-0000000,half a li")  # torn by a kill
    return path


def test_repairing_a_big_report_does_not_hold_it_in_memory(tmp_path):
    path = big_report(tmp_path / "report.csv")
    size = path.stat().st_size  # about 2 MB

    tracemalloc.start()
    try:
        recorded = recover_report(path, HEADER)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert peak < size / 5, f"the repair held {peak:,} bytes for a {size:,}-byte report"
    assert len(recorded.rows) == LINES - LINES // 10 and recorded.not_sent_dropped == LINES // 10 and recorded.damaged_dropped == 1
    assert recorded.outcomes == {("success", "", ""): LINES - LINES // 10}
    assert len(read_report(path)) == LINES - LINES // 10  # rewritten without the not_sent and torn lines


def test_a_rowset_is_a_set_of_row_numbers_at_a_bit_each():
    rows = RowSet([2, 3, 70_000, 3, 10**12])
    assert rows == {2, 3, 70_000, 10**12} and len(rows) == 4
    assert 4 not in rows and -1 not in rows and "2" not in rows
    tracemalloc.start()
    try:
        dense = RowSet(range(100_000))
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(dense) == 100_000 and held <= 40_000  # two blocks of 8 KB, a bit a row: a set would hold some 6 MB
