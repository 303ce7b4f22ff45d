"""The storage contract suite: what every storage backend must do.

Subclass :class:`StorageContract` and provide a ``storage`` fixture that
yields a fresh, empty store. The builtin memory and SQLite backends and the
PostgreSQL plugin all run this same suite. Besides the
:class:`~gridguard.storage.base.Storage` protocol it checks the backend's
dialect object (values bound with it compare the way the store stores them)
and every optional capability the backend declares
(:mod:`gridguard.storage.capabilities`).
"""

from __future__ import annotations

import datetime as dt
import typing
import uuid
from collections import Counter
from typing import TYPE_CHECKING, Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings

from ..errors import ConflictError, GridGuardError, ValidationError
from ..model import (
    FACT_TYPES,
    REGISTRY_TYPES,
    Area,
    AreaLevel,
    Assessment,
    Building,
    Campaign,
    CheckIn,
    Household,
    Person,
    QuarantineOrder,
    Screening,
    Team,
    Visit,
)
from ..storage.base import SaveResult, Storage, UnitOfWork
from ..storage.capabilities import (
    BulkWrites,
    DeferredWrites,
    EncryptedFields,
    FieldEncryption,
    FileBacked,
    KeysetPaging,
    NewRowLoading,
    NewRowSending,
    RawConnection,
    StoreChecks,
    Within,
)
from ..storage.dialect import SqlDialect
from ..storage.memory import MemoryStorage
from ..storage.schema import SPECS, spec_for
from .sample import SAMPLE_START, sample_facts, sample_records
from .strategies import OUTBREAK_AREA, EdgeScreenings, edge_screenings, stored_records

if TYPE_CHECKING:
    from ..workspace import Workspace

__all__ = ["StorageContract"]


def _by_type(records: list[Any]) -> dict[type[Any], list[Any]]:
    grouped: dict[type[Any], list[Any]] = {}
    for record in records:
        grouped.setdefault(type(record), []).append(record)
    return grouped


def _load_sample(storage: Storage, facts: bool = True) -> None:
    with storage.transaction() as uow:
        grouped = _by_type(sample_records())
        for cls in REGISTRY_TYPES:
            if cls in grouped:
                uow.put(cls, grouped[cls])
        if facts:
            for cls, items in _by_type(sample_facts()).items():
                uow.save_facts(cls, items)


def _all(storage: Storage, cls: type[Any]) -> list[Any]:
    with storage.transaction(write=False) as uow:
        return list(uow.find(cls))


def _under(uow: UnitOfWork, record: Any, within: Within) -> bool:
    """Whether ``record`` lies under ``within``, found by walking its parents in Python."""
    current: Any = record
    while current is not None:
        if type(current) is within.cls:
            return str(current.id) in within.ids
        spec = spec_for(type(current))
        if spec.parent is None or spec.parent.target is type(current):
            return False
        parent_id = getattr(current, spec.parent.column)
        current = None if parent_id is None else uow.get(spec.parent.target, str(parent_id))
    return False


def _expected_page_ids(storage: Storage, cls: type[Any], filters: dict[str, Any]) -> list[str]:
    """The ids pages of ``cls`` with ``filters`` must list, found with ``find`` and Python."""
    spec = spec_for(cls)
    with storage.transaction(write=False) as uow:
        found = list(
            uow.find(cls, where=filters.get("where"), jurisdictions=filters.get("jurisdictions"))
        )
        since, until, within = filters.get("since"), filters.get("until"), filters.get("within")
        kept = [
            r
            for r in found
            if (since is None or r.at >= since)
            and (until is None or r.at < until)
            and (within is None or _under(uow, r, within))
        ]
    return sorted(spec.key(r) for r in kept)


def _visit(n: int, household: str = "h1", outcome: str = "screened") -> Visit:
    return Visit(
        id=uuid.UUID(int=10_000 + n),
        at=SAMPLE_START + dt.timedelta(seconds=n),
        household_id=household,
        outcome=outcome,
    )


class _RolledBack(Exception):
    """Raised at the end of a property's transaction so that each example starts empty."""


def _edge_settings() -> settings:
    """The loaded Hypothesis profile's example count, without a deadline (a store's pace varies)."""
    return settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _store(uow: UnitOfWork, records: list[Any]) -> None:
    """Write ``records`` in order: registry entries with ``put``, facts with ``save_facts``."""
    for record in records:
        cls = type(record)
        if spec_for(cls).is_fact:
            uow.save_facts(cls, [record])
        else:
            uow.put(cls, [record])


def _times_of(record: Any, path: str = "$") -> list[tuple[str, Any, bool]]:
    """Every day and instant in ``record`` and the records nested in it.

    Each comes with its path and whether its field is declared an instant
    (``datetime``) rather than a day.
    """
    cls = type(record)
    attrs.resolve_types(cls)
    found: list[tuple[str, Any, bool]] = []
    for field in attrs.fields(cls):
        value = getattr(record, field.name)
        items = value if isinstance(value, tuple) else (value,)
        for n, item in enumerate(items):
            at = f"{path}.{field.name}" + (f"[{n}]" if isinstance(value, tuple) else "")
            if isinstance(item, dt.date):
                found.append(
                    (at, item, dt.datetime in (typing.get_args(field.type) or (field.type,)))
                )
            elif attrs.has(type(item)):
                found.extend(_times_of(item, at))
    return found


def _assert_days_and_instants(record: Any) -> None:
    """Days are exactly ``date``; instants are aware and in UTC."""
    for path, value, instant in _times_of(record):
        if instant:
            assert isinstance(value, dt.datetime), f"{path} holds {value!r}"
            assert value.utcoffset() == dt.timedelta(0), f"{path} is not in UTC: {value!r}"
        else:
            assert type(value) is dt.date, f"{path} holds {value!r}"


def _screened(ws: Workspace, case: EdgeScreenings) -> tuple[Any, ...]:
    """Store ``case`` on the sample records and screen it with the built-in rules: what it found.

    Runs inside the caller's transaction when there is one (``ws.transaction``
    joins it).
    """
    from ..screening import screen

    with ws.transaction() as uow:
        records = [case.campaign if isinstance(r, Campaign) else r for r in sample_records()]
        _store(uow, records)
        uow.save_facts(Screening, list(case.screenings))
        result = screen(ws, campaign_id=case.campaign.id, day=case.day)
        assessments = sorted(
            (a.person_id, a.day, a.risk.value, tuple((f.rule_id, f.why) for f in a.fired))
            for a in uow.find(Assessment)
        )
        orders = sorted(
            (o.person_id or "", o.kind.value, o.start, o.end) for o in uow.find(QuarantineOrder)
        )
    return result.flagged, result.by_rule, tuple(assessments), tuple(orders)


def _back_from_the_outbreak_area(case: EdgeScreenings, days: int = 14) -> set[str]:
    """Who the built-in travel rule must flag: back (or arrived) within ``days`` local days."""
    first = case.day - dt.timedelta(days=days)
    flagged = set()
    for screening in case.screenings:
        back = [t.returned for t in screening.trips if t.destination == OUTBREAK_AREA]
        back += [
            e.last_contact for e in screening.exposures if e.kind.value == "outbreak_area_arrival"
        ]
        if any(d is not None and first <= d <= case.day for d in back):
            flagged.add(screening.person_id)
    return flagged


class StorageContract:
    """Tests every backend passes. Provide a ``storage`` fixture yielding an empty store."""

    # -- basics -------------------------------------------------------------------------

    def test_follows_the_protocol(self, storage: Storage) -> None:
        assert isinstance(storage, Storage)
        assert storage.schema_version() >= 1
        assert isinstance(storage.url, str)
        assert storage.url
        with storage.transaction() as uow:
            assert isinstance(uow, UnitOfWork)

    def test_empty_store_counts_nothing(self, storage: Storage) -> None:
        with storage.transaction() as uow:
            for cls in (*REGISTRY_TYPES, *FACT_TYPES):
                assert uow.count(cls) == 0
            assert uow.get(Household, "h1") is None

    # -- registry -----------------------------------------------------------------------

    def test_registry_round_trip(self, storage: Storage) -> None:
        _load_sample(storage, facts=False)
        with storage.transaction() as uow:
            for record in sample_records():
                assert uow.get(type(record), record.id) == record
                assert uow.version(type(record), record.id) == 1

    def test_put_unchanged_changes_nothing(self, storage: Storage) -> None:
        _load_sample(storage, facts=False)
        with storage.transaction() as uow:
            again = uow.put(Household, [r for r in sample_records() if isinstance(r, Household)])
            assert again == SaveResult(written=0, unchanged=3)
            assert uow.version(Household, "h1") == 1

    def test_put_changed_bumps_version(self, storage: Storage) -> None:
        _load_sample(storage, facts=False)
        with storage.transaction() as uow:
            h1 = uow.get(Household, "h1")
            assert h1 is not None
            result = uow.put(Household, [attrs.evolve(h1, phone="13912345678")])
            assert result == SaveResult(written=1, unchanged=0)
            assert uow.version(Household, "h1") == 2
            stored = uow.get(Household, "h1")
            assert stored is not None
            assert stored.phone == "+8613912345678"

    def test_stale_version_is_a_conflict(self, storage: Storage) -> None:
        _load_sample(storage, facts=False)
        with storage.transaction() as uow:
            h1 = uow.get(Household, "h1")
            assert h1 is not None
            uow.put(Household, [attrs.evolve(h1, door="101A")], expect={"h1": 1})
        with pytest.raises(ConflictError, match="h1"), storage.transaction() as uow:
            uow.put(Household, [attrs.evolve(h1, door="101B")], expect={"h1": 1})
        with storage.transaction() as uow:
            stored = uow.get(Household, "h1")
            assert stored is not None
            assert stored.door == "101A"

    def test_unknown_parent_is_refused_with_its_path(self, storage: Storage) -> None:
        _load_sample(storage, facts=False)
        bad = [
            Household(id="h8", stairwell_id="s1", floor=3, door="301", address="a"),
            Household(id="h9", stairwell_id="nowhere", floor=3, door="302", address="b"),
        ]
        with pytest.raises(ValidationError) as info, storage.transaction() as uow:
            uow.put(Household, bad)
        assert [v.path for v in info.value.violations] == ["$[1].stairwell_id"]
        assert "unknown stairwell" in str(info.value)
        with storage.transaction() as uow:
            assert uow.get(Household, "h8") is None

    def test_unknown_other_reference_is_refused(self, storage: Storage) -> None:
        _load_sample(storage, facts=False)
        with pytest.raises(ValidationError) as info, storage.transaction() as uow:
            uow.put(Building, [Building(id="b9", area_id="g1", name="9栋", observer_id="ghost")])
        assert info.value.violations[0].path == "$[0].observer_id"

    def test_areas_may_reference_parents_earlier_in_the_batch(self, storage: Storage) -> None:
        areas = [
            Area(id="x-city", name="X", level=AreaLevel.CITY),
            Area(id="x-com", name="X1", level=AreaLevel.COMMUNITY, parent_id="x-city"),
            Area(id="x-grid", name="X1-1", level=AreaLevel.GRID, parent_id="x-com"),
        ]
        with storage.transaction() as uow:
            assert uow.put(Area, areas).written == 3
            assert uow.jurisdiction_of(Area, "x-grid") == "x-com"

    def test_existing_ids_is_one_set_based_look_up(self, storage: Storage) -> None:
        _load_sample(storage)
        with storage.transaction() as uow:
            assert uow.existing_ids(Household, {"h1", "h3", "nope"}) == {"h1", "h3"}
            assert uow.existing_ids(Household, set()) == set()
            wanted = {str(uuid.UUID(int=1)), str(uuid.UUID(int=999))}
            assert uow.existing_ids(Visit, wanted) == {str(uuid.UUID(int=1))}

    def test_jurisdiction_is_derived_from_the_tree(self, storage: Storage) -> None:
        _load_sample(storage)
        with storage.transaction() as uow:
            assert uow.jurisdiction_of(Area, "zs") == "zs"
            assert uow.jurisdiction_of(Area, "c1") == "c1"
            assert uow.jurisdiction_of(Area, "g2") == "c2"
            assert uow.jurisdiction_of(Building, "b1") == "c1"
            assert uow.jurisdiction_of(Household, "h3") == "c2"
            assert uow.jurisdiction_of(Person, "p4") == "c2"
            assert uow.jurisdiction_of(Team, "t1") == "c1"
            assert uow.jurisdiction_of(Visit, str(uuid.UUID(int=1))) == "c1"
            assert uow.jurisdiction_of(Household, "nope") is None

    # -- facts --------------------------------------------------------------------------

    def test_fact_round_trip_for_every_kind(self, storage: Storage) -> None:
        _load_sample(storage)
        facts = sample_facts()
        assert {type(f) for f in facts} == set(FACT_TYPES)
        with storage.transaction() as uow:
            for fact in facts:
                assert uow.get(type(fact), str(fact.id)) == fact

    def test_same_fact_twice_is_stored_once(self, storage: Storage) -> None:
        _load_sample(storage, facts=False)
        visits = [_visit(n) for n in range(5)]
        with storage.transaction() as uow:
            assert uow.save_facts(Visit, visits) == SaveResult(written=5, unchanged=0)
        with storage.transaction() as uow:
            assert uow.save_facts(Visit, [*visits, _visit(5)]) == SaveResult(written=1, unchanged=5)
            assert uow.count(Visit) == 6

    def test_same_id_other_content_is_a_conflict_and_the_batch_is_rolled_back(
        self, storage: Storage
    ) -> None:
        _load_sample(storage, facts=False)
        with storage.transaction() as uow:
            uow.save_facts(Visit, [_visit(1)])
        changed = attrs.evolve(_visit(1), outcome="refused")
        with pytest.raises(ConflictError, match=str(changed.id)), storage.transaction() as uow:
            uow.save_facts(Visit, [_visit(2), changed])
        with storage.transaction() as uow:
            assert uow.count(Visit) == 1
            assert uow.get(Visit, str(_visit(2).id)) is None
            stored = uow.get(Visit, str(_visit(1).id))
            assert stored is not None
            assert stored.outcome.value == "screened"

    def test_conflict_inside_one_batch(self, storage: Storage) -> None:
        _load_sample(storage, facts=False)
        first = _visit(1)
        with pytest.raises(ConflictError), storage.transaction() as uow:
            uow.save_facts(Visit, [first, attrs.evolve(first, note="other")])
        with storage.transaction() as uow:
            assert uow.count(Visit) == 0

    def test_fact_with_unknown_reference_leaves_nothing(self, storage: Storage) -> None:
        _load_sample(storage, facts=False)
        batch = [_visit(1), _visit(2, household="ghost"), _visit(3)]
        with pytest.raises(ValidationError) as info, storage.transaction() as uow:
            uow.save_facts(Visit, batch)
        assert [v.path for v in info.value.violations] == ["$[1].household_id"]
        with storage.transaction() as uow:
            assert uow.count(Visit) == 0

    def test_registry_and_facts_are_kept_apart(self, storage: Storage) -> None:
        _load_sample(storage, facts=False)
        with pytest.raises(TypeError), storage.transaction() as uow:
            uow.put(Visit, [_visit(1)])
        with pytest.raises(TypeError), storage.transaction() as uow:
            uow.save_facts(Household, [])

    # -- transactions -------------------------------------------------------------------

    def test_exception_rolls_back_everything_in_the_transaction(self, storage: Storage) -> None:
        _load_sample(storage, facts=False)

        class Boom(Exception):
            pass

        with pytest.raises(Boom), storage.transaction() as uow:
            uow.save_facts(Visit, [_visit(n) for n in range(10)])
            h1 = uow.get(Household, "h1")
            assert h1 is not None
            uow.put(Household, [attrs.evolve(h1, door="999")])
            raise Boom
        with storage.transaction() as uow:
            assert uow.count(Visit) == 0
            stored = uow.get(Household, "h1")
            assert stored is not None
            assert stored.door == "101"
            assert uow.version(Household, "h1") == 1

    def test_query_runs_sql_in_the_dialect_or_refuses(self, storage: Storage) -> None:
        _load_sample(storage, facts=False)
        dialect = storage.dialect
        assert isinstance(dialect, SqlDialect)
        with storage.transaction() as uow:
            if not dialect.runs_sql:
                with pytest.raises(GridGuardError):
                    list(uow.query("SELECT 1"))
                return
            sql = dialect.text("SELECT id FROM households WHERE jurisdiction = ? ORDER BY id")
            rows = list(uow.query(sql, ("c1",)))
        assert rows == [("h1",), ("h2",)]

    def test_nested_transactions_are_refused(self, storage: Storage) -> None:
        with pytest.raises(GridGuardError), storage.transaction(), storage.transaction():
            pass  # pragma: no cover - the inner transaction must not open

    # -- reads --------------------------------------------------------------------------

    def test_find_filters_and_orders(self, storage: Storage) -> None:
        _load_sample(storage)
        with storage.transaction() as uow:
            people = list(uow.find(Person, where={"household_id": "h1"}))
            assert [p.id for p in people] == ["p1", "p2"]
            assert uow.count(Person, where={"household_id": "h1"}) == 2
            assert [p.id for p in uow.find(Person, where={"residency": "tenant"})] == ["p3"]
            visits = list(uow.find(Visit))
            assert [v.at for v in visits] == sorted(v.at for v in visits)
            assert uow.count(Visit, where={"team_id": None}) == 1
            assert uow.count(CheckIn, where={"building_id": "b1"}) == 2

    def test_find_by_jurisdiction(self, storage: Storage) -> None:
        _load_sample(storage)
        with storage.transaction() as uow:
            assert [p.id for p in uow.find(Person, jurisdictions=["c2"])] == ["p4"]
            assert uow.count(Person, jurisdictions=["c1"]) == 3
            assert uow.count(Person, jurisdictions=[]) == 0
            assert uow.count(Household, jurisdictions=["c1", "c2"]) == 3

    def test_find_with_an_unknown_field_is_refused(self, storage: Storage) -> None:
        with pytest.raises(ValidationError, match="not a field"), storage.transaction() as uow:
            list(uow.find(Person, where={"shoe_size": 42}))

    def test_find_decodes_nested_values(self, storage: Storage) -> None:
        _load_sample(storage)
        with storage.transaction() as uow:
            (screening,) = uow.find(Screening, where={"person_id": "p1"})
        assert screening.trips[0].destination == "武汉"
        assert screening.symptoms == ("cough",)
        assert screening.temperature == pytest.approx(37.4)

    # -- bulk ---------------------------------------------------------------------------

    def test_load_rows_bulk_inserts_encoded_rows(self, storage: Storage) -> None:
        _load_sample(storage, facts=False)
        spec = spec_for(Visit)
        rows = [spec.encode(_visit(n, household=("h1", "h2", "h3")[n % 3])) for n in range(3000)]
        with storage.transaction() as uow:
            assert uow.load_rows(Visit, rows) == 3000
        with storage.transaction() as uow:
            assert uow.count(Visit) == 3000
            assert uow.count(Visit, jurisdictions=["c2"]) == 1000
            assert uow.get(Visit, str(_visit(7).id)) == _visit(7, household="h2")

    def test_large_batches_keep_every_row(self, storage: Storage) -> None:
        _load_sample(storage, facts=False)
        visits = [_visit(n, household=("h1", "h2", "h3")[n % 3]) for n in range(2500)]
        with storage.transaction() as uow:
            assert uow.save_facts(Visit, visits).written == 2500
        with storage.transaction() as uow:
            per_household = Counter(v.household_id for v in uow.find(Visit))
        assert per_household == Counter({"h1": 834, "h2": 833, "h3": 833})

    # -- days and instants at their edges (Hypothesis) ----------------------------------

    def test_every_kind_of_record_reads_back_equal_at_the_edges_of_days(
        self, storage: Storage
    ) -> None:
        """One record of every stored kind, its times at the edges of days, reads back equal.

        Days and instants fall at local midnight, 23:59:59 or around DST
        changes; days are given as dates or as aware datetimes. Each example
        is rolled back, so the next starts from an empty store.
        """

        @_edge_settings()
        @given(records=stored_records())
        def check(records: list[Any]) -> None:
            assert {type(r) for r in records} == set(SPECS), "every stored kind is generated"
            with pytest.raises(_RolledBack), storage.transaction() as uow:
                _store(uow, [*sample_records(), *records])
                for record in records:
                    cls, spec = type(record), spec_for(type(record))
                    _assert_days_and_instants(record)
                    back = uow.get(cls, spec.key(record))
                    assert back == record, cls.__name__
                    assert spec.encode(back) == spec.encode(record), cls.__name__
                    _assert_days_and_instants(back)
                    assert record in list(uow.find(cls, where={"id": record.id})), cls.__name__
                raise _RolledBack

        check()

    def test_days_at_the_edges_screen_as_in_memory(self, storage: Storage) -> None:
        """Trips and exposures ending around the 14-day window screen as in memory.

        The backend flags the same persons, for the same reasons, with the
        same quarantine orders as the in-memory reference, and the travel
        rule flags exactly the persons back within 14 local days.
        """
        from ..workspace import Workspace

        ws = Workspace(storage)

        @_edge_settings()
        @given(case=edge_screenings())
        def check(case: EdgeScreenings) -> None:
            reference = Workspace(
                MemoryStorage(), plugin_manager=ws.plugin_manager, registries=ws.registries
            )
            expected = _screened(reference, case)
            reference.close()
            with pytest.raises(_RolledBack), ws.transaction():
                found = _screened(ws, case)
                raise _RolledBack
            assert found == expected
            travelled = {
                person
                for person, _, _, fired in found[2]
                if any(rule == "outbreak-area-travel" for rule, _ in fired)
            }
            assert travelled == _back_from_the_outbreak_area(case)

        check()

    # -- the dialect ----------------------------------------------------------------------

    def test_the_dialect_binds_values_the_way_the_store_compares_them(
        self, storage: Storage
    ) -> None:
        dialect = storage.dialect
        assert isinstance(dialect, SqlDialect)
        assert dialect.name
        if not dialect.runs_sql:
            return
        _load_sample(storage, facts=False)
        with storage.transaction() as uow:
            uow.save_facts(Visit, [_visit(n) for n in range(10)])

        def one(sql: str, *params: Any) -> Any:
            return next(iter(uow.query(dialect.text(sql), params)))[0]

        with storage.transaction() as uow:
            since = SAMPLE_START + dt.timedelta(seconds=5)
            assert one('SELECT count(*) FROM visits WHERE "at" >= ?', dialect.ts(since)) == 5
            start = dialect.date(dt.date(2020, 1, 25))
            assert one('SELECT count(*) FROM campaigns WHERE "start" = ?', start) == 1
            assert one("SELECT count(*) FROM buildings WHERE managed = ?", dialect.true()) == 1
            differs = f"SELECT count(*) FROM persons WHERE phone {dialect.distinct} ?"
            assert one(differs, "+8613923456789") == 3, "NULL differs from a value"
            stamp = dialect.stamp('"at"', "id")
            ordered = [str(r[0]) for r in uow.query(f"SELECT id FROM visits ORDER BY {stamp}")]
            assert ordered == [str(_visit(n).id) for n in range(10)]
            unindexed = dialect.unindexed('"at"')
            assert (
                one(f"SELECT count(*) FROM visits WHERE {unindexed} >= ?", dialect.ts(since)) == 5
            )
            present = dialect.tables_present(2)
            assert {r[0] for r in uow.query(present, ["households", "no_such_table"])} == {
                "households"
            }
            sql, order = dialect.numbered("SELECT count(*) FROM persons WHERE id IN (?2, ?1, ?2)")
            params = ["p1", "p2"]
            bound = [params[n - 1] for n in order] if order else params
            assert next(iter(uow.query(sql, bound)))[0] == 2
            if dialect.append_lock is not None:
                list(uow.query(dialect.append_lock))
            with dialect.planned(uow):
                assert one("SELECT count(*) FROM visits") == 10

    # -- optional capabilities (gridguard.storage.capabilities) ---------------------------

    def test_declared_capabilities_keep_their_promises(self, storage: Storage) -> None:
        if isinstance(storage, FileBacked):
            assert isinstance(storage.path, str)
            assert storage.path
        if isinstance(storage, EncryptedFields):
            assert storage.fields is None or isinstance(storage.fields, FieldEncryption)
        if isinstance(storage.dialect, SqlDialect) and storage.dialect.sqlite_sql:
            assert storage.dialect.runs_sql
        with storage.transaction() as uow:
            if isinstance(uow, RawConnection):
                assert uow.connection is not None
            if isinstance(uow, EncryptedFields):
                assert uow.fields is None or isinstance(uow.fields, FieldEncryption)

    def test_keyset_pages_cover_every_row_once_in_id_order(self, storage: Storage) -> None:
        _load_sample(storage)
        for n in range(12):  # more visits, so that a fact's pages are several
            household = ("h1", "h2", "h3")[n % 3]
            with storage.transaction() as uow:
                uow.save_facts(Visit, [_visit(10 + n, household=household, outcome="not_home")])
        start = min(v.at for v in _all(storage, Visit))
        cases: list[tuple[type[Any], dict[str, Any]]] = [
            (Area, {}),
            (Area, {"within": Within(Area, {"c1", "g1", "east"})}),
            (Building, {"within": Within(Area, {"g2"})}),
            (Household, {}),
            (Household, {"where": {"stairwell_id": "s1"}}),
            (Household, {"jurisdictions": ["c2"]}),
            (Person, {"within": Within(Area, {"g1"})}),
            (Person, {"within": Within(Building, {"b2"}), "jurisdictions": ["c2"]}),
            (Person, {"within": Within(Area, set())}),
            (Team, {"within": Within(Building, {"b1"})}),
            (Visit, {}),
            (Visit, {"within": Within(Area, {"g2"})}),
            (Visit, {"where": {"household_id": "h1"}}),
            (
                Visit,
                {"since": start + dt.timedelta(hours=3), "until": start + dt.timedelta(hours=9)},
            ),
            (CheckIn, {"within": Within(Building, {"b1"})}),
        ]
        with storage.transaction() as uow:
            if not isinstance(uow, KeysetPaging):
                pytest.skip("the backend has no keyset paging (callers page in Python)")
        for cls, filters in cases:
            expected = _expected_page_ids(storage, cls, filters)
            for limit in (1, 2, 5, 100):
                seen: list[str] = []
                after: str | None = None
                while True:
                    with storage.transaction(write=False) as uow:
                        assert isinstance(uow, KeysetPaging)
                        page = uow.page(cls, after=after, limit=limit, **filters)
                    assert len(page) <= limit
                    ids = [spec_for(cls).key(r) for r in page]
                    seen += ids
                    if len(page) < limit:
                        break
                    after = ids[-1]
                assert seen == expected, (cls.__name__, filters, limit)
        with storage.transaction(write=False) as uow:
            assert isinstance(uow, KeysetPaging)
            assert uow.page(Household, after="h1", limit=1) == [uow.get(Household, "h2")]
            assert uow.page(Visit, after="not a uuid", limit=5) == []
            assert uow.page(Household, after=None, limit=0) == []

    def test_new_rows_are_inserted_and_stored_ones_kept(self, storage: Storage) -> None:
        _load_sample(storage, facts=False)
        spec = spec_for(Visit)
        with storage.transaction() as uow:
            uow.save_facts(Visit, [_visit(0), _visit(1)])
        changed = _visit(1, outcome="not_home")
        rows = [spec.encode(v) for v in (changed, _visit(2), _visit(3))]
        with storage.transaction() as uow:
            if isinstance(uow, NewRowLoading):
                assert uow.load_new_rows(Visit, rows) == 2
            elif isinstance(uow, NewRowSending):
                assert uow.send_new_rows(Visit, rows) == 3  # sent, not necessarily new
            else:
                pytest.skip("the backend inserts new rows through the protocol alone")
        with storage.transaction() as uow:
            assert uow.count(Visit) == 4
            assert uow.get(Visit, str(_visit(1).id)) == _visit(1), "a stored row is kept"

    def test_deferred_writes_queue_and_write_when_free(self, storage: Storage) -> None:
        """A store of one writer at a time: a free store is written at once, a queue keeps
        items (an id once) until they are unqueued."""
        if not isinstance(storage, DeferredWrites):
            pytest.skip("the backend does not keep a queue beside the store")
        _load_sample(storage, facts=False)
        with storage.try_write() as uow:
            uow.save_facts(Visit, [_visit(0)])
        with storage.transaction(write=False) as uow:
            assert uow.count(Visit) == 1
        storage.queue_later([("a", "first"), ("b", "second")])
        storage.queue_later([("a", "first again")])
        assert storage.queued() == [("a", "first"), ("b", "second")]
        storage.unqueue(["a"])
        assert storage.queued() == [("b", "second")]
        storage.unqueue(["b"])
        assert storage.queued() == []

    def test_bulk_writes_are_whole_or_nothing_and_refuse_unknown_parents(
        self, storage: Storage
    ) -> None:
        """A write without row-by-row foreign-key checks is still one transaction, and
        unknown parents are refused in it and after it."""
        if not isinstance(storage, BulkWrites):
            pytest.skip("the backend checks every row's references")
        _load_sample(storage, facts=False)
        with storage.bulk_write() as uow:
            uow.save_facts(Visit, [_visit(0)])
        with pytest.raises(_RolledBack), storage.bulk_write() as uow:
            uow.save_facts(Visit, [_visit(1)])
            raise _RolledBack
        with storage.transaction(write=False) as uow:
            assert uow.count(Visit) == 1
        orphan = Household(id="h9", stairwell_id="nowhere", floor=3, door="302", address="b")
        for opened in (storage.bulk_write, storage.transaction):
            with pytest.raises(ValidationError), opened() as uow:
                uow.put(Household, [orphan])

    def test_store_checks_pass_on_a_sound_store(self, storage: Storage) -> None:
        if not isinstance(storage, StoreChecks):
            pytest.skip("the backend does not check its own file")
        _load_sample(storage, facts=False)
        storage.check_integrity()
        storage.check_writable()
        with storage.transaction(write=False) as uow:
            assert uow.count(Visit) == 0, "the probing write was rolled back"

    def test_sent_rows_are_there_for_the_next_statement(self, storage: Storage) -> None:
        _load_sample(storage, facts=False)
        spec = spec_for(Visit)
        with storage.transaction() as uow:
            if not isinstance(uow, NewRowSending):
                pytest.skip("the backend does not send rows ahead")
            uow.send_new_rows(Visit, [spec.encode(_visit(n)) for n in range(5)])
            assert uow.count(Visit) == 5
            uow.send_new_rows(Visit, [spec.encode(_visit(n)) for n in range(3, 8)])
        with storage.transaction() as uow:
            assert uow.count(Visit) == 8
