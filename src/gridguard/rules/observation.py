"""The observation window: the one definition of the days an exposure keeps a person watched.

China's 2020 protocol (新型冠状病毒肺炎防控方案) puts a close contact under
medical observation for 14 days from the last contact, and a person
arriving from an outbreak area under home observation for 14 days from the
arrival. Counted in local calendar days of the campaign's time zone, with
the day of the last contact as day 0:

- the window starts on the day after the last contact (day 1);
- it ends on day 14, the last day under observation;
- the person is released on day 15.

A contact on 21 January: under observation from 22 January to 4 February,
released on 5 February. Every kind of exposure (a trip's return, an arrival
from an outbreak area, a close contact, a household member of a case, a
contact of a contact) counts the same way. The rules' flag
(``within_days(last_contact, 14)``: from the contact day to day 14), the
orders the rules and people make, the census and the release all read their
days from :class:`ObservationWindow`, so they cannot disagree.

A :class:`~gridguard.model.assessments.QuarantineOrder` stores the window as
``start`` (day 1) up to, not including, ``end`` (the release day).
"""

from __future__ import annotations

import datetime as dt

import attrs

__all__ = ["OBSERVATION_DAYS", "TRIP_RETURN", "ObservationWindow"]

OBSERVATION_DAYS = 14
"""Days of observation after the last contact (2020 national protocol)."""

TRIP_RETURN = "trip_return"
"""The exposure kind of a trip back from an outbreak area (the return is the last contact)."""


def _positive(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not 1 <= value <= 365:
        from ..model._validate import fail

        fail(attribute, value, "must be from 1 to 365 days")


@attrs.frozen
class ObservationWindow:
    """The local days an exposure on ``last_contact`` keeps a person under observation."""

    last_contact: dt.date
    days: int = attrs.field(default=OBSERVATION_DAYS, validator=_positive)

    @property
    def first_day(self) -> dt.date:
        """Day 1: the first day under observation, the day after the last contact."""
        return self.last_contact + dt.timedelta(days=1)

    @property
    def last_day(self) -> dt.date:
        """Day ``days`` (14): the last day under observation."""
        return self.last_contact + dt.timedelta(days=self.days)

    @property
    def release_day(self) -> dt.date:
        """The day after the last day: the order is released (it is an order's ``end``)."""
        return self.last_day + dt.timedelta(days=1)

    def covers(self, day: dt.date) -> bool:
        """Whether ``day`` is one of the days under observation (day 1 to day ``days``)."""
        return self.first_day <= day <= self.last_day

    def flags(self, day: dt.date) -> bool:
        """Whether a rule flags the exposure on ``day``: from the contact day to the last day.

        On the contact day itself the person is flagged and ordered, and
        the order begins the next day; that is ``within_days(last_contact, days)``.
        """
        return self.last_contact <= day <= self.last_day

    @classmethod
    def ending(cls, start: dt.date, end: dt.date) -> ObservationWindow:
        """The window of an order stored as ``start`` up to, not including, ``end``."""
        return cls(start - dt.timedelta(days=1), (end - start).days)
