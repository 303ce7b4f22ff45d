"""What the services workflow stores: who was given a request, and that it was done.

A :class:`~gridguard.model.ServiceRequest` (groceries, medicine, other) is a
fact; so is each step after it. A :class:`ServiceAssignment` gives the
request to a service team or to a person, with the time it is due (assigning
again hands it over: the latest assignment counts); a
:class:`ServiceCompletion` records that it was done. A request without a
completion is open; an open request past its due time is overdue.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, ClassVar

import attrs

from ._stored import Category, Ref, stored
from ._validate import aware, fail, identifier, optional_identifier, to_utc
from .facts import Fact

__all__ = ["ServiceAssignment", "ServiceCompletion"]


@stored(
    "service_assignments",
    Category.SERVICE,
    parent=Ref("household_id", "Household"),
    refs=(Ref("request_id", "ServiceRequest"), Ref("team_id", "Team"), Ref("person_id", "Person")),
)
@attrs.frozen(kw_only=True)
class ServiceAssignment(Fact):
    """A service request given to a service team (``team_id``) or a person (``person_id``)."""

    kind: ClassVar[str] = "service_assignment"

    request_id: uuid.UUID
    household_id: str = attrs.field(validator=identifier)
    team_id: str | None = attrs.field(default=None, validator=optional_identifier)
    person_id: str | None = attrs.field(default=None, validator=optional_identifier)
    due: dt.datetime = attrs.field(converter=to_utc, validator=aware)

    @person_id.validator
    def _one_assignee(self, attribute: attrs.Attribute[Any], value: str | None) -> None:
        if (self.team_id is None) == (value is None):
            fail(attribute, value, "assign to a team or to a person (exactly one)")


@stored(
    "service_completions",
    Category.SERVICE,
    parent=Ref("household_id", "Household"),
    refs=(Ref("request_id", "ServiceRequest"),),
)
@attrs.frozen(kw_only=True)
class ServiceCompletion(Fact):
    """A service request fulfilled (delivered, bought, done)."""

    kind: ClassVar[str] = "service_completion"

    request_id: uuid.UUID
    household_id: str = attrs.field(validator=identifier)
    note: str = ""
