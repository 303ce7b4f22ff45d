"""The quarantine census per area: active, new today, ending today, released today.

Counted in the database with one aggregate query over the orders and one
over the day's releases (a city's 50,000 active orders never travel to
Python). "Today" is the local day in the campaign's time zone. An order's
``start`` and ``end`` are its observation window's first day and release
day (:class:`~gridguard.rules.observation.ObservationWindow`), so the
census counts the days the rules flag and the release ends:

- ``active``: status active and ``start <= today < end`` (day 1 to day 14);
- ``new_today``: ordered today (by hand: ``ordered_at`` today; by the
  rules: ``start`` today);
- ``ending_today``: active, and today is the last day, day 14 (``end`` is tomorrow);
- ``released_today``: release records made today;
- ``release_due``: still active although ``end`` has come (release them).

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
from ..model.quarantine import QuarantinePolicy, QuarantineRelease
from ._db import Sql, policy_for, sql_for

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


def census_sql(by: str = "community") -> str:
    """The census query with ``?`` placeholders: today, tomorrow, today, day start, day end
    (for the orders), then day start, day end (for the releases)."""
    area = {"community": "{t}.jurisdiction", "grid": "b.area_id"}[by]
    join = _GRID_JOIN if by == "grid" else ""
    orders = (
        f"SELECT {area.format(t='q')} AS area,"
        ' sum(CASE WHEN q.start <= ?1 AND q."end" > ?1 THEN 1 ELSE 0 END),'
        " sum(CASE WHEN (q.ordered_at >= ?4 AND q.ordered_at < ?5)"
        " OR (q.ordered_at IS NULL AND q.start = ?1) THEN 1 ELSE 0 END),"
        ' sum(CASE WHEN q."end" = ?2 AND q.start <= ?1 THEN 1 ELSE 0 END),'
        " 0,"
        ' sum(CASE WHEN q."end" <= ?1 THEN 1 ELSE 0 END)'
        f" FROM quarantine_orders q{join.format(t='q')}"
        " WHERE q.status = ?3"
        f" GROUP BY {area.format(t='q')}"
    )
    releases = (
        f"SELECT {area.format(t='r')} AS area, 0, 0, 0, count(*), 0"
        f" FROM quarantine_releases r{join.format(t='r')}"
        " WHERE r.at >= ?4 AND r.at < ?5"
        f" GROUP BY {area.format(t='r')}"
    )
    return f"{orders} UNION ALL {releases}"


def _numbered(sql: Sql, text: str) -> tuple[str, list[int]]:
    """Numbered ``?N`` marks as the dialect wants them, and the parameter order they need."""
    return sql.numbered(text)


def _in_python(
    uow: UnitOfWork, by: str, today: dt.date, t0: dt.datetime, t1: dt.datetime
) -> dict[str, list[int]]:
    areas: dict[str, str] = {}

    def area_of(cls: type[Any], record: Any) -> str:
        if by == "community":
            return uow.jurisdiction_of(cls, str(record.id)) or "-"
        hid = record.household_id
        if hid not in areas:
            household = uow.get(Household, hid)
            stairwell = uow.get(Stairwell, household.stairwell_id) if household else None
            building = uow.get(Building, stairwell.building_id) if stairwell else None
            areas[hid] = building.area_id if building else "-"
        return areas[hid]

    out: dict[str, list[int]] = defaultdict(lambda: [0] * 5)
    tomorrow = today + dt.timedelta(days=1)
    for o in uow.find(QuarantineOrder, where={"status": OrderStatus.ACTIVE}):
        row = out[area_of(QuarantineOrder, o)]
        row[0] += o.start <= today < o.end
        new = t0 <= o.ordered_at < t1 if o.ordered_at is not None else o.start == today
        row[1] += new
        row[2] += o.end == tomorrow and o.start <= today
        row[4] += o.end <= today
    for r in uow.find(QuarantineRelease):
        if t0 <= r.at < t1:
            out[area_of(QuarantineRelease, r)][3] += 1
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
            text, order = _numbered(sql, census_sql(by))
            values = [
                sql.date(today),
                sql.date(tomorrow),
                OrderStatus.ACTIVE.value,
                sql.ts(t0),
                sql.ts(t1),
            ]
            params = values if not order else [values[i - 1] for i in order]
            totals = defaultdict(lambda: [0] * 5)
            for area, *figures in uow.query(text, params):
                row = totals[str(area)]
                for i, n in enumerate(figures):
                    row[i] += int(n or 0)
    inside = ws.in_scope(Area, totals)
    return [
        CensusRow(area, *figures)
        for area, figures in sorted(totals.items())
        if any(figures) and area in inside
    ]
