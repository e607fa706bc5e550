"""The install path of a non-developer, as the README writes it: the wheel `make dist` builds (from its
sdist), installed by pipx into an environment of its own, then `bulk-updater demo` in an empty folder.

Slow (it builds, and pipx installs the dependencies from the package index): the e2e tier."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
DATA = ("bulk_updater/demo/activities.csv", "bulk_updater/sandbox/sandbox-activities.json", "bulk_updater/ui/templates/base.html")


def _make_dist(out: Path) -> list[str]:
    """The recipe of `make dist`, read from the Makefile and run into `out`."""
    [recipe] = re.findall(r"^dist: .*\n(?:\t.*\n)*?\t\$\(PY\) -m (build .*)$", (ROOT / "Makefile").read_text(), flags=re.M)
    return [sys.executable, "-m", *recipe.replace("--outdir dist", f"--outdir {out}").split()]


def _clean_copy(into: Path) -> Path:
    """The project's files as a fresh clone has them: a build in the working tree would also read
    what an earlier install left there (bulk_updater.egg-info's file list), and hide a file the
    package data leaves out."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, tracked):
        if (ROOT / name).is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, into / name)
    return into


def _install_block() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    [block] = re.findall(r"^## Install\n.*?```sh\n(.*?)```", readme, flags=re.S | re.M)
    return [line.split("#")[0].strip() for line in block.splitlines() if line.split("#")[0].strip()]


def test_the_built_wheel_installs_as_the_readme_says_and_the_demo_runs_in_an_empty_folder(tmp_path):
    """Mutant: the demo's data left out of the package data (the installed demo finds no sample sheet)."""
    dist = tmp_path / "dist"
    built = subprocess.run(_make_dist(dist), cwd=_clean_copy(tmp_path / "clone"), capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = dist.glob("*.whl")
    [sdist] = dist.glob("*.tar.gz")
    with zipfile.ZipFile(wheel) as archive:
        assert set(DATA) <= set(archive.namelist())
    with tarfile.open(sdist) as archive:
        assert all(any(name.endswith(path) for name in archive.getnames()) for path in DATA)

    pip_pipx, ensurepath, install, version = _install_block()
    assert pip_pipx == "python -m pip install --user pipx" and ensurepath == "python -m pipx ensurepath"
    assert install == f"pipx install {wheel.name}" and version == "bulk-updater --version"
    # pipx itself in a fresh environment (a --user install is the admin's whole account), and its
    # environments and commands under tmp_path: what `ensurepath` adds to the PATH is PIPX_BIN_DIR.
    tools = tmp_path / "tools"
    subprocess.run([sys.executable, "-m", "venv", str(tools)], check=True, timeout=300)
    python = tools / ("Scripts" if os.name == "nt" else "bin") / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "pipx"], check=True, timeout=600)
    bin_dir = tmp_path / "bin"
    env = {"PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin", "HOME": str(tmp_path / "home"), "PIPX_HOME": str(tmp_path / "pipx"), "PIPX_BIN_DIR": str(bin_dir)}
    installed = subprocess.run([str(python), "-m", *install.split()], cwd=dist, env=env, capture_output=True, text=True, timeout=900)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    shown = subprocess.run(version.split(), env=env, capture_output=True, text=True, timeout=60)
    assert shown.stdout.strip() == f"bulk-updater {wheel.name.split('-')[1]}"
    empty = tmp_path / "empty"
    empty.mkdir()
    demo = subprocess.run(["bulk-updater", "demo", "--no-progress"], cwd=empty, env=env, capture_output=True, text=True, timeout=300)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "every activity is as before the run: yes" in demo.stdout
    assert (empty / "demo-out" / "run" / "report.csv").exists() and (empty / "demo-out" / "undo" / "report.csv").exists()
