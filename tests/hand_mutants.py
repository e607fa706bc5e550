"""One-line mutants applied by hand where mutmut could not run (its stats pass crashes in the sandbox's
thread) or does not reach: the canary's decisions, and what verify and the field check compare. Each is
applied alone, its group's tests run, and the file is put back. Prints KILLED or SURVIVED per mutant.

    .venv/bin/python tests/hand_mutants.py            # every group
    .venv/bin/python tests/hand_mutants.py verify     # one group: canary, verify, failing

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

VERIFY_TESTS = [
    "tests/test_verify_comparison.py", "tests/test_safety_net.py", "tests/test_clear_tokens.py", "tests/test_retry_history.py",
    "tests/test_field_check_review.py", "tests/test_written_index.py", "tests/test_field_check_reads.py", "tests/test_column_case.py",
]
VERIFY_MUTANTS = [
    ('bulk_updater/safety/verify.py', 'FieldCheck(name, value, now.value(name), compare(value, now.value(name)))', 'FieldCheck(name, value, now.value(name), compare(value, value))'),
    ('bulk_updater/safety/verify.py', 'if now is not None and (wrong := wrong_activity(now, activity_id)):', 'if now is None and (wrong := wrong_activity(now, activity_id)):'),
    ('bulk_updater/safety/verify.py', '    differ = [check for check in checks if not check.sameness.equal]\n    if not differ:', '    differ = [check for check in checks if check.sameness.equal]\n    if not differ:'),
    ('bulk_updater/safety/verify.py', '    if not differ:\n        return [activity_id, "match"', '    if differ:\n        return [activity_id, "match"'),
    ('bulk_updater/safety/verify.py', 'self.counts["mismatch" if differ else "match"] += 1', 'self.counts["match" if differ else "mismatch"] += 1'),
    ('bulk_updater/safety/verify.py', '        differ = [check for check in checks if not check.sameness.equal]\n        self.counts', '        differ = [check for check in checks if check.sameness.equal]\n        self.counts'),
    ('bulk_updater/safety/verify.py', 'return [activity_id, "error", "", "", "", "", error]', 'return [activity_id, "match", "", "", "", "", error]'),
    ('bulk_updater/safety/written.py', 'and line.get("_error_type") != BACKUP_FAILED', ''),
    ('bulk_updater/safety/written.py', 'line.get("_attempts", "0") not in ("", "0")', 'line.get("_attempts", "0") not in ("0",)'),
    ('bulk_updater/safety/written.py', 'if outcome != Outcome.SUCCESS.value and not tried:', 'if outcome != Outcome.SUCCESS.value and tried:'),
    ('bulk_updater/safety/written.py', '([(NOTE, plan.note)] if plan.note is not None else [])', '[]'),
    ('bulk_updater/safety/written.py', 'if pair[0] not in left_out', 'if pair[0] in left_out'),
    ('bulk_updater/safety/written.py', 'if pair[0] not in left_out', 'if True'),
    ('bulk_updater/safety/written.py', 'int(outcome == Outcome.SUCCESS.value)', '1'),
    ('bulk_updater/safety/written.py', 'if name and not name.startswith("_")', 'if not name.startswith("_")'),
    ('bulk_updater/safety/written.py', 'plan = plan_row(Row(int(line["_row"]), cells), clear_token)', 'plan = plan_row(Row(int(line["_row"]), cells), "")'),
    ('bulk_updater/safety/field_check.py', '    if clashes:\n        raise', '    if not clashes:\n        raise'),
    ('bulk_updater/safety/field_check.py', 'return unknown_columns(check.columns, activity) if check.warn_unknown else []', 'return []'),
    ('bulk_updater/safety/field_check.py', 'if first is None or not check.needs_read:', 'if first is None and not check.needs_read:'),
    ('bulk_updater/safety/field_check.py', 'clashes = case_clashes(check.columns, activity, check.named)', 'clashes = case_clashes(check.columns, activity, frozenset())'),
    ('bulk_updater/safety/field_check.py', 'return self.may_refuse or (self.warn_unknown and any(name not in (ACTIVITY_ID, NOTE) for name in self.columns))', 'return self.may_refuse'),
]
FAILING_TESTS = ["tests/test_safety_net.py", "tests/test_stop_reasons.py", "tests/test_critical_path.py", "tests/test_failing_rule.py"]
FAILING_MUTANTS = [
    ('bulk_updater/safety/failing.py', 'if self._sent <= self.rule.first_rows:', 'if self._sent < self.rule.first_rows:'),
    ('bulk_updater/safety/failing.py', 'self._first_all_same &= permanent and result.error_type == self._first_type', 'self._first_all_same &= permanent'),
    ('bulk_updater/safety/failing.py', 'if self._streak >= self.rule.streak:', 'if self._streak > self.rule.streak:'),
    ('bulk_updater/safety/failing.py', 'self._streak = self._streak + 1 if permanent else 0', 'self._streak = self._streak + 1'),
    ('bulk_updater/safety/failing.py', 'if not self.rule.enabled or self.tripped or result.attempts == 0:', 'if not self.rule.enabled or self.tripped:'),
    ('bulk_updater/safety/failing.py', 'return status is not None and 400 <= status < 500 and status not in _NOT_THE_DATA', 'return status is not None and 400 <= status <= 500 and status not in _NOT_THE_DATA'),
    ('bulk_updater/safety/failing.py', 'return status is not None and 400 <= status < 500 and status not in _NOT_THE_DATA', 'return status is not None and 400 <= status < 500'),
    ('bulk_updater/safety/failing.py', 'result.error_type in ("BackupFailed", "UnexpectedResponse", "TLSError")', 'result.error_type in ("BackupFailed", "UnexpectedResponse")'),
    ('bulk_updater/safety/send_steps.py', 'if canary is not None and canary.decided and not canary.passed:', 'if canary is not None and canary.decided:'),
    ('bulk_updater/safety/send_steps.py', '    if guard is not None:\n        return guard.send', '    if guard is None:\n        return guard.send'),
]
GROUPS = {"canary": (TESTS, MUTANTS), "verify": (VERIFY_TESTS, VERIFY_MUTANTS), "failing": (FAILING_TESTS, FAILING_MUTANTS)}


def run(path: str, old: str, new: str, tests: list[str] = TESTS) -> str:
    file = ROOT / path
    source = file.read_text()
    if source.count(old) != 1:
        return f"NOT FOUND {path}: {old!r}"
    line = source[: source.index(old)].count("\n") + 1
    file.write_text(source.replace(old, new))
    try:
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:randomly", "-m", "not e2e", *tests], cwd=ROOT, capture_output=True)
    finally:
        file.write_text(source)
    verdict = {0: "SURVIVED", 1: "KILLED"}.get(done.returncode, f"ERROR {done.returncode}")
    first = (new.splitlines() or [""])[0]
    return f"{verdict} {path}:{line} {old.splitlines()[0]!r} -> {first!r}"


if __name__ == "__main__":
    for group in sys.argv[1:] or list(GROUPS):
        tests, mutants = GROUPS[group]
        for mutant in mutants:
            print(run(*mutant, tests), flush=True)
