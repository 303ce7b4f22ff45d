"""Who is using a workspace: a role and a jurisdiction (an area subtree or a building)."""

from __future__ import annotations

import enum
from typing import Any

import attrs

from ..errors import ValidationError
from ..model._validate import non_empty, optional_identifier

__all__ = ["LOCAL_ADMIN", "Principal", "Role"]


class Role(enum.StrEnum):
    """Roles of the people who read and write screening data.

    What each role may read and write is in :data:`gridguard.security.access.PERMISSIONS`.
    """

    ADMIN = "admin"
    """City or district administrator; a local administrator on a laptop."""
    COMMUNITY_SECRETARY = "community_secretary"
    """Runs a community's lines of defense; no health details."""
    COMMUNITY_DOCTOR = "community_doctor"
    """The community health centre's doctor: the medical role of a community."""
    GRID_WORKER = "grid_worker"
    """Owns one grid: its households, persons, visits and check-ins."""
    TEAM_MEMBER = "team_member"
    """A member of a sweep team: reads households, records visits and answers."""
    BUILDING_OBSERVER = "building_observer"
    """Watches one building: sees its status and files its check-ins, nothing else."""
    SERVICE_VOLUNTEER = "service_volunteer"
    """Delivers to quarantined households: households and service requests only."""
    AUDITOR = "auditor"
    """Reads everything in scope except health details, and the audit log; writes nothing."""

    @property
    def can_write(self) -> bool:
        return self is not Role.AUDITOR


def _role(value: Any) -> Role:
    try:
        return Role(value)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise ValidationError.single("$.role", repr(value), f"must be one of: {allowed}") from None


@attrs.frozen(kw_only=True)
class Principal:
    """The user a workspace acts for.

    ``area_id`` is the root of the area subtree the principal may see;
    ``None`` means everywhere (a local administrator). A building observer
    has a ``building_id`` instead: her one building.
    """

    name: str = attrs.field(validator=non_empty)
    role: Role = attrs.field(converter=_role)
    area_id: str | None = attrs.field(default=None, validator=optional_identifier)
    building_id: str | None = attrs.field(default=None, validator=optional_identifier)

    def __attrs_post_init__(self) -> None:
        if self.role is Role.BUILDING_OBSERVER and self.building_id is None:
            raise ValidationError.single(
                "$.building_id", "None", "a building observer needs her building"
            )
        if self.role is not Role.BUILDING_OBSERVER and self.building_id is not None:
            raise ValidationError.single(
                "$.building_id", repr(self.building_id), "only a building observer has a building"
            )

    @property
    def scope(self) -> str:
        """The jurisdiction as text for messages and the audit log (``*`` is everywhere)."""
        if self.building_id is not None:
            return f"building:{self.building_id}"
        return "*" if self.area_id is None else f"area:{self.area_id}"

    def __str__(self) -> str:
        return f"{self.name} ({self.role.value}, {self.scope})"


LOCAL_ADMIN = Principal(name="local-admin", role=Role.ADMIN)
"""The default principal: an administrator of everything in the store."""
