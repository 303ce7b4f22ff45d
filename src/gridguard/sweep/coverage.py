"""Coverage of the sweep: how far it got, per campaign, area, grid, building or stairwell.

Every household in the campaign's scope is in exactly one of five states:
``screened`` (a visit, at the door or by phone, screened it), ``vacant``
(nobody lives there), ``refused``, ``unreachable`` (visited but never
found: not at home, and not reached by phone either) or ``pending`` (not
visited yet); ``not_home`` and ``phoned`` count how many were found not at
home at the door and how many had a phone follow-up, whatever came of it.
SQL stores compute it with one ``GROUP BY``; the memory backend in Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import ValidationError
from ..model import Person, Screening, Stairwell
from .context import IN_CAMPAIGN, KIND_BIT, NOT_HOME, PHONED, REFUSED, SCREENED, VACANT

if TYPE_CHECKING:
    from .context import CampaignContext, HouseholdFacts

__all__ = ["COUNTS", "LEVELS", "CoverageRow", "coverage"]

LEVELS = ("campaign", "area", "grid", "building", "stairwell")
"""What coverage can be grouped by; ``area`` is the community (or village)."""

COUNTS = (
    "households",
    "visited",
    "screened",
    "not_home",
    "phoned",
    "unreachable",
    "refused",
    "vacant",
    "pending",
    "persons_screened",
)


@attrs.frozen
class CoverageRow:
    """Coverage of one campaign, area, grid, building or stairwell."""

    level: str
    id: str
    name: str
    households: int = 0
    """Households in the campaign's scope."""
    visited: int = 0
    """Households with at least one visit (door or phone)."""
    screened: int = 0
    not_home: int = 0
    """Households found not at home at the door at least once."""
    phoned: int = 0
    """Households with at least one phone follow-up."""
    unreachable: int = 0
    """Visited, but neither screened, vacant nor refusing: not at home, and not on the phone."""
    refused: int = 0
    vacant: int = 0
    pending: int = 0
    """Not visited yet."""
    persons_screened: int = 0
    """Distinct persons with a screening during the campaign."""

    @property
    def share_visited(self) -> float:
        return self.visited / self.households if self.households else 0.0

    def counts(self) -> tuple[int, ...]:
        return tuple(getattr(self, name) for name in COUNTS)

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "id": self.id,
            "name": self.name,
            **{name: getattr(self, name) for name in COUNTS},
        }


_DECODE = """count(*),
  count(m),
  sum(CASE WHEN m & {screened} > 0 THEN 1 ELSE 0 END),
  sum(CASE WHEN m & {not_home} > 0 THEN 1 ELSE 0 END),
  sum(CASE WHEN m & {phoned} > 0 THEN 1 ELSE 0 END),
  sum(CASE WHEN m & {screened} = 0 AND m & {vacant} = 0 AND m & {refused} = 0 THEN 1 ELSE 0 END),
  sum(CASE WHEN m & {screened} = 0 AND m & {vacant} = 0 AND m & {refused} > 0 THEN 1 ELSE 0 END),
  sum(CASE WHEN m & {screened} = 0 AND m & {vacant} > 0 THEN 1 ELSE 0 END)"""
"""Household masks (``m``, ``NULL`` when not visited) summed up into coverage counts."""

_HOUSEHOLDS_PER_STAIRWELL = """
SELECT h.stairwell_id, count(*) FROM households h WHERE 1 = 1{jurisdictions} GROUP BY h.stairwell_id
"""

_VISITED_PER_STAIRWELL = """
SELECT h.stairwell_id, {decode}
FROM (SELECT v.household_id AS hid, sum(DISTINCT {bit}) AS m
      FROM visits v WHERE {in_campaign}{jurisdictions}
      GROUP BY v.household_id) x
JOIN households h ON h.id = x.hid
GROUP BY h.stairwell_id
"""
"""Visited households per stairwell: their visits summed up household by household in the
order of the visits' covering index, then one lookup per visited household."""

_PERSONS_PER_STAIRWELL = """
SELECT h.stairwell_id, sum(x.n)
FROM (SELECT p.household_id AS hid, count(*) AS n
      FROM (SELECT DISTINCT person_id FROM screenings
            WHERE "at" >= ? AND "at" < ?{jurisdictions}) s
      JOIN persons p ON p.id = s.person_id
      GROUP BY p.household_id) x
JOIN households h ON h.id = x.hid
GROUP BY h.stairwell_id
"""

_STAIRWELLS = """
WITH RECURSIVE {scope}
SELECT s.id, s.name, b.id, b.name, b.area_id
FROM stairwells s JOIN buildings b ON b.id = s.building_id
WHERE b.area_id IN (SELECT id FROM scope)
"""

_HOUSEHOLDS_PER_COMMUNITY = """
SELECT {key}, count(*) FROM households WHERE 1 = 1{jurisdictions}{group}
"""

_VISITS_PER_COMMUNITY = """
SELECT {key}, {decode}
FROM (SELECT v.jurisdiction AS j, sum(DISTINCT {bit}) AS m
      FROM visits v WHERE {in_campaign}{jurisdictions}
      GROUP BY v.household_id, v.jurisdiction) x{group}
"""
"""Visited households per community, household by household in the order of the visits'
covering index: no household row is read."""

_PERSONS_PER_COMMUNITY = """
SELECT {key}, count(DISTINCT person_id) FROM screenings
WHERE "at" >= ? AND "at" < ?{jurisdictions}{group}
"""


def _counts(values: Iterable[Any]) -> list[int]:
    """households, visited, screened, not_home, phoned, unreachable, refused, vacant[, persons]."""
    return [int(v or 0) for v in values]


def _row(level: str, id: str, name: str, c: list[int]) -> CoverageRow:
    households, visited, screened, not_home, phoned, unreachable, refused, vacant, persons = c
    return CoverageRow(
        level=level,
        id=id,
        name=name,
        households=households,
        visited=visited,
        screened=screened,
        not_home=not_home,
        phoned=phoned,
        unreachable=unreachable,
        refused=refused,
        vacant=vacant,
        pending=households - visited,
        persons_screened=persons,
    )


def _household_counts(facts: HouseholdFacts | None, persons: int) -> list[int]:
    if facts is None:
        return [1, 0, 0, 0, 0, 0, 0, 0, persons]
    status = facts.status()
    return [
        1,
        1,
        int(status == "screened"),
        int(facts.not_home),
        int(facts.phoned),
        int(status == "unreachable"),
        int(status == "refused"),
        int(status == "vacant"),
        persons,
    ]


def _add(total: list[int] | None, more: list[int]) -> list[int]:
    return more if total is None else [a + b for a, b in zip(total, more, strict=True)]


def _decode() -> str:

    return _DECODE.format(
        screened=SCREENED, vacant=VACANT, refused=REFUSED, not_home=NOT_HOME, phoned=PHONED
    )


def _per_community(ctx: CampaignContext, by: str) -> dict[str, list[int]]:
    """Counts per community (``by="area"``) or in total, reading no household rows.

    Only for a scope of whole communities: their households are exactly those
    whose jurisdiction is one of them.
    """

    grouped = by == "area"
    key, group = ("jurisdiction", " GROUP BY jurisdiction") if grouped else ("NULL", "")
    out: dict[str, list[int]] = {}

    def counts(j: Any) -> list[int]:
        return out.setdefault(str(j) if grouped else ctx.campaign.id, [0] * 9)

    juris, juris_params = ctx.jurisdiction_filter("jurisdiction")
    sql = _HOUSEHOLDS_PER_COMMUNITY.format(key=key, jurisdictions=juris, group=group)
    for j, n in ctx._query(sql, juris_params):
        counts(j)[0] = int(n)
    v_juris, v_params = ctx.jurisdiction_filter("v.jurisdiction")
    sql = _VISITS_PER_COMMUNITY.format(
        key="j" if grouped else "NULL",
        decode=_decode(),
        bit=KIND_BIT,
        in_campaign=IN_CAMPAIGN,
        jurisdictions=v_juris,
        group=" GROUP BY j" if grouped else "",
    )
    for j, _, *visited in ctx._query(sql, [*ctx.campaign_params(), *v_params]):
        counts(j)[1:8] = [int(n or 0) for n in visited]
    start, stop = ctx.window
    sql = _PERSONS_PER_COMMUNITY.format(key=key, jurisdictions=juris, group=group)
    params = [ctx.timestamp(start), ctx.timestamp(stop), *juris_params]
    for j, n in ctx._query(sql, params):
        counts(j)[8] = int(n)
    return {j: c for j, c in out.items() if c[0]}


def _per_stairwell(ctx: CampaignContext) -> dict[tuple[str, str, str, str, str], list[int]]:
    """Counts per stairwell in scope: ``(stairwell, name, building, name, area) -> counts``."""

    h_juris, h_params = ctx.jurisdiction_filter("h.jurisdiction")
    sql = _HOUSEHOLDS_PER_STAIRWELL.format(jurisdictions=h_juris)
    counts = {str(sid): [int(n), 0, 0, 0, 0, 0, 0, 0, 0] for sid, n in ctx._query(sql, h_params)}
    v_juris, v_params = ctx.jurisdiction_filter("v.jurisdiction")
    sql = _VISITED_PER_STAIRWELL.format(
        decode=_decode(), bit=KIND_BIT, in_campaign=IN_CAMPAIGN, jurisdictions=v_juris
    )
    for sid, _, *visited in ctx._query(sql, [*ctx.campaign_params(), *v_params]):
        if str(sid) in counts:
            counts[str(sid)][1:8] = [int(n or 0) for n in visited]
    start, stop = ctx.window
    s_juris, s_params = ctx.jurisdiction_filter("jurisdiction")
    sql = _PERSONS_PER_STAIRWELL.format(jurisdictions=s_juris)
    for sid, n in ctx._query(sql, [ctx.timestamp(start), ctx.timestamp(stop), *s_params]):
        if str(sid) in counts:
            counts[str(sid)][8] = int(n)
    scope, scope_params = ctx.scope_cte()
    out = {}
    for row in ctx._query(_STAIRWELLS.format(scope=scope), scope_params):
        found = counts.get(str(row[0]))
        if found:
            out[(str(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]))] = found
    return out


def coverage(ctx: CampaignContext, by: str = "campaign") -> list[CoverageRow]:
    """Coverage of the campaign grouped ``by`` one of :data:`LEVELS`, in id order.

    A scoped principal's counts are those of the stairwells inside her
    scope only, whatever the grouping.
    """
    if by not in LEVELS:
        raise ValidationError.single("$.by", repr(by), f"must be one of: {', '.join(LEVELS)}")
    name = (lambda i: ctx.campaign.name) if by == "campaign" else ctx.name
    scoped = not ctx.ws.guard.everywhere
    if ctx.runs_sql and by in ("campaign", "area") and ctx.whole_jurisdictions and not scoped:
        rolled = _per_community(ctx, by)
        if by == "campaign" and not rolled:
            rolled[ctx.campaign.id] = [0] * 9
        return [_row(by, i, name(i), c) for i, c in sorted(rolled.items())]
    # (stairwell, stairwell name, building, building name, area) -> counts
    stairwells: dict[tuple[str, str, str, str, str], list[int]] = {}
    if ctx.runs_sql:
        stairwells = _per_stairwell(ctx)
    else:
        facts = ctx.household_facts()
        screened = _persons_screened(ctx)
        for household, stairwell, building in ctx.households_in_scope():
            key = (stairwell.id, stairwell.name, building.id, building.name, building.area_id)
            counts = _household_counts(facts.get(household.id), screened.get(household.id, 0))
            stairwells[key] = _add(stairwells.get(key), counts)
    if scoped:  # aggregates respect scope: no count of another grid's stairwells
        inside = ctx.ws.in_scope(Stairwell, {key[0] for key in stairwells})
        stairwells = {key: c for key, c in stairwells.items() if key[0] in inside}
    rolled_rows: dict[tuple[str, str], list[int]] = {}
    for (sid, s_name, bid, b_name, area_id), counts in stairwells.items():
        if by == "stairwell":
            target = (sid, f"{b_name} {s_name}")
        elif by == "building":
            target = (bid, b_name)
        elif by == "campaign":
            target = (ctx.campaign.id, ctx.campaign.name)
        elif by == "area":
            community = ctx.community_of(area_id)
            target = (community, ctx.name(community))
        else:
            grid = ctx.grid_of(area_id)
            target = (grid, ctx.name(grid))
        rolled_rows[target] = _add(rolled_rows.get(target), counts)
    if by == "campaign" and not rolled_rows:
        rolled_rows[(ctx.campaign.id, ctx.campaign.name)] = [0] * 9
    return [_row(by, i, n, c) for (i, n), c in sorted(rolled_rows.items())]


def _persons_screened(ctx: CampaignContext) -> dict[str, int]:
    """Household id -> distinct persons screened during the campaign (Python path)."""
    people: dict[str, set[str]] = {}
    for screening in ctx.ws.find(Screening):
        if ctx.in_window(screening.at):
            people.setdefault(screening.person_id, set())
    if not people:
        return {}
    homes = {p.id: p.household_id for p in ctx.ws.find(Person) if p.id in people}
    out: dict[str, int] = {}
    for person_id in people:
        home = homes.get(person_id)
        if home is not None:
            out[home] = out.get(home, 0) + 1
    return out
