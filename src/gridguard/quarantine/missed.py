"""Missed health reports: a half-day slot with no report by its cut-off becomes a phone call.

Each local day of an order has two slots, 00:00-12:00 and 12:00-24:00 in
the campaign's time zone (on a daylight-saving day a slot is 11 or 13
hours long). A slot is checked once it has closed and the policy's grace
has passed; a person with no report in it gets a ``phone_call``
:class:`~gridguard.model.assessments.Task` whose id is derived from the person
and the slot, so running the job again, however often, adds nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING

import attrs

from ..model import HealthReport, Person
from ..model.assessments import Task, TaskKind, stable_id
from ..model.quarantine import QUARANTINE_RULE_SET, QuarantinePolicy
from ..storage.base import unstored
from ._db import chunks, instant, policy_for, sql_for
from .lifecycle import _in_scope, active_orders

if TYPE_CHECKING:
    from ..storage.base import UnitOfWork
    from ..workspace import Workspace

__all__ = ["MISSED_RULE", "MissedReport", "MissedResult", "check_missed", "slot_of", "slots"]

MISSED_RULE = "missed-health-report"
"""``rule_id`` of the phone-call tasks a missed report makes."""
_HALF = (dt.time(0), dt.time(12))


def slot_of(at: dt.datetime, policy: QuarantinePolicy) -> tuple[dt.datetime, dt.datetime]:
    """The half-day slot holding instant ``at``: its start and end, in UTC."""
    local = at.astimezone(policy.zone)
    day = local.date()
    if local.hour < 12:
        start, end = dt.datetime.combine(day, _HALF[0]), dt.datetime.combine(day, _HALF[1])
    else:
        start = dt.datetime.combine(day, _HALF[1])
        end = dt.datetime.combine(day + dt.timedelta(days=1), _HALF[0])
    zone = policy.zone
    return start.replace(tzinfo=zone).astimezone(dt.UTC), end.replace(tzinfo=zone).astimezone(
        dt.UTC
    )


def slots(
    first: dt.date, last: dt.date, policy: QuarantinePolicy
) -> Iterator[tuple[dt.date, int, dt.datetime, dt.datetime]]:
    """``(day, half, start, end)`` of every slot from local day ``first`` to ``last``."""
    zone = policy.zone
    day = first
    while day <= last:
        bounds = [
            dt.datetime.combine(day, _HALF[0], zone),
            dt.datetime.combine(day, _HALF[1], zone),
            dt.datetime.combine(day + dt.timedelta(days=1), _HALF[0], zone),
        ]
        utc = [b.astimezone(dt.UTC) for b in bounds]
        yield day, 0, utc[0], utc[1]
        yield day, 1, utc[1], utc[2]
        day += dt.timedelta(days=1)


@attrs.frozen
class MissedReport:
    """A person's slot without a health report."""

    person_id: str
    household_id: str
    order_id: str
    day: dt.date
    half: int
    """0 for 00:00-12:00, 1 for 12:00-24:00 local."""
    start: dt.datetime
    end: dt.datetime

    @property
    def slot(self) -> str:
        return f"{self.day.isoformat()} {'AM' if self.half == 0 else 'PM'}"


@attrs.frozen
class MissedResult:
    """What :func:`check_missed` found: slots checked, slots missed, tasks newly made."""

    checked: int
    missed: tuple[MissedReport, ...]
    new_tasks: int


def _members(ws: Workspace, uow: UnitOfWork, households: list[str]) -> dict[str, list[str]]:
    sql = sql_for(ws)
    out: dict[str, list[str]] = {}
    if sql is None:
        for hid in households:
            out[hid] = [p.id for p in uow.find(Person, where={"household_id": hid})]
        return out
    for chunk in chunks(households):
        marks = ", ".join("?" for _ in chunk)
        text = sql.text(f"SELECT household_id, id FROM persons WHERE household_id IN ({marks})")
        for hid, pid in uow.query(text, list(chunk)):
            out.setdefault(str(hid), []).append(str(pid))
    return out


def _reported(
    ws: Workspace, uow: UnitOfWork, since: dt.datetime, now: dt.datetime, policy: QuarantinePolicy
) -> set[tuple[str, dt.datetime]]:
    """``(person, slot start)`` of every report from ``since`` up to ``now``."""
    sql = sql_for(ws)
    if sql is None:
        times = ((r.person_id, r.at) for r in uow.find(HealthReport) if since <= r.at < now)
    else:
        text = sql.text("SELECT person_id, at FROM health_reports WHERE at >= ? AND at < ?")
        rows = uow.query(text, [sql.ts(since), sql.ts(now)])
        times = ((str(p), instant(a)) for p, a in rows)  # type: ignore[misc]
    return {(p, slot_of(at, policy)[0]) for p, at in times if at is not None}


def _task(miss: MissedReport, policy: QuarantinePolicy) -> Task:
    return Task(
        id=str(stable_id("quarantine-missed", miss.person_id, miss.start)),
        household_id=miss.household_id,
        person_id=miss.person_id,
        kind=TaskKind.PHONE_CALL,
        due=miss.end + policy.grace,
        note=f"no health report 未报健康状况: {miss.slot}",
        rule_id=MISSED_RULE,
        rule_set_id=QUARANTINE_RULE_SET,
        rule_set_version="builtin",
    )


def check_missed(
    ws: Workspace,
    *,
    now: dt.datetime | None = None,
    since: dt.datetime | None = None,
    campaign_id: str | None = None,
    policy: QuarantinePolicy | None = None,
) -> MissedResult:
    """Find slots from ``since`` (default: a day before ``now``) that closed without a report.

    Every person under an active order (a household order covers each of
    its members) is checked for each slot of the order's days that started
    at or after ``since`` (and after the order was made, for an order made
    by hand) and whose cut-off (its end + grace) is not after ``now``. A
    phone-call task is stored for each missed slot, once. Needs a medical
    role (``quarantine.check``); only orders in the principal's scope are
    checked.
    """
    now = now or dt.datetime.now(dt.UTC)
    since = since or now - dt.timedelta(days=1)
    ws.authorize("quarantine.check")
    with ws._transaction() as uow:
        pol = policy_for(uow, campaign_id, policy)
        orders = _in_scope(ws, active_orders(ws, uow))
        household_orders = sorted({o.household_id for o in orders if o.person_id is None})
        members = _members(ws, uow, household_orders) if household_orders else {}
        reported = _reported(ws, uow, since, now, pol)
        first_day, last_day = pol.local_date(since), pol.local_date(now)
        window = list(slots(first_day, last_day, pol))
        missed: list[MissedReport] = []
        checked = 0
        seen: set[tuple[str, dt.datetime]] = set()
        for order in orders:
            persons = [order.person_id] if order.person_id else members.get(order.household_id, [])
            opened = since if order.ordered_at is None else max(since, order.ordered_at)
            for day, half, start, end in window:
                if not order.start <= day < order.end:
                    continue
                if start < opened or end + pol.grace > now:
                    continue
                for pid in persons:
                    if (pid, start) in seen:
                        continue
                    seen.add((pid, start))
                    checked += 1
                    if (pid, start) not in reported:
                        missed.append(
                            MissedReport(pid, order.household_id, order.id, day, half, start, end)
                        )
        new = unstored(uow, Task, [_task(m, pol) for m in missed])
        if new:
            uow.put(Task, new)
    return MissedResult(checked, tuple(missed), len(new))
