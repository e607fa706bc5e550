"""`make bench`: run the benchmarks, print their tables, save their figures.

Each `bench_*.py` beside this file has `main() -> dict`, which prints its own table
(the tool beside its baseline, measured in the same run) and returns the figures.
They are saved in bench-results/NAME.json. Benchmarks are not tests: they time things.

    python tests/bench/run.py            # all of them
    python tests/bench/run.py throughput # only bench_throughput.py
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
RESULTS = Path("bench-results")


def main(names: list[str]) -> int:
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(HERE.parent))
    RESULTS.mkdir(exist_ok=True)
    modules = sorted(p.stem for p in HERE.glob("bench_*.py"))
    chosen = [m for m in modules if not names or m.removeprefix("bench_") in names]
    for name in chosen:
        print(f"\n== {name} ==", flush=True)
        started = time.monotonic()
        figures = importlib.import_module(name).main()
        figures["bench_seconds"] = round(time.monotonic() - started, 1)
        (RESULTS / f"{name}.json").write_text(json.dumps(figures, indent=2) + "\n")
        print(f"(saved in {RESULTS / name}.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
