"""The builtin reports by name, and one entry point to build any of them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from ..report.document import Report
from .daily import daily_report
from .files import household_report, person_report
from .linelist import line_list_report
from .progress import progress_report
from .teams import teams_report

if TYPE_CHECKING:
    from ..workspace import Workspace

__all__ = ["AREA_REPORTS", "FILE_REPORTS", "REPORT_KINDS", "build_report"]

AREA_REPORTS: dict[str, Callable[..., Report]] = {
    "daily": daily_report,
    "progress": progress_report,
    "teams": teams_report,
    "linelist": line_list_report,
}
"""Reports about an area and a day: ``fn(ws, *, area, day, campaign, unmask)``."""

FILE_REPORTS: dict[str, Callable[..., Report]] = {
    "household": household_report,
    "person": person_report,
}
"""Reports about one record: ``fn(ws, id, *, campaign, unmask)``."""

REPORT_KINDS: tuple[str, ...] = ("daily", "progress", "household", "person", "teams", "linelist")
"""Every builtin report kind, in the order the command lists them."""


def build_report(
    ws: Workspace,
    kind: str,
    *,
    id: str | None = None,
    area: str | None = None,
    day: dt.date | str | None = None,
    campaign: str | None = None,
    unmask: bool = False,
    **options: Any,
) -> Report:
    """Build the report ``kind``: an area report, or the file of record ``id``."""
    if kind in AREA_REPORTS:
        return AREA_REPORTS[kind](
            ws, area=area, day=day, campaign=campaign, unmask=unmask, **options
        )
    if kind in FILE_REPORTS:
        if not id:
            raise ValidationError.single("$.id", repr(id), f"a {kind} report needs the {kind}'s id")
        return FILE_REPORTS[kind](ws, id, campaign=campaign, unmask=unmask)
    raise ValidationError.single("$.kind", repr(kind), f"must be one of: {', '.join(REPORT_KINDS)}")
