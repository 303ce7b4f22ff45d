"""A small place tree for the building-watch tests: observers, a village with monitoring points."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gridguard import (
    Area,
    AreaLevel,
    Building,
    Campaign,
    Household,
    MemberRole,
    Person,
    Stairwell,
    Team,
    TeamMember,
)
from gridguard.notifications.settings import Contact, NotifySettings
from gridguard.watch import MonitoringPoint

START = dt.date(2020, 1, 25)
BUILDINGS = ("b1", "b2", "b3", "b4")
OBSERVED = ("b1", "b2", "b3")
"""Buildings with an observer; b4 has none."""


def world(time_zone: str = "Asia/Shanghai") -> list[Any]:
    """Community c1 (grid g1, buildings b1-b4) and village v1 (groups vg1, vg2).

    Building ``bN`` has stairwell ``bN-s``, households ``bN-h1`` and
    ``bN-h2``; the observer of ``bN`` is ``oN`` (with a phone) living in
    ``bN-h1``; ``x1`` lives in b1 and has no phone. Village group ``vg1``
    has point ``mp1`` staffed by ``o9``; ``vg2`` has none.
    """
    out: list[Any] = [
        Area(id="zs", name="中山市", level=AreaLevel.CITY),
        Area(id="c1", name="华苑社区", level=AreaLevel.COMMUNITY, parent_id="zs"),
        Area(id="g1", name="第一网格", level=AreaLevel.GRID, parent_id="c1"),
        Area(id="v1", name="五桂山村", level=AreaLevel.VILLAGE, parent_id="zs"),
        Area(id="vg1", name="一组", level=AreaLevel.VILLAGE_GROUP, parent_id="v1"),
        Area(id="vg2", name="二组", level=AreaLevel.VILLAGE_GROUP, parent_id="v1"),
    ]
    for n, building in enumerate(BUILDINGS, start=1):
        out += [
            Building(id=building, area_id="g1", name=f"{n}栋", compound="百苑新村"),
            Stairwell(
                id=f"{building}-s", building_id=building, name="1梯", floors=2, doors_per_floor=1
            ),
            Household(
                id=f"{building}-h1",
                stairwell_id=f"{building}-s",
                floor=1,
                door="101",
                address=f"百苑新村{n}栋101",
            ),
            Household(
                id=f"{building}-h2",
                stairwell_id=f"{building}-s",
                floor=2,
                door="201",
                address=f"百苑新村{n}栋201",
            ),
            Person(
                id=f"o{n}", household_id=f"{building}-h1", name=f"观察员{n}", phone=f"1380013800{n}"
            ),
        ]
    out += [
        Building(id="vb", area_id="vg1", name="村屋"),
        Stairwell(id="vb-s", building_id="vb", name="1", floors=1, doors_per_floor=1),
        Household(id="vb-h1", stairwell_id="vb-s", floor=1, door="1", address="五桂山一组1号"),
        Person(id="o9", household_id="vb-h1", name="村干部", phone="13900139009"),
        Person(id="x1", household_id="b1-h2", name="没电话"),
        Team(
            id="t1",
            name="第一小分队",
            area_id="c1",
            home_grid_id="g1",
            members=(
                TeamMember(name="王书记", role=MemberRole.CADRE),
                TeamMember(name="陈医生", role=MemberRole.DOCTOR),
                TeamMember(name="李警官", role=MemberRole.POLICE),
            ),
        ),
        Campaign(id="cmp", name="2020", scope=("c1", "v1"), start=START, time_zone=time_zone),
    ]
    return out


def observe(ws: Any) -> None:
    """Give b1-b3 their observers and vg1 its staffed monitoring point."""
    from gridguard.watch import add_point, assign_observer

    for n, building in enumerate(OBSERVED, start=1):
        assign_observer(ws, building, f"o{n}")
    add_point(ws, MonitoringPoint(id="mp1", area_id="vg1", name="一组监测点", observer_id="o9"))


NOTIFY = NotifySettings(
    campaign="cmp",
    contacts=(
        Contact(role="grid_worker", area_id="g1", name="网格员甲", phone="13700137000"),
        Contact(role="grid_worker", area_id="vg1", name="网格员乙", phone="13700137001"),
        Contact(role="community_secretary", area_id="c1", name="书记", phone="13700137002"),
        Contact(role="community_secretary", area_id="v1", name="村书记", phone="13700137003"),
    ),
)
"""One console channel; grid workers and secretaries given as contacts."""
