"""The README's tour, step 3, works as written from a clone: demo, sandbox, fix, retry."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

ROOT = Path(__file__).parent.parent
pytestmark = pytest.mark.e2e


def tour_blocks() -> list[str]:
    tour = (ROOT / "README.md").read_text().split("## A five-minute tour")[1].split("\n## ")[0]
    return re.findall(r"```sh\n(.*?)```", tour, flags=re.S)


def test_step_3_of_the_tour(tmp_path):
    sandbox_block, retry_block = tour_blocks()[:2]
    assert "make sandbox" in sandbox_block
    makefile = (ROOT / "Makefile").read_text()
    sandbox_command = re.search(r"^sandbox:.*\n\t\$\(VENV\)/bin/bulk-updater (.*)$", makefile, flags=re.M)[1].split()
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    demo = subprocess.run([sys.executable, "samples/demo.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert demo.returncode == 0, demo.stderr
    # `make sandbox`, on a free port instead of 8765 so that tests never collide
    server = subprocess.Popen(
        [sys.executable, "-m", "bulk_updater", *sandbox_command, "--port", "0"], cwd=tmp_path, stdout=subprocess.PIPE, text=True
    )
    try:
        exports = {}
        while len(exports) < 3:
            line = server.stdout.readline()
            assert line, "the sandbox printed no export lines"
            if match := re.match(r"\s*export (LSQ_\w+)=(\S+)", line):
                exports[match[1]] = match[2]
        failed = tmp_path / "demo-out" / "failed.xlsx"
        book = openpyxl.load_workbook(failed)  # the fix, as Excel saves a typed cell of Text format
        [cell] = [c for row in book.active.iter_rows() for c in row if c.value == "not-an-id"]
        cell.value = "8d116ece-1738-47d9-bd9c-172411e20b8f"
        book.save(failed)
        [command] = [line for line in retry_block.splitlines() if line.strip()]
        argv = command.split("#")[0].split()
        assert argv[0] == ".venv/bin/bulk-updater"
        retry = subprocess.run([sys.executable, "-m", "bulk_updater", *argv[1:]], cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "BULK_UPDATER_STATE_DIR": os.environ["BULK_UPDATER_STATE_DIR"], **exports},
                               capture_output=True, text=True, timeout=120)
        assert retry.returncode == 1, retry.stderr  # the unknown activity fails again
        with (tmp_path / "demo-out-2" / "report.csv").open(encoding="utf-8-sig", newline="") as f:
            report = {row["_row"]: row for row in csv.DictReader(f)}
        assert report["8"]["_outcome"] == "success" and report["8"]["CompanyActivityId"] == "8d116ece-1738-47d9-bd9c-172411e20b8f"
    finally:
        server.terminate()
        server.wait(10)
