"""PostgreSQL writes that skip a look-up: outbox insert-if-absent, ids not asked twice."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from gridguard_postgres import PostgresStorage
from gridguard_postgres._storage import PostgresUnitOfWork

import gridguard
from gridguard import ConflictError, Household, ValidationError, Visit
from gridguard.model.assessments import Task, TaskKind
from gridguard.model.messages import OutboxMessage
from gridguard.notifications.outbox import enqueue
from gridguard.notify import Message
from gridguard.testing import sample_records

AT = dt.datetime(2020, 1, 28, 8, 0, tzinfo=dt.UTC)


def _message(n: int, **fields: Any) -> Message:
    values: dict[str, Any] = {
        "id": uuid.UUID(int=n + 1),
        "recipient": "community_doctor",
        "subject": f"发热报告 {n}",
        "body": "体温 38.5°C",
        "area_id": "c1",
        "at": AT,
    }
    values.update(fields)
    return Message(**values)


def _task(household: str = "h1", note: str = "") -> Task:
    return Task(
        id="task-1",
        household_id=household,
        kind=TaskKind.PHONE_CALL,
        due=AT,
        note=note,
        rule_id="r1",
        rule_set_id="builtin",
        rule_set_version="1",
    )


class _Counting:
    """Counts ``existing_ids`` calls per class on the unit of work class."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[str] = []
        original = PostgresUnitOfWork.existing_ids

        def counted(uow: Any, cls: type[Any], ids: set[str]) -> set[str]:
            self.calls.append(cls.__name__)
            return original(uow, cls, ids)

        monkeypatch.setattr(PostgresUnitOfWork, "existing_ids", counted)


@pytest.fixture
def ws(pg_store: PostgresStorage) -> gridguard.Workspace:
    workspace = gridguard.Workspace(pg_store)
    workspace.add(sample_records())
    return workspace


def test_enqueue_stores_absent_ids_only_without_asking_first(
    ws: gridguard.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    counting = _Counting(monkeypatch)
    with ws.transaction() as uow:
        assert enqueue(uow, [_message(0), _message(1)]) == 2
    with ws.transaction() as uow:
        # Stored ids keep their row, whatever the new content or place; the
        # same id twice in one call is stored once, the first wins.
        again = [_message(0, subject="改了"), _message(1, area_id="c2"), _message(2)]
        assert enqueue(uow, [*again, _message(2, subject="second")]) == 1
    assert "OutboxMessage" not in counting.calls
    with ws.transaction(write=False) as uow:
        stored = {str(m.id): m for m in uow.find(OutboxMessage)}
        assert uow.count(OutboxMessage) == 3
        assert uow.jurisdiction_of(OutboxMessage, str(uuid.UUID(int=2))) == "c1"
    assert stored[str(uuid.UUID(int=1))].subject == "发热报告 0"
    assert stored[str(uuid.UUID(int=3))].subject == "发热报告 2"


def test_enqueue_without_waiting_stores_absent_ids_by_the_commit(ws: gridguard.Workspace) -> None:
    with ws.transaction() as uow:
        assert enqueue(uow, [_message(0), _message(1), _message(1)], wait=False) == 2
    with ws.transaction() as uow:
        # Handed over: both; stored: only the new one, the old keeps its content.
        assert enqueue(uow, [_message(1, subject="改了"), _message(2)], wait=False) == 2
        assert uow.count(OutboxMessage) == 3
    with ws.transaction(write=False) as uow:
        stored = {str(m.id): m for m in uow.find(OutboxMessage)}
        assert uow.jurisdiction_of(OutboxMessage, str(uuid.UUID(int=3))) == "c1"
    assert stored[str(uuid.UUID(int=2))].subject == "发热报告 1"


def test_enqueue_without_waiting_reports_an_unknown_place_at_the_next_use(
    ws: gridguard.Workspace,
) -> None:
    with ws.transaction() as uow:
        enqueue(uow, [_message(0)], wait=False)
        enqueue(uow, [_message(1), _message(2, area_id="nowhere")], wait=False)
        with pytest.raises(ValidationError) as caught:
            uow.count(OutboxMessage)
        assert [v.path for v in caught.value.violations] == ["$[1].area_id"]
        assert uow.count(OutboxMessage) == 1
    with ws.transaction(write=False) as uow:
        assert uow.count(OutboxMessage) == 1


def test_enqueue_with_an_unknown_place_names_it_and_stores_nothing(
    ws: gridguard.Workspace,
) -> None:
    with pytest.raises(ValidationError) as caught, ws.transaction() as uow:
        enqueue(uow, [_message(0), _message(1, area_id="nowhere")])
    assert [v.path for v in caught.value.violations] == ["$[1].area_id"]
    with ws.transaction(write=False) as uow:
        assert uow.count(OutboxMessage) == 0


def test_put_does_not_look_up_ids_the_caller_just_found_absent(
    ws: gridguard.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    counting = _Counting(monkeypatch)
    with ws.transaction() as uow:
        assert uow.existing_ids(Task, {"task-1"}) == set()
        assert uow.put(Task, [_task()]).written == 1
    assert counting.calls.count("Task") == 1
    with ws.transaction(write=False) as uow:
        assert uow.get(Task, "task-1") == _task()


def test_a_write_after_the_look_up_is_not_mistaken_for_absent(
    ws: gridguard.Workspace,
) -> None:
    """The remembered look-up ends with the next write: a moved record is still moved."""
    with ws.transaction() as uow:
        assert uow.existing_ids(Task, {"task-1"}) == set()
        uow.put(Task, [_task("h1")])  # stored in c1
        uow.put(Task, [_task("h3", note="moved")])  # h3 is in c2: the task moves
        uow.query("SELECT 1")
    with ws.transaction(write=False) as uow:
        assert uow.count(Task) == 1
        assert uow.jurisdiction_of(Task, "task-1") == "c2"
        assert uow.get(Task, "task-1") == _task("h3", note="moved")
        assert uow.get(Household, "h3") is not None


def test_facts_found_absent_are_still_stored_once_and_checked_for_conflicts(
    ws: gridguard.Workspace,
) -> None:
    visit = Visit(id=uuid.UUID(int=7), at=AT, household_id="h1", outcome="screened")
    other = Visit(id=visit.id, at=AT, household_id="h1", outcome="not_home")
    with ws.transaction() as uow:
        assert uow.existing_ids(Visit, {str(visit.id)}) == set()
        assert uow.save_facts(Visit, [visit, visit]).written == 1
        assert uow.existing_ids(Visit, {str(visit.id)}) == {str(visit.id)}
        assert uow.save_facts(Visit, [visit]).written == 0
        with pytest.raises(ConflictError):
            uow.save_facts(Visit, [other])
    with ws.transaction(write=False) as uow:
        assert list(uow.find(Visit)) == [visit]


def test_the_classification_query_gets_hash_joins_and_the_settings_come_back(
    pg_store: PostgresStorage,
) -> None:
    from gridguard_postgres import PostgresDialect

    def show(uow: Any) -> tuple[str, str]:
        nestloop = next(iter(uow.query("SELECT current_setting('enable_nestloop')")))[0]
        memory = next(iter(uow.query("SELECT current_setting('work_mem')")))[0]
        return str(nestloop), str(memory)

    with pg_store.transaction() as uow:
        list(uow.query("SET LOCAL work_mem = '4MB'"))
        with PostgresDialect().planned(uow):
            assert show(uow) == ("off", "64MB")
        assert show(uow) == ("on", "4MB")
        list(uow.query("SET LOCAL work_mem = '256MB'"))
        with PostgresDialect().planned(uow):
            assert show(uow) == ("off", "256MB"), "a server given more memory keeps it"
        assert show(uow) == ("on", "256MB")
