"""The daily report's charts: how the campaign went, day by day, up to the report's day.

Four charts, from the campaign's start (at most the last ``MAX_DAYS``
days) to the report's day:

- households covered per day against the plan (the progress burn-up);
- flagged persons by reason per day (the rules' titles, stacked);
- check-in compliance per day (buildings that reported, of those observed);
- active quarantines per day (:mod:`gridguard.quarantine.counts`, the census's
  definition).

Each figure is about the facts' own days, so the charts of a day's report
do not change when it is computed later.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from typing import TYPE_CHECKING, Any

from ..report.document import Chart, Label, Section, Series
from ..report.locale import label
from ._common import json_list, number
from .scope import ReportScope

if TYPE_CHECKING:
    from ..workspace import Workspace

__all__ = ["MAX_DAYS", "rule_title", "trends_section"]

MAX_DAYS = 31
"""The charts show at most this many days, the last ones up to the report's day."""

TOP_REASONS = 6
"""Reasons shown by name in the flagged chart; the others are summed as one."""

_FLAGGED = """
SELECT a.day, a.person_id, a.fired FROM assessments a
WHERE a.campaign_id = ? AND a.day >= ? AND a.day <= ? AND a.risk <> 'none'{where}
"""

_CHECKED = """
SELECT {index}, count(DISTINCT c.building_id) FROM checkins c
WHERE c."at" >= ? AND c."at" < ?{where}
GROUP BY 1
"""

_OBSERVED = "SELECT count(*) FROM buildings b WHERE b.observer_id IS NOT NULL{where}"


@functools.cache
def _titles() -> dict[str, Label]:
    """Rule id -> its title in both languages, from the built-in rule set."""
    from ..rules.ruleset import builtin_rule_set

    return {r.id: Label(r.title_en, r.title_zh) for r in builtin_rule_set().rules}


def rule_title(rule_id: str) -> Label:
    """A rule's title as people read it (the built-in rule set's); its id when unknown."""
    return _titles().get(rule_id) or Label(rule_id, rule_id)


def _coverage(ws: Workspace, scope: ReportScope, days: list[dt.date]) -> Chart:
    from .progress import progress_report

    progress = progress_report(ws, area=scope.area_id, day=scope.day, campaign=scope.campaign.id)
    burn = next(b for _, b in progress.blocks() if isinstance(b, Chart))
    keep = len(days)
    return Chart(
        key="coverage_by_day",
        title=label("chart.coverage"),
        kind="line",
        x_label=label("day"),
        y_label=label("households"),
        x=burn.x[-keep:],
        series=[Series(s.key, s.label, s.values[-keep:]) for s in burn.series],
    )


def _flagged(scope: ReportScope, days: list[dt.date]) -> Chart:
    where, params = scope.where("a")
    rows = scope._query(
        _FLAGGED.format(where=where),
        [scope.campaign.id, scope.date(days[0]), scope.date(days[-1]), *params],
    )
    index = {d.isoformat(): n for n, d in enumerate(days)}
    persons: dict[str, list[set[str]]] = {}
    for day, person, fired in rows:
        n = index.get(str(day)[:10])
        if n is None:
            continue
        for rule_id in {str(r.get("rule_id")) for r in json_list(fired)}:
            persons.setdefault(rule_id, [set() for _ in days])[n].add(str(person))
    totals = Counter({rule: sum(len(s) for s in by_day) for rule, by_day in persons.items()})
    top = [rule for rule, _ in totals.most_common(TOP_REASONS)]
    series = [
        Series(rule, rule_title(rule), [len(s) for s in persons[rule]]) for rule in sorted(top)
    ]
    rest = [rule for rule in persons if rule not in top]
    if rest:
        counts = [sum(len(persons[r][n]) for r in rest) for n in range(len(days))]
        series.append(Series("other", label("other_reasons"), counts))
    return Chart(
        key="flagged_by_reason",
        title=label("chart.flagged"),
        kind="stacked",
        x_label=label("day"),
        y_label=label("persons"),
        x=[d.isoformat() for d in days],
        series=series,
    )


def _compliance(scope: ReportScope, days: list[dt.date]) -> Chart:
    where, params = scope.where("b", "buildings")
    observed = number(scope._one(_OBSERVED.format(where=where), params)[0])
    index, i_params = scope.day_index('c."at"', days)
    where, params = scope.where("c", "building", seek=True)
    start, end = scope.bounds(days[0])[0], scope.bounds(days[-1])[1]
    checked = [0] * len(days)
    for n, count in scope._query(
        _CHECKED.format(index=index, where=where), [*i_params, start, end, *params]
    ):
        if n is not None:
            checked[int(n)] = number(count)
    values = [round(100 * c / observed, 1) if observed else None for c in checked]
    return Chart(
        key="compliance_by_day",
        title=label("chart.compliance"),
        kind="line",
        x_label=label("day"),
        y_label=label("percent"),
        x=[d.isoformat() for d in days],
        series=[Series("compliance", label("checkin_compliance"), values)],
    )


def _quarantine(scope: ReportScope, days: list[dt.date]) -> Chart:
    from ..quarantine.counts import figure_params, figures_sql

    where, params = scope.where("q")
    sql = figures_sql("x.kind", where=where)
    active: list[int] = []
    for day in days:
        t0 = scope.campaign.day_start(day)
        t1 = scope.campaign.day_start(day + dt.timedelta(days=1))
        args = figure_params(day, t0, t1, date=scope.date, ts=scope.ts, true=scope.true())
        active.append(sum(number(row[1]) for row in scope._query(sql, [*args, *params])))
    return Chart(
        key="quarantine_by_day",
        title=label("chart.quarantine"),
        kind="line",
        x_label=label("day"),
        y_label=label("persons"),
        x=[d.isoformat() for d in days],
        series=[Series("active", label("quarantine_active"), active)],
    )


def trends_section(ws: Workspace, scope: ReportScope) -> Section:
    """The section of the daily report that holds its four charts."""
    days = scope.days()[-MAX_DAYS:]
    blocks: list[Any] = []
    if days:
        blocks = [
            _coverage(ws, scope, days),
            _flagged(scope, days),
            _compliance(scope, days),
            _quarantine(scope, days),
        ]
    return Section("trends", label("section.trends"), blocks)
