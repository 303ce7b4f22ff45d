"""Report builders: the reports people read, aggregated in the database.

A builder (:func:`daily_report`, :func:`progress_report`,
:func:`household_report`, :func:`person_report`, :func:`teams_report`,
:func:`line_list_report`, or :func:`build_report` by name) returns a
:class:`gridguard.report.Report` that any reporter draws.
"""

from .build import AREA_REPORTS, FILE_REPORTS, REPORT_KINDS, build_report
from .daily import daily_report
from .files import household_report, person_report
from .linelist import line_list_report
from .progress import progress_report
from .scope import ReportScope
from .teams import teams_report

__all__ = [
    "AREA_REPORTS",
    "FILE_REPORTS",
    "REPORT_KINDS",
    "ReportScope",
    "build_report",
    "daily_report",
    "household_report",
    "line_list_report",
    "person_report",
    "progress_report",
    "teams_report",
]
