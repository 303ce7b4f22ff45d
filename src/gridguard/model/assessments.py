"""What a screening run stores: assessments, quarantine orders, tasks and the run itself.

Ids are deterministic, so running the same rule set over the same facts
again writes nothing new:

- an :class:`Assessment` is identified by its whole content (person, day,
  rule set version, the screening it read, what fired and why);
- a :class:`QuarantineOrder` by person, rule, rule set version and the day
  its observation counts from;
- a :class:`Task` by whom it is for, rule, rule set version, kind and due time;
- a :class:`ScreeningRun` by its whole content.

A run makes the first three inside the database, so their ids are
:func:`keyed_id`: the first 128 bits of a SHA-256 of a text key, which
SQLite (through a function gridguard registers) and PostgreSQL (its own
``sha256``) compute as Python does.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import uuid
from typing import Any, ClassVar

import attrs

from ._stored import Category, Ref, stored
from ._validate import (
    aware,
    calendar_day,
    enum_of,
    fail,
    identifier,
    non_empty,
    optional_aware,
    optional_identifier,
    to_date,
    to_utc,
)
from .facts import Fact

__all__ = [
    "RULES_NAMESPACE",
    "Assessment",
    "FiredRule",
    "OrderStatus",
    "QuarantineKind",
    "QuarantineOrder",
    "RiskLevel",
    "ScreeningRun",
    "Task",
    "TaskKind",
    "TaskStatus",
    "keyed_id",
    "stable_id",
]

RULES_NAMESPACE = uuid.UUID("5d0f3c52-8b7e-4c43-9a51-7f1f0e6a2b90")
"""The UUID 5 namespace of every id a screening run makes."""


_ENCODE = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str).encode
"""``json.dumps(..., ensure_ascii=False, sort_keys=True, default=str)``, its encoder made once."""


def stable_id(*parts: Any) -> uuid.UUID:
    """A UUID 5 of ``parts`` (JSON-encoded, so ``("a", "b")`` and ``("a|b",)`` differ)."""
    return uuid.uuid5(RULES_NAMESPACE, _ENCODE(parts))


def keyed_id(key: str) -> str:
    """The id of a record made inside the database: a UUID of the first 128 bits of the
    SHA-256 of ``key`` (UTF-8), in its usual text form.

    The same in Python, in SQLite (the ``gg_keyed_id`` function every
    gridguard connection registers) and in PostgreSQL (``sha256``), so
    that a record made by set-based SQL and one made in Python agree.
    """
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


class RiskLevel(enum.StrEnum):
    """How worried the rules are about a person; ``classify`` actions set it."""

    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return _RISK_RANK[self]


_RISK_RANK = {RiskLevel.NONE: 0, RiskLevel.LOW: 1, RiskLevel.MEDIUM: 2, RiskLevel.HIGH: 3}


class QuarantineKind(enum.StrEnum):
    """Home quarantine (居家隔离) or centralised quarantine (集中隔离)."""

    HOME = "home"
    CENTRAL = "central"


class OrderStatus(enum.StrEnum):
    ACTIVE = "active"
    ENDED = "ended"
    CANCELLED = "cancelled"


class TaskKind(enum.StrEnum):
    """Work a rule asks of the community: a visit, a phone call, a delivery, a referral."""

    VISIT = "visit"
    PHONE_CALL = "phone_call"
    DELIVERY = "delivery"
    REFERRAL = "referral"
    """Send or take the person to a fever clinic (发热门诊)."""


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


def _risk(value: Any) -> RiskLevel:
    return enum_of(RiskLevel, value, "risk")


def _qkind(value: Any) -> QuarantineKind:
    return enum_of(QuarantineKind, value, "kind")


def _ostatus(value: Any) -> OrderStatus:
    return enum_of(OrderStatus, value, "status")


def _tkind(value: Any) -> TaskKind:
    return enum_of(TaskKind, value, "kind")


def _tstatus(value: Any) -> TaskStatus:
    return enum_of(TaskStatus, value, "status")


def _tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value)


def _optional_text(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        non_empty(inst, attribute, value)


@attrs.frozen(kw_only=True)
class FiredRule:
    """A rule that fired for a person, and why (the values its condition saw)."""

    rule_id: str = attrs.field(validator=identifier)
    line: str = attrs.field(validator=identifier)
    priority: int = 100
    why: str = ""


@stored("assessments", Category.HEALTH, parent=Ref("person_id", "Person"))
@attrs.frozen(kw_only=True)
class Assessment(Fact):
    """What one rule set version concluded about one person on one (local) day.

    ``at`` is the start of that day (local midnight, in UTC). Only persons
    for whom a rule fired, or who were flagged before and no longer are
    (``risk`` ``none``, nothing fired), get an assessment. ``notify``
    lists the roles the rules asked to tell.
    """

    kind: ClassVar[str] = "assessment"

    person_id: str = attrs.field(validator=identifier)
    household_id: str = attrs.field(validator=identifier)
    campaign_id: str = attrs.field(validator=identifier)
    rule_set_id: str = attrs.field(validator=identifier)
    rule_set_version: str = attrs.field(validator=non_empty)
    day: dt.date = attrs.field(converter=to_date, validator=calendar_day)
    screening_id: uuid.UUID | None = None
    risk: RiskLevel = attrs.field(default=RiskLevel.NONE, converter=_risk)
    fired: tuple[FiredRule, ...] = attrs.field(default=(), converter=_tuple)
    referrals: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    notify: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    follow_up_hours: int | None = None


@stored(
    "quarantine_orders",
    Category.HEALTH,
    parent=Ref("household_id", "Household"),
    refs=(Ref("person_id", "Person"),),
)
@attrs.frozen(kw_only=True)
class QuarantineOrder:
    """A person (or a whole household, ``person_id`` None) to stay home or go to a centre.

    From ``start`` up to, not including, ``end``: ``start`` is the day after
    the last contact and ``end`` the release day, the day after the last day
    under observation (see :class:`~gridguard.rules.observation.ObservationWindow`).
    ``exposure_kind`` and ``last_contact`` say which exposure the window is
    counted from (``trip_return``, ``outbreak_area_arrival``,
    ``confirmed_case``...; ``None`` for orders stored before they were
    recorded). ``reason`` is the rule's explanation. Status changes are made
    by people (a doctor ends or cancels an order); a later exposure moves the
    end later and nothing moves it earlier. An order made by hand names who
    ordered it and when (``ordered_by``, ``ordered_at``); see
    :mod:`gridguard.quarantine`.
    """

    id: str = attrs.field(validator=identifier)
    household_id: str = attrs.field(validator=identifier)
    person_id: str | None = attrs.field(default=None, validator=optional_identifier)
    kind: QuarantineKind = attrs.field(converter=_qkind)
    start: dt.date = attrs.field(converter=to_date, validator=calendar_day)
    end: dt.date = attrs.field(converter=to_date, validator=calendar_day)
    reason: str = ""
    rule_id: str = attrs.field(validator=identifier)
    rule_set_id: str = attrs.field(validator=identifier)
    rule_set_version: str = attrs.field(validator=non_empty)
    campaign_id: str | None = attrs.field(default=None, validator=optional_identifier)
    status: OrderStatus = attrs.field(default=OrderStatus.ACTIVE, converter=_ostatus)
    ordered_by: str | None = attrs.field(default=None, validator=_optional_text)
    """Who ordered it by hand (a doctor, a cadre); ``None`` for an order the rules made."""
    ordered_at: dt.datetime | None = attrs.field(
        default=None, converter=to_utc, validator=optional_aware
    )
    """When it was ordered by hand; monitoring counts report slots from then on."""
    exposure_kind: str | None = attrs.field(default=None, validator=optional_identifier)
    """The kind of exposure the window is counted from (``trip_return``, ``confirmed_case``...)."""
    last_contact: dt.date | None = None
    """The day of that exposure's last contact: the window's day 0."""

    @end.validator
    def _after_start(self, attribute: attrs.Attribute[Any], value: dt.date) -> None:

        if value <= self.start:
            fail(attribute, value, "must be after the start")

    @property
    def last_day(self) -> dt.date:
        """The last day under observation (the day before ``end``, the release day)."""
        return self.end - dt.timedelta(days=1)

    def active_on(self, day: dt.date) -> bool:
        """Whether the order holds on ``day``."""
        return self.status is OrderStatus.ACTIVE and self.start <= day < self.end


@stored(
    "tasks",
    Category.TASK,
    parent=Ref("household_id", "Household"),
    refs=(Ref("person_id", "Person"),),
)
@attrs.frozen(kw_only=True)
class Task:
    """Work for a team or a worker: visit, call, deliver to or refer a household or person."""

    id: str = attrs.field(validator=identifier)
    household_id: str = attrs.field(validator=identifier)
    person_id: str | None = attrs.field(default=None, validator=optional_identifier)
    kind: TaskKind = attrs.field(converter=_tkind)
    due: dt.datetime = attrs.field(converter=to_utc, validator=aware)
    note: str = ""
    rule_id: str = attrs.field(validator=identifier)
    rule_set_id: str = attrs.field(validator=identifier)
    rule_set_version: str = attrs.field(validator=non_empty)
    status: TaskStatus = attrs.field(default=TaskStatus.OPEN, converter=_tstatus)
    assignee: str | None = attrs.field(default=None, validator=optional_identifier)
    """The team (its id) the task is given to; ``None`` until it is assigned."""


@stored("screening_runs", Category.CAMPAIGN, parent=Ref("campaign_id", "Campaign"))
@attrs.frozen(kw_only=True)
class ScreeningRun(Fact):
    """One screening run: which rule set (and its digest) ran for which campaign and day.

    ``flagged`` counts persons with at least one fired rule; ``watermark``
    is the newest screening time the run saw and ``inputs`` what it saw per
    community, from which the next incremental run of the same day starts.
    """

    kind: ClassVar[str] = "screening_run"

    campaign_id: str = attrs.field(validator=identifier)
    rule_set_id: str = attrs.field(validator=identifier)
    rule_set_version: str = attrs.field(validator=non_empty)
    rule_set_digest: str = ""
    day: dt.date = attrs.field(converter=to_date, validator=calendar_day)
    mode: str = "full"
    flagged: int = 0
    watermark: dt.datetime | None = attrs.field(
        default=None, converter=to_utc, validator=optional_aware
    )
    inputs: str = ""
    """What the run saw, for the next run to tell what changed: JSON with ``seq`` (the
    run's number among the runs of its rule set version and day) and ``places`` (per
    community, a fingerprint of its screenings, persons, households, stairwells,
    buildings, orders and check-ins). Empty for runs stored before it was kept."""
