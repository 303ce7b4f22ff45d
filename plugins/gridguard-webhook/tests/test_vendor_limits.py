"""The robots against loopback receivers that keep their vendors' limits, through the dispatcher.

Time is a test clock shared by the dispatcher, the notifiers (signatures)
and the receivers (rate windows, timestamp freshness): fifty simulated
minutes run in seconds, and no test asserts on the wall clock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from gridguard_webhook import DingTalkNotifier, FeishuNotifier, WeComNotifier
from robot_receivers import DingTalkRobot, FeishuRobot, VendorRobot, WeComRobot

import gridguard
from gridguard.model.messages import OutboxMessage
from gridguard.notifications import enqueue
from gridguard.notifications.dispatcher import Dispatcher
from gridguard.notifications.outbox import history, outbox_status
from gridguard.notifications.settings import DeliverySettings
from gridguard.notify import DeliveryOutcome, Message, RateLimited
from gridguard.notify.limits import TRUNCATED
from gridguard.testing import HttpReceiver, sample_records

START = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=2)
SECRET = "SECd1f2e3-test-secret"


class Clock:
    """Time the test moves (kept in the past: facts may not be in the future)."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now

    def seconds(self) -> float:
        return self.now.timestamp()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["memory", "sqlite"])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[gridguard.Workspace]:
    target = "memory://" if request.param == "memory" else tmp_path / "d.db"
    with gridguard.open(target) as workspace:
        workspace.add(sample_records())
        yield workspace


def _serve(robot: VendorRobot) -> HttpReceiver:
    return HttpReceiver(respond=robot).start()


def _message(channel: str, n: int = 0, **fields: Any) -> Message:
    values: dict[str, Any] = {
        "recipient": "grid_worker@g1",
        "subject": f"未报平安 #{n}",
        "body": f"牡丹阁{n}栋 今天还没有报平安",
        "channel": channel,
        "area_id": "c1",
        "topic": "missing_checkin",
        "at": START - dt.timedelta(minutes=1),
    }
    values.update(fields)
    return Message(**values)


def _enqueue(ws: gridguard.Workspace, messages: list[Message]) -> None:
    with ws.transaction() as uow:
        enqueue(uow, messages)


def _run(dispatcher: Dispatcher, clock: Clock, until: dt.datetime | None = None) -> int:
    """Dispatch, moving the clock to each next send, until nothing is left; returns rounds."""
    rounds = 0
    while True:
        dispatcher.dispatch()
        rounds += 1
        when = dispatcher.next_send()
        if when is None or (until is not None and when > until):
            return rounds
        clock.now = max(clock.now, when)
        assert rounds < 10_000, "the dispatcher is not getting anywhere"


def _settings(**fields: Any) -> DeliverySettings:
    values: dict[str, Any] = {"workers": 4, "timeout": 10.0, "max_attempts": 3}
    values.update(fields)
    return DeliverySettings(**values)


# -- pacing: a burst to one robot, and an urgent message behind it ---------------------------


def _wecom(receiver: HttpReceiver, **settings: Any) -> WeComNotifier:
    return WeComNotifier({"url": receiver.url + "/cgi-bin/webhook/send?key=robot-key", **settings})


def _dingtalk(receiver: HttpReceiver, clock: Clock, **settings: Any) -> DingTalkNotifier:
    url = receiver.url + "/robot/send?access_token=robot-token"
    return DingTalkNotifier({"url": url, "secret": SECRET, **settings}, clock=clock.seconds)


ROBOTS: dict[str, tuple[Callable[[Clock], VendorRobot], Callable[..., Any]]] = {
    "wecom": (lambda c: WeComRobot(c.seconds), lambda r, c: _wecom(r)),
    "dingtalk": (lambda c: DingTalkRobot(c.seconds, secret=SECRET), _dingtalk),
}


@pytest.mark.parametrize("vendor", sorted(ROBOTS))
def test_a_burst_of_1000_is_paced_and_an_urgent_message_goes_within_the_next_minute(
    ws: gridguard.Workspace, clock: Clock, vendor: str
) -> None:
    make_robot, make_notifier = ROBOTS[vendor]
    robot = make_robot(clock)
    with _serve(robot) as receiver:
        burst = [_message("robot", n) for n in range(1000)]
        _enqueue(ws, burst)
        dispatcher = Dispatcher(
            ws, {"robot": make_notifier(receiver, clock)}, settings=_settings(), clock=clock
        )
        dispatcher.dispatch()  # the first minute's share goes at once
        clock.now += dt.timedelta(seconds=5)
        queued_at = clock.now
        fever = _message(
            "robot", 9999, topic="fever", subject="发热报告", data={"urgent": True}, at=queued_at
        )
        _enqueue(ws, [fever])
        _run(dispatcher, clock)

        sent_at = {str(r.json().get("text", {}).get("content", "")): t for t, r in robot.accepted}
    assert robot.refused == [], robot.refused_codes()[:5]
    assert len(robot.accepted) == 1001
    assert {r.key for _, r in robot.accepted} == {str(m.id) for m in [*burst, fever]}
    minutes = sorted((t - START.timestamp()) / 60 for t, _ in robot.accepted)
    assert minutes[999] <= 50  # a thousand messages in fifty minutes: 20 a minute
    assert minutes[-1] <= 51  # and the one urgent message took one of the slots
    fever_at = next(t for text, t in sent_at.items() if text.startswith("发热报告"))
    assert fever_at - queued_at.timestamp() <= 60
    # Each message was sent on its first attempt: pacing, not retrying.
    with ws.transaction(write=False) as uow:
        assert outbox_status(uow, clock.now, dialect=ws.storage.dialect) == {
            "robot": {"sent": 1001}
        }
        assert [a.outcome for a in history(uow, burst[-1].id)] == [
            DeliveryOutcome.CLAIMED,
            DeliveryOutcome.SENT,
        ]


def test_feishu_is_paced_per_second_too(ws: gridguard.Workspace, clock: Clock) -> None:
    robot = FeishuRobot(clock.seconds, secret=SECRET)
    with _serve(robot) as receiver:
        url = receiver.url + "/open-apis/bot/v2/hook/bot-token"
        notifier = FeishuNotifier({"url": url, "secret": SECRET}, clock=clock.seconds)
        _enqueue(ws, [_message("bot", n) for n in range(230)])
        dispatcher = Dispatcher(ws, {"bot": notifier}, settings=_settings(), clock=clock)
        _run(dispatcher, clock)
    assert robot.refused == []
    assert len(robot.accepted) == 230
    times = [t for t, _ in robot.accepted]
    assert max(times.count(t) for t in times) <= 5
    assert max(times) - START.timestamp() <= 3 * 61


def test_other_robots_are_not_held_up_by_a_busy_one(ws: gridguard.Workspace, clock: Clock) -> None:
    busy, quiet = WeComRobot(clock.seconds), WeComRobot(clock.seconds)
    with _serve(busy) as busy_receiver, _serve(quiet) as quiet_receiver:
        _enqueue(ws, [_message("busy", n) for n in range(100)])
        _enqueue(ws, [_message("quiet", n) for n in range(5)])
        channels = {"busy": _wecom(busy_receiver), "quiet": _wecom(quiet_receiver)}
        Dispatcher(ws, channels, settings=_settings(), clock=clock).dispatch()
    assert len(quiet.accepted) == 5
    assert len(busy.accepted) == 20
    assert busy.refused == []


def test_two_channels_posting_to_one_robot_share_its_budget(
    ws: gridguard.Workspace, clock: Clock
) -> None:
    robot = WeComRobot(clock.seconds)
    with _serve(robot) as receiver:
        _enqueue(ws, [_message("a", n) for n in range(30)] + [_message("b", n) for n in range(30)])
        channels = {"a": _wecom(receiver), "b": _wecom(receiver, msgtype="markdown")}
        dispatcher = Dispatcher(ws, channels, settings=_settings(), clock=clock)
        dispatcher.dispatch()
        assert len(robot.accepted) == 20
        _run(dispatcher, clock)
    assert robot.refused == []
    assert len(robot.accepted) == 60


# -- a rate-limit reply pauses the robot and is not a failed attempt --------------------------


def test_a_rate_limit_reply_pauses_the_robot_without_counting_an_attempt(
    ws: gridguard.Workspace, clock: Clock
) -> None:
    robot = WeComRobot(clock.seconds)
    other = WeComRobot(clock.seconds)
    with _serve(robot) as receiver, _serve(other) as other_receiver:
        notifier = _wecom(receiver)
        for n in range(20):  # someone else used the robot's whole minute
            notifier.send(_message("elsewhere", n))
        messages = [_message("robot", n) for n in range(3)]
        _enqueue(ws, [*messages, _message("other", 0)])
        dispatcher = Dispatcher(
            ws,
            {"robot": notifier, "other": _wecom(other_receiver)},
            settings=_settings(max_attempts=1),  # one failed attempt would dead-letter
            clock=clock,
        )
        report = dispatcher.dispatch()
        assert report.rate_limited == 3
        assert report.dead == 0
        assert len(other.accepted) == 1  # another robot went on
        refused = len(robot.refused)
        assert robot.refused_codes() == [45009] * refused
        paused = dispatcher.next_send()
        assert paused is not None
        assert paused >= clock.now + dt.timedelta(seconds=60)
        dispatcher.dispatch()  # still paused: nothing is sent, nothing refused
        assert len(robot.refused) == refused
        _run(dispatcher, clock)
    assert {r.key for _, r in robot.accepted[20:]} == {str(m.id) for m in messages}
    with ws.transaction(write=False) as uow:
        log = history(uow, messages[0].id)
        status = outbox_status(uow, clock.now, dialect=ws.storage.dialect)
    assert [a.outcome for a in log] == [
        DeliveryOutcome.CLAIMED,
        DeliveryOutcome.FAILED,
        DeliveryOutcome.CLAIMED,
        DeliveryOutcome.SENT,
    ]
    assert log[1].error.startswith("rate limited: RateLimited: WeCom error 45009")
    assert status == {"other": {"sent": 1}, "robot": {"sent": 3}}


def test_dingtalk_holds_a_robot_back_for_ten_minutes_and_so_does_the_dispatcher(
    ws: gridguard.Workspace, clock: Clock
) -> None:
    robot = DingTalkRobot(clock.seconds, secret=SECRET)
    with _serve(robot) as receiver:
        notifier = _dingtalk(receiver, clock)
        for n in range(21):  # one too many: the robot is held back
            with contextlib.suppress(RateLimited):
                notifier.send(_message("elsewhere", n))
        _enqueue(ws, [_message("robot", 1)])
        dispatcher = Dispatcher(ws, {"robot": notifier}, settings=_settings(), clock=clock)
        assert dispatcher.dispatch().rate_limited == 1
        paused = dispatcher.next_send()
        assert paused is not None
        assert paused >= clock.now + dt.timedelta(minutes=10)
        _run(dispatcher, clock)
    assert robot.refused_codes() == [130101, 130101]
    assert len(robot.accepted) == 21


# -- size: numbered parts that each fit, and join to the whole --------------------------------


def _digest(size: int) -> str:
    lines = []
    n = 0
    while sum(len(line.encode()) + 1 for line in lines) < size:
        n += 1
        lines.append(f"{n:04d} 华苑社区 牡丹阁{n % 40}栋{n % 6}单元 居民 张* 体温 37.{n % 10}°C ✓")
    return "\n".join(lines)


def test_a_30kb_digest_arrives_at_wecom_as_numbered_parts_that_join_to_the_whole(
    ws: gridguard.Workspace, clock: Clock
) -> None:
    robot = WeComRobot(clock.seconds)
    body = _digest(30 * 1024)
    assert len(body.encode()) >= 30 * 1024
    digest = _message("wecom", subject="华苑社区 2020-01-26 日报", body=body, topic="digest")
    with _serve(robot) as receiver:
        _enqueue(ws, [digest])
        dispatcher = Dispatcher(
            ws, {"wecom": _wecom(receiver, msgtype="markdown")}, settings=_settings(), clock=clock
        )
        report = dispatcher.dispatch()
    assert robot.refused == []
    contents = [r.json()["markdown"]["content"] for _, r in robot.accepted]
    parts = len(contents)
    assert report.sent == 1
    assert report.parts == parts >= 8
    assert all(len(c.encode()) <= 4096 for c in contents)
    heads, bodies = zip(*(c.split("\n", 1) for c in contents), strict=True)
    assert list(heads) == [
        f"**华苑社区 2020-01-26 日报 ({k}/{parts})**" for k in range(1, parts + 1)
    ]
    assert "\n".join(bodies) == body
    assert len({r.key for _, r in robot.accepted}) == parts  # each part its own key


def test_a_line_too_long_for_any_part_is_shortened_and_kept_whole_in_the_outbox(
    ws: gridguard.Workspace, clock: Clock
) -> None:
    robot = WeComRobot(clock.seconds)
    long_line = "重点人员名单：" + "、".join(f"张{n}" for n in range(2000))
    message = _message("wecom", body=f"第一行\n{long_line}\n最后一行")
    with _serve(robot) as receiver:
        _enqueue(ws, [message])
        Dispatcher(ws, {"wecom": _wecom(receiver)}, settings=_settings(), clock=clock).dispatch()
    contents = [r.json()["text"]["content"] for _, r in robot.accepted]
    assert robot.refused == []
    assert all(len(c.encode()) <= 2048 for c in contents)
    shortened = [c for c in contents if TRUNCATED in c]
    assert len(shortened) == 1
    kept = shortened[0].split("\n", 1)[1]
    assert kept.endswith(TRUNCATED)
    assert long_line.startswith(kept.removesuffix(TRUNCATED))  # cut between characters
    assert contents[-1].endswith("最后一行")
    with ws.transaction(write=False) as uow:
        stored = uow.get(OutboxMessage, message.id)
    assert stored is not None
    assert long_line in stored.body


def test_feishu_parts_keep_under_20kb_of_body(ws: gridguard.Workspace, clock: Clock) -> None:
    robot = FeishuRobot(clock.seconds, secret=SECRET)
    body = _digest(50 * 1024).replace("✓", '"✓"\\')  # JSON escapes make the body larger
    with _serve(robot) as receiver:
        url = receiver.url + "/open-apis/bot/v2/hook/bot-token"
        notifier = FeishuNotifier({"url": url, "secret": SECRET}, clock=clock.seconds)
        _enqueue(ws, [_message("bot", body=body)])
        _run(Dispatcher(ws, {"bot": notifier}, settings=_settings(), clock=clock), clock)
    assert robot.refused == []
    texts = [r.json()["content"]["text"].split("\n", 1)[1] for _, r in robot.accepted]
    assert len(texts) >= 3
    assert "\n".join(texts) == body


# -- permanent vendor errors: dead on the first attempt, with the vendor's code ---------------

PERMANENT: dict[str, tuple[Callable[[Clock], VendorRobot], Callable[..., Any], int]] = {
    "wecom-invalid-key": (
        lambda c: WeComRobot(c.seconds, key="another-key"),
        lambda r, c: _wecom(r),
        93000,
    ),
    "dingtalk-keyword-mismatch": (
        lambda c: DingTalkRobot(c.seconds, secret=SECRET, keyword="疫情防控"),
        _dingtalk,
        310000,
    ),
    "dingtalk-unknown-token": (
        lambda c: DingTalkRobot(c.seconds, token="removed", secret=SECRET),
        _dingtalk,
        300001,
    ),
    "dingtalk-stale-timestamp": (
        lambda c: DingTalkRobot(lambda: c.seconds() + 2 * 3600, secret=SECRET),
        _dingtalk,
        310000,
    ),
    "feishu-wrong-secret": (
        lambda c: FeishuRobot(c.seconds, secret="another-secret"),
        lambda r, c: FeishuNotifier(
            {"url": r.url + "/open-apis/bot/v2/hook/bot-token", "secret": SECRET},
            clock=c.seconds,
        ),
        19021,
    ),
    "feishu-removed-bot": (
        lambda c: FeishuRobot(c.seconds, token="another-token"),
        lambda r, c: FeishuNotifier({"url": r.url + "/open-apis/bot/v2/hook/bot-token"}),
        19001,
    ),
}


@pytest.mark.parametrize("case", sorted(PERMANENT))
def test_permanent_vendor_errors_dead_letter_on_the_first_attempt(
    ws: gridguard.Workspace, clock: Clock, case: str
) -> None:
    make_robot, make_notifier, code = PERMANENT[case]
    robot = make_robot(clock)
    with _serve(robot) as receiver:
        message = _message("robot")
        _enqueue(ws, [message])
        dispatcher = Dispatcher(
            ws,
            {"robot": make_notifier(receiver, clock)},
            settings=_settings(max_attempts=8),
            clock=clock,
        )
        report = dispatcher.dispatch()
        assert dispatcher.next_send() is None
    assert report.dead == 1
    assert report.retried == 0
    assert robot.refused_codes() == [code]
    with ws.transaction(write=False) as uow:
        log = history(uow, message.id)
    assert [(a.attempt, a.outcome) for a in log] == [
        (1, DeliveryOutcome.CLAIMED),
        (1, DeliveryOutcome.DEAD),
    ]
    assert f"error {code}: " in log[-1].error


def test_notify_status_shows_dead_letters_with_the_vendors_code(
    tmp_path: Path, clock: Clock
) -> None:
    from gridguard.cli import main

    robot = WeComRobot(clock.seconds, key="another-key")
    with _serve(robot) as receiver:
        config = tmp_path / "notify.toml"
        url = receiver.url + "/cgi-bin/webhook/send?key=robot-key"
        config.write_text(f'[channels.wecom]\ntype = "wecom"\nurl = "{url}"\n', "utf-8")
        db = tmp_path / "w.db"
        with gridguard.open(db) as ws:
            ws.add(sample_records())
            _enqueue(ws, [_message("wecom", n, id=uuid.uuid4()) for n in range(2)])
        runner = CliRunner()
        args = ["--db", str(db), "--config", str(config)]
        dispatched = runner.invoke(main, ["notify", "dispatch", *args])
        assert dispatched.exit_code == 0, dispatched.output
        status = runner.invoke(main, ["notify", "status", *args])
        as_json = runner.invoke(main, ["notify", "status", *args, "--json"])
    assert status.exit_code == 0, status.output
    lines = status.output.splitlines()
    assert lines[0] == "wecom: 投递失败 2"
    assert lines[1].startswith(
        "  投递失败 2: PermanentFailure: WeCom error 93000: invalid webhook url"
    )
    assert "robot-key" not in status.output
    assert as_json.exit_code == 0, as_json.output
    assert "WeCom error 93000: invalid webhook url" in as_json.output


# -- security settings and @-mentions ---------------------------------------------------------


def test_the_dingtalk_keyword_option_puts_the_keyword_in_every_message(
    ws: gridguard.Workspace, clock: Clock
) -> None:
    robot = DingTalkRobot(clock.seconds, secret=SECRET, keyword="疫情防控")
    with _serve(robot) as receiver:
        _enqueue(ws, [_message("robot", n) for n in range(3)])
        notifier = _dingtalk(receiver, clock, keyword="疫情防控", msgtype="markdown")
        report = Dispatcher(ws, {"robot": notifier}, settings=_settings(), clock=clock).dispatch()
    assert report.sent == 3
    assert robot.refused == []
    assert all("疫情防控" in r.json()["markdown"]["text"] for _, r in robot.accepted)


def test_mentions_in_each_vendors_way(clock: Clock) -> None:
    data = {"mention": "+86 138-0013-8000", "urgent": True}
    wecom, dingtalk = WeComRobot(clock.seconds), DingTalkRobot(clock.seconds, secret=SECRET)
    feishu = FeishuRobot(clock.seconds, secret=SECRET)
    with _serve(wecom) as w, _serve(dingtalk) as d, _serve(feishu) as f:
        _wecom(w).send(_message("w", data=data))
        _dingtalk(d, clock).send(_message("d", data=data))
        url = f.url + "/open-apis/bot/v2/hook/bot-token"
        FeishuNotifier({"url": url, "secret": SECRET}, clock=clock.seconds).send(
            _message("f", data=data, recipient="ou_7d8a6e6df7621556ce0d21922b676706ccs")
        )
    ((_, to_wecom),) = wecom.accepted
    assert to_wecom.json()["text"]["mentioned_mobile_list"] == ["13800138000"]
    ((_, to_dingtalk),) = dingtalk.accepted
    body = to_dingtalk.json()
    assert body["at"]["atMobiles"] == ["13800138000"]
    assert body["text"]["content"].endswith("@13800138000")
    ((_, to_feishu),) = feishu.accepted
    text = to_feishu.json()["content"]["text"]
    assert text.startswith('<at user_id="ou_7d8a6e6df7621556ce0d21922b676706ccs"></at> ')


def test_routed_messages_mention_the_recipient_and_files_mask_the_mobile(
    tmp_path: Path, clock: Clock
) -> None:
    from gridguard.notifications import Event, Notifications, NotifySettings

    robot = WeComRobot(clock.seconds)
    with _serve(robot) as receiver, gridguard.open(tmp_path / "w.db") as ws:
        ws.add(sample_records())
        settings = NotifySettings.from_dict(
            {
                "channels": {
                    "wecom": {
                        "type": "wecom",
                        "url": receiver.url + "/cgi-bin/webhook/send?key=robot-key",
                    },
                    "file": {"type": "jsonl", "path": str(tmp_path / "sent.jsonl")},
                },
                "routes": [{"topic": "fever", "roles": ["community_doctor"], "urgent": True}],
                "contacts": [
                    {
                        "role": "community_doctor",
                        "area_id": "c1",
                        "name": "林晓红",
                        "phone": "+8613800138000",
                    }
                ],
            }
        )
        service = Notifications(ws, settings)
        service.notify([Event(topic="fever", key="r1", at=START, area_id="c1")])
        report = service.dispatcher(clock=clock).dispatch()
        stored = ws.find(OutboxMessage)
    assert report.sent == 2
    ((_, request),) = robot.accepted
    assert request.json()["text"]["mentioned_mobile_list"] == ["13800138000"]
    # The outbox holds where the number is on file, never the number.
    assert [m.data["mention_of"] for m in stored] == [
        {"contact": "community_doctor", "at": "c1", "name": "林晓红"}
    ] * 2
    assert not any("13800138000" in repr(m) for m in stored)
    written = (tmp_path / "sent.jsonl").read_text("utf-8")
    assert "13800138000" not in written
    assert '"mention": "138****8000"' in written
