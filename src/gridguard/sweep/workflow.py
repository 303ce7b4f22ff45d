"""The door-to-door sweep of one campaign, through a workspace: :class:`Sweep`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import ConfigError, ConflictError, ValidationError, Violation
from ..model import Campaign, Household, Stairwell, Team, TeamKind
from ..model._masked import phone_repr
from ..security.access import Category, Verb, register_operation
from ..storage.schema import decode_timestamp
from . import files, recording
from .context import OPEN_VISIT_TASK, CampaignContext, HouseholdFacts, resolve_campaign
from .coverage import CoverageRow
from .coverage import coverage as coverage_of
from .files import HouseholdFile, PersonFile
from .planner import DEFAULT_CAPACITY, Capacity, Shift, ShiftPlan, SweepPlan, pack, pending_work
from .recording import RecordReport, VisitRecord

if TYPE_CHECKING:
    from ..workspace import Workspace

__all__ = ["DEFAULT_DOOR_ATTEMPTS", "FollowUp", "Sweep"]

DEFAULT_DOOR_ATTEMPTS = 2
"""Door visits a household gets (the first, and one more if not at home or refusing)."""
MAX_PLAN_DAYS = 366

PLAN = "sweep.plan"
"""The operation of planning a sweep and routing its teams: the stairwells and households
still to visit in the principal's scope (reading places, households and visits)."""
register_operation(
    PLAN,
    [(Verb.READ, Category.PLACE), (Verb.READ, Category.HOUSEHOLD), (Verb.READ, Category.VISIT)],
)


@attrs.frozen
class FollowUp:
    """A household that needs more than the door: a phone call, or the grid worker."""

    household_id: str
    stairwell_id: str
    building_id: str
    grid_id: str
    reason: str
    """``not_home`` (phone it) or ``refused`` (escalated to the grid worker)."""
    since: dt.datetime | None
    """The last time it was found not at home (``not_home``)."""
    door_visits: int
    phone: str | None = attrs.field(default=None, repr=phone_repr)


_FOLLOW_UP_SQL = """
WITH RECURSIVE {scope},
a AS ({agg})
SELECT h.id, h.stairwell_id, s.building_id, b.area_id, h.phone,
       a.refused, a.door_visits, a.last_not_home, a.last_phone
FROM a
JOIN households h ON h.id = a.hid
JOIN stairwells s ON s.id = h.stairwell_id
JOIN buildings b ON b.id = s.building_id
WHERE b.area_id IN (SELECT id FROM scope) AND a.screened = 0 AND a.vacant = 0
ORDER BY b.area_id, h.stairwell_id, h.id
"""

_ROUTE_SQL = """
SELECT h.stairwell_id, h.id
FROM households h
WHERE h.stairwell_id IN ({marks}) AND {pending}
ORDER BY h.stairwell_id, h.floor, h.door, h.id
"""


class Sweep:
    """Plan, record, follow up and measure the door-to-door sweep of one campaign.

    ``campaign`` is a stored campaign's id (or the campaign itself); with
    none, the store's only campaign. Households get up to
    ``max_door_attempts`` door visits before they are left to the phone and
    the grid worker.
    """

    def __init__(
        self,
        ws: Workspace,
        campaign: str | Campaign | None = None,
        *,
        max_door_attempts: int = DEFAULT_DOOR_ATTEMPTS,
    ) -> None:
        if max_door_attempts < 1:
            raise ConfigError(f"max_door_attempts must be at least 1 (got {max_door_attempts})")
        self.ws = ws
        self.campaign = resolve_campaign(ws, campaign)
        self.context = CampaignContext(ws, self.campaign)
        self.max_door_attempts = max_door_attempts

    # -- teams and rosters ------------------------------------------------------------------

    def teams(self) -> list[Team]:
        """The sweep teams that serve the campaign, by id."""
        ctx = self.context
        return [t for t in self.ws.find(Team, kind=TeamKind.SWEEP) if ctx.serves(t.area_id)]

    def roster(
        self, ramp: Sequence[int], *, start: dt.date | None = None, label: str = "afternoon"
    ) -> list[Shift]:
        """One shift a day from ``start`` (the campaign's first day): ``ramp[d]`` teams on day d.

        Teams are taken in id order, so a team out on day 1 stays out as the roster grows.
        """
        teams = self.teams()
        wanted = max(ramp, default=0)
        if wanted > len(teams):
            raise ConfigError(
                f"the ramp asks for {wanted} teams but the campaign has {len(teams)} sweep teams"
            )
        first = start or self.campaign.start
        return [
            Shift(first + dt.timedelta(days=n), teams[:count], label)
            for n, count in enumerate(ramp)
        ]

    def _check_teams(self, shifts: Sequence[Shift]) -> None:
        policy = self.ws.composition_policy
        violations: list[Violation] = []
        for n, shift in enumerate(shifts):
            for m, team in enumerate(shift.teams):
                where = f"$.shifts[{n}].teams[{m}]"
                if team.kind is not TeamKind.SWEEP:
                    violations.append(
                        Violation(f"{where}.kind", repr(team.kind.value), "must be a sweep team")
                    )
                if not self.context.serves(team.area_id):
                    violations.append(
                        Violation(
                            f"{where}.area_id",
                            repr(team.area_id),
                            f"team {team.id} is not in campaign {self.campaign.id}",
                        )
                    )
                violations += [v.prefixed(where) for v in policy.violations(team)]
        if violations:
            raise ValidationError(violations)

    # -- planning ---------------------------------------------------------------------------

    def plan(
        self,
        shifts: Sequence[Shift],
        *,
        capacity: Capacity = DEFAULT_CAPACITY,
        targets: Iterable[str] | Mapping[str, int] = (),
    ) -> SweepPlan:
        """Assign every household still to visit to a team and a shift of ``shifts``.

        Households still to visit are those not yet screened or found vacant
        with fewer than ``max_door_attempts`` door visits: whatever a past
        shift did not reach, found not at home or was refused comes back in
        the next plan. ``targets`` are priority households (ids, or ids
        mapped to a priority): their stairwells go first. Every team must
        be a sweep team of the campaign that meets the workspace's
        composition policy; otherwise nothing is planned and a
        :class:`~gridguard.errors.ValidationError` names each team and rule.
        """
        self.ws.authorize(PLAN)
        self._check_teams(shifts)
        ctx = self.context
        work = pending_work(ctx, self.max_door_attempts)
        inside = self.ws.in_scope(Stairwell, {w.stairwell_id for w in work})
        work = [w for w in work if w.stairwell_id in inside]  # the principal's scope only
        priorities = self._priorities(targets)
        for stairwell in self._stairwells_of(self._revisits()).values():
            priorities[stairwell] = max(priorities.get(stairwell, 0), 1)
        path_of = {grid: ctx.path(grid) for grid in {w.grid_id for w in work}}
        positions = {
            t.id: ctx.path(t.home_grid_id or t.area_id) for shift in shifts for t in shift.teams
        }
        return pack(
            work,
            shifts,
            capacity,
            path_of=path_of,
            positions=positions,
            priorities=priorities,
            campaign_id=self.campaign.id,
        )

    def estimate(
        self,
        ramp: Sequence[int],
        *,
        capacity: Capacity = DEFAULT_CAPACITY,
        start: dt.date | None = None,
    ) -> SweepPlan:
        """Plan the rest of the sweep on a ramping roster, the last day's teams repeating.

        The plan's :attr:`~gridguard.sweep.planner.SweepPlan.days` is the estimate of days
        to full coverage (if every visit found someone at home), and
        :attr:`~gridguard.sweep.planner.SweepPlan.lower_bound_days` the fewest days any plan
        could take.
        """
        if not ramp or max(ramp) < 1:
            raise ConfigError("the ramp needs at least one day with at least one team")
        days = [*ramp, *([ramp[-1]] * (MAX_PLAN_DAYS - len(ramp)))]
        return self.plan(self.roster(days, start=start), capacity=capacity)

    def _priorities(self, targets: Iterable[str] | Mapping[str, int]) -> dict[str, int]:
        wanted = dict(targets) if isinstance(targets, Mapping) else dict.fromkeys(targets, 1)
        if not wanted:
            return {}
        found = self._stairwells_of(self.ws.in_scope(Household, wanted))
        unknown = sorted(set(wanted) - set(found))  # outside the scope: as good as unknown
        if unknown:
            raise ValidationError(
                [Violation("$.targets", repr(h), "unknown household") for h in unknown]
            )
        out: dict[str, int] = {}
        for household, stairwell in found.items():
            out[stairwell] = max(out.get(stairwell, 0), int(wanted[household]))
        return out

    def _revisits(self) -> set[str]:
        """Households with an open visit task still unsettled: they go first, like targets."""
        ctx = self.context
        if not ctx.runs_sql:
            return self.ws.in_scope(Household, ctx.revisits())
        if not ctx._has_open_visit_tasks():
            return set()
        sql = (
            "SELECT h.id FROM households h WHERE h.id IN (SELECT household_id FROM tasks) "
            f"AND {OPEN_VISIT_TASK}"
        )
        return self.ws.in_scope(Household, {str(h) for (h,) in ctx._query(sql, [])})

    def _stairwells_of(self, households: Iterable[str]) -> dict[str, str]:
        ctx = self.context
        if ctx.runs_sql:
            sql = "SELECT id, stairwell_id FROM households WHERE id IN ({marks})"
            return {str(h): str(s) for h, s in ctx._lookup(sql, households)}
        out = {}
        with self.ws._transaction(write=False) as uow:
            for household_id in households:
                found = uow.get(Household, household_id)
                if found is not None:
                    out[household_id] = found.stairwell_id
        return out

    def route(self, shift: ShiftPlan) -> dict[str, list[str]]:
        """The households each team of ``shift`` visits, in walking order (floor, door).

        Resolve a shift right after planning it: a stairwell whose households
        to visit changed since is a :class:`~gridguard.errors.ConflictError`
        (plan again).
        """
        stairwells = {stop.stairwell_id for a in shift.assignments for stop in a.stops}
        stairwells = self.ws.in_scope(Stairwell, stairwells)
        pending = self._pending_households(stairwells)
        shown = self.ws.visible(PLAN, Household, {h for hs in pending.values() for h in hs})
        pending = {s: [h for h in hs if h in shown] for s, hs in pending.items()}
        routes: dict[str, list[str]] = {}
        for assignment in shift.assignments:
            route = routes.setdefault(assignment.team_id, [])
            for stop in assignment.stops:
                households = pending.get(stop.stairwell_id, [])
                if len(households) != stop.pending:
                    raise ConflictError(
                        f"stairwell {stop.stairwell_id} has {len(households)} households to "
                        f"visit, the plan expected {stop.pending}: plan again"
                    )
                route.extend(households[stop.first : stop.first + stop.households])
        return routes

    def _pending_households(self, stairwells: set[str]) -> dict[str, list[str]]:
        ctx = self.context
        out: dict[str, list[str]] = {}
        if ctx.runs_sql:
            pending = ctx._pending()
            ordered = sorted(stairwells)
            for start in range(0, len(ordered), 500):
                chunk = ordered[start : start + 500]
                marks = ", ".join("?" for _ in chunk)
                sql = _ROUTE_SQL.format(marks=marks, pending=pending)
                params = [*chunk, *ctx.campaign_params(), self.max_door_attempts]
                for stairwell_id, household_id in ctx._query(sql, params):
                    out.setdefault(str(stairwell_id), []).append(str(household_id))
            return out
        facts = ctx.household_facts()
        revisits = ctx.revisits()
        found: list[Household] = []
        with self.ws._transaction(write=False) as uow:
            for stairwell_id in stairwells:
                found += uow.find(Household, where={"stairwell_id": stairwell_id})
        found.sort(key=lambda h: (h.stairwell_id, h.floor, h.door, h.id))
        for household in found:
            f = facts.get(household.id)
            finished = f is not None and (f.done or f.door_visits >= self.max_door_attempts)
            if finished and household.id not in revisits:
                continue
            out.setdefault(household.stairwell_id, []).append(household.id)
        return out

    # -- follow-up --------------------------------------------------------------------------

    def _unresolved(self) -> list[tuple[FollowUp, HouseholdFacts]]:
        """Visited households neither screened nor vacant, with their visit summary."""
        ctx = self.context
        out: list[tuple[FollowUp, HouseholdFacts]] = []
        if ctx.runs_sql:
            scope, scope_params = ctx.scope_cte()
            juris, juris_params = ctx.jurisdiction_filter("v.jurisdiction")
            agg, agg_params = ctx.visit_agg(juris)
            sql = _FOLLOW_UP_SQL.format(scope=scope, agg=agg)
            for row in ctx._query(sql, [*scope_params, *agg_params, *juris_params]):
                hid, stairwell, building, grid, phone, refused, doors, last_nh, last_ph = row
                facts = HouseholdFacts(
                    refused=bool(refused),
                    not_home=last_nh is not None,
                    phoned=last_ph is not None,
                    door_visits=int(doors),
                    last_not_home=_instant(last_nh),
                    last_phone=_instant(last_ph),
                )
                follow = FollowUp(
                    str(hid), str(stairwell), str(building), str(grid), "", None, int(doors), phone
                )
                out.append((follow, facts))
            return out
        facts_of = ctx.household_facts()
        for household, stairwell, building in ctx.households_in_scope():
            f = facts_of.get(household.id)
            if f is None or f.done:
                continue
            follow = FollowUp(
                household.id,
                stairwell.id,
                building.id,
                building.area_id,
                "",
                None,
                f.door_visits,
                household.phone,
            )
            out.append((follow, f))
        out.sort(key=lambda pair: (pair[0].grid_id, pair[0].stairwell_id, pair[0].household_id))
        return out

    def _follow_ups(self) -> list[tuple[FollowUp, HouseholdFacts]]:
        """:meth:`_unresolved` as the principal may see it: her scope only, the read audited."""
        rows = self._unresolved()
        inside = self.ws.visible("sweep.follow_up", Household, {f.household_id for f, _ in rows})
        return [(f, facts) for f, facts in rows if f.household_id in inside]

    def phone_queue(self) -> list[FollowUp]:
        """Households found not at home at the door and not phoned since: call them.

        Only households inside the principal's scope, for a role that reads
        households and visits; the read is audited.
        """
        return [
            attrs.evolve(follow, reason="not_home", since=facts.last_not_home)
            for follow, facts in self._follow_ups()
            if facts.awaits_phone()
        ]

    def escalations(self) -> list[FollowUp]:
        """Households that refused and were not screened since: the grid worker's list.

        Scoped and audited as :meth:`phone_queue` is.
        """
        return [
            attrs.evolve(follow, reason="refused")
            for follow, facts in self._follow_ups()
            if facts.refused
        ]

    # -- recording, files, coverage ---------------------------------------------------------

    def record(self, records: Iterable[VisitRecord]) -> RecordReport:
        """Record visits with their screenings; see :func:`gridguard.sweep.recording.record`."""
        return recording.record(self, records)

    def record_file(self, path: Any, *, format: str | None = None) -> RecordReport:
        """Record a file of visits; see :func:`gridguard.sweep.recording.record_file`."""
        return recording.record_file(self, path, format=format)

    def coverage(self, by: str = "campaign") -> list[CoverageRow]:
        """Coverage per ``campaign``, ``area``, ``grid``, ``building`` or ``stairwell``."""
        return coverage_of(self.context, by)

    def household_file(self, household_id: str) -> HouseholdFile:
        """ "One file per household": the household, its members, visits and screenings."""
        return files.household_file(self.context, household_id)

    def person_file(self, person_id: str) -> PersonFile:
        """ "One file per person": a person's screenings and what flags them."""
        return files.person_file(self.context, person_id)


def _instant(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return decode_timestamp(str(value))
