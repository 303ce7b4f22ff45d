"""The report builders: their figures against counts made independently from the stored facts.

The expected numbers are computed here in plain Python over ``ws.find`` (or
with plain SQL), never with the builders' own queries, from random facts
spread over several days, households, teams and communities.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gridguard
from gridguard.errors import ConfigError, NotFoundError, ValidationError
from gridguard.model import (
    Anomaly,
    Building,
    Campaign,
    CheckIn,
    Household,
    Person,
    Screening,
    ServiceRequest,
    Stairwell,
    Team,
    TeamMember,
    Visit,
)
from gridguard.model.assessments import Assessment, FiredRule, QuarantineOrder, Task
from gridguard.model.enums import MemberRole
from gridguard.model.messages import DeliveryAttempt, OutboxMessage
from gridguard.model.quarantine import QuarantineRelease
from gridguard.model.services import ServiceAssignment, ServiceCompletion
from gridguard.model.watch import MonitoringPoint, PointReport
from gridguard.report import Figures, Report, Table
from gridguard.reporting import (
    build_report,
    daily_report,
    household_report,
    line_list_report,
    person_report,
    progress_report,
    teams_report,
)
from gridguard.testing import sample_records

START = dt.date(2020, 1, 25)
DAYS = 6
ZONE = "Asia/Shanghai"
MEMBERS = (
    TeamMember(name="黄干部", role=MemberRole.CADRE),
    TeamMember(name="刘医生", role=MemberRole.DOCTOR),
    TeamMember(name="周警官", role=MemberRole.POLICE),
)


def _campaign(zone: str = ZONE) -> Campaign:
    return Campaign(id="cmp", name="测试", scope=("c1", "c2"), start=START, time_zone=zone)


def _tree(zone: str) -> list[Any]:
    records = [r for r in sample_records() if not isinstance(r, Campaign)]
    records.append(_campaign(zone))
    records.append(Team(id="t2", name="第二小分队", area_id="c2", members=MEMBERS))
    for n in range(24):
        stairwell = "s1" if n % 3 else "s2"
        records.append(
            Household(
                id=f"hh{n:02d}",
                stairwell_id=stairwell,
                floor=1 + n % 5,
                door=f"{n:03d}",
                address=f"测试地址{n}",
            )
        )
        records.append(Person(id=f"pp{n:02d}", household_id=f"hh{n:02d}", name=f"居民{n}"))
    return records


def _at(campaign: Campaign, day: int, rng: random.Random) -> dt.datetime:
    """A random instant on local day ``day`` of the campaign, near its edges half the time."""
    start = campaign.day_start(START + dt.timedelta(days=day))
    stop = campaign.day_start(START + dt.timedelta(days=day + 1))
    seconds = int((stop - start).total_seconds())
    offset = rng.choice([0, 1, seconds - 1, rng.randrange(seconds)])
    return start + dt.timedelta(seconds=offset)


def _facts(ws: gridguard.Workspace, campaign: Campaign, seed: int) -> None:
    rng = random.Random(seed)
    households = [h.id for h in ws.find(Household)]
    persons = {p.household_id: p.id for p in ws.find(Person)}
    visits, screenings, checkins, requests = [], [], [], []
    for _ in range(120):
        day = rng.randrange(DAYS)
        household = rng.choice(households)
        outcome = rng.choice(["screened", "not_home", "not_home", "refused", "vacant"])
        channel = rng.choice(["door", "door", "phone"])
        visit = Visit(
            id=uuid.UUID(int=rng.getrandbits(128)),
            at=_at(campaign, day, rng),
            household_id=household,
            outcome=outcome,
            channel=channel,
            team_id=rng.choice(["t1", "t2", None]),
            campaign_id=rng.choice(["cmp", None]),
        )
        visits.append(visit)
        if outcome == "screened" and household in persons:
            screenings.append(
                Screening(
                    id=uuid.UUID(int=rng.getrandbits(128)),
                    at=visit.at,
                    person_id=persons[household],
                    temperature=36.5,
                )
            )
    for day in range(DAYS):
        for building, observer in (("b1", "p2"), ("b2", "p4")):
            if rng.random() < 0.7:
                anomalous = rng.random() < 0.4
                checkins.append(
                    CheckIn(
                        id=uuid.UUID(int=rng.getrandbits(128)),
                        at=_at(campaign, day, rng),
                        building_id=building,
                        observer_id=observer,
                        status="anomalies" if anomalous else "all_normal",
                        anomalies=(
                            (Anomaly(kind=rng.choice(["stranger", "move_in"]), count=2),)
                            if anomalous
                            else ()
                        ),
                    )
                )
        for _ in range(rng.randrange(3)):
            requests.append(
                ServiceRequest(
                    id=uuid.UUID(int=rng.getrandbits(128)),
                    at=_at(campaign, day, rng),
                    household_id=rng.choice(households),
                    service=rng.choice(["groceries", "medicine"]),
                )
            )
    ws.record([*visits, *screenings, *checkins, *requests])
    reports = [
        PointReport(
            at=_at(campaign, day, rng),
            point_id="mp1",
            observer_id="p4",
            status="anomalies",
            anomalies=(Anomaly(kind="stranger", count=1),),
        )
        for day in range(DAYS)
        if rng.random() < 0.5
    ]
    with ws.transaction() as uow:
        point = MonitoringPoint(id="mp1", area_id="g2", name="健康监测点", observer_id="p4")
        uow.put(MonitoringPoint, [point])
        uow.save_facts(PointReport, reports)
    orders, tasks, assessments, messages, attempts = [], [], [], [], []
    for n in range(20):
        household = rng.choice(households)
        start = START + dt.timedelta(days=rng.randrange(DAYS))
        orders.append(
            QuarantineOrder(
                id=f"q{n}",
                household_id=household,
                person_id=persons.get(household),
                kind=rng.choice(["home", "central"]),
                start=start,
                end=start + dt.timedelta(days=rng.randrange(1, 5)),
                rule_id="r",
                rule_set_id="rs",
                rule_set_version="1",
                status=rng.choice(["active", "active", "ended", "cancelled"]),
            )
        )
        tasks.append(
            Task(
                id=f"t{n}",
                household_id=household,
                person_id=persons.get(household),
                kind=rng.choice(["phone_call", "visit"]),
                due=_at(campaign, rng.randrange(DAYS), rng),
                rule_id="r",
                rule_set_id="rs",
                rule_set_version="1",
                status=rng.choice(["open", "open", "done"]),
            )
        )
    for household, person in persons.items():
        for day in range(DAYS):
            if rng.random() < 0.25:
                local = START + dt.timedelta(days=day)
                assessments.append(
                    Assessment(
                        at=campaign.day_start(local),
                        person_id=person,
                        household_id=household,
                        campaign_id="cmp",
                        rule_set_id="rs",
                        rule_set_version="1",
                        day=local,
                        risk=rng.choice(["none", "low", "medium", "high"]),
                        fired=(
                            FiredRule(rule_id=rng.choice(["fever", "trip"]), line="door_to_door"),
                        ),
                    )
                )
    for _ in range(15):
        message = OutboxMessage(
            id=uuid.UUID(int=rng.getrandbits(128)),
            at=_at(campaign, rng.randrange(DAYS), rng),
            area_id=rng.choice(["c1", "c2", "g1"]),
            channel="console",
            recipient="doctor",
            topic=rng.choice(["fever", "quarantine"]),
        )
        messages.append(message)
        if rng.random() < 0.5:
            attempts.append(
                DeliveryAttempt(
                    id=uuid.UUID(int=rng.getrandbits(128)),
                    at=message.at,
                    message_id=message.id,
                    attempt=1,
                    outcome="sent",
                )
            )
    releases = [
        QuarantineRelease(
            at=_at(campaign, (o.start - START).days + 1, rng),
            order_id=o.id,
            household_id=o.household_id,
            person_id=o.person_id,
            end=o.end,
            early=True,
            reason="测试",
            released_by="doctor",
        )
        for o in orders[::3]
        if (o.end - o.start).days >= 2 and o.status.value != "cancelled"
    ]
    assignments, completions = [], []
    for request in requests:
        if rng.random() < 0.6:
            assignments.append(
                ServiceAssignment(
                    at=request.at + dt.timedelta(hours=1),
                    request_id=request.id,
                    household_id=request.household_id,
                    team_id="t1",
                    due=request.at + dt.timedelta(hours=rng.choice([2, 20, 30])),
                )
            )
        if rng.random() < 0.4:
            completions.append(
                ServiceCompletion(
                    at=request.at + dt.timedelta(hours=rng.choice([3, 26])),
                    request_id=request.id,
                    household_id=request.household_id,
                )
            )
    with ws.transaction() as uow:
        uow.put(QuarantineOrder, orders)
        uow.save_facts(QuarantineRelease, releases)
        uow.save_facts(ServiceAssignment, assignments)
        uow.save_facts(ServiceCompletion, completions)
        uow.put(Task, tasks)
        uow.save_facts(Assessment, assessments)
        uow.save_facts(OutboxMessage, messages)
        uow.save_facts(DeliveryAttempt, attempts)


@pytest.fixture(params=[(1, ZONE), (2, ZONE), (3, "America/New_York")], ids=str)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[gridguard.Workspace]:
    seed, zone = request.param
    with gridguard.open(tmp_path / "r.db") as ws:
        ws.add(_tree(zone))
        _facts(ws, ws.get(Campaign, "cmp"), seed)
        yield ws


# -- independent counts ---------------------------------------------------------------------


def _day(campaign: Campaign, at: dt.datetime) -> dt.date:
    return at.astimezone(campaign.zone).date()


def _jurisdiction(ws: gridguard.Workspace) -> dict[str, str]:
    """household -> community, by walking the tree in Python."""
    buildings = {b.id: b.area_id for b in ws.find(Building)}
    stairwells = {s.id: buildings[s.building_id] for s in ws.find(Stairwell)}
    grid_to_community = {"g1": "c1", "g2": "c2"}
    return {h.id: grid_to_community[stairwells[h.stairwell_id]] for h in ws.find(Household)}


def _visits(ws: gridguard.Workspace, campaign: Campaign, community: str | None) -> list[Visit]:
    homes = _jurisdiction(ws)
    stop = campaign.day_start(START + dt.timedelta(days=DAYS))
    return [
        v
        for v in ws.find(Visit)
        if (v.campaign_id == "cmp" or (v.campaign_id is None and v.at < stop))
        and (community is None or homes[v.household_id] == community)
    ]


def _figure(report: Report, block: str, key: str) -> Any:
    found = report.block(block)
    assert isinstance(found, Figures)
    return found.value(key)


def _change(report: Report, block: str, key: str) -> Any:
    found = report.block(block)
    assert isinstance(found, Figures)
    return next(item.change for item in found.items if item.key == key)


def _expected_daily(ws: gridguard.Workspace, day: dt.date, community: str | None) -> dict[str, Any]:
    campaign = ws.get(Campaign, "cmp")
    homes = _jurisdiction(ws)
    mine = {h for h, c in homes.items() if community is None or c == community}
    visits = [v for v in _visits(ws, campaign, community) if _day(campaign, v.at) <= day]
    today = [v for v in visits if _day(campaign, v.at) == day]
    visited = {v.household_id for v in visits}
    screened = {v.household_id for v in visits if v.outcome.value == "screened"}

    def pending(upto: dt.date) -> int:
        count = 0
        for household in mine:
            seen = [
                v for v in visits if v.household_id == household and _day(campaign, v.at) <= upto
            ]
            if any(v.outcome.value in ("screened", "vacant") for v in seen):
                continue
            not_home = [
                v.at for v in seen if v.outcome.value == "not_home" and v.channel.value == "door"
            ]
            phoned = [v.at for v in seen if v.channel.value == "phone"]
            if not_home and (not phoned or max(phoned) < max(not_home)):
                count += 1
        return count

    with ws.transaction(write=False) as uow:
        released_on = {r.order_id: _day(campaign, r.at) for r in uow.find(QuarantineRelease)}

    def active(o: QuarantineOrder) -> bool:
        freed = released_on.get(o.id)
        return o.start <= day < o.end and (freed is None or freed > day)

    orders = [
        o
        for o in ws.find(QuarantineOrder)
        if o.household_id in mine and o.status.value != "cancelled" and active(o)
    ]
    new = [
        o
        for o in ws.find(QuarantineOrder)
        if o.household_id in mine and o.status.value != "cancelled" and o.start == day
    ]
    released = [
        o
        for o in ws.find(QuarantineOrder)
        if o.household_id in mine
        and o.status.value != "cancelled"
        and (
            released_on.get(o.id) == day
            or (o.id not in released_on and o.end == day and o.start < day)
        )
    ]
    flagged: dict[str, int] = {}
    rank = {"low": 1, "medium": 2, "high": 3}
    with ws.transaction(write=False) as uow:
        for a in uow.find(Assessment):
            if a.day == day and a.household_id in mine and a.risk.value != "none":
                flagged[a.person_id] = max(flagged.get(a.person_id, 0), rank[a.risk.value])
        messages = [m for m in uow.find(OutboxMessage) if _day(campaign, m.at) == day]
        sent = {a.message_id for a in uow.find(DeliveryAttempt) if a.outcome.value == "sent"}
    if community is not None:
        messages = [
            m for m in messages if m.area_id in (community, "g1" if community == "c1" else "g2")
        ]
    checkins = [c for c in ws.find(CheckIn) if _day(campaign, c.at) == day]
    buildings_of = {"b1": "c1", "b2": "c2"}
    checkins = [
        c for c in checkins if community is None or buildings_of[c.building_id] == community
    ]
    observed = [
        b
        for b in ws.find(Building)
        if b.observer_id is not None and (community is None or buildings_of[b.id] == community)
    ]
    with ws.transaction(write=False) as uow:
        points = [
            r
            for r in uow.find(PointReport)
            if _day(campaign, r.at) == day and community in (None, "c2")
        ]
    points_observed = 1 if community in (None, "c2") else 0
    end_of_day = campaign.day_start(day + dt.timedelta(days=1))
    tasks = [
        t
        for t in ws.find(Task)
        if t.household_id in mine and t.status.value == "open" and t.due < end_of_day
    ]
    with ws.transaction(write=False) as uow:
        done = {c.request_id for c in uow.find(ServiceCompletion) if c.at < end_of_day}
        due = {a.request_id: a.due for a in uow.find(ServiceAssignment) if a.at < end_of_day}
    open_requests = [
        r
        for r in ws.find(ServiceRequest)
        if r.household_id in mine and r.at < end_of_day and r.id not in done
    ]
    overdue = [
        r for r in open_requests if due.get(r.id, r.at + dt.timedelta(hours=24)) < end_of_day
    ]
    return {
        "services_open": len(open_requests),
        "services_overdue": len(overdue),
        "households": len(mine),
        "visited": len(visited),
        "screened": len(screened),
        "visits": len(today),
        "door": sum(1 for v in today if v.channel.value == "door"),
        "pending": pending(day),
        "pending_before": pending(day - dt.timedelta(days=1)),
        "active": len(orders),
        "new": len(new),
        "released": len(released),
        "flagged": len(flagged),
        "high": sum(1 for r in flagged.values() if r == 3),
        "alerts": len(messages),
        "sent": sum(1 for m in messages if m.id in sent),
        "checked": len({c.building_id for c in checkins}) + len({r.point_id for r in points}),
        "observed": len(observed) + points_observed,
        "anomalies": sum(a.count for c in [*checkins, *points] for a in c.anomalies),
        "tasks_open": len(tasks),
    }


# -- the daily report -----------------------------------------------------------------------


@pytest.mark.parametrize("community", [None, "c1", "c2"])
@pytest.mark.parametrize("offset", [0, 2, 5])
def test_daily_figures_equal_the_stored_facts(
    store: gridguard.Workspace, community: str | None, offset: int
) -> None:
    day = START + dt.timedelta(days=offset)
    report = daily_report(store, area=community, day=day)
    want = _expected_daily(store, day, community)
    assert report.day == day
    assert _figure(report, "sweep", "households") == want["households"]
    assert _figure(report, "overview", "households_visited") == want["visited"]
    assert _figure(report, "sweep", "households_screened") == want["screened"]
    assert _figure(report, "overview", "visits") == want["visits"]
    assert _figure(report, "sweep", "visits_door") == want["door"]
    assert _figure(report, "overview", "phone_pending") == want["pending"]
    change = want["pending"] - want["pending_before"] if offset else None  # none on day one
    assert _change(report, "overview", "phone_pending") == change
    assert _figure(report, "quarantine", "quarantine_active") == want["active"]
    assert _figure(report, "quarantine", "quarantine_new") == want["new"]
    assert _figure(report, "quarantine", "quarantine_released") == want["released"]
    assert _figure(report, "flagged_by_risk", "persons_flagged") == want["flagged"]
    assert _figure(report, "flagged_by_risk", "risk_high") == want["high"]
    assert _figure(report, "alerts", "alerts") == want["alerts"]
    assert _figure(report, "alerts", "alerts_sent") == want["sent"]
    assert _figure(report, "watch", "checkins") == want["checked"]
    assert _figure(report, "watch", "buildings_observed") == want["observed"]
    assert _figure(report, "watch", "anomalies") == want["anomalies"]
    assert _figure(report, "services", "tasks_open") == want["tasks_open"]
    assert _figure(report, "services", "services_open") == want["services_open"]
    assert _figure(report, "services", "services_overdue") == want["services_overdue"]


def test_daily_change_is_today_minus_yesterday(store: gridguard.Workspace) -> None:
    day = START + dt.timedelta(days=3)
    today = daily_report(store, day=day)
    before = daily_report(store, day=day - dt.timedelta(days=1))
    for key in ("households_visited", "visits", "phone_pending", "quarantine_active"):
        change = _change(today, "overview", key)
        assert change == _figure(today, "overview", key) - _figure(before, "overview", key)


def test_visits_by_outcome_agree_with_plain_sql(store: gridguard.Workspace, tmp_path: Path) -> None:
    import sqlite3

    campaign = store.get(Campaign, "cmp")
    day = START + dt.timedelta(days=1)
    start = campaign.day_start(day).strftime("%Y-%m-%d %H:%M:%S")
    stop = campaign.day_start(day + dt.timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    conn = sqlite3.connect(store.url.removeprefix("sqlite:///"))
    rows = conn.execute(
        'SELECT channel, outcome, count(*) FROM visits WHERE "at" >= ? AND "at" < ? '
        "GROUP BY channel, outcome",
        (start, stop),
    ).fetchall()
    conn.close()
    table = daily_report(store, day=day).block("visits_by_outcome")
    assert isinstance(table, Table)
    shown = {
        (row[0].en, column.key): value  # type: ignore[union-attr]
        for row in table.rows
        for column, value in zip(table.columns[1:], row[1:], strict=True)
    }
    names = {"door": "at the door", "phone": "by phone"}
    for channel, outcome, n in rows:
        assert shown[(names[channel], outcome)] == n


def test_a_grid_counts_only_its_own_households(store: gridguard.Workspace) -> None:
    day = START + dt.timedelta(days=5)
    grid = daily_report(store, area="g1", day=day)
    community = daily_report(store, area="c1", day=day)
    # g1 is the only grid of c1: the same households, reached through the buildings.
    for key in ("households_visited", "visits", "phone_pending", "quarantine_active"):
        assert _figure(grid, "overview", key) == _figure(community, "overview", key)


# -- day boundaries -------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York"])
def test_a_visit_counts_on_its_local_day(tmp_path: Path, zone: str) -> None:
    campaign = _campaign(zone)
    with gridguard.open(tmp_path / "d.db") as ws:
        ws.add(_tree(zone))
        last_second = campaign.day_start(START + dt.timedelta(days=1)) - dt.timedelta(seconds=1)
        ws.record(
            [
                Visit(at=last_second, household_id="h1", outcome="screened", campaign_id="cmp"),
                Visit(
                    at=last_second + dt.timedelta(seconds=1),
                    household_id="h2",
                    outcome="screened",
                    campaign_id="cmp",
                ),
            ]
        )
        first = daily_report(ws, day=START)
        second = daily_report(ws, day=START + dt.timedelta(days=1))
    assert _figure(first, "overview", "visits") == 1
    assert _figure(second, "overview", "visits") == 1
    assert _figure(second, "overview", "households_visited") == 2


def test_a_dst_day_has_its_23_hours(tmp_path: Path) -> None:
    """New York sprang forward on 2020-03-08: that local day is 23 hours long."""
    zone = "America/New_York"
    campaign = Campaign(
        id="cmp", name="dst", scope=("c1", "c2"), start=dt.date(2020, 3, 7), time_zone=zone
    )
    records = [r for r in _tree(zone) if not isinstance(r, Campaign)] + [campaign]
    day = dt.date(2020, 3, 8)
    start = campaign.day_start(day)
    stop = campaign.day_start(day + dt.timedelta(days=1))
    assert stop - start == dt.timedelta(hours=23)
    with gridguard.open(tmp_path / "dst.db") as ws:
        ws.add(records)
        ws.record(
            [
                Visit(at=start, household_id="h1", outcome="screened", campaign_id="cmp"),
                Visit(
                    at=stop - dt.timedelta(seconds=1),
                    household_id="h2",
                    outcome="not_home",
                    campaign_id="cmp",
                ),
                Visit(at=stop, household_id="h3", outcome="screened", campaign_id="cmp"),
            ]
        )
        report = daily_report(ws, day=day)
        progress = progress_report(ws, day=day + dt.timedelta(days=1))
    assert _figure(report, "overview", "visits") == 2
    chart = progress.block("burn_up")
    assert chart.series[0].values == (0, 2, 3)  # type: ignore[union-attr]


# -- bad input and empty areas --------------------------------------------------------------


def test_unknown_area_and_days_outside_the_campaign(store: gridguard.Workspace) -> None:
    with pytest.raises(NotFoundError, match="nowhere"):
        daily_report(store, area="nowhere", day=START)
    with pytest.raises(ValidationError) as before:
        daily_report(store, day=START - dt.timedelta(days=1))
    assert before.value.violations[0].path == "$.day"
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)
    with pytest.raises(ValidationError):
        progress_report(store, day=tomorrow)
    with pytest.raises(ValidationError, match="YYYY-MM-DD"):
        teams_report(store, day="30/01/2020")
    with pytest.raises(ValidationError) as kind:
        build_report(store, "weekly")
    assert kind.value.violations[0].path == "$.kind"


def test_a_campaign_that_ended_refuses_later_days(tmp_path: Path) -> None:
    ended = attrs.evolve(_campaign(), end=START + dt.timedelta(days=2))
    with gridguard.open(tmp_path / "e.db") as ws:
        ws.add([*(r for r in _tree(ZONE) if not isinstance(r, Campaign)), ended])
        daily_report(ws, day=ended.end)
        with pytest.raises(ValidationError, match="2020-01-27"):
            daily_report(ws, day=START + dt.timedelta(days=3))


def test_an_area_without_communities_gives_an_empty_report(store: gridguard.Workspace) -> None:
    from gridguard.model import Area, AreaLevel

    store.add([Area(id="west", name="西区", level=AreaLevel.DISTRICT, parent_id="zs")])
    for kind in ("daily", "progress", "teams", "linelist"):
        report = build_report(store, kind, area="west", day=START)
        assert report.area_id == "west"
        for _, block in report.blocks():
            if isinstance(block, Table):  # no rows, or (progress) a day of zeros
                numbers = [c for row in block.rows for c in row if isinstance(c, int | float)]
                assert not any(numbers), kind
    assert list(daily_report(store, area="west", day=START).blocks()) == []


def test_reports_need_a_sql_store() -> None:
    with gridguard.open("memory://") as ws:
        ws.add(_tree(ZONE))
        with pytest.raises(ConfigError, match="SQL"):
            daily_report(ws, day=START)


# -- progress, teams, line list -------------------------------------------------------------


def test_progress_is_the_running_count_of_first_visits(store: gridguard.Workspace) -> None:
    campaign = store.get(Campaign, "cmp")
    day = START + dt.timedelta(days=DAYS - 1)
    report = progress_report(store, day=day, plan_days=4)
    chart = report.block("burn_up")
    first: dict[str, dt.date] = {}
    for visit in _visits(store, campaign, None):
        local = _day(campaign, visit.at)
        first[visit.household_id] = min(first.get(visit.household_id, local), local)
    expected = [
        sum(1 for d in first.values() if d <= START + dt.timedelta(days=n)) for n in range(DAYS)
    ]
    assert list(chart.series[0].values) == expected  # type: ignore[union-attr]
    plan = list(chart.series[2].values)  # type: ignore[union-attr]
    households = len(store.find(Household))
    assert plan[3:] == [households] * (DAYS - 3)
    assert plan == sorted(plan)


def test_teams_count_shifts_and_households(store: gridguard.Workspace) -> None:
    campaign = store.get(Campaign, "cmp")
    day = START + dt.timedelta(days=DAYS - 1)
    report = teams_report(store, day=day)
    per_team: dict[str, dict[dt.date, set[str]]] = {}
    for visit in _visits(store, campaign, None):
        if visit.team_id:
            days = per_team.setdefault(visit.team_id, {})
            days.setdefault(_day(campaign, visit.at), set()).add(visit.household_id)
    names = {t.id: t.name for t in store.find(Team)}
    table = report.block("teams")
    assert isinstance(table, Table)
    got = {row[0]: (row[1], row[2]) for row in table.rows}
    want = {
        names[t]: (len(days), sum(len(h) for h in days.values())) for t, days in per_team.items()
    }
    assert got == want


def test_line_list_calls_the_not_at_home_and_masks_them(store: gridguard.Workspace) -> None:
    day = START + dt.timedelta(days=DAYS - 1)
    want = _expected_daily(store, day, None)
    report = line_list_report(store, day=day)
    assert _figure(report, "linelist_counts", "call_not_home") == want["pending"]
    assert _figure(report, "linelist_counts", "call_task") == want["tasks_open"]
    assert _figure(report, "linelist_counts", "call_quarantine") == want["active"]
    assert report.masked
    names = {p.name for p in store.find(Person)}
    table = report.block("linelist")
    assert isinstance(table, Table)
    assert not names & {row[2] for row in table.rows}
    clear = line_list_report(store, day=day, unmask=True).block("linelist")
    assert isinstance(clear, Table)
    shown = {row[2] for row in clear.rows} - {None}
    assert shown <= names
    assert len(line_list_report(store, day=day, limit=1).block("linelist").rows) <= 3  # type: ignore[union-attr]


# -- the files ------------------------------------------------------------------------------


def test_household_and_person_files_are_masked_unless_asked(store: gridguard.Workspace) -> None:
    masked = household_report(store, "h1")
    assert masked.masked
    members = masked.block("members")
    assert isinstance(members, Table)
    cells = {str(c) for row in members.rows for c in row}
    assert "陈建国" not in cells
    assert "陈**" in cells
    assert not any("13923456789" in c for c in cells)
    clear = household_report(store, "h1", unmask=True)
    assert "陈建国" in {str(c) for row in clear.block("members").rows for c in row}  # type: ignore[union-attr]
    person = person_report(store, "p1")
    assert person.masked
    assert "陈建国" not in str(person.to_dict())
    assert len(person.block("flags").rows) >= 0  # type: ignore[union-attr]
    with pytest.raises(NotFoundError):
        household_report(store, "nope")
    with pytest.raises(ValidationError) as missing:
        build_report(store, "person")
    assert missing.value.violations[0].path == "$.id"


def test_every_label_is_in_both_languages() -> None:
    from gridguard.report.locale import CATALOGUE, VALUES

    for key, label in {**CATALOGUE, **VALUES}.items():
        assert label.en.strip(), key
        assert label.zh.strip(), key
        assert label.en != label.zh, key


# -- PostgreSQL -----------------------------------------------------------------------------


def _comparable(report: Report) -> dict[str, Any]:
    data = report.to_dict(None)
    data.pop("generated_at")
    return data


def test_postgresql_builds_the_same_reports(tmp_path: Path) -> None:
    from rules_pg import pg_schema

    with (
        pg_schema() as (url, _),
        gridguard.open(url) as pg,
        gridguard.open(tmp_path / "s.db") as lite,
    ):
        for ws in (pg, lite):
            ws.add(_tree(ZONE))
            _facts(ws, ws.get(Campaign, "cmp"), 7)
        for kind in ("daily", "progress", "teams", "linelist"):
            for area in (None, "c1", "g2"):
                day = START + dt.timedelta(days=3)
                got = _comparable(build_report(pg, kind, area=area, day=day))
                assert got == _comparable(build_report(lite, kind, area=area, day=day)), kind
        for kind, id in (("household", "h1"), ("person", "p1")):
            assert _comparable(build_report(pg, kind, id=id)) == _comparable(
                build_report(lite, kind, id=id)
            )


# -- invariants -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[gridguard.Workspace]:
    with gridguard.open(tmp_path_factory.mktemp("inv") / "i.db") as ws:
        ws.add(_tree(ZONE))
        _facts(ws, ws.get(Campaign, "cmp"), 11)
        yield ws


@settings(max_examples=25, deadline=None)
@given(offset=st.integers(0, DAYS - 1), area=st.sampled_from([None, "c1", "c2", "g1", "zs"]))
def test_reports_agree_with_each_other(
    shared_store: gridguard.Workspace, offset: int, area: str | None
) -> None:
    day = START + dt.timedelta(days=offset)
    daily = daily_report(shared_store, area=area, day=day)
    progress = progress_report(shared_store, area=area, day=day)
    visited = _figure(daily, "overview", "households_visited")
    chart = progress.block("burn_up")
    assert chart.series[0].values[-1] == visited  # type: ignore[union-attr]
    assert chart.x[-1] == day.isoformat()  # type: ignore[union-attr]
    table = daily.block("visits_by_outcome")
    assert isinstance(table, Table)
    assert sum(c for row in table.rows for c in row[1:]) == _figure(daily, "overview", "visits")
    by_kind = daily.block("quarantine_by_kind")
    assert isinstance(by_kind, Table)
    assert sum(row[1] for row in by_kind.rows) == _figure(daily, "quarantine", "quarantine_active")
    households = _figure(daily, "sweep", "households")
    assert 0 <= _figure(daily, "sweep", "households_screened") <= visited <= households
    linelist = line_list_report(shared_store, area=area, day=day)
    counts = linelist.block("linelist_counts")
    assert isinstance(counts, Figures)
    assert counts.value("call_not_home") == _figure(daily, "overview", "phone_pending")


# -- access ---------------------------------------------------------------------------------


def test_reports_check_the_principal(tmp_path: Path) -> None:
    from gridguard.errors import AccessDenied
    from gridguard.security.principal import Principal, Role

    path = tmp_path / "a.db"
    with gridguard.open(path) as ws:
        ws.add(_tree(ZONE))
        _facts(ws, ws.get(Campaign, "cmp"), 5)
    day = START + dt.timedelta(days=2)
    secretary = Principal(name="黄书记", role=Role.COMMUNITY_SECRETARY, area_id="c1")
    with gridguard.open(path, principal=secretary) as ws:
        assert daily_report(ws, area="c1", day=day).area_id == "c1"
        assert line_list_report(ws, area="c1", day=day, unmask=True).masked is False
        with pytest.raises(AccessDenied):
            daily_report(ws, area="c2", day=day)
        with pytest.raises(AccessDenied):
            daily_report(ws, day=day)  # the campaign spans c2 too
    observer = Principal(name="观察员", role=Role.BUILDING_OBSERVER, building_id="b1")
    with gridguard.open(path, principal=observer) as ws, pytest.raises(AccessDenied):
        teams_report(ws, area="g1", day=day)
