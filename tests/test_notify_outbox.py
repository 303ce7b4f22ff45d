"""The outbox: enqueue in the caller's transaction, idempotent by id, state from the attempt log."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gridguard
from gridguard import HealthReport, ValidationError
from gridguard.model.messages import attempt_id
from gridguard.notifications import enqueue
from gridguard.notifications.outbox import (
    MessageState,
    due_messages,
    history,
    next_due,
    outbox_status,
    record_attempts,
    state_of,
)
from gridguard.notify import DeliveryAttempt, DeliveryOutcome, Message, OutboxMessage
from gridguard.storage.dialect import SQLiteDialect
from gridguard.storage.schema import encode_timestamp
from gridguard.testing import SAMPLE_START, sample_records
from strategies import messages

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=1)


@pytest.fixture(params=["memory", "sqlite"])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[gridguard.Workspace]:
    target = "memory://" if request.param == "memory" else tmp_path / "outbox.db"
    with gridguard.open(target) as workspace:
        workspace.add(sample_records())
        yield workspace


def _message(n: int = 0, **fields: Any) -> Message:
    values: dict[str, Any] = {
        "id": uuid.UUID(int=n + 1),
        "recipient": "community_doctor@c1",
        "subject": f"发热报告 {n}",
        "body": "居民 陈* 体温 38.5°C",
        "area_id": "c1",
        "at": NOW - dt.timedelta(hours=1),
    }
    values.update(fields)
    return Message(**values)


def _state(ws: gridguard.Workspace, now: dt.datetime = NOW) -> dict[str, dict[str, int]]:
    with ws.transaction(write=False) as uow:
        return outbox_status(uow, now, dialect=ws.storage.dialect)


def _log(message_id: uuid.UUID, *entries: tuple[int, str, dt.datetime | None]) -> list[Any]:
    return [
        DeliveryAttempt(
            id=attempt_id(message_id, attempt, DeliveryOutcome(outcome)),
            at=NOW - dt.timedelta(minutes=30),
            message_id=message_id,
            attempt=attempt,
            outcome=outcome,
            due_at=due,
        )
        for attempt, outcome, due in entries
    ]


# -- enqueue -----------------------------------------------------------------------------------


def test_enqueue_stores_each_id_once(ws: gridguard.Workspace) -> None:
    first = _message(1)
    with ws.transaction() as uow:
        assert enqueue(uow, [first, first, _message(2)]) == 2
    with ws.transaction() as uow:
        assert enqueue(uow, [first, _message(2), _message(3)]) == 1
    assert ws.count(OutboxMessage) == 3


def test_the_same_id_with_other_content_keeps_the_first(ws: gridguard.Workspace) -> None:
    with ws.transaction() as uow:
        enqueue(uow, [_message(1)])
    changed = _message(1, body="另一个内容", at=NOW)
    with ws.transaction() as uow:
        assert enqueue(uow, [changed]) == 0
    assert ws.get(OutboxMessage, str(uuid.UUID(int=2))).body == "居民 陈* 体温 38.5°C"


def test_the_message_is_written_with_its_cause_or_not_at_all(ws: gridguard.Workspace) -> None:
    report = HealthReport(person_id="p1", temperature=38.6, at=SAMPLE_START)
    with pytest.raises(RuntimeError), ws.transaction() as uow:
        uow.save_facts(HealthReport, [report])
        enqueue(uow, [_message(1)])
        raise RuntimeError("the workflow failed after both writes")
    assert ws.count(HealthReport) == 0
    assert ws.count(OutboxMessage) == 0
    with ws.transaction() as uow:
        uow.save_facts(HealthReport, [report])
        enqueue(uow, [_message(1)])
    assert ws.count(HealthReport) == 1
    assert ws.count(OutboxMessage) == 1


def test_re_enqueuing_a_sent_message_does_not_reset_it(ws: gridguard.Workspace) -> None:
    message = _message(1)
    with ws.transaction() as uow:
        enqueue(uow, [message])
        uow.save_facts(DeliveryAttempt, _log(message.id, (1, "claimed", NOW), (1, "sent", None)))
    with ws.transaction() as uow:
        assert enqueue(uow, [message]) == 0
    assert _state(ws) == {"console": {"sent": 1}}
    with ws.transaction(write=False) as uow:
        assert due_messages(uow, NOW, dialect=ws.storage.dialect, limit=10) == []


def test_a_message_needs_a_place(ws: gridguard.Workspace) -> None:
    with pytest.raises(ValidationError) as caught, ws.transaction() as uow:
        enqueue(uow, [_message(1), _message(2, area_id=None)])
    assert [v.path for v in caught.value.violations] == ["$[1].area_id"]
    assert ws.count(OutboxMessage) == 0


def test_an_unknown_place_is_named_at_its_position(ws: gridguard.Workspace) -> None:
    with pytest.raises(ValidationError) as caught, ws.transaction() as uow:
        enqueue(uow, [_message(1), _message(2, area_id="nowhere")])
    (violation,) = caught.value.violations
    assert violation.path == "$[1].area_id"
    assert "unknown area" in violation.rule


def test_a_place_may_come_from_the_caller(ws: gridguard.Workspace) -> None:
    with ws.transaction() as uow:
        assert enqueue(uow, [_message(1, area_id=None)], area_id="g1") == 1
    with ws.transaction(write=False) as uow:
        assert uow.jurisdiction_of(OutboxMessage, str(uuid.UUID(int=2))) == "c1"


@settings(max_examples=30, deadline=None)
@given(batches=st.lists(st.lists(messages(area_id=st.just("c1")), max_size=4), max_size=4))
def test_enqueue_is_insert_if_absent(batches: list[list[Message]]) -> None:
    """Whatever the batches, each id is stored once, as it first came."""
    with gridguard.open("memory://") as ws:
        ws.add(sample_records())
        first: dict[uuid.UUID, Message] = {}
        for batch in batches:
            with ws.transaction() as uow:
                new = enqueue(uow, batch)
            fresh = {m.id for m in batch if m.id not in first}
            assert new == len(fresh)
            for message in batch:
                first.setdefault(message.id, message)
        stored = {m.id: m for m in ws.find(OutboxMessage)}
        assert set(stored) == set(first)
        for key, message in first.items():
            assert stored[key].body == message.body
            assert stored[key].at == message.at


# -- state from the attempt log ----------------------------------------------------------------


def test_state_follows_the_log() -> None:
    mid = uuid.UUID(int=7)
    later, earlier = NOW + dt.timedelta(minutes=5), NOW - dt.timedelta(minutes=5)
    assert state_of([], NOW) is MessageState.PENDING
    assert state_of(_log(mid, (1, "claimed", later)), NOW) is MessageState.IN_FLIGHT
    assert state_of(_log(mid, (1, "claimed", earlier)), NOW) is MessageState.PENDING
    assert state_of(_log(mid, (1, "claimed", earlier), (1, "failed", later)), NOW) is (
        MessageState.PENDING
    )
    assert state_of(_log(mid, (1, "failed", later), (2, "dead", None)), NOW) is MessageState.DEAD
    # A late result of an expired claim still counts: sent is for good.
    assert state_of(_log(mid, (1, "sent", None), (2, "claimed", later)), NOW) is (MessageState.SENT)


def test_due_messages_honour_not_before_leases_and_retries(ws: gridguard.Workspace) -> None:
    hour = dt.timedelta(hours=1)
    fresh, held = _message(1), _message(2, not_before=NOW + hour)
    leased, expired, retry_later, sent = (_message(n) for n in (3, 4, 5, 6))
    with ws.transaction() as uow:
        enqueue(uow, [fresh, held, leased, expired, retry_later, sent])
        uow.save_facts(
            DeliveryAttempt,
            _log(leased.id, (1, "claimed", NOW + hour))
            + _log(expired.id, (1, "claimed", NOW - hour), (2, "claimed", NOW - hour / 2))
            + _log(retry_later.id, (1, "claimed", NOW), (1, "failed", NOW + hour))
            + _log(sent.id, (1, "claimed", NOW), (1, "sent", None)),
        )
    with ws.transaction(write=False) as uow:
        due = due_messages(uow, NOW, dialect=ws.storage.dialect, limit=10)
        assert {d.message.id for d in due} == {fresh.id, expired.id}
        assert {d.message.id: d.attempts for d in due} == {fresh.id: 0, expired.id: 2}
        later = due_messages(uow, NOW + 2 * hour, dialect=ws.storage.dialect, limit=10)
        assert {d.message.id for d in later} == {
            fresh.id,
            held.id,
            leased.id,
            expired.id,
            retry_later.id,
        }
        assert len(due_messages(uow, NOW, dialect=ws.storage.dialect, limit=1)) == 1
        assert due_messages(uow, NOW, dialect=ws.storage.dialect, limit=10, channels=["x"]) == []
        assert next_due(uow, dialect=ws.storage.dialect) == fresh.at
        assert [a.outcome for a in history(uow, retry_later.id)] == [
            DeliveryOutcome.CLAIMED,
            DeliveryOutcome.FAILED,
        ]
    assert _state(ws) == {"console": {"in_flight": 1, "pending": 4, "sent": 1}}


_RESULTS = st.sampled_from(["failed", "sent", "dead"])


@st.composite
def _logs(draw: st.DrawFn, message_id: uuid.UUID) -> list[Any]:
    entries = []
    for attempt in range(1, draw(st.integers(0, 4)) + 1):
        for stage in draw(st.sampled_from([("claimed",), ("claimed", "result"), ("result",)])):
            outcome = "claimed" if stage == "claimed" else draw(_RESULTS)
            minutes = draw(st.integers(-120, 120))
            due = None if outcome in ("sent", "dead") else NOW + dt.timedelta(minutes=minutes)
            entries.append((attempt, outcome, due))
    return _log(message_id, *entries)


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_sql_and_python_agree_on_state_and_due(tmp_path_factory: Any, data: st.DataObject) -> None:
    """The SQLite queries and the memory backend's Python derive the same state."""
    count = data.draw(st.integers(1, 6))
    outbox = [
        _message(
            n,
            channel=data.draw(st.sampled_from(["a", "b"])),
            not_before=data.draw(
                st.none() | st.integers(-90, 90).map(lambda m: NOW + dt.timedelta(minutes=m))
            ),
        )
        for n in range(count)
    ]
    logs = [e for m in outbox for e in data.draw(_logs(m.id))]
    results = []
    for target in ("memory://", tmp_path_factory.mktemp("agree") / "a.db"):
        with gridguard.open(target) as ws:
            ws.add(sample_records())
            with ws.transaction() as uow:
                enqueue(uow, outbox)
                if logs:
                    record_attempts(uow, logs)
            with ws.transaction(write=False) as uow:
                dialect = ws.storage.dialect
                due = due_messages(uow, NOW, dialect=dialect, limit=100)
                results.append(
                    (
                        outbox_status(uow, NOW, dialect=dialect),
                        sorted((str(d.message.id), d.attempts) for d in due),
                        next_due(uow, dialect=dialect, channels=["a"]),
                    )
                )
    assert results[0] == results[1]


def _pending(ws: gridguard.Workspace) -> dict[str, tuple[Any, ...]]:
    with ws.transaction(write=False) as uow:
        rows = uow.query("SELECT message_id, due_at, attempt, stage FROM outbox_pending")
        return {str(r[0]): tuple(r[1:]) for r in rows}


def test_the_pending_set_follows_enqueue_and_the_log(tmp_path: Path) -> None:
    """SQLite lists exactly the unsettled messages, each due when its log says."""
    hour = dt.timedelta(hours=1)
    with gridguard.open(tmp_path / "p.db") as ws:
        ws.add(sample_records())
        sent, failed, claimed = _message(1), _message(2), _message(3, not_before=NOW + hour)
        with ws.transaction() as uow:
            enqueue(uow, [sent, failed, claimed])
        assert set(_pending(ws)) == {str(sent.id), str(failed.id), str(claimed.id)}
        assert _pending(ws)[str(claimed.id)][0] == encode_timestamp(NOW + hour)
        with ws.transaction() as uow:
            record_attempts(
                uow,
                _log(sent.id, (1, "claimed", NOW), (1, "sent", None))
                + _log(failed.id, (1, "claimed", NOW), (1, "failed", NOW + 2 * hour))
                + _log(claimed.id, (1, "claimed", NOW + 3 * hour)),
            )
            # an older entry recorded late (a slow dispatcher) never moves a row back
            record_attempts(uow, _log(claimed.id, (1, "claimed", NOW + 3 * hour)))
        assert _pending(ws) == {
            str(failed.id): (encode_timestamp(NOW + 2 * hour), 1, 1),
            str(claimed.id): (encode_timestamp(NOW + 3 * hour), 1, 0),
        }
        with ws.transaction() as uow:
            assert enqueue(uow, [sent, failed]) == 0  # settled or pending: left as they are
        assert str(sent.id) not in _pending(ws)
        assert _pending(ws)[str(failed.id)][1] == 1


def test_a_log_entry_written_around_the_pending_set_is_caught_up(tmp_path: Path) -> None:
    """The attempt log is the truth: a claim checks each candidate against it."""
    hour = dt.timedelta(hours=1)
    with gridguard.open(tmp_path / "p.db") as ws:
        ws.add(sample_records())
        sent, leased, fresh = _message(1), _message(2), _message(3)
        with ws.transaction() as uow:
            enqueue(uow, [sent, leased, fresh])
            uow.save_facts(  # not through record_attempts: outbox_pending does not know
                DeliveryAttempt,
                _log(sent.id, (1, "claimed", NOW), (1, "sent", None))
                + _log(leased.id, (1, "claimed", NOW + hour)),
            )
        with ws.transaction() as uow:
            due = due_messages(uow, NOW, dialect=SQLiteDialect(), limit=10)
        assert [d.message.id for d in due] == [fresh.id]
        assert set(_pending(ws)) == {str(leased.id), str(fresh.id)}
        assert _pending(ws)[str(leased.id)] == (encode_timestamp(NOW + hour), 1, 0)


def _claim_steps(ws: gridguard.Workspace) -> int:
    """SQLite virtual-machine steps one claim round takes: the work, without a clock."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    with ws.transaction() as uow:
        conn = uow.connection  # type: ignore[attr-defined]
        conn.set_progress_handler(count, 1)
        try:
            assert len(due_messages(uow, NOW, dialect=SQLiteDialect(), limit=10)) == 3
        finally:
            conn.set_progress_handler(None, 1)
    return steps


@pytest.mark.parametrize("settled", [2_000])
def test_a_claim_round_costs_the_same_whatever_the_history(tmp_path: Path, settled: int) -> None:
    """A claim reads the pending set: 2,000 settled messages cost it nothing."""
    with gridguard.open(tmp_path / "p.db") as ws:
        ws.add(sample_records())
        with ws.transaction() as uow:
            enqueue(uow, [_message(n) for n in range(3)])
        before = _claim_steps(ws)
        old = [_message(n) for n in range(10, 10 + settled)]
        with ws.transaction() as uow:
            enqueue(uow, old)
            record_attempts(
                uow, [e for m in old for e in _log(m.id, (1, "claimed", NOW), (1, "sent", None))]
            )
        after = _claim_steps(ws)
    assert after < before * 1.5 + 50, (before, after)


def test_messages_stored_before_a_bad_one_stay_deliverable(tmp_path: Path) -> None:
    """A caller that catches the error and commits what was stored still gets it delivered."""
    with gridguard.open(tmp_path / "p.db") as ws:
        ws.add(sample_records())
        good, bad = _message(1), _message(2, area_id="nowhere")
        with (
            ws.transaction() as uow,
            pytest.raises(ValidationError, match=r"\$\[1\]\.area_id"),
        ):
            enqueue(uow, [good, bad])
        with ws.transaction() as uow:
            stored = {m.id for m in uow.find(OutboxMessage)}
            due = {d.message.id for d in due_messages(uow, NOW, dialect=SQLiteDialect(), limit=10)}
        assert stored == due
        assert bad.id not in stored


@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_the_migration_fills_the_pending_set_as_the_dispatcher_keeps_it(
    tmp_path_factory: Any, data: st.DataObject
) -> None:
    """Messages enqueued before migration 6 get the pending entries they would have now."""
    from importlib import resources

    script = (
        resources.files("gridguard.storage") / "migrations" / "0006_outbox_pending.sql"
    ).read_text("utf-8")
    outbox = [
        _message(n, not_before=data.draw(st.none() | st.just(NOW + dt.timedelta(minutes=n))))
        for n in range(data.draw(st.integers(1, 5)))
    ]
    logs = [e for m in outbox for e in data.draw(_logs(m.id))]
    path = tmp_path_factory.mktemp("mig") / "m.db"
    with gridguard.open(path) as ws:
        ws.add(sample_records())
        with ws.transaction() as uow:
            enqueue(uow, outbox)
            record_attempts(uow, logs)
        kept = _pending(ws)
    conn = sqlite3.connect(path)
    try:  # back to version 5's tables, then migration 6 as it runs on an upgrade
        conn.executescript(f"DROP TABLE outbox_pending; BEGIN; {script} COMMIT;")
    finally:
        conn.close()
    with gridguard.open(path) as ws:
        assert _pending(ws) == kept
