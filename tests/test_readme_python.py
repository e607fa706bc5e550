"""The README's "Use from Python" example runs as written, against the sandbox."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_the_readme_python_example_runs_as_written(tmp_path, sandbox, monkeypatch, capsys):
    [example] = re.findall(r"## Use from Python.*?```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    # The sample activities with their notes and fields (as `bulk-updater sandbox --activities` starts them),
    # not empty ones: the canary's first check can then decide, and the rows are not each sent alone.
    initial = json.loads((ROOT / "samples" / "sandbox-activities.json").read_text())
    box = sandbox(activities=set(initial), initial=initial)
    # the lines `bulk-updater sandbox` prints, pasted
    monkeypatch.setenv("LSQ_HOST", box.url)
    monkeypatch.setenv("LSQ_ACCESS_KEY", box.config.access_key)
    monkeypatch.setenv("LSQ_SECRET_KEY", box.config.secret_key)
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    monkeypatch.chdir(tmp_path)
    exec(compile(example, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "'success': " in printed
    assert (tmp_path / "runs" / "from-python" / "report.csv").exists()
    assert box.state.calls > 0
