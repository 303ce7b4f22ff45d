"""Routing: who hears about an event, on which channel, and when.

An :class:`Event` says what happened and where (a person, household,
building or area). The :class:`Router` walks the place tree up from there
to find who holds each role of the topic's route (contacts from the
settings first, then what the tree records: a building's observer, the
leader and members of the team sweeping the grid), renders the message in
the campaign's locale with personal data masked, and holds non-urgent
messages through the quiet hours of the campaign's time zone.

Message ids are derived from the event's key, the recipient and the
channel, so routing the same event twice enqueues nothing new.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ..model import Area, AreaLevel, Building, Campaign, Household, MemberRole, Person, Stairwell
from ..model._masked import name_repr, phone_repr
from ..model.campaign import DEFAULT_TIME_ZONE
from ..model.teams import Team, TeamMember
from ..notify.base import Message
from .outbox import enqueue
from .settings import (
    UNDELIVERABLE,
    Contact,
    NotifyRole,
    NotifySettings,
    QuietHours,
    parse_clock,
)
from .templates import Renderer

if TYPE_CHECKING:
    from ..storage.base import UnitOfWork
    from ..workspace import Workspace

__all__ = [
    "Event",
    "Place",
    "Recipient",
    "Router",
    "campaign_zone",
    "hold_until",
    "message_id",
    "resolve_place",
]

_NAMESPACE = uuid.UUID("2b0f1d3e-6a8c-4c47-9f51-0d6e1c3b7a20")
_GRID_LEVELS = (AreaLevel.GRID, AreaLevel.VILLAGE_GROUP)


@attrs.frozen(kw_only=True)
class Event:
    """Something people should hear about.

    ``key`` identifies the cause (a fact id): the same key routed again
    yields the same message ids. Give the most specific place known
    (``person_id``, else ``household_id``, ``building_id`` or ``area_id``);
    ``values`` fill the template (``temperature``, ``symptoms``...).
    ``urgent`` overrides the route's own setting.
    """

    topic: str
    key: str
    at: dt.datetime
    person_id: str | None = None
    household_id: str | None = None
    building_id: str | None = None
    area_id: str | None = None
    values: Mapping[str, Any] = attrs.field(factory=dict)
    urgent: bool | None = None


@attrs.frozen
class Recipient:
    """Someone holding a role at a place, with their addresses per channel."""

    role: str
    place_id: str
    name: str = attrs.field(repr=name_repr)
    phone: str | None = attrs.field(default=None, repr=phone_repr)
    addresses: Mapping[str, str] = attrs.field(factory=dict)
    on_file: Mapping[str, str] = attrs.field(factory=dict)
    """Where the phone is on file (a contact, a person, a team member): how to find it again."""

    def address(self, channel: str) -> str:
        """The recipient on ``channel``: a configured address, else ``role@place``."""
        return self.addresses.get(channel) or f"{self.role}@{self.place_id}"


@attrs.define
class Place:
    """Where an event happened, resolved up the place tree."""

    person: Person | None = None
    household: Household | None = None
    building: Building | None = None
    areas: list[Area] = attrs.field(factory=list)
    """From the building's area (or the given area) up to the root."""

    @property
    def chain(self) -> list[str]:
        """Place ids from the most specific up, for finding who holds a role."""
        ids = [self.building.id] if self.building else []
        return ids + [a.id for a in self.areas]

    @property
    def grid(self) -> Area | None:
        return next((a for a in self.areas if a.level in _GRID_LEVELS), None)

    @property
    def community(self) -> Area | None:
        return next((a for a in self.areas if a.level.is_jurisdiction), None)

    @property
    def area_id(self) -> str | None:
        """The area that owns messages about this place."""
        if self.areas:
            return self.areas[0].id
        return None

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.person:
            out["person"] = self.person.name
            out["phone"] = self.person.phone
        if self.household:
            out["address"] = self.household.address
        if self.building:
            compound = f"{self.building.compound} " if self.building.compound else ""
            out["building"] = compound + self.building.name
        if self.grid:
            out["grid"] = self.grid.name
        if self.community:
            out["community"] = self.community.name
        return out


def resolve_place(uow: UnitOfWork, event: Event) -> Place:
    """Look the event's place up the tree: person -> household -> building -> areas."""
    place = Place()
    household_id, building_id, area_id = event.household_id, event.building_id, event.area_id
    if event.person_id:
        place.person = uow.get(Person, event.person_id)
        if place.person:
            household_id = household_id or place.person.household_id
    if household_id:
        place.household = uow.get(Household, household_id)
        if place.household:
            stairwell = uow.get(Stairwell, place.household.stairwell_id)
            if stairwell:
                building_id = building_id or stairwell.building_id
    if building_id:
        place.building = uow.get(Building, building_id)
        if place.building:
            area_id = area_id or place.building.area_id
    seen: set[str] = set()
    while area_id and area_id not in seen:
        seen.add(area_id)
        area = uow.get(Area, area_id)
        if area is None:
            break
        place.areas.append(area)
        area_id = area.parent_id
    return place


def campaign_zone(ws: Workspace, campaign_id: str | None) -> zoneinfo.ZoneInfo:
    """The time zone of ``campaign_id`` (or of the only campaign; Asia/Shanghai otherwise)."""
    if campaign_id:
        return ws.get(Campaign, campaign_id).zone
    campaigns = ws.find(Campaign)
    if len(campaigns) == 1:
        return campaigns[0].zone
    return zoneinfo.ZoneInfo(DEFAULT_TIME_ZONE)


def hold_until(
    at: dt.datetime, quiet: QuietHours | None, zone: zoneinfo.ZoneInfo
) -> dt.datetime | None:
    """When a non-urgent message made at ``at`` may go: the end of quiet hours, or ``None``.

    Quiet hours are local times in ``zone``; they may span midnight
    (22:00-07:00). The end is computed on the local calendar, so a day
    with a daylight-saving change still releases at 07:00 local time.
    """
    if quiet is None:
        return None
    start, end = parse_clock(quiet.start), parse_clock(quiet.end)
    if start == end:
        return None
    local = at.astimezone(zone)
    now = local.time().replace(tzinfo=None)
    day = local.date()
    if start < end:
        if not start <= now < end:
            return None
        release = day
    elif now >= start:
        release = day + dt.timedelta(days=1)
    elif now < end:
        release = day
    else:
        return None
    return dt.datetime.combine(release, end, tzinfo=zone).astimezone(dt.UTC)


def _leader(team: Team) -> TeamMember | None:
    for member in team.members:
        if member.role is MemberRole.CADRE:
            return member
    return team.members[0] if team.members else None


class Router:
    """Turns events into messages for the people holding the route's roles.

    Build one per campaign with :meth:`for_workspace` (which reads the
    campaign's time zone), then call :meth:`notify` inside the transaction
    that records the cause.
    """

    def __init__(
        self,
        settings: NotifySettings,
        *,
        zone: zoneinfo.ZoneInfo | None = None,
        renderer: Renderer | None = None,
    ) -> None:
        self.settings = settings
        self.zone = zone or zoneinfo.ZoneInfo(DEFAULT_TIME_ZONE)
        self.renderer = renderer or Renderer(
            settings.locale, overrides=settings.templates, mask=settings.mask_personal_data
        )
        self._contacts: dict[tuple[str, str], list[Contact]] = {}
        for contact in settings.contacts:
            self._contacts.setdefault((contact.role, contact.area_id), []).append(contact)

    @classmethod
    def for_workspace(cls, ws: Workspace, settings: NotifySettings) -> Router:
        """A router using the time zone of the settings' campaign."""
        return cls(settings, zone=campaign_zone(ws, settings.campaign))

    # -- who ------------------------------------------------------------------------------

    def recipients(self, uow: UnitOfWork, role: str, place: Place) -> list[Recipient]:
        """Who holds ``role`` for ``place``: the nearest contacts up the tree, else the tree's."""
        for place_id in place.chain:
            contacts = self._contacts.get((role, place_id))
            if contacts:
                return [
                    Recipient(
                        role,
                        place_id,
                        c.name,
                        c.phone,
                        dict(c.addresses),
                        {"contact": role, "at": place_id, "name": c.name},
                    )
                    for c in contacts
                ]
        return self._from_tree(uow, role, place)

    def _from_tree(self, uow: UnitOfWork, role: str, place: Place) -> list[Recipient]:
        if role == NotifyRole.BUILDING_OBSERVER:
            building = place.building
            if building is None or building.observer_id is None:
                return []
            person = uow.get(Person, building.observer_id)
            if person is None:
                return []
            on_file = {"person": person.id}
            return [Recipient(role, building.id, person.name, person.phone, on_file=on_file)]
        grid = place.grid
        if grid is None or role not in (
            NotifyRole.TEAM_LEADER,
            NotifyRole.GRID_WORKER,
            NotifyRole.COMMUNITY_DOCTOR,
        ):
            return []
        teams = list(uow.find(Team, where={"home_grid_id": grid.id}))
        members: list[tuple[Team, TeamMember]] = []
        for team in teams:
            if role == NotifyRole.TEAM_LEADER:
                leader = _leader(team)
                members += [(team, leader)] if leader else []
            else:
                wanted = (
                    MemberRole.GRID_WORKER if role == NotifyRole.GRID_WORKER else MemberRole.DOCTOR
                )
                members += [(team, m) for m in team.members if m.role is wanted]
        return [
            Recipient(role, grid.id, m.name, m.phone, on_file={"team": t.id, "name": m.name})
            for t, m in members
        ]

    def mention(self, uow: UnitOfWork, on_file: Mapping[str, Any]) -> str | None:
        """The mobile number a message's ``mention_of`` points at, read now; ``None`` if gone.

        Messages store where the number is on file, never the number: the
        outbox holds no phone (an encrypted store keeps phones sealed), and
        a number corrected since is the one used.
        """
        if "contact" in on_file:
            key = (str(on_file["contact"]), str(on_file.get("at")))
            for contact in self._contacts.get(key, []):
                if contact.name == on_file.get("name"):
                    return contact.phone
            return None
        if "person" in on_file:
            person = uow.get(Person, str(on_file["person"]))
            return None if person is None else person.phone
        if "team" in on_file:
            team = uow.get(Team, str(on_file["team"]))
            for member in team.members if team is not None else ():
                if member.name == on_file.get("name"):
                    return member.phone
        return None

    # -- what and when --------------------------------------------------------------------

    def messages(self, uow: UnitOfWork, event: Event) -> list[Message]:
        """The messages ``event`` calls for (none when its topic has no route)."""
        route = self.settings.route(event.topic)
        if route is None:
            return []
        place = resolve_place(uow, event)
        area_id = place.area_id or event.area_id
        if area_id is None:
            return []
        urgent = route.urgent if event.urgent is None else event.urgent
        hold = None if urgent else hold_until(event.at, self.settings.quiet_hours, self.zone)
        local = event.at.astimezone(self.zone)
        out: list[Message] = []
        for role in route.roles:
            people = self.recipients(uow, role, place)
            if not people:
                out.append(self._undeliverable(event, role, place, area_id, urgent, hold))
            for person in people:
                values = {
                    "time": local.strftime("%m-%d %H:%M"),
                    "date": local.date().isoformat(),
                    "role": role,
                    "contact": person.name,
                    **place.values(),
                    **event.values,
                }
                rendered = self.renderer.render(event.topic, values)
                data: dict[str, Any] = {"role": role, "place": person.place_id, "urgent": urgent}
                if person.phone and person.on_file:
                    # Chat robots @-mention the recipient; the dispatcher reads the number
                    # from where it is on file when it sends, so the outbox never holds it.
                    data["mention_of"] = dict(person.on_file)
                for channel in self.settings.channels_of(route.channels):
                    recipient = person.address(channel)
                    out.append(
                        Message(
                            id=message_id(event.topic, event.key, role, recipient, channel),
                            recipient=recipient,
                            subject=rendered.subject,
                            body=rendered.body,
                            data=data,
                            channel=channel,
                            area_id=area_id,
                            topic=event.topic,
                            at=event.at,
                            not_before=hold,
                        )
                    )
        return out

    def _undeliverable(
        self,
        event: Event,
        role: str,
        place: Place,
        area_id: str,
        urgent: bool,
        hold: dt.datetime | None,
    ) -> Message:
        """The message for a role that no one holds at ``place``: stored, counted, never sent.

        An escalation step or a fever report that reaches nobody must show
        up in ``notify status``, in ``notify dispatch``'s exit code and in
        the daily report, not vanish.
        """
        where = place.chain[0] if place.chain else area_id
        values = {
            "time": event.at.astimezone(self.zone).strftime("%m-%d %H:%M"),
            "date": event.at.astimezone(self.zone).date().isoformat(),
            "role": role,
            **place.values(),
            **event.values,
        }
        rendered = self.renderer.render(event.topic, values)
        recipient = f"{role}@{where}"
        return Message(
            id=message_id(event.topic, event.key, role, recipient, UNDELIVERABLE),
            recipient=recipient,
            subject=rendered.subject,
            body=rendered.body,
            data={
                "role": role,
                "place": where,
                "urgent": urgent,
                "undeliverable": f"no {role} on file for {where}",
            },
            channel=UNDELIVERABLE,
            area_id=area_id,
            topic=event.topic,
            at=event.at,
            not_before=hold,
        )

    def notify(self, uow: UnitOfWork, events: Iterable[Event]) -> int:
        """Route ``events`` and enqueue their messages in ``uow``; returns how many are new."""
        messages: list[Message] = []
        for event in events:
            messages += self.messages(uow, event)
        return enqueue(uow, messages) if messages else 0


def message_id(topic: str, key: str, role: str, recipient: str, channel: str) -> uuid.UUID:
    """The id (and idempotency key) of one routed message: the same inputs, the same id."""
    return uuid.uuid5(_NAMESPACE, "\x1f".join((topic, key, role, recipient, channel)))
