"""Twice-daily health reports under quarantine, and what a fever or a symptom sets off.

A report is accepted only for a person under an active quarantine order on
the report's local day (their own order or their household's); a
temperature outside 30-45 °C or a time in the future is refused by
:class:`~gridguard.model.HealthReport` itself. One bad report in a batch
stores nothing of the batch.

A temperature at or above the policy's threshold (37.3 °C), or any symptom,
refers the person to the fever clinic (a ``referral``
:class:`~gridguard.model.assessments.Task`) and tells the community doctor
through the notification outbox (topic ``quarantine_fever``), both in the
transaction that stores the report, and both once per person and local day.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import ValidationError, Violation
from ..model import HealthReport, Person
from ..model.assessments import OrderStatus, QuarantineOrder, Task, TaskKind, stable_id
from ..model.quarantine import QUARANTINE_RULE_SET, QuarantinePolicy
from ..notifications.config import settings_for
from ..notifications.outbox import enqueue
from ..notifications.routing import Event, Router, resolve_place
from ..notifications.settings import NotifySettings, Route
from ..notify.base import Message
from ..storage.base import unstored
from ._db import chunks, policy_for, select, sql_for

if TYPE_CHECKING:
    from ..notifications.settings import NotifySettings
    from ..storage.base import UnitOfWork
    from ..workspace import Workspace

__all__ = ["FEVER_RULE", "FEVER_TOPIC", "ReportResult", "is_fever", "record_reports"]

FEVER_RULE = "fever-or-symptoms"
"""``rule_id`` of the referral tasks a health report makes."""
FEVER_TOPIC = "quarantine_fever"
"""Notification topic of a fever or symptoms under quarantine."""
WORKFLOW_VERSION = "builtin"


@attrs.frozen
class ReportResult:
    """What :func:`record_reports` stored: reports, new referrals and new messages."""

    written: int
    unchanged: int
    referrals: int
    notified: int


def is_fever(report: HealthReport, policy: QuarantinePolicy) -> bool:
    """A temperature at or above the threshold, or any symptom."""
    hot = report.temperature is not None and report.temperature >= policy.fever_threshold
    return hot or bool(report.symptoms)


def _persons(ws: Workspace, uow: UnitOfWork, ids: list[str]) -> dict[str, str]:
    """Person id -> household id, for the ids that exist."""
    sql = sql_for(ws)
    if sql is None:
        found = (uow.get(Person, pid) for pid in ids)
        return {p.id: p.household_id for p in found if p is not None}
    out: dict[str, str] = {}
    for chunk in chunks(ids):
        marks = ", ".join("?" for _ in chunk)
        text = sql.text(f"SELECT id, household_id FROM persons WHERE id IN ({marks})")
        out.update((str(a), str(b)) for a, b in uow.query(text, list(chunk)))
    return out


def orders_for_households(
    ws: Workspace, uow: UnitOfWork, households: list[str]
) -> dict[str, list[QuarantineOrder]]:
    """Active orders by household id (person and household orders alike)."""
    sql = sql_for(ws)
    found: dict[str, list[QuarantineOrder]] = defaultdict(list)
    if sql is None:
        for hid in households:
            where = {"household_id": hid, "status": OrderStatus.ACTIVE}
            found[hid] += uow.find(QuarantineOrder, where=where)
        return found
    for chunk in chunks(households):
        marks = ", ".join("?" for _ in chunk)
        for order in select(
            uow,
            sql,
            QuarantineOrder,
            f"t.status = ? AND t.household_id IN ({marks})",
            [OrderStatus.ACTIVE.value, *chunk],
        ):
            found[order.household_id].append(order)
    return found


def covering(
    orders: Iterable[QuarantineOrder], person_id: str | None, day: dt.date
) -> QuarantineOrder | None:
    """The order that holds ``person_id`` (any person for ``None``) on ``day``, if one does."""
    for order in orders:
        if order.active_on(day) and (person_id is None or order.person_id in (None, person_id)):
            return order
    return None


def _referral(report: HealthReport, order: QuarantineOrder, day: dt.date) -> Task:
    what = [f"{report.temperature:.1f} °C"] if report.temperature is not None else []
    what += list(report.symptoms)
    return Task(
        id=str(stable_id("quarantine-referral", report.person_id, day)),
        household_id=order.household_id,
        person_id=report.person_id,
        kind=TaskKind.REFERRAL,
        due=report.at,
        note="fever clinic 发热门诊: " + ", ".join(what),
        rule_id=FEVER_RULE,
        rule_set_id=QUARANTINE_RULE_SET,
        rule_set_version=WORKFLOW_VERSION,
    )


def _messages(
    ws: Workspace, uow: UnitOfWork, fevers: list[tuple[HealthReport, dt.date]], settings: Any
) -> list[Any]:

    settings = settings_for(ws, settings)
    if settings.route(FEVER_TOPIC) is None:
        route = Route(topic=FEVER_TOPIC, roles=("community_doctor",), urgent=True)
        settings = attrs.evolve(settings, routes=(*settings.routes, route))
    router = Router.for_workspace(ws, settings)
    out: list[Any] = []
    for report, day in fevers:
        event = Event(
            topic=FEVER_TOPIC,
            key=f"{report.person_id}:{day.isoformat()}",
            at=report.at,
            person_id=report.person_id,
            values={
                "temperature": report.temperature,
                "symptoms": list(report.symptoms) or None,
            },
            urgent=True,
        )
        made = router.messages(uow, event)
        if not made:
            # Nobody holds the role on the tree: address the role at the place itself.
            place = resolve_place(uow, event)
            area = place.area_id
            if area is None:
                continue
            rendered = router.renderer.render(
                FEVER_TOPIC,
                {
                    **place.values(),
                    "time": report.at.astimezone(router.zone).strftime("%m-%d %H:%M"),
                    **{k: v for k, v in event.values.items() if v is not None},
                },
            )
            made = [
                Message(
                    id=stable_id("notify", FEVER_TOPIC, event.key),
                    recipient=f"community_doctor@{area}",
                    subject=rendered.subject,
                    body=rendered.body,
                    data={
                        "role": "community_doctor",
                        "person_id": report.person_id,
                        "urgent": True,  # a fever: before the other messages
                    },
                    area_id=area,
                    topic=FEVER_TOPIC,
                    at=report.at,
                )
            ]
        out += made
    return out


def record_reports(
    ws: Workspace,
    reports: Iterable[HealthReport],
    *,
    campaign_id: str | None = None,
    policy: QuarantinePolicy | None = None,
    settings: NotifySettings | None = None,
) -> ReportResult:
    """Store health reports of persons under quarantine; refer and notify on a fever.

    Every report is checked first; any report of a person with no active
    order on its local day raises :class:`~gridguard.errors.ValidationError`
    naming ``$[i].person_id``, and nothing is stored. Needs a medical role
    over every person reporting (``quarantine.report``: one audited,
    set-based check; a person outside the scope refuses the batch).
    """
    batch = list(reports)
    ws.authorize_records("quarantine.report", Person, {r.person_id for r in batch})
    if not batch:
        return ReportResult(0, 0, 0, 0)

    with ws._transaction() as uow:
        pol = policy_for(uow, campaign_id, policy)
        persons = _persons(ws, uow, sorted({r.person_id for r in batch}))
        orders = orders_for_households(ws, uow, sorted(set(persons.values())))
        problems: list[Violation] = []
        fevers: list[tuple[HealthReport, dt.date]] = []
        referrals: dict[str, Task] = {}
        for n, report in enumerate(batch):
            household = persons.get(report.person_id)
            if household is None:
                problems.append(
                    Violation(f"$[{n}].person_id", repr(report.person_id), "no such person")
                )
                continue
            day = pol.local_date(report.at)
            order = covering(orders.get(household, ()), report.person_id, day)
            if order is None:
                problems.append(
                    Violation(
                        f"$[{n}].person_id",
                        repr(report.person_id),
                        f"has no active quarantine order on {day.isoformat()}",
                    )
                )
                continue
            if is_fever(report, pol):
                task = _referral(report, order, day)
                if task.id not in referrals:
                    referrals[task.id] = task
                    fevers.append((report, day))
        if problems:
            raise ValidationError(problems)
        saved = uow.save_facts(HealthReport, batch)
        new_tasks = unstored(uow, Task, referrals.values())
        if new_tasks:
            uow.put(Task, new_tasks)
        fresh = {t.id for t in new_tasks}
        to_tell = [
            (r, d)
            for r, d in fevers
            if str(stable_id("quarantine-referral", r.person_id, d)) in fresh
        ]
        messages = _messages(ws, uow, to_tell, settings) if to_tell else []
        notified = enqueue(uow, messages) if messages else 0
    return ReportResult(saved.written, saved.unchanged, len(new_tasks), notified)
