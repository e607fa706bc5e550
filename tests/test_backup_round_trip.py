"""The round trip `run --backup` -> `undo`, over random old values: every activity ends
exactly as it started, or its row was never updated (and is `failed` with `BackupFailed`).

Old values of every JSON type a read may answer: text of any script, error texts (`#N/A`,
`#REF!`), formulas (`=1+2`), clear tokens, leading zeros, long numbers, decimals with their
trailing zeros, true/false, null, absent, and objects, lists and NaN, which no update can
take back. The sandbox answers each one as it is; after the undo, the text the activity
holds is compared strictly with how LeadSquared spells the old value (no leniency).
Each example is a whole run of up to 10 activities and 12 rows (a command costs ~0.3 s).
"""

from __future__ import annotations

import itertools
from decimal import Decimal

from conftest import new_ids, read_report, write_csv
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bulk_updater.rows import NOTE
from bulk_updater.safety.activity import spelled
from bulk_updater.sandbox.server import exact_json

ABSENT = object()  # the field is not in the read's answer at all
FIELDS = ["mx_A", "mx_B", "mx_C"]
SPECIAL_TEXT = [
    "", " ", "  padded  ", "#N/A", "#REF!", "#DIV/0!", "=1+2", "+91987", "-007", "@SUM(A1)", "\t=x", "'quoted",
    "#CLEAR-deadbeef#", "#N/A ", "00501", "12345678901234567890", "1.50", "1.23457E+19", "3/1/2024 10:00", "true", "TRUE",
    "Müller", "数据", "مرحبا", "line\nbreak", "cr\rlf", '"quoted"', "a,b;c",
]
# Values no update is known to take back, or whose exact digits the read did not give: never kept.
UNKEPT = [{"Value": "x", "Label": "X"}, ["a", "b"], {}, [], float("nan"), float("inf"), "\ud800lone"]

decimals = st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-(10**20), max_value=10**20) | st.decimals(
    allow_nan=False, allow_infinity=False, places=0, min_value=-(10**25), max_value=10**25
)
old_values = st.one_of(
    st.sampled_from(SPECIAL_TEXT),
    st.sampled_from(SPECIAL_TEXT),  # twice: the values that broke undo before are the ones to try most
    st.text(max_size=8),
    st.booleans(),
    st.none(),
    st.just(ABSENT),
    st.integers(min_value=-(10**22), max_value=10**22),
    decimals.filter(lambda d: not (d.is_zero() and d.is_signed())),  # JSON -0 reads as the integer 0 (the client's parse)
    st.sampled_from(UNKEPT),
)
# An activity: its note and fields before the run. A row: which activity, and which of its values it changes.
activities = st.lists(st.fixed_dictionaries({name: old_values for name in [NOTE, *FIELDS]}), min_size=2, max_size=10)


@st.composite
def jobs(draw):
    before = draw(activities)
    rows = draw(st.lists(st.tuples(st.integers(0, len(before) - 1), st.sets(st.sampled_from([NOTE, *FIELDS]), min_size=1)), min_size=2, max_size=12))
    return before, rows


def leadsquared_spelling(value: object) -> str:
    """How the old value reads as an update's text, worked out here apart from the code under test:
    the JSON text the sandbox wrote for a number, true/false, "" for empty."""
    if value is None or value is ABSENT:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return exact_json(value)
    assert isinstance(value, str)
    return value


def test_run_with_backup_then_undo_puts_every_old_value_back_exactly(tmp_path, sandbox, bulk):
    box = sandbox()
    folders = itertools.count()

    # No shrinking: each step is two commands, and a failure's message names the field and both values.
    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None, phases=[Phase.explicit, Phase.generate])
    @given(jobs())
    def round_trip(job):
        before, rows = job
        ids = new_ids(len(before))
        for activity_id, values in zip(ids, before):
            box.state.activities[activity_id] = {
                "ActivityNote": None if values[NOTE] is ABSENT else values[NOTE],
                "Fields": {name: values[name] for name in FIELDS if values[name] is not ABSENT},
            }
        n = next(folders)
        sheet = write_csv(
            tmp_path / f"in{n}.csv",
            [["CompanyActivityId", NOTE, *FIELDS], *[[ids[a], *(f"new {r}" if name in names else "" for name in [NOTE, *FIELDS])] for r, (a, names) in enumerate(rows)]],
        )
        code, out, err = bulk(box, "run", str(sheet), "--out", str(tmp_path / f"run{n}"), "--backup", "--concurrency", "2")
        assert code in (0, 1), err
        report = read_report(tmp_path / f"run{n}" / "report.csv")
        never_updated = set()
        for line in report:
            assert line["_outcome"] == "success" or (line["_outcome"], line["_error_type"]) == ("failed", "BackupFailed"), line
            if line["_outcome"] == "failed":
                never_updated.add(int(line["_row"]))
        # A row is refused when, and only when, a value it would change can't be kept (nor sent back).
        for r, (a, names) in enumerate(rows):
            assert (r + 2 in never_updated) == any(_unkept(before[a][name]) for name in names), (rows, before)

        code, out, err = bulk(box, "undo", str(tmp_path / f"run{n}"), "--out", str(tmp_path / f"undo{n}"))

        assert code == 0, err
        assert {line["_outcome"] for line in read_report(tmp_path / f"undo{n}" / "report.csv")} <= {"success"}
        for activity_id, values in zip(ids, before):
            now = box.state.activities[activity_id]
            for name in [NOTE, *FIELDS]:
                after = now["ActivityNote"] if name == NOTE else now["Fields"].get(name, ABSENT)
                old = values[name]
                if _same_object(after, old):
                    continue  # never updated: as it was, type and all
                assert isinstance(after, str), (name, old, after)
                assert after == leadsquared_spelling(old), (name, old, after)
                assert after == spelled(None if old is ABSENT else old), (name, old, after)

    round_trip()


def _unkept(value: object) -> bool:
    return isinstance(value, (dict, list, float)) or (isinstance(value, str) and "\ud800" in value)


def _same_object(after: object, old: object) -> bool:
    if old is ABSENT:
        return after is ABSENT or after is None
    if isinstance(old, float) and old != old:  # NaN
        return isinstance(after, float) and after != after
    return type(after) is type(old) and after == old
