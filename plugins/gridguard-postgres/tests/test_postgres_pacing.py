"""Paced robots on PostgreSQL: urgent first, rate-limit replies not counted, dead letters listed.

The SQL that finds urgent messages (``data ->> 'urgent'``) and counts rate-limited
attempts is written per dialect; this runs it on a real server.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from pg_helpers import SchemaUrl

import gridguard
from gridguard.notifications import enqueue
from gridguard.notifications.dispatcher import Dispatcher
from gridguard.notifications.outbox import dead_letters, history
from gridguard.notifications.settings import DeliverySettings
from gridguard.notify import ChannelLimits, DeliveryOutcome, Message, RateLimited
from gridguard.testing import sample_records

START = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=2)


class Robot:
    """Takes 3 requests a minute; answers "too fast" ``refuse`` times, refuses the word 'bad'."""

    limits = ChannelLimits(per_minute=3, max_bytes=2048, margin=0.0)

    def __init__(self, clock: list[dt.datetime]) -> None:
        self.clock = clock
        self.sent: list[tuple[dt.datetime, str]] = []
        self.refuse = 0
        self.lock = threading.Lock()

    def size(self, message: Message) -> int:
        return len(f"{message.subject}\n{message.body}".encode())

    def send(self, message: Message) -> None:
        from gridguard.notify import PermanentFailure

        with self.lock:
            if self.refuse:
                self.refuse -= 1
                raise RateLimited("robot error 45009: api freq out of limit")
            if message.body == "bad":
                raise PermanentFailure("robot error 93000: invalid webhook url")
            self.sent.append((self.clock[0], message.body))


def _message(body: str, at_: dt.datetime | None = None, **fields: Any) -> Message:
    return Message(
        recipient="grid_worker@g1",
        subject="s",
        body=body,
        channel="robot",
        area_id="c1",
        at=at_ or START - dt.timedelta(minutes=1),
        **fields,
    )


def test_urgent_first_and_rate_limits_not_counted_on_postgresql(
    pg_schema_url: SchemaUrl,
) -> None:
    now = [START]
    robot = Robot(now)
    with gridguard.open(pg_schema_url()) as ws:
        ws.add(sample_records())
        with ws.transaction() as uow:
            backlog = [_message(f"n{k}") for k in range(5)]
            bad = _message("bad")
            enqueue(uow, [*backlog, bad])
        settings = DeliverySettings(workers=1, max_attempts=1, timeout=10.0)
        dispatcher = Dispatcher(ws, {"robot": robot}, settings=settings, clock=lambda: now[0])
        robot.refuse = 3
        report = dispatcher.dispatch()
        assert report.rate_limited == 3
        assert report.dead == 0
        now[0] += dt.timedelta(seconds=10)
        with ws.transaction() as uow:
            enqueue(uow, [_message("urgent", data={"urgent": True})])
        for _ in range(20):
            dispatcher.dispatch()
            when = dispatcher.next_send()
            if when is None:
                break
            now[0] = max(now[0], when)
        with ws.transaction(write=False) as uow:
            dead = dead_letters(uow, dialect=ws.storage.dialect)
            logs = [history(uow, m.id) for m in [*backlog, bad]]
    bodies = [body for _, body in robot.sent]
    assert bodies[0] == "urgent"  # first once the robot's pause ended
    assert sorted(bodies) == sorted([f"n{k}" for k in range(5)] + ["urgent"])
    assert dead == {"robot": {"PermanentFailure: robot error 93000: invalid webhook url": 1}}
    # Three were refused for rate (not counted, though max_attempts is 1), then went on.
    refused = [log for log in logs if any(a.error.startswith("rate limited: ") for a in log)]
    assert len(refused) == 3
    assert all(log[-1].outcome is DeliveryOutcome.SENT for log in logs[:-1])
    assert logs[-1][-1].outcome is DeliveryOutcome.DEAD


def test_the_daily_reports_urgent_wait_on_postgresql(pg_schema_url: SchemaUrl) -> None:
    from gridguard.report import Figures
    from gridguard.reporting.daily import daily_report

    made = dt.datetime(2020, 1, 26, 2, 0, tzinfo=dt.UTC)
    now = [made + dt.timedelta(minutes=12)]
    with gridguard.open(pg_schema_url()) as ws:
        ws.add(sample_records())
        with ws.transaction() as uow:
            enqueue(
                uow,
                [
                    _message("urgent", data={"urgent": True}, at_=made),
                    _message("later", at_=made - dt.timedelta(hours=2)),
                ],
            )
        robot = Robot(now)
        Dispatcher(ws, {"robot": robot}, clock=lambda: now[0]).dispatch()
        report = daily_report(ws, day=dt.date(2020, 1, 26))
    alerts = report.block("alerts")
    assert isinstance(alerts, Figures)
    assert alerts.value("alerts_urgent_wait") == 12.0
    assert alerts.value("alerts_urgent_waiting") == 0
