"""Teams of three (小分队) that sweep, and service teams that deliver."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import attrs

from ..errors import ValidationError, Violation
from ._masked import name_repr, phone_repr
from ._stored import Category, Ref, stored
from ._validate import enum_of, identifier, non_empty, optional_identifier, personal_text
from .enums import MemberRole, TeamKind
from .people import optional_phone

__all__ = ["CompositionPolicy", "Team", "TeamMember"]


def _role(value: Any) -> MemberRole:
    return enum_of(MemberRole, value, "role")


def _kind(value: Any) -> TeamKind:
    return enum_of(TeamKind, value, "kind")


@attrs.frozen(kw_only=True)
class TeamMember:
    """A member of a team: a cadre, a doctor, a police officer or a volunteer."""

    name: str = attrs.field(validator=personal_text, repr=name_repr)
    role: MemberRole = attrs.field(converter=_role)
    party_member: bool = False
    phone: str | None = attrs.field(default=None, converter=optional_phone, repr=phone_repr)
    person_id: str | None = attrs.field(default=None, validator=optional_identifier)


def _members(value: Any) -> tuple[TeamMember, ...]:
    return tuple(value)


@stored("teams", Category.TEAM, parent=Ref("area_id", "Area"), refs=(Ref("home_grid_id", "Area"),))
@attrs.frozen(kw_only=True)
class Team:
    """A team belonging to a community; a sweep team may have a home grid."""

    id: str = attrs.field(validator=identifier)
    name: str = attrs.field(validator=non_empty)
    area_id: str = attrs.field(validator=identifier)
    """The community (or village) the team works for."""
    kind: TeamKind = attrs.field(default=TeamKind.SWEEP, converter=_kind)
    members: tuple[TeamMember, ...] = attrs.field(default=(), converter=_members)
    home_grid_id: str | None = attrs.field(default=None, validator=optional_identifier)

    @property
    def size(self) -> int:
        return len(self.members)

    def roles(self) -> Counter[MemberRole]:
        """How many members hold each role."""
        return Counter(m.role for m in self.members)


def _default_requirements() -> dict[TeamKind, dict[MemberRole, int]]:
    return {TeamKind.SWEEP: {MemberRole.DOCTOR: 1}, TeamKind.SERVICE: {}}


@attrs.frozen(kw_only=True)
class CompositionPolicy:
    """Which members a team of each kind must have.

    The default asks a sweep team for at least two members, one of them a
    doctor: screening at the door needs someone who can judge symptoms. A
    campaign can ask for more (``{MemberRole.POLICE: 1}``) or less.
    """

    min_members: Mapping[TeamKind, int] = attrs.field(
        factory=lambda: {TeamKind.SWEEP: 2, TeamKind.SERVICE: 1}
    )
    required_roles: Mapping[TeamKind, Mapping[MemberRole, int]] = attrs.field(
        factory=_default_requirements
    )

    def violations(self, team: Team) -> list[Violation]:
        """Every way ``team`` falls short of this policy (empty when it complies)."""
        found: list[Violation] = []
        minimum = self.min_members.get(team.kind, 0)
        if team.size < minimum:
            found.append(
                Violation(
                    "$.members",
                    f"{team.size} members",
                    f"a {team.kind.value} team needs at least {minimum} "
                    + ("member" if minimum == 1 else "members"),
                )
            )
        have = team.roles()
        for role, count in self.required_roles.get(team.kind, {}).items():
            if have[role] < count:
                found.append(
                    Violation(
                        "$.members",
                        f"{have[role]} {role.value}",
                        f"a {team.kind.value} team needs at least {count} {role.value}",
                    )
                )
        return found

    def check(self, team: Team) -> None:
        """Raise :class:`ValidationError` unless ``team`` complies."""
        found = self.violations(team)
        if found:
            raise ValidationError(found)
