"""Who is using a workspace: a role and a jurisdiction (an area subtree)."""

from __future__ import annotations

import enum

import attrs

from .model._validate import optional_identifier

__all__ = ["LOCAL_ADMIN", "Principal", "Role"]


class Role(enum.StrEnum):
    """Roles of the people who read and write screening data."""

    ADMIN = "admin"
    """City or district administrator; a local administrator on a laptop."""
    COMMUNITY_SECRETARY = "community_secretary"
    COMMUNITY_DOCTOR = "community_doctor"
    GRID_WORKER = "grid_worker"
    TEAM_MEMBER = "team_member"
    BUILDING_OBSERVER = "building_observer"
    SERVICE_VOLUNTEER = "service_volunteer"
    AUDITOR = "auditor"
    """Reads everything in scope, writes nothing."""

    @property
    def can_write(self) -> bool:
        return self is not Role.AUDITOR


@attrs.frozen(kw_only=True)
class Principal:
    """The user a workspace acts for.

    ``area_id`` is the root of the area subtree the principal may see;
    ``None`` means everywhere (a local administrator).
    """

    name: str
    role: Role = attrs.field(converter=Role)
    area_id: str | None = attrs.field(default=None, validator=optional_identifier)


LOCAL_ADMIN = Principal(name="local-admin", role=Role.ADMIN)
"""The default principal: an administrator of everything in the store."""
