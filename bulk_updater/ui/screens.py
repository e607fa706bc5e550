"""What a run's page shows, built from the run folder as much as from a live job, so a reload or a
return to a finished run shows the same screen: the progress line, the bar, the failure groups, the
chart, and the stop reason in words.

The per-second counts a chart draws are no part of the library's outputs: the page keeps them in
the run folder's `pace.json` (a small file, rewritten every second while the job runs, and once at
its end), so the chart rebuilds after the job and after a restart of the server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .. import files
from ..errors import FolderError
from ..outcomes import Outcome
from ..rundir.run_record import RunRecord
from ..stop_reason import StopReason

PACE_FILE = "pace.json"
CHART_WIDTH, CHART_HEIGHT = 480, 100
NOT_SENT = Outcome.NOT_SENT.value

# Why a run stopped, as the person reading the page would say it.
STOP_WORDS: dict[StopReason, str] = {
    StopReason.UNAUTHORIZED: "stopped: LeadSquared rejected the keys",
    StopReason.INTERRUPTED: "stopped by Ctrl-C",
    StopReason.TERMINATED: "stopped when the server was stopped",
    StopReason.STOPPED: "stopped by you",
    StopReason.THROTTLED: "stopped: LeadSquared kept answering 'too many requests'",
    StopReason.CANARY: "stopped: the first update did more or less than it was asked",
    StopReason.FAILING: "stopped: the rows kept failing the same way",
    StopReason.MAX_CALLS: "stopped: the call budget (--max-calls) ran out",
    StopReason.INCOMPLETE: "stopped: a row got no outcome (a bug)",
    StopReason.DRY_RUN: "a dry run: nothing sent",
}
STATE_WORDS = {"starting": "starting", "running": "running", "stopping": "stopping…", "finished": "finished",
               "stopped": "stopped", "failed": "failed"}


def stop_words(reason: StopReason | None) -> str:
    return STOP_WORDS.get(reason, "stopped") if reason is not None else ""


@dataclass(frozen=True)
class Pace:
    """The pace a job kept: rows finished in each of its last seconds, the calls and the seconds it took."""

    series: list[int] = field(default_factory=list)
    calls: int = 0
    elapsed: float = 0.0

    @property
    def calls_per_second(self) -> float:
        return round(self.calls / self.elapsed, 2) if self.elapsed > 0 else 0.0


def write_pace(folder: Path, series: list[int], calls: int, elapsed: float) -> None:
    text = json.dumps({"series": series, "calls": calls, "elapsed": round(elapsed, 1)}, separators=(",", ":")) + "\n"
    files.replace_text(folder / PACE_FILE, text)


def read_pace(folder: Path) -> Pace:
    """The pace the folder kept; an empty one when there is none (a CLI's run) or it can't be read."""
    try:
        text = files.read_text(folder / PACE_FILE)
        data = json.loads(text) if text else {}
        series = [int(n) for n in data.get("series", [])]
        return Pace(series, int(data.get("calls", 0)), float(data.get("elapsed", 0.0)))
    except (ValueError, TypeError, AttributeError, OSError, FolderError):
        return Pace()


@dataclass(frozen=True)
class Progress:
    """A run's progress line and bar: `75 of 200 rows done · stopped by you · 125 not sent`."""

    total: int
    counts: dict[str, int]
    state: str  # in words: "running", "finished", "stopped by you", ...

    @property
    def not_sent(self) -> int:
        return self.counts.get(NOT_SENT, 0)

    @property
    def done(self) -> int:
        """Rows with an outcome of their own (sent, invalid or skipped): not those left unsent by a stop."""
        return sum(self.counts.values()) - self.not_sent

    @property
    def percent(self) -> float:
        return min(100.0, 100.0 * self.done / self.total) if self.total else 0.0


def finished_progress(summary: dict, live_state: str = "") -> Progress:
    """The progress a finished run's summary.json gives (its stop reason in words)."""
    counts = {name: int(n) for name, n in summary.get("counts", {}).items()}
    reason = StopReason.read(summary.get("stop_reason"))
    state = stop_words(reason) if reason is not None else STATE_WORDS.get(live_state, "finished")
    if not summary:
        state = STATE_WORDS.get(live_state, live_state)
    return Progress(sum(counts.values()), counts, state)


def chart_points(series: list[int]) -> str:
    """The SVG polyline's points for rows per second (the same drawing as run.js's)."""
    if not series:
        return ""
    top = max(1, *series)
    step = CHART_WIDTH / (len(series) - 1) if len(series) > 1 else CHART_WIDTH
    return " ".join(f"{i * step:.1f},{CHART_HEIGHT - (v / top) * (CHART_HEIGHT - 12):.1f}" for i, v in enumerate(series))


def run_title(record: RunRecord | None, original_name) -> str:
    """What the run's page and the home table call a run: its file's name, and "retry of ..." / "undo of ..."."""
    if record is None:
        return ""
    name = original_name(Path(record.input)) or Path(record.input).name
    if record.command == "retry":
        earlier = Path(record.retry_of) if record.retry_of else Path(record.input).parent
        return f"retry of {_earlier_title(earlier, original_name) or name}"
    if record.command == "undo":
        return f"undo of {_earlier_title(Path(record.input).parent, original_name) or name}"
    return name


def _earlier_title(folder: Path, original_name) -> str:
    try:
        earlier = RunRecord.load(folder)
    except Exception:  # a damaged run.json: the folder's name says enough
        earlier = None
    return run_title(earlier, original_name) if earlier is not None else ""
