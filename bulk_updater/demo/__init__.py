"""`bulk-updater demo` (and `make demo`): the whole safety net on a sample sheet, with no account.

It starts the sandbox (a LeadSquared stand-in on this computer) in this process, then runs the
real commands against it, as the admin would type them: `run --backup`, `verify`, `undo`, and
checks that every activity is back as it was. The sample sheet and the sandbox's activities ship
inside the package, so this works from any folder once the package is installed.

Everything goes in a new folder (demo-out, else demo-out-2, demo-out-3...): a folder the admin
may have opened and edited (a failed.xlsx fixed by hand) is never written over.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError
from ..sandbox.demo_world import FIELDS, sandbox_activities
from ..settings import Rate
from ..shell import quote

DEFAULT_FOLDER = "demo-out"
SHEET = "activities.csv"  # the sample sheet's name, in the package and in the demo's folder
ENV_FILE = "sandbox.env"

if TYPE_CHECKING:
    from ..sandbox import SandboxConfig, SandboxThread


def sample_sheet() -> bytes:
    """The sample sheet: rows that end in every outcome (success, failed, invalid, skipped)."""
    return resources.files(__name__).joinpath(SHEET).read_bytes()


def sandbox_config(**overrides: object) -> SandboxConfig:
    """The sandbox the demo runs against: the demo's activities, with their values and their activity
    type's fields (`bulk-updater sandbox --demo` knows the same), at an Enterprise limit with some latency."""
    from ..sandbox import SandboxConfig  # aiohttp.web: imported when the sandbox is wanted

    activities = sandbox_activities()
    settings: dict[str, object] = {"rate": Rate(25, 5), "latency": (0.05, 0.2), "activities": set(activities), "initial": activities, "fields": FIELDS}
    return SandboxConfig(**{**settings, **overrides})  # type: ignore[arg-type]


def new_folder(base: str = DEFAULT_FOLDER) -> Path:
    """Make and return the first of `base`, `base-2`, `base-3`... that does not exist yet.

    Made with mkdir, which fails on a folder that exists: two demos started at once take two folders.
    """
    for number in range(1, 10_000):
        folder = Path(base if number == 1 else f"{base}-{number}")
        try:
            folder.mkdir(parents=True)
        except FileExistsError:
            continue
        return folder
    raise InputError(f"{base}, {base}-2 ... {base}-9999 all exist", hint="Give the demo another folder with --out.")


def given_folder(path: str) -> Path:
    """The folder the admin named: made new, never one that exists (the demo writes over nothing)."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True)
    except FileExistsError:
        raise InputError(f"{path} already exists", hint="The demo writes only into a new folder: name one that does not exist, or leave out --out.") from None
    return folder


@dataclass(frozen=True)
class Step:
    """One command of the demo, and the exit codes that mean it went as the demo expects."""

    argv: tuple[str, ...]
    expected: tuple[int, ...]
    why: str  # said after the command when its exit code is not 0


def steps(folder: Path, progress: bool = True) -> list[Step]:
    """The commands, as the admin would type them in the folder the demo was started from."""
    sheet, run, undo, env = (quote(str(folder / name)) for name in (SHEET, "run", "undo", ENV_FILE))
    shown = () if progress else ("--no-progress",)
    return [
        Step(("run", sheet, "--out", run, "--backup", "--yes", "--env-file", env, *shown), (0, 1), "some rows need another look, as the sample means them to"),
        Step(("verify", run, "--env-file", env), (0,), ""),
        Step(("undo", run, "--out", undo, "--yes", "--env-file", env, *shown), (0,), ""),
    ]


def run_demo(folder: Path, command: Callable[[Sequence[str]], int], progress: bool = True, say: Callable[[str], None] | None = None) -> int:
    """Run the demo into `folder` (new and empty), each step through `command` (the CLI's, in process).

    Returns 0 when every step ended as expected and the undo put every activity back; else the
    first unexpected exit code (a Ctrl-C's 130 stops the demo there), or 1.
    """
    from ..sandbox import SandboxThread

    say = say or _say
    (folder / SHEET).write_bytes(sample_sheet())
    config = sandbox_config()
    with SandboxThread(config) as sandbox:
        _write_env_file(folder / ENV_FILE, sandbox.url, config.access_key, config.secret_key)
        say(f"The sandbox, a LeadSquared stand-in on this computer, answers at {sandbox.url}: nothing leaves this machine.")
        say(f"The sample sheet is {folder / SHEET}; the sandbox's address and demo keys are in the env file {folder / ENV_FILE}.\n")
        before = _values(sandbox)
        for step in steps(folder, progress):
            say("$ bulk-updater " + " ".join(step.argv) + "\n")
            code = command(list(step.argv))
            if code not in step.expected:
                say(f"\nExit code {code}: the demo stops here.")
                return code or 1
            if code:
                say(f"\nExit code {code}: {step.why}.")
            if step.argv[0] == "run":
                _show_report(folder / "run", say)
            say("")
        restored = _values(sandbox) == before
    say(f"After the undo every activity is as before the run: {'yes' if restored else 'NO'}.")
    say(_next_steps(folder))
    return 0 if restored else 1


def _say(text: str) -> None:
    print(text, flush=True)  # before the next command's own output, which may go to stderr


def _show_report(run: Path, say: Callable[[str], None]) -> None:
    say(f"\nThe report, {run / 'report.csv'} (also report.xlsx; failed.xlsx holds the rows to fix):")
    say((run / "report.csv").read_text(encoding="utf-8-sig"))
    say(f"The values from before the run, kept by --backup for undo ({run / 'undo.csv'}):")
    say((run / "undo.csv").read_text(encoding="utf-8-sig"))


def _next_steps(folder: Path) -> str:
    return (
        f"\nEverything is in {folder}/: the sheet, the run (run/), its undo (undo/). Open run/report.xlsx to read what happened\n"
        "to each row. To try the README's recipes on the same activities, start `bulk-updater sandbox --demo` in another\n"
        "terminal and paste the lines it prints."
    )


def _write_env_file(path: Path, url: str, access_key: str, secret_key: str) -> None:
    """An env file as the admin writes one for their own keys (readable by its owner only)."""
    text = f"# The demo sandbox's address and keys: an env file for your account holds your own.\nLSQ_HOST={url}\nLSQ_ACCESS_KEY={access_key}\nLSQ_SECRET_KEY={secret_key}\n"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as file:
        file.write(text)


def _values(sandbox: SandboxThread) -> dict:
    """Each activity's note and non-empty fields (an empty field and an absent one are the same)."""
    return {
        activity_id: (activity["ActivityNote"] or "", {name: value for name, value in activity["Fields"].items() if value})
        for activity_id, activity in sandbox.state.activities.items()
    }
