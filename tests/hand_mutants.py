"""One-line mutants of the canary's decisions, applied by hand (mutmut's own were the rest of the pass): each is
applied alone, the canary's tests run, and the file is put back. Prints KILLED or SURVIVED per mutant.

    .venv/bin/python tests/hand_mutants.py

docs/development.md, "Mutation testing", says what the last run found. Never run by make test (not a test file).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ["tests/test_canary.py", "tests/test_quirks_end_to_end.py", "tests/test_safety_net_attacks.py"]
MUTANTS = [
    ('bulk_updater/safety/canary.py', 'for name in [NOTE, *sorted(set(before.fields) | set(after.fields))]:', 'for name in [NOTE, *sorted(set(before.fields) & set(after.fields))]:'),
    ('bulk_updater/safety/canary.py', 'for name in [NOTE, *sorted(set(before.fields) | set(after.fields))]:', 'for name in [NOTE, *sorted(set(before.fields))]:'),
    ('bulk_updater/safety/canary.py', 'for name in [NOTE, *sorted(set(before.fields) | set(after.fields))]:', 'for name in [*sorted(set(before.fields) | set(after.fields))]:'),
    ('bulk_updater/safety/canary.py', 'if value == "" and not same_value("", now):', 'if value == "" and same_value("", now):'),
    ('bulk_updater/safety/canary.py', 'if value == "" and not same_value("", now):', 'if value != "" and not same_value("", now):'),
    ('bulk_updater/safety/canary.py', 'elif value != "" and not same_value(value, now):', 'elif value != "" and same_value(value, now):'),
    ('bulk_updater/safety/canary.py', 'elif value != "" and not same_value(value, now):', 'elif value == "" and not same_value(value, now):'),
    ('bulk_updater/safety/canary.py', 'elif not same_value(was, now):', 'elif same_value(was, now):'),
    ('bulk_updater/safety/canary.py', '"blanked" if same_value("", now) else "changed"', '"changed" if same_value("", now) else "blanked"'),
    ('bulk_updater/safety/canary.py', 'if name in sent:\n            value = sent[name]', 'if name not in sent:\n            value = sent[name]'),
    ('bulk_updater/safety/canary.py', '({NOTE: request.note} if request.note is not None else {})', '({NOTE: request.note} if request.note is None else {})'),
    ('bulk_updater/safety/canary.py', 'if found or not self._missed():', 'if found or self._missed():'),
    ('bulk_updater/safety/canary.py', 'if found or not self._missed():', 'if found and not self._missed():'),
    ('bulk_updater/safety/canary.py', 'if tries > MAX_TRIES and self.checks:', 'if tries >= MAX_TRIES and self.checks:'),
    ('bulk_updater/safety/canary.py', 'if tries > MAX_TRIES and self.checks:', 'if tries > MAX_TRIES or self.checks:'),
    ('bulk_updater/safety/canary.py', 'return self.found == [] and not self.failure', 'return self.found == [] or not self.failure'),
    ('bulk_updater/safety/canary.py', 'if self.decided and not self.passed:', 'if self.decided and self.passed:'),
    ('bulk_updater/safety/canary.py', 'if self._succeeded is not None and before is not None:', 'if self._succeeded is not None or before is not None:'),
    ('bulk_updater/safety/canary.py', 'if result.kind is Kind.SUCCESS and not self.decided:', 'if result.kind is Kind.SUCCESS:'),
    ('bulk_updater/safety/canary.py', 'elif answer.kind not in (Kind.RETRYABLE, Kind.THROTTLED) and not answer.error_type.startswith("MX"):', 'elif answer.kind not in (Kind.RETRYABLE, Kind.THROTTLED) and answer.error_type.startswith("MX"):'),
    ('bulk_updater/safety/canary.py', 'if self.leaves_note and not self.saw_note:', 'if self.leaves_note or not self.saw_note:'),
    ('bulk_updater/safety/canary.py', 'if self.needs_clear and not self.saw_clear:', 'if self.needs_clear or not self.saw_clear:'),
]


def run(path: str, old: str, new: str) -> str:
    file = ROOT / path
    source = file.read_text()
    if source.count(old) != 1:
        return f"NOT FOUND {path}: {old!r}"
    line = source[: source.index(old)].count("\n") + 1
    file.write_text(source.replace(old, new))
    try:
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:randomly", "-m", "not e2e", *TESTS], cwd=ROOT, capture_output=True)
    finally:
        file.write_text(source)
    verdict = {0: "SURVIVED", 1: "KILLED"}.get(done.returncode, f"ERROR {done.returncode}")
    return f"{verdict} {path}:{line} {old.splitlines()[0]!r} -> {new.splitlines()[0]!r}"


if __name__ == "__main__":
    for mutant in MUTANTS:
        print(run(*mutant), flush=True)
