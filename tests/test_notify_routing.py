"""Routing by roles on the place tree, quiet hours, templates, masking, settings, the digest."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import gridguard
from gridguard import CheckIn, ConfigError, HealthReport, Visit
from gridguard.masking import mask_name, mask_phone
from gridguard.notifications.digest import day_figures, digest_messages, enqueue_digest
from gridguard.notifications.routing import Event, Router, hold_until
from gridguard.notifications.settings import NotifySettings, QuietHours
from gridguard.notifications.templates import Renderer
from gridguard.notify import OutboxMessage
from gridguard.testing import SAMPLE_START, sample_records
from strategies import TIME_ZONES, aware_datetimes

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture(params=["memory", "sqlite"])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[gridguard.Workspace]:
    target = "memory://" if request.param == "memory" else tmp_path / "r.db"
    with gridguard.open(target) as workspace:
        workspace.add(sample_records())
        yield workspace


SETTINGS = {
    "campaign": "cmp",
    "channels": {"file": {"type": "jsonl", "path": "n.jsonl"}, "email": {"type": "console"}},
    "routes": [
        {"topic": "fever", "roles": ["community_doctor", "grid_worker"], "urgent": True,
         "channels": ["file", "email"]},
        {"topic": "anomaly", "roles": ["building_observer", "team_leader"], "channels": ["file"]},
    ],
    "contacts": [
        {"role": "community_doctor", "area_id": "c1", "name": "林晓红",
         "addresses": {"email": "lin@c1.example.org"}},
        {"role": "grid_worker", "area_id": "g1", "name": "赵网格"},
        {"role": "community_secretary", "area_id": "east", "name": "区书记"},
    ],
    "quiet_hours": {"start": "22:00", "end": "07:00"},
    "digest": {"channels": ["file"]},
}  # fmt: skip


def _router(**changes: Any) -> Router:
    return Router(NotifySettings.from_dict({**SETTINGS, **changes}), zone=SHANGHAI)


def _fever(at: dt.datetime = SAMPLE_START, key: str = "hr-1") -> Event:
    return Event(
        topic="fever",
        key=key,
        at=at,
        person_id="p2",
        values={"temperature": 38.6, "symptoms": ["cough", "fever"]},
    )


# -- who gets what ---------------------------------------------------------------------------


def test_a_fever_goes_to_the_doctor_and_the_grid_worker(ws: gridguard.Workspace) -> None:
    router = _router()
    with ws.transaction(write=False) as uow:
        messages = router.messages(uow, _fever())
    by = {(m.data["role"], m.channel): m for m in messages}
    assert sorted(by) == [
        ("community_doctor", "email"),
        ("community_doctor", "file"),
        ("grid_worker", "email"),
        ("grid_worker", "file"),
    ]
    assert by["community_doctor", "email"].recipient == "lin@c1.example.org"
    assert by["community_doctor", "file"].recipient == "community_doctor@c1"
    assert by["grid_worker", "file"].recipient == "grid_worker@g1"
    fever = by["community_doctor", "file"]
    assert fever.subject == "发热报告：百苑新村 牡丹阁3栋"
    # The person's name and phone, masked: 李秀英 / +86 139 2345 6789.
    assert "李*（139****6789）" in fever.body
    assert "李秀英" not in fever.body
    assert "23456789" not in fever.body.replace(" ", "")
    assert "体温 38.6°C" in fever.body
    assert "cough、fever" in fever.body
    assert fever.area_id == "g1"
    assert fever.not_before is None  # urgent: quiet hours do not apply
    assert all(m.topic == "fever" for m in messages)
    assert all(m.at == SAMPLE_START for m in messages), "made for the event, at its time"


def test_roles_the_tree_records_are_found_there(ws: gridguard.Workspace) -> None:
    """The building's observer and the leader of the team sweeping its grid."""
    import attrs

    ws.add([attrs.evolve(ws.get(gridguard.Building, "b1"), observer_id="p3")])
    event = Event(
        topic="anomaly",
        key="ci-1",
        at=SAMPLE_START,
        building_id="b1",
        values={"observer": "王磊", "anomalies": "stranger"},
    )
    with ws.transaction(write=False) as uow:
        messages = _router().messages(uow, event)
    roles = {m.data["role"]: m for m in messages}
    assert set(roles) == {"building_observer", "team_leader"}
    assert roles["building_observer"].recipient == "building_observer@b1"
    assert roles["team_leader"].recipient == "team_leader@g1"
    assert "王*" in roles["team_leader"].body
    assert "王磊" not in roles["team_leader"].body


def test_routing_the_same_event_twice_enqueues_nothing_new(ws: gridguard.Workspace) -> None:
    router = _router()
    with ws.transaction() as uow:
        assert router.notify(uow, [_fever()]) == 4
    with ws.transaction() as uow:
        assert router.notify(uow, [_fever()]) == 0
        assert router.notify(uow, [_fever(key="hr-2")]) == 4
    assert ws.count(OutboxMessage) == 8


def test_quiet_hours_hold_what_is_not_urgent(ws: gridguard.Workspace) -> None:
    late = dt.datetime(2020, 1, 25, 23, 30, tzinfo=SHANGHAI)
    event = Event(topic="anomaly", key="ci-2", at=late, building_id="b1", values={})
    with ws.transaction(write=False) as uow:
        held = _router().messages(uow, event)
        urgent = _router().messages(uow, _fever(at=late))
    assert {m.not_before for m in held} == {dt.datetime(2020, 1, 26, 7, 0, tzinfo=SHANGHAI)}
    assert {m.not_before for m in urgent} == {None}


def test_a_topic_without_a_route_sends_nothing(ws: gridguard.Workspace) -> None:
    event = Event(topic="quarantine", key="q", at=SAMPLE_START, person_id="p1")
    with ws.transaction(write=False) as uow:
        assert _router().messages(uow, event) == []


# -- quiet hours -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "start", "end", "release"),
    [
        ("2020-01-25 23:30", "22:00", "07:00", "2020-01-26 07:00"),
        ("2020-01-26 00:10", "22:00", "07:00", "2020-01-26 07:00"),
        ("2020-01-26 06:59", "22:00", "07:00", "2020-01-26 07:00"),
        ("2020-01-26 07:00", "22:00", "07:00", None),
        ("2020-01-25 21:59", "22:00", "07:00", None),
        ("2020-01-25 12:30", "12:00", "14:00", "2020-01-25 14:00"),
        ("2020-01-25 14:00", "12:00", "14:00", None),
        ("2020-01-25 12:30", "08:00", "08:00", None),
    ],
)
def test_quiet_hours_release_at_their_local_end(
    local: str, start: str, end: str, release: str | None
) -> None:
    at = dt.datetime.fromisoformat(local).replace(tzinfo=SHANGHAI)
    got = hold_until(at, QuietHours(start=start, end=end), SHANGHAI)
    expected = None if release is None else dt.datetime.fromisoformat(release)
    assert (None if got is None else got.astimezone(SHANGHAI).replace(tzinfo=None)) == expected


def test_quiet_hours_across_a_daylight_saving_change() -> None:
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    # The night clocks go forward (2021-03-28, 02:00 -> 03:00): 7 hours of wall clock, 6 real.
    at = dt.datetime(2021, 3, 27, 23, 0, tzinfo=berlin)
    got = hold_until(at, QuietHours(start="22:00", end="06:00"), berlin)
    assert got is not None
    assert got.astimezone(berlin).replace(tzinfo=None) == dt.datetime(2021, 3, 28, 6, 0)
    assert got - at == dt.timedelta(hours=6)


@given(
    at=aware_datetimes(),
    zone=st.sampled_from(TIME_ZONES).map(zoneinfo.ZoneInfo),
    start=st.integers(0, 23 * 60 + 59),
    end=st.integers(0, 23 * 60 + 59),
)
def test_a_held_message_waits_less_than_a_day_until_the_local_end(
    at: dt.datetime, zone: zoneinfo.ZoneInfo, start: int, end: int
) -> None:
    quiet = QuietHours(
        start=f"{start // 60:02d}:{start % 60:02d}", end=f"{end // 60:02d}:{end % 60:02d}"
    )
    got = hold_until(at, quiet, zone)
    local = at.astimezone(zone)
    minute = local.hour * 60 + local.minute
    inside = (start <= minute < end) if start < end else (minute >= start or minute < end)
    if start == end:
        inside = False
    assert (got is not None) == inside
    if got is not None:
        release = got.astimezone(zone)
        # A release that falls into a DST gap is shifted by the gap; otherwise it is exact.
        assume(release.replace(tzinfo=None).time() == dt.time(end // 60, end % 60))
        assert got > at - dt.timedelta(seconds=1)
        assert got - at <= dt.timedelta(hours=25)


# -- templates and masking -------------------------------------------------------------------


def test_masking_for_messages() -> None:
    assert mask_name("张三丰", keep_length=False) == "张*"
    assert mask_name("张三", keep_length=False) == "张*"
    assert mask_name("王", keep_length=False) == "王"
    assert mask_phone("+8613800138000", national=True) == "138****8000"
    assert mask_phone("+8613800138000") == "+86138****8000"  # unchanged default
    assert mask_name("张三丰") == "张**"  # unchanged default


def test_templates_render_in_both_languages_masked() -> None:
    values = {
        "person": "张三丰",
        "phone": "+8613800138000",
        "temperature": 38.5,
        "building": "牡丹阁3栋",
        "address": "百苑新村牡丹阁3栋101",
    }
    zh = Renderer("zh-CN").render("fever", values)
    en = Renderer("en").render("fever", values)
    assert zh.subject == "发热报告：牡丹阁3栋"
    assert "张*（138****8000）体温 38.5°C" in zh.body
    assert en.subject == "Fever report: 牡丹阁3栋"
    assert "resident 张* (138****8000) has 38.5 °C" in en.body
    plain = Renderer("zh-CN", mask=False).render("fever", values)
    assert "张三丰（+8613800138000）" in plain.body


def test_a_template_override_with_an_unknown_placeholder_is_refused() -> None:
    with pytest.raises(
        ConfigError, match=r"templates\.en\.fever\.body: unknown placeholder \$tempreture"
    ):
        Renderer("en", overrides={"en": {"fever": {"body": "$person has ${tempreture}"}}})
    custom = Renderer("en", overrides={"en": {"fever": {"subject": "FEVER $grid"}}})
    assert custom.render("fever", {"grid": "G1"}).subject == "FEVER G1"


# -- settings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "setting"),
    [
        ('locale = "fr"\n', "locale"),
        ('[[routes]]\ntopic = "fever"\nroles = ["doctor"]\n', "routes[0].roles[0]"),
        ('[quiet_hours]\nstart = "25:00"\n', "quiet_hours.start"),
        ("[delivery]\ntimeout = -1\n", "delivery.timeout"),
        ("[delivery]\nretries = 3\n", "delivery.retries: unknown key"),
        ('[[contacts]]\nrole = "mayor"\narea_id = "c1"\nname = "x"\n', "contacts[0].role"),
        ("fever_threshold = 50\n", "fever_threshold"),
        ("locale = \n", "not valid TOML"),
    ],
)
def test_settings_from_toml_name_the_bad_setting(tmp_path: Path, toml: str, setting: str) -> None:
    path = tmp_path / "notify.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        NotifySettings.from_toml(path)
    assert setting in str(caught.value)


def test_settings_from_toml_resolve_file_paths_next_to_it(tmp_path: Path) -> None:
    path = tmp_path / "notify.toml"
    path.write_text('[channels.file]\ntype = "jsonl"\npath = "out.jsonl"\n', encoding="utf-8")
    settings = NotifySettings.from_toml(path)
    assert settings.channels["file"]["path"] == str(tmp_path / "out.jsonl")


def test_routes_must_name_configured_channels(ws: gridguard.Workspace) -> None:
    from gridguard.notifications.service import Notifications

    settings = NotifySettings.from_dict({**SETTINGS, "routes": [
        {"topic": "fever", "roles": ["grid_worker"], "channels": ["file", "sms"]}]})  # fmt: skip
    with pytest.raises(ConfigError, match=r"routes\[0\]\.channels\[1\]: no channel 'sms'"):
        Notifications(ws, settings)


# -- the daily digest ------------------------------------------------------------------------


def _at(local: str) -> dt.datetime:
    return dt.datetime.fromisoformat(local).replace(tzinfo=SHANGHAI)


def test_the_digest_counts_one_local_day(ws: gridguard.Workspace) -> None:
    """Midnight in Shanghai is 16:00 UTC: facts either side land on their own local days."""
    ws.record(
        [
            Visit(household_id="h1", outcome="screened", at=_at("2020-01-26 23:59")),
            Visit(household_id="h2", outcome="not_home", at=_at("2020-01-26 08:00")),
            Visit(household_id="h1", outcome="screened", at=_at("2020-01-27 00:01")),
            HealthReport(person_id="p1", temperature=38.2, at=_at("2020-01-26 09:00")),
            HealthReport(person_id="p1", temperature=37.0, at=_at("2020-01-26 19:00")),
            HealthReport(person_id="p4", temperature=39.0, at=_at("2020-01-26 10:00")),
            CheckIn(
                building_id="b1", observer_id="p3", status="all_normal", at=_at("2020-01-26 20:00")
            ),
        ]
    )
    dialect = ws.storage.dialect
    with ws.transaction(write=False) as uow:
        day = day_figures(uow, "c1", dt.date(2020, 1, 26), SHANGHAI, dialect=dialect)
        next_day = day_figures(uow, "c1", dt.date(2020, 1, 27), SHANGHAI, dialect=dialect)
        utc_day = day_figures(
            uow, "c1", dt.date(2020, 1, 26), zoneinfo.ZoneInfo("UTC"), dialect=dialect
        )
    assert day["visits"] == 2
    assert day["households_visited"] == 2
    assert day["not_home"] == 1
    assert day["fevers"] == 1  # p4 is in the other community
    assert day["checkins"] == 1
    assert day["buildings"] == 1
    assert day["buildings_silent"] == 0
    assert next_day["visits"] == 1
    assert next_day["fevers"] == 0
    assert next_day["buildings_silent"] == 0  # b1 has no observer in the sample: not silent
    # In UTC, 23:59 Shanghai (15:59 UTC) is the same day and 00:01 (16:01 UTC) too.
    assert utc_day["visits"] == 3


def test_the_digest_goes_to_the_secretary_once_per_day(ws: gridguard.Workspace) -> None:
    router = _router()
    day = dt.date(2020, 1, 26)
    assert enqueue_digest(ws, router, day) == 2  # c1 and c2 share the district's secretary
    assert enqueue_digest(ws, router, day) == 0
    stored = sorted(ws.find(OutboxMessage), key=lambda m: m.area_id)
    assert [m.area_id for m in stored] == ["c1", "c2"]
    assert stored[0].subject == "华苑社区 2020-01-26 日报"
    assert stored[0].recipient == "community_secretary@east"
    assert stored[0].not_before == dt.datetime(2020, 1, 26, 20, 0, tzinfo=SHANGHAI)
    with ws.transaction(write=False) as uow:
        again = digest_messages(uow, router, day, dialect=ws.storage.dialect, campaign=None)
    assert {m.id for m in again} == {m.id for m in stored}
    assert uuid.UUID(str(stored[0].id)).version == 5
