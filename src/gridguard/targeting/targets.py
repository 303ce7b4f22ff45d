"""Targets: the households to visit first, ranked per grid (重点排查对象).

Every :class:`~gridguard.model.targeting.Match` puts a household on the list. A
household's priority comes from its matched residents: what they were
exposed to (a close contact of a confirmed case before an arrival from an
outbreak area), how recently (inside the observation window, 14 days in the
2020 protocol, the more recent the higher), and how sure the match is; each
further matched resident adds a little. :class:`TargetPolicy` holds every
number, so a campaign can change them.

Targets are derived state: :func:`compute_targets` recomputes them from the
matches (an unchanged target keeps its version), :func:`ranked_targets`
reads them in visiting order, and :func:`targets_for_planner` hands the
household ids to the sweep planner as priority visits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import zoneinfo
from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ..model import DEFAULT_TIME_ZONE, Area, AreaLevel, Building, Household, Person, Stairwell
from ..model._validate import _IDENT
from ..model.targeting import ListEntry, Match, MatchPass, OutsideList, Target
from ..storage.schema import spec_for

if TYPE_CHECKING:
    from ..storage.base import UnitOfWork
    from ..workspace import Workspace

__all__ = [
    "DEFAULT_EXPOSURE_WEIGHTS",
    "TargetPolicy",
    "compute_targets",
    "planner_priorities",
    "ranked_targets",
    "target_id",
    "targets_for_planner",
]

DEFAULT_EXPOSURE_WEIGHTS: Mapping[str, float] = {
    "confirmed_case": 100.0,
    "suspected_case": 80.0,
    "outbreak_area_arrival": 60.0,
    "other": 30.0,
}
"""Base priority by what the list's people were exposed to."""


def _weights(value: Mapping[str, float]) -> Mapping[str, float]:
    return dict(value)


@attrs.frozen(kw_only=True)
class TargetPolicy:
    """How a household's priority is computed from its matches."""

    exposure_weights: Mapping[str, float] = attrs.field(
        factory=lambda: dict(DEFAULT_EXPOSURE_WEIGHTS), converter=_weights
    )
    window_days: int = 14
    """The observation window: 14 days from the last exposure (2020 national protocol)."""
    recency_bonus: float = 0.5
    """Inside the window, a contact today counts this much more than one at its edge."""
    outside_window: float = 0.25
    """What a contact older than the window still counts."""
    unknown_date: float = 0.8
    """What a contact of unknown date counts."""
    per_extra_person: float = 10.0
    """Added for each further matched resident of the household."""
    time_zone: str = DEFAULT_TIME_ZONE

    def person_priority(
        self, exposure: str, last_contact: dt.date | None, score: float, on: dt.date
    ) -> float:
        """One matched resident's priority: exposure x recency x confidence."""
        base = self.exposure_weights.get(exposure, self.exposure_weights.get("other", 30.0))
        if last_contact is None:
            recency = self.unknown_date
        else:
            days = max((on - last_contact).days, 0)
            if days <= self.window_days:
                recency = 1.0 + self.recency_bonus * (self.window_days - days) / self.window_days
            else:
                recency = self.outside_window
        return base * recency * (0.5 + 0.5 * score)


def target_id(household_id: str) -> str:
    """The id of a household's target: ``t-<household id>``, or a hash when that is too long."""
    candidate = f"t-{household_id}"
    if _IDENT.match(candidate):
        return candidate
    digest = hashlib.blake2b(household_id.encode("utf-8"), digest_size=10).hexdigest()
    return f"t-{digest}"


@attrs.frozen
class _Hit:
    person_id: str
    household_id: str
    area_id: str
    match_pass: str
    score: float
    source: str
    exposure: str
    last_contact: dt.date | None


_HITS_SQL = """
SELECT m.person_id, p.household_id, b.area_id, m.match_pass, m.score, m.source,
       l.exposure, e.last_contact
FROM matches AS m
JOIN list_entries AS e ON e.id = m.entry_id
JOIN outside_lists AS l ON l.id = e.list_id
JOIN persons AS p ON p.id = m.person_id
JOIN households AS h ON h.id = p.household_id
JOIN stairwells AS s ON s.id = h.stairwell_id
JOIN buildings AS b ON b.id = s.building_id
"""


def _hits(uow: UnitOfWork, sql: bool) -> Iterator[_Hit]:
    """Every match with what ranking needs: household, building area, exposure, date."""
    if sql:
        for person, household, area, how, score, source, exposure, last in uow.query(_HITS_SQL):
            yield _Hit(
                person,
                household,
                area,
                how,
                float(score),
                source,
                exposure,
                None if last is None else dt.date.fromisoformat(last),
            )
        return
    cache: dict[tuple[type[Any], str], Any] = {}

    def get(cls: type[Any], key: str) -> Any:
        if (cls, key) not in cache:
            cache[(cls, key)] = uow.get(cls, key)
        return cache[(cls, key)]

    for m in uow.find(Match):
        entry = get(ListEntry, str(m.entry_id))
        outside = get(OutsideList, entry.list_id)
        person = get(Person, m.person_id)
        household = get(Household, person.household_id)
        stairwell = get(Stairwell, household.stairwell_id)
        building = get(Building, stairwell.building_id)
        yield _Hit(
            m.person_id,
            household.id,
            building.area_id,
            m.match_pass.value,
            m.score,
            m.source,
            outside.exposure.value,
            entry.last_contact,
        )


def _grids(uow: UnitOfWork, area_ids: set[str]) -> dict[str, str]:
    """The grid (or village group) of each building area: the area itself or its grid above."""
    out: dict[str, str] = {}
    for area_id in area_ids:
        current = uow.get(Area, area_id)
        grid = area_id
        while current is not None:
            if current.level in (AreaLevel.GRID, AreaLevel.VILLAGE_GROUP):
                grid = current.id
                break
            if current.level.rank < AreaLevel.GRID.rank or current.parent_id is None:
                break
            current = uow.get(Area, current.parent_id)
        out[area_id] = grid
    return out


def compute_targets(
    ws: Workspace, *, on: dt.date | None = None, policy: TargetPolicy | None = None
) -> int:
    """Recompute every target from the matches; returns how many targets there are.

    ``on`` is the day priorities are computed for (default: today in the
    policy's time zone). An unchanged target keeps its version. Every
    target is rewritten, so only an unscoped principal whose role writes
    targeting records may (audited).
    """
    ws.authorize("targeting.compute", "*")
    policy = policy or TargetPolicy()
    if on is None:
        on = dt.datetime.now(zoneinfo.ZoneInfo(policy.time_zone)).date()
    sql = ws.dialect.sqlite_sql
    with ws._transaction() as uow:
        by_household: dict[str, list[_Hit]] = defaultdict(list)
        for hit in _hits(uow, sql):
            by_household[hit.household_id].append(hit)
        grids = _grids(uow, {h.area_id for hits in by_household.values() for h in hits})
        targets = [
            _target(household, hits, grids, policy, on)
            for household, hits in sorted(by_household.items())
        ]
        if targets:
            uow.put(Target, targets)
    return len(targets)


def _target(
    household: str,
    hits: list[_Hit],
    grids: Mapping[str, str],
    policy: TargetPolicy,
    on: dt.date,
) -> Target:
    best: dict[str, tuple[float, _Hit]] = {}
    for hit in hits:
        value = policy.person_priority(hit.exposure, hit.last_contact, hit.score, on)
        if hit.person_id not in best or value > best[hit.person_id][0]:
            best[hit.person_id] = (value, hit)
    ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))
    priority = ranked[0][1][0] + policy.per_extra_person * (len(ranked) - 1)
    reasons = []
    for person_id, (_, hit) in ranked:
        when = "date unknown" if hit.last_contact is None else hit.last_contact.isoformat()
        how = MatchPass(hit.match_pass)
        reasons.append(
            f"{person_id}: {hit.exposure}, {when}, list {hit.source}, "
            f"pass {how.number} {how.value} (score {hit.score:.2f})"
        )
    dates = [h.last_contact for h in hits if h.last_contact is not None]
    return Target(
        id=target_id(household),
        household_id=household,
        grid_id=grids.get(hits[0].area_id),
        priority=round(priority, 2),
        persons=[p for p, _ in ranked],
        sources=sorted({h.source for h in hits}),
        reasons=reasons,
        last_contact=max(dates) if dates else None,
    )


def ranked_targets(
    ws: Workspace, grid: str | None = None, *, limit: int | None = None
) -> list[Target]:
    """Targets in visiting order (priority, then household id), of one grid or all.

    Only the targets inside the principal's scope, for a role that reads
    targeting records; the read is audited.
    """
    found = _stored_targets(ws, grid, limit if ws.guard.everywhere else None)
    inside = ws.visible("targeting.read", Target, {t.id for t in found})
    kept = [t for t in found if t.id in inside]
    return kept if limit is None else kept[:limit]


def _stored_targets(ws: Workspace, grid: str | None, limit: int | None) -> list[Target]:
    spec = spec_for(Target)
    with ws._transaction(write=False) as uow:
        if ws.dialect.sqlite_sql:
            cols = ", ".join(f'"{c}"' for c in spec.column_names)
            where, params = ("WHERE grid_id = ? ", [grid]) if grid is not None else ("", [])
            tail = "" if limit is None else f" LIMIT {int(limit)}"
            rows = uow.query(
                f"SELECT {cols} FROM targets {where}ORDER BY priority DESC, household_id{tail}",
                params,
            )
            return [spec.decode(r) for r in rows]
        found = list(uow.find(Target, where=None if grid is None else {"grid_id": grid}))
    found.sort(key=lambda t: (-t.priority, t.household_id))
    return found if limit is None else found[:limit]


def targets_for_planner(ws: Workspace, grid: str | None = None) -> list[str]:
    """Household ids to visit first, highest priority first.

    The sweep planner takes them as priority visits:
    ``Sweep(ws).plan(shifts, targets=targets_for_planner(ws))`` puts their
    stairwells first; :func:`planner_priorities` keeps their order too.
    """
    return [t.household_id for t in ranked_targets(ws, grid)]


def planner_priorities(ws: Workspace, grid: str | None = None) -> dict[str, int]:
    """Household id -> a whole-number priority (at least 1, higher first) for the sweep planner.

    ``Sweep(ws).plan(shifts, targets=planner_priorities(ws))``: stairwells
    holding a higher-priority target are walked earlier.
    """
    return {t.household_id: max(1, round(t.priority)) for t in ranked_targets(ws, grid)}
