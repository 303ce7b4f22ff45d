"""The quarantine census per area: active, new today, ending today, released today.

The four figures are those of :mod:`gridguard.quarantine.counts`, the same
definitions the daily report counts with, so both say the same of the same
day, and say it again when asked days later. Counted in the database with
one aggregate query (a city's 50,000 active orders never travel to
Python). "Today" is the local day in the campaign's time zone.

- ``active``: day 1 to day 14 of the window, known by the end of the day,
  not released early before it;
- ``new_today``: holds today for the first time as far as anyone knew
  (starts today, or was ordered today from a past exposure);
- ``ending_today``: active, and today is the last day, day 14;
- ``released_today``: released early today, or today is the release day;
- ``release_due``: still active although ``end`` has come (release them):
  a to-do of the moment, read from the orders' status.

Areas are communities (the rows' jurisdiction) or, with ``by="grid"``, the
area of each household's building.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import ValidationError
from ..model import Area, Building, Household, Stairwell
from ..model.assessments import OrderStatus, QuarantineOrder
from ..model.quarantine import QuarantineExtension, QuarantinePolicy, QuarantineRelease
from ._db import policy_for, sql_for
from .counts import figure_params, figures_in_python, figures_sql

if TYPE_CHECKING:
    from ..storage.base import UnitOfWork
    from ..workspace import Workspace

__all__ = ["CENSUS_FIELDS", "CensusRow", "census", "census_sql"]

CENSUS_FIELDS = ("active", "new_today", "ending_today", "released_today", "release_due")


@attrs.frozen
class CensusRow:
    """One area's figures for one day."""

    area_id: str
    active: int = 0
    new_today: int = 0
    ending_today: int = 0
    released_today: int = 0
    release_due: int = 0

    def as_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


_GRID_JOIN = (
    " JOIN households h ON h.id = {t}.household_id"
    " JOIN stairwells s ON s.id = h.stairwell_id"
    " JOIN buildings b ON b.id = s.building_id"
)

_DUE = (
    "SELECT {area} AS area, count(*) FROM quarantine_orders q{join}"
    ' WHERE q.status = ? AND q."end" <= ? GROUP BY {area}'
)


def census_sql(by: str = "community") -> str:
    """The census's figures query (``?`` marks): :func:`~.counts.figures_sql` per area."""
    area = {"community": "q.jurisdiction", "grid": "b.area_id"}[by]
    join = _GRID_JOIN.format(t="q") if by == "grid" else ""
    return figures_sql("x.area", area=area, join=join)


def _due_sql(by: str) -> str:
    area = {"community": "q.jurisdiction", "grid": "b.area_id"}[by]
    join = _GRID_JOIN.format(t="q") if by == "grid" else ""
    return _DUE.format(area=area, join=join)


def _in_python(
    uow: UnitOfWork, by: str, today: dt.date, t0: dt.datetime, t1: dt.datetime
) -> dict[str, list[int]]:
    areas: dict[str, str] = {}

    def area_of(o: QuarantineOrder) -> str:
        if by == "community":
            return uow.jurisdiction_of(QuarantineOrder, o.id) or "-"
        hid = o.household_id
        if hid not in areas:
            household = uow.get(Household, hid)
            stairwell = uow.get(Stairwell, household.stairwell_id) if household else None
            building = uow.get(Building, stairwell.building_id) if stairwell else None
            areas[hid] = building.area_id if building else "-"
        return areas[hid]

    extensions: dict[str, list[QuarantineExtension]] = defaultdict(list)
    for x in uow.find(QuarantineExtension):
        extensions[x.order_id].append(x)
    releases: dict[str, list[QuarantineRelease]] = defaultdict(list)
    for r in uow.find(QuarantineRelease):
        releases[r.order_id].append(r)
    orders = list(uow.find(QuarantineOrder))
    figures = figures_in_python(
        orders, area_of, today, t0, t1, extensions=extensions, releases=releases
    )
    out: dict[str, list[int]] = defaultdict(lambda: [0] * 5)
    for area, f in figures.items():
        out[area][:4] = attrs.astuple(f)
    for o in orders:
        if o.status is OrderStatus.ACTIVE and o.end <= today:
            out[area_of(o)][4] += 1
    return out


def census(
    ws: Workspace,
    *,
    day: dt.date | None = None,
    by: str = "community",
    campaign_id: str | None = None,
    policy: QuarantinePolicy | None = None,
) -> list[CensusRow]:
    """The census for local ``day`` (default today), one row per area that has any figure.

    Counts disclose no file: whoever reads visits may count quarantines
    (``quarantine.census``), as :meth:`~gridguard.Workspace.count` does;
    only the areas inside the principal's scope are returned.
    """
    if by not in ("community", "grid"):
        raise ValidationError.single("$.by", repr(by), "must be one of: community, grid")
    ws.authorize("quarantine.census")
    with ws._transaction(write=False) as uow:
        pol = policy_for(uow, campaign_id, policy)
        today = day or pol.local_date(dt.datetime.now(dt.UTC))
        tomorrow = today + dt.timedelta(days=1)
        t0, t1 = pol.day_start(today), pol.day_start(tomorrow)
        sql = sql_for(ws)
        if sql is None:
            totals = _in_python(uow, by, today, t0, t1)
        else:
            params = figure_params(
                today,
                t0,
                t1,
                date=sql.date,
                ts=sql.ts,
                true=sql.true(),
            )
            totals = defaultdict(lambda: [0] * 5)
            for area, *figures in uow.query(sql.text(census_sql(by)), params):
                row = totals[str(area)]
                for i, n in enumerate(figures):
                    row[i] += int(n or 0)
            due = [OrderStatus.ACTIVE.value, sql.date(today)]
            for area, n in uow.query(sql.text(_due_sql(by)), due):
                totals[str(area)][4] += int(n or 0)
    inside = ws.in_scope(Area, totals)
    return [
        CensusRow(area, *figures)
        for area, figures in sorted(totals.items())
        if any(figures) and area in inside
    ]
