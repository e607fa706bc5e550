"""rows -> requests: what each row asks LeadSquared to change, or why it can't be sent."""

from .payload import Invalid, NothingToChange, Plan, UpdateRequest, activity_to_update, plan_row

__all__ = ["Invalid", "activity_to_update", "NothingToChange", "Plan", "UpdateRequest", "plan_row"]
