"""Channel limits: parts that fit, the robot pacer, urgent first, rate limits not counted."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gridguard
from gridguard.notifications import enqueue
from gridguard.notifications.dispatcher import Dispatcher
from gridguard.notifications.outbox import dead_letters, history
from gridguard.notifications.settings import DeliverySettings
from gridguard.notify import (
    ChannelLimits,
    DeliveryOutcome,
    Limited,
    Message,
    RateLimited,
    RobotPacer,
    split_message,
)
from gridguard.notify.limits import TRUNCATED
from gridguard.testing import sample_records

START = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=2)


def _size(message: Message) -> int:
    """A receiver that counts the subject line and the body, as WeCom does."""
    return len(f"{message.subject}\n{message.body}".encode())


def _message(body: str = "", **fields: Any) -> Message:
    values: dict[str, Any] = {
        "recipient": "grid_worker@g1",
        "subject": "日报",
        "body": body,
        "channel": "robot",
        "area_id": "c1",
        "at": START - dt.timedelta(minutes=1),
    }
    values.update(fields)
    return Message(**values)


# -- splitting ---------------------------------------------------------------------------------


def test_a_message_that_fits_is_sent_as_it_is() -> None:
    message = _message("体温 37.5°C")
    assert split_message(message, 100, _size) == [message]


_LINE = st.text(alphabet=st.sampled_from("ab 张三丰华苑社区°C✓😷"), min_size=0, max_size=60)


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(_LINE, min_size=1, max_size=80), limit=st.integers(80, 400))
def test_parts_fit_are_numbered_and_join_to_the_whole(lines: list[str], limit: int) -> None:
    message = _message("\n".join(lines))
    parts = split_message(message, limit, _size)
    assert all(_size(part) <= limit for part in parts)
    if len(parts) == 1:
        assert parts == [message]
        return
    total = len(parts)
    assert [p.subject for p in parts] == [f"日报 ({k}/{total})" for k in range(1, total + 1)]
    assert [p.data["part"] for p in parts] == list(range(1, total + 1))
    assert len({p.id for p in parts} | {message.id}) == total + 1
    assert all(p.data["message_id"] == str(message.id) for p in parts)
    if TRUNCATED not in "".join(p.body for p in parts):
        assert "\n".join(p.body for p in parts) == message.body
    sent_lines = [line for p in parts for line in p.body.split("\n")]
    assert len(sent_lines) == len(lines)
    for sent, line in zip(sent_lines, lines, strict=True):
        if sent != line:  # too long for any part: a prefix, cut between characters, and the marker
            assert sent.endswith(TRUNCATED)
            assert line.startswith(sent.removesuffix(TRUNCATED))


def test_a_line_too_long_is_shortened_on_a_character_boundary() -> None:
    line = "张" * 500  # 1,500 bytes, three to a character
    parts = split_message(_message(f"前\n{line}\n后"), 200, _size)
    cut = next(p.body for p in parts if TRUNCATED in p.body)
    assert cut.removesuffix(TRUNCATED) == "张" * len(cut.removesuffix(TRUNCATED))
    assert len(cut.encode()) <= 200


def test_a_subject_that_fills_a_part_alone_cannot_be_split() -> None:
    with pytest.raises(ValueError, match="subject alone"):
        split_message(_message("x\n" * 100, subject="长" * 60), 190, _size)


def test_limits_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="per_minute"):
        ChannelLimits(per_minute=0)
    assert ChannelLimits(per_minute=20, burst=5).most_at_once == 5
    assert not ChannelLimits(max_bytes=100).paced


# -- the pacer ---------------------------------------------------------------------------------


def test_the_pacer_allows_per_minute_in_any_window_and_a_burst_per_second() -> None:
    pacer = RobotPacer(ChannelLimits(per_minute=20, burst=5, margin=0.0))
    t0 = START
    assert pacer.room(t0) == 5
    pacer.take(t0, 5)
    assert pacer.room(t0) == 0
    assert pacer.next_room(t0) == t0 + dt.timedelta(seconds=1)
    for s in (1, 2, 3):
        pacer.take(t0 + dt.timedelta(seconds=s), 5)
    later = t0 + dt.timedelta(seconds=30)
    assert pacer.room(later) == 0  # twenty in the minute
    assert pacer.next_room(later) == t0 + dt.timedelta(seconds=60)
    # Room for 7 once the five sent at t0 and two of those at t0 + 1 s have aged out.
    assert pacer.next_room(later, 7) == t0 + dt.timedelta(seconds=61)
    assert pacer.room(t0 + dt.timedelta(seconds=60)) == 5


def test_a_pause_holds_the_robot_until_it_ends() -> None:
    pacer = RobotPacer(ChannelLimits(per_minute=20))
    until = pacer.pause(START, 600)
    assert until == START + dt.timedelta(minutes=10)
    assert pacer.room(START + dt.timedelta(minutes=9)) == 0
    assert pacer.next_room(START) == until
    assert pacer.room(until) == 20
    assert pacer.pause(START) == until  # a shorter pause does not shorten a longer one


# -- through the dispatcher --------------------------------------------------------------------


class Robot:
    """A notifier with limits that records what it sent; ``refuse`` answers "too fast"."""

    def __init__(self, per_minute: int = 5, max_bytes: int | None = None) -> None:
        self._limits = ChannelLimits(per_minute=per_minute, max_bytes=max_bytes, margin=0.0)
        self.sent: list[tuple[dt.datetime, Message]] = []
        self.refuse = 0
        self.clock: Clock | None = None
        self.lock = threading.Lock()

    @property
    def limits(self) -> ChannelLimits:
        return self._limits

    def size(self, message: Message) -> int:
        return _size(message)

    def send(self, message: Message) -> None:
        with self.lock:
            if self.refuse:
                self.refuse -= 1
                raise RateLimited("robot error 45009: api freq out of limit")
            assert self.clock is not None
            self.sent.append((self.clock.now, message))


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture(params=["memory", "sqlite"])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[gridguard.Workspace]:
    target = "memory://" if request.param == "memory" else tmp_path / "d.db"
    with gridguard.open(target) as workspace:
        workspace.add(sample_records())
        yield workspace


def _enqueue(ws: gridguard.Workspace, messages: list[Message]) -> None:
    with ws.transaction() as uow:
        enqueue(uow, messages)


def _drain(dispatcher: Dispatcher, clock: Clock) -> None:
    for _ in range(1000):
        dispatcher.dispatch()
        when = dispatcher.next_send()
        if when is None:
            return
        clock.now = max(clock.now, when)
    raise AssertionError("the dispatcher is not getting anywhere")


def _dispatcher(ws: gridguard.Workspace, robot: Robot, clock: Clock, **fields: Any) -> Dispatcher:
    robot.clock = clock
    values: dict[str, Any] = {"workers": 2, "timeout": 10.0, "max_attempts": 2}
    values.update(fields)
    return Dispatcher(ws, {"robot": robot}, settings=DeliverySettings(**values), clock=clock)


def test_a_robot_is_a_limited_notifier() -> None:
    assert isinstance(Robot(), Limited)


def test_urgent_messages_go_first_within_the_robots_budget(
    ws: gridguard.Workspace,
) -> None:
    clock, robot = Clock(), Robot(per_minute=5)
    backlog = [_message(f"提醒 {n}", topic="checkin_reminder") for n in range(12)]
    _enqueue(ws, backlog)
    dispatcher = _dispatcher(ws, robot, clock)
    dispatcher.dispatch()
    assert len(robot.sent) == 5
    clock.now += dt.timedelta(seconds=10)
    fevers = [_message(f"发热 {n}", topic="fever", data={"urgent": True}) for n in range(2)]
    _enqueue(ws, fevers)
    _drain(dispatcher, clock)
    order = [m.body for _, m in robot.sent]
    assert order[5:7] == ["发热 0", "发热 1"] or order[5:7] == ["发热 1", "发热 0"]
    assert robot.sent[5][0] == START + dt.timedelta(seconds=60)
    assert sorted(order) == sorted(m.body for m in [*backlog, *fevers])
    per_minute: dict[int, int] = {}
    for at, _ in robot.sent:
        minute = int((at - START).total_seconds() // 60)
        per_minute[minute] = per_minute.get(minute, 0) + 1
    assert max(per_minute.values()) <= 5


def test_a_long_message_takes_as_many_requests_as_parts(ws: gridguard.Workspace) -> None:
    clock, robot = Clock(), Robot(per_minute=5, max_bytes=120)
    body = "\n".join(f"第{n}行 居民 张* 体温 37.{n}°C" for n in range(10))
    long, short = _message(body), _message("短消息", at=START)
    _enqueue(ws, [long, short])
    dispatcher = _dispatcher(ws, robot, clock)
    report = dispatcher.dispatch()
    parts = [m for _, m in robot.sent if m.data.get("message_id") == str(long.id)]
    assert len(parts) == report.parts >= 3
    assert "\n".join(p.body for p in parts) == body
    assert all(_size(p) <= 120 for p in parts)
    _drain(dispatcher, clock)
    assert [m.body for _, m in robot.sent][-1] == "短消息"
    assert len(robot.sent) == len(parts) + 1


def test_a_long_message_waits_until_the_robot_has_room_for_all_its_parts(
    ws: gridguard.Workspace,
) -> None:
    clock, robot = Clock(), Robot(per_minute=5, max_bytes=120)
    short = [_message(f"短 {n}", at=START - dt.timedelta(minutes=2)) for n in range(4)]
    long = _message("\n".join(f"第{n}行 居民 张* 体温 37.{n}°C" for n in range(10)))
    _enqueue(ws, [*short, long])
    dispatcher = _dispatcher(ws, robot, clock)
    dispatcher.dispatch()
    assert len(robot.sent) == 4  # room for one more request, not for three parts
    assert dispatcher.next_send() == START + dt.timedelta(seconds=60)
    _drain(dispatcher, clock)
    parts = robot.sent[4:]
    assert [m.data["part"] for _, m in parts] == list(range(1, len(parts) + 1))
    assert len(parts) == parts[0][1].data["parts"] >= 3
    assert {at for at, _ in parts} == {START + dt.timedelta(seconds=60)}


def test_a_message_with_more_parts_than_the_robot_ever_takes_is_dead_with_the_reason(
    ws: gridguard.Workspace,
) -> None:
    clock, robot = Clock(), Robot(per_minute=2, max_bytes=100)
    message = _message("\n".join("一行字" * 5 for _ in range(30)))
    _enqueue(ws, [message])
    report = _dispatcher(ws, robot, clock).dispatch()
    assert report.dead == 1
    assert robot.sent == []
    with ws.transaction(write=False) as uow:
        (entry,) = history(uow, message.id)
        dead = dead_letters(uow, dialect=ws.storage.dialect)
    assert entry.outcome is DeliveryOutcome.DEAD
    assert "too long for channel 'robot'" in entry.error
    assert "shorten the message" in entry.error
    assert dead == {"robot": {entry.error: 1}}


def test_rate_limit_replies_do_not_count_towards_the_dead_letter(
    ws: gridguard.Workspace,
) -> None:
    clock, robot = Clock(), Robot(per_minute=5)
    robot.refuse = 3  # three "too fast" replies in a row
    message = _message("体温 38.5°C")
    _enqueue(ws, [message])
    dispatcher = _dispatcher(ws, robot, clock, max_attempts=1)
    _drain(dispatcher, clock)
    assert [m.id for _, m in robot.sent] == [message.id]
    with ws.transaction(write=False) as uow:
        log = history(uow, message.id)
    outcomes = [a.outcome for a in log]
    assert outcomes.count(DeliveryOutcome.FAILED) == 3
    assert outcomes[-1] is DeliveryOutcome.SENT
    waits = [a.due_at - a.at for a in log if a.outcome is DeliveryOutcome.FAILED and a.due_at]
    assert waits == [dt.timedelta(seconds=60)] * 3  # paused for a whole window each time


def test_other_failures_still_count(ws: gridguard.Workspace) -> None:
    class Broken(Robot):
        def send(self, message: Message) -> None:
            raise ConnectionError("reset")

    clock, robot = Clock(), Broken()
    message = _message("x")
    _enqueue(ws, [message])
    _drain(_dispatcher(ws, robot, clock, max_attempts=2, base_delay=1.0), clock)
    with ws.transaction(write=False) as uow:
        log = history(uow, message.id)
    assert [a.outcome for a in log][-1] is DeliveryOutcome.DEAD
    assert max(a.attempt for a in log) == 2


# -- the daily report: how long urgent messages waited -----------------------------------------


def test_the_daily_report_shows_the_longest_wait_of_an_urgent_message(tmp_path: Path) -> None:
    from gridguard.report import Figures
    from gridguard.reporting.daily import daily_report

    made = dt.datetime(2020, 1, 26, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
    clock = Clock()
    clock.now = made + dt.timedelta(minutes=7)
    with gridguard.open(tmp_path / "r.db") as ws:
        ws.add(sample_records())
        _enqueue(
            ws,
            [
                _message("发热", topic="fever", data={"urgent": True}, at=made),
                _message("提醒", topic="checkin_reminder", at=made - dt.timedelta(hours=1)),
                _message("发热", topic="fever", data={"urgent": True}, at=made, channel="nowhere"),
            ],
        )
        robot = Robot(per_minute=20)
        assert _dispatcher(ws, robot, clock).dispatch().sent == 2
        report = daily_report(ws, day=dt.date(2020, 1, 26))
    alerts = report.block("alerts")
    assert isinstance(alerts, Figures)
    assert alerts.value("alerts_urgent_wait") == 7.0  # not the reminder's 67 minutes
    assert alerts.value("alerts_urgent_waiting") == 1  # the one no channel delivered


# -- @-mentions: the outbox keeps where the number is on file, not the number ------------------


def test_mentions_are_read_from_where_the_number_is_on_file_when_sent() -> None:
    import attrs

    from gridguard.model import Building, MemberRole, Person, Team, TeamMember
    from gridguard.model.messages import OutboxMessage
    from gridguard.notifications import Event, NotifySettings, Router

    settings = NotifySettings.from_dict(
        {
            "channels": {"robot": {"type": "console"}},
            "routes": [{"topic": "anomaly", "roles": ["building_observer", "grid_worker"]}],
        }
    )
    router = Router(settings)
    worker = TeamMember(name="赵网格", role=MemberRole.GRID_WORKER, phone="13700137000")
    with gridguard.open("memory://") as ws:
        ws.add(sample_records())
        team = ws.get(Team, "t1")
        ws.add(
            [
                attrs.evolve(ws.get(Building, "b1"), observer_id="p2"),
                attrs.evolve(team, members=(*team.members, worker)),
            ]
        )
        with ws.transaction() as uow:
            router.notify(uow, [Event(topic="anomaly", key="k1", at=START, building_id="b1")])
        stored = {m.data["role"]: m for m in ws.find(OutboxMessage)}
        assert stored["building_observer"].data["mention_of"] == {"person": "p2"}
        assert stored["grid_worker"].data["mention_of"] == {"team": "t1", "name": "赵网格"}
        assert not any(
            "13923456789" in repr(m) or "13700137000" in repr(m) for m in stored.values()
        )
        # A number corrected after the message was queued is the one mentioned.
        ws.add([attrs.evolve(ws.get(Person, "p2"), phone="+8613911112222")])
        clock, robot = Clock(), Robot(per_minute=20)
        robot.clock = clock
        clock.now = START + dt.timedelta(minutes=1)
        Dispatcher(
            ws,
            {"robot": robot},
            settings=DeliverySettings(workers=1),
            clock=clock,
            mentions=router.mention,
        ).dispatch()
    mentioned = {m.data["role"]: m.mention for _, m in robot.sent}
    assert mentioned == {"building_observer": "+8613911112222", "grid_worker": "+8613700137000"}


def test_a_new_dispatcher_counts_what_the_run_before_it_sent(ws: gridguard.Workspace) -> None:
    """A run from cron each minute must not send a robot's whole minute again."""
    clock, robot = Clock(), Robot(per_minute=5)
    _enqueue(ws, [_message(f"消息 {n}") for n in range(8)])
    _dispatcher(ws, robot, clock).dispatch()
    assert len(robot.sent) == 5
    clock.now += dt.timedelta(seconds=20)
    later = _dispatcher(ws, robot, clock)  # the next run: a new dispatcher
    assert later.dispatch().sent == 0
    assert later.next_send() == START + dt.timedelta(seconds=60)
    clock.now = START + dt.timedelta(seconds=60)
    assert _dispatcher(ws, robot, clock).dispatch().sent == 3
