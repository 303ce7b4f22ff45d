"""Shared set-up for the quarantine and services tests: the sample tree plus a service team."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import gridguard
from gridguard.model import MemberRole, Team, TeamKind, TeamMember
from gridguard.testing.sample import sample_records

ZONE = "Asia/Shanghai"
T0 = dt.datetime(2020, 1, 30, 1, 0, tzinfo=dt.UTC)
"""09:00 in Zhongshan, 30 January 2020."""


def local(day: dt.date, hour: int, minute: int = 0, zone: str = ZONE) -> dt.datetime:
    """An aware instant at ``hour:minute`` local time on ``day``."""
    import zoneinfo

    return dt.datetime.combine(day, dt.time(hour, minute), zoneinfo.ZoneInfo(zone))


SERVICE_TEAM = Team(
    id="svc1",
    name="党群先锋服务队",
    area_id="c1",
    kind=TeamKind.SERVICE,
    members=(TeamMember(name="党员甲", role=MemberRole.VOLUNTEER, party_member=True),),
)


def order_by_hand(ws: Any, **kw: Any) -> Any:
    """A home quarantine order by hand for ``p1`` (last exposed 28 January), at :data:`T0`.

    ``kw`` overrides any argument of :func:`gridguard.quarantine.order_quarantine`.
    """
    from gridguard.quarantine import order_quarantine

    args: dict[str, Any] = {
        "person_id": "p1",
        "last_exposure": dt.date(2020, 1, 28),
        "ordered_by": "刘医生",
        "reason": "密切接触",
        "at": T0,
    }
    args.update(kw)
    return order_quarantine(ws, **args)


def records() -> list[Any]:
    return [*sample_records(), SERVICE_TEAM]


def open_store(kind: str, tmp_path: Path) -> Any:
    store = gridguard.open("memory://" if kind == "memory" else tmp_path / "q.db")
    store.add(records())
    return store


@pytest.fixture(params=["memory", "sqlite"])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    store = open_store(request.param, tmp_path)
    with store:
        yield store
