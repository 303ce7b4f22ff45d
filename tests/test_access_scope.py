"""Scope tests: for each role, what it may and may not read and write, over random place trees.

A random tree (city > districts > communities > grids > buildings >
stairwell > households > persons, with a visit, a screening and a check-in
each) is stored by an administrator; a principal of a random role is given a
random node of it, and every record is then read and written through her
workspace. The expected answer comes from the tree in Python, not from the
code under test.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gridguard
from gridguard import (
    AccessDenied,
    Area,
    AreaLevel,
    Building,
    CheckIn,
    HealthReport,
    Household,
    Person,
    Principal,
    Role,
    Screening,
    Stairwell,
    Visit,
)
from gridguard.security.access import PERMISSIONS, Category, Verb, category_of
from gridguard.workspace import Workspace

AT = dt.datetime(2020, 1, 26, 3, tzinfo=dt.UTC)


@attrs.frozen
class Tree:
    """A stored place tree and, for every record, the areas above it (its lineage)."""

    records: list[Any]
    facts: list[Any]
    lineage: dict[str, tuple[str, ...]]
    """record id (text) -> ids of the areas above it, nearest first, and its building."""
    building_of: dict[str, str | None]
    areas: list[Area]
    buildings: list[Building]


@st.composite
def trees(draw: st.DrawFn) -> Tree:
    records: list[Any] = [Area(id="city", name="市", level=AreaLevel.CITY)]
    facts: list[Any] = []
    lineage: dict[str, tuple[str, ...]] = {"city": ("city",)}
    building_of: dict[str, str | None] = {"city": None}
    areas = [records[0]]
    buildings: list[Building] = []
    for d in range(draw(st.integers(1, 2))):
        did = f"d{d}"
        areas.append(Area(id=did, name=did, level=AreaLevel.DISTRICT, parent_id="city"))
        lineage[did] = (did, "city")
        for c in range(draw(st.integers(1, 2))):
            cid = f"{did}c{c}"
            areas.append(Area(id=cid, name=cid, level=AreaLevel.COMMUNITY, parent_id=did))
            lineage[cid] = (cid, *lineage[did])
            for g in range(draw(st.integers(1, 2))):
                gid = f"{cid}g{g}"
                areas.append(Area(id=gid, name=gid, level=AreaLevel.GRID, parent_id=cid))
                lineage[gid] = (gid, *lineage[cid])
                for b in range(draw(st.integers(1, 2))):
                    bid = f"{gid}b{b}"
                    buildings.append(Building(id=bid, area_id=gid, name=bid))
                    sid = f"{bid}s"
                    records.append(
                        Stairwell(id=sid, building_id=bid, name="1梯", floors=2, doors_per_floor=1)
                    )
                    lineage[bid] = lineage[sid] = lineage[gid]
                    building_of[bid] = building_of[sid] = bid
                    facts.append(
                        CheckIn(
                            id=uuid.uuid5(uuid.NAMESPACE_URL, bid),
                            at=AT,
                            building_id=bid,
                            observer_id=f"{bid}h0p",
                        )
                    )
                    for h in range(draw(st.integers(1, 2))):
                        hid = f"{bid}h{h}"
                        pid = f"{hid}p"
                        records.append(
                            Household(id=hid, stairwell_id=sid, floor=1, door=str(h), address=hid)
                        )
                        records.append(Person(id=pid, household_id=hid, name="居民"))
                        lineage[hid] = lineage[pid] = lineage[gid]
                        building_of[hid] = building_of[pid] = bid
                        visit = Visit(
                            id=uuid.uuid5(uuid.NAMESPACE_URL, hid),
                            at=AT,
                            household_id=hid,
                            outcome="screened",
                        )
                        screening = Screening(
                            id=uuid.uuid5(uuid.NAMESPACE_URL, pid), at=AT, person_id=pid
                        )
                        facts += [visit, screening]
                        for fact in (visit, screening):
                            lineage[str(fact.id)] = lineage[gid]
                            building_of[str(fact.id)] = bid
    for fact in facts:
        if isinstance(fact, CheckIn):
            lineage[str(fact.id)] = lineage[fact.building_id]
            building_of[str(fact.id)] = fact.building_id
    for area in areas:
        building_of[area.id] = None
    ordered = [*areas, *buildings, *records[1:]]
    return Tree(ordered, facts, lineage, building_of, areas, buildings)


@st.composite
def cases(draw: st.DrawFn) -> tuple[Tree, Principal]:
    tree = draw(trees())
    role = draw(st.sampled_from(Role))
    if role is Role.BUILDING_OBSERVER:
        building = draw(st.sampled_from(tree.buildings))
        return tree, Principal(name="观察员", role=role, building_id=building.id)
    area = draw(st.none() | st.sampled_from([a.id for a in tree.areas]))
    return tree, Principal(name="用户", role=role, area_id=area)


STORES = ["sqlite:///:memory:", "memory://"]
"""Real SQLite (scope look-ups in SQL) and the memory store (look-ups record by record)."""


def _store(tree: Tree, url: str = STORES[0]) -> Workspace:
    ws = gridguard.open(url)
    ws.add(tree.records)
    ws.record(tree.facts)
    return ws


def _as(ws: Workspace, principal: Principal) -> Workspace:
    return Workspace(
        ws.storage, principal=principal, plugin_manager=ws.plugin_manager, registries=ws.registries
    )


def _inside(tree: Tree, principal: Principal, record_id: str) -> bool:
    if principal.building_id is not None:
        return tree.building_of.get(record_id) == principal.building_id
    if principal.area_id is None:
        return True
    return principal.area_id in tree.lineage[record_id]


def _readable(tree: Tree, principal: Principal, record: Any) -> bool:
    """Inside the scope, or (areas only) above it: her community's and district's names."""
    if _inside(tree, principal, _key(record)):
        return True
    if not isinstance(record, Area):
        return False
    if principal.building_id is not None:
        return record.id in tree.lineage[principal.building_id]
    assert principal.area_id is not None
    return record.id in tree.lineage[principal.area_id][1:]


def _may(principal: Principal, verb: Verb, cls: type[Any]) -> bool:
    return verb in PERMISSIONS[principal.role].get(category_of(cls), frozenset())


def _key(record: Any) -> str:
    return str(record.id)


@pytest.mark.parametrize("url", STORES)
@settings(max_examples=30)
@given(case=cases())
def test_each_role_reads_exactly_its_scope_and_categories(
    url: str, case: tuple[Tree, Principal]
) -> None:
    tree, principal = case
    store = _store(tree, url)
    try:
        ws = _as(store, principal)
        for record in [*tree.records, *tree.facts]:
            cls = type(record)
            allowed = _may(principal, Verb.READ, cls) and _readable(tree, principal, record)
            if allowed:
                assert ws.get(cls, _key(record)) == record
            else:
                with pytest.raises(AccessDenied) as info:
                    ws.get(cls, _key(record))
                message = str(info.value)
                assert principal.name in message
                assert principal.role.value in message
                assert cls.__name__ in message
        for cls in (Area, Building, Stairwell, Household, Person, Visit, Screening, CheckIn):
            stored = [r for r in [*tree.records, *tree.facts] if type(r) is cls]
            expected = sorted(_key(r) for r in stored if _readable(tree, principal, r))
            if _may(principal, Verb.READ, cls):
                assert sorted(_key(r) for r in ws.find(cls)) == expected
                assert ws.count(cls) == len(expected)
            else:
                with pytest.raises(AccessDenied, match=cls.__name__):
                    ws.find(cls)
            counts_visits = _may(principal, Verb.READ, Visit)
            if category_of(cls) is Category.HEALTH and counts_visits:
                # a count discloses no file: whoever counts visits counts screenings too
                assert ws.count(cls) == len(expected)
            elif not _may(principal, Verb.READ, cls):
                with pytest.raises(AccessDenied):
                    ws.count(cls)
    finally:
        store.close()


@pytest.mark.parametrize("url", STORES)
@settings(max_examples=30)
@given(case=cases())
def test_each_role_writes_exactly_its_scope_and_categories(
    url: str, case: tuple[Tree, Principal]
) -> None:
    tree, principal = case
    store = _store(tree, url)
    try:
        ws = _as(store, principal)
        later = AT + dt.timedelta(days=1)
        for household in [r for r in tree.records if isinstance(r, Household)]:
            person = f"{household.id}p"
            writes: list[Any] = [
                Visit(at=later, household_id=household.id, outcome="not_home"),
                Screening(at=later, person_id=person, temperature=36.5),
                HealthReport(at=later, person_id=person, temperature=36.6),
                CheckIn(
                    at=later, building_id=tree.building_of[household.id] or "", observer_id=person
                ),
            ]
            for fact in writes:
                cls = type(fact)
                allowed = (
                    principal.role.can_write
                    and _may(principal, Verb.WRITE, cls)
                    and _inside(tree, principal, household.id)
                )
                before = store.count(cls)
                if allowed:
                    assert ws.record([fact]).written == 1
                    assert store.count(cls) == before + 1
                else:
                    with pytest.raises(AccessDenied) as info:
                        ws.record([fact])
                    assert principal.name in str(info.value)
                    assert store.count(cls) == before
            moved = attrs.evolve(household, door="9")
            allowed = (
                principal.role.can_write
                and _may(principal, Verb.WRITE, Household)
                and _inside(tree, principal, household.id)
            )
            if allowed:
                ws.update(moved, expected_version=store.version(Household, household.id))
                assert store.get(Household, household.id).door == "9"
            else:
                with pytest.raises(AccessDenied):
                    ws.update(moved, expected_version=store.version(Household, household.id))
                assert store.get(Household, household.id).door == household.door
    finally:
        store.close()


def test_a_grid_worker_cannot_move_a_household_into_or_out_of_her_grid(tmp_path: Any) -> None:
    from gridguard.testing import sample_records

    with gridguard.open(tmp_path / "g.db") as admin:
        admin.add(sample_records())
        worker = _as(admin, Principal(name="网格员", role=Role.GRID_WORKER, area_id="g1"))
        h3 = admin.get(Household, "h3")  # in c2's grid g2
        with pytest.raises(AccessDenied, match="Household:h3"):
            worker.add([attrs.evolve(h3, stairwell_id="s1")])
        h1 = admin.get(Household, "h1")
        with pytest.raises(AccessDenied, match="Household:h1"):
            worker.add([attrs.evolve(h1, stairwell_id="s2")])
        # a new household in her own grid is fine, and so is a new person in it
        worker.add(
            [
                Household(id="h9", stairwell_id="s1", floor=3, door="301", address="3楼"),
                Person(id="p9", household_id="h9", name="新住户"),
            ]
        )
        assert admin.get(Person, "p9").household_id == "h9"


def test_denials_are_audited_even_though_the_write_rolls_back(tmp_path: Any) -> None:
    from gridguard.security.audit import AuditEntry
    from gridguard.testing import sample_records

    with gridguard.open(tmp_path / "d.db") as admin:
        admin.add(sample_records())
        observer = _as(admin, Principal(name="楼长", role=Role.BUILDING_OBSERVER, building_id="b1"))
        with pytest.raises(AccessDenied, match=r"楼长 \(building_observer, building:b1\)"):
            observer.get(Person, "p1")
        with pytest.raises(AccessDenied, match="CheckIn"):
            observer.record([CheckIn(at=AT, building_id="b2", observer_id="p4")])
        observer.record([CheckIn(at=AT, building_id="b1", observer_id="p1")])
        entries = sorted(admin.find(AuditEntry), key=lambda e: e.seq)
        tail = [(e.principal, e.action, e.outcome.value) for e in entries[-3:]]
        assert tail == [
            ("楼长", "read", "denied"),
            ("楼长", "write", "denied"),
            ("楼长", "write", "allowed"),
        ]
        assert "outside building:b1" in entries[-2].reason


@pytest.mark.parametrize("url", STORES)
@settings(max_examples=25, deadline=None)
@given(case=cases(), limit=st.integers(1, 7))
def test_pages_list_every_readable_record_once_in_id_order(
    url: str, case: tuple[Tree, Principal], limit: int
) -> None:
    """Keyset pages through the access gate: her scope exactly, each record once, in id order."""
    tree, principal = case
    store = _store(tree, url)
    try:
        ws = _as(store, principal)
        for cls in (Area, Building, Stairwell, Household, Person, Visit, Screening, CheckIn):
            stored = [r for r in [*tree.records, *tree.facts] if type(r) is cls]
            expected = sorted(_key(r) for r in stored if _readable(tree, principal, r))
            if not _may(principal, Verb.READ, cls):
                with pytest.raises(AccessDenied, match=cls.__name__):
                    ws.page(cls, limit=limit)
                continue
            seen: list[str] = []
            after: str | None = None
            while True:
                page = ws.page(cls, after=after, limit=limit)
                assert len(page.items) <= limit
                seen += [_key(r) for r in page.items]
                if page.next is None:
                    break
                assert page.next == seen[-1]
                after = page.next
            assert seen == expected, cls.__name__
    finally:
        store.close()
