"""One routing configuration per workspace, and undeliverable messages counted, never pending.

``gridguard notify configure FILE`` stores the settings; screening, watch and
quarantine route with them without a ``--config`` of their own. A route
that reaches no one (no grid worker on file) or a message for a channel that
is not configured is *undeliverable*: listed by ``notify status``, counted
by ``notify dispatch`` (which exits non-zero) and in the daily report.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import attrs
from click.testing import CliRunner, Result

import gridguard
from gridguard.cli import main
from gridguard.model import Building
from gridguard.model.messages import NotifyConfiguration, OutboxMessage
from gridguard.notifications import Event, Notifications, enqueue
from gridguard.notifications.config import settings_for, stored_configuration
from gridguard.notifications.settings import UNDELIVERABLE
from gridguard.notify import Message
from gridguard.reporting import daily_report
from gridguard.screening import screen
from gridguard.testing import sample_records
from gridguard.watch.missed import WatchSettings, escalate

_FILE = """
campaign = "cmp"
[channels.file]
type = "jsonl"
path = "out.jsonl"

[channels.robot]
type = "wecom"
url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRET-KEY"

[[routes]]
topic = "screening"
roles = ["grid_worker"]
channels = ["file"]

[[routes]]
topic = "fever"
roles = ["community_doctor", "grid_worker"]
urgent = true

[[routes]]
topic = "missing_checkin_escalated"
roles = ["community_secretary"]
channels = ["file"]

[[contacts]]
role = "community_secretary"
area_id = "c1"
name = "黄书记"
"""


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), prog_name="gridguard")


def _workspace(tmp_path: Path) -> Path:
    db = tmp_path / "w.db"
    with gridguard.open(db) as ws:
        ws.add(sample_records())
    return db


def _configure(tmp_path: Path, db: Path, text: str = _FILE) -> Result:
    file = tmp_path / "conf" / "notify.toml"
    file.parent.mkdir(exist_ok=True)
    file.write_text(text, encoding="utf-8")
    return _run("notify", "configure", "--db", str(db), str(file))


def test_configure_stores_the_settings_and_config_shows_them_without_secrets(
    tmp_path: Path,
) -> None:
    db = _workspace(tmp_path)
    assert "未配置" in _run("notify", "config", "--db", str(db)).output
    result = _configure(tmp_path, db)
    assert result.exit_code == 0, result.output
    assert "file, robot" in result.output
    shown = _run("notify", "config", "--db", str(db), "--json")
    data = json.loads(shown.output)
    assert "SECRET-KEY" not in shown.output
    channels = data["settings"]["channels"]
    # A relative path is stored relative to the file, so that any later command finds it.
    assert channels["file"]["path"] == str(tmp_path / "conf" / "out.jsonl")
    text = _run("notify", "config", "--db", str(db)).output
    assert "路由 screening: grid_worker -> file" in text
    assert "SECRET-KEY" not in text
    with gridguard.open(db) as ws:
        assert set(settings_for(ws).channels) == {"file", "robot"}


def test_a_bad_configuration_is_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    db = _workspace(tmp_path)
    result = _configure(tmp_path, db, _FILE.replace('channels = ["file"]', 'channels = ["sms"]'))
    assert result.exit_code != 0
    assert "no channel 'sms'" in result.output
    with gridguard.open(db) as ws, ws.transaction(write=False) as uow:
        assert stored_configuration(uow) is None
        assert list(uow.find(NotifyConfiguration)) == []


def test_the_latest_configuration_is_in_force(tmp_path: Path) -> None:
    db = _workspace(tmp_path)
    _configure(tmp_path, db)
    assert _configure(tmp_path, db, _FILE.replace("[channels.robot]", "[channels.other]"))
    with gridguard.open(db) as ws:
        assert set(settings_for(ws).channels) == {"file", "other"}
        with ws.transaction(write=False) as uow:
            assert len(list(uow.find(NotifyConfiguration))) == 2


def test_screening_routes_with_the_stored_configuration(tmp_path: Path) -> None:
    db = _workspace(tmp_path)
    _configure(tmp_path, db)
    with gridguard.open(db) as ws:
        from gridguard.model import Screening

        ws.record([Screening(person_id="p1", at=dt.datetime(2020, 1, 27, 2, tzinfo=dt.UTC),
                             temperature=38.5)])  # fmt: skip
        result = screen(ws, campaign_id="cmp", day=dt.date(2020, 1, 27))
        with ws.transaction(write=False) as uow:
            channels = {m.channel for m in uow.find(OutboxMessage)}
    assert result.notifications > 0
    assert channels == {"file"}  # the route's channel, not "console"


def test_a_role_nobody_holds_is_undeliverable_and_dispatch_exits_non_zero(
    tmp_path: Path,
) -> None:
    db = _workspace(tmp_path)
    _configure(tmp_path, db)
    with gridguard.open(db) as ws:
        service = Notifications(ws)
        # Team t1 of grid g1 has a doctor but no grid worker: half the route reaches no one.
        event = Event(topic="fever", key="hr-9", at=dt.datetime(2020, 1, 26, 2, tzinfo=dt.UTC),
                      person_id="p1", values={"temperature": 38.6})  # fmt: skip
        service.notify([event])
        stuck = service.undeliverable()
    assert [u.message.channel for u in stuck] == [UNDELIVERABLE] * len(stuck)
    assert {u.message.data["role"] for u in stuck} == {"grid_worker"}
    assert all("no grid_worker on file" in u.reason for u in stuck if
               u.message.data["role"] == "grid_worker")  # fmt: skip
    status = _run("notify", "status", "--db", str(db))
    assert f"{UNDELIVERABLE}: 无法投递 {len(stuck)}" in status.output
    assert "no grid_worker on file" in status.output
    dispatched = _run("notify", "dispatch", "--db", str(db))
    assert dispatched.exit_code == 1, dispatched.output
    assert f"无法投递 {len(stuck)}" in dispatched.output


def test_a_message_for_a_channel_not_configured_is_undeliverable(tmp_path: Path) -> None:
    db = _workspace(tmp_path)
    _configure(tmp_path, db)
    with gridguard.open(db) as ws, ws.transaction() as uow:
        enqueue(uow, [Message(recipient="x", subject="s", body="b", channel="console",
                              area_id="c1")])  # fmt: skip
    status = _run("notify", "status", "--db", str(db), "--json")
    data = json.loads(status.output)
    assert data["console"] == {"undeliverable": 1}
    assert data["undeliverable"][0]["reason"] == "channel 'console' is not configured"
    assert _run("notify", "dispatch", "--db", str(db)).exit_code == 1


def test_dispatch_exits_zero_when_everything_can_be_delivered(tmp_path: Path) -> None:
    db = _workspace(tmp_path)
    _configure(tmp_path, db)
    with gridguard.open(db) as ws, ws.transaction() as uow:
        enqueue(uow, [Message(recipient="x", subject="s", body="b", channel="file",
                              area_id="c1")])  # fmt: skip
    result = _run("notify", "dispatch", "--db", str(db))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "conf" / "out.jsonl").is_file()


def test_an_escalation_that_reaches_nobody_is_counted_not_dropped(tmp_path: Path) -> None:
    db = _workspace(tmp_path)
    _configure(tmp_path, db, _FILE.replace('area_id = "c1"', 'area_id = "nowhere"'))
    with gridguard.open(db) as ws:
        b1 = ws.get(Building, "b1")
        ws.update(attrs.evolve(b1, observer_id="p2"), expected_version=ws.version(Building, "b1"))
        day = dt.date(2020, 1, 26)
        now = dt.datetime(2020, 1, 26, 23, tzinfo=dt.timezone(dt.timedelta(hours=8)))
        report = escalate(ws, day, now=now, settings=WatchSettings(campaign="cmp"))
        stuck = Notifications(ws).undeliverable()
        with ws.transaction(write=False) as uow:
            messages = list(uow.find(OutboxMessage))
        figures = {
            f.key: f.value
            for section in daily_report(ws, day=day, campaign="cmp").sections
            for block in section.blocks
            for f in getattr(block, "items", [])
            if hasattr(f, "key")
        }
    assert report.missed, "the sample has buildings that did not check in"
    secretary = [m for m in messages if m.topic == "missing_checkin_escalated"]
    assert secretary
    assert all(m.channel == UNDELIVERABLE for m in secretary)
    assert len(stuck) == report.enqueued == len(messages)
    assert figures["notifications_undeliverable"] == len(
        [m for m in messages if m.at.astimezone(dt.timezone(dt.timedelta(hours=8))).date() == day]
    )


_DOCTOR = """
[[contacts]]
role = "community_doctor"
area_id = "c1"
name = "刘医生"
phone = "13700137000"
addresses = { file = "liu-clinic" }
"""


def test_urgent_screening_alerts_go_to_the_named_people_of_the_place(tmp_path: Path) -> None:
    """A fever and a close contact go at once to who holds each role, as the digests do.

    The doctor is a contact of the stored configuration (with an address on
    ``file``), the secretary too; both alerts reach them by name, and the
    chat robot can @-mention the doctor from where the number is on file.
    With the secretary gone from the configuration, her alert for the close
    contact reaches no one: undeliverable, listed, and dispatch exits 1.
    """
    from gridguard.model import Exposure, Screening

    at = dt.datetime(2020, 1, 27, 2, tzinfo=dt.UTC)
    facts = [
        Screening(person_id="p1", at=at, temperature=38.5),
        Screening(person_id="p3", at=at, exposures=[
            Exposure(kind="confirmed_case", last_contact=dt.date(2020, 1, 24))]),
    ]  # fmt: skip
    for secretary in (True, False):
        folder = tmp_path / f"secretary-{secretary}"
        folder.mkdir()
        db = _workspace(folder)
        text = _FILE + _DOCTOR
        if not secretary:
            text = text.replace('role = "community_secretary"', 'role = "grid_worker"')
        assert _configure(folder, db, text).exit_code == 0
        with gridguard.open(db) as ws:
            ws.record(facts)
            screen(ws, campaign_id="cmp", day=dt.date(2020, 1, 27))
            with ws.transaction(write=False) as uow:
                urgent = [m for m in uow.find(OutboxMessage) if m.data.get("urgent")]
            stuck = Notifications(ws).undeliverable()
        by_role = {(m.data["person_id"], m.data["role"]): m for m in urgent}
        assert set(by_role) == {("p1", "community_doctor"), ("p3", "community_doctor"),
                                ("p3", "community_secretary")}  # fmt: skip
        doctor = by_role["p1", "community_doctor"]
        assert (doctor.recipient, doctor.channel) == ("liu-clinic", "file")
        assert doctor.data["mention_of"] == {"contact": "community_doctor", "at": "c1",
                                             "name": "刘医生"}  # fmt: skip
        assert "13700137000" not in repr(doctor)
        assert "发热" in doctor.subject
        assert "牡丹阁3栋101" in doctor.body
        clerk = by_role["p3", "community_secretary"]
        dispatched = _run("notify", "dispatch", "--db", str(db))
        if secretary:
            assert (clerk.recipient, clerk.channel) == ("community_secretary@c1", "file")
            assert stuck == []
            assert dispatched.exit_code == 0, dispatched.output
            continue
        assert clerk.channel == UNDELIVERABLE
        assert [u.message.id for u in stuck] == [clerk.id]
        assert "no community_secretary on file" in stuck[0].reason
        assert dispatched.exit_code == 1, dispatched.output
        assert "无法投递 1" in dispatched.output  # the Chinese default
        status = _run("notify", "status", "--db", str(db))
        assert "no community_secretary on file" in " ".join(status.output.split())  # wrapped at 80
