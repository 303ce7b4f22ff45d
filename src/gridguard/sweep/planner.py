"""The sweep planner: which team walks which stairwells in which shift.

The planner never sees a household as an object. It works on counts that
the store sums up in one query: how many households of each stairwell are
still to be walked to (:func:`pending_work`). It packs whole buildings
(split only when one does not fit) into the team-shifts of a roster, near
each team's home grid, fullest-first, so that a team's afternoon stays in
few buildings and one grid while the sweep needs as few shifts as the
roster's capacity allows.
"""

from __future__ import annotations

import bisect
import datetime as dt
import enum
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import attrs

from ..errors import ValidationError, Violation
from ..model import Team
from ..model._validate import bounded, enum_of, non_empty

if TYPE_CHECKING:
    from .context import CampaignContext

__all__ = [
    "DEFAULT_CAPACITY",
    "Assignment",
    "Capacity",
    "CapacityUnit",
    "Shift",
    "ShiftPlan",
    "Stop",
    "SweepPlan",
    "Work",
    "pack",
    "pending_work",
    "round_robin",
]


class CapacityUnit(enum.StrEnum):
    """What a team's capacity per shift counts: stairwells walked or households visited."""

    STAIRWELL = "stairwell"
    HOUSEHOLD = "household"


def _unit(value: Any) -> CapacityUnit:
    return enum_of(CapacityUnit, value, "unit")


@attrs.frozen
class Capacity:
    """How much one team does in one shift: ``amount`` stairwells or households.

    The Huayuan account gives both: "about 5 stairwells per afternoon" and
    "close to 100 households per team per afternoon". Which one a plan uses
    decides how stairwells of different sizes are packed: counted in
    stairwells every stairwell weighs one, counted in households a
    stairwell weighs the households still to visit in it.
    """

    amount: int = attrs.field(default=5, validator=bounded(1, 1_000_000))
    unit: CapacityUnit = attrs.field(default=CapacityUnit.STAIRWELL, converter=_unit)

    @classmethod
    def stairwells(cls, amount: int) -> Capacity:
        """``amount`` stairwells per team-shift."""
        return cls(amount, CapacityUnit.STAIRWELL)

    @classmethod
    def households(cls, amount: int) -> Capacity:
        """``amount`` households per team-shift."""
        return cls(amount, CapacityUnit.HOUSEHOLD)

    def __str__(self) -> str:
        return f"{self.amount} {self.unit.value}s per team-shift"


DEFAULT_CAPACITY = Capacity.stairwells(5)
"""Five stairwells per afternoon, as the Huayuan account reports."""


def _teams(value: Iterable[Team]) -> tuple[Team, ...]:
    return tuple(value)


@attrs.frozen
class Shift:
    """The teams out on one shift (an afternoon, by default) of one day."""

    day: dt.date
    teams: tuple[Team, ...] = attrs.field(converter=_teams)
    label: str = attrs.field(default="afternoon", validator=non_empty)


@attrs.frozen
class Stop:
    """Part of a team's route: the households still to visit in one stairwell.

    Usually the whole stairwell (``first == 0`` and ``households ==
    pending``). A stairwell with more households than a team's capacity is
    split: the stop then covers ``households`` of them from position
    ``first``, counted in floor and door order among the ``pending`` ones.
    """

    stairwell_id: str
    building_id: str
    grid_id: str
    """The building's area: its grid (网格)."""
    households: int
    pending: int
    first: int = 0
    priority: int = 0

    @property
    def whole(self) -> bool:
        return self.first == 0 and self.households == self.pending


@attrs.frozen
class Assignment:
    """One team's work for one shift, in walking order."""

    team_id: str
    stops: tuple[Stop, ...]
    load: int
    """In the capacity's unit; never more than its amount."""

    @property
    def households(self) -> int:
        return sum(s.households for s in self.stops)

    @property
    def stairwells(self) -> int:
        return len({s.stairwell_id for s in self.stops})

    @property
    def buildings(self) -> int:
        return len({s.building_id for s in self.stops})

    @property
    def grids(self) -> int:
        return len({s.grid_id for s in self.stops})


@attrs.frozen
class ShiftPlan:
    """The assignments of one shift, and the teams left without work."""

    day: dt.date
    label: str
    assignments: tuple[Assignment, ...]
    idle: tuple[str, ...] = ()
    teams: int = 0
    """Teams on the roster for this shift (busy or idle)."""

    @property
    def households(self) -> int:
        return sum(a.households for a in self.assignments)

    @property
    def load(self) -> int:
        return sum(a.load for a in self.assignments)


@attrs.frozen
class SweepPlan:
    """Shift plans until every household still to visit is assigned, or the roster ends.

    ``lower_bound_shifts`` is the fewest shifts any plan could need: the
    first shift by which the roster's combined capacity covers the work.
    """

    campaign_id: str
    capacity: Capacity
    shifts: tuple[ShiftPlan, ...]
    households: int
    """Households still to visit when planned."""
    stairwells: int
    work: int
    """The work in the capacity's unit."""
    unassigned_households: int
    unassigned_stairwells: int
    lower_bound_shifts: int | None
    lower_bound_days: int | None
    method: str = "planner"

    @property
    def complete(self) -> bool:
        """Every household still to visit has a team and a shift."""
        return self.unassigned_households == 0

    @property
    def shift_count(self) -> int:
        """Shifts with any work in them."""
        return sum(1 for s in self.shifts if s.assignments)

    @property
    def days(self) -> int:
        """Days with any work in them."""
        return len({s.day for s in self.shifts if s.assignments})

    @property
    def team_shifts(self) -> int:
        return sum(len(s.assignments) for s in self.shifts)

    def _mean(self, values: Iterable[float]) -> float:
        items = list(values)
        return sum(items) / len(items) if items else 0.0

    def _each(self) -> Iterable[Assignment]:
        return (a for s in self.shifts for a in s.assignments)

    @property
    def mean_households(self) -> float:
        """Households per team-shift, on average."""
        return self._mean(a.households for a in self._each())

    @property
    def mean_buildings(self) -> float:
        """Distinct buildings per team-shift, on average: how scattered a team's afternoon is."""
        return self._mean(a.buildings for a in self._each())

    @property
    def mean_grids(self) -> float:
        """Distinct grids per team-shift, on average."""
        return self._mean(a.grids for a in self._each())

    @property
    def max_load_ratio(self) -> float:
        """The heaviest team-shift's load over the capacity (at most 1 for the planner)."""
        return max((a.load / self.capacity.amount for a in self._each()), default=0.0)

    def summary(self) -> dict[str, Any]:
        """The plan's figures as plain data."""
        return {
            "campaign": self.campaign_id,
            "method": self.method,
            "capacity": {"amount": self.capacity.amount, "unit": self.capacity.unit.value},
            "households": self.households,
            "stairwells": self.stairwells,
            "work": self.work,
            "complete": self.complete,
            "unassigned_households": self.unassigned_households,
            "unassigned_stairwells": self.unassigned_stairwells,
            "shifts": self.shift_count,
            "days": self.days,
            "lower_bound_shifts": self.lower_bound_shifts,
            "lower_bound_days": self.lower_bound_days,
            "team_shifts": self.team_shifts,
            "mean_households_per_team_shift": round(self.mean_households, 2),
            "mean_buildings_per_team_shift": round(self.mean_buildings, 3),
            "mean_grids_per_team_shift": round(self.mean_grids, 3),
            "max_load_ratio": round(self.max_load_ratio, 3),
        }

    def to_dict(self) -> dict[str, Any]:
        """The whole plan as plain data (for ``--json``)."""
        return {
            **self.summary(),
            "plan": [
                {
                    "day": s.day.isoformat(),
                    "shift": s.label,
                    "idle": list(s.idle),
                    "assignments": [
                        {
                            "team": a.team_id,
                            "load": a.load,
                            "households": a.households,
                            "buildings": a.buildings,
                            "stops": [
                                {
                                    "stairwell": p.stairwell_id,
                                    "building": p.building_id,
                                    "grid": p.grid_id,
                                    "households": p.households,
                                    "first": p.first,
                                    "pending": p.pending,
                                    **({"priority": p.priority} if p.priority else {}),
                                }
                                for p in a.stops
                            ],
                        }
                        for a in s.assignments
                    ],
                }
                for s in self.shifts
            ],
        }


# -- the work: households still to visit, per stairwell -------------------------------------


class Work(NamedTuple):
    """Households still to visit in one stairwell, with where the stairwell is."""

    grid_id: str
    """The building's area: its grid."""
    building_id: str
    stairwell_id: str
    households: int


_PENDING_SQL = """
WITH RECURSIVE {scope},
hc AS (
  SELECT h.stairwell_id AS sid, count(*) AS n
  FROM households h
  WHERE {pending}{jurisdictions}
  GROUP BY h.stairwell_id
)
SELECT b.area_id, s.building_id, s.id, hc.n
FROM hc
JOIN stairwells s ON s.id = hc.sid
JOIN buildings b ON b.id = s.building_id
WHERE b.area_id IN (SELECT id FROM scope)
ORDER BY b.area_id, s.building_id, s.id
"""


def pending_work(ctx: CampaignContext, max_door_attempts: int) -> list[Work]:
    """Households of the campaign's scope still to visit, counted per stairwell.

    A household is still to visit until a visit screened it or found it
    vacant, for up to ``max_door_attempts`` door visits (not at home,
    refused), and again while it has an open visit task that no such visit
    has settled since the task fell due (a family moved in). One query on
    SQL stores, counting per stairwell with one index probe per household;
    a Python loop on memory.
    """
    if ctx.runs_sql:
        scope, scope_params = ctx.scope_cte()
        juris, juris_params = ctx.jurisdiction_filter("h.jurisdiction")
        if ctx._has_visits():
            pending, pending_params = ctx._pending(), [*ctx.campaign_params(), max_door_attempts]
        else:  # the first plan of a sweep: every household, counted from an index alone
            pending, pending_params = "1 = 1", []
        sql = _PENDING_SQL.format(scope=scope, pending=pending, jurisdictions=juris)
        params = [*scope_params, *pending_params, *juris_params]
        return [Work(str(g), str(b), str(s), int(n)) for g, b, s, n in ctx._query(sql, params)]
    facts = ctx.household_facts()
    revisits = ctx.revisits()
    counts: dict[tuple[str, str, str], int] = {}
    for household, stairwell, building in ctx.households_in_scope():
        f = facts.get(household.id)
        finished = f is not None and (f.done or f.door_visits >= max_door_attempts)
        if finished and household.id not in revisits:
            continue
        key = (building.area_id, building.id, stairwell.id)
        counts[key] = counts.get(key, 0) + 1
    return [Work(g, b, s, n) for (g, b, s), n in sorted(counts.items())]


# -- packing ---------------------------------------------------------------------------------


class _Item:
    """A stop in the making: a stairwell (or part of one) and its size in capacity units."""

    __slots__ = ("first", "grid", "path", "priority", "size", "stop_households", "work")

    def __init__(
        self, work: Work, path: tuple[str, ...], first: int, households: int, size: int, prio: int
    ) -> None:
        self.work = work
        self.path = path
        self.grid = work.grid_id
        self.first = first
        self.stop_households = households
        self.size = size
        self.priority = prio

    def stop(self) -> Stop:
        w = self.work
        return Stop(
            stairwell_id=w.stairwell_id,
            building_id=w.building_id,
            grid_id=w.grid_id,
            households=self.stop_households,
            pending=w.households,
            first=self.first,
            priority=self.priority,
        )

    def order(self) -> tuple[tuple[str, ...], str, str, int]:
        return (self.path, self.work.building_id, self.work.stairwell_id, self.first)


class _Piece:
    """Stairwells of one building that fit one team-shift together."""

    __slots__ = ("items", "size")

    def __init__(self, items: list[_Item], size: int | None = None) -> None:
        self.items = items
        self.size = sum(i.size for i in items) if size is None else size


class _GridWork:
    """The pieces of one grid at one priority level, bucketed by size for best fit."""

    __slots__ = ("buckets", "sizes", "total")

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.buckets: dict[int, deque[_Piece]] = {}
        self.total = 0

    def add(self, piece: _Piece, front: bool = False) -> None:
        bucket = self.buckets.get(piece.size)
        if bucket is None:
            bucket = self.buckets[piece.size] = deque()
            bisect.insort(self.sizes, piece.size)
        if front:
            bucket.appendleft(piece)
        else:
            bucket.append(piece)
        self.total += piece.size

    def _pop(self, size: int) -> _Piece:
        bucket = self.buckets[size]
        piece = bucket.popleft()
        if not bucket:
            del self.buckets[size]
            self.sizes.pop(bisect.bisect_left(self.sizes, size))
        self.total -= size
        return piece

    def take_fit(self, room: int) -> _Piece | None:
        """The first of the largest pieces that fits in ``room``, taken out."""
        i = bisect.bisect_right(self.sizes, room) - 1
        return None if i < 0 else self._pop(self.sizes[i])

    def split(self, room: int) -> list[_Item] | None:
        """Stairwells of one of the smallest pieces that fit in ``room``; the rest stays."""
        for size in self.sizes[:3]:
            piece = self.buckets[size][0]
            taken: list[_Item] = []
            rest: list[_Item] = []
            used = 0
            for item in piece.items:
                if used + item.size <= room:
                    taken.append(item)
                    used += item.size
                else:
                    rest.append(item)
            if taken:
                self._pop(size)
                if rest:
                    self.add(_Piece(rest), front=True)  # the next team finishes the building
                return taken
        return None


class _TeamShift:
    __slots__ = ("grids", "items", "load", "position", "room", "team_id")

    def __init__(self, team_id: str, room: int, position: tuple[str, ...]) -> None:
        self.team_id = team_id
        self.room = room
        self.load = 0
        self.items: list[_Item] = []
        self.grids: list[str] = []
        self.position = position

    def take(self, items: Iterable[_Item], grid: str, path: tuple[str, ...]) -> None:
        for item in items:
            self.items.append(item)
            self.room -= item.size
            self.load += item.size
        if grid not in self.grids:
            self.grids.append(grid)
        self.position = path


def _common(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _in_building_order(work: Sequence[Work]) -> Sequence[Work]:
    """``work`` with each building's stairwells together (as the query returns it, usually)."""
    seen: set[str] = set()
    last = None
    for w in work:
        if w.building_id != last:
            if w.building_id in seen:
                return sorted(work, key=lambda x: (x.grid_id, x.building_id, x.stairwell_id))
            seen.add(w.building_id)
            last = w.building_id
    return work


class _Packer:
    """Best-fit packing of building pieces into team-shifts, grid by grid, priority first."""

    MAX_GRIDS = 3
    """Grids one team-shift may walk: its own and, when that runs dry, up to two neighbours."""
    NEIGHBOURS = 6

    def __init__(
        self,
        work: Sequence[Work],
        capacity: Capacity,
        path_of: Mapping[str, tuple[str, ...]],
        priorities: Mapping[str, int],
    ) -> None:
        self.capacity = capacity
        self.path_of = path_of
        self.levels: dict[int, dict[str, _GridWork]] = {}
        self.open: dict[int, list[tuple[str, ...]]] = {}
        self.left_households = 0
        self.left_stairwells = len(work)
        self.remaining: dict[str, int] = {}
        self.min_room = (
            1 if capacity.unit is CapacityUnit.STAIRWELL else max(1, capacity.amount // 10)
        )
        # One pass over the work in building order, a building's stairwells kept together.
        cap = capacity.amount
        per_stairwell = capacity.unit is CapacityUnit.STAIRWELL
        remaining = self.remaining
        building: str | None = None
        items: list[_Item] = []
        size = 0
        path: tuple[str, ...] = ()
        levels: set[int] = set()
        households = 0
        for w in _in_building_order(work):
            if w.building_id != building:
                if items:
                    self._place(items, size, len(levels) > 1)
                building, items, size, path = w.building_id, [], 0, path_of[w.grid_id]
                levels = set()
            prio = priorities.get(w.stairwell_id, 0) if priorities else 0
            levels.add(prio)
            n = w.households
            households += n
            remaining[w.stairwell_id] = n
            if per_stairwell:
                items.append(_Item(w, path, 0, n, 1, prio))
                size += 1
            elif n <= cap:
                items.append(_Item(w, path, 0, n, n, prio))
                size += n
            else:  # a stairwell larger than a team-shift: in parts, floor by floor
                for first in range(0, n, cap):
                    part = min(cap, n - first)
                    items.append(_Item(w, path, first, part, part, prio))
                    size += part
        if items:
            self._place(items, size, len(levels) > 1)
        self.left_households = households

    def _place(self, items: list[_Item], size: int, mixed: bool) -> None:
        """Put one building's stairwells into the pool, in pieces that fit a team-shift."""
        first = items[0]
        if size <= self.capacity.amount and not mixed:
            grids = self.levels.get(first.priority)
            work = None if grids is None else grids.get(first.grid)
            if work is not None:  # the usual case: one piece, into a grid already open
                work.add(_Piece(items, size))
                return
            pieces = [_Piece(items, size)]
        else:
            pieces = self._pieces(items)
        for piece in pieces:
            level = piece.items[0].priority
            grid = piece.items[0].grid
            grids = self.levels.get(level)
            if grids is None:
                grids = self.levels[level] = {}
            work = grids.get(grid)
            if work is None:
                work = grids[grid] = _GridWork()
                bisect.insort(self.open.setdefault(level, []), self.path_of[grid])
            work.add(piece)

    def _pieces(self, items: list[_Item]) -> list[_Piece]:
        """A building's stairwells in pieces that each fit a team-shift (first fit decreasing)."""
        cap = self.capacity.amount
        if sum(i.size for i in items) <= cap and len({i.priority for i in items}) == 1:
            return [_Piece(items)]
        pieces: list[list[_Item]] = []
        rooms: list[int] = []
        for item in sorted(items, key=lambda i: (-i.priority, -i.size)):
            for n, room in enumerate(rooms):
                if item.size <= room and pieces[n][0].priority == item.priority:
                    pieces[n].append(item)
                    rooms[n] -= item.size
                    break
            else:
                pieces.append([item])
                rooms.append(cap - item.size)
        return [_Piece(sorted(p, key=_Item.order)) for p in pieces]

    @property
    def done(self) -> bool:
        return not any(self.open.values())

    def _close_if_empty(self, level: int, grid: str) -> None:
        if self.levels[level][grid].total == 0:
            del self.levels[level][grid]
            opens = self.open[level]
            del opens[bisect.bisect_left(opens, self.path_of[grid])]

    def _fill(self, team: _TeamShift, level: int, grid: str) -> None:
        work = self.levels[level][grid]
        path = self.path_of[grid]
        while team.room > 0 and work.total:
            piece = work.take_fit(team.room)
            items = piece.items if piece is not None else work.split(team.room)
            if not items:
                break
            team.take(items, grid, path)
        self._close_if_empty(level, grid)

    def _nearest(self, level: int, position: tuple[str, ...]) -> list[tuple[str, ...]]:
        opens = self.open.get(level, [])
        i = bisect.bisect_left(opens, position)
        found: list[tuple[int, int, tuple[str, ...]]] = []
        for j in range(max(0, i - self.NEIGHBOURS), min(len(opens), i + self.NEIGHBOURS)):
            found.append((-_common(opens[j], position), abs(j - i), opens[j]))
        found.sort()
        return [p for _, _, p in found]

    def _send(self, teams: Sequence[_TeamShift], homes: Mapping[str, str | None]) -> None:
        """Fill ``teams``: each from its home grid first, then from the nearest grids."""
        for level in sorted(self.levels, reverse=True):
            grids = self.levels[level]
            for team in teams:  # first each team's own grid
                home = homes[team.team_id]
                if team.room > 0 and home is not None and home in grids:
                    self._fill(team, level, home)
            for team in teams:  # then the nearest grids that still have work
                while (
                    team.room >= self.min_room
                    and len(team.grids) < self.MAX_GRIDS
                    and self.open.get(level)
                ):
                    before = team.load
                    for path in self._nearest(level, team.position):
                        self._fill(team, level, path[-1])
                        if team.load > before:
                            break
                    if team.load == before:
                        break

    def _units_left(self) -> int:
        return sum(work.total for grids in self.levels.values() for work in grids.values())

    def _home_work(self, home: str | None) -> int:
        if home is None:
            return 0
        return sum(grids[home].total for grids in self.levels.values() if home in grids)

    def shift(self, shift: Shift, positions: Mapping[str, tuple[str, ...]]) -> ShiftPlan:
        """Fill the teams of ``shift`` and take the work they got out of the pool.

        When the work left is less than the shift can do, only as many teams
        go out as it needs (those with the most work in their home grid):
        full afternoons for fewer teams rather than light ones for all.
        """
        teams = [
            _TeamShift(t.id, self.capacity.amount, positions[t.id])
            for t in sorted(shift.teams, key=lambda t: t.id)
        ]
        homes = {t.id: t.home_grid_id for t in shift.teams}
        ranked = sorted(teams, key=lambda t: (-self._home_work(homes[t.team_id]), t.team_id))
        out = 0
        while out < len(ranked) and not self.done:
            need = -(-self._units_left() // self.capacity.amount)
            batch = sorted(ranked[out : out + max(1, need)], key=lambda t: t.team_id)
            out += len(batch)
            self._send(batch, homes)
        assignments = []
        for team in teams:
            if not team.items:
                continue
            items = sorted(team.items, key=_Item.order)
            for item in items:
                self.left_households -= item.stop_households
                left = self.remaining[item.work.stairwell_id] - item.stop_households
                self.remaining[item.work.stairwell_id] = left
                if left == 0:
                    self.left_stairwells -= 1
            assignments.append(Assignment(team.team_id, tuple(i.stop() for i in items), team.load))
        return ShiftPlan(
            day=shift.day,
            label=shift.label,
            assignments=tuple(assignments),
            idle=tuple(t.team_id for t in teams if not t.items),
            teams=len(teams),
        )


def _lower_bounds(
    shifts: Sequence[Shift], capacity: Capacity, work: int
) -> tuple[int | None, int | None]:
    """The fewest shifts (and days) whose combined capacity covers ``work``."""
    if work == 0:
        return 0, 0
    total = 0
    days: set[dt.date] = set()
    for n, shift in enumerate(shifts, start=1):
        total += len(shift.teams) * capacity.amount
        days.add(shift.day)
        if total >= work:
            return n, len(days)
    return None, None


def _work_units(work: Sequence[Work], capacity: Capacity) -> int:
    if capacity.unit is CapacityUnit.STAIRWELL:
        return len(work)
    return sum(w.households for w in work)


def _check_roster(shifts: Sequence[Shift]) -> None:
    """A team is out at most once per shift."""
    violations = []
    for n, shift in enumerate(shifts):
        seen: set[str] = set()
        for m, team in enumerate(shift.teams):
            if team.id in seen:
                violations.append(
                    Violation(
                        f"$.shifts[{n}].teams[{m}]", repr(team.id), "a team is out once per shift"
                    )
                )
            seen.add(team.id)
    if violations:
        raise ValidationError(violations)


def pack(
    work: Sequence[Work],
    shifts: Sequence[Shift],
    capacity: Capacity = DEFAULT_CAPACITY,
    *,
    path_of: Mapping[str, tuple[str, ...]] | None = None,
    positions: Mapping[str, tuple[str, ...]] | None = None,
    priorities: Mapping[str, int] | None = None,
    campaign_id: str = "",
) -> SweepPlan:
    """Assign ``work`` to the teams of ``shifts``, shift after shift, until none is left.

    ``path_of`` maps each grid to its path from the root of the place tree
    (nearby grids share a long prefix); ``positions`` maps each team to the
    path it starts from (its home grid). Both default to flat, alphabetical
    orders. ``priorities`` maps stairwells to a priority: higher goes first.
    Pure computation: the same input gives the same plan.
    """
    _check_roster(shifts)
    path_of = dict(path_of or {})
    for w in work:
        path_of.setdefault(w.grid_id, (w.grid_id,))
    packer = _Packer(work, capacity, path_of, priorities or {})
    plans: list[ShiftPlan] = []
    for shift in shifts:
        if packer.done:
            break
        starts = {
            t.id: (positions or {}).get(t.id) or path_of.get(t.home_grid_id or "") or (t.area_id,)
            for t in shift.teams
        }
        plans.append(packer.shift(shift, starts))
    return _sweep_plan(
        work,
        shifts,
        capacity,
        plans,
        campaign_id=campaign_id,
        unassigned_households=packer.left_households,
        unassigned_stairwells=packer.left_stairwells,
    )


def _sweep_plan(
    work: Sequence[Work],
    shifts: Sequence[Shift],
    capacity: Capacity,
    plans: Sequence[ShiftPlan],
    *,
    campaign_id: str,
    unassigned_households: int,
    unassigned_stairwells: int,
    method: str = "planner",
) -> SweepPlan:
    """The plan of ``work`` made of the shift ``plans``, with the lower bounds to judge it by."""
    units = _work_units(work, capacity)
    bound_shifts, bound_days = _lower_bounds(shifts, capacity, units)
    return SweepPlan(
        campaign_id=campaign_id,
        capacity=capacity,
        shifts=tuple(plans),
        households=sum(w.households for w in work),
        stairwells=len(work),
        work=units,
        unassigned_households=unassigned_households,
        unassigned_stairwells=unassigned_stairwells,
        lower_bound_shifts=bound_shifts,
        lower_bound_days=bound_days,
        method=method,
    )


def round_robin(
    work: Sequence[Work],
    shifts: Sequence[Shift],
    capacity: Capacity = DEFAULT_CAPACITY,
    *,
    deal: str = "household",
    campaign_id: str = "",
) -> SweepPlan:
    """The baseline: work dealt to the teams in turn, as follow-up tools assign contacts.

    ``deal="household"`` deals households one by one in place order, each
    to the next team that still has room (loads come out even, places
    scattered). ``deal="stairwell"`` deals whole stairwells in turn, as many
    per shift as the teams' combined capacity, whatever their size. For
    comparison only: its stops are counts, not routes.
    """
    if deal not in ("household", "stairwell"):
        raise ValueError(f"deal is 'household' or 'stairwell', not {deal!r}")
    queue: deque[tuple[Work, int]] = deque((w, w.households) for w in work)
    by_households = capacity.unit is CapacityUnit.HOUSEHOLD
    plans: list[ShiftPlan] = []
    left_households = sum(w.households for w in work)
    for shift in shifts:
        if not queue:
            break
        teams = sorted(t.id for t in shift.teams)
        if not teams:
            plans.append(ShiftPlan(shift.day, shift.label, (), (), 0))
            continue
        stops: dict[str, dict[str, list[Any]]] = {t: {} for t in teams}
        loads = dict.fromkeys(teams, 0)
        budget = len(teams) * capacity.amount
        rotation = deque(teams)
        while queue and rotation and budget > 0:
            w, left = queue[0]
            team = rotation.popleft()
            if deal == "stairwell":
                queue.popleft()
                size = left if by_households else 1
                stops[team][w.stairwell_id] = [w, left]
                left_households -= left
                rotation.append(team)
            else:
                entry = stops[team].setdefault(w.stairwell_id, [w, 0])
                size = 1 if by_households or entry[1] == 0 else 0
                entry[1] += 1
                left_households -= 1
                if left == 1:
                    queue.popleft()
                else:
                    queue[0] = (w, left - 1)
                if loads[team] + size < capacity.amount:
                    rotation.append(team)
            loads[team] += size
            budget -= size
        assignments = tuple(
            Assignment(
                t,
                tuple(
                    Stop(w.stairwell_id, w.building_id, w.grid_id, n, w.households)
                    for w, n in stops[t].values()
                ),
                loads[t],
            )
            for t in teams
            if stops[t]
        )
        idle = tuple(t for t in teams if not stops[t])
        plans.append(ShiftPlan(shift.day, shift.label, assignments, idle, len(teams)))
    return _sweep_plan(
        work,
        shifts,
        capacity,
        plans,
        campaign_id=campaign_id,
        unassigned_households=left_households,
        unassigned_stairwells=len(queue),
        method=f"round_robin_{deal}",
    )
