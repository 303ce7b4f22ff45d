"""Closed vocabularies of the domain, as string enums (their JSON form is the value)."""

from __future__ import annotations

import enum

__all__ = [
    "AnomalyKind",
    "AreaLevel",
    "Channel",
    "CheckInStatus",
    "ExposureKind",
    "MemberRole",
    "Residency",
    "ServiceKind",
    "Sex",
    "TeamKind",
    "VisitOutcome",
]


class AreaLevel(enum.StrEnum):
    """Administrative level of an :class:`~gridguard.model.Area`, from the top down."""

    CITY = "city"
    DISTRICT = "district"
    TOWN = "town"
    COMMUNITY = "community"
    VILLAGE = "village"
    GRID = "grid"
    VILLAGE_GROUP = "village_group"
    COMPOUND = "compound"

    @property
    def rank(self) -> int:
        """Depth in the tree: a child's rank is greater than its parent's."""
        return _RANKS[self]

    @property
    def is_jurisdiction(self) -> bool:
        """Communities and villages run the lines of defense and own the data."""
        return self in (AreaLevel.COMMUNITY, AreaLevel.VILLAGE)


_RANKS = {
    AreaLevel.CITY: 0,
    AreaLevel.DISTRICT: 1,
    AreaLevel.TOWN: 2,
    AreaLevel.COMMUNITY: 3,
    AreaLevel.VILLAGE: 3,
    AreaLevel.GRID: 4,
    AreaLevel.VILLAGE_GROUP: 4,
    AreaLevel.COMPOUND: 5,
}


class Sex(enum.StrEnum):
    MALE = "male"
    FEMALE = "female"


class Residency(enum.StrEnum):
    """How a person lives in a household."""

    RESIDENT = "resident"
    TENANT = "tenant"
    VISITOR = "visitor"


class MemberRole(enum.StrEnum):
    """Role of a team member; a sweep team of three is cadre, doctor and police."""

    CADRE = "cadre"
    DOCTOR = "doctor"
    POLICE = "police"
    VOLUNTEER = "volunteer"
    GRID_WORKER = "grid_worker"


class TeamKind(enum.StrEnum):
    SWEEP = "sweep"
    SERVICE = "service"


class Channel(enum.StrEnum):
    """How a household was reached: at the door or by a phone follow-up."""

    DOOR = "door"
    PHONE = "phone"


class VisitOutcome(enum.StrEnum):
    SCREENED = "screened"
    NOT_HOME = "not_home"
    REFUSED = "refused"
    VACANT = "vacant"


class CheckInStatus(enum.StrEnum):
    """An observer's daily report: all normal (a zero report) or with anomalies."""

    ALL_NORMAL = "all_normal"
    ANOMALIES = "anomalies"


class AnomalyKind(enum.StrEnum):
    STRANGER = "stranger"
    MOVE_IN = "move_in"
    MOVE_OUT = "move_out"
    SYMPTOMATIC = "symptomatic"
    OTHER = "other"


class ExposureKind(enum.StrEnum):
    """What a person was exposed to; every kind counts its window from ``last_contact``."""

    CONFIRMED_CASE = "confirmed_case"
    """Close contact (密切接触者) of a confirmed case."""
    SUSPECTED_CASE = "suspected_case"
    OUTBREAK_AREA_ARRIVAL = "outbreak_area_arrival"
    HOUSEHOLD_MEMBER_OF_CASE = "household_member_of_case"
    """Lives in the household of a confirmed case (同住人员)."""
    CONTACT_OF_CONTACT = "contact_of_contact"
    """Close contact of a close contact (密接的密接); observed only where a rule set says so."""
    OTHER = "other"


class ServiceKind(enum.StrEnum):
    GROCERIES = "groceries"
    MEDICINE = "medicine"
    OTHER = "other"
