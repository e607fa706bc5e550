"""summary.json: the counts of a run, and its failures grouped by cause."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..outcomes import FINISHED, Outcome, RowOutcome

TOP_GROUPS = 10


@dataclass
class Summary:
    input: str
    rate: str
    counts: dict[str, int] = field(default_factory=lambda: {o.value: 0 for o in Outcome})
    calls: int = 0
    calls_throttled: int = 0
    elapsed_seconds: float = 0.0
    # Why sending stopped early: "unauthorized", "max_calls", or "" when it did not.
    stop_reason: str = ""
    # (error type, message) -> rows, for every row that needs another look
    _groups: Counter = field(default_factory=Counter, repr=False)

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    def add(self, result: RowOutcome) -> None:
        self.counts[result.outcome.value] += 1
        if result.outcome not in FINISHED:
            self._groups[(result.outcome.value, result.error_type, result.error_message)] += 1

    def failure_groups(self) -> list[dict]:
        return [
            {"rows": rows, "outcome": outcome, "error_type": error_type, "error_message": message}
            for (outcome, error_type, message), rows in self._groups.most_common(TOP_GROUPS)
        ]

    def to_json(self) -> dict:
        data = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        data["rows"] = self.rows
        data["elapsed_seconds"] = round(self.elapsed_seconds, 3)
        data["failure_groups"] = self.failure_groups()
        return data

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")

    def lines(self) -> list[str]:
        """The end-of-run summary for people."""
        counts = ", ".join(f"{n:,} {name}" for name, n in self.counts.items() if n)
        out = [
            f"{self.rows:,} rows: {counts or 'none'}",
            f"{self.calls:,} calls ({self.calls_throttled:,} answered 429) in {self.elapsed_seconds:.1f} s at {self.rate}",
        ]
        if self.stop_reason == "max_calls":
            out.append("Stopped sending at --max-calls; the rows left are not_sent and can be rerun from failed.csv.")
        for group in self.failure_groups():
            label = ": ".join(part for part in (group["error_type"], group["error_message"]) if part)
            rows = f"{group['rows']:,} row" + ("" if group["rows"] == 1 else "s")
            out.append(f"  {rows} {group['outcome']}: {label}")
        return out

