"""Team performance: households per shift, by team (小分队工作量).

A *shift* is a local day on which a team recorded at least one visit; its
households are the distinct households the team visited that day (door or
phone). Per team: shifts worked, households visited over all shifts, the
mean households per shift, and how many of those visits screened the
household or found nobody at home. One aggregate query, bucketed by day with
a ``CASE`` over the day boundaries; the Huayuan reference is about 100
households per team per afternoon.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

from ..model import Campaign
from ..report.document import Chart, Column, Figures, Report, Section, Series, Table
from ..report.locale import label
from ._common import figure, new_report, note_for, number
from .scope import IN_CAMPAIGN, ReportScope

if TYPE_CHECKING:
    from ..workspace import Workspace

__all__ = ["teams_report"]

_BY_TEAM_DAY = """
SELECT v.team_id, {day} AS d, count(DISTINCT v.household_id),
  sum(CASE WHEN v.outcome = 'screened' THEN 1 ELSE 0 END),
  sum(CASE WHEN v.outcome = 'not_home' THEN 1 ELSE 0 END)
FROM visits v
WHERE {in_campaign} AND v.team_id IS NOT NULL AND v."at" < ?{where}
GROUP BY 1, 2
"""

_TEAMS = "SELECT t.id, t.name FROM teams t WHERE 1 = 1{where}"


def teams_report(
    ws: Workspace,
    *,
    area: str | None = None,
    day: dt.date | str | None = None,
    campaign: str | Campaign | None = None,
    unmask: bool = False,
) -> Report:
    """Households per shift for each team with visits in ``area`` up to ``day``."""
    scope = ReportScope.open(ws, area=area, day=day, campaign=campaign, unmask=unmask)
    totals: dict[str, list[int]] = {}  # team -> shifts, households, screened, not home
    names: dict[str, str] = {}
    if not scope.empty:
        where, params = scope.where("t", "jurisdiction")
        names = {str(i): str(n) for i, n in scope._query(_TEAMS.format(where=where), params)}
        index, i_params = scope.day_index('v."at"', scope.days())
        where, params = scope.where("v")
        sql = _BY_TEAM_DAY.format(day=index, in_campaign=IN_CAMPAIGN, where=where)
        args = [*i_params, *scope.campaign_params(), scope.bounds()[1], *params]
        for team, d, households, screened, not_home in scope._query(sql, args):
            if d is None:
                continue
            row = totals.setdefault(str(team), [0, 0, 0, 0])
            row[0] += 1
            row[1] += number(households)
            row[2] += number(screened)
            row[3] += number(not_home)
    order = sorted(totals, key=lambda t: (_natural(names.get(t) or t), t))
    rows = [
        (
            names.get(t, t),
            totals[t][0],
            totals[t][1],
            round(totals[t][1] / totals[t][0], 1) if totals[t][0] else None,
            totals[t][2],
            totals[t][3],
        )
        for t in order
    ]
    table = Table(
        key="teams",
        title=label("section.teams"),
        columns=[
            Column("team", label("team")),
            Column("shifts", label("shifts"), "int"),
            Column("households", label("households_visited"), "int"),
            Column("per_shift", label("per_shift"), "float"),
            Column("screened", label("screened"), "int"),
            Column("not_home", label("not_home"), "int"),
        ],
        rows=rows,
    )
    chart = Chart(
        key="per_shift",
        title=label("per_shift"),
        kind="bar",
        x_label=label("team"),
        y_label=label("households"),
        x=[str(r[0]) for r in rows],
        series=[Series("per_shift", label("per_shift"), [r[3] for r in rows])],
    )
    shifts = sum(t[0] for t in totals.values())
    households = sum(t[1] for t in totals.values())
    figures = Figures(
        key="teams_overview",
        items=[
            figure("team", len(totals)),
            figure("shifts", shifts),
            figure("households_visited", households),
            figure("per_shift", round(households / shifts, 1) if shifts else None, kind="float"),
        ],
    )
    section = Section(
        "teams", label("section.teams"), [figures, chart, table], note=note_for(not totals)
    )
    return new_report("teams", scope, [section])


def _natural(text: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key that puts 第2小分队 before 第10小分队."""

    return tuple(
        (0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", text) if part
    )
