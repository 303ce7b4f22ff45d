"""The Huayuan community (华苑社区) of the Southern Daily report, as model objects.

An old inner-city community of Zhongshan's East District: open compounds
with no property management, 430 stairwells of five- to seven-storey
walk-ups, a little over 4,000 households, 20 sweep teams of three, and one
observer per building.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ..model import (
    Area,
    AreaLevel,
    Building,
    Campaign,
    Household,
    MemberRole,
    OutbreakArea,
    Person,
    Stairwell,
    Team,
    TeamKind,
    TeamMember,
)
from ._people import RESIDENT, TENANT, PersonFactory, Row, age_on_reference

if TYPE_CHECKING:
    from ..storage.base import SaveResult
    from ..workspace import Workspace

__all__ = ["HUAYUAN_STAIRWELLS", "HUAYUAN_TEAMS", "Scenario", "huayuan"]

HUAYUAN_STAIRWELLS = 430
"""Stairwells swept from 25 to 30 January 2020."""
HUAYUAN_TEAMS = 20
"""Sweep teams of three at the peak."""
CAMPAIGN_START = dt.date(2020, 1, 25)

CITY = ("442000", "中山市")
DISTRICT = ("442000002", "东区")
COMMUNITY = ("442000002003", "华苑社区")

# Open compounds of the community: (name, pavilions). A building in a compound with
# pavilions is named after its pavilion ("牡丹阁3幢"), otherwise by number ("5幢").
COMPOUNDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("百苑新村", ("牡丹阁", "芙蓉阁", "玫瑰阁", "茉莉阁", "海棠阁", "紫荆阁")),
    ("华苑新村", ()),
    ("东苑新村", ("桂花阁", "兰花阁", "荷花阁", "菊花阁")),
    ("松苑小区", ()),
    ("竹苑小区", ()),
    ("银湾小区", ("银湾东阁", "银湾西阁")),
    ("兴中小区", ()),
    ("新安小区", ()),
)

FLOOR_WEIGHTS = {3: 0.04, 4: 0.08, 5: 0.24, 6: 0.30, 7: 0.26, 8: 0.08}
"""Storeys of a stairwell: mostly five- to seven-storey walk-ups without lifts."""
STAIRWELLS_PER_BUILDING = {1: 0.15, 2: 0.40, 3: 0.33, 4: 0.12}


def _tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class Scenario:
    """A generated place with its people, teams and campaign, as model objects.

    ``buildings`` carry their observer. Storage needs an observer to exist
    before a building names them, so :meth:`records` yields the buildings
    without observers and :meth:`observer_assignments` the same buildings
    with them, for a second :meth:`~gridguard.Workspace.add`;
    :meth:`load` does both in one transaction.
    """

    seed: int
    areas: tuple[Area, ...] = attrs.field(converter=_tuple)
    buildings: tuple[Building, ...] = attrs.field(converter=_tuple)
    stairwells: tuple[Stairwell, ...] = attrs.field(converter=_tuple)
    households: tuple[Household, ...] = attrs.field(converter=_tuple)
    persons: tuple[Person, ...] = attrs.field(converter=_tuple)
    teams: tuple[Team, ...] = attrs.field(converter=_tuple)
    campaign: Campaign

    @property
    def community(self) -> Area:
        """The jurisdiction that runs the lines of defense."""
        return next(a for a in self.areas if a.level is AreaLevel.COMMUNITY)

    @property
    def grids(self) -> tuple[Area, ...]:
        return tuple(a for a in self.areas if a.level is AreaLevel.GRID)

    @property
    def observers(self) -> tuple[Person, ...]:
        """The building observers, in building order."""
        by_id = {p.id: p for p in self.persons}
        return tuple(by_id[b.observer_id] for b in self.buildings if b.observer_id)

    def records(self) -> Iterator[Any]:
        """Every registry entry, parents first; buildings without their observers."""
        yield from self.areas
        for building in self.buildings:
            yield attrs.evolve(building, observer_id=None) if building.observer_id else building
        yield from self.stairwells
        yield from self.households
        yield from self.persons
        yield from self.teams
        yield self.campaign

    def observer_assignments(self) -> Iterator[Building]:
        """The buildings that have an observer, to add once the persons are stored."""
        return (b for b in self.buildings if b.observer_id is not None)

    def record_count(self) -> int:
        """How many records :meth:`records` yields."""
        return (
            len(self.areas)
            + len(self.buildings)
            + len(self.stairwells)
            + len(self.households)
            + len(self.persons)
            + len(self.teams)
            + 1
        )

    def load(self, ws: Workspace, *, progress: Callable[[int], None] | None = None) -> SaveResult:
        """Add the whole scenario to ``ws`` in one transaction, observers included."""
        with ws.transaction():
            result = ws.add(self.records(), progress=progress)
            result += ws.add(self.observer_assignments(), progress=progress)
        return result


def _weighted(rng: random.Random, table: dict[int, float]) -> int:
    return rng.choices(list(table), weights=list(table.values()))[0]


def _split(total: int, parts: int) -> list[int]:
    """``total`` in ``parts`` near-equal whole parts."""
    base, extra = divmod(total, parts)
    return [base + (1 if n < extra else 0) for n in range(parts)]


def _areas(rng: random.Random) -> tuple[list[Area], list[Area]]:
    city = Area(id=CITY[0], name=CITY[1], level=AreaLevel.CITY, code=CITY[0])
    district = Area(
        id=DISTRICT[0],
        name=DISTRICT[1],
        level=AreaLevel.DISTRICT,
        parent_id=city.id,
        code=DISTRICT[0],
    )
    community = Area(
        id=COMMUNITY[0],
        name=COMMUNITY[1],
        level=AreaLevel.COMMUNITY,
        parent_id=district.id,
        code=COMMUNITY[0],
    )
    grids = [
        Area(
            id=f"{community.id}-g{n:02d}",
            name=f"{community.name}第{n}网格",
            level=AreaLevel.GRID,
            parent_id=community.id,
        )
        for n in range(1, rng.randint(8, 10) + 1)
    ]
    return [city, district, community, *grids], grids


def _building_plan(rng: random.Random) -> list[int]:
    """Stairwells per building, adding up to exactly :data:`HUAYUAN_STAIRWELLS`."""
    plan: list[int] = []
    while sum(plan) < HUAYUAN_STAIRWELLS:
        plan.append(min(_weighted(rng, STAIRWELLS_PER_BUILDING), HUAYUAN_STAIRWELLS - sum(plan)))
    return plan


def _name_buildings(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """``(compound, building name)`` for ``count`` buildings, compound by compound."""
    shares = [rng.uniform(0.6, 1.4) for _ in COMPOUNDS]
    sizes = [max(1, round(count * s / sum(shares))) for s in shares]
    sizes[0] += count - sum(sizes)
    names: list[tuple[str, str]] = []
    for (compound, pavilions), size in zip(COMPOUNDS, sizes, strict=True):
        if not pavilions:
            names += [(compound, f"{n}幢") for n in range(1, size + 1)]
            continue
        for pavilion, in_pavilion in zip(pavilions, _split(size, len(pavilions)), strict=True):
            names += [(compound, f"{pavilion}{n}幢") for n in range(1, in_pavilion + 1)]
    return names


def _observer(rng: random.Random, residents: Sequence[Row]) -> str:
    """A long-time resident of the building, preferably 55-75 years old."""

    def pick(low: int, high: int) -> list[Row]:
        return [r for r in residents if r[7] == RESIDENT and low <= age_on_reference(r[6]) <= high]

    for low, high in ((55, 75), (40, 80), (18, 120)):
        candidates = pick(low, high)
        if candidates:
            return str(rng.choice(candidates)[0])
    adults = [r for r in residents if age_on_reference(r[6]) >= 18]
    return str(rng.choice(adults or list(residents))[0])


def _teams(
    rng: random.Random, people: PersonFactory, community: Area, grids: Sequence[Area]
) -> list[Team]:
    teams = []
    for n in range(1, HUAYUAN_TEAMS + 1):
        members = []
        for role, party in (
            (MemberRole.CADRE, rng.random() < 0.9),
            (MemberRole.DOCTOR, rng.random() < 0.4),
            (MemberRole.POLICE, rng.random() < 0.6),
        ):
            male = rng.random() < (0.45 if role is MemberRole.DOCTOR else 0.6)
            members.append(
                TeamMember(
                    name=people.name(male), role=role, party_member=party, phone=people.phone()
                )
            )
        teams.append(
            Team(
                id=f"{community.id}-t{n:02d}",
                name=f"{community.name}第{n}小分队",
                area_id=community.id,
                kind=TeamKind.SWEEP,
                members=members,
                home_grid_id=grids[(n - 1) % len(grids)].id,
            )
        )
    return teams


def _person(row: Row) -> Person:
    return Person(
        id=row[0],
        household_id=row[1],
        name=row[2],
        resident_id=row[3],
        phone=row[4],
        sex=row[5],
        birth_date=dt.date.fromisoformat(row[6]),
        residency=row[7],
    )


def huayuan(seed: int = 2020) -> Scenario:
    """The Huayuan community on 25 January 2020, generated from ``seed``.

    The same seed gives the same scenario, object for object. It has exactly
    430 stairwells (three to eight floors, two or three doors a floor), a
    little over 4,000 households (the other doors are vacant or shops),
    about 2.6 people per household, one observer per building, 20 sweep
    teams of a cadre, a doctor and a police officer, and a campaign from
    25 January 2020 screening arrivals from Wuhan.
    """
    rng = random.Random(seed)
    people = PersonFactory(rng)
    areas, grids = _areas(rng)
    community = areas[2]

    plan = _building_plan(rng)
    names = _name_buildings(rng, len(plan))
    per_grid = _split(len(plan), len(grids))
    grid_of = [g for g, size in zip(grids, per_grid, strict=True) for _ in range(size)]

    # Stairwells first, then pick which doors are occupied households.
    shapes: list[tuple[int, int, int, int]] = []  # (building index, stairwell no., floors, doors)
    for b, count in enumerate(plan):
        floors = _weighted(rng, FLOOR_WEIGHTS)  # a building's stairwells share its height
        for s in range(1, count + 1):
            shapes.append((b, s, floors, 3 if rng.random() < 0.35 else 2))
    doors: list[tuple[int, int, int]] = []  # (stairwell index, floor, door)
    first_door: dict[int, int] = {}
    for n, (_, _, floors, per_floor) in enumerate(shapes):
        shop_floor = rng.random() < 0.3  # ground floor let to shops: not dwellings
        for floor in range(2 if shop_floor else 1, floors + 1):
            for door in range(1, per_floor + 1):
                first_door.setdefault(n, len(doors))
                doors.append((n, floor, door))
    target = rng.randint(4_150, 4_350)
    reserved = sorted(first_door.values())  # every stairwell has someone living in it
    reserved_set = set(reserved)
    rest = [i for i in range(len(doors)) if i not in reserved_set]
    occupied = sorted(reserved + rng.sample(rest, target - len(reserved)))

    buildings_rows: list[tuple[str, str, str, str]] = []
    for b, (compound, name) in enumerate(names):
        buildings_rows.append((f"{community.id}-b{b + 1:03d}", grid_of[b].id, name, compound))
    stairwells = [
        Stairwell(
            id=f"{buildings_rows[b][0]}-{s}",
            building_id=buildings_rows[b][0],
            name=f"{s}梯",
            floors=floors,
            doors_per_floor=per_floor,
        )
        for b, s, floors, per_floor in shapes
    ]

    households: list[Household] = []
    person_rows: list[Row] = []
    residents_of: dict[int, list[Row]] = {}
    for index in occupied:
        n, floor, door = doors[index]
        b = shapes[n][0]
        stairwell = stairwells[n]
        _, _, building_name, compound = buildings_rows[b]
        room = f"{floor}{door:02d}"
        household_id = f"{stairwell.id}-{room}"
        tenant = rng.random() < 0.18
        rows = people.household(
            household_id,
            people.household_size(),
            TENANT if tenant else RESIDENT,
            bands="old",
            visitor_chance=0.04,
        )
        households.append(
            Household(
                id=household_id,
                stairwell_id=stairwell.id,
                floor=floor,
                door=f"{door:02d}",
                address=(
                    f"{CITY[1]}{DISTRICT[1]}{COMMUNITY[1]}{compound}{building_name}"
                    f"{stairwell.name}{room}房"
                ),
                phone=rows[0][4],
            )
        )
        person_rows += rows
        residents_of.setdefault(b, []).extend(rows)

    buildings = [
        Building(
            id=building_id,
            area_id=area_id,
            name=name,
            compound=compound,
            managed=False,
            observer_id=_observer(rng, residents_of[b]),
        )
        for b, (building_id, area_id, name, compound) in enumerate(buildings_rows)
    ]
    campaign = Campaign(
        id=f"{community.id}-2020-ncov",
        name=f"{community.name}新冠肺炎疫情防控一级响应",
        scope=(community.id,),
        start=CAMPAIGN_START,
        outbreak_areas=(OutbreakArea(name="武汉", code="4201"),),
    )
    return Scenario(
        seed=seed,
        areas=areas,
        buildings=buildings,
        stairwells=stairwells,
        households=households,
        persons=[_person(r) for r in person_rows],
        teams=_teams(rng, people, community, grids),
        campaign=campaign,
    )
