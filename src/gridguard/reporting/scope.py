"""What a report is about: a campaign, an area of the place tree, a local day; and its SQL.

Every builder starts from a :class:`ReportScope`. It checks the request
once (an unknown campaign or area is a :class:`~gridguard.errors.NotFoundError`,
a day outside the campaign a :class:`~gridguard.errors.ValidationError`
naming ``$.day``), knows the day's boundaries in the campaign's time zone,
and writes the ``WHERE`` fragments that keep a query to the area. Reports
aggregate inside the database through :meth:`UnitOfWork.query
<gridguard.storage.base.UnitOfWork.query>` with ``?`` placeholders and
plain SQL that SQLite and PostgreSQL both run; parameters are encoded the
way each dialect stores them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import ConfigError, ValidationError
from ..model import Area, AreaLevel, Campaign
from ..model._validate import as_day
from ..security.access import Category, Verb, register_operation
from ..storage.schema import decode_timestamp
from ..sweep.context import IN_CAMPAIGN, CampaignContext, resolve_campaign

if TYPE_CHECKING:
    from ..workspace import Workspace

__all__ = ["IN_CAMPAIGN", "READ_REPORT", "UNMASK", "ReportScope", "authorize"]

READ_REPORT = "report.read"
"""The operation of reading a report about an area: counts of visits (and, in the line
list and the files, the households' addresses)."""
UNMASK = "report.unmask"
"""The operation of reading a report with names, phones and identity numbers in clear."""

register_operation(READ_REPORT, [(Verb.READ, Category.VISIT)])
register_operation(UNMASK, [(Verb.READ, Category.PERSON)])


def authorize(ws: Workspace, target: Any, *, unmask: bool) -> None:
    """Check (and audit) that the workspace's principal may read this report.

    ``target`` is the area (its id) or the record the report is about. The
    principal needs read access to visits, inside their scope; with
    ``unmask`` also to persons (:class:`~gridguard.errors.AccessDenied`
    otherwise, audited like every refusal).
    """
    ws.authorize(READ_REPORT, target)
    if unmask:
        ws.authorize(UNMASK, target)


_HOUSEHOLDS_BELOW = (
    "SELECT h.id FROM households h JOIN stairwells s ON s.id = h.stairwell_id "
    "JOIN buildings b ON b.id = s.building_id WHERE b.area_id IN ({marks})"
)
_BUILDINGS_BELOW = "SELECT b.id FROM buildings b WHERE b.area_id IN ({marks})"
_PERSONS_BELOW = f"SELECT p.id FROM persons p WHERE p.household_id IN ({_HOUSEHOLDS_BELOW})"


@attrs.define
class ReportScope:
    """A campaign, the areas a report covers, and the local day it is for."""

    ws: Workspace
    campaign: Campaign
    areas: tuple[Area, ...]
    """The areas asked for (the campaign's scope when none was named)."""
    day: dt.date
    ctx: CampaignContext
    """The campaign opened on the areas: jurisdictions, time window, SQL dialect."""

    @classmethod
    def open(
        cls,
        ws: Workspace,
        *,
        area: str | None = None,
        day: dt.date | str | None = None,
        campaign: str | Campaign | None = None,
        unmask: bool = False,
    ) -> ReportScope:
        """Resolve the campaign, the area and the day of a report; check them and the access."""
        found = resolve_campaign(ws, campaign)
        if not ws.dialect.runs_sql:
            raise ConfigError(
                "reports aggregate in SQL: open a SQLite or PostgreSQL store, not memory://"
            )
        area_ids = (area,) if area is not None else tuple(found.scope)
        areas = tuple(ws.get(Area, a) for a in area_ids)
        authorize(ws, area if area is not None else found, unmask=unmask)
        narrowed = attrs.evolve(found, scope=tuple(a.id for a in areas))
        ctx = CampaignContext(ws, narrowed)
        scope = cls(ws=ws, campaign=found, areas=areas, day=found.start, ctx=ctx)
        scope.day = scope.check_day(day) if day is not None else scope.latest_day()
        return scope

    # -- days -------------------------------------------------------------------------------

    @property
    def today(self) -> dt.date:
        """Today in the campaign's time zone."""
        return dt.datetime.now(self.campaign.zone).date()

    @property
    def last_day(self) -> dt.date:
        """The campaign's last day: its end, or today while it runs."""
        end = self.campaign.end
        return max(self.campaign.start, min(end, self.today) if end else self.today)

    def check_day(self, day: dt.date | str) -> dt.date:
        """``day`` as a date, if it is a day of the campaign; a ``ValidationError`` if not.

        An aware datetime stands for the day it falls on in the campaign's
        time zone; a naive one is refused.
        """
        if isinstance(day, str):
            try:
                day = dt.date.fromisoformat(day)
            except ValueError:
                raise ValidationError.single(
                    "$.day", repr(day), "must be a date YYYY-MM-DD"
                ) from None
        day = as_day(day, "$.day", self.campaign.zone)
        first, last = self.campaign.start, self.last_day
        if not first <= day <= last:
            raise ValidationError.single(
                "$.day",
                day.isoformat(),
                f"must be a day of campaign {self.campaign.id!r}: "
                f"{first.isoformat()} to {last.isoformat()}",
            )
        return day

    def latest_day(self) -> dt.date:
        """The last local day with a visit in the campaign, or its first day if none."""
        sql = f'SELECT max(v."at") FROM visits v WHERE {IN_CAMPAIGN}'
        latest = next(iter(self._query(sql, self.ctx.campaign_params())), (None,))[0]
        if latest is None:
            return self.campaign.start
        at = latest if isinstance(latest, dt.datetime) else _parse(str(latest))
        return min(self.campaign.local_date(at), self.last_day)

    def bounds(self, day: dt.date | None = None) -> tuple[Any, Any]:
        """``[start, end)`` of a local day as timestamp parameters (default: the report's)."""
        day = self.day if day is None else day
        start = self.campaign.day_start(day)
        stop = self.campaign.day_start(day + dt.timedelta(days=1))
        return self.ts(start), self.ts(stop)

    def ts(self, value: dt.datetime) -> Any:
        """A timestamp parameter as the dialect stores it."""
        return self.ctx.timestamp(value)

    def date(self, value: dt.date) -> Any:
        """A date parameter as the dialect stores it (ISO text in SQLite)."""
        return self.ctx.dialect.date(value)

    def stamp(self, column: str, suffix: str) -> str:
        """SQL for timestamp ``column`` as text that sorts by time, with ``suffix`` appended.

        SQLite stores fixed-width UTC text already; PostgreSQL's ``timestamptz``
        is spelled out in UTC with microseconds, so that no session setting
        changes the order.
        """
        return self.ctx.dialect.stamp(column, suffix)

    def unindexed(self, column: str) -> str:
        """``column`` in a condition that must not pick an index on it.

        A day's visits are counted fastest by reading the visits' covering
        index whole; given a time range, SQLite's planner prefers the
        ``(jurisdiction, "at")`` index and then fetches every row it finds.
        SQLite's unary ``+`` keeps a term from choosing an index.
        """
        return self.ctx.dialect.unindexed(column)

    def true(self) -> Any:
        """``True`` as a parameter compared with a stored boolean column."""
        return self.ctx.dialect.true()

    def campaign_params(self) -> list[Any]:
        """The parameters of ``IN_CAMPAIGN`` (visit ``v`` counts for the campaign)."""
        return self.ctx.campaign_params()

    def days(self, last: dt.date | None = None) -> list[dt.date]:
        """The campaign's days from its start up to ``last`` (default: the report's day)."""
        last = self.day if last is None else last
        count = (last - self.campaign.start).days + 1
        return [self.campaign.start + dt.timedelta(days=n) for n in range(max(count, 0))]

    def day_index(self, column: str, days: Sequence[dt.date]) -> tuple[str, list[Any]]:
        """A SQL ``CASE`` giving the index of the local day in ``days`` that ``column`` is in.

        Works on every dialect (no time-zone functions): the day boundaries
        are parameters. Instants before the first day or after the last are
        ``NULL``.
        """
        if not days:
            return "NULL", []
        parts, params = [f"CASE WHEN {column} < ? THEN NULL"], [self.bounds(days[0])[0]]
        for n, day in enumerate(days):
            parts.append(f"WHEN {column} < ? THEN {n}")
            params.append(self.bounds(day)[1])
        return " ".join(parts) + " END", params

    # -- areas ------------------------------------------------------------------------------

    @property
    def empty(self) -> bool:
        """Whether the areas hold no community at all (an empty report, not an error)."""
        return not self.ctx.jurisdictions

    @property
    def whole(self) -> bool:
        """Whether the areas are whole communities or above (no grid or building alone)."""
        return all(a.level.rank <= AreaLevel.COMMUNITY.rank for a in self.areas)

    @property
    def area_id(self) -> str | None:
        return self.areas[0].id if len(self.areas) == 1 else None

    @property
    def area_name(self) -> str:
        return "、".join(a.name for a in self.areas)

    def below(self) -> list[str]:
        """Ids of the areas and of every area below them (for a scope under a community)."""
        return sorted(self.ctx.scope) or [""]

    def where(
        self, alias: str, key: str = "household", *, seek: bool = False
    ) -> tuple[str, list[Any]]:
        """`` AND ...`` keeping rows of table ``alias`` to the areas.

        ``key`` says what the rows hang off: ``household`` (a ``household_id``
        column), ``person`` (``person_id``), ``building`` (``building_id``),
        ``area`` (``area_id``), ``households`` or ``buildings`` (the table's own
        ``id``) or ``jurisdiction`` (only the community: for
        areas under a community, rows that belong to no household are kept
        for the whole community).

        ``seek`` names the communities even when the areas hold all of them,
        so that a time range is read through the table's ``(jurisdiction,
        "at")`` index one community at a time rather than by a full scan.
        """
        sql, params = self.ctx.jurisdiction_filter(f"{alias}.jurisdiction")
        if seek and not sql and self.ctx.jurisdictions:
            wanted = sorted(self.ctx.jurisdictions)
            sql = f" AND {alias}.jurisdiction IN ({', '.join('?' for _ in wanted)})"
            params = wanted
        if self.whole or key == "jurisdiction":
            return sql, params
        below = self.below()
        marks = ", ".join("?" for _ in below)
        inner = {
            "household": (f"{alias}.household_id", _HOUSEHOLDS_BELOW),
            "person": (f"{alias}.person_id", _PERSONS_BELOW),
            "building": (f"{alias}.building_id", _BUILDINGS_BELOW),
            "area": (f"{alias}.area_id", "{marks}"),
            "households": (f"{alias}.id", _HOUSEHOLDS_BELOW),
            "buildings": (f"{alias}.id", _BUILDINGS_BELOW),
        }
        column, select = inner[key]
        return (
            f"{sql} AND {column} IN ({select.format(marks=marks)})",
            [*params, *below],
        )

    # -- SQL --------------------------------------------------------------------------------

    def _query(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """Run ``sql`` (``?`` placeholders) in a read transaction and stream its rows.

        Internal: the report builders call it after :meth:`open` authorized
        the report, with the area filters of :meth:`where`.
        """
        return self.ctx._query(sql, params)

    def _one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...]:
        """The single row of an aggregate query (internal, like :meth:`_query`)."""
        for row in self._query(sql, params):
            return row
        return ()


def _parse(text: str) -> dt.datetime:

    return decode_timestamp(text)
