"""A campaign: the level-1 response (一级响应) a community runs its lines of defense in."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from typing import Any

import attrs

from ..errors import ValidationError
from ._stored import Category, Ref, stored
from ._validate import (
    bounded,
    calendar_day,
    fail,
    identifier,
    non_empty,
    optional_calendar_day,
    time_zone,
    to_date,
)

__all__ = ["DEFAULT_TIME_ZONE", "Campaign", "OutbreakArea"]

DEFAULT_TIME_ZONE = "Asia/Shanghai"


@attrs.frozen(kw_only=True)
class OutbreakArea:
    """A place whose travellers are screened (疫情发生地); ``code`` is an admin-code prefix."""

    name: str = attrs.field(validator=non_empty)
    code: str | None = None


def _tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value)


def _zone_of(name: object) -> zoneinfo.ZoneInfo | None:
    """The zone named ``name``, or ``None`` when there is none (the validator then says so)."""
    try:
        return zoneinfo.ZoneInfo(name)  # type: ignore[arg-type]
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        return None


@stored("campaigns", Category.CAMPAIGN, refs=(Ref("scope", "Area", many=True),))
@attrs.frozen(kw_only=True, init=False)
class Campaign:
    """Scope, dates and parameters of one screening campaign.

    Days are counted in ``time_zone``: "within 14 days" means 14 local
    calendar days, whatever the UTC offset. ``start`` and ``end`` are days;
    an aware datetime given for one becomes the day it falls on in
    ``time_zone`` (the campaign knows its clock), a naive one is refused.
    """

    id: str = attrs.field(validator=identifier)
    name: str = attrs.field(validator=non_empty)
    scope: tuple[str, ...] = attrs.field(converter=_tuple)
    """Ids of the areas the campaign covers."""
    start: dt.date = attrs.field(converter=to_date, validator=calendar_day)
    end: dt.date | None = attrs.field(
        default=None, converter=to_date, validator=optional_calendar_day
    )
    time_zone: str = attrs.field(default=DEFAULT_TIME_ZONE, validator=time_zone)
    outbreak_areas: tuple[OutbreakArea, ...] = attrs.field(default=(), converter=_tuple)
    look_back_days: int = attrs.field(default=14, validator=bounded(1, 365))

    def __init__(
        self,
        *,
        id: str,
        name: str,
        scope: Iterable[str],
        start: dt.date,
        end: dt.date | None = None,
        time_zone: str = DEFAULT_TIME_ZONE,
        outbreak_areas: Iterable[OutbreakArea] = (),
        look_back_days: int = 14,
    ) -> None:
        # attrs converts one field at a time, before ``time_zone`` is known:
        # the campaign's own days are turned into dates in its zone here.
        zone = _zone_of(time_zone)
        self.__attrs_init__(
            id=id,
            name=name,
            scope=scope,
            start=to_date(start, zone),
            end=to_date(end, zone),
            time_zone=time_zone,
            outbreak_areas=outbreak_areas,
            look_back_days=look_back_days,
        )

    @end.validator
    def _end_after_start(self, attribute: attrs.Attribute[Any], value: dt.date | None) -> None:
        if value is not None and value < self.start:
            fail(attribute, value, "must not be before the start")

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The campaign's time zone."""
        return zoneinfo.ZoneInfo(self.time_zone)

    def local_date(self, at: dt.datetime) -> dt.date:
        """The calendar day of instant ``at`` in the campaign's time zone."""
        if at.utcoffset() is None:
            raise ValidationError.single("$.at", repr(at), "must be a timezone-aware datetime")
        return at.astimezone(self.zone).date()

    def day_start(self, day: dt.date) -> dt.datetime:
        """Local midnight starting ``day``, as an aware UTC instant."""
        return dt.datetime.combine(day, dt.time(), self.zone).astimezone(dt.UTC)
