"""The schema on a live server: keyed by jurisdiction for Citus, versioned, migrated."""

from __future__ import annotations

import threading

import psycopg
import pytest
from gridguard_postgres import EXTENSIONS, PostgresStorage, citus_statements, parse_url
from gridguard_postgres._layout import is_reference_table
from pg_helpers import SchemaUrl

import gridguard
from gridguard import ConfigError, Household, StorageError
from gridguard.storage.schema import SPECS
from gridguard.testing import sample_records

Admin = psycopg.Connection[tuple[object, ...]]

_CONSTRAINTS = """
SELECT t.relname, c.contype, c.conname,
       ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i),
       r.relname,
       ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i)
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_namespace s ON s.oid = t.relnamespace
LEFT JOIN pg_class r ON r.oid = c.confrelid
WHERE s.nspname = %s AND c.contype IN ('p', 'u', 'f')
"""

_UNIQUE_INDEXES = """
SELECT t.relname, i.relname,
       ARRAY(SELECT a.attname::text FROM unnest(x.indkey) k(n)
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.n)
FROM pg_index x
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_namespace s ON s.oid = t.relnamespace
WHERE s.nspname = %s AND x.indisunique
"""


def test_every_key_holds_the_jurisdiction_so_citus_can_shard(
    pg_store: PostgresStorage, pg_admin: Admin
) -> None:
    """The invariant Citus needs, read off the live catalog.

    Every table has a NOT NULL jurisdiction and a primary key of (id,
    jurisdiction); on distributed tables every unique index holds the
    jurisdiction; a foreign key between distributed tables pairs jurisdiction
    with jurisdiction; reference tables point at no distributed table.
    """
    schema = pg_store.schema
    reference = {s.table for s in SPECS.values() if is_reference_table(s)}
    tables = {s.table for s in SPECS.values()}
    assert reference == {s.table for s in SPECS.values() if s.may_own_jurisdiction}
    assert {"areas", "campaigns"} <= reference

    columns = pg_admin.execute(
        "SELECT table_name, is_nullable FROM information_schema.columns "
        "WHERE table_schema = %s AND column_name = 'jurisdiction'",
        [schema],
    ).fetchall()
    assert dict(columns) == dict.fromkeys(tables, "NO")

    constraints = pg_admin.execute(_CONSTRAINTS, [schema]).fetchall()
    keys = {t: set(cols) for t, kind, _, cols, _, _ in constraints if kind == "p"}  # type: ignore[arg-type]
    for table in tables:
        assert keys[table] == {"id", "jurisdiction"}, table  # type: ignore[index]

    foreign = [c for c in constraints if c[1] == "f" and c[0] in tables]
    assert foreign, "no foreign keys at all"
    for table, _, name, cols, target, target_cols in foreign:
        assert not (table in reference and target not in reference), name
        if table not in reference and target not in reference:
            assert "jurisdiction" in cols, name  # type: ignore[operator]
            at = cols.index("jurisdiction")  # type: ignore[union-attr]
            assert target_cols[at] == "jurisdiction", name  # type: ignore[index]

    for table, index, cols in pg_admin.execute(_UNIQUE_INDEXES, [schema]).fetchall():
        if table in tables and table not in reference:
            assert "jurisdiction" in cols, index  # type: ignore[operator]


def test_children_carry_their_parent_key_with_the_jurisdiction(
    pg_store: PostgresStorage, pg_admin: Admin
) -> None:
    constraints = pg_admin.execute(_CONSTRAINTS, [pg_store.schema]).fetchall()
    fks = {(t, tuple(cols)): (r, tuple(rc)) for t, k, _, cols, r, rc in constraints if k == "f"}  # type: ignore[arg-type]
    assert fks[("persons", ("jurisdiction", "household_id"))] == (
        "households",
        ("jurisdiction", "id"),
    )
    assert fks[("visits", ("jurisdiction", "household_id"))] == (
        "households",
        ("jurisdiction", "id"),
    )
    assert fks[("buildings", ("jurisdiction", "area_id"))] == ("areas", ("jurisdiction", "id"))
    # A community's parent is in another jurisdiction: areas point at areas by id.
    assert fks[("areas", ("parent_id",))] == ("areas", ("id",))


def test_citus_statements_distribute_every_table_once() -> None:
    statements = citus_statements()
    for spec in SPECS.values():
        named = [s for s in statements if f"('{spec.table}'" in s]
        assert len(named) == 1, spec.table
        kind = "create_reference_table" if is_reference_table(spec) else "'jurisdiction'"
        assert kind in named[0]


def test_a_moved_record_carries_its_children_along(pg_store: PostgresStorage) -> None:
    ws = gridguard.Workspace(pg_store)
    ws.add(sample_records())
    stairwell = ws.get(gridguard.Stairwell, "s1")
    ws.add([gridguard.Stairwell(**{**_fields(stairwell), "building_id": "b2"})])
    with pg_store.transaction(write=False) as uow:
        assert uow.jurisdiction_of(gridguard.Stairwell, "s1") == "c2"
        assert uow.jurisdiction_of(Household, "h1") == "c2"
        assert uow.jurisdiction_of(gridguard.Person, "p1") == "c2"
        assert uow.count(gridguard.Stairwell) == 2
    assert ws.version(gridguard.Stairwell, "s1") == 2


def _fields(record: object) -> dict[str, object]:
    import attrs

    return attrs.asdict(record, recurse=False)  # type: ignore[arg-type]


def test_schema_version_and_extensions(pg_schema_url: SchemaUrl) -> None:
    store = PostgresStorage.open(pg_schema_url())
    try:
        assert store.schema_version() == 1
        assert set(EXTENSIONS) <= store.extensions
        with store.transaction(write=False) as uow:
            (row,) = uow.query(
                "SELECT similarity(%s, %s), levenshtein(%s, %s)", ("陈建国", "陈建华", "abc", "abd")
            )
        assert 0 < float(row[0]) < 1
        assert row[1] == 1
    finally:
        store.close()


def test_missing_tables_and_columns_are_created_in_one_migration(
    pg_schema_url: SchemaUrl, pg_admin: Admin
) -> None:
    url = pg_schema_url()
    with gridguard.open(url) as ws:
        ws.add(sample_records())
        schema = ws.storage.schema  # type: ignore[attr-defined]
    pg_admin.execute(f'DROP TABLE "{schema}".service_requests')
    pg_admin.execute(f'ALTER TABLE "{schema}".households DROP COLUMN phone')
    pg_admin.execute(f"DELETE FROM \"{schema}\".gridguard_meta WHERE key = 'fingerprint'")
    with gridguard.open(url) as ws:
        assert ws.storage.schema_version() == 2
        assert ws.count(gridguard.ServiceRequest) == 0
        assert ws.get(Household, "h1").phone is None  # the dropped data is gone, the column back
        assert ws.count(Household) == 3


def test_a_store_from_a_newer_gridguard_is_refused(
    pg_schema_url: SchemaUrl, pg_admin: Admin
) -> None:
    url = pg_schema_url()
    with gridguard.open(url) as ws:
        schema = ws.storage.schema  # type: ignore[attr-defined]
    pg_admin.execute(
        f'INSERT INTO "{schema}".gridguard_columns '
        "VALUES ('households', 'shoe_size', 'int', true)"
    )
    pg_admin.execute(
        f"UPDATE \"{schema}\".gridguard_meta SET value = 'x' WHERE key = 'fingerprint'"
    )
    with pytest.raises(StorageError, match=r"households\.shoe_size.*newer gridguard"):
        gridguard.open(url)


def test_many_processes_opening_a_fresh_schema_create_it_once(pg_schema_url: SchemaUrl) -> None:
    url = pg_schema_url()
    errors: list[BaseException] = []
    versions: list[int] = []

    def open_it() -> None:
        try:
            store = PostgresStorage.open(url)
            versions.append(store.schema_version())
            store.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert versions == [1] * 6


@pytest.mark.parametrize(
    ("url", "schema"),
    [
        ("postgresql://u@h/db?schema=zs_2020", "zs_2020"),
        ("postgresql://u@h/db?options=-csearch_path%3Dhuayuan", "huayuan"),
        ("postgres://u@h/db", None),
        ("postgresql+psycopg://u@h/db?schema=a&sslmode=disable", "a"),
    ],
)
def test_urls_name_the_schema(url: str, schema: str | None) -> None:
    settings = parse_url(url)
    assert settings.schema == schema
    assert "TimeZone=UTC" in settings.conninfo
    assert "schema=" not in settings.conninfo


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("postgresql://u@h/db?schema=Bad-Name", "schema"),
        ("postgresql://u@h/db?pool_size=0", "pool_size"),
        ("postgresql://u@h/db?statement_timeout=soon", "statement_timeout"),
        ("postgresql://u@h/db?no_such_libpq_setting=1", "no_such_libpq_setting"),
        ("mysql://u@h/db", "not a PostgreSQL URL"),
    ],
)
def test_bad_urls_are_refused_naming_the_setting(url: str, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        parse_url(url)


def test_a_role_without_superuser_loads_with_foreign_key_checks(
    pg_url: str, pg_run: str, pg_admin: Admin
) -> None:
    """No right to skip triggers: bulk loads keep every foreign-key check, and still work."""
    from pg_helpers import with_params

    from gridguard.synth import generate_city

    role, schema = f"{pg_run}_plain", f"{pg_run}_plain"
    pg_admin.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        pg_admin.execute(f'CREATE SCHEMA "{schema}" AUTHORIZATION "{role}"')
        user_url = pg_url.replace("://postgres@", f"://{role}@", 1)
        if user_url == pg_url:
            pytest.skip("the test server URL does not name the postgres role")
        url = with_params(user_url, schema=schema)
        with gridguard.open(url) as ws:
            assert ws.storage.bulk_skips_triggers is False  # type: ignore[attr-defined]
            stats = generate_city(ws, persons=3_000, parallel=False)
            assert ws.counts()["persons"] == stats.persons == 3_000
            with pytest.raises(StorageError, match="load_rows inserts new rows only"):
                ws.load_rows(gridguard.Area, [("x", "X", "city", None, None)] * 2)
    finally:
        pg_admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        pg_admin.execute(f'DROP ROLE IF EXISTS "{role}"')
