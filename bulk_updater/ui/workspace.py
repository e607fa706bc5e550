"""The workspace folder: the uploaded sheets, and one output folder per run (the CLI's folders).

    WORKSPACE/uploads/<id>/input.<ext>   a sheet, under a name the server chose
    WORKSPACE/uploads/<id>/choices.json  the sheet picked and the upload's original name
    WORKSPACE/uploads/<id>/map.json      the header -> SchemaName map (a --map file), if any
    WORKSPACE/runs/<id>/                 report.csv, failed.csv, summary.json, run.json, ...

Nothing the browser sends becomes a path: ids are made here and checked on the way back.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from ..report.folder import SUMMARY
from ..report.run_record import RunRecord, RunState
from ..rows import ReadOptions

UPLOAD_CAP = 200 * 1024 * 1024  # bytes; aiohttp's own body limit (1 MiB) does not apply to a streamed upload
SHEET_EXTENSIONS = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls", ".ods")
WORKBOOK_EXTENSIONS = (".xlsx", ".xlsm", ".xls", ".ods")
CHOICES, MAP = "choices.json", "map.json"
_ID = re.compile(r"[0-9]{8}-[0-9]{6}-[0-9a-f]{6}")


class UploadTooBig(Exception):
    pass


@dataclass
class Upload:
    id: str
    path: Path  # the sheet
    original_name: str
    sheet: str | None = None
    mapped: dict[str, str] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def is_workbook(self) -> bool:
        return self.path.suffix in WORKBOOK_EXTENSIONS

    @property
    def map_path(self) -> Path | None:
        return self.folder / MAP if self.mapped else None

    def read_options(self) -> ReadOptions:
        return ReadOptions(sheet=self.sheet, map_path=self.map_path)


@dataclass
class RunFolder:
    id: str
    path: Path
    record: RunRecord | None
    summary: dict

    @property
    def unfinished(self) -> bool:
        return self.record is not None and self.record.state is not RunState.FINISHED


class Workspace:
    def __init__(self, root: Path, upload_cap: int = UPLOAD_CAP) -> None:
        self.root, self.upload_cap = root, upload_cap
        self.uploads, self.runs = root / "uploads", root / "runs"

    # --- uploads -----------------------------------------------------------------------

    def new_upload_path(self, original_name: str) -> Path:
        """A fresh folder and file name for an upload; the browser's name only gives the extension."""
        suffix = Path(original_name).suffix.lower()
        folder = self.uploads / new_id()
        folder.mkdir(parents=True)
        return folder / f"input{suffix}"

    def save_upload(self, path: Path, original_name: str) -> Upload:
        upload = Upload(path.parent.name, path, Path(original_name).name)
        self.save_choices(upload)
        return upload

    def save_choices(self, upload: Upload) -> None:
        choices = {"original_name": upload.original_name, "file": upload.path.name, "sheet": upload.sheet}
        (upload.folder / CHOICES).write_text(json.dumps(choices, indent=2) + "\n", encoding="utf-8")
        if upload.mapped:
            (upload.folder / MAP).write_text(json.dumps(upload.mapped, indent=2) + "\n", encoding="utf-8")
        else:
            (upload.folder / MAP).unlink(missing_ok=True)

    def upload(self, upload_id: str) -> Upload | None:
        folder = self._child(self.uploads, upload_id)
        if folder is None or not (folder / CHOICES).exists():
            return None
        choices = json.loads((folder / CHOICES).read_text(encoding="utf-8"))
        mapped = json.loads((folder / MAP).read_text(encoding="utf-8")) if (folder / MAP).exists() else {}
        return Upload(upload_id, folder / choices["file"], choices["original_name"], choices.get("sheet"), mapped)

    def original_name(self, path: Path) -> str:
        """The name a sheet had when it was uploaded ("" for a file that is not an upload of this workspace)."""
        folder = path.parent
        if folder.parent.resolve() != self.uploads.resolve():
            return ""
        try:
            found = self.upload(folder.name)
        except (OSError, ValueError, KeyError):  # a damaged choices.json: the file's own name
            return ""
        return found.original_name if found is not None and found.path.name == path.name else ""

    # --- runs --------------------------------------------------------------------------

    def new_run_folder(self) -> RunFolder:
        run_id = new_id()
        path = self.runs / run_id
        path.mkdir(parents=True)
        return RunFolder(run_id, path, None, {})

    def run(self, run_id: str) -> RunFolder | None:
        path = self._child(self.runs, run_id)
        if path is None:
            return None
        try:
            record = RunRecord.load(path)
        except Exception:  # a damaged run.json: listed, not resumable from here
            record = None
        summary = {}
        if (path / SUMMARY).exists():
            try:
                summary = json.loads((path / SUMMARY).read_text(encoding="utf-8"))
            except ValueError:
                summary = {}
        return RunFolder(run_id, path, record, summary)

    def all_runs(self) -> list[RunFolder]:
        if not self.runs.is_dir():
            return []
        found = (self.run(p.name) for p in sorted(self.runs.iterdir(), reverse=True) if p.is_dir())
        return [run for run in found if run is not None]

    def _child(self, parent: Path, name: str) -> Path | None:
        if not _ID.fullmatch(name):
            return None
        path = parent / name
        return path if path.is_dir() else None


def new_id() -> str:
    """Sortable by time, unguessable enough to never collide: 20261128-031500-a1b2c3."""
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)

