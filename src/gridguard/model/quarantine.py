"""What the quarantine lifecycle stores besides the orders: releases and extensions.

Both are facts with deterministic ids, so a repeated command or job writes
nothing new: a release is identified by its order (an order is released
once), an extension by its order and the new end. The orders themselves are
:class:`~gridguard.model.assessments.QuarantineOrder` registry entries, whether
the rules or a person made them.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any, ClassVar

import attrs

from ._stored import Category, Ref, stored
from ._validate import (
    bounded,
    calendar_day,
    fail,
    identifier,
    non_empty,
    optional_identifier,
    time_zone,
    to_date,
)
from .campaign import DEFAULT_TIME_ZONE
from .facts import Fact

__all__ = [
    "MANUAL_RULE",
    "QUARANTINE_RULE_SET",
    "QuarantineExtension",
    "QuarantinePolicy",
    "QuarantineRelease",
]

QUARANTINE_RULE_SET = "quarantine"
"""``rule_set_id`` of the orders and tasks the quarantine workflow makes itself."""
MANUAL_RULE = "manual"
"""``rule_id`` of an order made by hand."""


def _optional_text(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        non_empty(inst, attribute, value)


@stored(
    "quarantine_releases",
    Category.HEALTH,
    parent=Ref("household_id", "Household"),
    refs=(Ref("order_id", "QuarantineOrder"), Ref("person_id", "Person")),
)
@attrs.frozen(kw_only=True)
class QuarantineRelease(Fact):
    """The record that an order ended: at its end, or early by hand with a reason.

    ``early`` releases (before the order's end) always carry a ``reason``
    and who released (``released_by``).
    """

    kind: ClassVar[str] = "quarantine_release"

    order_id: str = attrs.field(validator=identifier)
    household_id: str = attrs.field(validator=identifier)
    person_id: str | None = attrs.field(default=None, validator=optional_identifier)
    end: dt.date = attrs.field(converter=to_date, validator=calendar_day)
    """The order's end when it was released."""
    early: bool = False
    reason: str = attrs.field(default="")
    released_by: str | None = attrs.field(default=None, validator=_optional_text)

    @reason.validator
    def _early_needs_reason(self, attribute: attrs.Attribute[Any], value: str) -> None:
        if self.early and not value.strip():
            fail(attribute, value, "an early release needs a reason")


@stored(
    "quarantine_extensions",
    Category.HEALTH,
    parent=Ref("household_id", "Household"),
    refs=(Ref("order_id", "QuarantineOrder"),),
)
@attrs.frozen(kw_only=True)
class QuarantineExtension(Fact):
    """An order's end moved later because of a new exposure (the audit trail of the change)."""

    kind: ClassVar[str] = "quarantine_extension"

    order_id: str = attrs.field(validator=identifier)
    household_id: str = attrs.field(validator=identifier)
    last_exposure: dt.date = attrs.field(converter=to_date, validator=calendar_day)
    previous_end: dt.date = attrs.field(converter=to_date, validator=calendar_day)
    new_end: dt.date = attrs.field(converter=to_date, validator=calendar_day)
    reason: str = ""

    @new_end.validator
    def _later(self, attribute: attrs.Attribute[Any], value: dt.date) -> None:
        if value <= self.previous_end:
            fail(attribute, value, "an extension only moves the end later")


def _grace(_: object, attribute: attrs.Attribute[Any], value: dt.timedelta) -> None:
    if not dt.timedelta(0) <= value <= dt.timedelta(hours=12):
        fail(attribute, value, "must be from 0 to 12 hours")


@attrs.frozen(kw_only=True)
class QuarantinePolicy:
    """The numbers quarantine monitoring runs by (2020 national protocol by default).

    ``days`` of quarantine from the last exposure; a health report is due in
    each local half-day (00:00-12:00 and 12:00-24:00 in ``time_zone``), and
    a slot without one is missed ``grace`` after it closes; a temperature of
    ``fever_threshold`` or more, or any symptom, is referred to the fever
    clinic. Without a policy, each workflow uses this default in the time
    zone of its campaign (or of the store's only campaign).
    """

    days: int = attrs.field(default=14, validator=bounded(1, 365))
    time_zone: str = attrs.field(default=DEFAULT_TIME_ZONE, validator=time_zone)
    fever_threshold: float = attrs.field(default=37.3, validator=bounded(35.0, 42.0))
    grace: dt.timedelta = attrs.field(default=dt.timedelta(0), validator=_grace)
    service_due_hours: int = attrs.field(default=24, validator=bounded(1, 24 * 14))
    """Hours within which an unassigned service request is due."""

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def local_date(self, at: dt.datetime) -> dt.date:
        """The local calendar day of ``at``."""
        return at.astimezone(self.zone).date()

    def day_start(self, day: dt.date) -> dt.datetime:
        """Local midnight starting ``day``, in UTC."""
        return dt.datetime.combine(day, dt.time(), self.zone).astimezone(dt.UTC)
