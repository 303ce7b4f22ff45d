"""The demo's services step: a service team delivers groceries to quarantined households.

A party-member service team (党群先锋服务队) is formed for the community;
some quarantined households ask for groceries on the day after screening,
the team is given each request due six hours later and delivers all but
one, which is left overdue. Drawn from a generator seeded by the demo's seed.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import DemoContext

__all__ = ["deliver"]

REQUESTS = 24
"""Households that ask (at most; fewer when fewer are quarantined)."""


def deliver(ctx: DemoContext) -> None:
    """Requests, assignment to a service team, deliveries, and the overdue list.

    Reports ``service_requests``, ``service_delivered`` and ``service_overdue``.
    """
    import uuid

    from ..model import MemberRole, Team, TeamKind, TeamMember
    from ..model.assessments import OrderStatus, QuarantineOrder
    from ..quarantine import QuarantinePolicy
    from ..services import assign_service, complete_service, overdue, request_service

    ws = ctx.ws
    campaign = ctx.scenario.campaign
    policy = QuarantinePolicy(time_zone=campaign.time_zone)
    rng = random.Random(ctx.seed * 104729 + 5)
    task = ctx.progress.add_task("Grocery deliveries 买菜送菜", total=1)
    screened = ctx.summary.get("screening_day")
    day = (dt.date.fromisoformat(screened) if screened else campaign.start) + dt.timedelta(days=1)
    team = Team(
        id=f"{ctx.scenario.community.id}-service-1",
        name="党群先锋服务队",
        area_id=ctx.scenario.community.id,
        kind=TeamKind.SERVICE,
        members=(
            TeamMember(name="党员志愿者一", role=MemberRole.VOLUNTEER, party_member=True),
            TeamMember(name="党员志愿者二", role=MemberRole.VOLUNTEER, party_member=True),
        ),
    )
    ws.add([team])
    households = sorted(
        {
            o.household_id
            for o in ws.find(QuarantineOrder, status=OrderStatus.ACTIVE)
            if o.active_on(day)
        }
    )
    chosen = sorted(rng.sample(households, min(REQUESTS, len(households))))
    delivered = 0
    late_one = rng.randrange(len(chosen)) if chosen else -1
    for n, hid in enumerate(chosen):
        at = dt.datetime.combine(day, dt.time(8, rng.randrange(60)), policy.zone)
        request = request_service(
            ws,
            id=uuid.UUID(int=rng.getrandbits(128), version=4),
            household_id=hid,
            service="groceries",
            note="大米、青菜、鸡蛋",
            at=at,
            policy=policy,
        )
        assign_service(
            ws, request.id, team_id=team.id, due=at + dt.timedelta(hours=6), at=at, policy=policy
        )
        if n != late_one:
            done_at = at + dt.timedelta(hours=2, minutes=rng.randrange(180))
            complete_service(ws, request.id, at=done_at, note="已送达")
            delivered += 1
    late = overdue(ws, now=policy.day_start(day + dt.timedelta(days=1)), policy=policy)
    ctx.progress.update(task, completed=1)
    ctx.report("service_requests", len(chosen), "Service requests 服务需求")
    ctx.report("service_delivered", delivered, "Delivered 已送达")
    ctx.report("service_overdue", len(late), "Overdue 超时未办")
