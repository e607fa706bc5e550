import datetime as dt
import time
import zoneinfo

import pytest

from bulk_updater.rows import cell_text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (float("nan"), ""),
        (12.0, "12"),
        (12, "12"),
        (1234567890123.0, "1234567890123"),
        (1.5, "1.5"),
        (0.1 + 0.2, "0.3"),
        (0.25, "0.25"),
        (True, "true"),
        (False, "false"),
        ("007", "007"),
        (" spaced ", " spaced "),
        (dt.date(2024, 1, 2), "2024-01-02"),
        (dt.datetime(2024, 1, 2, 3, 4, 5), "2024-01-02 03:04:05"),
        (dt.datetime(2024, 1, 2, 3, 4, 6, 999_999), "2024-01-02 03:04:07"),
        (dt.time(9, 30), "09:30:00"),
        (dt.timedelta(hours=26, minutes=5), "26:05:00"),
        (dt.timedelta(0), "0:00:00"),
        (dt.timedelta(minutes=-90), "-1:30:00"),
        (dt.timedelta(seconds=-0.4), "0:00:00"),  # rounds to no time: no sign
    ],
)
def test_cell_text_is_what_the_spreadsheet_shows(value, text):
    assert cell_text(value) == text


def test_date_times_move_from_the_sheet_zone_to_utc():
    kolkata, new_york = zoneinfo.ZoneInfo("Asia/Kolkata"), zoneinfo.ZoneInfo("America/New_York")
    assert cell_text(dt.datetime(2024, 3, 26, 2, 0), kolkata) == "2024-03-25 20:30:00"
    # Daylight saving time is the zone's on that date.
    assert cell_text(dt.datetime(2024, 1, 15, 12, 0), new_york) == "2024-01-15 17:00:00"
    assert cell_text(dt.datetime(2024, 7, 15, 12, 0), new_york) == "2024-07-15 16:00:00"
    assert cell_text(dt.date(2024, 7, 15), new_york) == "2024-07-15"
    assert cell_text("2024-07-15 12:00:00", new_york) == "2024-07-15 12:00:00"


@pytest.fixture
def machine_zone(monkeypatch):
    """Set the machine's local time zone (TZ) for the test; put back after it."""

    def set_to(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield set_to
    monkeypatch.undo()
    time.tzset()


def test_the_machines_own_time_zone_never_shifts_a_cell(machine_zone):
    """A date-time moves only from the zone given for the sheet, to UTC: never through the zone of
    the computer the tool runs on (a naive `astimezone` would use it)."""
    machine_zone("America/New_York")
    kolkata = zoneinfo.ZoneInfo("Asia/Kolkata")
    assert cell_text(dt.datetime(2024, 3, 26, 2, 0)) == "2024-03-26 02:00:00"  # no zone given: as written
    assert cell_text(dt.datetime(2024, 3, 26, 2, 0), kolkata) == "2024-03-25 20:30:00"
