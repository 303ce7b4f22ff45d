"""The demo's quarantine step: two weeks of health reports for the persons the rules ordered home.

From the day after the screening day to the last day any order holds, each
person under an active order reports in the morning and the evening (a few
reports are missed, one or two show a fever), all drawn from a generator
seeded by the demo's seed. The missed-report job then turns each empty slot
into a phone call, and the orders are released at their end.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import DemoContext

__all__ = ["monitor"]

MISS_RATE = 0.01
"""Share of half-day reports that do not come in."""
FEVERS = 2


def monitor(ctx: DemoContext) -> None:
    """Health reports, missed-report phone calls, fever referrals and releases.

    Reports ``active_quarantines`` (active on the first monitored day),
    ``health_reports``, ``missed_reports``, ``fever_referrals`` and
    ``released_quarantines``.
    """
    from ..model import HealthReport, Person
    from ..model.assessments import OrderStatus, QuarantineOrder
    from ..quarantine import QuarantinePolicy, census, check_missed, record_reports, release_due

    ws = ctx.ws
    campaign = ctx.scenario.campaign
    policy = QuarantinePolicy(time_zone=campaign.time_zone)
    rng = random.Random(ctx.seed * 7919 + 4)
    task = ctx.progress.add_task("Quarantine monitoring 居家隔离监测", total=1)
    screened = ctx.summary.get("screening_day")
    first = (dt.date.fromisoformat(screened) if screened else campaign.start) + dt.timedelta(days=1)
    orders = ws.find(QuarantineOrder, status=OrderStatus.ACTIVE)
    household_orders = {o.household_id for o in orders if o.person_id is None}
    members: dict[str, list[str]] = {
        hid: [p.id for p in ws.find(Person, household_id=hid)] for hid in sorted(household_orders)
    }
    subjects = sorted(
        {
            (pid, o.start, o.end)
            for o in orders
            for pid in ([o.person_id] if o.person_id else members.get(o.household_id, []))
        }
    )
    last = max((end for _, _, end in subjects), default=first) - dt.timedelta(days=1)
    monitored = [n for n, (_, start, end) in enumerate(subjects) if max(first, start) < end]
    fevered = set(rng.sample(monitored, min(FEVERS, len(monitored))))
    reports: list[HealthReport] = []
    for n, (pid, start, end) in enumerate(subjects):
        day = max(first, start)
        span = (end - day).days
        fever_day = day + dt.timedelta(days=rng.randrange(span)) if n in fevered else None
        while day < end:
            for hour in (8, 20):
                hot = day == fever_day and hour == 8
                if rng.random() < MISS_RATE and not hot:
                    continue
                local = dt.datetime.combine(day, dt.time(hour, rng.randrange(60)), policy.zone)
                temperature = (
                    round(37.9 + rng.random(), 1) if hot else round(36.2 + rng.random() * 0.8, 1)
                )
                reports.append(
                    HealthReport(
                        id=_uuid(rng),
                        at=local,
                        person_id=pid,
                        temperature=temperature,
                        symptoms=("cough",) if hot else (),
                    )
                )
            day += dt.timedelta(days=1)
    active = sum(r.active for r in census(ws, day=first, policy=policy))
    result = record_reports(ws, reports, policy=policy)
    end_of_last = policy.day_start(last + dt.timedelta(days=1))
    missed = check_missed(ws, now=end_of_last, since=policy.day_start(first), policy=policy)
    released = release_due(ws, at=end_of_last + dt.timedelta(hours=1), policy=policy)
    ctx.progress.update(task, completed=1)
    ctx.report("active_quarantines", active, "Active quarantines 在管隔离")
    ctx.report("health_reports", result.written, "Health reports 健康报告")
    ctx.report("missed_reports", missed.new_tasks, "Missed reports (phone calls) 漏报（电话随访）")
    ctx.report("fever_referrals", result.referrals, "Fever referrals 发热转诊")
    ctx.report("released_quarantines", len(released), "Released 解除隔离")


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)
