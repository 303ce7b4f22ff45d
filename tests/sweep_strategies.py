"""Hypothesis strategies for the sweep: random place trees, rosters and visits.

A :class:`World` is a small city of one or two communities, each with grids,
buildings, stairwells, households, persons and sweep teams, and a campaign
whose scope is the city, a community or a grid. Teams are stored under a lax
composition policy; :data:`STRICT` asks for a cadre, a doctor and a police
officer, which some generated teams lack.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import attrs
from hypothesis import strategies as st

from gridguard import (
    Area,
    AreaLevel,
    Building,
    Campaign,
    Channel,
    CompositionPolicy,
    Household,
    MemberRole,
    OutbreakArea,
    Person,
    Screening,
    Stairwell,
    Team,
    TeamKind,
    TeamMember,
    Visit,
    VisitOutcome,
)
from gridguard.sweep import Capacity, Shift

__all__ = [
    "LAX",
    "STRICT",
    "World",
    "capacities",
    "load",
    "rosters",
    "visits_for",
    "worlds",
]

START = dt.date(2020, 1, 25)
LAX = CompositionPolicy(min_members={TeamKind.SWEEP: 1, TeamKind.SERVICE: 1}, required_roles={})
"""Lets any team with a member be stored."""
STRICT = CompositionPolicy(
    min_members={TeamKind.SWEEP: 3, TeamKind.SERVICE: 1},
    required_roles={
        TeamKind.SWEEP: {MemberRole.CADRE: 1, MemberRole.DOCTOR: 1, MemberRole.POLICE: 1}
    },
)
"""The Huayuan teams of three: a cadre, a doctor and a police officer."""

FULL_TEAM = (MemberRole.CADRE, MemberRole.DOCTOR, MemberRole.POLICE)


@attrs.frozen
class World:
    records: tuple[Any, ...]
    """Registry entries, parents first (teams included, campaign last)."""
    campaign: Campaign
    teams: tuple[Team, ...]
    households: tuple[Household, ...]
    persons: tuple[Person, ...]
    in_scope: frozenset[str]
    """Ids of the households in the campaign's scope."""

    def members(self, household_id: str) -> list[Person]:
        return [p for p in self.persons if p.household_id == household_id]

    def campaign_teams(self) -> list[Team]:
        """Sweep teams whose community is in the campaign (the scope's community)."""
        return [t for t in self.teams if t.area_id in self._communities()]

    def _communities(self) -> set[str]:
        areas = {r.id: r for r in self.records if isinstance(r, Area)}
        out = set()
        for area_id in self.campaign.scope:
            area = areas[area_id]
            if area.level is AreaLevel.GRID:
                out.add(str(area.parent_id))
            elif area.level is AreaLevel.COMMUNITY:
                out.add(area.id)
            else:
                out |= {a.id for a in areas.values() if a.level is AreaLevel.COMMUNITY}
        return out


@st.composite
def worlds(draw: st.DrawFn, max_teams: int = 4) -> World:
    """A random small city with a campaign over part of it."""
    records: list[Any] = [Area(id="zs", name="中山市", level=AreaLevel.CITY)]
    households: list[Household] = []
    persons: list[Person] = []
    teams: list[Team] = []
    grids_of: dict[str, list[str]] = {}
    household_grid: dict[str, str] = {}
    for c in range(1, draw(st.integers(1, 2)) + 1):
        community = f"c{c}"
        records.append(
            Area(id=community, name=f"社区{c}", level=AreaLevel.COMMUNITY, parent_id="zs")
        )
        grids_of[community] = []
        for g in range(1, draw(st.integers(1, 3)) + 1):
            grid = f"{community}-g{g}"
            grids_of[community].append(grid)
            records.append(
                Area(id=grid, name=f"网格{g}", level=AreaLevel.GRID, parent_id=community)
            )
            for b in range(1, draw(st.integers(0, 3)) + 1):
                building = f"{grid}-b{b}"
                records.append(Building(id=building, area_id=grid, name=f"{b}幢"))
                for s in range(1, draw(st.integers(1, 3)) + 1):
                    stairwell = f"{building}-{s}"
                    floors, doors = draw(st.integers(1, 4)), draw(st.integers(1, 3))
                    records.append(
                        Stairwell(
                            id=stairwell,
                            building_id=building,
                            name=f"{s}梯",
                            floors=floors,
                            doors_per_floor=doors,
                        )
                    )
                    occupied = draw(
                        st.sets(
                            st.tuples(st.integers(1, floors), st.integers(1, doors)),
                            max_size=floors * doors,
                        )
                    )
                    for floor, door in sorted(occupied):
                        household = f"{stairwell}-{floor}{door:02d}"
                        households.append(
                            Household(
                                id=household,
                                stairwell_id=stairwell,
                                floor=floor,
                                door=f"{door:02d}",
                                address=f"{building}{s}梯{floor}{door:02d}",
                            )
                        )
                        household_grid[household] = grid
                        for p in range(1, draw(st.integers(0, 3)) + 1):
                            persons.append(
                                Person(
                                    id=f"{household}-{p}", household_id=household, name=f"居民{p}"
                                )
                            )
        for t in range(1, draw(st.integers(1, max_teams)) + 1):
            roles = FULL_TEAM if draw(st.integers(0, 4)) else (MemberRole.CADRE,)
            home = draw(st.none() | st.sampled_from(grids_of[community]))
            teams.append(
                Team(
                    id=f"{community}-t{t}",
                    name=f"小分队{t}",
                    area_id=community,
                    members=[TeamMember(name=f"队员{n}", role=r) for n, r in enumerate(roles)],
                    home_grid_id=home,
                )
            )
    all_grids = [g for gs in grids_of.values() for g in gs]
    scope = draw(
        st.sampled_from([("zs",), ("c1",)]) | st.sampled_from(all_grids).map(lambda g: (g,))
    )
    campaign = Campaign(
        id="sweep-2020",
        name="一级响应",
        scope=scope,
        start=START,
        end=draw(st.none() | st.just(START + dt.timedelta(days=6))),
        time_zone=draw(st.sampled_from(["Asia/Shanghai", "UTC", "America/New_York"])),
        outbreak_areas=[OutbreakArea(name="武汉", code="4201")],
    )

    def inside(household: str) -> bool:
        grid = household_grid[household]
        return any(grid == a or grid.startswith(f"{a}-") or a == "zs" for a in scope)

    records += households
    records += persons
    records += teams
    records.append(campaign)
    return World(
        records=tuple(records),
        campaign=campaign,
        teams=tuple(teams),
        households=tuple(households),
        persons=tuple(persons),
        in_scope=frozenset(h.id for h in households if inside(h.id)),
    )


def load(ws: Any, world: World) -> None:
    """Store ``world`` (teams under the lax policy), leaving the workspace's policy as it was."""
    policy = ws.composition_policy
    ws.composition_policy = LAX
    try:
        ws.add(world.records)
    finally:
        ws.composition_policy = policy


def capacities() -> st.SearchStrategy[Capacity]:
    return st.one_of(
        st.integers(1, 6).map(Capacity.stairwells), st.integers(1, 25).map(Capacity.households)
    )


@st.composite
def rosters(draw: st.DrawFn, teams: list[Team], max_days: int = 4) -> list[Shift]:
    """One shift a day for a few days, each with a random set of ``teams``."""
    shifts = []
    for day in range(draw(st.integers(1, max_days))):
        chosen = draw(st.lists(st.sampled_from(teams), unique_by=lambda t: t.id)) if teams else []
        shifts.append(Shift(START + dt.timedelta(days=day), chosen))
    return shifts


@st.composite
def visits_for(draw: st.DrawFn, world: World, max_visits: int = 25) -> list[Any]:
    """Visits (and the screenings of screened ones) of random households, in and out of scope.

    Times fall before, in and after the campaign's days; some visits are
    tagged with the campaign, some with another, some with none.
    """
    if not world.households:
        return []
    facts: list[Any] = []
    zone = world.campaign.zone
    for _ in range(draw(st.integers(0, max_visits))):
        household = draw(st.sampled_from(world.households))
        day = START + dt.timedelta(days=draw(st.integers(-2, 8)))
        at = dt.datetime.combine(
            day, dt.time(draw(st.integers(0, 23)), draw(st.integers(0, 59))), zone
        )
        visit = Visit(
            id=uuid.UUID(int=draw(st.integers(1, 2**64))),
            at=at,
            household_id=household.id,
            outcome=draw(st.sampled_from(VisitOutcome)),
            channel=draw(st.sampled_from(Channel)),
            campaign_id=draw(
                st.sampled_from([None, world.campaign.id, world.campaign.id, "other"])
            ),
        )
        facts.append(visit)
        if visit.outcome is VisitOutcome.SCREENED:
            for person in world.members(household.id):
                if draw(st.booleans()):
                    facts.append(
                        Screening(
                            id=uuid.UUID(int=draw(st.integers(1, 2**64))),
                            at=at,
                            person_id=person.id,
                            visit_id=visit.id,
                            temperature=36.5,
                        )
                    )
    unique: dict[uuid.UUID, Any] = {}
    for fact in facts:
        unique.setdefault(fact.id, fact)
    return list(unique.values())
