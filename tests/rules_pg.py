"""A PostgreSQL server for the rules' tests, when the gridguard-postgres plugin is installed.

The server is ``GRIDGUARD_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``, as the plugin's tests use).
Without psycopg or the plugin the tests skip; without a server they skip
too, except under CI (``CI`` set), where they fail. Each store lives in a
schema of its own (``gg_rules_<pid>_<n>``), dropped when the test ends.
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

URL_ENV = "GRIDGUARD_TEST_POSTGRES_URL"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
_RUN = f"gg_rules_{os.getpid()}_{secrets.token_hex(3)}"
_numbers = itertools.count(1)


def pg_url() -> str:
    """The server's URL, once it answers; skips (or fails under CI) otherwise."""
    psycopg = pytest.importorskip("psycopg")
    pytest.importorskip("gridguard_postgres")
    url = os.environ.get(URL_ENV, DEFAULT_URL)
    try:
        psycopg.connect(url, connect_timeout=5, autocommit=True).close()
    except psycopg.Error as exc:
        reason = f"no PostgreSQL server for the rules' tests ({str(exc).strip().splitlines()[0]})"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI is set, so they must run", pytrace=False)
        pytest.skip(reason)
    return url


def _with_schema(url: str, schema: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query["schema"] = schema
    return urlunsplit(parts._replace(query=urlencode(query)))


@contextmanager
def pg_schema() -> Iterator[tuple[str, Any]]:
    """``(url of a new, empty schema, an autocommit connection)``; the schema is dropped after."""
    import psycopg

    url = pg_url()
    schema = f"{_RUN}_{next(_numbers)}"
    conn = psycopg.connect(url, autocommit=True)
    try:
        yield _with_schema(url, schema), conn
    finally:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.close()
