"""The demo's building-watch step: observers' daily check-ins over the sweep's days.

Every observer of Huayuan reports each morning of the campaign's first
days; a few miss a day, a few report a stranger, a family moving in or
someone ill (all drawn from the demo's seed, so a seed gives the same
week). The missed-check-in job then runs for each day after the ladder's
last rung, twice, to show that a second run enqueues nothing.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import DemoContext

__all__ = ["DAYS", "MISS_RATE", "watch"]

DAYS = 6
"""25-30 January 2020: the days of the door-to-door sweep."""
MISS_RATE = 0.03
"""The share of building-days without a check-in."""
ANOMALY_RATE = 0.02
"""The share of check-ins reporting something."""


def watch(ctx: DemoContext) -> None:
    """Record the week's check-ins, then run the missed-check-in job twice per day.

    Reports ``checkins``, ``checkin_anomalies``, ``missed_checkins``
    (building-days without a check-in by the cut-off), ``watch_tasks``,
    ``escalations`` and ``escalations_repeat`` (0: the second run adds nothing).
    """
    from ..model import Anomaly, CheckIn
    from ..watch.checkins import checkin_id, record_checkins
    from ..watch.missed import WatchSettings, escalate, missing

    ws, scenario = ctx.ws, ctx.scenario
    campaign = scenario.campaign
    rng = random.Random(f"watch:{ctx.seed}")
    building_of = {s.id: s.building_id for s in scenario.stairwells}
    households: dict[str, list[str]] = {}
    for household in scenario.households:
        households.setdefault(building_of[household.stairwell_id], []).append(household.id)
    watched = [b for b in scenario.buildings if b.observer_id is not None]
    settings = WatchSettings(campaign=campaign.id, cutoff="12:00")
    days = [campaign.start + dt.timedelta(days=n) for n in range(DAYS)]
    task = ctx.progress.add_task("Building watch 楼幢观察", total=len(days))
    checkins: list[CheckIn] = []
    for day in days:
        for building in watched:
            assert building.observer_id is not None
            if rng.random() < MISS_RATE:
                continue
            minutes = rng.randrange(7 * 60, 11 * 60 + 30)
            local = dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), campaign.zone)
            at = local.astimezone(dt.UTC)
            anomalies: tuple[Anomaly, ...] = ()
            if rng.random() < ANOMALY_RATE:
                kind = rng.choice(("move_in", "stranger", "symptomatic", "move_out"))
                home = rng.choice(households[building.id]) if households.get(building.id) else None
                anomalies = (Anomaly(kind=kind, household_id=home, count=rng.randint(1, 3)),)
            checkins.append(
                CheckIn(
                    id=checkin_id(building.id, building.observer_id, at),
                    at=at,
                    building_id=building.id,
                    observer_id=building.observer_id,
                    status="anomalies" if anomalies else "all_normal",
                    anomalies=anomalies,
                )
            )
    report = record_checkins(ws, checkins, settings=settings)
    missed = first = repeat = 0
    for day in days:
        missed += len(missing(ws, day, settings=settings))
        after_ladder = settings.cutoff_at(day, campaign.zone) + dt.timedelta(hours=5)
        first += escalate(ws, day, now=after_ladder, settings=settings).enqueued
        repeat += escalate(ws, day, now=after_ladder, settings=settings).enqueued
        ctx.progress.advance(task, 1)
    ctx.report("checkins", report.written + report.unchanged, "Observer check-ins 报平安")
    ctx.report("checkin_anomalies", sum(1 for c in checkins if c.anomalies))
    ctx.report("missed_checkins", missed, "Missed check-ins 未报平安")
    ctx.report("watch_tasks", report.tasks)
    ctx.report("escalations", first, "Missed check-in escalations 逐级提醒")
    ctx.report("escalations_repeat", repeat)
