"""The dispatcher: retries with backoff, dead letters, timeouts, misbehaving notifiers, claims."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import gridguard
from gridguard.notifications import enqueue
from gridguard.notifications.dispatcher import Dispatcher, RetryPolicy
from gridguard.notifications.outbox import history, outbox_status
from gridguard.notifications.settings import DeliverySettings
from gridguard.notify import DeliveryOutcome, Message, PermanentFailure
from gridguard.testing import sample_records

START = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=2)


class Clock:
    """Time that the test moves forward (kept in the past: facts may not be in the future)."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


class Collecting:
    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.lock = threading.Lock()

    def send(self, message: Message) -> None:
        with self.lock:
            self.sent.append(message)


class Slow(Collecting):
    """Takes a moment per message, so that both dispatchers have work to do."""

    def send(self, message: Message) -> None:
        time.sleep(0.002)
        super().send(message)


class Flaky:
    """Fails ``failures`` times, then delivers."""

    def __init__(self, failures: int, error: BaseException | None = None) -> None:
        self.failures = failures
        self.error = error or ConnectionError("receiver busy")
        self.calls = 0
        self.delivered: list[Message] = []

    def send(self, message: Message) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        self.delivered.append(message)


@pytest.fixture(params=["memory", "sqlite"])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[gridguard.Workspace]:
    target = "memory://" if request.param == "memory" else tmp_path / "d.db"
    with gridguard.open(target) as workspace:
        workspace.add(sample_records())
        yield workspace


def _enqueue(
    ws: gridguard.Workspace, count: int, channel: str = "c", **fields: Any
) -> list[Message]:
    messages = [
        Message(
            recipient=f"r{n}",
            subject=f"s{n}",
            body="b",
            channel=channel,
            area_id="c1",
            at=START - dt.timedelta(minutes=1),
            **fields,
        )
        for n in range(count)
    ]
    with ws.transaction() as uow:
        enqueue(uow, messages)
    return messages


def _status(ws: gridguard.Workspace, now: dt.datetime) -> dict[str, dict[str, int]]:
    with ws.transaction(write=False) as uow:
        return outbox_status(uow, now, dialect=ws.storage.dialect)


def _settings(**fields: Any) -> DeliverySettings:
    values: dict[str, Any] = {"base_delay": 60.0, "jitter": 0.5, "timeout": 5.0, "workers": 2}
    values.update(fields)
    return DeliverySettings(**values)


def test_delivers_everything_due_once(ws: gridguard.Workspace) -> None:
    messages = _enqueue(ws, 25)
    sink = Collecting()
    clock = Clock()
    report = Dispatcher(ws, {"c": sink}, settings=_settings(batch=7), clock=clock).dispatch()
    assert report.sent == 25
    assert sorted(m.id for m in sink.sent) == sorted(m.id for m in messages)
    assert _status(ws, clock.now) == {"c": {"sent": 25}}
    again = Dispatcher(ws, {"c": sink}, settings=_settings(), clock=clock).dispatch()
    assert again.claimed == 0
    assert len(sink.sent) == 25


def test_retries_with_growing_backoff_then_delivers(ws: gridguard.Workspace) -> None:
    (message,) = _enqueue(ws, 1)
    flaky = Flaky(failures=3)
    clock = Clock()
    dispatcher = Dispatcher(
        ws, {"c": flaky}, settings=_settings(), clock=clock, rng=random.Random(7)
    )
    waits = []
    for _ in range(3):
        report = dispatcher.dispatch()
        assert report.retried == 1
        with ws.transaction(write=False) as uow:
            last = history(uow, message.id)[-1]
        assert last.outcome is DeliveryOutcome.FAILED
        assert last.error == "ConnectionError: receiver busy"
        assert last.due_at is not None
        waits.append((last.due_at - clock.now).total_seconds())
        assert dispatcher.dispatch().claimed == 0  # not due yet
        clock.now = last.due_at
    assert dispatcher.dispatch().sent == 1
    assert flaky.delivered == [message]
    # 60 s, 120 s, 240 s, each with up to half taken off by jitter.
    for attempt, wait in enumerate(waits, start=1):
        full = 60.0 * 2 ** (attempt - 1)
        assert full * 0.5 <= wait <= full
    with ws.transaction(write=False) as uow:
        log = history(uow, message.id)
    assert [(a.attempt, a.outcome.value) for a in log] == [
        (1, "claimed"),
        (1, "failed"),
        (2, "claimed"),
        (2, "failed"),
        (3, "claimed"),
        (3, "failed"),
        (4, "claimed"),
        (4, "sent"),
    ]


def test_dead_letter_after_max_attempts(ws: gridguard.Workspace) -> None:
    (message,) = _enqueue(ws, 1)
    flaky = Flaky(failures=100)
    clock = Clock()
    dispatcher = Dispatcher(ws, {"c": flaky}, settings=_settings(max_attempts=3), clock=clock)
    for _ in range(3):
        dispatcher.dispatch()
        clock.advance(hours=2)
    assert flaky.calls == 3
    assert _status(ws, clock.now) == {"c": {"dead": 1}}
    assert dispatcher.dispatch().claimed == 0
    with ws.transaction(write=False) as uow:
        assert history(uow, message.id)[-1].outcome is DeliveryOutcome.DEAD


def test_a_permanent_failure_is_dead_at_once(ws: gridguard.Workspace) -> None:
    _enqueue(ws, 2)
    notifier = Flaky(failures=1, error=PermanentFailure("HTTP 400: no such robot"))
    clock = Clock()
    report = Dispatcher(ws, {"c": notifier}, settings=_settings(workers=1), clock=clock).dispatch()
    assert (report.sent, report.dead) == (1, 1)
    assert report.errors == ["c: PermanentFailure: HTTP 400: no such robot"]
    assert _status(ws, clock.now) == {"c": {"dead": 1, "sent": 1}}


def test_a_receiver_hint_stretches_the_wait(ws: gridguard.Workspace) -> None:
    from gridguard.notify import RetryableFailure

    (message,) = _enqueue(ws, 1)
    notifier = Flaky(failures=1, error=RetryableFailure("HTTP 429", retry_after=900))
    clock = Clock()
    Dispatcher(ws, {"c": notifier}, settings=_settings(), clock=clock).dispatch()
    with ws.transaction(write=False) as uow:
        due = history(uow, message.id)[-1].due_at
    assert due == clock.now + dt.timedelta(seconds=900)


class Hanging:
    def __init__(self) -> None:
        self.release = threading.Event()

    def send(self, message: Message) -> None:
        self.release.wait(60)


class Garbage:
    def send(self, message: Message) -> Any:
        return {"status": "maybe"}


class Exiting:
    def send(self, message: Message) -> None:
        raise SystemExit(3)


def test_misbehaving_notifiers_never_hold_up_other_channels(ws: gridguard.Workspace) -> None:
    good = _enqueue(ws, 10, channel="good")
    _enqueue(ws, 3, channel="hang")
    _enqueue(ws, 2, channel="garbage")
    _enqueue(ws, 2, channel="exit")
    sink, hanging = Collecting(), Hanging()
    clock = Clock()
    channels = {"good": sink, "hang": hanging, "garbage": Garbage(), "exit": Exiting()}
    try:
        report = Dispatcher(
            ws, channels, settings=_settings(timeout=0.3, workers=2), clock=clock
        ).dispatch()
    finally:
        hanging.release.set()
    assert sorted(m.id for m in sink.sent) == sorted(m.id for m in good)
    assert report.sent == 10
    assert report.retried == 7
    assert report.timed_out >= 2  # two workers hung, the third send found the lane jammed
    assert _status(ws, clock.now) == {
        "exit": {"pending": 2},
        "garbage": {"pending": 2},
        "good": {"sent": 10},
        "hang": {"pending": 3},
    }
    errors = " | ".join(report.errors)
    assert "SendTimeout: no answer within 0.3 s" in errors
    assert "notifier returned {'status': 'maybe'} instead of None" in errors
    assert "SystemExit: 3" in errors


def test_messages_of_other_channels_wait_unless_there_is_a_fallback(
    ws: gridguard.Workspace,
) -> None:
    _enqueue(ws, 2, channel="wecom")
    _enqueue(ws, 1, channel="c")
    sink, fallback = Collecting(), Collecting()
    clock = Clock()
    report = Dispatcher(ws, {"c": sink}, settings=_settings(), clock=clock).dispatch()
    assert report.sent == 1
    assert _status(ws, clock.now)["wecom"] == {"pending": 2}
    report = Dispatcher(ws, {"c": sink}, fallback=fallback, clock=clock).dispatch()
    assert report.sent == 2
    assert [m.channel for m in fallback.sent] == ["wecom", "wecom"]


def test_drain_waits_for_retries_until_done(tmp_path: Path) -> None:
    with gridguard.open(tmp_path / "drain.db") as ws:
        ws.add(sample_records())
        _enqueue(ws, 3)
        flaky = Flaky(failures=2)
        settings = _settings(base_delay=0.05, max_delay=0.1, workers=1)
        report = Dispatcher(ws, {"c": flaky}, settings=settings).dispatch(
            drain=True, max_seconds=30
        )
        assert (report.sent, report.retried, report.dead) == (3, 2, 0)


def test_two_dispatchers_never_claim_the_same_message(tmp_path: Path) -> None:
    """Claims are exclusive: two dispatchers on one store deliver each message once."""
    path = tmp_path / "two.db"
    with gridguard.open(path) as ws:
        ws.add(sample_records())
        messages = _enqueue(ws, 120)
    sink = Slow()
    reports = []

    def run() -> None:
        with gridguard.open(path) as mine:
            settings = _settings(batch=10, workers=2, timeout=30.0)
            reports.append(Dispatcher(mine, {"c": sink}, settings=settings).dispatch())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(r.sent for r in reports) == 120
    assert all(r.sent > 0 for r in reports), [r.sent for r in reports]
    assert sorted(m.id for m in sink.sent) == sorted(m.id for m in messages)


@given(
    attempt=st.integers(1, 30),
    base=st.floats(0.0, 600.0),
    factor=st.floats(1.0, 4.0),
    cap=st.floats(0.0, 7200.0),
    jitter=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32),
)
def test_backoff_stays_within_its_bounds(
    attempt: int, base: float, factor: float, cap: float, jitter: float, seed: int
) -> None:
    policy = RetryPolicy(
        max_attempts=50, base_delay=base, factor=factor, max_delay=cap, jitter=jitter
    )
    full = min(cap, base * factor ** (attempt - 1))
    delay = policy.delay(attempt, random.Random(seed))
    assert full * (1 - jitter) - 1e-9 <= delay <= full + 1e-9
    assert delay <= cap + 1e-9


def test_the_default_lease_covers_a_whole_batch() -> None:
    with gridguard.open("memory://") as ws:
        dispatcher = Dispatcher(ws, {}, settings=DeliverySettings(batch=100, workers=10, timeout=2))
        assert dispatcher.lease >= 2 * 100 / 10
