"""The demo's sweep: Huayuan's door-to-door sweep of 25-30 January 2020, day by day.

Every afternoon the planner assigns the households still to visit to the
teams out that day (2, 4, 6, 10, 14, then 20 teams: few on the first day of
the Spring Festival, all 20 by the sixth day), the stairwells of the
priority households from data-driven targeting (when that step ran
before) first; the teams walk their routes
and record a visit per household and a screening per person; in the
evening the households found not at home are phoned. Outcomes and answers
are drawn from a generator seeded by the demo's seed.

Capacity is 100 households per team-afternoon, the figure the account
reports in households. The account's other figure, 5 stairwells per
afternoon, assumes stairwells of about 20 households (7 floors of 2-3);
Huayuan's 430 stairwells and 4,000+ households make about 10 per
stairwell, so the same afternoon walks about 10 of them (see docs/sweep.md).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ..model import (
    Channel,
    Exposure,
    ExposureKind,
    Person,
    Screening,
    Trip,
    Visit,
    VisitOutcome,
)
from ..sweep.files import flags
from ..sweep.planner import Capacity
from ..sweep.workflow import Sweep

if TYPE_CHECKING:
    from . import DemoContext

__all__ = ["CAPACITY", "RAMP", "run_sweep"]

RAMP = (2, 4, 6, 10, 14, 20)
"""Teams out on each day from 25 January 2020: ramping up to the 20 of the peak."""
CAPACITY = Capacity.households(100)
"""About 100 households per team per afternoon, as reported."""

AFTERNOON = dt.time(14, 0)
EVENING = dt.time(19, 0)
MINUTES_PER_HOUSEHOLD = 2.3
WUHAN_LOCKDOWN = dt.date(2020, 1, 23)
"""Wuhan closed its outbound transport on 23 January: nobody came back from there later."""

Outcomes = tuple[tuple[VisitOutcome, float], ...]

# First door visit: about one household in six is out (the Spring Festival), a few refuse
# or turn out to be empty.
FIRST_VISIT: Outcomes = (
    (VisitOutcome.SCREENED, 0.815),
    (VisitOutcome.NOT_HOME, 0.16),
    (VisitOutcome.REFUSED, 0.008),
    (VisitOutcome.VACANT, 0.017),
)
SECOND_VISIT: Outcomes = ((VisitOutcome.SCREENED, 0.55), (VisitOutcome.NOT_HOME, 0.45))
AFTER_REFUSAL: Outcomes = ((VisitOutcome.SCREENED, 0.6), (VisitOutcome.REFUSED, 0.4))
PHONE_ANSWERED = 0.75
EARLY_DAYS = 3
"""The summary compares how many priority households and how many of all were visited by then."""
RAN_OUT_OF_LIGHT = 0.12
"""Chance that a fully loaded team does not reach its last stairwell before dark.

Those households go into the next day's plan; on the last day the idle teams finish.
"""

WUHAN_TRIP = 0.004
OTHER_TRIP = 0.02
CASE_CONTACT = 0.0008
SYMPTOMS = 0.005
FEVER = 0.002
OTHER_PLACES = ("广州", "深圳", "珠海", "佛山", "长沙", "南宁", "江门")
SYMPTOM_WORDS = ("cough", "sore throat", "fatigue", "runny nose", "shortness of breath")


class _Draw:
    """The demo's seeded choices: outcomes, answers and fact ids."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(f"gridguard-sweep-{seed}")

    def id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def outcome(self, table: Sequence[tuple[VisitOutcome, float]]) -> VisitOutcome:
        x = self.rng.random()
        for outcome, p in table:
            if x < p:
                return outcome
            x -= p
        return table[0][0]

    def minutes(self, mean: float) -> dt.timedelta:
        return dt.timedelta(seconds=round(60 * max(0.5, self.rng.gauss(mean, mean / 3))))

    def temperature(self, fever: bool) -> float:
        if fever:
            return round(self.rng.uniform(37.3, 38.5), 1)
        return round(min(37.2, max(36.0, self.rng.gauss(36.5, 0.25))), 1)

    def answers(
        self, person: Person, visit: Visit, day: dt.date, housemate_back: dt.date | None
    ) -> Screening:
        """One person's answers: mostly nothing, now and then a trip, a contact or a fever."""
        rng = self.rng
        trips: list[Trip] = []
        exposures: list[Exposure] = []
        if housemate_back is not None:
            trips.append(self._wuhan(housemate_back))
        elif rng.random() < OTHER_TRIP:
            back = day - dt.timedelta(days=rng.randint(1, 10))
            departed = back - dt.timedelta(days=rng.randint(1, 6))
            trips.append(
                Trip(destination=rng.choice(OTHER_PLACES), departed=departed, returned=back)
            )
        if rng.random() < CASE_CONTACT:
            kind = rng.choice((ExposureKind.CONFIRMED_CASE, ExposureKind.SUSPECTED_CASE))
            exposures.append(
                Exposure(
                    kind=kind,
                    last_contact=day - dt.timedelta(days=rng.randint(1, 10)),
                    note="同桌聚餐" if rng.random() < 0.5 else "同一航班",
                )
            )
        symptoms = rng.sample(SYMPTOM_WORDS, rng.randint(1, 2)) if rng.random() < SYMPTOMS else []
        fever = rng.random() < (FEVER + (0.3 if symptoms else 0.0))
        door = visit.channel is Channel.DOOR
        return Screening(
            id=self.id(),
            at=visit.at,
            person_id=person.id,
            visit_id=visit.id,
            trips=trips,
            exposures=exposures,
            symptoms=symptoms,
            temperature=self.temperature(fever) if door else None,
        )

    def _wuhan(self, back: dt.date) -> Trip:
        return Trip(
            destination="武汉",
            departed=back - dt.timedelta(days=self.rng.randint(3, 20)),
            returned=back,
        )

    def wuhan_return(self, day: dt.date, look_back: int) -> dt.date | None:
        """When a household's traveller came back from Wuhan, if it has one."""
        if self.rng.random() >= WUHAN_TRIP * 2.6:  # per household: about 2.6 persons each
            return None
        earliest = day - dt.timedelta(days=look_back - 1)
        latest = min(WUHAN_LOCKDOWN, day - dt.timedelta(days=1))
        span = (latest - earliest).days
        return earliest + dt.timedelta(days=self.rng.randint(0, max(span, 0)))


def _screen(
    draw: _Draw, visit: Visit, members: Sequence[Person], day: dt.date, look_back: int
) -> list[Screening]:
    """Every member's screening; a household with a Wuhan returnee has housemates exposed."""
    back = draw.wuhan_return(day, look_back)
    traveller = draw.rng.randrange(len(members)) if back is not None and members else -1
    out = []
    for n, person in enumerate(members):
        screening = draw.answers(person, visit, day, back if n == traveller else None)
        if back is not None and n != traveller:
            arrival = Exposure(
                kind=ExposureKind.OUTBREAK_AREA_ARRIVAL, last_contact=day, note="同住人员自武汉返回"
            )
            screening = attrs.evolve(screening, exposures=(*screening.exposures, arrival))
        out.append(screening)
    return out


def _targets(ws: Any) -> dict[str, int]:
    """Priority households from data-driven targeting, when that line ran before the sweep."""
    try:
        from ..targeting import planner_priorities
    except ImportError:  # pragma: no cover - targeting is part of gridguard
        return {}
    priorities: dict[str, int] = planner_priorities(ws)
    return priorities


def run_sweep(ctx: DemoContext) -> None:
    """Sweep Huayuan from 25 to 30 January 2020 and report how it went."""
    ws, scenario = ctx.ws, ctx.scenario
    campaign = scenario.campaign
    draw = _Draw(ctx.seed)
    sweep = Sweep(ws, campaign.id)
    members: dict[str, list[Person]] = {}
    for person in scenario.persons:
        members.setdefault(person.household_id, []).append(person)
    zone = campaign.zone
    look_back = campaign.look_back_days

    estimate = sweep.estimate(RAMP, capacity=CAPACITY)
    roster = sweep.roster(RAMP)
    task = ctx.progress.add_task("Sweeping 入户走访", total=len(roster))
    last_team: dict[str, str] = {}
    refused: set[str] = set()
    door_visits = team_shifts = stairwells_walked = 0
    days_to_cover: int | None = None
    flagged: set[str] = set()

    targets = _targets(ws)
    first_visit: dict[str, int] = {}  # household -> day number of its first door visit
    for n, shift in enumerate(roster):
        day = shift.day
        plan = sweep.plan(roster[n:], capacity=CAPACITY, targets=targets)
        facts: list[Any] = []
        if plan.shifts and plan.shifts[0].day == day:
            today = plan.shifts[0]
            routes = sweep.route(today)
            for assignment in today.assignments:
                route = routes[assignment.team_id]
                team_shifts += 1
                stairwells_walked += assignment.stairwells
                late = n + 1 < len(roster) and assignment.load >= 0.9 * CAPACITY.amount
                if late and draw.rng.random() < RAN_OUT_OF_LIGHT:
                    route = route[: len(route) - draw.rng.randint(4, 12)]  # not reached: tomorrow
                at = dt.datetime.combine(day, AFTERNOON, zone) + draw.minutes(8)
                for household_id in route:
                    if household_id in refused:
                        table = AFTER_REFUSAL
                    elif household_id in last_team:
                        table = SECOND_VISIT
                    else:
                        table = FIRST_VISIT
                    outcome = draw.outcome(table)
                    visit = Visit(
                        id=draw.id(),
                        at=at,
                        household_id=household_id,
                        outcome=outcome,
                        team_id=assignment.team_id,
                        campaign_id=campaign.id,
                    )
                    facts.append(visit)
                    door_visits += 1
                    last_team[household_id] = assignment.team_id
                    first_visit.setdefault(household_id, n + 1)
                    if outcome is VisitOutcome.REFUSED:
                        refused.add(household_id)
                    if outcome is VisitOutcome.SCREENED:
                        facts += _screen(draw, visit, members.get(household_id, []), day, look_back)
                    at += draw.minutes(MINUTES_PER_HOUSEHOLD)
        ws.record(facts)
        # Evening: phone the households that were not at home.
        calls: list[Any] = []
        at = dt.datetime.combine(day, EVENING, zone)
        for follow in sweep.phone_queue():
            if follow.phone is None:
                continue
            answered = draw.rng.random() < PHONE_ANSWERED
            visit = Visit(
                id=draw.id(),
                at=at,
                household_id=follow.household_id,
                outcome=VisitOutcome.SCREENED if answered else VisitOutcome.NOT_HOME,
                channel=Channel.PHONE,
                team_id=last_team.get(follow.household_id),
                campaign_id=campaign.id,
                note="电话追访",
            )
            calls.append(visit)
            if answered:
                calls += _screen(draw, visit, members.get(follow.household_id, []), day, look_back)
            at += draw.minutes(1.5)
        ws.record(calls)
        flagged.update(
            f.person_id for f in (*facts, *calls) if isinstance(f, Screening) and flags(f, campaign)
        )
        if days_to_cover is None and sweep.coverage()[0].pending == 0:
            days_to_cover = n + 1
        ctx.progress.advance(task, 1)

    total = sweep.coverage()[0]
    mean = door_visits / team_shifts if team_shifts else 0.0
    ctx.report(
        "sweep_teams_per_day",
        "-".join(str(t) for t in RAMP),
        "Teams per day 每日小分队",
        "up to 20",
    )
    ctx.report("sweep_capacity", str(CAPACITY))
    ctx.report("days_to_cover", days_to_cover, "Days to visit every household 走访天数", "6")
    ctx.report("days_to_cover_estimate", estimate.days)
    ctx.report("days_to_cover_lower_bound", estimate.lower_bound_days)
    early = EARLY_DAYS

    def share(households: Any) -> int:
        ids = list(households)
        done = sum(1 for h in ids if first_visit.get(h, early + 1) <= early)
        return round(100 * done / len(ids)) if ids else 0

    ctx.report("priority_households", len(targets))
    ctx.report(
        "priority_households_visited_early",
        f"{share(targets)}% / {share(h.id for h in scenario.households)}%",
        f"By day {early}: priority / all households 前{early}天走访: 重点户/全部",
    )
    ctx.report("households_visited", total.visited, "Households visited 入户走访户数", "4,000+")
    ctx.report("households_screened", total.screened, "Households screened 已筛查户数")
    ctx.report("households_not_home", total.not_home)
    ctx.report("households_phoned", total.phoned, "Phoned when not at home 电话追访户数")
    ctx.report("households_unreachable", total.unreachable, "Still unreachable 仍未联系上")
    ctx.report("households_refused", total.refused, "Refused, with the grid worker 拒绝")
    ctx.report("households_vacant", total.vacant)
    ctx.report("team_shifts", team_shifts)
    ctx.report(
        "households_per_team_shift",
        round(mean, 1),
        "Households per team-afternoon 每队下午户数",
        "~100",
    )
    ctx.report(
        "stairwells_per_team_shift",
        round(stairwells_walked / team_shifts, 1) if team_shifts else 0.0,
        "Stairwells per team-afternoon 每队下午楼梯数",
        "~5",
    )
    ctx.report("persons_screened", total.persons_screened, "Persons screened 筛查人数")
    ctx.report("persons_filed", len(flagged), "One file per person 一人一档")
