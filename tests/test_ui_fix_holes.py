"""Fix and retry attacked: what the browser or an uploaded file sends can't put a value where the admin did not
type it, a cell sent back as the grid showed it is no edit whatever its length, and a retry of fixes starts only
from a run whose next step is a retry (never one going on, stopped for a resume, or an undo)."""

from __future__ import annotations

import pytest

from bulk_updater.ui.fixing import VALUE_CAP, Draft, FixRefused, edits_from_form, edits_from_upload

LONG = "a note that a run read as it was, " * (VALUE_CAP // 20)  # longer than the cap on what the admin types


def _draft(value: str) -> Draft:
    header = ["CompanyActivityId", "ActivityNote", "_row", "_outcome"]
    line = ["6513270e-269e-4d37-b2a7-4de452e6b438", value, "2", "failed"]
    return Draft(header, [0, 1], {2: list(line)}, {2: list(line)})


def test_a_long_cell_sent_back_as_shown_is_no_edit_and_a_long_edit_is_refused():
    """The cap is on what the admin types: a note the run read longer than it, sent back as it is, is no edit
    (else no other cell of such a run could be fixed in the grid or in failed.xlsx)."""
    assert len(LONG) > VALUE_CAP
    draft = _draft(LONG)
    assert edits_from_form([("cell-2-0", draft.cell(2, 0)), ("cell-2-1", LONG.replace("\n", "\r\n"))], draft) == {}
    assert edits_from_upload(["CompanyActivityId", "ActivityNote"], [("2", [draft.cell(2, 0), LONG])], draft) == {}
    with pytest.raises(FixRefused, match="longer than"):
        edits_from_form([("cell-2-1", LONG + "!")], draft)
    with pytest.raises(FixRefused, match="longer than"):
        edits_from_upload(["ActivityNote"], [("2", [LONG + "!"])], draft)
