"""A whole city, streamed into storage one community at a time.

Zhongshan had 4.42 million residents in the 2020 census in about 1.5 million
households (2.95 a household, dormitories included), in six subdistricts and
eighteen towns. :func:`generate_city`
makes a population of that shape: subdistricts hold urban communities (old
open compounds of walk-ups and newer managed estates of high-rises), towns
hold communities and villages, and a village's buildings are the self-built
houses of its village groups, their upper floors let to tenants.

Rows are built as tuples in the stored encoding and loaded with
:meth:`~gridguard.Workspace.load_rows`, one transaction per community, so
memory stays flat whatever the city's size.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Callable, Generator, Sequence
from contextlib import closing
from typing import TYPE_CHECKING, Any

import attrs

from .._frames import frames_from_process
from ..errors import ConfigError
from ..model import Area, Building, Household, Person, Stairwell
from ..storage.schema import spec_for
from ..targeting._indexes import drop_match_indexes
from ._people import (
    CITY_HOUSEHOLD_SIZE_WEIGHTS,
    PERSON_COLUMNS,
    REFERENCE_DATE,
    RESIDENT,
    TENANT,
    PersonFactory,
    Row,
)

if TYPE_CHECKING:
    from ..workspace import Workspace

__all__ = [
    "PARALLEL_FROM",
    "ROW_COLUMNS",
    "TOWNS",
    "CityStats",
    "check_row_columns",
    "generate_city",
]

ZHONGSHAN = ("442000", "中山市")
ZHONGSHAN_PERSONS = 4_420_000

TOWNS: tuple[tuple[str, str, float], ...] = (
    ("001", "石岐街道", 0.060),
    ("002", "东区街道", 0.050),
    ("003", "中山港街道", 0.105),
    ("004", "西区街道", 0.040),
    ("005", "南区街道", 0.020),
    ("006", "五桂山街道", 0.010),
    ("100", "小榄镇", 0.110),
    ("101", "黄圃镇", 0.030),
    ("102", "民众镇", 0.030),
    ("103", "东凤镇", 0.040),
    ("104", "东升镇", 0.035),
    ("105", "古镇镇", 0.050),
    ("106", "沙溪镇", 0.040),
    ("107", "坦洲镇", 0.065),
    ("108", "港口镇", 0.030),
    ("109", "三角镇", 0.030),
    ("110", "横栏镇", 0.040),
    ("111", "南头镇", 0.030),
    ("112", "阜沙镇", 0.015),
    ("113", "南朗镇", 0.040),
    ("114", "三乡镇", 0.060),
    ("115", "板芙镇", 0.020),
    ("116", "大涌镇", 0.020),
    ("117", "神湾镇", 0.010),
)
"""Zhongshan's subdistricts (codes 0xx) and towns (1xx) with a rough share of residents."""

ROW_COLUMNS: dict[type[Any], tuple[str, ...]] = {
    Area: ("id", "name", "level", "parent_id", "code"),
    Building: ("id", "area_id", "name", "compound", "managed", "observer_id"),
    Stairwell: ("id", "building_id", "name", "floors", "doors_per_floor"),
    Household: ("id", "stairwell_id", "floor", "door", "address", "phone"),
    Person: PERSON_COLUMNS,
}
"""The column order the generator writes rows in; must equal the storage schema's."""

Progress = Callable[[int], None]

_COMPOUND_WORDS = ("新村", "花园", "小区", "苑", "雅居", "豪庭", "名都", "华庭")
_PLACE_WORDS = "金银华富康乐安宁兴盛福泰丰悦翠锦碧海湖山景城南北东西岐香桂荔榕"
_ROAD_WORDS = ("路", "街", "大道")


def check_row_columns() -> None:
    """Raise ``RuntimeError`` if the storage schema's column order is not the generator's."""

    for cls, columns in ROW_COLUMNS.items():
        stored = spec_for(cls).column_names
        if stored != columns:
            raise RuntimeError(
                f"{cls.__name__} rows are generated as {columns} but stored as {stored}; "
                "update gridguard.synth"
            )


@attrs.frozen(kw_only=True)
class CityStats:
    """What :func:`generate_city` loaded, and how fast."""

    seed: int
    areas: int
    communities: int
    villages: int
    grids: int
    buildings: int
    stairwells: int
    households: int
    persons: int
    observers: int
    seconds: float

    @property
    def persons_per_second(self) -> float:
        return self.persons / self.seconds if self.seconds else 0.0

    def counts(self) -> dict[str, int]:
        """The counts by table name, as :meth:`~gridguard.Workspace.counts` reports them."""
        return {
            "areas": self.areas,
            "buildings": self.buildings,
            "stairwells": self.stairwells,
            "households": self.households,
            "persons": self.persons,
        }


def _apportion(total: int, shares: Sequence[float]) -> list[int]:
    """Whole numbers proportional to ``shares`` that add up to ``total`` (largest remainder)."""
    whole = sum(shares)
    exact = [total * s / whole for s in shares]
    parts = [int(x) for x in exact]
    order = sorted(range(len(shares)), key=lambda n: exact[n] - parts[n], reverse=True)
    for n in order[: total - sum(parts)]:
        parts[n] += 1
    return parts


@attrs.define
class _Batch:
    """The rows of one community or village, ready to load."""

    areas: list[Row] = attrs.field(factory=list)
    buildings: list[Row] = attrs.field(factory=list)
    stairwells: list[Row] = attrs.field(factory=list)
    households: list[Row] = attrs.field(factory=list)
    persons: list[Row] = attrs.field(factory=list)
    observers: list[Building] = attrs.field(factory=list)
    grids: int = 0


Wire = tuple[list[Row], list[Row], list[Row], list[Row], list[Row], list[Row], int]
"""A batch as plain tuples, which :mod:`marshal` sends between processes quickly."""


def batch_to_wire(batch: _Batch) -> Wire:
    """The batch as plain data (observers as encoded building rows)."""

    spec = spec_for(Building)
    observers = [spec.encode(b) for b in batch.observers]
    return (
        batch.areas,
        batch.buildings,
        batch.stairwells,
        batch.households,
        batch.persons,
        observers,
        batch.grids,
    )


def batch_from_wire(wire: Wire) -> _Batch:
    """The inverse of :func:`batch_to_wire`."""

    areas, buildings, stairwells, households, persons, observers, grids = wire
    spec = spec_for(Building)
    return _Batch(
        areas=areas,
        buildings=buildings,
        stairwells=stairwells,
        households=households,
        persons=persons,
        observers=[spec.decode(row) for row in observers],
        grids=grids,
    )


class _CityBuilder:
    """Builds one jurisdiction at a time from a seeded RNG."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.people = PersonFactory(rng, CITY_HOUSEHOLD_SIZE_WEIGHTS)

    def compound_name(self) -> str:
        rng = self.rng
        words = _PLACE_WORDS
        return (
            words[int(rng.random() * len(words))]
            + words[int(rng.random() * len(words))]
            + _COMPOUND_WORDS[int(rng.random() * len(_COMPOUND_WORDS))]
        )

    def jurisdiction(
        self, code: str, name: str, parent: str, quota: int, *, village: bool, prefix: str
    ) -> _Batch:
        """All rows of one community (or village) holding exactly ``quota`` persons."""
        rng = self.rng
        people = self.people
        level = "village" if village else "community"
        batch = _Batch()
        batch.areas.append((code, name, level, parent, code))
        cells = max(1, round(quota / (700 if village else 1_200)))
        cell_level = "village_group" if village else "grid"
        cell_quota = [quota // cells + (1 if n < quota % cells else 0) for n in range(cells)]
        batch.grids = cells
        old_share = 0.7 if code[6:9] in ("001", "002", "004", "005") else 0.4
        b_no = 0
        for c in range(cells):
            cell_id = f"{code}-g{c + 1:02d}"
            cell_name = f"{name}第{c + 1}{'村民小组' if village else '网格'}"
            batch.areas.append((cell_id, cell_name, cell_level, code, None))
            remaining = cell_quota[c]
            compound: str | None = None
            compound_left, old = 0, True
            while remaining > 0:
                b_no += 1
                building_id = f"{code}-b{b_no:04d}"
                if village:  # a self-built house, upper floors let to tenants
                    building_name = f"{b_no}号"
                    stairs, floors, doors = 1, rng.randint(3, 6), rng.randint(1, 2)
                    managed, occupancy, bands = 0, 0.8, "old"
                    place = f"{prefix}{name}{building_name}"
                else:
                    if compound_left <= 0:
                        compound = self.compound_name()
                        compound_left = rng.randint(4, 30)
                        old = rng.random() < old_share
                    compound_left -= 1
                    building_name = f"{b_no}幢"
                    if old:  # an open compound of walk-ups
                        stairs, floors = rng.randint(1, 4), rng.randint(3, 8)
                        doors, managed, occupancy, bands = rng.randint(2, 3), 0, 0.8, "old"
                    else:  # a managed estate of high-rises
                        stairs, floors = rng.randint(1, 2), rng.randint(11, 33)
                        doors, managed, occupancy, bands = rng.randint(4, 8), 1, 0.85, "new"
                    place = f"{prefix}{name}{compound}{building_name}"
                batch.buildings.append(
                    (building_id, cell_id, building_name, compound, managed, None)
                )
                residents: list[Row] = []
                for s in range(1, stairs + 1):
                    stairwell_id = f"{building_id}-{s}"
                    stair_name = f"{s}梯"
                    batch.stairwells.append((stairwell_id, building_id, stair_name, floors, doors))
                    for floor in range(1, floors + 1):
                        for door in range(1, doors + 1):
                            if remaining <= 0 or rng.random() >= occupancy:
                                continue
                            room = f"{floor}{door:02d}"
                            household_id = f"{stairwell_id}-{room}"
                            if village:
                                residency = RESIDENT if floor == 1 and door == 1 else TENANT
                            else:
                                residency = TENANT if rng.random() < 0.2 else RESIDENT
                            size = min(people.household_size(), remaining)
                            rows = people.household(
                                household_id, size, residency, bands=bands, visitor_chance=0.02
                            )
                            remaining -= size
                            batch.households.append(
                                (
                                    household_id,
                                    stairwell_id,
                                    floor,
                                    f"{door:02d}",
                                    f"{place}{stair_name}{room}房",
                                    rows[0][4],
                                )
                            )
                            batch.persons += rows
                            residents += rows
                if residents:
                    batch.observers.append(
                        Building(
                            id=building_id,
                            area_id=cell_id,
                            name=building_name,
                            compound=compound,
                            managed=bool(managed),
                            observer_id=_observer(residents),
                        )
                    )
        return batch


_OLDEST_OBSERVER = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - 76).isoformat()


def _observer(residents: Sequence[Row]) -> str:
    """The oldest resident aged 75 or less (a long-time resident), else the household head."""
    best: Row | None = None
    for row in residents:
        if row[7] == RESIDENT and row[6] > _OLDEST_OBSERVER and (best is None or row[6] < best[6]):
            best = row
    return str((best or residents[0])[0])


def _batches(
    persons: int, seed: int, community_size: tuple[int, int]
) -> Generator[_Batch, None, None]:
    """The city as one batch of rows per jurisdiction; the first holds the city and towns."""
    rng = random.Random(seed)
    builder = _CityBuilder(rng)
    city_code, city_name = ZHONGSHAN
    quotas = _apportion(persons, [share for _, _, share in TOWNS])
    top = _Batch(areas=[(city_code, city_name, "city", None, city_code)])
    for (suffix, town_name, _), quota in zip(TOWNS, quotas, strict=True):
        if quota:
            level = "district" if suffix.startswith("0") else "town"
            top.areas.append((city_code + suffix, town_name, level, city_code, city_code + suffix))
    yield top
    low, high = community_size
    for (suffix, town_name, _), quota in zip(TOWNS, quotas, strict=True):
        town_code = city_code + suffix
        subdistrict = suffix.startswith("0")
        left, number = quota, 0
        while left > 0:
            size = min(left, rng.randint(low, high))
            if 0 < left - size < low // 2:
                size = left  # no tiny community at the end of a town
            number += 1
            village = not subdistrict and rng.random() < 0.55
            code = f"{town_code}{(200 if village else 0) + number:03d}"
            stem = builder.compound_name()[:2]
            name = f"{stem}村" if village else f"{stem}社区"
            yield builder.jurisdiction(
                code, name, town_code, size, village=village, prefix=f"{city_name}{town_name}"
            )
            left -= size


REINDEX_FROM = 200_000
"""From this many persons up, :func:`generate_city` drops the match indexes for the first match."""

PARALLEL_FROM = 100_000
"""From this many persons up, :func:`generate_city` generates in a second process by default."""


def _batches_from_process(
    persons: int, seed: int, community_size: tuple[int, int]
) -> Generator[_Batch, None, None]:
    """What :func:`_batches` yields, made by ``python -m gridguard.synth._producer``.

    The child process runs ahead by about a community (the pipe blocks it),
    so memory stays flat in both processes.
    """
    low, high = community_size
    for wire in frames_from_process(
        "gridguard.synth._producer",
        [str(persons), str(seed), str(low), str(high)],
        failure="the city generator process failed",
    ):
        yield batch_from_wire(wire)


def generate_city(
    ws: Workspace,
    persons: int = ZHONGSHAN_PERSONS,
    *,
    seed: int = 2020,
    progress: Progress | None = None,
    community_size: tuple[int, int] = (8_000, 14_000),
    parallel: bool | None = None,
) -> CityStats:
    """Generate a Zhongshan-shaped city of ``persons`` people straight into ``ws``.

    The place tree (city, subdistricts and towns, communities and villages,
    grids and village groups), buildings, stairwells, households and persons
    are made one community at a time and loaded with
    :meth:`~gridguard.Workspace.load_rows`, one transaction per community;
    each building's observer is set once its residents are stored. Memory
    holds about two communities, whatever ``persons`` is. ``progress`` is
    called with the number of persons just loaded. The workspace must hold
    no areas yet.

    With ``parallel`` (the default from ``PARALLEL_FROM`` (100,000) persons up,
    on a machine with more than one CPU) the rows are made in a second
    Python process while this one stores them; the data is the same either
    way. On SQLite, from ``REINDEX_FROM`` (200,000) persons up, the match
    indexes on ``persons`` are dropped for the load and left for the first
    :func:`~gridguard.targeting.matching.match_list` to build (about 9 s for a city of
    4.42 million), so that a generated city is ready for everything else at
    once.
    """
    check_row_columns()
    if persons < 1:
        raise ConfigError(f"persons must be at least 1 (got {persons})")
    low, high = community_size
    if not 0 < low <= high:
        raise ConfigError(
            f"community_size must be (low, high) with 0 < low <= high, not {community_size}"
        )
    if ws.count(Area):
        raise ConfigError("generate_city needs an empty workspace: it already holds areas")
    started = time.perf_counter()
    if parallel is None:
        parallel = persons >= PARALLEL_FROM and (os.cpu_count() or 1) > 1
    if parallel and sys.executable:
        made = _batches_from_process(persons, seed, community_size)
    else:
        made = _batches(persons, seed, community_size)
    if ws.dialect.sqlite_sql and persons >= REINDEX_FROM:
        with ws.transaction() as uow:
            drop_match_indexes(uow)
    totals, communities, villages, grids = _load(ws, made, progress)
    return CityStats(
        seed=seed,
        communities=communities,
        villages=villages,
        grids=grids,
        seconds=time.perf_counter() - started,
        **totals,
    )


def _load(
    ws: Workspace, made: Generator[_Batch, None, None], progress: Progress | None
) -> tuple[dict[str, int], int, int, int]:
    """Store the batches, one transaction each; returns the totals, communities, villages, grids."""
    totals = dict.fromkeys(
        ("areas", "buildings", "stairwells", "households", "persons", "observers"), 0
    )
    communities = villages = grids = 0
    with closing(made) as batches:  # stops the producer process if loading fails
        for batch in batches:
            with ws.transaction():
                ws.load_rows(Area, batch.areas)
                if batch.persons:
                    ws.load_rows(Building, batch.buildings)
                    ws.load_rows(Stairwell, batch.stairwells)
                    ws.load_rows(Household, batch.households)
                    ws.load_rows(Person, batch.persons)
                    ws.add(batch.observers)
            totals["areas"] += len(batch.areas)
            totals["buildings"] += len(batch.buildings)
            totals["stairwells"] += len(batch.stairwells)
            totals["households"] += len(batch.households)
            totals["persons"] += len(batch.persons)
            totals["observers"] += len(batch.observers)
            if batch.grids:
                grids += batch.grids
                if batch.areas[0][2] == "village":
                    villages += 1
                else:
                    communities += 1
            if progress is not None and batch.persons:
                progress(len(batch.persons))
    return totals, communities, villages, grids
