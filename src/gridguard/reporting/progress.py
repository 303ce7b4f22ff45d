"""Campaign progress: households covered day by day against the plan (a burn-up chart).

For each day of the campaign up to the report's day: households visited and
households screened so far (a household counts from the local day of its
first such visit), the households newly visited that day, and the plan: all
households of the area covered in equal daily steps over ``plan_days`` (the
campaign's length when it has an end, else six days, as Huayuan's sweep of
25-30 January 2020). One aggregate query: each household's first visit is
bucketed into its day by a ``CASE`` over the day boundaries, so no time-zone
function is needed in SQL.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from ..model import Campaign
from ..report.document import Chart, Column, Figures, Report, Section, Series, Table
from ..report.locale import label
from ._common import figure, new_report, note_for, number, share
from .scope import IN_CAMPAIGN, ReportScope

if TYPE_CHECKING:
    from ..workspace import Workspace

__all__ = ["DEFAULT_PLAN_DAYS", "progress_report"]

DEFAULT_PLAN_DAYS = 6
"""Days a sweep is planned over when the campaign has no end (Huayuan: 6)."""

_FIRSTS = """
SELECT {visited_day}, {screened_day}, count(*)
FROM (SELECT v.household_id,
        min(v."at") AS first_visit,
        min(CASE WHEN v.outcome = 'screened' THEN v."at" END) AS first_screened
      FROM visits v
      WHERE {in_campaign} AND v."at" < ?{where}
      GROUP BY v.household_id) x
GROUP BY 1, 2
"""

_HOUSEHOLDS = "SELECT count(*) FROM households h WHERE 1 = 1{where}"


def progress_report(
    ws: Workspace,
    *,
    area: str | None = None,
    day: dt.date | str | None = None,
    campaign: str | Campaign | None = None,
    plan_days: int | None = None,
    unmask: bool = False,
) -> Report:
    """Households covered per day from the campaign's start to ``day``, against the plan."""
    scope = ReportScope.open(ws, area=area, day=day, campaign=campaign, unmask=unmask)
    days = scope.days()
    if plan_days is None:
        end = scope.campaign.end
        plan_days = (end - scope.campaign.start).days + 1 if end else DEFAULT_PLAN_DAYS
    plan_days = max(int(plan_days), 1)
    new_visited = [0] * len(days)
    new_screened = [0] * len(days)
    total = 0
    if not scope.empty:
        where, params = scope.where("h", "households")
        total = number(scope._one(_HOUSEHOLDS.format(where=where), params)[0])
        visited_day, v_params = scope.day_index("x.first_visit", days)
        screened_day, s_params = scope.day_index("x.first_screened", days)
        where, params = scope.where("v")
        sql = _FIRSTS.format(
            visited_day=visited_day,
            screened_day=screened_day,
            in_campaign=IN_CAMPAIGN,
            where=where,
        )
        args = [
            *v_params,
            *s_params,
            *scope.campaign_params(),
            scope.bounds()[1],
            *params,
        ]
        for v_index, s_index, n in scope._query(sql, args):
            if v_index is not None:
                new_visited[int(v_index)] += number(n)
            if s_index is not None:
                new_screened[int(s_index)] += number(n)
    visited = _running(new_visited)
    screened = _running(new_screened)
    plan = [min(total, round(total * (n + 1) / plan_days)) for n in range(len(days))]
    x = [d.isoformat() for d in days]
    chart = Chart(
        key="burn_up",
        title=label("progress.title"),
        kind="line",
        x_label=label("day"),
        y_label=label("households"),
        x=x,
        series=[
            Series("visited", label("households_visited"), visited),
            Series("screened", label("households_screened"), screened),
            Series("plan", label("plan"), plan),
        ],
    )
    table = Table(
        key="by_day",
        title=label("section.progress"),
        columns=[
            Column("day", label("day"), "date"),
            Column("new_visited", label("new_visited"), "int"),
            Column("visited", label("households_visited"), "int"),
            Column("screened", label("households_screened"), "int"),
            Column("plan", label("plan"), "int"),
            Column("coverage", label("coverage"), "percent"),
        ],
        rows=[
            (d, new_visited[n], visited[n], screened[n], plan[n], share(visited[n], total))
            for n, d in enumerate(days)
        ],
    )
    last = visited[-1] if visited else 0
    figures = Figures(
        key="progress",
        items=[
            figure("households", total),
            figure("households_visited", last, visited[-2] if len(visited) > 1 else None),
            figure("households_screened", screened[-1] if screened else 0),
            figure("coverage", share(last, total), kind="percent"),
            figure("plan", plan[-1] if plan else 0),
        ],
    )
    section = Section(
        "progress",
        label("section.progress"),
        [figures, chart, table],
        note=note_for(scope.empty) or label("note.plan"),
    )
    return new_report("progress", scope, [section], extra={"plan_days": str(plan_days)})


def _running(values: list[int]) -> list[int]:
    out, total = [], 0
    for value in values:
        total += value
        out.append(total)
    return out
