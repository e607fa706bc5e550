"""outcomes -> report: report.csv as rows finish, then failed.csv and summary.json."""

from .summary import Summary
from .writer import META_COLUMNS, ReportWriter, write_failed

__all__ = ["META_COLUMNS", "ReportWriter", "Summary", "write_failed"]
