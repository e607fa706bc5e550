"""The sandbox's world for the demo (`bulk-updater demo` and `bulk-updater sandbox --demo`): the
activities it starts with and their activity type's fields, shipped in the package. Here, in the
sandbox, so that the demo imports the sandbox and the sandbox nothing of the demo."""

from __future__ import annotations

import json
from importlib import resources

# The demo activity type's fields: the sandbox lists them all on a read (empty ones too) and
# fails an update naming another, as LeadSquared would.
FIELDS = frozenset({"Status", "Owner", "mx_Custom_1", "mx_Custom_2"})


def sandbox_activities() -> dict[str, dict]:
    """id -> {"ActivityNote", "Fields"}: the activities the sandbox starts with (the sheet's, bar one it must not know)."""
    text = resources.files(__package__ or "bulk_updater.sandbox").joinpath("sandbox-activities.json").read_text(encoding="utf-8")
    return {activity_id.lower(): activity or {} for activity_id, activity in json.loads(text).items()}
