"""Facts: immutable records of what someone saw or did.

Every fact has a client-generated UUID and an aware timestamp (stored in
UTC). Saving the same fact twice stores it once; the same id with other
content is a :class:`~gridguard.errors.ConflictError`. That makes retries
and offline batches safe and gives an audit trail for free.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

import attrs

from ._stored import Category, Ref, stored
from ._validate import (
    aware,
    bounded,
    calendar_day,
    enum_of,
    fail,
    free_text,
    identifier,
    non_empty,
    optional_calendar_day,
    optional_identifier,
    text_items,
    to_date,
    to_utc,
)
from .enums import AnomalyKind, Channel, CheckInStatus, ExposureKind, ServiceKind, VisitOutcome

__all__ = [
    "Anomaly",
    "CheckIn",
    "Exposure",
    "Fact",
    "HealthReport",
    "Screening",
    "ServiceRequest",
    "Trip",
    "Visit",
    "new_fact_id",
]

TEMPERATURE_RANGE = (30.0, 45.0)


def new_fact_id() -> uuid.UUID:
    """A fresh random fact id (UUID 4)."""
    return uuid.uuid4()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _symptoms(value: Any) -> tuple[str, ...]:
    """Symptoms are a sorted set of lower-case words, so equal answers compare equal."""
    if isinstance(value, str):
        value = [value]
    return tuple(sorted({str(s).strip().lower() for s in value if str(s).strip()}))


def _tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value)


def _outcome(value: Any) -> VisitOutcome:
    return enum_of(VisitOutcome, value, "outcome")


def _channel(value: Any) -> Channel:
    return enum_of(Channel, value, "channel")


def _exposurekind(value: Any) -> ExposureKind:
    return enum_of(ExposureKind, value, "kind")


def _anomalykind(value: Any) -> AnomalyKind:
    return enum_of(AnomalyKind, value, "kind")


def _service(value: Any) -> ServiceKind:
    return enum_of(ServiceKind, value, "service")


def _not_future(_: object, attribute: attrs.Attribute[Any], value: dt.datetime) -> None:
    aware(_, attribute, value)
    if value > _now() + dt.timedelta(minutes=5):
        fail(attribute, value.isoformat(), "must not be in the future")


@attrs.frozen(kw_only=True)
class Fact:
    """Base of every fact: an id, when it happened, and who recorded it."""

    kind: ClassVar[str] = "fact"

    id: uuid.UUID = attrs.field(factory=new_fact_id)
    at: dt.datetime = attrs.field(factory=_now, converter=to_utc, validator=_not_future)
    recorded_by: str | None = attrs.field(default=None, validator=optional_identifier)


@stored(
    "visits",
    Category.VISIT,
    parent=Ref("household_id", "Household"),
    refs=(Ref("team_id", "Team"),),
)
@attrs.frozen(kw_only=True)
class Visit(Fact):
    """A team's contact with a household: at the door, or a phone follow-up."""

    kind: ClassVar[str] = "visit"

    household_id: str = attrs.field(validator=identifier)
    outcome: VisitOutcome = attrs.field(converter=_outcome)
    channel: Channel = attrs.field(default=Channel.DOOR, converter=_channel)
    team_id: str | None = attrs.field(default=None, validator=optional_identifier)
    campaign_id: str | None = attrs.field(default=None, validator=optional_identifier)
    note: str = attrs.field(default="", validator=free_text)


@attrs.frozen(kw_only=True)
class Trip:
    """Travel to a place; ``returned`` is the day of arrival back home.

    Both are days: an aware datetime given instead becomes the day its own
    clock shows, and a naive one is refused (docs/concepts.md, "Days and
    instants").
    """

    destination: str = attrs.field(validator=non_empty)
    departed: dt.date | None = attrs.field(
        default=None, converter=to_date, validator=optional_calendar_day
    )
    returned: dt.date | None = attrs.field(
        default=None, converter=to_date, validator=optional_calendar_day
    )

    @returned.validator
    def _after_departure(self, attribute: attrs.Attribute[Any], value: dt.date | None) -> None:
        if value is not None and self.departed is not None and value < self.departed:
            fail(attribute, value, "must not be before the departure")


@attrs.frozen(kw_only=True)
class Exposure:
    """Contact with a case, or an arrival from an outbreak area, on ``last_contact``."""

    kind: ExposureKind = attrs.field(converter=_exposurekind)
    last_contact: dt.date = attrs.field(converter=to_date, validator=calendar_day)
    note: str = attrs.field(default="", validator=free_text)


@stored("screenings", Category.HEALTH, parent=Ref("person_id", "Person"))
@attrs.frozen(kw_only=True)
class Screening(Fact):
    """A person's answers at a screening: trips, exposures, symptoms, temperature."""

    kind: ClassVar[str] = "screening"

    person_id: str = attrs.field(validator=identifier)
    visit_id: uuid.UUID | None = None
    trips: tuple[Trip, ...] = attrs.field(default=(), converter=_tuple)
    exposures: tuple[Exposure, ...] = attrs.field(default=(), converter=_tuple)
    symptoms: tuple[str, ...] = attrs.field(default=(), converter=_symptoms, validator=text_items)
    temperature: float | None = attrs.field(default=None, validator=bounded(*TEMPERATURE_RANGE))


@attrs.frozen(kw_only=True)
class Anomaly:
    """Something an observer saw: a stranger, a move in or out, someone ill."""

    kind: AnomalyKind = attrs.field(converter=_anomalykind)
    count: int = attrs.field(default=1, validator=bounded(1, 10_000))
    note: str = attrs.field(default="", validator=free_text)
    household_id: str | None = attrs.field(default=None, validator=optional_identifier)


def checkin_status(value: Any) -> CheckInStatus:
    """The ``status`` of a daily report (a check-in, a monitoring point's report)."""
    return enum_of(CheckInStatus, value, "status")


def anomaly_tuple(value: Any) -> tuple[Anomaly, ...]:
    """The ``anomalies`` of a daily report, as a tuple."""
    return tuple(value)


def agrees_with_status(
    what: str,
) -> Callable[[Any, attrs.Attribute[Any], tuple[Anomaly, ...]], None]:
    """The validator of a daily report's ``anomalies`` (``what``: check-in, report).

    They must agree with the report's ``status``: "all normal" lists none;
    "anomalies" lists at least one.
    """

    def check(report: Any, attribute: attrs.Attribute[Any], value: tuple[Anomaly, ...]) -> None:
        if report.status is CheckInStatus.ALL_NORMAL and value:
            fail(attribute, len(value), f"an all-normal {what} has no anomalies")
        if report.status is CheckInStatus.ANOMALIES and not value:
            fail(attribute, 0, f"a {what} with status 'anomalies' lists at least one")

    return check


@stored(
    "checkins",
    Category.CHECK_IN,
    parent=Ref("building_id", "Building"),
    refs=(Ref("observer_id", "Person"),),
)
@attrs.frozen(kw_only=True)
class CheckIn(Fact):
    """An observer's daily report for a building (报平安); "all normal" is data too."""

    kind: ClassVar[str] = "checkin"

    building_id: str = attrs.field(validator=identifier)
    observer_id: str = attrs.field(validator=identifier)
    status: CheckInStatus = attrs.field(default=CheckInStatus.ALL_NORMAL, converter=checkin_status)
    anomalies: tuple[Anomaly, ...] = attrs.field(
        default=(), converter=anomaly_tuple, validator=agrees_with_status("check-in")
    )


@stored("health_reports", Category.HEALTH, parent=Ref("person_id", "Person"))
@attrs.frozen(kw_only=True)
class HealthReport(Fact):
    """A person's temperature and symptoms, twice a day under quarantine."""

    kind: ClassVar[str] = "health_report"

    person_id: str = attrs.field(validator=identifier)
    temperature: float | None = attrs.field(default=None, validator=bounded(*TEMPERATURE_RANGE))
    symptoms: tuple[str, ...] = attrs.field(default=(), converter=_symptoms, validator=text_items)


@stored("service_requests", Category.SERVICE, parent=Ref("household_id", "Household"))
@attrs.frozen(kw_only=True)
class ServiceRequest(Fact):
    """A quarantined household asks for groceries, medicine or other help."""

    kind: ClassVar[str] = "service_request"

    household_id: str = attrs.field(validator=identifier)
    service: ServiceKind = attrs.field(converter=_service)
    note: str = attrs.field(default="", validator=free_text)
