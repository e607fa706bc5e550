"""A child process's own peak RSS, without the memory of the process that started it.

Linux keeps a process's high-water RSS across exec, and a (v)forked child starts with its
parent's: os.wait4 on a child of this bench reports at least this bench's own peak (after
writing a million-row sheet, 138 MB), whatever the child used. Measured from a small
process instead, the figure is the child's own (at least that small process's: FLOOR).
"""

from __future__ import annotations

import subprocess
import sys
import time

# Runs COMMAND..., prints its exit code and peak RSS in KB (Linux ru_maxrss) as the small
# process's RUSAGE_CHILDREN sees it.
MEASURE = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def own_peak_mb(command: list[str], env: dict[str, str] | None = None) -> tuple[int, float, float]:
    """Run `command` to its end; (exit code, its own peak RSS in MB, seconds)."""
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", MEASURE, *command], env=env, capture_output=True, text=True, check=True)
    seconds = time.monotonic() - started
    code, kilobytes = map(int, result.stdout.split())
    return code, kilobytes / 1024, seconds


def floor_mb() -> float:
    """What the method reports for a process that does nothing: no figure it gives is below this."""
    return own_peak_mb([sys.executable, "-c", "pass"])[1]
