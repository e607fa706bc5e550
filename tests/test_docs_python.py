"""The Python page's example (docs/python.md) runs as written, against the sandbox the demo starts (`bulk-updater sandbox --demo` knows the same activities)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bulk_updater import demo

ROOT = Path(__file__).parent.parent


@pytest.mark.e2e  # a whole flow of several commands: the slow tier keeps make test under a minute
def test_the_python_pages_example_runs_as_written(tmp_path, sandbox, monkeypatch, capsys):
    [example] = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "python.md").read_text(encoding="utf-8"), flags=re.S)
    box = sandbox(**vars(demo.sandbox_config()))
    # the lines `bulk-updater sandbox` prints, pasted
    monkeypatch.setenv("LSQ_HOST", box.url)
    monkeypatch.setenv("LSQ_ACCESS_KEY", box.config.access_key)
    monkeypatch.setenv("LSQ_SECRET_KEY", box.config.secret_key)
    (tmp_path / "demo-out").mkdir()
    (tmp_path / "demo-out" / "activities.csv").write_bytes(demo.sample_sheet())  # what `bulk-updater demo` leaves
    monkeypatch.chdir(tmp_path)
    exec(compile(example, "docs/python.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "'success': " in printed
    assert (tmp_path / "runs" / "from-python" / "report.csv").exists()
    assert box.state.calls > 0
