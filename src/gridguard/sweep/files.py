""" "One file per household" (一户一档) and "one file per person" (一人一档).

The household file gathers what the sweep knows of one household: where it
is, who lives there, every visit and every screening of its members. A
person gets a file of their own once an answer flags them: a trip to an
outbreak area or a contact within the campaign's look-back days, a fever,
symptoms. Those people are followed up point to point; the screening rules
assess them further.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import attrs

from ..masking import mask_name, mask_phone
from ..model import Area, Building, Campaign, Household, Person, Screening, Stairwell, Visit
from ..serialization import to_dict
from .context import HouseholdFacts

if TYPE_CHECKING:
    from .context import CampaignContext

__all__ = ["FEVER", "Flag", "HouseholdFile", "PersonFile", "flags", "household_file", "person_file"]

FEVER = 37.3
"""Fever threshold at screening points (axillary, °C), from the 2020 national protocol."""


@attrs.frozen
class Flag:
    """Why a screening opens a person's file."""

    kind: str
    """``outbreak_trip``, ``contact``, ``fever`` or ``symptoms``."""
    detail: str
    on: dt.date
    """The local day of the screening that said so."""


def _outbreak(campaign: Campaign, destination: str) -> bool:
    for area in campaign.outbreak_areas:
        if area.name and area.name in destination:
            return True
        if area.code and destination.strip().startswith(area.code):
            return True
    return False


def flags(screening: Screening, campaign: Campaign, *, fever: float = FEVER) -> list[Flag]:
    """What in ``screening`` calls for a person file, judged on the screening's local day."""
    day = campaign.local_date(screening.at)
    window = campaign.look_back_days
    found: list[Flag] = []
    for trip in screening.trips:
        if not _outbreak(campaign, trip.destination):
            continue
        back = trip.returned or trip.departed
        if back is None or 0 <= (day - back).days <= window:
            when = f", back {back.isoformat()}" if back else ""
            found.append(Flag("outbreak_trip", f"{trip.destination}{when}", day))
    for exposure in screening.exposures:
        if 0 <= (day - exposure.last_contact).days <= window:
            found.append(
                Flag(
                    "contact",
                    f"{exposure.kind.value}, last {exposure.last_contact.isoformat()}",
                    day,
                )
            )
    if screening.temperature is not None and screening.temperature >= fever:
        found.append(Flag("fever", f"{screening.temperature:.1f} °C", day))
    if screening.symptoms:
        found.append(Flag("symptoms", ", ".join(screening.symptoms), day))
    return found


def _person(person: Person, masked: bool) -> dict[str, Any]:
    data = to_dict(person)
    if masked:
        data["name"] = mask_name(person.name)
        data["phone"] = mask_phone(person.phone) if person.phone else None
        data["resident_id"] = person.resident_id.masked if person.resident_id else None
    return dict(data)


def _screening(screening: Screening, campaign: Campaign) -> dict[str, Any]:
    data = dict(to_dict(screening))
    data["at"] = screening.at.astimezone(campaign.zone).isoformat()
    data["flags"] = [attrs.asdict(f) | {"on": f.on.isoformat()} for f in flags(screening, campaign)]
    return data


def _visit(visit: Visit, campaign: Campaign) -> dict[str, Any]:
    data = dict(to_dict(visit))
    data["at"] = visit.at.astimezone(campaign.zone).isoformat()
    return data


@attrs.frozen
class PersonFile:
    """A person's screenings and what flags them (一人一档)."""

    campaign: Campaign
    person: Person
    household: Household
    screenings: tuple[Screening, ...]
    flags: tuple[Flag, ...]

    @property
    def flagged(self) -> bool:
        return bool(self.flags)

    def to_dict(self, *, masked: bool = True) -> dict[str, Any]:
        """Plain data; names, phones and identity numbers masked unless ``masked=False``."""
        return {
            "person": _person(self.person, masked),
            "household": {"id": self.household.id, "address": self.household.address},
            "flagged": self.flagged,
            "flags": [attrs.asdict(f) | {"on": f.on.isoformat()} for f in self.flags],
            "screenings": [_screening(s, self.campaign) for s in self.screenings],
        }


@attrs.frozen
class HouseholdFile:
    """A household, its members, its visits and their screenings (一户一档)."""

    campaign: Campaign
    household: Household
    stairwell: Stairwell
    building: Building
    area: Area | None
    members: tuple[Person, ...]
    visits: tuple[Visit, ...]
    screenings: tuple[Screening, ...]
    status: str
    """In the campaign: ``pending``, ``screened``, ``vacant``, ``refused`` or ``unreachable``."""

    def flagged(self) -> list[str]:
        """Members whose screenings flag them: they have a person file."""
        return sorted({s.person_id for s in self.screenings if flags(s, self.campaign)})

    def to_dict(self, *, masked: bool = True) -> dict[str, Any]:
        """Plain data; names, phones and identity numbers masked unless ``masked=False``."""
        phone = self.household.phone
        return {
            "household": {
                "id": self.household.id,
                "address": self.household.address,
                "phone": (mask_phone(phone) if masked else phone) if phone else None,
                "floor": self.household.floor,
                "door": self.household.door,
            },
            "stairwell": {"id": self.stairwell.id, "name": self.stairwell.name},
            "building": {"id": self.building.id, "name": self.building.name},
            "area": None if self.area is None else {"id": self.area.id, "name": self.area.name},
            "campaign": self.campaign.id,
            "status": self.status,
            "members": [_person(p, masked) for p in self.members],
            "flagged": self.flagged(),
            "visits": [_visit(v, self.campaign) for v in self.visits],
            "screenings": [_screening(s, self.campaign) for s in self.screenings],
        }


def household_file(ctx: CampaignContext, household_id: str) -> HouseholdFile:
    """The file of household ``household_id``; :class:`~gridguard.errors.NotFoundError` if none."""
    ws = ctx.ws
    with ws._transaction(write=False):
        household = ws.get(Household, household_id)
        stairwell = ws.get(Stairwell, household.stairwell_id)
        building = ws.get(Building, stairwell.building_id)
        area = ctx.areas.get(building.area_id)
        members = ws.find(Person, household_id=household_id)
        visits = ws.find(Visit, household_id=household_id)
        screenings: list[Screening] = []
        for person in members:
            screenings += ws.find(Screening, person_id=person.id)
    facts = HouseholdFacts()
    for visit in visits:
        if ctx.counts(visit):
            facts.add(visit)
    status = facts.status() if facts.door_visits or facts.phoned else "pending"
    screenings.sort(key=lambda s: (s.at, s.person_id))
    return HouseholdFile(
        campaign=ctx.campaign,
        household=household,
        stairwell=stairwell,
        building=building,
        area=area,
        members=tuple(members),
        visits=tuple(visits),
        screenings=tuple(screenings),
        status=status,
    )


def person_file(ctx: CampaignContext, person_id: str) -> PersonFile:
    """The file of person ``person_id``; :class:`~gridguard.errors.NotFoundError` if none."""
    ws = ctx.ws
    with ws._transaction(write=False):
        person = ws.get(Person, person_id)
        household = ws.get(Household, person.household_id)
        screenings = ws.find(Screening, person_id=person_id)
    found = [f for s in screenings if ctx.in_window(s.at) for f in flags(s, ctx.campaign)]
    return PersonFile(
        campaign=ctx.campaign,
        person=person,
        household=household,
        screenings=tuple(screenings),
        flags=tuple(found),
    )
