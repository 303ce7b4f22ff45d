"""The PostgreSQL dialect agrees with the Python compiler, and a PostgreSQL store screens alike.

Runs against a real server on loopback (see ``rules_pg``); skipped when the
gridguard-postgres plugin or the server is not there.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridguard.model import Screening
from gridguard.rules import compile_python, compile_sql, parse_condition
from rules_pg import pg_url
from rules_strategies import COLUMNS, CTX, conditions, rows
from test_rules_screening import _outcome, random_rule_sets, random_screenings

POSTGRES = pytest.importorskip("gridguard_postgres").PostgresDialect()

_TYPES = {
    "sex": 'text COLLATE "C"',
    "residency": 'text COLLATE "C"',
    "birth_date": "date",
    "floor": "bigint",
    "screened_at": "timestamptz",
    "temperature": "double precision",
    "symptoms": "json",
    "trips": "json",
    "exposures": "json",
    "quarantined": "boolean",
    "building_anomalies": "jsonb",
    "household_anomalies": "jsonb",
}
"""Column types as the gridguard-postgres plugin lays out the tables the rows come from."""


@pytest.fixture(scope="module")
def pg() -> Iterator[Any]:
    """A connection with a table ``rows`` in a schema of its own."""
    import psycopg

    url = pg_url()
    schema = f"gg_rules_rows_{secrets.token_hex(4)}"
    conn = psycopg.connect(url, autocommit=True)
    conn.execute(f'CREATE SCHEMA "{schema}"')
    conn.execute(f'SET search_path = "{schema}"')
    columns = ", ".join(f'"{c}" {_TYPES.get(c, chr(116) + "ext")}' for c in COLUMNS)
    conn.execute(f"CREATE TABLE rows (n integer PRIMARY KEY, {columns})")
    try:
        yield conn
    finally:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        conn.close()


def _encode(name: str, value: Any) -> Any:
    lists = ("symptoms", "trips", "exposures", "building_anomalies", "household_anomalies")
    if value is not None and name in lists:
        return json.dumps(
            [
                {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in item.items()}
                if isinstance(item, dict)
                else item
                for item in value
            ],
            ensure_ascii=False,
        )
    return value


def _pg_values(conn: Any, condition: str, rows_: list[dict[str, Any]]) -> list[Any]:
    conn.execute("TRUNCATE rows")
    marks = ", ".join("%s" for _ in COLUMNS)
    with conn.cursor() as cur:
        cur.executemany(
            f"INSERT INTO rows VALUES (%s, {marks})",
            [(n, *(_encode(c, row[c]) for c in COLUMNS)) for n, row in enumerate(rows_)],
        )
    fragment = compile_sql(parse_condition(condition), POSTGRES, CTX)
    found = conn.execute(f"SELECT {fragment.sql} FROM rows ORDER BY n", fragment.params)
    return [None if v is None else bool(v) for (v,) in found.fetchall()]


@given(conditions(), st.lists(rows(), min_size=1, max_size=6))
@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_python_and_postgresql_agree_on_random_conditions_and_rows(
    pg: Any, condition: str, rows_: list[dict[str, Any]]
) -> None:
    evaluate = compile_python(parse_condition(condition), CTX)
    assert [evaluate(row) for row in rows_] == _pg_values(pg, condition, rows_)


@given(random_screenings())
@settings(max_examples=8, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_memory_and_postgresql_screen_alike(tmp_path: Path, screenings: list[Screening]) -> None:
    from rules_pg import pg_schema

    with pg_schema() as (url, _):
        assert _outcome("memory://", screenings) == _outcome(url, screenings)


@given(random_screenings(), random_rule_sets())
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_memory_and_postgresql_run_random_rule_sets_alike(
    screenings: list[Screening], rules: Any
) -> None:
    """PostgreSQL's set-based writes store what the Python path stores, field for field."""
    from rules_pg import pg_schema

    with pg_schema() as (url, _):
        assert _outcome("memory://", screenings, rules) == _outcome(url, screenings, rules)


@given(keys=st.lists(st.text(alphabet=st.characters(exclude_characters="\x00")), max_size=20))
@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_ids_made_in_postgresql_are_the_ids_python_makes(pg: Any, keys: list[str]) -> None:
    from gridguard.model.assessments import keyed_id

    made = [pg.execute(f"SELECT {POSTGRES.keyed_id('%s')}", [key]).fetchone()[0] for key in keys]
    assert made == [keyed_id(key) for key in keys]
