"""The synthetic generators: the Huayuan scenario and the city streamed into SQLite."""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
import statistics
from collections import Counter
from pathlib import Path

import attrs
import phonenumbers
import pytest
from stdnum.cn import ric

import gridguard
from gridguard import (
    Area,
    AreaLevel,
    Building,
    CompositionPolicy,
    ConfigError,
    Household,
    MemberRole,
    Person,
    Residency,
    Stairwell,
)
from gridguard.model import REGISTRY_TYPES
from gridguard.storage.schema import spec_for
from gridguard.synth import CityStats, Scenario, generate_city, huayuan
from gridguard.synth._city import ROW_COLUMNS, _batches_from_process, check_row_columns
from gridguard.synth._people import PersonFactory, check_character, mobile_prefixes

# -- building blocks ----------------------------------------------------------------------------


def test_check_character_agrees_with_stdnum() -> None:
    rng = random.Random(11643)
    for _ in range(2_000):
        digits = "".join(str(rng.randrange(10)) for _ in range(17))
        assert check_character(digits) == ric.calc_check_digit(digits + "0")


def test_every_mobile_prefix_makes_valid_numbers() -> None:
    rng = random.Random(86)
    for prefix in mobile_prefixes():
        for fourth in "0123456789":
            for rest in ("0000000", "9999999", f"{rng.randrange(10**7):07d}"):
                number = phonenumbers.parse(f"+86{prefix}{fourth}{rest}")
                assert phonenumbers.is_valid_number(number), number


def test_identity_numbers_are_unique_and_match_birth_date_and_sex() -> None:
    factory = PersonFactory(random.Random(1))
    seen = set()
    for n in range(3_000):  # all the same region, age and sex: forces the counter to work
        number, born = factory.identity("442000", 40, male=n % 2 == 0)
        rid = gridguard.ResidentId(number)
        assert rid.birth_date == dt.date.fromisoformat(born)
        assert rid.sex == (gridguard.Sex.MALE if n % 2 == 0 else gridguard.Sex.FEMALE)
        seen.add(number)
    assert len(seen) == 3_000


def test_row_columns_match_the_storage_schema() -> None:
    check_row_columns()
    for cls, columns in ROW_COLUMNS.items():
        assert spec_for(cls).column_names == columns


# -- Huayuan --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return huayuan()


def test_huayuan_is_deterministic_for_a_seed(scenario: Scenario) -> None:
    again = huayuan(2020)
    assert again == scenario
    assert again.persons == scenario.persons
    other = huayuan(2021)
    assert other != scenario
    assert other.persons != scenario.persons


def test_huayuan_has_the_reported_shape(scenario: Scenario) -> None:
    assert len(scenario.stairwells) == 430
    assert 4_000 <= len(scenario.households) <= 4_500
    assert 8 <= len(scenario.grids) <= 10
    assert {s.floors for s in scenario.stairwells} <= set(range(3, 9))
    assert {s.doors_per_floor for s in scenario.stairwells} <= {2, 3}
    floors = Counter(s.floors for s in scenario.stairwells)
    assert floors[5] + floors[6] + floors[7] > 0.6 * len(scenario.stairwells)
    doors = sum(s.door_count for s in scenario.stairwells)
    assert doors > len(scenario.households)  # some doors are vacant or shops

    sizes = Counter(p.household_id for p in scenario.persons)
    assert set(sizes) == {h.id for h in scenario.households}  # nobody lives nowhere, no empty homes
    assert set(sizes.values()) <= set(range(1, 7))
    assert 2.4 <= statistics.mean(sizes.values()) <= 2.8

    residency = Counter(p.residency for p in scenario.persons)
    assert residency[Residency.RESIDENT] > 0.7 * len(scenario.persons)
    assert residency[Residency.TENANT] > 0.05 * len(scenario.persons)
    assert 0 < residency[Residency.VISITOR] < 0.05 * len(scenario.persons)


def test_huayuan_places(scenario: Scenario) -> None:
    by_id = {a.id: a for a in scenario.areas}
    community = scenario.community
    assert community.name == "华苑社区"
    district = by_id[community.parent_id or ""]
    city = by_id[district.parent_id or ""]
    assert (district.name, district.level) == ("东区", AreaLevel.DISTRICT)
    assert (city.name, city.level, city.parent_id) == ("中山市", AreaLevel.CITY, None)
    assert all(not b.managed for b in scenario.buildings)  # open compounds
    assert any(b.compound == "百苑新村" and b.name.startswith("牡丹阁") for b in scenario.buildings)


def test_every_household_reaches_a_grid(scenario: Scenario) -> None:
    areas = {a.id: a for a in scenario.areas}
    buildings = {b.id: b for b in scenario.buildings}
    stairwells = {s.id: s for s in scenario.stairwells}
    for household in scenario.households:
        stairwell = stairwells[household.stairwell_id]
        assert 1 <= household.floor <= stairwell.floors
        grid = areas[buildings[stairwell.building_id].area_id]
        assert grid.level is AreaLevel.GRID
        assert grid.parent_id == scenario.community.id


def test_persons_have_valid_identity_numbers_and_phones(scenario: Scenario) -> None:
    numbers = [p.resident_id.number for p in scenario.persons if p.resident_id]
    assert len(numbers) == len(scenario.persons)
    assert len(set(numbers)) == len(numbers)
    assert sum(n.startswith("4420") for n in numbers) > 0.7 * len(numbers)
    for person in scenario.persons:
        assert person.resident_id is not None
        assert person.resident_id.birth_date == person.birth_date
        assert person.resident_id.sex == person.sex
        assert person.birth_date is not None
        assert person.birth_date <= dt.date(2020, 1, 25)
    phones = [p.phone for p in scenario.persons if p.phone]
    assert len(phones) > 0.6 * len(scenario.persons)
    for phone in phones[:500]:
        assert phonenumbers.is_valid_number(phonenumbers.parse(phone))
    assert len({p.name for p in scenario.persons}) > 0.5 * len(scenario.persons)


def _age(person: Person) -> int:
    assert person.birth_date is not None
    return (dt.date(2020, 1, 25) - person.birth_date).days // 365


def test_one_observer_per_building_living_in_it(scenario: Scenario) -> None:
    persons = {p.id: p for p in scenario.persons}
    households = {h.id: h for h in scenario.households}
    stairwells = {s.id: s for s in scenario.stairwells}
    observers = [b.observer_id for b in scenario.buildings]
    assert None not in observers
    assert len(set(observers)) == len(scenario.buildings)
    for building in scenario.buildings:
        observer = persons[building.observer_id or ""]
        home = stairwells[households[observer.household_id].stairwell_id]
        assert home.building_id == building.id
        assert observer.residency is Residency.RESIDENT
        assert _age(observer) >= 18
    ages = [_age(p) for p in scenario.observers]
    assert statistics.median(ages) >= 55


def test_twenty_teams_of_three(scenario: Scenario) -> None:
    assert len(scenario.teams) == 20
    policy = CompositionPolicy()
    grid_ids = {g.id for g in scenario.grids}
    for team in scenario.teams:
        assert team.size == 3
        assert team.roles() == Counter(
            {MemberRole.CADRE: 1, MemberRole.DOCTOR: 1, MemberRole.POLICE: 1}
        )
        assert policy.violations(team) == []
        assert team.area_id == scenario.community.id
        assert team.home_grid_id in grid_ids
    assert any(m.party_member for t in scenario.teams for m in t.members)


def test_campaign(scenario: Scenario) -> None:
    campaign = scenario.campaign
    assert campaign.start == dt.date(2020, 1, 25)
    assert campaign.time_zone == "Asia/Shanghai"
    assert [(a.name, a.code) for a in campaign.outbreak_areas] == [("武汉", "4201")]
    assert campaign.scope == (scenario.community.id,)


def test_records_come_parents_first_without_observers(scenario: Scenario) -> None:
    records = list(scenario.records())
    assert len(records) == scenario.record_count()
    ranks = [REGISTRY_TYPES.index(type(r)) for r in records]
    assert ranks == sorted(ranks)
    seen: set[str] = set()
    for record in records:
        parent = getattr(record, "parent_id", None) or getattr(record, "building_id", None)
        parent = (
            parent or getattr(record, "stairwell_id", None) or getattr(record, "household_id", None)
        )
        if parent is not None:
            assert parent in seen, record
        if isinstance(record, Building):
            assert record.observer_id is None
        seen.add(record.id)
    assigned = list(scenario.observer_assignments())
    assert assigned == list(scenario.buildings)


def test_scenario_loads_into_a_workspace(scenario: Scenario, tmp_path: Path) -> None:
    with gridguard.open(tmp_path / "huayuan.db") as ws:
        ws.add(scenario.records())  # one call: parents first
        ws.add(scenario.observer_assignments())
        counts = ws.counts()
        assert counts["areas"] == len(scenario.areas)
        assert counts["buildings"] == len(scenario.buildings)
        assert counts["stairwells"] == 430
        assert counts["households"] == len(scenario.households)
        assert counts["persons"] == len(scenario.persons)
        assert counts["teams"] == 20
        assert counts["campaigns"] == 1
        assert ws.count(Building, observer_id=None) == 0
        building = scenario.buildings[0]
        assert ws.get(Building, building.id) == building
        assert ws.get(Person, scenario.persons[-1].id) == scenario.persons[-1]
        assert ws.get(Household, scenario.households[7].id) == scenario.households[7]


def test_scenario_load_is_one_transaction(scenario: Scenario) -> None:
    with gridguard.open("memory://") as ws:
        result = scenario.load(ws)
        assert result.written == scenario.record_count() + len(scenario.buildings)
        assert ws.count(Building, observer_id=None) == 0
        assert ws.count(Stairwell) == 430


# -- the city -------------------------------------------------------------------------------------

CITY_PERSONS = 20_000


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CityStats, list[int]]:
    path = tmp_path_factory.mktemp("city") / "city.db"
    progress: list[int] = []
    with gridguard.open(path) as ws:
        stats = generate_city(ws, CITY_PERSONS, seed=7, progress=progress.append)
        assert ws.counts() | stats.counts() == ws.counts()  # stats agree with the store
    return path, stats, progress


def test_city_counts_match_the_stats(city: tuple[Path, CityStats, list[int]]) -> None:
    path, stats, progress = city
    assert stats.persons == CITY_PERSONS
    assert sum(progress) == CITY_PERSONS
    assert stats.seconds > 0
    assert stats.persons_per_second > 0
    with gridguard.open(path) as ws:
        counts = ws.counts()
        for table, count in stats.counts().items():
            assert counts[table] == count, table
        assert ws.count(Area, level=AreaLevel.CITY) == 1
        assert ws.count(Area, level=AreaLevel.COMMUNITY) == stats.communities
        assert ws.count(Area, level=AreaLevel.VILLAGE) == stats.villages
        assert (
            ws.count(Area, level=AreaLevel.GRID) + ws.count(Area, level=AreaLevel.VILLAGE_GROUP)
            == stats.grids
        )
        assert stats.buildings - ws.count(Building, observer_id=None) == stats.observers
    assert 2.7 <= stats.persons / stats.households <= 3.2  # Zhongshan: 4.42 M in ~1.5 M


def test_city_rows_decode_into_valid_models(city: tuple[Path, CityStats, list[int]]) -> None:
    path, _, _ = city
    conn = sqlite3.connect(path)
    try:
        rng = random.Random(500)
        for cls, minimum in ((Person, 500), (Household, 200), (Stairwell, 100), (Building, 50)):
            spec = spec_for(cls)
            columns = ", ".join(f'"{c}"' for c in spec.column_names)
            (total,) = conn.execute(f"SELECT max(rowid) FROM {spec.table}").fetchone()
            rowids = rng.sample(range(1, total + 1), min(total, max(minimum, total // 20)))
            for rowid in rowids:
                row = conn.execute(
                    f"SELECT {columns} FROM {spec.table} WHERE rowid = ?", (rowid,)
                ).fetchone()
                decoded = spec.decode(row)  # full model validation
                assert isinstance(decoded, cls)
                assert spec.encode(decoded) == tuple(row)
        (distinct, rows) = conn.execute(
            "SELECT count(DISTINCT resident_id), count(*) FROM persons"
        ).fetchone()
        assert distinct == rows == CITY_PERSONS
        # Each observer lives in the building they watch.
        (misplaced,) = conn.execute(
            """SELECT count(*) FROM buildings b
               JOIN persons p ON p.id = b.observer_id
               JOIN households h ON h.id = p.household_id
               JOIN stairwells s ON s.id = h.stairwell_id
               WHERE s.building_id != b.id"""
        ).fetchone()
        assert misplaced == 0
        # Every household has somebody living in it.
        (empty,) = conn.execute(
            "SELECT count(*) FROM households h WHERE NOT EXISTS "
            "(SELECT 1 FROM persons p WHERE p.household_id = h.id)"
        ).fetchone()
        assert empty == 0
    finally:
        conn.close()


def test_city_is_deterministic_in_one_process_or_two(tmp_path: Path) -> None:
    def rows(name: str, seed: int, parallel: bool) -> list[tuple[object, ...]]:
        path = tmp_path / name
        with gridguard.open(path) as ws:
            generate_city(ws, 3_000, seed=seed, parallel=parallel)
        conn = sqlite3.connect(path)
        try:
            return conn.execute("SELECT * FROM persons ORDER BY id").fetchall()
        finally:
            conn.close()

    first = rows("a.db", 3, parallel=False)
    assert first == rows("b.db", 3, parallel=True)
    assert first != rows("c.db", 4, parallel=False)


def test_producer_process_stops_when_the_caller_does() -> None:
    made = _batches_from_process(50_000, 1, (8_000, 14_000))
    first = next(made)
    assert first.areas[0][2] == "city"
    made.close()  # kills the child; nothing left behind


def test_city_needs_an_empty_workspace(scenario: Scenario) -> None:
    with gridguard.open("memory://") as ws:
        ws.add(scenario.areas)
        with pytest.raises(ConfigError, match="empty"):
            generate_city(ws, 100)


def test_city_in_memory_store() -> None:
    with gridguard.open("memory://") as ws:
        stats = generate_city(ws, 2_000, seed=1)
        assert ws.count(Person) == 2_000 == stats.persons
        assert attrs.asdict(stats)["households"] == ws.count(Household)


def _match_indexes(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'persons'")
        return {str(r[0]) for r in rows} & {"persons_resident_id", "persons_phone"}


def test_a_large_city_leaves_the_match_indexes_to_the_first_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The schema owns the match indexes; a bulk load drops them and the first match builds them."""
    from gridguard.synth import _city
    from gridguard.targeting.matching import SqlFinder

    monkeypatch.setattr(_city, "REINDEX_FROM", 1_000)
    path = tmp_path / "city.db"
    during: list[set[str]] = []
    with gridguard.open(path) as ws:
        assert _match_indexes(path) == {"persons_resident_id", "persons_phone"}
        generate_city(
            ws,
            2_000,
            seed=1,
            parallel=False,
            progress=lambda _: during.append(_match_indexes(path)),
        )
        assert during
        assert all(found == set() for found in during)
        assert _match_indexes(path) == set()
        with ws.transaction() as uow:  # what the first match_list does
            assert SqlFinder(uow).indexes_built
    assert _match_indexes(path) == {"persons_resident_id", "persons_phone"}
