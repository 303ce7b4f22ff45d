"""One message per recipient and run: what a screening run asks each person to do.

A grid worker acts on one message per run listing their work, not on a
message per flagged person. A run therefore hands the new assessments that
call for someone to be told to a :class:`Messages`, a page at a time in
person order, and at its end queues one message per recipient (per
channel) listing that recipient's persons: the name masked,
the address, the reason in words (the rules' titles in the reader's
language), what to do and by when (local time in the campaign's time
zone). Urgent single alerts (a fever, a close contact of a case) do not
wait for the digest; the run queues them at once, one per person.

Recipients of both are found as routing finds them
(:class:`~gridguard.notifications.routing.Router`): contacts of the
workspace's stored configuration (``gridguard notify configure``) up the
place tree, else the team members of the person's grid. A role nobody
holds is an undeliverable message, counted and listed, never dropped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
import zoneinfo
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ..masking import mask_name
from ..model import Area, Building, Household, Person, Stairwell, Team
from ..model.assessments import keyed_id, stable_id
from ..notifications.routing import Place, Recipient, Router
from ..notifications.settings import UNDELIVERABLE, NotifySettings
from ..notify.base import Message
from ..rules.ruleset import FollowUp, Quarantine, Refer, Rule, TaskAction
from ..storage.schema import encode_timestamp
from ._patterns import URGENT_RULES, Pattern

if TYPE_CHECKING:
    from ..storage.base import UnitOfWork
    from ..storage.dialect import SqlDialect

__all__ = [
    "URGENT_RULES",
    "Messages",
    "Told",
    "action_text",
    "homes_of",
    "is_urgent",
    "person_line",
]


@attrs.frozen
class Told:
    """A new assessment whose rules tell someone, as its messages need it."""

    id: str
    person_id: str
    household_id: str
    area_id: str | None = None
    """The area of the person's building (``None``: read with the household)."""


LISTED = 60
"""Persons listed in one message; the rest are counted (the line list has them all)."""

LINES_AT_ONCE = 20_000
"""Digest lines made at once while a run streams its persons (names read in bulk for them)."""

_CHUNK = 900

_WORDS = {
    "zh-CN": {
        "home": "居家隔离",
        "central": "集中隔离",
        "fever_clinic": "转诊发热门诊",
        "refer": "转诊",
        "phone_call": "电话随访",
        "visit": "上门随访",
        "delivery": "送生活物资",
        "follow_up": "随访",
        "by": "，{when}前",
        "subject": "{day} 筛查：{n} 人需处置",
        "urgent": "【紧急】{title}：{who}",
        "more": "另有 {n} 人，见重点人员清单（gridguard report linelist）",
        "head": "{role}，{day} 筛查需要您处置以下人员：",
        "sep": "：",
        "join": "；",
        "none": "无",
    },
    "en": {
        "home": "home quarantine",
        "central": "central quarantine",
        "fever_clinic": "refer to the fever clinic",
        "refer": "refer to",
        "phone_call": "phone call",
        "visit": "visit",
        "delivery": "deliver groceries",
        "follow_up": "follow up",
        "by": " by {when}",
        "subject": "Screening {day}: {n} persons to act on",
        "urgent": "URGENT {title}: {who}",
        "more": "and {n} more: see the line list (gridguard report linelist)",
        "head": "{role}, the screening of {day} asks you to act on:",
        "sep": ": ",
        "join": "; ",
        "none": "-",
    },
}
_ROLES = {
    "zh-CN": {
        "grid_worker": "网格员",
        "building_observer": "楼幢观察员",
        "community_doctor": "社区医生",
        "community_secretary": "社区书记",
        "team_leader": "小分队队长",
    },
    "en": {},
}


def is_urgent(fired: Iterable[Rule]) -> bool:
    """Whether an assessment's alert goes at once (:data:`URGENT_RULES`) instead of the digest."""
    return any(rule.id in URGENT_RULES for rule in fired)


def _words(locale: str) -> dict[str, str]:
    return _WORDS.get(locale, _WORDS["en"])


def action_text(
    fired: Sequence[Rule], at: dt.datetime, zone: zoneinfo.ZoneInfo, locale: str
) -> str:
    """What the rules ask for and by when, in words: ``居家隔离，01-28 12:00前电话随访``."""
    words = _words(locale)
    parts: list[str] = []
    hours: list[int] = []
    for rule in fired:
        for action in rule.actions:
            text = None
            if isinstance(action, Quarantine):
                text = words.get(action.kind.value, action.kind.value)
            elif isinstance(action, Refer):
                text = words.get(action.to) or f"{words['refer']} {action.to}"
            elif isinstance(action, TaskAction):
                text = words.get(action.kind.value, action.kind.value)
                hours.append(action.within_hours)
            elif isinstance(action, FollowUp):
                hours.append(action.hours)
            if text and text not in parts:
                parts.append(text)
    if hours:
        when = (at + dt.timedelta(hours=min(hours))).astimezone(zone).strftime("%m-%d %H:%M")
        follow = words["follow_up"] if not parts else ""
        return words["join"].join(parts) + words["by"].format(when=when) + follow
    return words["join"].join(parts) or words["none"]


def person_line(
    name: str | None,
    address: str | None,
    fired: Sequence[Rule],
    at: dt.datetime,
    zone: zoneinfo.ZoneInfo,
    locale: str,
    reasons: dict[tuple[Any, ...], str] | None = None,
) -> str:
    """One person of a message: masked name, address, the reason in words, what to do by when.

    ``reasons`` remembers the reason and action of each combination of
    rules and time, which a run repeats for most of its persons.
    """
    words = _words(locale)
    key = (tuple(r.id for r in fired), at, locale)
    reason = None if reasons is None else reasons.get(key)
    if reason is None:
        titles = words["join"].join(r.title_zh if locale == "zh-CN" else r.title_en for r in fired)
        reason = f"{titles}{words['join']}{action_text(fired, at, zone, locale)}"
        if reasons is not None:
            reasons[key] = reason
    who = mask_name(name, keep_length=False) if name else "-"
    return f"{who} {address or '-'}{words['sep']}{reason}"


def homes_of(
    uow: UnitOfWork, dialect: SqlDialect, assessments: Sequence[Told]
) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """Names by person id, and (address, building's area) by household id, in bulk."""
    persons = sorted({a.person_id for a in assessments})
    names: dict[str, str] = {}
    homes: dict[str, tuple[str, str]] = {}
    if dialect.runs_sql:
        for n in range(0, len(persons), _CHUNK):
            chunk = persons[n : n + _CHUNK]
            marks = ", ".join("?" for _ in chunk)
            sql = dialect.text(
                "SELECT p.id, p.name, h.id, h.address, b.area_id FROM persons p"
                " JOIN households h ON h.id = p.household_id"
                " JOIN stairwells s ON s.id = h.stairwell_id"
                f" JOIN buildings b ON b.id = s.building_id WHERE p.id IN ({marks})"
            )
            for pid, name, hid, address, area in uow.query(sql, chunk):
                names[str(pid)] = str(name)
                homes[str(hid)] = (str(address), str(area))
        return names, homes
    for pid in persons:
        person = uow.get(Person, pid)
        if person is not None:
            names[pid] = person.name
    for hid in sorted({a.household_id for a in assessments}):
        household = uow.get(Household, hid)
        stairwell = uow.get(Stairwell, household.stairwell_id) if household else None
        building = uow.get(Building, stairwell.building_id) if stairwell else None
        if household is not None and building is not None:
            homes[hid] = (household.address, building.area_id)
    return names, homes


class _Teams:
    """The unit of work as routing sees it, answering "teams of this grid" from one read.

    Routing asks for the teams of each grid a flagged person lives in; a run
    that flags persons in thousands of grids reads every team once instead.
    """

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._by_grid: dict[str | None, list[Team]] | None = None

    def find(self, cls: type[Any], *, where: Any = None, jurisdictions: Any = None) -> Any:
        keys = set((where or {}).keys())
        if cls is not Team or jurisdictions is not None or keys != {"home_grid_id"}:
            return self._uow.find(cls, where=where, jurisdictions=jurisdictions)
        if self._by_grid is None:
            self._by_grid = {}
            for team in self._uow.find(Team):
                self._by_grid.setdefault(team.home_grid_id, []).append(team)
        return iter(self._by_grid.get(where["home_grid_id"], []))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._uow, name)


def _place(uow: UnitOfWork, area_id: str, cache: dict[str, Place]) -> Place:
    """The place tree above ``area_id`` (a building's area), resolved once per area."""
    found = cache.get(area_id)
    if found is None:
        found = Place()
        seen: set[str] = set()
        current: str | None = area_id
        while current and current not in seen:
            seen.add(current)
            area = uow.get(Area, current)
            if area is None:
                break
            found.areas.append(area)
            current = area.parent_id
        cache[area_id] = found
    return found


def _holders(
    router: Router,
    teams: _Teams,
    role: str,
    place: Place,
    where: str,
    channels: Sequence[str],
) -> list[tuple[str, str, Recipient | None]]:
    """``(recipient, channel, person)`` for everyone holding ``role`` at ``place``.

    A role nobody holds gives one undeliverable target, ``role@where`` (the
    building's area) on the :data:`~gridguard.notifications.settings.UNDELIVERABLE`
    channel.
    """
    people = router.recipients(teams, role, place)
    found: list[tuple[str, str, Recipient | None]] = [
        (p.address(channel), channel, p) for p in people for channel in channels
    ]
    if found:
        return found
    return [(f"{role}@{where}", UNDELIVERABLE, None)]


@attrs.frozen
class _Alert:
    """One urgent alert's holder-level parts."""

    tail: str
    """The id's key after the assessment id: role, recipient, channel."""
    recipient: str
    channel: str
    subject: str
    data: dict[str, Any]


_MARK_ASSESSMENT = "\ue000assessment"
_MARK_PERSON = "\ue000person"
_MARK_WHO = "\ue000who"
_MARK_ADDRESS = "\ue000address"
"""Markers (private-use characters) where SQL puts each person's part of an alert."""

WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
"""What ``str.strip()`` strips: SQL trims a name of the same before masking it."""


@attrs.define
class _Box:
    """One recipient's digest as it fills: the first lines, how many, and a running digest of
    the persons' ids (fed in person order, so it is the digest of the sorted list)."""

    owner: str
    lines: list[str] = attrs.field(factory=list)
    """The listed persons' lines, in order (an item may hold several, one per text line)."""
    persons: int = 0
    ids: Any = attrs.field(factory=hashlib.sha256)

    def add(self, person_id: str) -> bool:
        """Count ``person_id`` in; whether the digest lists them (its first :data:`LISTED`)."""
        self.ids.update((("\x1f" if self.persons else "") + person_id).encode())
        self.persons += 1
        return self.persons <= LISTED


class Messages:
    """A run's messages: urgent alerts at once, one digest per recipient and channel at the end.

    :meth:`add` takes new assessments a page at a time, in person order
    (the ids in a digest's id are then in sorted order without holding
    them), and returns the page's urgent alerts; :meth:`digests` the
    digests, undeliverable ones too. Memory holds the first
    :data:`LISTED` lines of each digest, never the run's persons, and a
    person's name and address are read only for a line that is written.
    """

    def __init__(
        self,
        uow: UnitOfWork,
        dialect: SqlDialect,
        settings: NotifySettings,
        zone: zoneinfo.ZoneInfo,
        day: dt.date,
    ) -> None:
        self._uow = uow
        self._dialect = dialect
        self._settings = settings
        self._zone = zone
        self._day = day
        self._router = Router(settings, zone=zone)
        route = settings.route("screening")
        self._channels = tuple(settings.channels_of(route.channels if route else ()))
        self._locale = settings.locale
        self._words = _words(self._locale)
        self._places: dict[str, Place] = {}
        self._teams = _Teams(uow)
        self._reasons: dict[tuple[Any, ...], str] = {}
        self._holders: dict[tuple[str, str], list[tuple[str, str, Recipient | None]]] = {}
        self._boxes: dict[tuple[str, str, str], _Box] = {}
        self._tallied: dict[tuple[str, int], list[_Box]] = {}
        self._made: dt.datetime | None = None

    def _targets(self, role: str, where: str) -> list[tuple[str, str, Any]]:
        targets = self._holders.get((role, where))
        if targets is None:  # who holds a role is the same for a whole building's area
            place = _place(self._uow, where, self._places)
            targets = _holders(self._router, self._teams, role, place, where, self._channels)
            self._holders[(role, where)] = targets
        return targets

    def _owner(self, where: str) -> str:
        return _place(self._uow, where, self._places).area_id or where

    def _line(
        self, told: Told, pattern: Pattern, names: dict[str, str], homes: dict[str, Any]
    ) -> str:
        address = homes[told.household_id][0]
        return person_line(
            names.get(told.person_id),
            address,
            pattern.rules,
            pattern.template.at,
            self._zone,
            self._locale,
            self._reasons,
        )

    def add(self, items: Sequence[tuple[Told, Pattern]]) -> list[Message]:
        """Take a page of new assessments, in person order; its urgent alerts, to queue now.

        An item's ``area_id`` (its building's area) routes it; without one
        it is read with the household. A person whose household is not on
        file has nowhere to be addressed and is left out.
        """
        if not items:
            return []
        areas = {t.household_id: t.area_id for t, _ in items if t.area_id is not None}
        unplaced = [t for t, _ in items if t.household_id not in areas]
        if unplaced:
            areas.update({h: home[1] for h, home in homes_of(*self._read, unplaced)[1].items()})
        urgent: list[tuple[Told, Pattern, str]] = []
        listed: list[tuple[Told, Pattern, _Box]] = []
        for told, pattern in items:
            where = areas.get(told.household_id)
            if where is None:  # no household on file: nothing to address a message to
                continue
            at = pattern.template.at
            self._made = at if self._made is None else min(self._made, at)
            if pattern.urgent:
                urgent.append((told, pattern, where))
                continue
            for role in pattern.template.notify:
                for recipient, channel, _ in self._targets(role, where):
                    box = self._boxes.get((role, recipient, channel))
                    if box is None:
                        box = self._boxes[(role, recipient, channel)] = _Box(self._owner(where))
                    if box.add(told.person_id):
                        listed.append((told, pattern, box))
        wanted = [t for t, _, _ in urgent] + [t for t, _, _ in listed]
        names, homes = homes_of(*self._read, wanted) if wanted else ({}, {})
        for told, pattern, box in listed:
            box.lines.append(self._line(told, pattern, names, homes))
        out: dict[Any, Message] = {}
        for told, pattern, where in urgent:
            line = self._line(told, pattern, names, homes)
            self._urgent(told, pattern, names.get(told.person_id), line, where, out)
        return list(out.values())

    def prepare(self, places: Iterable[tuple[str, Pattern]]) -> None:
        """Resolve, before :meth:`tally` streams, who gets the digests of persons of each
        building area and pattern (routing reads the store; a stream must not wait on it)."""
        for where, pattern in places:
            key = (where, id(pattern))
            if key in self._tallied:
                continue
            found: list[_Box] = []
            for role in pattern.template.notify:
                for recipient, channel, _ in self._targets(role, where):
                    box = self._boxes.get((role, recipient, channel))
                    if box is None:
                        box = self._boxes[(role, recipient, channel)] = _Box(self._owner(where))
                    found.append(box)
            self._tallied[key] = found
            at = pattern.template.at
            self._made = at if self._made is None else min(self._made, at)

    def tally(self, rows: Iterable[tuple[str, str, str, Pattern]]) -> None:
        """Count digest persons in: ``(person, household, building area, pattern)`` rows, in
        person order, none of them urgent, every area and pattern :meth:`prepare` d.

        Each person is counted and hashed into their recipients' digests; the
        first :data:`LISTED` of each get a line, their names and addresses
        read :data:`LINES_AT_ONCE` persons at a time. A city's persons pass
        through in a tight loop and are not kept.
        """
        tallied = self._tallied
        listed: list[tuple[Told, Pattern, _Box]] = []
        for person, household, where, pattern in rows:
            for box in tallied[(where, id(pattern))]:
                if box.add(person):
                    listed.append((Told("", person, household, where), pattern, box))
            if len(listed) >= LINES_AT_ONCE:
                self._write_lines(listed)
                listed = []
        if listed:
            self._write_lines(listed)

    def _write_lines(self, listed: Sequence[tuple[Told, Pattern, _Box]]) -> None:
        """Each listed person's line into their digest, names and addresses read in bulk."""
        names, homes = homes_of(*self._read, [t for t, _, _ in listed])
        made: dict[int, tuple[_Box, list[str]]] = {}
        for told, pattern, box in listed:
            made.setdefault(id(box), (box, []))[1].append(self._line(told, pattern, names, homes))
        for box, lines in made.values():  # one text per digest and piece: a city holds ~600,000
            box.lines.append("\n".join(lines))

    @property
    def _read(self) -> tuple[UnitOfWork, SqlDialect]:
        return self._uow, self._dialect

    def _urgent(
        self,
        told: Told,
        pattern: Pattern,
        name: str | None,
        line: str,
        where: str,
        out: dict[Any, Message],
    ) -> None:
        """One alert per role the rules tell and person holding it, on each channel.

        Routed as the digests are, addressed to each holder with a reference
        to their number on file so a chat robot @-mentions them. A role
        nobody holds is one undeliverable message. The id is derived from
        the assessment, role, recipient and channel: a re-run queues nothing new.
        """
        owner = self._owner(where)
        who = mask_name(name, keep_length=False) if name else "-"
        for alert in self._alerts(pattern, where, str(told.id), told.person_id, who):
            key = uuid.UUID(keyed_id(f"notify|{told.id}|{alert.tail}"))
            out.setdefault(
                key,
                Message(
                    id=key,
                    recipient=alert.recipient,
                    subject=alert.subject,
                    body=line,
                    data=alert.data,
                    channel=alert.channel,
                    area_id=owner,
                    topic="screening",
                    at=pattern.template.at,
                ),
            )

    def _alerts(
        self, pattern: Pattern, where: str, assessment_id: str, person_id: str, who: str
    ) -> Iterator[_Alert]:
        """The alerts of one urgent person, each holder once."""
        rules = pattern.rules
        chosen = [r for r in rules if r.id in URGENT_RULES] or list(rules)
        title = chosen[0].title_zh if self._locale == "zh-CN" else chosen[0].title_en
        template = pattern.template
        seen: set[tuple[str, str, str]] = set()
        for role in template.notify:
            for recipient, channel, person in self._targets(role, where):
                if (role, recipient, channel) in seen:
                    continue
                seen.add((role, recipient, channel))
                data: dict[str, Any] = {
                    "role": role,
                    "urgent": True,
                    "person_id": person_id,
                    "assessment_id": assessment_id,
                    "risk": template.risk.value,
                    "rules": [r.rule_id for r in template.fired],
                }
                if person is None:
                    data["undeliverable"] = f"no {role} on file for {where}"
                elif person.phone and person.on_file:
                    data["mention_of"] = dict(person.on_file)
                yield _Alert(
                    tail=f"{role}|{recipient}|{channel}",
                    recipient=recipient,
                    channel=channel,
                    subject=self._words["urgent"].format(title=title, who=who),
                    data=data,
                )

    def alert_targets(self, places: Iterable[tuple[str, int, Pattern]]) -> list[tuple[Any, ...]]:
        """What the urgent alerts of persons of each building area and pattern share, for
        SQL to add each person's part to (see :mod:`._setwise`).

        Per area, pattern number and holder: the area the message is filed
        under, channel, recipient, the time, the rest of the id's key, and
        the subject, body and data around the person's masked name,
        address, assessment id and person id, cut where those go. Built by
        the same code as Python's alerts, with markers in those places.
        """
        rows: list[tuple[Any, ...]] = []
        for where, number, pattern in places:
            owner = self._owner(where)
            at = encode_timestamp(pattern.template.at)
            body = person_line(
                None,
                _MARK_ADDRESS,
                pattern.rules,
                pattern.template.at,
                self._zone,
                self._locale,
                self._reasons,
            )
            body_tail = body.split(_MARK_ADDRESS, 1)[1]
            for alert in self._alerts(pattern, where, _MARK_ASSESSMENT, _MARK_PERSON, _MARK_WHO):
                head, tail = alert.subject.split(_MARK_WHO, 1)
                text = json.dumps(alert.data, ensure_ascii=False, sort_keys=True)
                before, rest = text.split(json.dumps(_MARK_ASSESSMENT, ensure_ascii=False), 1)
                middle, after = rest.split(json.dumps(_MARK_PERSON, ensure_ascii=False), 1)
                rows.append(
                    (
                        where,
                        number,
                        owner,
                        alert.channel,
                        alert.recipient,
                        at,
                        alert.tail,
                        head,
                        tail,
                        body_tail,
                        before,
                        middle,
                        after,
                        WHITESPACE,
                    )
                )
        return rows

    def digests(self) -> Iterator[Message]:
        """One message per recipient and channel listing their persons; undeliverable ones too.

        The message id is derived from the day, the recipient, the channel
        and the persons listed, so running the same screening again queues
        nothing new. Each digest is made as it is taken, and its lines are let
        go: a city's digests are never all in memory at once.
        """
        words, day = self._words, self._day
        for key in sorted(self._boxes):
            role, recipient, channel = key
            box = self._boxes.pop(key)
            listed = box.lines
            if box.persons > LISTED:
                listed.append(words["more"].format(n=box.persons - LISTED))
            reader = _ROLES.get(self._locale, {}).get(role, role)
            body = "\n".join([words["head"].format(role=reader, day=day.isoformat()), *listed])
            digest = box.ids.hexdigest()[:16]
            data: dict[str, Any] = {"role": role, "persons": box.persons, "digest": True}
            if channel == UNDELIVERABLE:
                data["undeliverable"] = f"no {role} on file for {recipient.split('@', 1)[-1]}"
            yield Message(
                id=stable_id("screening-digest", day, role, recipient, channel, digest),
                recipient=recipient,
                subject=words["subject"].format(day=day.isoformat(), n=box.persons),
                body=body,
                data=data,
                channel=channel,
                area_id=box.owner,
                topic="screening",
                at=self._made,
            )
