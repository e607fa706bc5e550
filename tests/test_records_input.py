"""The library takes the edits themselves: a pandas DataFrame or a list of dicts."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from conftest import FAST_RATE, new_ids, read_report

import bulk_updater
from bulk_updater import Credentials, JobOptions, SendSettings


def settings(box) -> SendSettings:
    return SendSettings(box.url, Credentials(box.config.access_key, box.config.secret_key), rate=FAST_RATE)


def test_a_dataframe_is_sent_as_a_spreadsheet_would_show_it(tmp_path, sandbox):
    ids = new_ids(3)
    box = sandbox(activities=set(ids))
    frame = pd.DataFrame(
        {
            "CompanyActivityId": ids,
            "ActivityNote": ["first", pd.NA, None],
            "mx_Count": pd.array([7, pd.NA, 12], dtype="Int64"),
            "mx_Score": [1.5, np.nan, 0.25],
            "mx_Flag": np.array([True, False, True]),
            "mx_When": [pd.Timestamp("2024-03-01 14:15:00"), pd.Timestamp("2024-03-01 00:00:00"), pd.NaT],
            "mx_Aware": [pd.Timestamp("2024-03-01 10:00:00", tz="Asia/Kolkata"), None, None],
            "mx_Day": [dt.date(2024, 3, 1), None, None],
        }
    )
    summary = bulk_updater.run(frame, tmp_path / "out", settings(box), JobOptions(progress=False))
    assert summary.counts["success"] == 3
    first, second, third = (box.state.activities[i] for i in ids)
    assert first == {
        "ActivityNote": "first",
        "Fields": {
            "mx_Count": "7", "mx_Score": "1.5", "mx_Flag": "true", "mx_When": "2024-03-01 14:15:00",
            "mx_Aware": "2024-03-01 04:30:00", "mx_Day": "2024-03-01",
        },
    }
    # missing values are blank cells: the field is left alone, never "<NA>", "nan" or "NaT"
    assert second["Fields"] == {"mx_Flag": "false", "mx_When": "2024-03-01 00:00:00"} and second["ActivityNote"] is None  # not sent
    assert third["Fields"] == {"mx_Count": "12", "mx_Score": "0.25", "mx_Flag": "true"}


def test_a_list_of_dicts_resumes_like_a_file(tmp_path, sandbox):
    ids = new_ids(6)
    box = sandbox(activities=set(ids))
    records = [{"CompanyActivityId": i, "Status": f"S{n}"} for n, i in enumerate(ids)]
    stopped = bulk_updater.run(records, tmp_path / "out", settings(box), JobOptions(progress=False, max_calls=2))
    assert stopped.stop_reason == "max_calls" and box.state.calls == 2
    finished = bulk_updater.run(records, tmp_path / "out", settings(box), JobOptions(progress=False))
    assert finished.counts["success"] == 6 and box.state.calls == 6
    assert sorted(r["_row"] for r in read_report(tmp_path / "out" / "report.csv")) == sorted(str(n) for n in range(2, 8))
    assert {box.state.activities[i]["Fields"]["Status"] for i in ids} == {f"S{n}" for n in range(6)}
