"""Load: 50 concurrent clients on loopback, each posting the same 1,000 visits twice.

Exactly 50,000 distinct visits must be stored, on SQLite and on
PostgreSQL: a retry stores nothing twice, however the requests interleave.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from gridguard_http.auth import TokenStore
from http_world import bearer, live_server

import gridguard
from gridguard import LOCAL_ADMIN
from gridguard.model import Visit
from gridguard.testing import sample_records

CLIENTS = 50
VISITS = 1000
BATCH = 250
START = dt.datetime(2020, 1, 26, 1, 0, tzinfo=dt.UTC)
PG_ENV = "GRIDGUARD_TEST_POSTGRES_URL"


def client_visits(client: int) -> list[dict[str, Any]]:
    out = []
    for k in range(VISITS):
        n = client * VISITS + k
        out.append(
            {
                "id": str(uuid.UUID(int=n + 1)),
                "at": (START + dt.timedelta(seconds=n)).isoformat(),
                "household_id": ("h1", "h2", "h3")[n % 3],
                "outcome": "not_home",
            }
        )
    return out


def run_clients(base: str, token: str) -> list[tuple[int, int]]:
    """Every client posts its visits in batches, then all of them again; (written, unchanged)."""

    def one(client: int) -> tuple[int, int]:
        mine = client_visits(client)
        batches = [mine[i : i + BATCH] for i in range(0, VISITS, BATCH)]
        written = unchanged = 0
        with httpx.Client(base_url=base, headers=bearer(token), timeout=120) as http:
            for batch in batches + batches:
                got = http.post("/visits", json=batch)
                assert got.status_code in (200, 201), got.text
                written += got.json()["visits"]["written"]
                unchanged += got.json()["visits"]["unchanged"]
        return written, unchanged

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(one, range(CLIENTS)))


def check(url: str, tokens: Path) -> None:
    with gridguard.open(url) as ws:
        ws.add(sample_records())
    token = TokenStore(tokens).create(LOCAL_ADMIN)[1]
    with live_server(url, tokens, "--pool", "4") as base:
        results = run_clients(base, token)
    assert sum(w for w, _ in results) == CLIENTS * VISITS
    assert all(w == VISITS and u == VISITS for w, u in results)
    with gridguard.open(url) as ws:
        assert ws.count(Visit) == CLIENTS * VISITS


@pytest.mark.slow
def test_sqlite_stores_every_visit_once(tmp_path: Path) -> None:
    check(f"sqlite:///{tmp_path / 'load.db'}", tmp_path / "t.json")


@pytest.fixture
def pg_url() -> Iterator[str]:
    pytest.importorskip("gridguard_postgres")
    import psycopg

    server = os.environ.get(PG_ENV, "postgresql://postgres@127.0.0.1:5432/test")
    try:
        admin = psycopg.connect(server, connect_timeout=5, autocommit=True)
    except psycopg.Error as exc:
        if os.environ.get("CI"):
            pytest.fail(f"no PostgreSQL server ({exc}); CI is set, so this test must run")
        pytest.skip(f"no PostgreSQL server: {exc}")
    schema = f"gg_http_{os.getpid()}_{secrets.token_hex(3)}"
    sep = "&" if "?" in server else "?"
    try:
        yield f"{server}{sep}schema={schema}"
    finally:
        admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.close()


@pytest.mark.slow
def test_postgresql_stores_every_visit_once(pg_url: str, tmp_path: Path) -> None:
    check(pg_url, tmp_path / "t.json")
