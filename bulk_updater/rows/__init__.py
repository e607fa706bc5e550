"""file -> rows: reading a sheet into numbered rows of text cells."""

from .reader import ACTIVITY_ID, NOTE, Row, Sheet, open_sheet

__all__ = ["ACTIVITY_ID", "NOTE", "Row", "Sheet", "open_sheet"]
