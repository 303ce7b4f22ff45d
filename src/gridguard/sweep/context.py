"""What every sweep query shares: the campaign, its scope in the place tree, its time window.

The sweep's state is derived from facts: a household's standing in a
campaign (screened, vacant, refused, not at home, phoned, how many door
attempts) is an aggregate of its visits. :class:`CampaignContext` states
that aggregate once, as SQL for the backends that run SQL and as Python for
the memory backend, so planning, follow-up and coverage all agree on it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import ConfigError, NotFoundError
from ..model import Area, AreaLevel, Building, Campaign, Channel, Household, Stairwell, Visit
from ..model import VisitOutcome as Outcome
from ..model.assessments import Task, TaskKind, TaskStatus

if TYPE_CHECKING:
    from ..workspace import Workspace

__all__ = ["CampaignContext", "HouseholdFacts", "resolve_campaign"]

_FAR_FUTURE = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)
_CHUNK = 500
"""Ids per ``IN (...)`` list: well under every backend's parameter limit."""

GRID_LEVELS = (AreaLevel.GRID, AreaLevel.VILLAGE_GROUP)


def resolve_campaign(ws: Workspace, campaign: str | Campaign | None) -> Campaign:
    """The stored :class:`~gridguard.model.Campaign`: by id, as given, or the only one."""
    if isinstance(campaign, Campaign):
        return campaign
    if campaign is not None:
        return ws.get(Campaign, campaign)
    found = ws.find(Campaign)
    if not found:
        raise NotFoundError("no campaign in the store: create one with `gridguard campaign create`")
    if len(found) > 1:
        ids = ", ".join(c.id for c in found)
        raise ConfigError(f"the store holds several campaigns ({ids}): say which one")
    return found[0]


@attrs.define(slots=True)
class HouseholdFacts:
    """One household's visits in a campaign, summed up (the Python twin of ``VISIT_AGG``)."""

    screened: bool = False
    vacant: bool = False
    refused: bool = False
    not_home: bool = False
    """Found not at home at the door at least once."""
    phoned: bool = False
    """Followed up by phone at least once."""
    door_visits: int = 0
    last_not_home: dt.datetime | None = None
    last_phone: dt.datetime | None = None

    def add(self, visit: Visit) -> None:
        """Fold one visit in."""
        door = visit.channel is Channel.DOOR
        if visit.outcome is Outcome.SCREENED:
            self.screened = True
        elif visit.outcome is Outcome.VACANT:
            self.vacant = True
        elif visit.outcome is Outcome.REFUSED:
            self.refused = True
        elif door:
            self.not_home = True
            if self.last_not_home is None or visit.at > self.last_not_home:
                self.last_not_home = visit.at
        if door:
            self.door_visits += 1
        else:
            self.phoned = True
            if self.last_phone is None or visit.at > self.last_phone:
                self.last_phone = visit.at

    @property
    def done(self) -> bool:
        """Screened, or found vacant: the sweep needs nothing more from this household."""
        return self.screened or self.vacant

    def status(self) -> str:
        """``screened``, ``vacant``, ``refused`` or ``unreachable`` (for a visited household)."""
        if self.screened:
            return "screened"
        if self.vacant:
            return "vacant"
        if self.refused:
            return "refused"
        return "unreachable"

    def awaits_phone(self) -> bool:
        """Not done, and found not at home at the door since the last phone follow-up."""
        if self.done or self.last_not_home is None:
            return False
        return self.last_phone is None or self.last_phone < self.last_not_home


IN_CAMPAIGN = '(v.campaign_id = ? OR (v.campaign_id IS NULL AND v."at" >= ? AND v."at" < ?))'
"""Visit ``v`` counts for the campaign: tagged with it, or untagged and on one of its days."""

KIND_BIT = (
    "CASE v.outcome WHEN 'screened' THEN 1 WHEN 'vacant' THEN 2 WHEN 'refused' THEN 4 ELSE 8 END"
    " * CASE v.channel WHEN 'door' THEN 1 ELSE 16 END"
)
"""One bit per kind of visit (outcome x channel); a household's visits sum up to a mask."""
SCREENED, VACANT, REFUSED, NOT_HOME, PHONED = 1 | 16, 2 | 32, 4 | 64, 8, 16 | 32 | 64 | 128
"""Bits of a household mask: screened, vacant or refused (door or phone); not at home at the
door; any phone follow-up."""

PENDING = (
    "coalesce((SELECT sum(CASE WHEN v.outcome IN ('screened', 'vacant') THEN 1000000 "
    "WHEN v.channel = 'door' THEN 1 ELSE 0 END) "
    f"FROM visits v WHERE v.household_id = h.id AND {IN_CAMPAIGN}), 0) < ?"
)
"""Household ``h`` is still to be walked to: neither screened nor vacant, and fewer door visits
than the limit (the last parameter). One index probe per household."""

OPEN_VISIT_TASK = (
    "EXISTS (SELECT 1 FROM tasks t WHERE t.household_id = h.id AND t.kind = 'visit' "
    "AND t.status = 'open' AND NOT EXISTS (SELECT 1 FROM visits w "
    "WHERE w.household_id = h.id AND w.outcome IN ('screened', 'vacant') AND w.\"at\" >= t.due))"
)
"""Household ``h`` has an open visit task (an observer saw a family move in) that no screening
or vacancy visit since the task fell due has settled: it goes back into the plan."""

VISIT_AGG = f"""
SELECT v.household_id AS hid,
  max(CASE WHEN v.outcome = 'screened' THEN 1 ELSE 0 END) AS screened,
  max(CASE WHEN v.outcome = 'vacant' THEN 1 ELSE 0 END) AS vacant,
  max(CASE WHEN v.outcome = 'refused' THEN 1 ELSE 0 END) AS refused,
  sum(CASE WHEN v.channel = 'door' THEN 1 ELSE 0 END) AS door_visits,
  max(CASE WHEN v.outcome = 'not_home' AND v.channel = 'door' THEN v."at" END) AS last_not_home,
  max(CASE WHEN v.channel = 'phone' THEN v."at" END) AS last_phone
FROM visits v
WHERE {IN_CAMPAIGN}{{extra}}
GROUP BY v.household_id
"""
"""Per-household visit summary of a campaign; ``{extra}`` narrows the visits further."""

SCOPE_CTE = """scope(id) AS (
  SELECT id FROM areas WHERE id IN ({marks})
  UNION
  SELECT a.id FROM areas a JOIN scope ON a.parent_id = scope.id
)"""
"""The campaign's areas and everything below them (a recursive CTE)."""


_LINES_CTE = """WITH RECURSIVE line(id, parent_id) AS (
  SELECT id, parent_id FROM areas WHERE id IN ({marks})
  UNION
  SELECT a.id, a.parent_id FROM areas a JOIN line ON a.id = line.parent_id
) SELECT id, parent_id FROM line"""
"""Areas and every area above them, up to the root (a recursive CTE)."""


class CampaignContext:
    """A campaign opened on a workspace: scope, time window, and SQL in the store's dialect."""

    def __init__(self, ws: Workspace, campaign: Campaign) -> None:
        self.ws = ws
        self.campaign = campaign
        self.dialect = ws.dialect
        self._areas: dict[str, Area] | None = None
        self._scope: frozenset[str] | None = None
        self._unscoped: bool | None = None

    # -- time -------------------------------------------------------------------------------

    @property
    def window(self) -> tuple[dt.datetime, dt.datetime]:
        """``[start, end)`` in UTC: local midnight of the first day to after the last."""
        start = self.campaign.day_start(self.campaign.start)
        end = self.campaign.end
        stop = _FAR_FUTURE if end is None else self.campaign.day_start(end + dt.timedelta(days=1))
        return start, stop

    def in_window(self, at: dt.datetime) -> bool:
        """Whether instant ``at`` falls on a day of the campaign (in its time zone)."""
        start, stop = self.window
        return start <= at < stop

    # -- SQL --------------------------------------------------------------------------------

    @property
    def runs_sql(self) -> bool:
        """Whether the store runs SQL (otherwise the Python path computes the same)."""
        return self.dialect.runs_sql

    def timestamp(self, value: dt.datetime) -> Any:
        """A timestamp parameter as the dialect stores it (text for SQLite)."""
        return self.dialect.ts(value)

    def sql(self, text: str) -> str:
        """``text`` written with ``?`` placeholders, in the dialect's placeholder style."""
        return self.dialect.text(text)

    def _query(self, text: str, params: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
        """Run ``text`` (``?`` placeholders) in a read transaction and stream its rows.

        Internal: raw SQL reads the whole store, so only the sweep and
        reporting workflows call it, after their entry point authorized the
        run and with the scope filters they add themselves
        (:meth:`jurisdiction_filter`, :meth:`scope_cte`, then
        :meth:`~gridguard.Workspace.visible`).
        """
        with self.ws._transaction(write=False) as uow:
            yield from uow.query(self.sql(text), list(params))

    def campaign_params(self) -> list[Any]:
        """The parameters of ``IN_CAMPAIGN``."""
        start, stop = self.window
        return [self.campaign.id, self.timestamp(start), self.timestamp(stop)]

    def visit_agg(self, extra: str = "") -> tuple[str, list[Any]]:
        """``VISIT_AGG`` for this campaign, and its parameters."""
        return VISIT_AGG.format(extra=extra), self.campaign_params()

    def _has_visits(self) -> bool:
        """Whether any visit counts for the campaign in its scope's communities (one probe).

        Internal: the planner's choice of SQL, not an answer for a principal.
        """
        juris, params = self.jurisdiction_filter("v.jurisdiction")
        sql = f"SELECT 1 FROM visits v WHERE {IN_CAMPAIGN}{juris} LIMIT 1"
        return any(True for _ in self._query(sql, [*self.campaign_params(), *params]))

    def jurisdiction_filter(self, column: str) -> tuple[str, list[Any]]:
        """`` AND column IN (...)`` for the campaign's communities; nothing when it spans all.

        Only the system principal's campaign can span all: a scoped
        principal sees only part of the place tree, so what looks like every
        community to her is not every community in the store, and her
        queries always name hers.
        """
        if self.unscoped and self.jurisdictions >= self.all_jurisdictions:
            return "", []
        wanted = sorted(self.jurisdictions) or [""]
        return f" AND {column} IN ({', '.join('?' for _ in wanted)})", wanted

    def scope_cte(self) -> tuple[str, list[Any]]:
        """``SCOPE_CTE`` for the campaign's scope, and its parameters."""
        scope = list(self.campaign.scope) or [""]
        return SCOPE_CTE.format(marks=", ".join("?" for _ in scope)), scope

    def _lookup(self, table_sql: str, ids: Iterable[str]) -> Iterator[tuple[Any, ...]]:
        """Rows of ``table_sql`` (ending in ``IN ({marks})``) for ``ids``, a chunk at a time.

        Internal, like :meth:`_query`.
        """
        ordered = sorted(set(ids))
        for start in range(0, len(ordered), _CHUNK):
            chunk = ordered[start : start + _CHUNK]
            marks = ", ".join("?" for _ in chunk)
            yield from self._query(table_sql.format(marks=marks), chunk)

    def _has_open_visit_tasks(self) -> bool:
        """Whether any visit task is open (one probe); without one, plans skip the task check.

        Internal, like :meth:`_has_visits`.
        """
        sql = "SELECT 1 FROM tasks WHERE kind = 'visit' AND status = 'open' LIMIT 1"
        return any(True for _ in self._query(sql, []))

    def _pending(self) -> str:
        """``PENDING``, or ``PENDING OR OPEN_VISIT_TASK`` when a visit task is open (internal)."""
        if self._has_open_visit_tasks():
            return f"({PENDING} OR {OPEN_VISIT_TASK})"
        return PENDING

    def revisits(self) -> set[str]:
        """Households with an open visit task not settled by a visit since (Python path)."""

        tasks = [
            t for t in self.ws.find(Task, kind=TaskKind.VISIT.value) if t.status is TaskStatus.OPEN
        ]
        if not tasks:
            return set()
        settled: dict[str, list[dt.datetime]] = {}
        for visit in self.ws.find(Visit):
            if visit.outcome in (Outcome.SCREENED, Outcome.VACANT):
                settled.setdefault(visit.household_id, []).append(visit.at)
        return {
            t.household_id
            for t in tasks
            if not any(at >= t.due for at in settled.get(t.household_id, ()))
        }

    # -- the place tree ---------------------------------------------------------------------

    @property
    def areas(self) -> dict[str, Area]:
        """Every area in the store, by id (areas are few: a city has thousands)."""
        if self._areas is None:
            self._areas = {a.id: a for a in self.ws.find(Area)}
        return self._areas

    @property
    def scope(self) -> frozenset[str]:
        """The campaign's scope areas and every area below them."""
        if self._scope is None:
            children: dict[str, list[str]] = {}
            for area in self.areas.values():
                if area.parent_id is not None:
                    children.setdefault(area.parent_id, []).append(area.id)
            found: set[str] = set()
            todo = [a for a in self.campaign.scope if a in self.areas]
            while todo:
                area_id = todo.pop()
                if area_id not in found:
                    found.add(area_id)
                    todo.extend(children.get(area_id, ()))
            self._scope = frozenset(found)
        return self._scope

    @property
    def unscoped(self) -> bool:
        """Whether the workspace's principal sees the whole store (the system principal)."""
        if self._unscoped is None:
            self._unscoped = self.ws.scope_jurisdictions(Household) is None
        return self._unscoped

    @property
    def all_jurisdictions(self) -> frozenset[str]:
        """Every community (and village) in the store."""
        return frozenset(a.id for a in self.areas.values() if a.level.is_jurisdiction)

    @property
    def jurisdictions(self) -> frozenset[str]:
        """The communities whose households the campaign's scope reaches, whole or in part."""
        found = {a for a in self.scope if self.areas[a].level.is_jurisdiction}
        found |= {self.community_of(a) for a in self.campaign.scope if a in self.areas}
        return frozenset(
            a for a in found if a in self.areas and self.areas[a].level.is_jurisdiction
        )

    @property
    def whole_jurisdictions(self) -> bool:
        """Whether the scope is made of whole communities (no grid or building on its own)."""
        return all(
            a in self.areas and self.areas[a].level.rank <= AreaLevel.COMMUNITY.rank
            for a in self.campaign.scope
        )

    def path(self, area_id: str) -> tuple[str, ...]:
        """Ids from the root of the tree down to ``area_id``: siblings sort together."""
        out: list[str] = []
        current: str | None = area_id
        while current is not None and current not in out:
            out.append(current)
            area = self.areas.get(current)
            current = None if area is None else area.parent_id
        return tuple(reversed(out))

    def grid_of(self, area_id: str) -> str:
        """The grid (or village group) at or above ``area_id``; the area itself if none."""
        for ancestor in reversed(self.path(area_id)):
            area = self.areas.get(ancestor)
            if area is not None and area.level in GRID_LEVELS:
                return ancestor
        return area_id

    def community_of(self, area_id: str) -> str:
        """The jurisdiction (community or village) at or above ``area_id``."""
        for ancestor in reversed(self.path(area_id)):
            area = self.areas.get(ancestor)
            if area is not None and area.level.is_jurisdiction:
                return ancestor
        return area_id

    def placed(self, area_ids: Iterable[str]) -> tuple[frozenset[str], frozenset[str]]:
        """Of ``area_ids``: those in the campaign's scope, and those whose teams it serves.

        Without the whole tree loaded (:attr:`areas`), only the lines from
        these areas and the scope's areas up to the root are read, a level
        at a time: recording one visit does not read every area of a city.
        """
        wanted = set(area_ids)
        if self._areas is not None or not self.runs_sql:
            return (
                frozenset(a for a in wanted if a in self.scope),
                frozenset(a for a in wanted if self.serves(a)),
            )
        parents: dict[str, str | None] = {
            str(i): (None if p is None else str(p))
            for i, p in self._lookup(_LINES_CTE, wanted | set(self.campaign.scope))
        }

        def line(start: str) -> list[str]:
            out: list[str] = []
            current: str | None = start
            while current is not None and current in parents and current not in out:
                out.append(current)
                current = parents[current]
            return out

        roots = set(self.campaign.scope)
        inside = frozenset(a for a in wanted if roots.intersection(line(a)))
        above = {x for s in roots for x in line(s)}
        return inside, frozenset(a for a in wanted if a in inside or a in above)

    def serves(self, area_id: str) -> bool:
        """Whether a team of ``area_id`` works in this campaign: in its scope or above it."""
        if area_id in self.scope:
            return True
        return any(area_id in self.path(s) for s in self.campaign.scope)

    def name(self, area_id: str) -> str:
        area = self.areas.get(area_id)
        return area_id if area is None else area.name

    # -- the Python path (memory backend) ---------------------------------------------------

    def household_facts(self) -> dict[str, HouseholdFacts]:
        """Every household with a visit in the campaign, summed up (Python path)."""
        facts: dict[str, HouseholdFacts] = {}
        for visit in self.ws.find(Visit):
            if not self.counts(visit):
                continue
            facts.setdefault(visit.household_id, HouseholdFacts()).add(visit)
        return facts

    def counts(self, visit: Visit) -> bool:
        """Whether ``visit`` belongs to this campaign (tagged with it, or untagged in its days)."""
        if visit.campaign_id is not None:
            return visit.campaign_id == self.campaign.id
        return self.in_window(visit.at)

    def households_in_scope(self) -> Iterator[tuple[Household, Stairwell, Building]]:
        """Households in the campaign's scope with their stairwell and building (Python path)."""
        scope = self.scope
        buildings = {b.id: b for b in self.ws.find(Building) if b.area_id in scope}
        stairwells = {s.id: s for s in self.ws.find(Stairwell) if s.building_id in buildings}
        for household in self.ws.find(Household):
            stairwell = stairwells.get(household.stairwell_id)
            if stairwell is not None:
                yield household, stairwell, buildings[stairwell.building_id]
