"""rows -> requests: what each row asks LeadSquared to change, or why it can't be sent."""

from .payload import GUID, Invalid, NothingToChange, Plan, UpdateRequest, activity_key, activity_to_update, plan_row

__all__ = ["GUID", "Invalid", "activity_key", "activity_to_update", "NothingToChange", "Plan", "UpdateRequest", "plan_row"]
