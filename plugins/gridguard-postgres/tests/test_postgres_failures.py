"""Bad days: a refused connection, a connection dropped mid-batch, a statement timeout.

Each time the error says what happened, nothing of the batch is stored, and
sending the batch again stores it once.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import pytest
from gridguard_postgres import PostgresStorage
from pg_helpers import SchemaUrl, blocked_pid, wait_until, with_params

import gridguard
from gridguard import SaveResult, StorageError, ValidationError, Visit
from gridguard.testing import SAMPLE_START, sample_records


def _batch() -> list[Visit]:
    """300 visits to c1's households, then 200 to h3 in c2: the later ones wait on h3's lock."""
    return [
        Visit(
            id=uuid.UUID(int=500_000 + n),
            at=SAMPLE_START + dt.timedelta(seconds=n),
            household_id="h3" if n >= 300 else ("h1", "h2")[n % 2],
            outcome="screened",
        )
        for n in range(500)
    ]


@contextmanager
def _household_locked(pg_url: str, schema: str, household: str) -> Iterator[None]:
    """Another session holds ``household``'s row lock (as an editor's long transaction would)."""
    with psycopg.connect(pg_url) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute("SELECT 1 FROM households WHERE id = %s FOR UPDATE", [household])
        yield
        conn.rollback()


def _in_thread(action: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(action())
        except Exception as exc:  # the test inspects it
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_a_refused_connection_is_a_clear_error() -> None:
    with pytest.raises(StorageError, match=r"cannot connect to PostgreSQL at .*127\.0\.0\.1:1"):
        gridguard.open("postgresql://postgres:secret@127.0.0.1:1/test?connect_timeout=3")


def test_the_password_never_shows_in_an_error() -> None:
    with pytest.raises(StorageError) as info:
        gridguard.open("postgresql://postgres:secret@127.0.0.1:1/test?connect_timeout=3")
    assert "secret" not in str(info.value)
    assert "postgres:***@" in str(info.value)


def test_a_connection_dropped_mid_batch_rolls_the_batch_back(
    pg_url: str, pg_schema_url: SchemaUrl, pg_admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    url = with_params(pg_schema_url(), application_name="gg_dropped")
    with gridguard.open(url) as ws:
        ws.add(sample_records())
        schema = ws.storage.schema  # type: ignore[attr-defined]
        with _household_locked(pg_url, schema, "h3"):
            thread, outcome = _in_thread(lambda: ws.record(_batch(), batch_size=100))
            wait_until(
                lambda: blocked_pid(pg_admin, "gg_dropped") is not None,
                "the writer never reached the locked household",
            )
            pg_admin.execute(
                "SELECT pg_terminate_backend(%s)", [blocked_pid(pg_admin, "gg_dropped")]
            )
            thread.join(30)
        (error,) = outcome
        assert isinstance(error, StorageError)
        assert "lost the connection" in str(error)
        assert "nothing of it was stored" in str(error)
        assert ws.count(Visit) == 0
        assert ws.record(_batch(), batch_size=100) == SaveResult(written=500, unchanged=0)
        assert ws.record(_batch(), batch_size=100) == SaveResult(written=0, unchanged=500)
        assert ws.count(Visit) == 500


def test_a_statement_timeout_mid_batch_rolls_the_batch_back(
    pg_url: str, pg_schema_url: SchemaUrl
) -> None:
    url = pg_schema_url(statement_timeout="300ms")
    with gridguard.open(url) as ws:
        ws.add(sample_records())
        schema = ws.storage.schema  # type: ignore[attr-defined]
        with _household_locked(pg_url, schema, "h3"), pytest.raises(StorageError) as info:
            ws.record(_batch(), batch_size=100)
        assert "cancelled the statement" in str(info.value)
        assert "nothing of this call was stored" in str(info.value)
        assert ws.count(Visit) == 0
        assert ws.record(_batch(), batch_size=100).written == 500
        assert ws.count(Visit) == 500


def test_a_failed_call_leaves_the_transaction_usable(pg_store: PostgresStorage) -> None:
    """A refused batch is undone on its own (a savepoint); what came before it stays."""
    gridguard.Workspace(pg_store).add(sample_records())
    good, bad = _batch()[:2], Visit(household_id="ghost", outcome="screened")
    with pg_store.transaction() as uow:
        uow.save_facts(Visit, good)
        with pytest.raises(ValidationError, match=r"\$\[0\]\.household_id: unknown household"):
            uow.save_facts(Visit, [bad])
        assert uow.count(Visit) == 2
    with pg_store.transaction(write=False) as uow:
        assert uow.count(Visit) == 2


def test_a_read_only_server_is_a_named_fault_with_nothing_stored(pg_schema_url: SchemaUrl) -> None:
    """A server (or user) that may only read: ``StoreReadOnly``, in both languages."""
    from gridguard.errors import StoreReadOnly

    url = pg_schema_url()
    PostgresStorage.open(url).close()  # the schema, made while writes are allowed
    read_only = with_params(url, options="--default_transaction_read_only=on")
    with gridguard.open(read_only) as ws, pytest.raises(StoreReadOnly) as caught:
        ws.add(sample_records())
    assert "may only read" in caught.value.text("en")
    assert "只读" in caught.value.text("zh-CN")
    with gridguard.open(url) as ws:
        assert ws.count(gridguard.Area) == 0


def test_raw_sql_that_fails_is_a_storage_error_not_a_psycopg_one(pg_store: PostgresStorage) -> None:
    refused = pytest.raises(StorageError, match="PostgreSQL refused running SQL")
    with refused as caught, pg_store.transaction() as uow:
        uow.connection.execute("SELECT no_such_column FROM gridguard_meta")
    assert isinstance(caught.value.__cause__, psycopg.Error)
