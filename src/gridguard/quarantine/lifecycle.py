"""Quarantine orders by hand, extension on a new exposure, and release.

The rules' screening makes orders of its own (:mod:`gridguard.screening`);
everything here works on those and on orders made by hand alike. An order
holds for the observation window of its last exposure
(:class:`~gridguard.rules.observation.ObservationWindow`): from ``start``, the
day after the last contact, up to, not including, ``end``, the release day
(last contact + the policy's days + 1). Its end only ever moves later, and it is
released once: at or after its end, or early by hand with a reason, each
time with a :class:`~gridguard.model.quarantine.QuarantineRelease` record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs

from ..errors import ConflictError, NotFoundError, ValidationError, Violation
from ..model import Household, Person
from ..model._validate import as_day
from ..model.assessments import OrderStatus, QuarantineKind, QuarantineOrder, stable_id
from ..model.quarantine import (
    MANUAL_RULE,
    QUARANTINE_RULE_SET,
    QuarantineExtension,
    QuarantinePolicy,
    QuarantineRelease,
)
from ..rules.observation import ObservationWindow
from ._db import policy_for, select, sql_for

if TYPE_CHECKING:
    from ..storage.base import UnitOfWork
    from ..workspace import Workspace

__all__ = ["Extension", "active_orders", "extend", "order_quarantine", "release", "release_due"]

MANUAL_VERSION = "1"
"""``rule_set_version`` of orders made by hand."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def active_orders(ws: Workspace, uow: UnitOfWork) -> list[QuarantineOrder]:
    """Every order whose status is active (whatever its dates), in one query."""
    sql = sql_for(ws)
    if sql is None:
        return list(uow.find(QuarantineOrder, where={"status": OrderStatus.ACTIVE}))
    return select(uow, sql, QuarantineOrder, "t.status = ?", [OrderStatus.ACTIVE.value])


def _in_scope(ws: Workspace, orders: Sequence[QuarantineOrder]) -> list[QuarantineOrder]:
    """The orders that lie in the principal's scope (one set-based look-up)."""
    inside = ws.in_scope(QuarantineOrder, {o.id for o in orders})
    return [o for o in orders if o.id in inside]


def _subject_orders(
    uow: UnitOfWork, household_id: str, person_id: str | None
) -> list[QuarantineOrder]:
    """Active orders covering a person (their own or their household's), or a household."""
    found = uow.find(
        QuarantineOrder, where={"household_id": household_id, "status": OrderStatus.ACTIVE}
    )
    return [o for o in found if person_id is None or o.person_id in (None, person_id)]


def order_quarantine(
    ws: Workspace,
    *,
    last_exposure: dt.date,
    ordered_by: str,
    reason: str,
    person_id: str | None = None,
    household_id: str | None = None,
    kind: QuarantineKind | str = QuarantineKind.HOME,
    exposure_kind: str | None = None,
    campaign_id: str | None = None,
    at: dt.datetime | None = None,
    policy: QuarantinePolicy | None = None,
) -> QuarantineOrder:
    """Order a person (``person_id``) or a whole household (``household_id`` only) into quarantine.

    The order covers the observation window of ``last_exposure``: from the
    next day to day 14 (the policy's days), released the day after; an aware
    datetime given for it stands for its day in the policy's time zone.
    ``exposure_kind`` says what the exposure was (``confirmed_case``,
    ``outbreak_area_arrival``...); ``ordered_by`` and ``reason`` say who and
    why. Ordering the
    same subject for the same exposure again returns the stored order; a
    subject already under another active order is a
    :class:`~gridguard.errors.ConflictError` (extend that one instead).
    Needs a medical role over the subject (``quarantine.order``).
    """
    at = at or _now()
    if not reason.strip():
        raise ValidationError.single("$.reason", repr(reason), "say why (must not be empty)")
    if not ordered_by.strip():
        raise ValidationError.single(
            "$.ordered_by", repr(ordered_by), "say who (must not be empty)"
        )
    with ws._transaction() as uow:
        pol = policy_for(uow, campaign_id, policy)
        if person_id is not None:  # an unknown id gets the answer of one outside the scope
            ws.authorize_known("quarantine.order", Person, [person_id])
        elif household_id is not None:
            ws.authorize_known("quarantine.order", Household, [household_id])
        if person_id is not None:
            person = uow.get(Person, person_id)
            if person is None:
                raise ValidationError.single("$.person_id", repr(person_id), "no such person")
            if household_id is not None and household_id != person.household_id:
                raise ValidationError.single(
                    "$.household_id", repr(household_id), "is not the person's household"
                )
            household_id = person.household_id
        elif household_id is None:
            raise ValidationError.single("$.person_id", "None", "name a person or a household")
        elif uow.get(Household, household_id) is None:
            raise ValidationError.single("$.household_id", repr(household_id), "no such household")
        last_exposure = as_day(last_exposure, "$.last_exposure", pol.zone)
        today = pol.local_date(at)
        if last_exposure > today:
            raise ValidationError.single(
                "$.last_exposure", last_exposure.isoformat(), "must not be in the future"
            )
        window = ObservationWindow(last_exposure, pol.days)
        if window.release_day <= today:
            raise ValidationError.single(
                "$.last_exposure",
                last_exposure.isoformat(),
                f"the observation would already have ended ({window.last_day.isoformat()})",
            )
        ident = str(stable_id("quarantine", MANUAL_RULE, person_id or household_id, last_exposure))
        stored = uow.get(QuarantineOrder, ident)
        if stored is not None:
            return stored
        for other in _subject_orders(uow, household_id, person_id):
            raise ConflictError(
                f"{person_id or household_id!r} is already under active quarantine order "
                f"{other.id} until {other.end.isoformat()}: extend it instead"
            )
        order = QuarantineOrder(
            id=ident,
            household_id=household_id,
            person_id=person_id,
            kind=kind,
            start=window.first_day,
            end=window.release_day,
            reason=reason,
            rule_id=MANUAL_RULE,
            rule_set_id=QUARANTINE_RULE_SET,
            rule_set_version=MANUAL_VERSION,
            campaign_id=campaign_id,
            ordered_by=ordered_by,
            ordered_at=at,
            exposure_kind=exposure_kind,
            last_contact=last_exposure,
        )
        uow.put(QuarantineOrder, [order])
    return order


def _active_order(ws: Workspace, uow: UnitOfWork, order_id: str, action: str) -> QuarantineOrder:
    """The order ``order_id``, once ``action`` is allowed on it and it is still active."""
    ws.authorize_known(action, QuarantineOrder, [order_id])  # unknown looks like outside
    order = uow.get(QuarantineOrder, order_id)
    if order is None:
        raise NotFoundError(f"no QuarantineOrder with id {order_id!r}")
    if order.status is not OrderStatus.ACTIVE:
        raise ConflictError(f"quarantine order {order_id} is {order.status.value}")
    return order


@attrs.frozen
class Extension:
    """What :func:`extend` did: the order as it is now, and whether its end moved."""

    order: QuarantineOrder
    previous_end: dt.date
    extended: bool


def extend(
    ws: Workspace,
    order_id: str,
    *,
    last_exposure: dt.date,
    reason: str = "",
    exposure_kind: str | None = None,
    at: dt.datetime | None = None,
    campaign_id: str | None = None,
    policy: QuarantinePolicy | None = None,
) -> Extension:
    """Move an active order's end to the end of ``last_exposure``'s window, if that is later.

    The window is the one every order uses (the day after the contact to
    day 14, released the day after). An exposure that would end the
    quarantine sooner changes nothing: the end only moves later; a move
    makes the order carry the later exposure (``exposure_kind`` when given).
    A move is recorded as a
    :class:`~gridguard.model.quarantine.QuarantineExtension`. Needs a medical
    role over the order (``quarantine.extend``).
    """
    at = at or _now()
    with ws._transaction() as uow:
        pol = policy_for(uow, campaign_id, policy)
        order = _active_order(ws, uow, order_id, "quarantine.extend")
        last_exposure = as_day(last_exposure, "$.last_exposure", pol.zone)
        if last_exposure > pol.local_date(at):
            raise ValidationError.single(
                "$.last_exposure", last_exposure.isoformat(), "must not be in the future"
            )
        new_end = ObservationWindow(last_exposure, pol.days).release_day
        if new_end <= order.end:
            return Extension(order, order.end, False)
        version = uow.version(QuarantineOrder, order.id)
        assert version is not None
        moved = attrs.evolve(
            order,
            end=new_end,
            last_contact=last_exposure,
            exposure_kind=exposure_kind or order.exposure_kind,
        )
        uow.put(QuarantineOrder, [moved], expect={order.id: version})
        fact = QuarantineExtension(
            id=stable_id("quarantine-extension", order.id, new_end),
            at=at,
            order_id=order.id,
            household_id=order.household_id,
            last_exposure=last_exposure,
            previous_end=order.end,
            new_end=new_end,
            reason=reason,
        )
        uow.save_facts(QuarantineExtension, [fact])
    return Extension(moved, order.end, True)


def _release_record(
    order: QuarantineOrder, at: dt.datetime, early: bool, reason: str, by: str | None
) -> QuarantineRelease:
    return QuarantineRelease(
        id=stable_id("quarantine-release", order.id),
        at=at,
        order_id=order.id,
        household_id=order.household_id,
        person_id=order.person_id,
        end=order.end,
        early=early,
        reason=reason,
        released_by=by,
    )


def release(
    ws: Workspace,
    order_id: str,
    *,
    reason: str = "",
    released_by: str | None = None,
    at: dt.datetime | None = None,
    campaign_id: str | None = None,
    policy: QuarantinePolicy | None = None,
) -> QuarantineRelease:
    """End an active order and record the release.

    On or after the order's end (local day) no reason is needed; before it,
    the release is early and needs a ``reason`` and ``released_by``, or it
    is a :class:`~gridguard.errors.ValidationError` and nothing changes.
    Needs a medical role over the order (``quarantine.release``).
    """
    at = at or _now()
    with ws._transaction() as uow:
        pol = policy_for(uow, campaign_id, policy)
        order = _active_order(ws, uow, order_id, "quarantine.release")
        early = pol.local_date(at) < order.end
        if early:
            problems = []
            if not reason.strip():
                problems.append(
                    Violation(
                        "$.reason",
                        repr(reason),
                        f"releasing before the end ({order.end.isoformat()}) needs a reason",
                    )
                )
            if not (released_by or "").strip():
                problems.append(
                    Violation("$.released_by", repr(released_by), "an early release names who")
                )
            if problems:
                raise ValidationError(problems)
        record = _release_record(order, at, early, reason, released_by)
        version = uow.version(QuarantineOrder, order.id)
        assert version is not None
        uow.put(
            QuarantineOrder,
            [attrs.evolve(order, status=OrderStatus.ENDED)],
            expect={order.id: version},
        )
        uow.save_facts(QuarantineRelease, [record])
    return record


def release_due(
    ws: Workspace,
    *,
    at: dt.datetime | None = None,
    campaign_id: str | None = None,
    policy: QuarantinePolicy | None = None,
) -> list[QuarantineRelease]:
    """Release every active order whose end has come (local day of ``at``), in one transaction.

    Needs a medical role (``quarantine.release``); only the orders in the
    principal's scope are released.
    """
    at = at or _now()
    ws.authorize("quarantine.release")
    with ws._transaction() as uow:
        pol = policy_for(uow, campaign_id, policy)
        today = pol.local_date(at)
        sql = sql_for(ws)
        if sql is None:
            due: Sequence[QuarantineOrder] = [o for o in active_orders(ws, uow) if o.end <= today]
        else:
            due = select(
                uow,
                sql,
                QuarantineOrder,
                't.status = ? AND t."end" <= ?',
                [OrderStatus.ACTIVE.value, sql.date(today)],
            )
        due = _in_scope(ws, due)
        if not due:
            return []
        records = [_release_record(o, at, False, "", None) for o in due]
        uow.put(QuarantineOrder, [attrs.evolve(o, status=OrderStatus.ENDED) for o in due])
        uow.save_facts(QuarantineRelease, records)
    return records
