"""The daily digest: one message per community and day, to the community secretary.

A day is a local calendar day in the campaign's time zone (midnight to
midnight there, whatever that is in UTC). The figures are counted in SQL
where the store speaks it (one query per table, on the jurisdiction and
time indexes), in Python on the memory backend.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from ..model import (
    Area,
    AreaLevel,
    Building,
    Campaign,
    CheckIn,
    HealthReport,
    Screening,
    ServiceRequest,
    Visit,
)
from ..model.enums import CheckInStatus, VisitOutcome
from ..model.messages import DeliveryAttempt, DeliveryOutcome
from ..notify.base import Message
from ..storage.dialect import SqlDialect
from .outbox import enqueue
from .routing import Place, Router, message_id
from .settings import parse_clock

if TYPE_CHECKING:
    from ..storage.base import UnitOfWork
    from ..workspace import Workspace

__all__ = ["communities", "day_figures", "digest_messages", "enqueue_digest"]


def _window(day: dt.date, zone: zoneinfo.ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC)
    return start, end


def day_figures(
    uow: UnitOfWork,
    community_id: str,
    day: dt.date,
    zone: zoneinfo.ZoneInfo,
    *,
    dialect: SqlDialect,
    fever_threshold: float = 37.3,
) -> dict[str, int]:
    """What happened in one community on one local day, for the digest."""
    start, end = _window(day, zone)
    if dialect.runs_sql:
        return _figures_sql(uow, community_id, start, end, dialect, fever_threshold)
    return _figures_python(uow, community_id, start, end, fever_threshold)


def _figures_sql(
    uow: UnitOfWork,
    community: str,
    start: dt.datetime,
    end: dt.datetime,
    dialect: SqlDialect,
    threshold: float,
) -> dict[str, int]:
    window: tuple[Any, ...] = (community, dialect.ts(start), dialect.ts(end))

    def q(sql: str, *params: Any) -> tuple[Any, ...]:
        row = next(iter(uow.query(dialect.text(sql), params)), None)
        return tuple(0 if v is None else v for v in (row or ()))

    within = "jurisdiction = ? AND at >= ? AND at < ?"
    visits, households, not_home = q(
        f"SELECT count(*), count(DISTINCT household_id), "
        f"sum(CASE WHEN outcome = ? THEN 1 ELSE 0 END) FROM visits WHERE {within}",
        VisitOutcome.NOT_HOME.value,
        *window,
    )
    (screenings,) = q(f"SELECT count(*) FROM screenings WHERE {within}", *window)
    (fevers,) = q(
        f"SELECT count(DISTINCT person_id) FROM ("
        f" SELECT person_id FROM screenings WHERE {within} AND temperature >= ?"
        f" UNION SELECT person_id FROM health_reports WHERE {within} AND temperature >= ?) f",
        *window,
        threshold,
        *window,
        threshold,
    )
    checkins, anomalies = q(
        f"SELECT count(*), sum(CASE WHEN status = ? THEN 1 ELSE 0 END) FROM checkins "
        f"WHERE {within}",
        CheckInStatus.ANOMALIES.value,
        *window,
    )
    (requests,) = q(f"SELECT count(*) FROM service_requests WHERE {within}", *window)
    sent, dead = q(
        "SELECT sum(CASE WHEN outcome = ? THEN 1 ELSE 0 END), "
        f"sum(CASE WHEN outcome = ? THEN 1 ELSE 0 END) FROM outbox_attempts WHERE {within}",
        DeliveryOutcome.SENT.value,
        DeliveryOutcome.DEAD.value,
        *window,
    )
    (buildings, silent) = q(
        "SELECT count(*), sum(CASE WHEN b.observer_id IS NOT NULL AND NOT EXISTS ("
        " SELECT 1 FROM checkins c WHERE c.building_id = b.id AND c.jurisdiction = ?"
        " AND c.at >= ? AND c.at < ?) THEN 1 ELSE 0 END) FROM buildings b"
        " WHERE b.jurisdiction = ?",
        *window,
        community,
    )
    return {
        "visits": int(visits),
        "households_visited": int(households),
        "not_home": int(not_home),
        "screenings": int(screenings),
        "fevers": int(fevers),
        "checkins": int(checkins),
        "checkins_anomalies": int(anomalies),
        "buildings": int(buildings),
        "buildings_silent": int(silent),
        "service_requests": int(requests),
        "notifications_sent": int(sent),
        "notifications_dead": int(dead),
    }


def _figures_python(
    uow: UnitOfWork, community: str, start: dt.datetime, end: dt.datetime, threshold: float
) -> dict[str, int]:
    def of(cls: type[Any]) -> list[Any]:
        return [f for f in uow.find(cls, jurisdictions=[community]) if start <= f.at < end]

    visits = of(Visit)
    screenings = of(Screening)
    checkins = of(CheckIn)
    attempts = of(DeliveryAttempt)
    fevers = {
        f.person_id
        for f in (*screenings, *of(HealthReport))
        if f.temperature is not None and f.temperature >= threshold
    }
    reported = {c.building_id for c in checkins}
    buildings = list(uow.find(Building, jurisdictions=[community]))
    return {
        "visits": len(visits),
        "households_visited": len({v.household_id for v in visits}),
        "not_home": sum(1 for v in visits if v.outcome is VisitOutcome.NOT_HOME),
        "screenings": len(screenings),
        "fevers": len(fevers),
        "checkins": len(checkins),
        "checkins_anomalies": sum(1 for c in checkins if c.status is CheckInStatus.ANOMALIES),
        "buildings": len(buildings),
        "buildings_silent": sum(
            1 for b in buildings if b.observer_id is not None and b.id not in reported
        ),
        "service_requests": len(of(ServiceRequest)),
        "notifications_sent": sum(1 for a in attempts if a.outcome is DeliveryOutcome.SENT),
        "notifications_dead": sum(1 for a in attempts if a.outcome is DeliveryOutcome.DEAD),
    }


def communities(uow: UnitOfWork, campaign: Campaign | None) -> list[Area]:
    """The communities (and villages) a campaign covers; every one when there is no campaign."""
    found = [
        a
        for level in (AreaLevel.COMMUNITY, AreaLevel.VILLAGE)
        for a in uow.find(Area, where={"level": level})
    ]
    if campaign is None:
        return sorted(found, key=lambda a: a.id)
    scope = set(campaign.scope)
    covered = []
    for area in found:
        current: Area | None = area
        seen: set[str] = set()
        while current is not None and current.id not in seen:
            if current.id in scope:
                covered.append(area)
                break
            seen.add(current.id)
            current = uow.get(Area, current.parent_id) if current.parent_id else None
        else:
            if any(uow.jurisdiction_of(Area, s) == area.id for s in scope):
                covered.append(area)
    return sorted(covered, key=lambda a: a.id)


def digest_messages(
    uow: UnitOfWork,
    router: Router,
    day: dt.date,
    *,
    dialect: SqlDialect,
    campaign: Campaign | None,
    only: Collection[str] | None = None,
) -> list[Message]:
    """The digest messages of ``day``: per community, to the digest roles on the digest channels.

    Each is held until the digest time (local) of that day; a past day's
    digest is due at once. Ids derive from the community and the day, so
    enqueuing a day's digest twice stores it once. ``only`` keeps the
    communities of those ids (the ones a principal may see).
    """
    settings = router.settings
    release = dt.datetime.combine(day, parse_clock(settings.digest.at), router.zone).astimezone(
        dt.UTC
    )
    out: list[Message] = []
    for community in communities(uow, campaign):
        if only is not None and community.id not in only:
            continue
        figures = day_figures(
            uow,
            community.id,
            day,
            router.zone,
            dialect=dialect,
            fever_threshold=settings.fever_threshold,
        )
        place = Place(areas=_ancestry(uow, community))
        values: dict[str, Any] = {"community": community.name, "date": day.isoformat(), **figures}
        for role in settings.digest.roles:
            for person in router.recipients(uow, role, place):
                rendered = router.renderer.render("digest", {**values, "contact": person.name})
                for channel in settings.channels_of(settings.digest.channels):
                    recipient = person.address(channel)
                    out.append(
                        Message(
                            id=message_id(
                                "digest", f"{community.id}:{day}", role, recipient, channel
                            ),
                            recipient=recipient,
                            subject=rendered.subject,
                            body=rendered.body,
                            data={"role": role, "day": day.isoformat(), "figures": figures},
                            channel=channel,
                            area_id=community.id,
                            topic="digest",
                            not_before=release,
                        )
                    )
    return out


def _ancestry(uow: UnitOfWork, area: Area) -> list[Area]:
    chain = [area]
    seen = {area.id}
    while chain[-1].parent_id and chain[-1].parent_id not in seen:
        parent = uow.get(Area, chain[-1].parent_id)
        if parent is None:
            break
        seen.add(parent.id)
        chain.append(parent)
    return chain


def enqueue_digest(ws: Workspace, router: Router, day: dt.date) -> int:
    """Enqueue the digest of ``day`` for each community of the campaign; returns how many.

    Only the communities inside the principal's scope (a community's
    figures are not shown to a grid's principal), for a role that reads
    visits and writes the outbox; audited.
    """
    campaign_id = router.settings.campaign
    with ws._transaction() as uow:
        campaign = None
        if campaign_id:
            campaign = uow.get(Campaign, campaign_id)
        else:
            found = list(uow.find(Campaign))
            campaign = found[0] if len(found) == 1 else None
        only = ws.visible("notify.digest", Area, [c.id for c in communities(uow, campaign)])
        messages = digest_messages(
            uow, router, day, dialect=ws.dialect, campaign=campaign, only=only
        )
        return enqueue(uow, messages) if messages else 0
