"""file -> rows: reading a sheet into numbered rows of text cells."""

from .cells import cell_text
from .mapping import ColumnMap, load_map
from .reader import ACTIVITY_ID, NOTE, ReadOptions, Row, Sheet, open_sheet

__all__ = ["ACTIVITY_ID", "NOTE", "ColumnMap", "ReadOptions", "Row", "Sheet", "cell_text", "load_map", "open_sheet"]
