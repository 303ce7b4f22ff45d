"""A PostgreSQL server for the plugin's tests, and a schema of their own for each test run.

The server is ``GRIDGUARD_TEST_POSTGRES_URL`` or, by default,
``postgresql://postgres@127.0.0.1:5432/test``. Without a server the tests
skip with the reason; when ``CI`` is set they fail instead, so that a CI run
can never pass without having run them. Every schema a run makes starts
with ``gg_test_<pid>_<random>`` and is dropped at the end.
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Iterator

import psycopg
import pytest
from gridguard_postgres import PostgresStorage, mask_url
from pg_helpers import SchemaUrl, with_params

from gridguard.storage.schema import SPECS

URL_ENV = "GRIDGUARD_TEST_POSTGRES_URL"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The server's URL, once it answers; skip (or, under CI, fail) when it does not."""
    url = os.environ.get(URL_ENV, DEFAULT_URL)
    try:
        psycopg.connect(url, connect_timeout=5, autocommit=True).close()
    except psycopg.Error as exc:
        reason = (
            f"no PostgreSQL server at {mask_url(url)} ({str(exc).strip().splitlines()[0]}); "
            f"start one or set {URL_ENV}"
        )
        if os.environ.get("CI"):
            pytest.fail(f"{reason}. CI is set, so the PostgreSQL tests must run.", pytrace=False)
        pytest.skip(reason)
    return url


@pytest.fixture(scope="session")
def pg_admin(pg_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """An autocommit connection for setting up and inspecting schemas."""
    conn = psycopg.connect(pg_url, autocommit=True)
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def pg_run(pg_admin: psycopg.Connection[tuple[object, ...]]) -> Iterator[str]:
    """This run's schema prefix; every schema that starts with it is dropped at the end."""
    prefix = f"gg_test_{os.getpid()}_{secrets.token_hex(3)}"
    yield prefix
    names = pg_admin.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", [prefix + "%"]
    ).fetchall()
    for (name,) in names:
        pg_admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


_numbers = itertools.count(1)


@pytest.fixture
def pg_schema_url(
    pg_url: str, pg_run: str, pg_admin: psycopg.Connection[tuple[object, ...]]
) -> Iterator[SchemaUrl]:
    """Makes URLs of new, empty schemas (dropped after the test): ``pg_schema_url(**params)``."""
    made: list[str] = []

    def make(**params: str) -> str:
        schema = f"{pg_run}_{next(_numbers)}"
        made.append(schema)
        return with_params(pg_url, schema=schema, **params)

    yield make
    for schema in made:
        pg_admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="session")
def pg_shared_url(pg_url: str, pg_run: str) -> str:
    """A schema for this run, created once; :func:`pg_store` empties it after each test."""
    url = with_params(pg_url, schema=f"{pg_run}_shared")
    PostgresStorage.open(url).close()
    return url


@pytest.fixture
def pg_store(
    pg_shared_url: str, pg_admin: psycopg.Connection[tuple[object, ...]]
) -> Iterator[PostgresStorage]:
    """An empty store (the shared schema, emptied after each test)."""
    store = PostgresStorage.open(pg_shared_url)
    yield store
    store.close()
    pg_admin.execute(f'SET search_path = "{store.schema}"')
    tables = ", ".join(f'"{spec.table}"' for spec in SPECS.values())
    pg_admin.execute(f"TRUNCATE {tables}")
    pg_admin.execute("RESET search_path")
