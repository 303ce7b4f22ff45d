"""Missed daily reports and the escalation ladder, for buildings and monitoring points alike.

A place (a building with an observer, a monitoring point with its staff)
*missed* its report for a local day when nothing came in between local
midnight and the cut-off, both in the campaign's time zone. One SQL query
answers that for a whole city: one index seek on ``(place, at)`` per
watched place.

The escalation ladder tells, rung by rung, who should know: the observer
first (a reminder at the cut-off), then the grid worker, then the
community. Each rung falls due some minutes after the cut-off, and fires
only for places that are still silent when the job runs. Messages go
through the notification outbox with ids derived from the place, the day
and the rung, so however often the job runs, each rung reaches the outbox
once per place and day.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import NotFoundError, ValidationError
from ..model import Building, Campaign, CheckIn, Person
from ..model._validate import bounded, fail, non_empty, optional_identifier
from ..model.campaign import DEFAULT_TIME_ZONE
from ..model.watch import MonitoringPoint, PointReport
from ..notifications.config import settings_for
from ..notifications.routing import Event, Router
from ..notifications.settings import NotifySettings, parse_clock
from ._sql import SqlDialect, param_ts, text

if TYPE_CHECKING:
    from ..notifications.settings import NotifySettings
    from ..storage.base import UnitOfWork
    from ..workspace import Workspace

__all__ = [
    "BUILDINGS",
    "DEFAULT_LADDER",
    "POINTS",
    "POINT_LADDER",
    "EscalationReport",
    "Missed",
    "Rung",
    "WatchSettings",
    "Watched",
    "escalate",
    "missing",
    "missing_sql",
    "watch_zone",
]


@attrs.frozen
class Watched:
    """A kind of place that reports daily: its table, its report facts and their key column."""

    name: str
    place: type[Any]
    place_table: str
    report: type[Any]
    report_table: str
    report_column: str


BUILDINGS = Watched("buildings", Building, "buildings", CheckIn, "checkins", "building_id")
"""Buildings and their observers' check-ins (报平安)."""
POINTS = Watched(
    "points", MonitoringPoint, "monitoring_points", PointReport, "point_reports", "point_id"
)
"""Health monitoring points (健康监测点) and their daily reports."""


def _clock(_: object, attribute: attrs.Attribute[Any], value: str) -> None:
    try:
        parse_clock(value)
    except ValueError as exc:
        fail(attribute, value, str(exc))


def _tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class Rung:
    """One step of the ladder: a notification topic, due ``after`` minutes past the cut-off.

    The topic's route (in the notification settings) says who hears it.
    """

    topic: str = attrs.field(validator=non_empty)
    after: int = attrs.field(default=0, validator=bounded(0, 24 * 60))


DEFAULT_LADDER: tuple[Rung, ...] = (
    Rung(topic="checkin_reminder", after=0),
    Rung(topic="missing_checkin", after=120),
    Rung(topic="missing_checkin_escalated", after=240),
)
"""Buildings: remind the observer at the cut-off, the grid worker 2 h later, the community 4 h."""

POINT_LADDER: tuple[Rung, ...] = (
    Rung(topic="missing_point_report", after=0),
    Rung(topic="missing_checkin_escalated", after=120),
)
"""Monitoring points: the grid worker at the cut-off, the community 2 h later."""


@attrs.frozen(kw_only=True)
class WatchSettings:
    """When a day's report is due, and whom to tell, rung by rung, when it is not in."""

    campaign: str | None = attrs.field(default=None, validator=optional_identifier)
    """The campaign whose time zone days and the cut-off are in (default: the only one)."""
    cutoff: str = attrs.field(default="12:00", validator=_clock)
    """Local time of day by which the day's report is due."""
    ladder: tuple[Rung, ...] = attrs.field(default=DEFAULT_LADDER, converter=_tuple)
    point_ladder: tuple[Rung, ...] = attrs.field(default=POINT_LADDER, converter=_tuple)

    def ladder_for(self, kind: Watched) -> tuple[Rung, ...]:
        return self.point_ladder if kind is POINTS else self.ladder

    def cutoff_at(self, day: dt.date, zone: zoneinfo.ZoneInfo) -> dt.datetime:
        """The cut-off of local ``day`` as a UTC instant (daylight saving included)."""
        return _local(day, parse_clock(self.cutoff), zone)


def _local(day: dt.date, clock: dt.time, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, clock, zone).astimezone(dt.UTC)


def day_bounds(day: dt.date, zone: zoneinfo.ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """Local midnight to the next local midnight of ``day``, in UTC (23 or 25 h on DST days)."""
    return _local(day, dt.time(), zone), _local(day + dt.timedelta(days=1), dt.time(), zone)


def watch_zone(ws: Workspace, campaign: str | None) -> zoneinfo.ZoneInfo:
    """The time zone of ``campaign`` (or the only campaign; Asia/Shanghai when there is none).

    Read from the store directly: a building observer, who may not read
    campaigns, still reports on the campaign's days, and a time zone
    discloses nothing.
    """

    with ws._transaction(write=False) as uow:
        if campaign:
            found = uow.get(Campaign, campaign)
            if found is None:
                raise NotFoundError(f"no Campaign with id {campaign!r}")
            return found.zone
        campaigns = list(uow.find(Campaign))
    if len(campaigns) == 1:
        return campaigns[0].zone
    return zoneinfo.ZoneInfo(DEFAULT_TIME_ZONE)


@attrs.frozen(kw_only=True)
class Missed:
    """A place with an observer and no report in the window asked about."""

    place_id: str
    name: str
    area_id: str
    observer_id: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.place_id,
            "name": self.name,
            "area_id": self.area_id,
            "observer_id": self.observer_id,
        }


def missing_sql(kind: Watched, jurisdictions: int | None = None) -> str:
    """The one query behind :func:`missing` (``?`` placeholders: start, end, communities...)."""
    juris = ""
    if jurisdictions is not None:
        juris = f" AND p.jurisdiction IN ({', '.join('?' for _ in range(jurisdictions)) or 'NULL'})"
    return (
        f"SELECT p.id, p.name, p.area_id, p.observer_id FROM {kind.place_table} p "
        f"WHERE p.observer_id IS NOT NULL{juris} AND NOT EXISTS ("
        f"SELECT 1 FROM {kind.report_table} r WHERE r.{kind.report_column} = p.id "
        'AND r."at" >= ? AND r."at" < ?) ORDER BY p.id'
    )


def _missing(
    uow: UnitOfWork,
    dialect: SqlDialect,
    kind: Watched,
    start: dt.datetime,
    end: dt.datetime,
    jurisdictions: Collection[str] | None,
) -> list[Missed]:
    if dialect.runs_sql:
        wanted = None if jurisdictions is None else sorted(jurisdictions)
        sql = missing_sql(kind, None if wanted is None else len(wanted))
        params = [*(wanted or []), param_ts(dialect, start), param_ts(dialect, end)]
        return [
            Missed(place_id=str(i), name=str(n), area_id=str(a), observer_id=str(o))
            for i, n, a, o in uow.query(text(dialect, sql), params)
        ]
    reported = {
        getattr(r, kind.report_column) for r in uow.find(kind.report) if start <= r.at < end
    }
    out = []
    for place in uow.find(kind.place, jurisdictions=jurisdictions):
        if place.observer_id is None or place.id in reported:
            continue
        out.append(
            Missed(
                place_id=place.id,
                name=place.name,
                area_id=place.area_id,
                observer_id=place.observer_id,
            )
        )
    return out


def missing(
    ws: Workspace,
    day: dt.date,
    *,
    settings: WatchSettings | None = None,
    kind: Watched = BUILDINGS,
    until: dt.datetime | None = None,
    jurisdictions: Collection[str] | None = None,
) -> list[Missed]:
    """Places of ``kind`` with an observer and no report on local ``day`` before the cut-off.

    ``until`` (an aware instant) moves the end of the window: the places
    still silent by then. ``jurisdictions`` limits the answer to those
    communities. One SQL query on SQLite and PostgreSQL. Needs the
    ``watch.missing`` operation and answers within the principal's scope.
    """
    settings = settings or WatchSettings()
    zone = watch_zone(ws, settings.campaign)
    start, day_end = day_bounds(day, zone)
    end = settings.cutoff_at(day, zone) if until is None else min(until, day_end)
    if end.utcoffset() is None:
        raise ValidationError.single("$.until", repr(until), "must be a timezone-aware datetime")
    ws.authorize("watch.missing")
    jurisdictions = _within_scope(ws, kind, jurisdictions)
    with ws._transaction(write=False) as uow:
        found = _missing(uow, ws.dialect, kind, start, end, jurisdictions)
    return _in_scope(ws, kind, found)


def _within_scope(
    ws: Workspace, kind: Watched, jurisdictions: Collection[str] | None
) -> Collection[str] | None:
    """The communities to ask about: those asked for, within the principal's."""
    own = ws.scope_jurisdictions(kind.place)
    if own is None:
        return jurisdictions
    return own if jurisdictions is None else own & set(jurisdictions)


def _in_scope(ws: Workspace, kind: Watched, found: list[Missed]) -> list[Missed]:
    """The places found that lie in the principal's scope (a grid, a building: finer)."""
    inside = ws.in_scope(kind.place, {m.place_id for m in found})
    return [m for m in found if m.place_id in inside]


@attrs.frozen(kw_only=True)
class EscalationReport:
    """What one run of the escalation job did for one day."""

    day: dt.date
    kind: str
    cutoff: dt.datetime
    missed: tuple[Missed, ...]
    """Places still silent when the job ran (only once the cut-off has passed)."""
    rungs_due: tuple[str, ...]
    """Topics of the rungs whose time had come."""
    enqueued: int
    """Messages newly stored in the outbox (0 on a repeat run)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "kind": self.kind,
            "cutoff": self.cutoff.isoformat(),
            "missed": [m.to_dict() for m in self.missed],
            "rungs_due": list(self.rungs_due),
            "enqueued": self.enqueued,
        }


def escalation_key(kind: Watched, place_id: str, day: dt.date) -> str:
    """The event key of a place's missed day: with the topic it fixes every message id."""
    return f"watch:{kind.name}:{place_id}:{day.isoformat()}"


def escalate(
    ws: Workspace,
    day: dt.date,
    *,
    now: dt.datetime | None = None,
    settings: WatchSettings | None = None,
    notify: NotifySettings | None = None,
    kind: Watched = BUILDINGS,
    jurisdictions: Collection[str] | None = None,
) -> EscalationReport:
    """Run the ladder for local ``day`` as of ``now``: enqueue each due rung for each silent place.

    A rung is due at the cut-off plus its ``after`` minutes; it goes to the
    places with no report from local midnight until ``now`` (or the end of
    the day). Message ids come from the place, day, rung, recipient and
    channel, so running the job again enqueues nothing it enqueued before.
    The query and the messages share one transaction. Needs the
    ``watch.escalate`` operation (it writes to the outbox) and escalates
    only the places in the principal's scope.
    """

    ws.authorize("watch.escalate")
    jurisdictions = _within_scope(ws, kind, jurisdictions)
    settings = settings or WatchSettings()
    notify = settings_for(ws, notify, campaign_id=settings.campaign)
    now = now or dt.datetime.now(dt.UTC)
    if now.utcoffset() is None:
        raise ValidationError.single("$.now", repr(now), "must be a timezone-aware datetime")
    zone = watch_zone(ws, settings.campaign)
    start, day_end = day_bounds(day, zone)
    cutoff = settings.cutoff_at(day, zone)
    rungs = [
        (rung, cutoff + dt.timedelta(minutes=rung.after))
        for rung in settings.ladder_for(kind)
        if cutoff + dt.timedelta(minutes=rung.after) <= now
    ]
    if not rungs:
        return EscalationReport(
            day=day, kind=kind.name, cutoff=cutoff, missed=(), rungs_due=(), enqueued=0
        )
    router = Router(notify, zone=zone)
    with ws._transaction() as uow:
        silent = _missing(uow, ws.dialect, kind, start, min(now, day_end), jurisdictions)
        silent = _in_scope(ws, kind, silent)
        names = _names(uow, [m.observer_id for m in silent])
        events = []
        for place in silent:
            where: dict[str, Any] = (
                {"building_id": place.place_id} if kind is BUILDINGS else {"area_id": place.area_id}
            )
            values = {"observer": names.get(place.observer_id), "date": day.isoformat()}
            if kind is not BUILDINGS:
                values["building"] = place.name
            for rung, at in rungs:
                events.append(
                    Event(
                        topic=rung.topic,
                        key=escalation_key(kind, place.place_id, day),
                        at=at,
                        values=values,
                        **where,
                    )
                )
        enqueued = router.notify(_ReadCache(uow), events) if events else 0
    return EscalationReport(
        day=day,
        kind=kind.name,
        cutoff=cutoff,
        missed=tuple(silent),
        rungs_due=tuple(r.topic for r, _ in rungs),
        enqueued=enqueued,
    )


class _ReadCache:
    """The unit of work as routing sees it, with the place tree's look-ups remembered.

    Routing one event per silent building and rung looks up the same areas,
    teams and observers again and again; within one transaction that only
    adds outbox rows, their answers cannot change.
    """

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._got: dict[tuple[type[Any], str], Any] = {}
        self._found: dict[tuple[type[Any], tuple[tuple[str, Any], ...]], list[Any]] = {}

    def get(self, cls: type[Any], id: str) -> Any:
        key = (cls, id)
        if key not in self._got:
            self._got[key] = self._uow.get(cls, id)
        return self._got[key]

    def find(self, cls: type[Any], *, where: Any = None, jurisdictions: Any = None) -> Any:
        if jurisdictions is not None or cls.__name__ != "Team":
            return self._uow.find(cls, where=where, jurisdictions=jurisdictions)
        key = (cls, tuple(sorted((where or {}).items())))
        if key not in self._found:
            self._found[key] = list(self._uow.find(cls, where=where))
        return iter(self._found[key])

    def __getattr__(self, name: str) -> Any:
        return getattr(self._uow, name)


def _names(uow: UnitOfWork, person_ids: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for person_id in set(person_ids):
        person = uow.get(Person, person_id)
        if person is not None:
            out[person_id] = person.name
    return out
