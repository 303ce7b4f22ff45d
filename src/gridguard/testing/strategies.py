"""Hypothesis strategies for days and instants at their edges, and a stored record of every kind.

Day boundaries are where screening bugs live: a return at 23:59 or at 00:01
local time decides whether a person's 14 days have run. These strategies
give days and instants there (local midnight, one second after, 23:59:59,
the last microsecond of a day, the days around daylight saving changes) in a
time zone without DST (Asia/Shanghai, gridguard's default), UTC and two
with DST, and give each day the ways a caller may pass it: a ``date``, or an
aware ``datetime`` on that day. :func:`stored_records` builds one record of
every stored kind (:data:`~gridguard.storage.schema.SPECS`) on top of
``sample_records()``, with its days and instants drawn from them;
:func:`edge_screenings` builds screenings whose trips and exposures end on
the days around a screening day's look-back window.

The storage contract suite runs its round-trip properties on them. Importing
this module needs Hypothesis (``gridguard[test]``).
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from typing import Any

import attrs
from hypothesis import strategies as st

from ..model import (
    Anomaly,
    AnomalyKind,
    Area,
    AreaLevel,
    Assessment,
    AuditEntry,
    Building,
    Campaign,
    CheckIn,
    CheckInStatus,
    DeliveryAttempt,
    DeliveryOutcome,
    Exposure,
    ExposureKind,
    HealthReport,
    Household,
    ListEntry,
    Match,
    MatchPass,
    MonitoringPoint,
    NotifyConfiguration,
    OutboxMessage,
    OutbreakArea,
    OutsideList,
    Person,
    PointReport,
    QuarantineExtension,
    QuarantineKind,
    QuarantineOrder,
    QuarantineRelease,
    ReviewDecision,
    ReviewItem,
    Screening,
    ScreeningRun,
    ServiceAssignment,
    ServiceCompletion,
    ServiceKind,
    ServiceRequest,
    Stairwell,
    Task,
    TaskKind,
    Team,
    Trip,
    Visit,
)
from ..model import Target as PriorityTarget

__all__ = [
    "EDGE_CLOCKS",
    "EDGE_ZONES",
    "OUTBREAK_AREA",
    "EdgeScreenings",
    "days",
    "edge_screenings",
    "given_days",
    "instants",
    "stored_records",
]

EDGE_ZONES = ("Asia/Shanghai", "UTC", "America/New_York", "Australia/Lord_Howe")
"""Shanghai (no DST since 1991), UTC, New York (DST at 02:00) and Lord Howe (a 30-minute DST)."""

EDGE_CLOCKS = (
    dt.time(0, 0),
    dt.time(0, 0, 1),
    dt.time(0, 1),
    dt.time(12, 0),
    dt.time(23, 59),
    dt.time(23, 59, 59),
    dt.time(23, 59, 59, 999_999),
)
"""Local times of day at the edges of a day (and noon, which exists on every day)."""

_EDGE_DAYS = (
    dt.date(2019, 12, 31),
    dt.date(2020, 1, 1),
    dt.date(2020, 1, 21),
    dt.date(2020, 2, 29),
    dt.date(2020, 3, 1),
    # New York: DST began 8 March and ended 1 November 2020.
    dt.date(2020, 3, 7),
    dt.date(2020, 3, 8),
    dt.date(2020, 3, 9),
    dt.date(2020, 10, 31),
    dt.date(2020, 11, 1),
    dt.date(2020, 11, 2),
    # Lord Howe: DST ended 5 April and began 4 October 2020.
    dt.date(2020, 4, 5),
    dt.date(2020, 10, 4),
)
_EARLIEST_DAY = dt.date(2000, 1, 1)

OUTBREAK_AREA = "武汉"
"""The outbreak area of the campaigns :func:`edge_screenings` makes."""


def _latest_day() -> dt.date:
    """Two days ago: an instant on it is in the past in every time zone."""
    return dt.date.today() - dt.timedelta(days=2)


def days() -> st.SearchStrategy[dt.date]:
    """Days since 2000 up to two days ago, often a year's end, a leap day or a DST change."""
    return st.sampled_from(_EDGE_DAYS) | st.dates(_EARLIEST_DAY, _latest_day())


def _exists(wall: dt.datetime) -> bool:
    """Whether a local wall-clock time exists (it does not in the gap of a DST change)."""
    back = wall.astimezone(dt.UTC).astimezone(wall.tzinfo)
    return back.replace(tzinfo=None) == wall.replace(tzinfo=None)


def _zones() -> st.SearchStrategy[zoneinfo.ZoneInfo]:
    return st.sampled_from(EDGE_ZONES).map(zoneinfo.ZoneInfo)


@st.composite
def _local(draw: st.DrawFn, day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    """An aware time on local ``day`` in ``zone``: mostly at an edge clock, always existing."""
    clock = draw(st.sampled_from(EDGE_CLOCKS) | st.times())
    wall = dt.datetime.combine(day, clock, zone)
    return wall if _exists(wall) else dt.datetime.combine(day, dt.time(12), zone)


@st.composite
def instants(draw: st.DrawFn, zone: dt.tzinfo | None = None) -> dt.datetime:
    """Aware past instants at the edges of a local day, in ``zone`` or one of :data:`EDGE_ZONES`."""
    where = zone if zone is not None else draw(_zones())
    return draw(_local(draw(days()), where))


@st.composite
def given_days(draw: st.DrawFn, day: dt.date, zone: dt.tzinfo | None = None) -> dt.date:
    """``day`` as a caller may pass it to a day field: the date, or an aware datetime on it.

    Without ``zone`` (a record that knows no time zone) the datetime shows
    ``day`` on its own clock, in any of :data:`EDGE_ZONES`. With ``zone``
    (a campaign's own days) it falls on ``day`` in ``zone``, and may be
    written in UTC, where its clock can show another day.
    """
    how = draw(st.sampled_from(("date", "local") if zone is None else ("date", "local", "utc")))
    if how == "date":
        return day
    wall = draw(_local(day, zone if zone is not None else draw(_zones())))
    return wall.astimezone(dt.UTC) if how == "utc" else wall


def _fid(draw: st.DrawFn) -> uuid.UUID:
    return draw(st.uuids(version=4))


@st.composite
def stored_records(draw: st.DrawFn) -> list[Any]:
    """One record of every stored kind, parents first, to store on top of the sample records.

    The records hang under community ``c1`` of ``sample_records()``: a grid,
    a building, a household and a person of their own, a campaign in one of
    :data:`EDGE_ZONES`, and one fact, order, task, message, list row... each
    referring to them. Every day field is drawn with :func:`given_days` and
    every instant with :func:`instants`, so the model's conversion of a
    datetime given for a day is part of what is stored.
    """
    zone = draw(_zones())
    start = draw(days())
    campaign_end = draw(st.none() | st.integers(0, 400))
    born = draw(days())
    first = draw(days())
    length = draw(st.integers(1, 40))

    def day_of(day: dt.date) -> dt.date:
        return draw(given_days(day))

    def instant() -> dt.datetime:
        return draw(instants())

    def maybe_instant() -> dt.datetime | None:
        return draw(st.none() | instants())

    def maybe_day() -> dt.date | None:
        return draw(st.none() | days().flatmap(given_days))

    area = Area(id="rt-grid", name="往返网格", level=AreaLevel.GRID, parent_id="c1")
    building = Building(id="rt-b", area_id=area.id, name="往返楼", observer_id="p2")
    stairwell = Stairwell(
        id="rt-s", building_id=building.id, name="1梯", floors=3, doors_per_floor=2
    )
    household = Household(
        id="rt-h", stairwell_id=stairwell.id, floor=1, door="101", address="往返楼101"
    )
    person = Person(id="rt-p", household_id=household.id, name="赵敏", birth_date=day_of(born))
    team = Team(id="rt-t", name="往返小分队", area_id="c1", home_grid_id=area.id)
    campaign = Campaign(
        id="rt-cmp",
        name="往返",
        scope=("c1",),
        start=draw(given_days(start, zone)),
        end=(
            None
            if campaign_end is None
            else draw(given_days(start + dt.timedelta(days=campaign_end), zone))
        ),
        time_zone=zone.key,
        outbreak_areas=(OutbreakArea(name=OUTBREAK_AREA, code="4201"),),
    )
    visit = Visit(
        id=_fid(draw),
        at=instant(),
        household_id=household.id,
        outcome="screened",
        team_id=team.id,
        campaign_id=campaign.id,
    )
    screening = Screening(
        id=_fid(draw),
        at=instant(),
        person_id=person.id,
        visit_id=visit.id,
        trips=(
            Trip(
                destination=OUTBREAK_AREA,
                departed=day_of(first),
                returned=day_of(first + dt.timedelta(days=length)),
            ),
            Trip(destination="广州", returned=maybe_day()),
        ),
        exposures=(Exposure(kind=ExposureKind.CONFIRMED_CASE, last_contact=day_of(draw(days()))),),
        temperature=37.3,
    )
    checkin = CheckIn(
        id=_fid(draw),
        at=instant(),
        building_id=building.id,
        observer_id="p2",
        status=CheckInStatus.ANOMALIES,
        anomalies=(Anomaly(kind=AnomalyKind.STRANGER, household_id=household.id),),
    )
    report = HealthReport(id=_fid(draw), at=instant(), person_id=person.id, temperature=36.8)
    request = ServiceRequest(
        id=_fid(draw), at=instant(), household_id=household.id, service=ServiceKind.GROCERIES
    )
    assessment = Assessment(
        id=_fid(draw),
        at=instant(),
        person_id=person.id,
        household_id=household.id,
        campaign_id=campaign.id,
        day=day_of(draw(days())),
        screening_id=screening.id,
        rule_set_id="quarantine",
        rule_set_version="1",
    )
    order = QuarantineOrder(
        id="rt-order",
        household_id=household.id,
        person_id=person.id,
        kind=QuarantineKind.HOME,
        start=day_of(first),
        end=day_of(first + dt.timedelta(days=length)),
        rule_id="manual",
        campaign_id=campaign.id,
        ordered_by="刘医生",
        ordered_at=maybe_instant(),
        rule_set_id="quarantine",
        rule_set_version="1",
    )
    task = Task(
        id="rt-task",
        household_id=household.id,
        person_id=person.id,
        kind=TaskKind.DELIVERY,
        due=instant(),
        rule_id="manual",
        rule_set_id="quarantine",
        rule_set_version="1",
    )
    run = ScreeningRun(
        id=_fid(draw),
        at=instant(),
        campaign_id=campaign.id,
        day=day_of(draw(days())),
        watermark=maybe_instant(),
        inputs=draw(st.sampled_from(["", '{"places":{"c1":"3:0|2:2"},"seq":1}'])),
        rule_set_id="quarantine",
        rule_set_version="1",
    )
    message = OutboxMessage(
        id=_fid(draw),
        at=instant(),
        area_id="c1",
        channel="console",
        recipient="community_doctor",
        not_before=maybe_instant(),
    )
    attempt = DeliveryAttempt(
        id=_fid(draw),
        at=instant(),
        message_id=message.id,
        attempt=1,
        outcome=DeliveryOutcome.FAILED,
        due_at=maybe_instant(),
    )
    outside = OutsideList(id="rt-list", source="railway-0124", area_id="c1", received=maybe_day())
    entry = ListEntry(
        id=_fid(draw), at=instant(), list_id=outside.id, row=2, last_contact=maybe_day()
    )
    match = Match(
        id=_fid(draw),
        at=instant(),
        entry_id=entry.id,
        person_id=person.id,
        match_pass=MatchPass.IDENTITY,
        score=1.0,
        source=outside.source,
    )
    review = ReviewItem(id=_fid(draw), at=instant(), entry_id=entry.id, reason="no one alike")
    decision = ReviewDecision(id=_fid(draw), at=instant(), entry_id=entry.id, person_id=person.id)
    target = PriorityTarget(
        id="rt-target",
        household_id=household.id,
        grid_id=area.id,
        priority=1.0,
        persons=(person.id,),
        last_contact=maybe_day(),
    )
    point = MonitoringPoint(id="rt-point", area_id=area.id, name="监测点", observer_id="p2")
    point_report = PointReport(id=_fid(draw), at=instant(), point_id=point.id, observer_id="p2")
    release = QuarantineRelease(
        id=_fid(draw),
        at=instant(),
        order_id=order.id,
        household_id=household.id,
        person_id=person.id,
        end=day_of(first + dt.timedelta(days=length)),
    )
    extension = QuarantineExtension(
        id=_fid(draw),
        at=instant(),
        order_id=order.id,
        household_id=household.id,
        last_exposure=day_of(first),
        previous_end=day_of(first + dt.timedelta(days=length)),
        new_end=day_of(first + dt.timedelta(days=length + draw(st.integers(1, 14)))),
    )
    assignment = ServiceAssignment(
        id=_fid(draw),
        at=instant(),
        request_id=request.id,
        household_id=household.id,
        team_id=team.id,
        due=instant(),
    )
    completion = ServiceCompletion(
        id=_fid(draw), at=instant(), request_id=request.id, household_id=household.id
    )
    audit = AuditEntry(
        id=_fid(draw),
        at=instant(),
        seq=1,
        principal="admin",
        role="admin",
        scope="*",
        action="read",
        target=f"Person:{person.id}",
    )
    configuration = NotifyConfiguration(
        id=_fid(draw),
        at=instant(),
        settings={"channels": {"file": {"type": "jsonl", "path": "n.jsonl"}}},
        source="notify.toml",
    )
    return [
        area,
        building,
        stairwell,
        household,
        person,
        team,
        campaign,
        visit,
        screening,
        checkin,
        report,
        request,
        assessment,
        order,
        task,
        run,
        message,
        attempt,
        outside,
        entry,
        match,
        review,
        decision,
        target,
        point,
        point_report,
        release,
        extension,
        assignment,
        completion,
        audit,
        configuration,
    ]


@attrs.frozen(kw_only=True)
class EdgeScreenings:
    """A campaign, the local day to screen on, and screenings of the sample persons."""

    campaign: Campaign
    day: dt.date
    screenings: tuple[Screening, ...]


@st.composite
def edge_screenings(draw: st.DrawFn, look_back: int = 14) -> EdgeScreenings:
    """Screenings of ``p1``-``p4`` whose trips and exposures end around the look-back window.

    The campaign (id ``cmp``, as in ``sample_records()``)
    runs in one of :data:`EDGE_ZONES`; every trip back from
    :data:`OUTBREAK_AREA` and every exposure ends ``look_back - 1`` to
    ``look_back + 1`` days before the screening day, on it, or a day after,
    given as a day or as a local time at an edge of that day.
    """
    zone = draw(_zones())
    day = draw(days())
    campaign = Campaign(
        id="cmp",
        name="边界",
        scope=("c1", "c2"),
        start=day - dt.timedelta(days=60),
        time_zone=zone.key,
        look_back_days=look_back,
        outbreak_areas=(OutbreakArea(name=OUTBREAK_AREA, code="4201"),),
    )
    offsets = st.sampled_from((look_back + 1, look_back, look_back - 1, 1, 0, -1))

    def edge_day() -> dt.date:
        ago = draw(offsets)
        when = day - dt.timedelta(days=ago)
        return draw(st.sampled_from((when, draw(_local(when, zone)))))

    screenings = []
    for n, person_id in enumerate(("p1", "p2", "p3", "p4"), start=1):
        trips = [Trip(destination=OUTBREAK_AREA, returned=edge_day())]
        if draw(st.booleans()):
            trips.append(Trip(destination="广州", returned=edge_day()))
        kind = draw(st.sampled_from(ExposureKind))
        screenings.append(
            Screening(
                id=uuid.UUID(int=900 + n),
                at=draw(_local(day, zone)),
                person_id=person_id,
                trips=trips if draw(st.booleans()) else (),
                exposures=(Exposure(kind=kind, last_contact=edge_day()),),
            )
        )
    return EdgeScreenings(campaign=campaign, day=day, screenings=tuple(screenings))
