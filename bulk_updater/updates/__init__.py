"""rows -> updates: what each row asks LeadSquared to change, or why it can't be sent; the one spelling of an activity id."""

from .payload import GUID, Invalid, NothingToChange, Plan, UpdateRequest, activity_key, activity_to_update, plan_row

__all__ = ["GUID", "Invalid", "activity_key", "activity_to_update", "NothingToChange", "Plan", "UpdateRequest", "plan_row"]
