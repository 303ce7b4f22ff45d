"""The bulk path: COPY text built by columns, planner statistics after a load, look-ups by id."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from gridguard_postgres import PostgresStorage, parse_url
from gridguard_postgres import _storage as storage_module
from gridguard_postgres._copytext import NULL, copy_text, text_column
from gridguard_postgres._storage import _by_ids
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gridguard
from gridguard import Household, Person, Stairwell
from gridguard.storage.schema import spec_for
from gridguard.synth import generate_city
from gridguard.testing import sample_records

Admin = psycopg.Connection[tuple[object, ...]]

# Text PostgreSQL can hold (no NUL), with the characters COPY escapes made likely.
texts = st.text(
    alphabet=st.one_of(
        st.sampled_from("\\\t\n\r\\N,'\" 花园"),
        st.characters(codec="utf-8", exclude_characters="\x00"),
    ),
    max_size=12,
)
rows = st.lists(
    st.tuples(
        st.none() | texts,
        st.none() | st.integers(-(2**63), 2**63 - 1),
        st.none() | st.booleans(),
        st.none() | st.floats(allow_nan=False, allow_infinity=False),
    ),
    min_size=1,
    max_size=30,
)


def test_copy_text_spells_values_as_copy_reads_them() -> None:
    text = copy_text([("a\tb", None, 3, True), ("c\\d\ne\r", "x", None, False)], ["j1", "j2"])
    assert text == "a\\tb\t\\N\t3\t1\tj1\nc\\\\d\\ne\\r\tx\t\\N\t0\tj2\n"
    plain = ["a", "b"]
    assert text_column(plain) is plain  # nothing to escape: the column is used as it is
    assert text_column(["a", None]) == ["a", NULL]
    assert copy_text([]) == ""


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=rows)
def test_copy_text_round_trips_through_postgres(
    pg_admin: Admin, batch: list[tuple[Any, ...]]
) -> None:
    """Whatever the values, COPY reads back exactly the rows that were written."""
    with pg_admin.transaction(force_rollback=True):
        pg_admin.execute(
            "CREATE TEMP TABLE gg_copy (t text, i bigint, b boolean, f double precision, "
            "j text) ON COMMIT DROP"
        )
        tags = [f"r{n}" for n in range(len(batch))]
        with pg_admin.cursor() as cur, cur.copy("COPY gg_copy FROM STDIN") as copy:
            copy.write(copy_text(batch, tags).encode())
        stored = pg_admin.execute("SELECT t, i, b, f FROM gg_copy ORDER BY j").fetchall()
    by_tag = dict(zip(tags, batch, strict=True))
    assert stored == [by_tag[tag] for tag in sorted(tags)]


def test_loaded_rows_with_tabs_newlines_and_backslashes_are_stored_exactly(
    pg_store: PostgresStorage,
) -> None:
    ws = gridguard.Workspace(pg_store)
    ws.add(sample_records())
    address = "百苑新村\t牡丹阁\\3栋\n201\r"
    row = ("h9", "s1", 2, "202", address, None)
    assert ws.load_rows(Household, [row]) == 1
    with pg_store.transaction(write=False) as uow:
        stored = list(uow.query("SELECT address, phone FROM households WHERE id = 'h9'"))
    assert stored == [(address, None)]
    plain = ("h8", "s1", 2, "203", "百苑新村牡丹阁\\3栋203", "+8613800000000")
    ws.load_rows(Household, [plain])
    assert spec_for(Household).encode(ws.get(Household, "h8")) == plain


def _reltuples(admin: Admin, schema: str, table: str) -> float:
    found = admin.execute(
        "SELECT c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s",
        [schema, table],
    ).fetchone()
    assert found is not None
    return float(found[0])  # type: ignore[arg-type]


def test_a_table_that_grew_by_a_bulk_load_is_analysed(
    pg_store: PostgresStorage, pg_admin: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a load the planner knows the table's size (-1: never analysed)."""
    monkeypatch.setattr(storage_module, "ANALYZE_FROM", 500)
    ws = gridguard.Workspace(pg_store)
    generate_city(ws, persons=2_000, parallel=False)
    persons = _reltuples(pg_admin, pg_store.schema, "persons")
    assert persons > 1_000  # analysed at 500 and again on doubling, not left at -1
    done, analysed = pg_store.grown["persons"]
    assert done == 2_000
    assert 1_000 <= analysed <= 2_000


def test_look_ups_by_id_probe_the_index_even_without_statistics(
    pg_store: PostgresStorage,
) -> None:
    """``id = ANY(...)`` on a never-analysed table was planned as a scan of the whole table."""
    ws = gridguard.Workspace(pg_store)
    generate_city(ws, persons=3_000, parallel=False)
    with pg_store.transaction() as uow:
        uow.connection.execute("SET LOCAL enable_seqscan = on")
        ids = [r[0] for r in uow.query("SELECT id FROM persons ORDER BY id LIMIT 800")]
        sql, params = _by_ids(spec_for(Person), "x.id::text", ids)
        plan = "\n".join(
            r[0] for r in uow.connection.execute(("EXPLAIN " + sql).encode(), params).fetchall()
        )
        assert "Seq Scan on persons" not in plan
        assert "persons_pkey" in plan
        assert uow.existing_ids(Person, {*ids, "nobody"}) == set(ids)


def test_one_new_id_twice_in_a_batch_ends_as_one_record_under_the_last_parent(
    pg_store: PostgresStorage,
) -> None:
    ws = gridguard.Workspace(pg_store)
    ws.add(sample_records())
    first = Stairwell(id="s9", building_id="b1", name="9梯", floors=3, doors_per_floor=2)
    last = Stairwell(id="s9", building_id="b2", name="9梯", floors=4, doors_per_floor=2)
    ws.add([first, last])
    with pg_store.transaction(write=False) as uow:
        assert uow.count(Stairwell, where={"id": "s9"}) == 1
        assert uow.jurisdiction_of(Stairwell, "s9") == "c2"
    assert ws.get(Stairwell, "s9") == last


def test_connections_plan_cursors_for_every_row() -> None:
    assert "cursor_tuple_fraction=1" in parse_url("postgresql://u@h/db").conninfo
