"""The daily situation report (日报): one area, one local day, every line of defense.

What the community party secretary reads to plan the next day: per line of
defense its coverage and the day's activity; the sweep's visits and the
not-at-home households still to phone; persons flagged by the rules (by
risk and by rule); quarantines active, new, on their last day and released;
observers' check-ins and the anomalies they saw; service requests and open
or overdue tasks; the alerts made, and the longest an urgent one waited.
Headline figures carry the change since the day before.

Every number is one aggregate query in the database (SQLite or
PostgreSQL), kept to the area by its jurisdiction (and, below a community,
by its buildings); a city's report reads no row into Python but a few
hundred aggregates and the day's assessments and anomalies.

Definitions, so that a figure can be checked against the facts:

* a household is *visited* once any visit (door or phone) of the campaign
  reached it up to the end of the day, *screened* once one screened it;
* *call pending*: found not at home at the door, neither screened nor
  vacant, and not phoned since the last time at the door;
* *screenings*: screenings recorded that day (人次: a person screened twice
  counts twice);
* *flagged*: persons with an assessment for the day whose risk is not
  ``none`` (a person counts once, at their highest risk);
* a quarantine order that was not cancelled is *active* on a day when
  ``start <= day < end`` and no early release (a ``quarantine_releases``
  fact) ended it by the end of that day; *new* when it starts that day; on
  its *last day* when active and ``end`` is the next day; *released* that
  day when an early release was recorded that day, or, with none, when
  ``end`` is that day;
* check-in compliance: buildings with a check-in that day over buildings
  with an observer (health monitoring points and their reports count as
  buildings and check-ins);
* service requests *open*: made by the end of the day with no completion by
  then; *overdue*: open past their latest assignment's due time or,
  unassigned, made more than the quarantine policy's ``service_due_hours``
  (24) before the day's end (as :func:`gridguard.services.workflow.overdue`
  counts them);
* *urgent wait*: of the urgent alerts made that day (a fever, a positive
  contact), the longest time from when one could go to its delivery, in
  minutes; those not delivered by the end of the day are counted apart;
* tasks *open*: status ``open`` and due by the end of the day; *overdue*:
  open and due before the day began (task status has no history, so these
  two have no change since yesterday). On the campaign's first day no
  figure has a change.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import attrs

from ..model import Campaign
from ..model.quarantine import QuarantinePolicy
from ..report.document import Column, Figures, Label, Report, Section, Table
from ..report.locale import label, value_label
from ._common import figure, json_list, new_report, note_for, number, share
from .scope import IN_CAMPAIGN, ReportScope
from .trends import rule_title, trends_section

if TYPE_CHECKING:
    from ..workspace import Workspace

__all__ = ["daily_report"]

RISKS = ("high", "medium", "low")
_DAY = dt.timedelta(days=1)
_RANK = {"low": 1, "medium": 2, "high": 3}

_VISITS_TODAY = """
SELECT v.outcome, v.channel, sum(CASE WHEN v."at" >= ? THEN 1 ELSE 0 END), count(*)
FROM visits v
WHERE {in_campaign} AND {at} >= ? AND {at} < ?{where}
GROUP BY v.outcome, v.channel
"""
"""Visits on the day (and on both days) by outcome and channel. Read through the visits'
covering index: faster than a seek by community and time, which would fetch each row."""

_BIT = (
    "CASE v.outcome WHEN 'screened' THEN 1 WHEN 'vacant' THEN 2 WHEN 'refused' THEN 4 ELSE 8 END"
    " * CASE v.channel WHEN 'door' THEN 1 ELSE 16 END"
    ' * CASE WHEN v."at" < ? THEN 256 ELSE 1 END'
)
"""One bit per kind of visit (outcome x channel x before the day or on it): a household's
visits sum up (``sum(DISTINCT ...)``) to a mask of what ever happened to it."""
_SCREENED, _DONE, _BEFORE = 0x1111, 0x3333, 0xFF00
"""Mask bits: screened (door or phone, any day); screened or vacant; anything before the day."""

_FOLLOW_UP = "(v.outcome = 'not_home' AND v.channel = 'door' OR v.channel = 'phone')"
"""A visit that starts (not at home at the door) or answers (a phone call) a phone follow-up."""

_HOUSEHOLDS_SO_FAR = """
SELECT count(*),
  sum(CASE WHEN x.m & {screened} > 0 THEN 1 ELSE 0 END),
  sum(CASE WHEN x.m & {before} > 0 THEN 1 ELSE 0 END),
  sum(CASE WHEN x.m & {screened_before} > 0 THEN 1 ELSE 0 END),
  sum(CASE WHEN x.m & {done} = 0 AND substr(x.last, length(x.last), 1) = 'D' THEN 1 ELSE 0 END),
  sum(CASE WHEN x.m & {done_before} = 0 AND substr(x.last_y, length(x.last_y), 1) = 'D'
      THEN 1 ELSE 0 END)
FROM (SELECT v.household_id, sum(DISTINCT {bit}) AS m,
        max(CASE WHEN {follow_up} THEN {stamp} END) AS last,
        max(CASE WHEN {follow_up} AND v."at" < ? THEN {stamp} END) AS last_y
      FROM visits v
      WHERE {in_campaign} AND v."at" < ?{where}
      GROUP BY v.household_id) x
"""
"""Households visited so far, screened, visited and screened before the day, and awaiting a
phone call at the end of the day and of the day before: not screened nor vacant, and their
latest follow-up visit (by time, a phone call winning a tie) is a door visit that found
nobody at home. Each household's visits are read once, in the order of their covering
index; ``last`` is the time of the latest follow-up visit with ``D`` (door) or ``P`` (phone)
appended."""

_HOUSEHOLDS = "SELECT count(*) FROM households h WHERE 1 = 1{where}"

_SCREENINGS = """
SELECT sum(CASE WHEN s."at" >= ? THEN 1 ELSE 0 END), count(*)
FROM screenings s WHERE s."at" >= ? AND s."at" < ?{where}
"""

_ASSESSMENTS = """
SELECT a.day, a.person_id, a.risk, a.fired FROM assessments a
WHERE a.campaign_id = ? AND a.day IN (?, ?) AND a.risk <> 'none'{where}
"""

ACTIVE = "x.s <= ? AND x.e > ? AND (x.released_at IS NULL OR x.released_at >= ?)"
"""Order ``x`` holds on a day (parameters: the day, the day, the day's end instant)."""

ORDERS = """SELECT q.id, q.kind, q.household_id, q.person_id, q."start" AS s, q."end" AS e,
  r.released_at
FROM quarantine_orders q
LEFT JOIN (SELECT order_id, min("at") AS released_at FROM quarantine_releases
           WHERE early = ? GROUP BY order_id) r ON r.order_id = q.id
WHERE q.status <> 'cancelled'{where}"""
"""Each order that was not cancelled, with the instant an early release (a
``quarantine_releases`` fact) ended it, if one did; parameters: ``True`` as the
dialect stores it, then those of ``where``."""

_OBSERVED = "SELECT count(*) FROM buildings b WHERE b.observer_id IS NOT NULL{where}"

_CHECKINS = """
SELECT count(DISTINCT CASE WHEN c."at" >= ? THEN c.building_id END),
  count(DISTINCT CASE WHEN c."at" < ? THEN c.building_id END),
  sum(CASE WHEN c."at" >= ? THEN 1 ELSE 0 END)
FROM checkins c WHERE c."at" >= ? AND c."at" < ?{where}
"""

_ANOMALIES = """
SELECT CASE WHEN c."at" >= ? THEN 1 ELSE 0 END, c.anomalies FROM checkins c
WHERE c.status = 'anomalies' AND c."at" >= ? AND c."at" < ?{where}
"""

_POINTS = "SELECT count(*) FROM monitoring_points p WHERE p.observer_id IS NOT NULL{where}"

_POINT_REPORTS = """
SELECT count(DISTINCT CASE WHEN r."at" >= ? THEN r.point_id END),
  count(DISTINCT CASE WHEN r."at" < ? THEN r.point_id END)
FROM point_reports r WHERE r."at" >= ? AND r."at" < ?{where}
"""
"""Health monitoring points (健康监测点, rural) that reported on the day and the day before."""

_POINT_ANOMALIES = """
SELECT CASE WHEN r."at" >= ? THEN 1 ELSE 0 END, r.anomalies FROM point_reports r
WHERE r.status = 'anomalies' AND r."at" >= ? AND r."at" < ?{where}
"""

_SERVICES = """
SELECT r.service,
  sum(CASE WHEN r."at" >= ? THEN 1 ELSE 0 END),
  sum(CASE WHEN c.request_id IS NULL THEN 1 ELSE 0 END),
  sum(CASE WHEN c.request_id IS NULL AND (
        (x.due IS NOT NULL AND x.due < ?) OR (x.due IS NULL AND r."at" < ?)) THEN 1 ELSE 0 END)
FROM (SELECT r.id, r.service, r."at",
        (SELECT s.due FROM service_assignments s WHERE s.request_id = r.id AND s."at" < ?
         ORDER BY s."at" DESC, s.id DESC LIMIT 1) AS due
      FROM service_requests r WHERE r."at" < ?{where}) x
JOIN service_requests r ON r.id = x.id
LEFT JOIN (SELECT DISTINCT request_id FROM service_completions WHERE "at" < ?) c
  ON c.request_id = r.id
GROUP BY r.service
"""
"""Service requests by kind: made on the day, open at its end (no completion yet), and of
those overdue: past their latest assignment's due time or, unassigned, made more than
the quarantine policy's ``service_due_hours`` before the day's end."""

_TASKS = """
SELECT t.kind,
  sum(CASE WHEN t.due < ? THEN 1 ELSE 0 END),
  sum(CASE WHEN t.due < ? THEN 1 ELSE 0 END)
FROM tasks t WHERE t.status = 'open'{where} GROUP BY t.kind
"""

_ALERTS = """
SELECT CASE WHEN o."at" >= ? THEN 1 ELSE 0 END, o.topic, o.channel, count(*),
  sum(CASE WHEN EXISTS (SELECT 1 FROM outbox_attempts a
                        WHERE a.message_id = o.id AND a.outcome = 'sent') THEN 1 ELSE 0 END),
  sum(CASE WHEN EXISTS (SELECT 1 FROM outbox_attempts a
                        WHERE a.message_id = o.id AND a.outcome = 'dead') THEN 1 ELSE 0 END)
FROM outbox o WHERE o."at" >= ? AND o."at" < ?{where}
GROUP BY 1, 2, 3
"""

_URGENT_WAITS = """
SELECT o."at", o.not_before,
  (SELECT min(a."at") FROM outbox_attempts a WHERE a.message_id = o.id AND a.outcome = 'sent')
FROM outbox o WHERE o."at" >= ? AND o."at" < ? AND {urgent}{where}
"""
"""Urgent messages made on the day, with when they could go and when they were delivered."""

_TARGETS = """
SELECT count(*), sum(CASE WHEN EXISTS (
    SELECT 1 FROM visits v WHERE v.household_id = t.household_id AND {in_campaign}
      AND v."at" < ?) THEN 1 ELSE 0 END)
FROM targets t WHERE 1 = 1{where}
"""

_MATCHES = """SELECT count(*) FROM matches m WHERE m."at" >= ? AND m."at" < ?{where}"""


class _Daily:
    """The queries of one daily report; each method answers one section."""

    def __init__(self, scope: ReportScope) -> None:
        self.s = scope
        self.today = scope.bounds()
        self.yesterday = scope.bounds(scope.day - dt.timedelta(days=1))
        campaign = scope.campaign
        day = scope.day
        self.today_instants = (campaign.day_start(day), campaign.day_start(day + _DAY))
        self.yesterday_instants = (campaign.day_start(day - _DAY), campaign.day_start(day))
        self.start, self.end = self.yesterday[0], self.today[1]
        self.mid = self.today[0]

    def where(
        self, alias: str, key: str = "household", *, seek: bool = False
    ) -> tuple[str, list[Any]]:
        return self.s.where(alias, key, seek=seek)

    # -- the sweep ------------------------------------------------------------------------

    def visits(self) -> dict[tuple[int, str, str], int]:
        where, params = self.where("v")
        at = self.s.unindexed('v."at"')
        sql = _VISITS_TODAY.format(in_campaign=IN_CAMPAIGN, where=where, at=at)
        args = [self.mid, *self.s.campaign_params(), self.start, self.end, *params]
        out: dict[tuple[int, str, str], int] = {}
        for outcome, channel, today, both in self.s._query(sql, args):
            out[(1, str(outcome), str(channel))] = number(today)
            out[(0, str(outcome), str(channel))] = number(both) - number(today)
        return out

    def households(self) -> dict[str, int]:
        where, params = self.where("h", "households")
        total = number(self.s._one(_HOUSEHOLDS.format(where=where), params)[0])
        where, params = self.where("v")
        sql = _HOUSEHOLDS_SO_FAR.format(
            screened=_SCREENED,
            before=_BEFORE,
            screened_before=_SCREENED & _BEFORE,
            done=_DONE,
            done_before=_DONE & _BEFORE,
            bit=_BIT,
            follow_up=_FOLLOW_UP,
            stamp=self.s.stamp('v."at"', "CASE WHEN v.channel = 'door' THEN 'D' ELSE 'P' END"),
            in_campaign=IN_CAMPAIGN,
            where=where,
        )
        mid = self.mid
        args = [mid, mid, *self.s.campaign_params(), self.end, *params]
        row = self.s._one(sql, args)
        visited, screened, visited_y, screened_y, pending, pending_y = (number(v) for v in row)
        return {
            "households": total,
            "visited": visited,
            "screened": screened,
            "visited_y": visited_y,
            "screened_y": screened_y,
            "pending": pending,
            "pending_y": pending_y,
        }

    def screenings(self) -> tuple[int, int]:
        """Screenings (counted once per screening: 人次) on the day and the day before."""
        where, params = self.where("s", "person", seek=True)
        sql = _SCREENINGS.format(where=where)
        today, both = self.s._one(sql, [self.mid, self.start, self.end, *params])
        return number(today), number(both) - number(today)

    # -- flagged persons ------------------------------------------------------------------

    def assessments(self) -> dict[int, dict[str, Any]]:
        """Per day (1 today, 0 yesterday): highest risk per person, persons per rule and line."""
        where, params = self.where("a")
        day = self.s.day
        args = [
            self.s.campaign.id,
            self.s.date(day),
            self.s.date(day - dt.timedelta(days=1)),
            *params,
        ]
        risk: dict[int, dict[str, str]] = {0: {}, 1: {}}
        rules: dict[int, dict[str, set[str]]] = {0: {}, 1: {}}
        lines: dict[int, dict[str, set[str]]] = {0: {}, 1: {}}
        parsed: dict[Any, list[tuple[str, str]]] = {}
        for a_day, person, level, fired in self.s._query(_ASSESSMENTS.format(where=where), args):
            which = int(_as_date(a_day) == day)
            best = risk[which].get(person)
            if best is None or _RANK.get(level, 0) > _RANK.get(best, 0):
                risk[which][person] = str(level)
            key = fired if isinstance(fired, str) else json.dumps(fired, sort_keys=True)
            if key not in parsed:  # a handful of distinct rule combinations: parse each once
                parsed[key] = [
                    (str(r.get("rule_id")), str(r.get("line"))) for r in json_list(fired)
                ]
            for rule_id, line in parsed[key]:
                rules[which].setdefault(rule_id, set()).add(person)
                lines[which].setdefault(line, set()).add(person)
        return {
            w: {
                "persons": len(risk[w]),
                "risk": Counter(risk[w].values()),
                "rules": {k: len(v) for k, v in rules[w].items()},
                "lines": {k: len(v) for k, v in lines[w].items()},
            }
            for w in (0, 1)
        }

    # -- quarantine -----------------------------------------------------------------------

    def quarantine(self) -> dict[str, list[int]]:
        """Per kind: active, active_y, new, new_y, ending, ending_y, released, released_y.

        Counted with :mod:`gridguard.quarantine.counts`, the census's definitions.
        """
        from ..quarantine.counts import figure_params, figures_sql

        where, params = self.where("q")
        sql = figures_sql("x.kind", where=where)
        out: dict[str, list[int]] = {}
        for n, (day, (t0, t1)) in enumerate(
            (
                (self.s.day, self.today_instants),
                (self.s.day - dt.timedelta(days=1), self.yesterday_instants),
            )
        ):
            args = figure_params(day, t0, t1, date=self.s.date, ts=self.s.ts, true=self.s.true())
            for kind, *counts in self.s._query(sql, [*args, *params]):
                row = out.setdefault(str(kind), [0] * 8)
                for i, value in enumerate(counts):
                    row[2 * i + n] = number(value)
        # A kind with nothing on either day is no row: orders made later must not add one.
        return {kind: row for kind, row in out.items() if any(row)}

    # -- observers ------------------------------------------------------------------------

    def watch(self) -> dict[str, Any]:
        where, params = self.where("b", "buildings")
        observed = number(self.s._one(_OBSERVED.format(where=where), params)[0])
        where, params = self.where("c", "building", seek=True)
        mid = self.mid
        buildings, buildings_y, checkins = (
            number(v)
            for v in self.s._one(
                _CHECKINS.format(where=where), [mid, mid, mid, self.start, self.end, *params]
            )
        )
        kinds: dict[int, Counter[str]] = {0: Counter(), 1: Counter()}
        for t, anomalies in self.s._query(
            _ANOMALIES.format(where=where), [self.mid, self.start, self.end, *params]
        ):
            for anomaly in json_list(anomalies):
                kinds[int(t)][str(anomaly.get("kind"))] += int(anomaly.get("count") or 1)
        # Rural health monitoring points report like observers (their rows carry only the
        # village as jurisdiction, so under a village they count for the whole village).
        where, params = self.where("p", "area")
        observed += number(self.s._one(_POINTS.format(where=where), params)[0])
        where, params = self.where("r", "jurisdiction", seek=True)
        points, points_y = (
            number(v)
            for v in self.s._one(
                _POINT_REPORTS.format(where=where), [mid, mid, self.start, self.end, *params]
            )
        )
        for t, anomalies in self.s._query(
            _POINT_ANOMALIES.format(where=where), [mid, self.start, self.end, *params]
        ):
            for anomaly in json_list(anomalies):
                kinds[int(t)][str(anomaly.get("kind"))] += int(anomaly.get("count") or 1)
        buildings += points
        buildings_y += points_y
        return {
            "observed": observed,
            "buildings": buildings,
            "buildings_y": buildings_y,
            "checkins": checkins,
            "anomalies": kinds[1],
            "anomalies_y": kinds[0],
        }

    # -- services, tasks, alerts ----------------------------------------------------------

    def services(self) -> tuple[dict[str, tuple[int, int, int]], dict[str, tuple[int, int]]]:
        """Requests by kind (made today, open, overdue) and open tasks by kind (due, late)."""

        where, params = self.where("r")
        hours = dt.timedelta(hours=QuarantinePolicy().service_due_hours)
        end = self.end
        unassigned_late = self.s.ts(
            self.s.campaign.day_start(self.s.day + dt.timedelta(days=1)) - hours
        )
        args = [self.mid, end, unassigned_late, end, end, *params, end]
        requests = {
            str(k): (number(today), number(open_), number(late))
            for k, today, open_, late in self.s._query(_SERVICES.format(where=where), args)
        }
        where, params = self.where("t")
        tasks = {
            str(k): (number(due), number(late))
            for k, due, late in self.s._query(
                _TASKS.format(where=where), [self.end, self.mid, *params]
            )
        }
        return requests, tasks

    def alerts(
        self, channels: Collection[str]
    ) -> tuple[dict[int, dict[str, tuple[int, int, int]]], dict[int, int]]:
        """Messages by topic (made, sent, dead) and undeliverable ones, yesterday (0) and today.

        Undeliverable: made for a route that reached no one, or for a
        channel not among ``channels`` (the configured ones).
        """
        from ..notifications.settings import UNDELIVERABLE

        where, params = self.where("o", "area")
        out: dict[int, dict[str, tuple[int, int, int]]] = {0: {}, 1: {}}
        stuck = {0: 0, 1: 0}
        args = [self.mid, self.start, self.end, *params]
        for t, topic, channel, n, sent, dead in self.s._query(_ALERTS.format(where=where), args):
            was = out[int(t)].get(str(topic), (0, 0, 0))
            out[int(t)][str(topic)] = (
                was[0] + number(n),
                was[1] + number(sent),
                was[2] + number(dead),
            )
            if channel == UNDELIVERABLE or channel not in channels:
                stuck[int(t)] += number(n)
        return out, stuck

    def urgent_waits(self) -> tuple[float | None, int]:
        """The longest wait (minutes) of an urgent message made today, and those not delivered.

        A message waits from when it could go (``not_before``, else when it
        was made) until it was delivered; one not delivered by the end of
        the day is counted apart, not guessed at.
        """
        from ..notifications.outbox import urgent_sql

        where, params = self.where("o", "area")
        sql = _URGENT_WAITS.format(urgent=urgent_sql(self.s.ctx.dialect, "o"), where=where)
        end = _instant(self.today[1])
        longest: float | None = None
        waiting = 0
        for at, not_before, sent in self.s._query(sql, [self.mid, self.end, *params]):
            ready = _instant(not_before if not_before is not None else at)
            delivered = None if sent is None else _instant(sent)
            if delivered is None or delivered >= end:
                waiting += 1
                continue
            minutes = max((delivered - ready).total_seconds(), 0.0) / 60
            longest = minutes if longest is None else max(longest, minutes)
        return (None if longest is None else round(longest, 1)), waiting

    def targeting(self) -> tuple[int, int, int]:
        """Targets, targets visited by the end of the day, matches made that day."""
        where, params = self.where("t")
        sql = _TARGETS.format(in_campaign=IN_CAMPAIGN, where=where)
        row = self.s._one(sql, [*self.s.campaign_params(), self.end, *params])
        where, params = self.where("m", "person", seek=True)
        matches = self.s._one(_MATCHES.format(where=where), [self.mid, self.end, *params])
        return number(row[0]), number(row[1]), number(matches[0])


def _instant(value: Any) -> dt.datetime:
    """A stored timestamp (text on SQLite) as an aware datetime."""
    if isinstance(value, dt.datetime):
        return value
    from ..storage.schema import decode_timestamp

    return decode_timestamp(str(value))


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _sum(counts: dict[tuple[int, str, str], int], today: int, **match: str) -> int:
    return sum(
        n
        for (t, outcome, channel), n in counts.items()
        if t == today
        and match.get("outcome", outcome) == outcome
        and match.get("channel", channel) == channel
    )


def daily_report(
    ws: Workspace,
    *,
    area: str | None = None,
    day: dt.date | str | None = None,
    campaign: str | Campaign | None = None,
    unmask: bool = False,
) -> Report:
    """The daily situation report of ``area`` (default: the campaign's scope) on ``day``.

    ``day`` defaults to the last day with a visit. The report holds no
    personal data (only counts), so ``unmask`` changes nothing but is
    accepted like every report's.
    """
    scope = ReportScope.open(ws, area=area, day=day, campaign=campaign, unmask=unmask)
    if scope.empty:
        return _empty(scope)
    q = _Daily(scope)
    visits = q.visits()
    homes = q.households()
    persons, persons_y = q.screenings()
    flagged = q.assessments()
    quarantine = q.quarantine()
    watch = q.watch()
    requests, tasks = q.services()
    alerts, undeliverable = q.alerts(_channels(ws))
    urgent = q.urgent_waits()
    targets, targets_visited, matches = q.targeting()

    total = homes["households"]
    active = sum(c[0] for c in quarantine.values())
    active_y = sum(c[1] for c in quarantine.values())
    compliance = share(watch["buildings"], watch["observed"])
    compliance_y = share(watch["buildings_y"], watch["observed"])
    alerts_today = sum(n for n, _, _ in alerts[1].values())
    alerts_y = sum(n for n, _, _ in alerts[0].values())
    overdue = sum(late for _, late in tasks.values())

    overview = Figures(
        key="overview",
        items=[
            figure("households_visited", homes["visited"], homes["visited_y"]),
            figure(
                "coverage",
                share(homes["visited"], total),
                share(homes["visited_y"], total),
                kind="percent",
            ),
            figure("visits", _sum(visits, 1), _sum(visits, 0)),
            figure("phone_pending", homes["pending"], homes["pending_y"]),
            figure("persons_flagged", flagged[1]["persons"], flagged[0]["persons"]),
            figure("quarantine_active", active, active_y),
            figure("checkin_compliance", compliance, compliance_y, kind="percent"),
            figure("tasks_overdue", overdue),
            figure("alerts", alerts_today, alerts_y),
        ],
    )
    sections = [
        Section("overview", label("section.overview"), [overview], note=label("note.change")),
        trends_section(ws, scope),
        _lines(ws, homes, visits, watch, targets, targets_visited, matches, flagged),
        _sweep(homes, visits, persons, persons_y),
        _flagged(flagged),
        _quarantine(quarantine),
        _watch(watch),
        _services(requests, tasks),
        _alerts(alerts, urgent, undeliverable),
    ]
    if scope.day == scope.campaign.start:  # no day before the campaign to compare with
        sections = [_without_change(section) for section in sections]
    return new_report("daily", scope, sections)


def _without_change(section: Section) -> Section:
    blocks = [
        attrs.evolve(b, items=[attrs.evolve(f, change=None) for f in b.items])
        if isinstance(b, Figures)
        else b
        for b in section.blocks
    ]
    return attrs.evolve(
        section, blocks=blocks, note=None if section.key == "overview" else section.note
    )


def _lines(
    ws: Workspace,
    homes: dict[str, int],
    visits: dict[tuple[int, str, str], int],
    watch: dict[str, Any],
    targets: int,
    targets_visited: int,
    matches: int,
    flagged: dict[int, dict[str, Any]],
) -> Section:
    known: dict[str, tuple[float | None, int | None]] = {
        "door_to_door": (share(homes["visited"], homes["households"]), _sum(visits, 1)),
        "building_watch": (share(watch["buildings"], watch["observed"]), watch["checkins"]),
        "data_targeting": (share(targets_visited, targets), matches),
    }
    rows = []
    for line in sorted((e.value for e in ws.lines.entries()), key=lambda x: (x.order, x.name)):
        coverage, activity = known.get(line.name, (None, None))
        by_line = flagged[1]["lines"].get(line.name, 0)
        rows.append((Label(line.title_en, line.title_zh), coverage, activity, by_line))
    table = Table(
        key="lines",
        title=label("section.lines"),
        columns=[
            Column("line", label("line")),
            Column("coverage", label("coverage"), "percent"),
            Column("activity", label("activity"), "int"),
            Column("flagged", label("flagged_today"), "int"),
        ],
        rows=rows,
    )
    return Section("lines", label("section.lines"), [table])


def _sweep(
    homes: dict[str, int], visits: dict[tuple[int, str, str], int], persons: int, persons_y: int
) -> Section:
    figures = Figures(
        key="sweep",
        items=[
            figure("households", homes["households"]),
            figure("households_screened", homes["screened"], homes["screened_y"]),
            figure("visits_door", _sum(visits, 1, channel="door"), _sum(visits, 0, channel="door")),
            figure(
                "visits_phone", _sum(visits, 1, channel="phone"), _sum(visits, 0, channel="phone")
            ),
            figure("screenings", persons, persons_y),
        ],
    )
    outcomes = ("screened", "not_home", "refused", "vacant")
    table = Table(
        key="visits_by_outcome",
        title=label("visits"),
        columns=[
            Column("channel", label("channel")),
            *(Column(o, label(o), "int") for o in outcomes),
        ],
        rows=[
            (value_label(c), *(_sum(visits, 1, outcome=o, channel=c) for o in outcomes))
            for c in ("door", "phone")
        ],
    )
    return Section("sweep", label("section.sweep"), [figures, table])


def _flagged(flagged: dict[int, dict[str, Any]]) -> Section:
    today, before = flagged[1], flagged[0]
    risks = Figures(
        key="flagged_by_risk",
        items=[
            figure("persons_flagged", today["persons"], before["persons"]),
            *(
                figure(
                    f"risk_{r}", today["risk"].get(r, 0), before["risk"].get(r, 0), text=f"risk.{r}"
                )
                for r in RISKS
            ),
        ],
    )
    rules = Table(
        key="flagged_by_rule",
        title=label("section.flagged"),
        columns=[
            Column("rule", label("rule")),
            Column("persons", label("persons"), "int"),
        ],
        rows=[
            (rule_title(rule), n)
            for rule, n in sorted(today["rules"].items(), key=lambda kv: (-kv[1], kv[0]))
        ],
    )
    note = note_for(not today["persons"])
    return Section("flagged", label("section.flagged"), [risks, rules], note=note)


def _quarantine(counts: dict[str, list[int]]) -> Section:
    def total(i: int) -> int:
        return sum(c[i] for c in counts.values())

    figures = Figures(
        key="quarantine",
        items=[
            figure("quarantine_active", total(0), total(1)),
            figure("quarantine_new", total(2), total(3)),
            figure("quarantine_ending", total(4), total(5)),
            figure("quarantine_released", total(6), total(7)),
        ],
    )
    table = Table(
        key="quarantine_by_kind",
        title=label("section.quarantine"),
        columns=[
            Column("kind", label("kind")),
            Column("active", label("quarantine_active"), "int"),
            Column("new", label("quarantine_new"), "int"),
            Column("ending", label("quarantine_ending"), "int"),
            Column("released", label("quarantine_released"), "int"),
        ],
        rows=[(value_label(kind), c[0], c[2], c[4], c[6]) for kind, c in sorted(counts.items())],
    )
    return Section("quarantine", label("section.quarantine"), [figures, table])


def _watch(watch: dict[str, Any]) -> Section:
    anomalies, before = watch["anomalies"], watch["anomalies_y"]
    figures = Figures(
        key="watch",
        items=[
            figure("buildings_observed", watch["observed"]),
            figure("checkins", watch["buildings"], watch["buildings_y"]),
            figure(
                "checkin_compliance",
                share(watch["buildings"], watch["observed"]),
                share(watch["buildings_y"], watch["observed"]),
                kind="percent",
            ),
            figure("anomalies", sum(anomalies.values()), sum(before.values())),
        ],
    )
    table = Table(
        key="anomalies_by_kind",
        title=label("anomalies"),
        columns=[Column("kind", label("anomaly_kind")), Column("count", label("count"), "int")],
        rows=[(value_label(k), n) for k, n in sorted(anomalies.items())],
    )
    return Section("watch", label("section.watch"), [figures, table])


def _services(
    requests: dict[str, tuple[int, int, int]], tasks: dict[str, tuple[int, int]]
) -> Section:
    figures = Figures(
        key="services",
        items=[
            figure("service_requests", sum(n for n, _, _ in requests.values())),
            figure("services_open", sum(n for _, n, _ in requests.values())),
            figure("services_overdue", sum(n for _, _, n in requests.values())),
            figure("tasks_open", sum(d for d, _ in tasks.values())),
            figure("tasks_overdue", sum(late for _, late in tasks.values())),
        ],
    )
    by_service = Table(
        key="service_requests",
        title=label("section.services"),
        columns=[
            Column("kind", label("kind")),
            Column("today", label("service_requests"), "int"),
            Column("open", label("open"), "int"),
            Column("overdue", label("overdue"), "int"),
        ],
        rows=[(value_label(k), *counts) for k, counts in sorted(requests.items())],
    )
    by_task = Table(
        key="tasks",
        title=label("tasks_open"),
        columns=[
            Column("kind", label("task_kind")),
            Column("open", label("open"), "int"),
            Column("overdue", label("overdue"), "int"),
        ],
        rows=[(value_label(k), due, late) for k, (due, late) in sorted(tasks.items())],
    )
    return Section("services", label("section.services"), [figures, by_service, by_task])


def _channels(ws: Workspace) -> frozenset[str]:
    """The channels of the workspace's notification configuration (the defaults without one)."""
    from ..notifications.config import settings_for

    return frozenset(settings_for(ws).channels)


def _alerts(
    alerts: dict[int, dict[str, tuple[int, int, int]]],
    urgent: tuple[float | None, int],
    undeliverable: dict[int, int],
) -> Section:
    today, before = alerts[1], alerts[0]
    longest, waiting = urgent
    figures = Figures(
        key="alerts",
        items=[
            figure(
                "alerts",
                sum(n for n, _, _ in today.values()),
                sum(n for n, _, _ in before.values()),
            ),
            figure("alerts_sent", sum(s for _, s, _ in today.values())),
            figure("alerts_failed", sum(d for _, _, d in today.values())),
            figure("alerts_urgent_wait", longest, kind="float"),
            figure("alerts_urgent_waiting", waiting),
            figure("notifications_undeliverable", undeliverable[1], undeliverable[0]),
        ],
    )
    table = Table(
        key="alerts_by_topic",
        title=label("alerts"),
        columns=[
            Column("topic", label("topic")),
            Column("count", label("count"), "int"),
            Column("sent", label("alerts_sent"), "int"),
            Column("failed", label("alerts_failed"), "int"),
        ],
        rows=[(topic, n, s, d) for topic, (n, s, d) in sorted(today.items())],
    )
    return Section("alerts", label("section.alerts"), [figures, table])


def _empty(scope: ReportScope) -> Report:
    """The report of an area with no community under it: the sections, and nothing in them."""
    note = label("note.empty")
    sections = [
        Section(key, label(f"section.{key}"), [], note=note)
        for key in ("overview", "lines", "sweep", "flagged", "quarantine", "watch", "services")
    ]
    sections.append(Section("alerts", label("section.alerts"), [], note=note))
    return new_report("daily", scope, sections)
