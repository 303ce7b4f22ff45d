"""What a screening run supplies to compiled conditions: its day, time zone and parameters."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from typing import Any

import attrs

from ..model.campaign import DEFAULT_TIME_ZONE, Campaign

__all__ = ["RunContext"]


def _frozen_params(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return {k: tuple(v) if isinstance(v, list | tuple) else v for k, v in value.items()}


@attrs.frozen(kw_only=True)
class RunContext:
    """The day conditions are evaluated for, in the campaign's time zone.

    Date functions count local calendar days: ``within_days(x, 14)`` on
    ``day`` means from local midnight 14 days before ``day`` to the end of
    ``day``. The compilers bind these cut-offs as parameters, so SQL never
    converts time zones.
    """

    day: dt.date
    time_zone: str = DEFAULT_TIME_ZONE
    params: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_params)
    """Values of run parameters, such as ``outbreak_areas`` (names of outbreak areas)."""

    @classmethod
    def for_campaign(cls, campaign: Campaign, day: dt.date) -> RunContext:
        """The context of a run for ``campaign`` on local ``day``."""
        return cls(
            day=day,
            time_zone=campaign.time_zone,
            params={"outbreak_areas": tuple(a.name for a in campaign.outbreak_areas)},
        )

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def day_start(self, day: dt.date) -> dt.datetime:
        """Local midnight starting ``day``, as an aware UTC instant."""
        return dt.datetime.combine(day, dt.time(), self.zone).astimezone(dt.UTC)

    def first_day(self, days: int) -> dt.date:
        """The earliest day ``within_days(x, days)`` accepts."""
        return self.day - dt.timedelta(days=days)

    @property
    def end(self) -> dt.datetime:
        """The instant the run's day ends (the next local midnight), in UTC."""
        return self.day_start(self.day + dt.timedelta(days=1))

    def local_date(self, at: dt.datetime) -> dt.date:
        """The calendar day of ``at`` in the campaign's time zone."""
        return at.astimezone(self.zone).date()
