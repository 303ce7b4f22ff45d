"""A small, fixed place tree with people, a team, a campaign and facts, for tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..model import (
    Anomaly,
    Area,
    AreaLevel,
    Building,
    Campaign,
    CheckIn,
    CheckInStatus,
    Exposure,
    ExposureKind,
    HealthReport,
    Household,
    MemberRole,
    OutbreakArea,
    Person,
    Screening,
    ServiceRequest,
    Stairwell,
    Team,
    TeamMember,
    Trip,
    Visit,
)
from ..model.identity import GB11643

__all__ = ["SAMPLE_START", "resident_id_for", "sample_facts", "sample_records"]

SAMPLE_START = dt.datetime(2020, 1, 25, 6, 0, tzinfo=dt.UTC)
"""14:00 in Zhongshan on the first day of the level-1 response."""


def resident_id_for(born: dt.date, sequence: int, region: str = "442000") -> str:
    """A valid GB 11643 number for a birth date and a 3-digit sequence (odd: male)."""
    first17 = f"{region}{born:%Y%m%d}{sequence % 1000:03d}"
    return first17 + GB11643.check_character(first17)


def sample_records() -> list[Any]:
    """Registry entries, parents first: two communities of one city, each with a grid.

    Community ``c1`` has building ``b1`` (stairwell ``s1``, households
    ``h1``/``h2``, persons ``p1``-``p3``) and team ``t1``; community ``c2``
    has building ``b2`` with household ``h3`` and person ``p4``.
    """
    born = dt.date(1955, 3, 7)
    return [
        Area(id="zs", name="中山市", level=AreaLevel.CITY, code="442000"),
        Area(id="east", name="东区", level=AreaLevel.DISTRICT, parent_id="zs"),
        Area(id="c1", name="华苑社区", level=AreaLevel.COMMUNITY, parent_id="east"),
        Area(id="c2", name="库充社区", level=AreaLevel.COMMUNITY, parent_id="east"),
        Area(id="g1", name="第一网格", level=AreaLevel.GRID, parent_id="c1"),
        Area(id="g2", name="第一网格", level=AreaLevel.GRID, parent_id="c2"),
        Building(id="b1", area_id="g1", name="牡丹阁3栋", compound="百苑新村"),
        Building(id="b2", area_id="g2", name="1栋", managed=True),
        Stairwell(id="s1", building_id="b1", name="1梯", floors=7, doors_per_floor=2),
        Stairwell(id="s2", building_id="b2", name="1梯", floors=5, doors_per_floor=3),
        Household(
            id="h1",
            stairwell_id="s1",
            floor=1,
            door="101",
            address="百苑新村牡丹阁3栋101",
            phone="13800138000",
        ),
        Household(id="h2", stairwell_id="s1", floor=2, door="201", address="百苑新村牡丹阁3栋201"),
        Household(id="h3", stairwell_id="s2", floor=1, door="101", address="库充1栋101"),
        Person(
            id="p1",
            household_id="h1",
            name="陈建国",
            resident_id=resident_id_for(born, 131),
            birth_date=born,
        ),
        Person(
            id="p2",
            household_id="h1",
            name="李秀英",
            resident_id=resident_id_for(dt.date(1958, 8, 1), 242),
            phone="+86 139 2345 6789",
        ),
        Person(id="p3", household_id="h2", name="王磊", residency="tenant"),
        Person(
            id="p4",
            household_id="h3",
            name="张伟",
            resident_id=resident_id_for(dt.date(1990, 12, 31), 17),
        ),
        Team(
            id="t1",
            name="第一小分队",
            area_id="c1",
            home_grid_id="g1",
            members=(
                TeamMember(name="黄干部", role=MemberRole.CADRE, party_member=True),
                TeamMember(name="刘医生", role=MemberRole.DOCTOR),
                TeamMember(name="周警官", role=MemberRole.POLICE, party_member=True),
            ),
        ),
        Campaign(
            id="cmp",
            name="华苑 2020 一级响应",
            scope=("c1", "c2"),
            start=dt.date(2020, 1, 25),
            outbreak_areas=(OutbreakArea(name="武汉", code="4201"),),
        ),
    ]


def sample_facts() -> list[Any]:
    """One fact of every kind about :func:`sample_records`, at fixed ids and times."""
    import uuid

    def fid(n: int) -> uuid.UUID:
        return uuid.UUID(int=n)

    at = SAMPLE_START
    return [
        Visit(
            id=fid(1), at=at, household_id="h1", team_id="t1", outcome="screened", campaign_id="cmp"
        ),
        Visit(
            id=fid(2),
            at=at + dt.timedelta(minutes=5),
            household_id="h2",
            team_id="t1",
            outcome="not_home",
        ),
        Visit(
            id=fid(3),
            at=at + dt.timedelta(hours=4),
            household_id="h2",
            channel="phone",
            outcome="screened",
        ),
        Screening(
            id=fid(4),
            at=at,
            person_id="p1",
            visit_id=fid(1),
            trips=(
                Trip(
                    destination="武汉", departed=dt.date(2020, 1, 10), returned=dt.date(2020, 1, 18)
                ),
            ),
            exposures=(
                Exposure(
                    kind=ExposureKind.OUTBREAK_AREA_ARRIVAL, last_contact=dt.date(2020, 1, 18)
                ),
            ),
            symptoms=("cough",),
            temperature=37.4,
        ),
        CheckIn(id=fid(5), at=at, building_id="b1", observer_id="p2"),
        CheckIn(
            id=fid(6),
            at=at + dt.timedelta(days=1),
            building_id="b1",
            observer_id="p2",
            status=CheckInStatus.ANOMALIES,
            anomalies=(Anomaly(kind="move_in", count=2, household_id="h2", note="两名租客搬入"),),
        ),
        HealthReport(id=fid(7), at=at + dt.timedelta(days=1), person_id="p1", temperature=36.6),
        ServiceRequest(
            id=fid(8),
            at=at + dt.timedelta(days=2),
            household_id="h1",
            service="groceries",
            note="大米 青菜",
        ),
    ]
