"""Reports people read: report data built from storage, and reporters that draw it.

A builder (:func:`daily_report`, :func:`progress_report`, :func:`household_report`,
:func:`person_report`, :func:`teams_report`, :func:`line_list_report`, or
:func:`build_report` by name) aggregates in the database and returns a
:class:`Report`; a :class:`Reporter` registered through the
``register_reporters`` hook (builtin: ``text``, ``csv``, ``json``) draws it.
"""

from .base import Reporter
from .build import AREA_REPORTS, FILE_REPORTS, REPORT_KINDS, build_report
from .daily import daily_report
from .document import (
    LANGS,
    Block,
    Chart,
    Column,
    Figure,
    Figures,
    Label,
    Report,
    Section,
    Series,
    Table,
    cell_text,
)
from .files import household_report, person_report
from .linelist import line_list_report
from .progress import progress_report
from .scope import ReportScope
from .teams import teams_report

__all__ = [
    "AREA_REPORTS",
    "FILE_REPORTS",
    "LANGS",
    "REPORT_KINDS",
    "Block",
    "Chart",
    "Column",
    "Figure",
    "Figures",
    "Label",
    "Report",
    "ReportScope",
    "Reporter",
    "Section",
    "Series",
    "Table",
    "build_report",
    "cell_text",
    "daily_report",
    "household_report",
    "line_list_report",
    "person_report",
    "progress_report",
    "teams_report",
]
