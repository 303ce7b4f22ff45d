"""Ordering a whole household when some of its members are already under order.

A household is ordered as one order (``person_id`` ``None``) when none of
its members is under an active order. When some are, refusing the whole
household would leave the others to be ordered one by one; instead each
member gets what the new exposure calls for: an order of their own when
nothing covers them, an extension of the order that covers them when the
new end is later, nothing when that order already runs as long. What was
done is reported per member, in one transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import attrs

from ..errors import ValidationError
from ..model import Household, Person
from ..model.assessments import OrderStatus, QuarantineKind, QuarantineOrder
from ..model.quarantine import QuarantinePolicy
from .lifecycle import extend, order_quarantine

if TYPE_CHECKING:
    from ..workspace import Workspace

__all__ = ["COVERED", "EXTENDED", "ORDERED", "HouseholdOrder", "MemberOrder", "order_household"]

ORDERED = "ordered"
"""A new order: the member's own, or the household's when no member was under order."""
EXTENDED = "extended"
"""The order covering the member now ends later."""
COVERED = "covered"
"""The order covering the member already ends as late or later: nothing changed."""


@attrs.frozen
class MemberOrder:
    """What ordering the household did for one member."""

    person_id: str
    action: str
    """:data:`ORDERED`, :data:`EXTENDED` or :data:`COVERED`."""
    order_id: str
    end: dt.date
    """The release day of the order that now covers the member."""


@attrs.frozen
class HouseholdOrder:
    """What :func:`order_household` did, member by member."""

    household_id: str
    members: tuple[MemberOrder, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "household_id": self.household_id,
            "members": [
                {
                    "person_id": m.person_id,
                    "action": m.action,
                    "order_id": m.order_id,
                    "end": m.end.isoformat(),
                }
                for m in self.members
            ],
        }


def order_household(
    ws: Workspace,
    household_id: str,
    *,
    last_exposure: dt.date,
    ordered_by: str,
    reason: str,
    kind: QuarantineKind | str = QuarantineKind.HOME,
    exposure_kind: str | None = None,
    campaign_id: str | None = None,
    at: dt.datetime | None = None,
    policy: QuarantinePolicy | None = None,
) -> HouseholdOrder:
    """Order household ``household_id`` into quarantine, whatever its members' orders.

    With no member under an active order this is
    :func:`~gridguard.quarantine.lifecycle.order_quarantine` of the
    household (one order). Otherwise each member not covered gets an order
    of their own and each covering order is extended when the new end is
    later (:func:`~gridguard.quarantine.lifecycle.extend`); all of it in
    one transaction, reported per member. Needs the roles those functions
    need.
    """
    at = at or dt.datetime.now(dt.UTC)
    ws.authorize_known("quarantine.order", Household, [household_id])
    with ws._transaction() as uow:
        if uow.get(Household, household_id) is None:
            raise ValidationError.single("$.household_id", repr(household_id), "no such household")
        members = sorted(p.id for p in uow.find(Person, where={"household_id": household_id}))
        active = list(
            uow.find(
                QuarantineOrder,
                where={"household_id": household_id, "status": OrderStatus.ACTIVE},
            )
        )
        if not active:
            order = order_quarantine(
                ws,
                household_id=household_id,
                ordered_by=ordered_by,
                reason=reason,
                kind=kind,
                exposure_kind=exposure_kind,
                last_exposure=last_exposure,
                campaign_id=campaign_id,
                at=at,
                policy=policy,
            )
            return HouseholdOrder(
                household_id,
                tuple(MemberOrder(p, ORDERED, order.id, order.end) for p in members),
            )
        done: dict[str, tuple[str, QuarantineOrder]] = {}
        out: list[MemberOrder] = []
        for person in members:
            covering = next(
                (o for o in active if o.person_id == person),
                next((o for o in active if o.person_id is None), None),
            )
            if covering is None:
                order = order_quarantine(
                    ws,
                    person_id=person,
                    ordered_by=ordered_by,
                    reason=reason,
                    kind=kind,
                    exposure_kind=exposure_kind,
                    last_exposure=last_exposure,
                    campaign_id=campaign_id,
                    at=at,
                    policy=policy,
                )
                out.append(MemberOrder(person, ORDERED, order.id, order.end))
                continue
            if covering.id not in done:
                moved = extend(
                    ws,
                    covering.id,
                    reason=reason,
                    exposure_kind=exposure_kind,
                    last_exposure=last_exposure,
                    campaign_id=campaign_id,
                    at=at,
                    policy=policy,
                )
                done[covering.id] = (EXTENDED if moved.extended else COVERED, moved.order)
            action, now = done[covering.id]
            out.append(MemberOrder(person, action, now.id, now.end))
    return HouseholdOrder(household_id, tuple(out))
