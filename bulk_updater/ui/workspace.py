"""The workspace folder: the uploaded sheets, and one output folder per run (the CLI's folders).

    WORKSPACE/uploads/<id>/input.<ext>   a sheet, under a name the server chose
    WORKSPACE/uploads/<id>/choices.json  the sheet picked and the upload's original name
    WORKSPACE/uploads/<id>/map.json      the header -> SchemaName map (a --map file), if any
    WORKSPACE/runs/<id>/                 report.csv, failed.csv, summary.json, run.json, ...

Nothing the browser sends becomes a path: ids are made here and checked on the way back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..rows import ReadOptions
from ..rundir.folder import SUMMARY
from ..rundir.run_record import RunRecord, RunState

UPLOAD_CAP = 200 * 1024 * 1024  # bytes; aiohttp's own body limit (1 MiB) does not apply to a streamed upload
UPLOAD_TOTAL = 2 * 1024 * 1024 * 1024  # all the workspace's uploads together (--max-upload-total)
# Free space an upload must leave on the workspace's disk: its runs write their reports there.
FREE_SPACE_KEPT = 512 * 1024 * 1024
FREE_SPACE_LOOK = 8 * 1024 * 1024  # bytes received between two looks at the free space
UNITS = {"": 1, "B": 1, "K": 1024, "KB": 1024, "M": 1024**2, "MB": 1024**2, "G": 1024**3, "GB": 1024**3, "T": 1024**4, "TB": 1024**4}
SHEET_EXTENSIONS = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls", ".ods")
WORKBOOK_EXTENSIONS = (".xlsx", ".xlsm", ".xls", ".ods")
CHOICES, MAP = "choices.json", "map.json"
_ID = re.compile(r"[0-9]{8}-[0-9]{6}-[0-9a-f]{6}")


class UploadRefused(Exception):
    """An upload that can't be kept: its message says why and what to do; `status` is the HTTP answer."""

    status = 413


class UploadTooBig(UploadRefused):
    pass


class WorkspaceFull(UploadRefused):
    pass


class DiskFull(UploadRefused):
    status = 507  # Insufficient Storage


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
    def __init__(self, root: Path, upload_cap: int = UPLOAD_CAP, upload_total: int = UPLOAD_TOTAL) -> None:
        self.root, self.upload_cap, self.upload_total = root, upload_cap, upload_total
        self.uploads, self.runs = root / "uploads", root / "runs"
        # Bytes received so far by each upload under way (the server's one thread updates it), and the
        # uploads kept before them: what the next chunk of any upload is counted against.
        self._receiving: dict[Path, int] = {}
        self._stored = 0

    # --- uploads -----------------------------------------------------------------------

    def new_upload_path(self, original_name: str) -> Path:
        """A fresh folder and file name for an upload; the browser's name only gives the extension."""
        suffix = Path(original_name).suffix.lower()
        folder = self.uploads / new_id()
        folder.mkdir(parents=True)
        return folder / f"input{suffix}"

    @contextlib.contextmanager
    def receiving(self, path: Path, announced: int | None) -> Iterator[Receipt]:
        """An upload to `path` under way: each chunk is counted (Receipt.add) against the upload cap, the
        workspace's total and the disk's free space; `announced` (its Content-Length) is checked first."""
        if not self._receiving:  # nothing under way: count what the folder holds (uploads may have been deleted)
            self._stored = _size_of(self.uploads)
        receipt = Receipt(self, path)
        self._receiving[path] = 0
        try:
            receipt.check_announced(announced)
            yield receipt
        except BaseException:
            self._receiving.pop(path, None)
            raise
        self._stored += self._receiving.pop(path, 0)

    def used(self) -> int:
        return self._stored + sum(self._receiving.values())

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


class Receipt:
    """The bytes of one upload, as they arrive."""

    def __init__(self, workspace: Workspace, path: Path) -> None:
        self.workspace, self.path, self.size = workspace, path, 0
        self._next_look = 0

    def check_announced(self, announced: int | None) -> None:
        workspace = self.workspace
        if announced is not None and announced > workspace.upload_cap + 64 * 1024:  # the form's own bytes beside the file
            raise UploadTooBig(too_big(workspace.upload_cap))
        if announced is not None and workspace.used() + announced > workspace.upload_total + 64 * 1024:
            raise WorkspaceFull(workspace_full(workspace))
        self._look_at_the_disk(announced or 0)

    def add(self, count: int) -> None:
        workspace = self.workspace
        self.size += count
        workspace._receiving[self.path] = self.size
        if self.size > workspace.upload_cap:
            raise UploadTooBig(too_big(workspace.upload_cap))
        if workspace.used() > workspace.upload_total:
            raise WorkspaceFull(workspace_full(workspace))
        if self.size >= self._next_look:
            self._look_at_the_disk(0)
            self._next_look = self.size + FREE_SPACE_LOOK

    def _look_at_the_disk(self, coming: int) -> None:
        free = free_space(self.workspace.root)
        if free - coming < FREE_SPACE_KEPT:
            raise DiskFull(
                f"The workspace's disk has {megabytes(free)} free: too little to keep this upload and leave "
                f"{megabytes(FREE_SPACE_KEPT)} for the runs' reports. Free some space on it, or start bulk-updater ui "
                f"with --workspace on another disk."
            )


def free_space(folder: Path) -> int:
    return shutil.disk_usage(folder if folder.exists() else folder.parent).free


def too_big(cap: int) -> str:
    return f"The file is larger than the {megabytes(cap)} limit. Split it into smaller sheets and upload each."


def workspace_full(workspace: Workspace) -> str:
    return (f"The workspace's uploads would pass their {megabytes(workspace.upload_total)} limit ({megabytes(workspace.used())} "
            f"are kept in {workspace.uploads}). Delete the uploads you no longer need from that folder, or start "
            f"bulk-updater ui with a larger --max-upload-total.")


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):,.6g} MB" if size >= 1024 * 1024 else f"{size:,} bytes"


def parse_size(text: str) -> int:
    """`2GB`, `500MB`, `1.5G`, `123456` (bytes): the page's --max-upload-total."""
    found = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", text)
    unit = found[2].upper() if found else ""
    if found is None or unit not in UNITS or float(found[1]) * UNITS[unit] < 1:
        raise ValueError(f"{text!r} is not a size: write it as a number of bytes, or with KB, MB or GB (2GB)")
    return int(float(found[1]) * UNITS[unit])


def _size_of(folder: Path) -> int:
    if not folder.is_dir():
        return 0
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


def new_id() -> str:
    """Sortable by time, unguessable enough to never collide: 20261128-031500-a1b2c3."""
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)

