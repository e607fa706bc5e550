"""Start-up: the heavy libraries are imported only by the commands that use them."""

import subprocess
import sys

import pytest

HEAVY = ("pandas", "numpy", "openpyxl", "xlsxwriter", "python_calamine", "aiohttp")

PROBE = """
import sys
from bulk_updater import cli
try:
    cli.main({argv!r})
except SystemExit:
    pass
print("IMPORTED:" + ",".join(name for name in {heavy!r} if name in sys.modules))
"""


def imported_by(argv: list[str]) -> set[str]:
    """The heavy libraries a fresh interpreter has imported after `bulk-updater ARGV`."""
    result = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv, heavy=HEAVY)], capture_output=True, text=True, timeout=60)
    marker = result.stdout.rindex("IMPORTED:")
    return set(filter(None, result.stdout[marker + len("IMPORTED:"):].strip().split(",")))


@pytest.mark.e2e
def test_help_imports_no_heavy_library():
    assert imported_by(["--help"]) == set()
    assert imported_by(["run", "--help"]) == set()


@pytest.mark.e2e
def test_checking_a_csv_imports_no_heavy_library(tmp_path):
    """Not pandas either: the csv module reads delimited text (pandas' import alone takes about 0.25 s)."""
    sheet = tmp_path / "in.csv"
    sheet.write_text('CompanyActivityId,Status,ActivityNote\n0c5b1f6e-2f0a-4d7e-9a51-3d2f1b0c9e11,Won,"a, b"\n')
    assert imported_by(["check", str(sheet)]) == set()
