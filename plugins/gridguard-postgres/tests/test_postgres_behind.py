"""Writes left running on the server while the caller goes on (``send_new_rows``).

Whatever happens to such a write, the caller hears of it at its next use of
the transaction or at the commit, with the same clear error a waiting call
would have raised, and nothing of the write is stored.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from gridguard_postgres import PostgresStorage
from pg_helpers import SchemaUrl, blocked_pid, wait_until, with_params

import gridguard
from gridguard import StorageError, ValidationError
from gridguard.model.assessments import Task, TaskKind
from gridguard.storage.schema import spec_for
from gridguard.testing import sample_records

AT = dt.datetime(2020, 1, 28, 8, 0, tzinfo=dt.UTC)


def _tasks(count: int, *, household: str = "h1", person: str | None = None) -> list[Task]:
    return [
        Task(
            id=f"call-{household}-{n}",
            household_id=household,
            person_id=person,
            kind=TaskKind.PHONE_CALL,
            due=AT,
            note=f"第{n}次回访",
            rule_id="r1",
            rule_set_id="builtin",
            rule_set_version="1",
        )
        for n in range(count)
    ]


def _rows(tasks: list[Task]) -> list[tuple[object, ...]]:
    return [spec_for(Task).encode(t) for t in tasks]


@pytest.fixture
def ws(pg_store: PostgresStorage) -> gridguard.Workspace:
    workspace = gridguard.Workspace(pg_store)
    workspace.add(sample_records())
    return workspace


def test_sent_rows_are_stored_once_by_the_commit(ws: gridguard.Workspace) -> None:
    with ws.transaction() as uow:
        assert uow.send_new_rows(Task, _rows(_tasks(2_500))) == 2_500  # type: ignore[attr-defined]
    assert ws.count(Task) == 2_500
    with ws.transaction() as uow:  # again, and one new: only that one is stored
        sent = uow.send_new_rows(Task, _rows(_tasks(2_501)))  # type: ignore[attr-defined]
        assert sent == 2_501
    assert ws.count(Task) == 2_501
    stored = ws.get(Task, "call-h1-7")
    assert stored is not None
    assert stored.note == "第7次回访"
    assert stored.due == AT


def test_the_next_use_of_the_transaction_sees_the_sent_rows(ws: gridguard.Workspace) -> None:
    with ws.transaction() as uow:
        uow.send_new_rows(Task, _rows(_tasks(300)))  # type: ignore[attr-defined]
        assert uow.count(Task) == 300
        assert uow.existing_ids(Task, {"call-h1-0", "call-h1-299", "nope"}) == {
            "call-h1-0",
            "call-h1-299",
        }


def test_an_unknown_parent_is_reported_by_the_next_use(ws: gridguard.Workspace) -> None:
    with ws.transaction() as uow:
        uow.send_new_rows(Task, _rows(_tasks(3)))  # type: ignore[attr-defined]
        uow.send_new_rows(Task, _rows(_tasks(2, household="ghost")))  # type: ignore[attr-defined]
        with pytest.raises(ValidationError, match=r"\$\[0\]\.household_id: unknown household"):
            uow.count(Task)
        assert uow.count(Task) == 3  # the failed write is undone on its own
    assert ws.count(Task) == 3


def test_an_unknown_reference_no_key_enforces_is_reported(ws: gridguard.Workspace) -> None:
    with ws.transaction() as uow:
        uow.send_new_rows(Task, _rows(_tasks(2, person="ghost")))  # type: ignore[attr-defined]
        with pytest.raises(ValidationError, match=r"\$\[0\]\.person_id: unknown person"):
            uow.count(Task)
    assert ws.count(Task) == 0


def test_an_error_left_behind_is_raised_by_the_commit(ws: gridguard.Workspace) -> None:
    with (
        pytest.raises(ValidationError, match=r"household_id: unknown household"),
        ws.transaction() as uow,
    ):
        uow.send_new_rows(Task, _rows(_tasks(3)))  # type: ignore[attr-defined]
        uow.send_new_rows(Task, _rows(_tasks(2, household="ghost")))  # type: ignore[attr-defined]
    assert ws.count(Task) == 0  # the whole transaction was rolled back


def test_a_write_after_a_failed_one_does_not_start(ws: gridguard.Workspace) -> None:
    with ws.transaction() as uow:
        uow.send_new_rows(Task, _rows(_tasks(2, household="ghost")))  # type: ignore[attr-defined]
        uow.send_new_rows(Task, _rows(_tasks(4)))  # type: ignore[attr-defined]
        with pytest.raises(ValidationError):
            uow.count(Task)
        assert uow.count(Task) == 0
    assert ws.count(Task) == 0


@contextmanager
def _tasks_locked(pg_url: str, schema: str) -> Iterator[None]:
    """Another session holds a lock on the tasks table that every insert must wait for."""
    with psycopg.connect(pg_url) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute("LOCK TABLE tasks IN SHARE MODE")
        yield
        conn.rollback()


def test_a_connection_dropped_under_a_write_left_behind_loses_the_transaction_whole(
    pg_url: str, pg_schema_url: SchemaUrl, pg_admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    url = with_params(pg_schema_url(), application_name="gg_behind_dropped")
    with gridguard.open(url) as ws:
        ws.add(sample_records())
        schema = ws.storage.schema  # type: ignore[attr-defined]
        outcome: list[BaseException | None] = []

        def write() -> None:
            try:
                with ws.transaction() as uow:
                    uow.send_new_rows(Task, _rows(_tasks(500)))  # type: ignore[attr-defined]
                outcome.append(None)
            except BaseException as exc:  # the test inspects it
                outcome.append(exc)

        with _tasks_locked(pg_url, schema):
            thread = threading.Thread(target=write)
            thread.start()
            wait_until(
                lambda: blocked_pid(pg_admin, "gg_behind_dropped") is not None,
                "the write never reached the lock",
            )
            pg_admin.execute(
                "SELECT pg_terminate_backend(%s)", [blocked_pid(pg_admin, "gg_behind_dropped")]
            )
            thread.join(30)
        (error,) = outcome
        assert isinstance(error, StorageError)
        assert "lost the connection" in str(error)
        assert "loading tasks" in str(error)
        assert ws.count(Task) == 0
        with ws.transaction() as uow:  # the retry stores it once
            uow.send_new_rows(Task, _rows(_tasks(500)))  # type: ignore[attr-defined]
        assert ws.count(Task) == 500


def test_a_statement_timeout_under_a_write_left_behind_is_a_clear_error(
    pg_url: str, pg_schema_url: SchemaUrl
) -> None:
    with gridguard.open(pg_schema_url(statement_timeout="300ms")) as ws:
        ws.add(sample_records())
        schema = ws.storage.schema  # type: ignore[attr-defined]
        with (
            _tasks_locked(pg_url, schema),
            pytest.raises(StorageError) as info,
            ws.transaction() as uow,
        ):
            uow.send_new_rows(Task, _rows(_tasks(500)))  # type: ignore[attr-defined]
        assert "cancelled the statement while loading tasks" in str(info.value)
        assert ws.count(Task) == 0
        with ws.transaction() as uow:
            uow.send_new_rows(Task, _rows(_tasks(500)))  # type: ignore[attr-defined]
        assert ws.count(Task) == 500


def test_checked_writes_after_a_send_still_have_their_foreign_keys(
    ws: gridguard.Workspace,
) -> None:
    from gridguard import Visit

    with ws.transaction() as uow:
        uow.send_new_rows(Task, _rows(_tasks(3)))  # type: ignore[attr-defined]
        with pytest.raises(ValidationError, match=r"household_id: unknown household"):
            uow.save_facts(Visit, [Visit(household_id="ghost", outcome="screened", at=AT)])
        replica = uow.connection.execute("SHOW session_replication_role").fetchone()  # type: ignore[attr-defined]
        assert replica == ("origin",)
    assert ws.count(Task) == 3


def test_a_failing_transaction_cancels_its_write_left_behind(
    pg_url: str, pg_schema_url: SchemaUrl
) -> None:
    """The rollback does not wait for a write that can only be undone (here: blocked)."""
    with gridguard.open(pg_schema_url()) as ws:
        ws.add(sample_records())
        schema = ws.storage.schema  # type: ignore[attr-defined]
        with psycopg.connect(pg_url) as holder:
            holder.execute(f'SET search_path = "{schema}"')
            holder.execute("LOCK TABLE tasks IN SHARE MODE")
            released = threading.Event()

            def release_later() -> None:  # only if the rollback waited: then the test fails
                if not stop.wait(20):
                    released.set()
                    holder.rollback()  # frees the lock, and the blocked write with it

            stop = threading.Event()
            timer = threading.Thread(target=release_later)
            timer.start()
            with pytest.raises(RuntimeError, match="the caller gave up"), ws.transaction() as uow:
                uow.send_new_rows(Task, _rows(_tasks(500)))  # type: ignore[attr-defined]
                raise RuntimeError("the caller gave up")
            assert not released.is_set(), "the rollback waited for the blocked write"
            stop.set()
            timer.join()
            holder.rollback()
        assert ws.count(Task) == 0
