"""Every workflow's messages reach a WeCom-style and a DingTalk-style robot on loopback.

One configuration stored with the workspace (two robot channels, contacts
for the roles the place tree does not record) and four workflows that queue
messages: screening, quarantine health reports, missed check-ins and
services. After a dispatch every message is sent, each robot received each
of its messages once, and nothing is undeliverable. Then a configuration
without the community secretary: the escalation for her reaches no one, is
counted as undeliverable, and ``gridguard notify dispatch`` exits non-zero.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from click.testing import CliRunner

import gridguard
from gridguard.cli import main
from gridguard.model import Building, HealthReport, Screening
from gridguard.model.messages import OutboxMessage
from gridguard.notifications import Notifications
from gridguard.notifications.config import configure
from gridguard.notifications.outbox import history
from gridguard.notifications.settings import UNDELIVERABLE
from gridguard.quarantine import order_quarantine, record_reports
from gridguard.screening import screen
from gridguard.services import request_service
from gridguard.testing import HttpReceiver, sample_records
from gridguard.watch.missed import WatchSettings, escalate

SECRET = "SEC-loopback-secret"
ZONE = dt.timezone(dt.timedelta(hours=8))
DOCTOR = "13700137000"
"""The doctor of community c1, whom urgent alerts @-mention."""
ROLES = ("grid_worker", "community_doctor", "community_secretary", "team_leader")


def _local(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2020, 1, day, hour, tzinfo=ZONE)


@pytest.fixture
def robots() -> Iterator[tuple[HttpReceiver, HttpReceiver]]:
    with HttpReceiver() as wecom, HttpReceiver() as dingtalk:
        yield wecom, dingtalk


def _settings(wecom: HttpReceiver, dingtalk: HttpReceiver, roles: tuple[str, ...]) -> Any:
    return {
        "campaign": "cmp",
        "channels": {
            "wecom": {"type": "wecom", "url": wecom.url + "/cgi-bin/webhook/send?key=k1"},
            "dingtalk": {
                "type": "dingtalk",
                "url": dingtalk.url + "/robot/send?access_token=t1",
                "secret": SECRET,
            },
        },
        "contacts": [
            {"role": role, "area_id": community, "name": "值班员"}
            for role in roles
            for community in ("c1", "c2")
            if role != "community_doctor"
        ]
        + [{"role": "community_doctor", "area_id": "c1", "name": "刘医生", "phone": DOCTOR}],
        "delivery": {"base_delay": 0.05, "max_delay": 0.1, "timeout": 5},
    }


def _workflows(ws: gridguard.Workspace) -> None:
    b1 = ws.get(Building, "b1")
    ws.update(attrs.evolve(b1, observer_id="p2"), expected_version=ws.version(Building, "b1"))
    # Screening: a fever (urgent, at once) and a cough (in the run's digest).
    ws.record([
        Screening(person_id="p1", at=_local(27, 9), temperature=38.5),
        Screening(person_id="p3", at=_local(27, 9), symptoms=["咳嗽"]),
    ])  # fmt: skip
    assert screen(ws, campaign_id="cmp", day=dt.date(2020, 1, 27)).notifications > 0
    # Quarantine: an order by hand, then a fever in a health report.
    order_quarantine(ws, person_id="p1", last_exposure=dt.date(2020, 1, 27), ordered_by="刘医生",
                     reason="密切接触", at=_local(28, 9), campaign_id="cmp")  # fmt: skip
    fever = HealthReport(person_id="p1", at=_local(29, 8), temperature=38.2)
    assert record_reports(ws, [fever], campaign_id="cmp").notified > 0
    # Missed check-ins: building b1's observer did not report on the 29th.
    report = escalate(ws, dt.date(2020, 1, 29), now=_local(29, 23),
                      settings=WatchSettings(campaign="cmp"))  # fmt: skip
    assert report.enqueued > 0
    # Services: the household under quarantine asks for groceries.
    request_service(ws, household_id="h1", service="groceries", note="大米",
                    at=_local(29, 10), campaign_id="cmp")  # fmt: skip


def test_every_message_of_every_workflow_reaches_its_robot(
    tmp_path: Path, robots: tuple[HttpReceiver, HttpReceiver]
) -> None:
    wecom, dingtalk = robots
    db = tmp_path / "robots.db"
    with gridguard.open(db) as ws:
        ws.add(sample_records())
        configure(ws, _settings(wecom, dingtalk, ROLES))
        _workflows(ws)
        service = Notifications(ws)
        service.dispatch(drain=True, max_seconds=30)
        with ws.transaction(write=False) as uow:
            messages = list(uow.find(OutboxMessage))
            sent = {
                m.id for m in messages if any(a.outcome.value == "sent" for a in history(uow, m.id))
            }
        stuck = service.undeliverable()
    topics = {m.topic for m in messages}
    assert {"screening", "quarantine_fever", "checkin_reminder", "missing_checkin",
            "missing_checkin_escalated", "service_request"} <= topics  # fmt: skip
    assert stuck == []
    assert {m.channel for m in messages} == {"wecom", "dingtalk"}
    assert sent == {m.id for m in messages}, "every message was sent"
    for receiver, channel in ((wecom, "wecom"), (dingtalk, "dingtalk")):
        ids = {str(m.id) for m in messages if m.channel == channel}
        assert receiver.unique_keys() == ids, channel
    # The fever found by screening went at once to the doctor on file for the person's
    # place, by name: each robot @-mentions her mobile, read when it was sent.
    fever = [
        m
        for m in messages
        if m.topic == "screening" and m.data.get("urgent") and m.data["role"] == "community_doctor"
    ]
    assert {m.channel for m in fever} == {"wecom", "dingtalk"}
    assert all(m.data["mention_of"]["name"] == "刘医生" for m in fever)
    assert all(DOCTOR not in repr(m) for m in messages), "the outbox holds no phone"
    alerts = {str(m.id) for m in fever}
    pinged = [r.json() for r in wecom.received() if r.key in alerts]
    assert pinged
    assert all(p["text"]["mentioned_mobile_list"] == [DOCTOR] for p in pinged)
    pinged = [r.json() for r in dingtalk.received() if r.key in alerts]
    assert pinged
    assert all(p["at"]["atMobiles"] == [DOCTOR] for p in pinged)
    assert all("timestamp=" in r.path and "sign=" in r.path for r in dingtalk.received())
    assert all(r.path == "/cgi-bin/webhook/send?key=k1" for r in wecom.received())
    result = CliRunner().invoke(main, ["notify", "dispatch", "--db", str(db)])
    assert result.exit_code == 0, result.output


def test_a_route_that_reaches_no_one_is_undeliverable_and_dispatch_fails(
    tmp_path: Path, robots: tuple[HttpReceiver, HttpReceiver]
) -> None:
    wecom, dingtalk = robots
    db = tmp_path / "nobody.db"
    without_secretary = tuple(r for r in ROLES if r != "community_secretary")
    with gridguard.open(db) as ws:
        ws.add(sample_records())
        configure(ws, _settings(wecom, dingtalk, without_secretary))
        _workflows(ws)
        stuck = Notifications(ws).undeliverable()
    assert stuck
    assert {u.message.topic for u in stuck} == {"missing_checkin_escalated"}
    assert {u.message.channel for u in stuck} == {UNDELIVERABLE}
    result = CliRunner().invoke(main, ["notify", "dispatch", "--db", str(db)])
    assert result.exit_code == 1, result.output
    assert f"无法投递 {len(stuck)}" in result.output
    status = CliRunner().invoke(main, ["notify", "status", "--db", str(db)])
    assert "no community_secretary on file" in status.output
    assert len(wecom.unique_keys()) > 0, "what could be delivered was"
