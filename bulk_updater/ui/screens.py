"""What a run's page shows, built from the run folder as much as from a live job, so a reload or a
return to a finished run shows the same screen: the progress line, the bar, the failure groups, the
chart, and the stop reason in words.

The per-second counts a chart draws are no part of the library's outputs: the page keeps them in
the run folder's `pace.json` (rewritten every second while the job runs, and once at its end), so the
chart rebuilds after the job and after a restart of the server. It holds the whole run, every session
of it, at most CHART_POINTS numbers: when the run outgrows them, two neighbouring buckets become one
of twice the seconds (PaceHistory), so a day-long run's file is as small as a minute's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .. import files
from ..errors import FolderError
from ..outcomes import Outcome
from ..report.tally import TallySnapshot
from ..rundir.run_record import RunRecord
from ..stop_reason import StopReason

PACE_FILE = "pace.json"
CHART_WIDTH, CHART_HEIGHT = 480, 100
CHART_POINTS = CHART_WIDTH  # the most buckets a pace keeps: one per pixel of the chart
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
    """The pace a job kept: rows per second over the whole run (each point `bucket` seconds), the calls and the seconds it took."""

    series: list[float] = field(default_factory=list)  # rows per second, one point per bucket
    calls: int = 0
    elapsed: float = 0.0
    bucket: int = 1  # seconds each point of the series stands for
    seconds: int = 0  # seconds the series covers

    @property
    def calls_per_second(self) -> float:
        return round(self.calls / self.elapsed, 2) if self.elapsed > 0 else 0.0

    @property
    def peak(self) -> float:
        return max(self.series, default=0)


@dataclass
class PaceHistory:
    """Rows finished in each second of a run, every session of it, in at most CHART_POINTS buckets:
    when one more would not fit, each two neighbours become one bucket of twice the seconds."""

    rows: list[int] = field(default_factory=list)  # rows finished in each bucket; the last may be partly filled
    bucket: int = 1
    seconds: int = 0
    calls: int = 0
    elapsed: float = 0.0

    def add_second(self, rows: int) -> None:
        index = self.seconds // self.bucket
        if index == len(self.rows):
            self.rows.append(0)
        self.rows[index] += rows
        self.seconds += 1
        if len(self.rows) > CHART_POINTS:
            self.rows = [sum(self.rows[i : i + 2]) for i in range(0, len(self.rows), 2)]
            self.bucket *= 2

    def pace(self) -> Pace:
        """Rows per second in each bucket (the last one over the seconds it has so far)."""
        full = self.seconds // self.bucket
        widths = [self.bucket] * full + ([self.seconds - full * self.bucket] if self.seconds % self.bucket else [])
        series = [round(rows / width, 2) for rows, width in zip(self.rows, widths, strict=False)]
        return Pace(series, self.calls, self.elapsed, self.bucket, self.seconds)

    def to_text(self) -> str:
        # Milliseconds: a one-call undo takes 0.04 s, and at tenths its calls/s read back as 0.
        data = {"series": self.rows, "bucket": self.bucket, "seconds": self.seconds, "calls": self.calls, "elapsed": round(self.elapsed, 3)}
        return json.dumps(data, separators=(",", ":")) + "\n"

    @classmethod
    def from_text(cls, text: str) -> PaceHistory:
        """A history written by `to_text`, or by an older page (`series` per second of the last two minutes)."""
        data = json.loads(text)
        rows = [int(n) for n in data.get("series", [])]
        bucket = max(1, int(data.get("bucket", 1)))
        seconds = int(data.get("seconds", len(rows) * bucket))
        if (rows and not (len(rows) - 1) * bucket < seconds <= len(rows) * bucket) or len(rows) > CHART_POINTS:
            raise ValueError("the pace's buckets and seconds disagree")
        return cls(rows, bucket, seconds if rows else 0, int(data.get("calls", 0)), float(data.get("elapsed", 0.0)))


class PaceKeeper:
    """A job's PaceHistory, fed from its tally's snapshots: each second the tally finished is added once,
    after those of the run's earlier sessions (`earlier`, for a resume)."""

    def __init__(self, earlier: PaceHistory | None = None) -> None:
        self.history = earlier or PaceHistory()
        self._calls_before, self._elapsed_before = self.history.calls, self.history.elapsed
        self._next = 0  # this session's first second not added yet

    def take(self, snapshot: TallySnapshot, final: bool = False) -> Pace:
        """Add the seconds the snapshot shows finished (with `final`, the one going on too); the pace so far."""
        now = int(snapshot.elapsed)
        first = now - len(snapshot.series) + 1  # the second of the snapshot's first count
        end = now + 1 if final else now
        for second in range(self._next, end):
            index = second - first
            self.history.add_second(snapshot.series[index] if 0 <= index < len(snapshot.series) else 0)
        self._next = max(self._next, end)
        self.history.calls = self._calls_before + snapshot.calls
        self.history.elapsed = self._elapsed_before + snapshot.elapsed
        return self.history.pace()


def write_pace(folder: Path, history: PaceHistory) -> None:
    files.replace_text(folder / PACE_FILE, history.to_text())


def read_history(folder: Path) -> PaceHistory | None:
    """The history the folder kept; None when there is none (a CLI's run) or it can't be read."""
    try:
        text = files.read_text(folder / PACE_FILE)
        return PaceHistory.from_text(text) if text else None
    except (ValueError, TypeError, AttributeError, OSError, FolderError):
        return None


def read_pace(folder: Path) -> Pace:
    """The pace the folder kept; an empty one when there is none (a CLI's run) or it can't be read."""
    history = read_history(folder)
    return history.pace() if history is not None else Pace()


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


def chart_points(series: list[float]) -> str:
    """The SVG polyline's points for rows per second (the same drawing as page.js's)."""
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
