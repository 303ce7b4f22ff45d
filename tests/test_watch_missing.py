"""Missed check-ins: the cut-off in the campaign's time zone, and the ladder, once per day."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gridguard
from gridguard import CheckIn, ValidationError
from gridguard.notify import OutboxMessage
from gridguard.watch import (
    BUILDINGS,
    POINTS,
    PointReport,
    WatchSettings,
    escalate,
    missing,
    record_checkins,
    record_point_reports,
)
from gridguard.watch.missed import Rung, day_bounds
from watch_world import NOTIFY, observe, world

UTC = dt.UTC
DAY = dt.date(2020, 1, 26)


def _open(backend: str, tmp_path: Path, zone: str = "Asia/Shanghai") -> gridguard.Workspace:
    ws = gridguard.open("memory://" if backend == "memory" else tmp_path / f"w-{zone[:4]}.db")
    ws.add(world(zone))
    observe(ws)
    return ws


@pytest.fixture(params=["memory", "sqlite"])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[gridguard.Workspace]:
    with _open(request.param, tmp_path) as store:
        yield store


def _checkin(building: str, at: dt.datetime) -> CheckIn:
    observer = "o" + building[1:]
    return CheckIn(building_id=building, observer_id=observer, at=at)


def _ids(found: list[object]) -> list[str]:
    return [m.place_id for m in found]  # type: ignore[attr-defined]


def test_buildings_with_an_observer_and_no_check_in_are_missing(ws: gridguard.Workspace) -> None:
    # 09:00 in Zhongshan is 01:00 UTC; the default cut-off is 12:00 local.
    record_checkins(ws, [_checkin("b1", dt.datetime(2020, 1, 26, 1, 0, tzinfo=UTC))])
    assert _ids(missing(ws, DAY)) == ["b2", "b3"]  # b4 has no observer: not listed


def test_a_check_in_after_the_cut_off_is_still_a_missed_one(ws: gridguard.Workspace) -> None:
    # 12:00:00 local (04:00 UTC) is the cut-off itself: too late.
    record_checkins(ws, [_checkin("b1", dt.datetime(2020, 1, 26, 4, 0, tzinfo=UTC))])
    record_checkins(ws, [_checkin("b2", dt.datetime(2020, 1, 26, 3, 59, 59, tzinfo=UTC))])
    assert _ids(missing(ws, DAY)) == ["b1", "b3"]
    later = dt.datetime(2020, 1, 26, 5, 0, tzinfo=UTC)
    assert _ids(missing(ws, DAY, until=later)) == ["b3"]


def test_the_day_starts_at_local_midnight(ws: gridguard.Workspace) -> None:
    # Local midnight of 26 January in Shanghai is 16:00 UTC on the 25th.
    record_checkins(
        ws,
        [
            _checkin("b1", dt.datetime(2020, 1, 25, 15, 59, 59, tzinfo=UTC)),  # 25th, 23:59:59
            _checkin("b2", dt.datetime(2020, 1, 25, 16, 0, 0, tzinfo=UTC)),  # 26th, 00:00:00
        ],
    )
    assert _ids(missing(ws, DAY)) == ["b1", "b3"]
    # Until the end of the 25th (the cut-off was long past), b1 reported on the 25th.
    whole_day = dt.datetime(2020, 2, 1, tzinfo=UTC)
    assert _ids(missing(ws, DAY - dt.timedelta(days=1), until=whole_day)) == ["b2", "b3"]


def test_a_late_cut_off_still_ends_at_midnight(ws: gridguard.Workspace) -> None:
    settings = WatchSettings(cutoff="23:59")
    # 00:00:30 local on the 27th belongs to the next day.
    record_checkins(ws, [_checkin("b1", dt.datetime(2020, 1, 26, 16, 0, 30, tzinfo=UTC))])
    assert _ids(missing(ws, DAY, settings=settings)) == ["b1", "b2", "b3"]
    assert _ids(missing(ws, DAY + dt.timedelta(days=1), settings=settings)) == ["b2", "b3"]


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_daylight_saving_days_in_berlin(backend: str, tmp_path: Path) -> None:
    """Spring forward (29 March 2020): the cut-off 12:00 is 10:00 UTC, not 11:00."""
    spring = dt.date(2020, 3, 29)
    with _open(backend, tmp_path, "Europe/Berlin") as ws:
        start, end = day_bounds(spring, ws.get(gridguard.Campaign, "cmp").zone)
        assert end - start == dt.timedelta(hours=23)
        assert WatchSettings().cutoff_at(spring, ws.get(gridguard.Campaign, "cmp").zone) == (
            dt.datetime(2020, 3, 29, 10, 0, tzinfo=UTC)
        )
        record_checkins(
            ws,
            [
                _checkin("b1", dt.datetime(2020, 3, 29, 9, 59, tzinfo=UTC)),  # 11:59 CEST: in time
                _checkin("b2", dt.datetime(2020, 3, 29, 10, 30, tzinfo=UTC)),  # 12:30 CEST: late
                _checkin("b3", dt.datetime(2020, 3, 28, 23, 30, tzinfo=UTC)),  # 29th, 00:30 CET
            ],
        )
        assert _ids(missing(ws, spring)) == ["b2"]
        # The day before, 10:30 UTC was 11:30 CET: in time.
        record_checkins(ws, [_checkin("b2", dt.datetime(2020, 3, 28, 10, 30, tzinfo=UTC))])
        assert _ids(missing(ws, spring - dt.timedelta(days=1))) == ["b1", "b3"]


def test_fall_back_day_is_25_hours_long(tmp_path: Path) -> None:
    autumn = dt.date(2020, 10, 25)
    with _open("sqlite", tmp_path, "Europe/Berlin") as ws:
        zone = ws.get(gridguard.Campaign, "cmp").zone
        start, end = day_bounds(autumn, zone)
        assert (start, end - start) == (
            dt.datetime(2020, 10, 24, 22, 0, tzinfo=UTC),
            dt.timedelta(hours=25),
        )
        # 23:30 UTC on the 25th is 00:30 CET on the 26th: not the 25th any more.
        record_checkins(ws, [_checkin("b1", dt.datetime(2020, 10, 25, 23, 30, tzinfo=UTC))])
        late = WatchSettings(cutoff="23:59")
        assert _ids(missing(ws, autumn, settings=late)) == ["b1", "b2", "b3"]


def test_monitoring_points_share_the_same_logic(ws: gridguard.Workspace) -> None:
    assert _ids(missing(ws, DAY, kind=POINTS)) == ["mp1"]
    at = dt.datetime(2020, 1, 26, 1, 0, tzinfo=UTC)
    record_point_reports(ws, [PointReport(point_id="mp1", observer_id="o9", at=at)])
    assert missing(ws, DAY, kind=POINTS) == []
    assert _ids(missing(ws, DAY, kind=BUILDINGS)) == ["b1", "b2", "b3"]


def test_a_naive_until_is_refused(ws: gridguard.Workspace) -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        escalate(ws, DAY, now=dt.datetime(2020, 1, 26, 12, 0))


# -- escalation ---------------------------------------------------------------------------------


def _outbox(ws: gridguard.Workspace) -> list[OutboxMessage]:
    return ws.find(OutboxMessage)


def _at(hour: float) -> dt.datetime:
    """``hour`` local time on DAY (Shanghai, UTC+8), as UTC."""
    return dt.datetime(2020, 1, 26, tzinfo=UTC) - dt.timedelta(hours=8) + dt.timedelta(hours=hour)


def test_nothing_is_escalated_before_the_cut_off(ws: gridguard.Workspace) -> None:
    report = escalate(ws, DAY, now=_at(11.9), notify=NOTIFY)
    assert (report.rungs_due, report.enqueued, _outbox(ws)) == ((), 0, [])


def test_the_ladder_climbs_observer_grid_worker_community(ws: gridguard.Workspace) -> None:
    first = escalate(ws, DAY, now=_at(12.5), notify=NOTIFY)
    assert first.rungs_due == ("checkin_reminder",)
    reminders = _outbox(ws)
    # Each observer of b1-b3 gets one reminder on the one console channel.
    assert sorted(m.data["place"] for m in reminders) == ["b1", "b2", "b3"]
    assert {m.topic for m in reminders} == {"checkin_reminder"}
    assert all("报平安" in m.body for m in reminders)
    # b2 checks in at 13:00; at 16:30 the grid worker and the community hear of b1 and b3 only.
    record_checkins(ws, [_checkin("b2", _at(13))])
    later = escalate(ws, DAY, now=_at(16.5), notify=NOTIFY)
    assert later.rungs_due == ("checkin_reminder", "missing_checkin", "missing_checkin_escalated")
    assert [m.place_id for m in later.missed] == ["b1", "b3"]
    topics = Counter(m.topic for m in _outbox(ws))
    assert topics == {"checkin_reminder": 3, "missing_checkin": 2, "missing_checkin_escalated": 2}
    secretary = [m for m in _outbox(ws) if m.topic == "missing_checkin_escalated"]
    assert {m.recipient for m in secretary} == {"community_secretary@c1"}


def test_points_escalate_to_the_grid_worker_then_the_village(ws: gridguard.Workspace) -> None:
    report = escalate(ws, DAY, now=_at(15), notify=NOTIFY, kind=POINTS)
    assert report.rungs_due == ("missing_point_report", "missing_checkin_escalated")
    places = sorted((m.topic, m.recipient) for m in _outbox(ws))
    assert places == [
        ("missing_checkin_escalated", "community_secretary@v1"),
        ("missing_point_report", "grid_worker@vg1"),
    ]


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(runs=st.lists(st.floats(min_value=0, max_value=30, allow_nan=False), min_size=1, max_size=6))
def test_each_rung_reaches_the_outbox_once_per_building_and_day(
    runs: list[float], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """However often (and in whatever order) the job runs, one message per building and rung."""
    tmp = tmp_path_factory.mktemp("esc")
    with _open("sqlite", tmp) as ws:
        for hour in runs:
            escalate(ws, DAY, now=_at(hour), notify=NOTIFY)
        for hour in runs:  # and all of it once more
            assert escalate(ws, DAY, now=_at(hour), notify=NOTIFY).enqueued == 0
        latest = max(runs)
        due = [r for r in WatchSettings().ladder if 12 + r.after / 60 <= latest]
        messages = _outbox(ws)
        # The subject names the building: one message per rung, building and recipient.
        per = Counter((m.topic, m.subject, m.recipient) for m in messages)
        assert all(n == 1 for n in per.values())
        assert len(messages) == 3 * len(due)  # b1, b2, b3 are silent all day
        assert len({m.id for m in messages}) == len(messages)


def test_another_day_is_escalated_again(ws: gridguard.Workspace) -> None:
    escalate(ws, DAY, now=_at(13), notify=NOTIFY)
    escalate(ws, DAY + dt.timedelta(days=1), now=_at(24 + 13), notify=NOTIFY)
    per_day = Counter(m.body.split("，")[1].split(" ")[0] for m in _outbox(ws))
    assert per_day == {"2020-01-26": 3, "2020-01-27": 3}


def test_a_custom_ladder_and_cut_off(ws: gridguard.Workspace) -> None:
    custom = WatchSettings(cutoff="09:00", ladder=(Rung(topic="missing_checkin", after=30),))
    assert escalate(ws, DAY, now=_at(9.4), settings=custom, notify=NOTIFY).rungs_due == ()
    report = escalate(ws, DAY, now=_at(9.5), settings=custom, notify=NOTIFY)
    assert report.rungs_due == ("missing_checkin",)
    assert {m.recipient for m in _outbox(ws)} == {"grid_worker@g1"}
    assert report.enqueued == 3  # the grid worker hears of each silent building


def test_postgresql_finds_the_same_silent_buildings_and_escalates_once() -> None:
    from rules_pg import pg_schema

    with pg_schema() as (url, _), gridguard.open(url) as ws:
        ws.add(world("Europe/Berlin"))
        observe(ws)
        spring = dt.date(2020, 3, 29)
        record_checkins(
            ws,
            [
                _checkin("b1", dt.datetime(2020, 3, 29, 9, 59, tzinfo=UTC)),
                _checkin("b2", dt.datetime(2020, 3, 29, 10, 30, tzinfo=UTC)),
            ],
        )
        assert _ids(missing(ws, spring)) == ["b2", "b3"]
        now = dt.datetime(2020, 3, 29, 16, 0, tzinfo=UTC)
        first = escalate(ws, spring, now=now, notify=NOTIFY)
        assert ([m.place_id for m in first.missed], first.enqueued) == (["b3"], 3)
        assert escalate(ws, spring, now=now, notify=NOTIFY).enqueued == 0
        record_point_reports(
            ws, [PointReport(point_id="mp1", observer_id="o9", at=now - dt.timedelta(hours=8))]
        )
        assert missing(ws, spring, kind=POINTS) == []
