"""Access control: what each role may read and write, and where (its jurisdiction).

A :class:`~gridguard.security.principal.Principal` has a role and a scope: an area
subtree (a district, a community, one grid) or, for a building observer, one
building. :data:`PERMISSIONS` says which *categories* of records a role may
read or write; :class:`Guard` says whether given records lie inside the
principal's scope. The workspace asks both before every read and write, and
workflows that work on the store directly ask through
:meth:`gridguard.Workspace.authorize`.

Scope checks are set-based: a batch of 5,000 visits costs one look-up per
level of the place tree and 500 ids, not one per visit. A scope at community
level or above is decided by the ``jurisdiction`` column every row carries
(and pushed down into the query when reading); a narrower one (a grid, a
building) walks up the place tree, remembering what it has seen.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import attrs

from ..errors import AccessDenied
from ..model import Area, AreaLevel, Building, Campaign, Category, storing_of
from ..storage.base import UnitOfWork
from ..storage.dialect import SqlDialect
from ..storage.schema import spec_for
from .principal import Principal, Role

__all__ = [
    "OPERATIONS",
    "PERMISSIONS",
    "PERSONAL",
    "Category",
    "Guard",
    "Scope",
    "Verb",
    "category_of",
    "denied",
    "register_operation",
    "target_of",
]


class Verb(enum.StrEnum):
    """What a principal does to records: read them or write them."""

    READ = "read"
    WRITE = "write"


PERSONAL = frozenset({Category.HOUSEHOLD, Category.PERSON, Category.HEALTH, Category.TARGETING})
"""Categories whose every read goes into the audit log (a person or household file)."""


def category_of(cls: type[Any]) -> Category:
    """The category of records of ``cls``: the one it declares with
    :func:`~gridguard.model.stored` (:attr:`~gridguard.model.Category.OTHER`
    when it declares none)."""
    declared = storing_of(cls)
    return Category.OTHER if declared is None else declared.category


_R = frozenset({Verb.READ})
_W = frozenset({Verb.WRITE})
_RW = frozenset({Verb.READ, Verb.WRITE})
_ALL = dict.fromkeys(Category, _RW)


def _grant(**grants: frozenset[Verb]) -> Mapping[Category, frozenset[Verb]]:
    return {Category(k): v for k, v in grants.items()}


PERMISSIONS: Mapping[Role, Mapping[Category, frozenset[Verb]]] = {
    Role.ADMIN: _ALL,
    Role.COMMUNITY_SECRETARY: {
        c: _RW for c in Category if c not in (Category.HEALTH, Category.AUDIT)
    },
    Role.COMMUNITY_DOCTOR: {
        **{c: _RW for c in Category if c is not Category.AUDIT},
        Category.TEAM: _R,
        Category.CAMPAIGN: _R,
    },
    Role.GRID_WORKER: _grant(
        place=_R,
        household=_RW,
        person=_RW,
        team=_R,
        campaign=_R,
        visit=_RW,
        health=_W,
        check_in=_RW,
        service=_RW,
        task=_RW,
        targeting=_R,
    ),
    Role.TEAM_MEMBER: _grant(
        place=_R, household=_R, person=_R, team=_R, campaign=_R, visit=_RW, health=_W, task=_R
    ),
    Role.BUILDING_OBSERVER: _grant(place=_R, check_in=_RW),
    Role.SERVICE_VOLUNTEER: _grant(place=_R, household=_R, campaign=_R, service=_RW),
    Role.AUDITOR: {c: _R for c in Category if c is not Category.HEALTH},
}
"""What each role may do, per category, inside its scope.

Health details are read by medical roles only (admin, community doctor);
grid workers and team members *record* screening answers at the door but
cannot read them back. A building observer sees her building and its
check-ins, and files check-ins; an auditor reads all but health details, and
the audit log.
"""


OPERATIONS: dict[str, tuple[tuple[Verb, Category], ...]] = {
    "sweep.record": ((Verb.WRITE, Category.VISIT), (Verb.WRITE, Category.HEALTH)),
    "rules.screen": (
        (Verb.READ, Category.HEALTH),
        (Verb.WRITE, Category.HEALTH),
        (Verb.WRITE, Category.TASK),
    ),
    "targeting.import": ((Verb.WRITE, Category.PLACE), (Verb.WRITE, Category.PERSON)),
    "targeting.match": ((Verb.READ, Category.PERSON), (Verb.WRITE, Category.TARGETING)),
    "targeting.unmask": ((Verb.READ, Category.HOUSEHOLD), (Verb.READ, Category.TARGETING)),
    "sweep.follow_up": ((Verb.READ, Category.HOUSEHOLD), (Verb.READ, Category.VISIT)),
    "targeting.read": ((Verb.READ, Category.TARGETING),),
    "targeting.review": ((Verb.READ, Category.TARGETING),),
    "targeting.compute": (
        (Verb.READ, Category.PERSON),
        (Verb.READ, Category.TARGETING),
        (Verb.WRITE, Category.TARGETING),
    ),
    "notify.enqueue": ((Verb.WRITE, Category.OUTBOX),),
    "notify.digest": ((Verb.READ, Category.VISIT), (Verb.WRITE, Category.OUTBOX)),
    "notify.dispatch": ((Verb.READ, Category.OUTBOX), (Verb.WRITE, Category.OUTBOX)),
    "notify.configure": ((Verb.WRITE, Category.OUTBOX),),
    "retention.purge": tuple(
        (Verb.WRITE, c)
        for c in (
            Category.HOUSEHOLD,
            Category.PERSON,
            Category.HEALTH,
            Category.VISIT,
            Category.TARGETING,
        )
    ),
    "retention.dry_run": tuple(
        (Verb.READ, c) for c in (Category.HOUSEHOLD, Category.PERSON, Category.HEALTH)
    ),
    "audit.read": ((Verb.READ, Category.AUDIT),),
    "tasks.close": ((Verb.WRITE, Category.TASK),),
    "tasks.assign": ((Verb.WRITE, Category.TASK), (Verb.READ, Category.TEAM)),
    "watch.checkin": ((Verb.WRITE, Category.CHECK_IN),),
    "watch.point_report": ((Verb.WRITE, Category.CHECK_IN),),
    "watch.point": ((Verb.WRITE, Category.PLACE),),
    "watch.observer": ((Verb.WRITE, Category.PLACE), (Verb.READ, Category.PERSON)),
    "watch.coverage": ((Verb.READ, Category.PLACE),),
    "watch.missing": ((Verb.READ, Category.PLACE), (Verb.READ, Category.CHECK_IN)),
    "watch.escalate": (
        (Verb.READ, Category.PLACE),
        (Verb.READ, Category.CHECK_IN),
        (Verb.WRITE, Category.OUTBOX),
    ),
    "quarantine.order": ((Verb.READ, Category.HEALTH), (Verb.WRITE, Category.HEALTH)),
    "quarantine.report": (
        (Verb.READ, Category.HEALTH),
        (Verb.WRITE, Category.HEALTH),
        (Verb.WRITE, Category.TASK),
    ),
    "quarantine.check": (
        (Verb.READ, Category.HEALTH),
        (Verb.WRITE, Category.TASK),
    ),
    "quarantine.extend": ((Verb.READ, Category.HEALTH), (Verb.WRITE, Category.HEALTH)),
    "quarantine.release": ((Verb.READ, Category.HEALTH), (Verb.WRITE, Category.HEALTH)),
    "quarantine.census": ((Verb.READ, Category.VISIT),),
    "service.request": ((Verb.WRITE, Category.SERVICE),),
    "service.assign": ((Verb.READ, Category.SERVICE), (Verb.WRITE, Category.SERVICE)),
    "service.done": ((Verb.READ, Category.SERVICE), (Verb.WRITE, Category.SERVICE)),
    "service.read": ((Verb.READ, Category.SERVICE),),
}
"""What each workflow operation needs, for :meth:`~gridguard.Workspace.authorize`.

The building watch files check-ins and monitoring-point reports (check-in
writers: observers for their building, grid workers, the community);
quarantine orders, health reports, the missed-report check, extension and
release are for medical roles; the census counts (whoever reads visits
counts quarantines in their scope, as :meth:`~gridguard.Workspace.count`
does); service requests are asked, assigned and done by service volunteers
and the community roles.

An operation not listed needs write access to :attr:`~gridguard.model.Category.OTHER`
(administrators and community secretaries); :func:`register_operation`
declares one.
"""


def register_operation(name: str, needs: Iterable[tuple[Verb, Category]]) -> None:
    """Declare what the workflow operation ``name`` needs (a plugin's own workflow)."""
    OPERATIONS[name] = tuple((Verb(v), Category(c)) for v, c in needs)


def target_of(cls: type[Any], ids: Collection[str] = ()) -> str:
    """How a target is named in messages and the audit log (``Person:p1``, ``Visit x5``)."""
    if len(ids) == 1:
        return f"{cls.__name__}:{next(iter(ids))}"
    if ids:
        return f"{cls.__name__} x{len(ids)}"
    return cls.__name__


def denied(principal: Principal, action: str, target: str, why: str) -> AccessDenied:
    """The error for a refused operation: who, what action, on what, and why."""
    return AccessDenied(f"{principal} may not {action} {target}: {why}")


@attrs.frozen(kw_only=True)
class Scope:
    """The records a principal may reach, resolved against the stored place tree."""

    everywhere: bool
    areas: frozenset[str] = frozenset()
    """The area subtree (empty for a building observer)."""
    jurisdictions: frozenset[str] = frozenset()
    """Communities (and areas above them) whose rows may lie in scope."""
    fine: bool = False
    """Narrower than its jurisdictions (a grid, a building): rows are checked one place up."""
    building_id: str | None = None
    above: frozenset[str] = frozenset()
    """Areas above the scope (her community, district, city): their names may be read."""

    @classmethod
    def resolve(cls, principal: Principal, uow: UnitOfWork) -> Scope:
        """The scope of ``principal`` in the store as it is now."""
        if principal.area_id is None and principal.building_id is None:
            return cls(everywhere=True)
        children: dict[str, list[Area]] = {}
        parents: dict[str, str | None] = {}
        root: Area | None = None
        for area in uow.find(Area):
            children.setdefault(area.parent_id or "", []).append(area)
            parents[area.id] = area.parent_id
            if area.id == principal.area_id:
                root = area

        def lineage(start: str | None) -> frozenset[str]:
            seen: list[str] = []
            while start is not None and start in parents and start not in seen:
                seen.append(start)
                start = parents[start]
            return frozenset(seen)

        if principal.building_id is not None:
            owner = uow.jurisdiction_of(Building, principal.building_id)
            building = uow.get(Building, principal.building_id)
            return cls(
                everywhere=False,
                jurisdictions=frozenset({owner} if owner else ()),
                fine=True,
                building_id=principal.building_id,
                above=lineage(None if building is None else building.area_id),
            )
        if root is None:
            return cls(everywhere=False)
        subtree, stack = [root], [root]
        while stack:
            kids = children.get(stack.pop().id, [])
            subtree += kids
            stack += kids
        community = AreaLevel.COMMUNITY.rank
        if root.level.rank <= community:
            juris = frozenset(a.id for a in subtree if a.level.rank <= community)
            fine = False
        else:
            owner = uow.jurisdiction_of(Area, root.id)
            juris, fine = frozenset({owner} if owner else ()), True
        return cls(
            everywhere=False,
            areas=frozenset(a.id for a in subtree),
            jurisdictions=juris,
            fine=fine,
            above=lineage(root.parent_id),
        )


_CHUNK = 500


def _unscoped(cls: type[Any]) -> bool:
    """Reference data outside the place tree: campaigns and their runs."""
    spec = spec_for(cls)
    while spec.parent is not None:
        if spec.parent.target is Campaign:
            return True
        if spec.parent.target is spec.cls:
            return False
        spec = spec_for(spec.parent.target)
    return spec.cls is Campaign


@attrs.define
class Guard:
    """Decides, for one principal, whether records lie in scope.

    Holds the resolved :class:`Scope` and what it learnt about records'
    places; :meth:`forget` drops both after the place tree changed.
    """

    principal: Principal
    dialect: SqlDialect
    _scope: Scope | None = None
    _inside: dict[tuple[type[Any], str], bool] = attrs.field(factory=dict)

    def forget(self) -> None:
        """Drop the cached scope and places (the registry changed)."""
        self._scope = None
        self._inside.clear()

    def begin(self) -> None:
        """A new transaction: forget where records were (others may have moved them)."""
        self._inside.clear()

    def scope(self, uow: UnitOfWork) -> Scope:
        if self._scope is None:
            self._scope = Scope.resolve(self.principal, uow)
        return self._scope

    @property
    def everywhere(self) -> bool:
        """True for an unscoped principal (no look-ups at all)."""
        return self.principal.area_id is None and self.principal.building_id is None

    # -- permissions --------------------------------------------------------------------

    def permitted(self, verb: Verb, cls: type[Any]) -> bool:
        """Whether the role may ``verb`` records of ``cls`` at all (scope aside)."""
        return verb in PERMISSIONS[self.principal.role].get(category_of(cls), frozenset())

    # -- scope of stored records ------------------------------------------------------------

    def _lookup(
        self, uow: UnitOfWork, cls: type[Any], column: str, ids: Sequence[str]
    ) -> dict[str, Any]:
        """``id -> column`` for the stored ``ids`` (one query per 500 ids on SQL backends)."""
        spec = spec_for(cls)
        found: dict[str, Any] = {}
        if self.dialect.runs_sql:
            mark = self.dialect.placeholder
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                marks = ", ".join(mark for _ in chunk)
                sql = f'SELECT id, "{column}" FROM {spec.table} WHERE id IN ({marks})'
                found.update((str(i), v) for i, v in uow.query(sql, chunk))
            return found
        for id in ids:
            if column == "jurisdiction":
                value = uow.jurisdiction_of(cls, id)
                if value is not None:
                    found[id] = value
            else:
                record = uow.get(cls, id)
                if record is not None:
                    found[id] = spec.encode_value(column, getattr(record, column))
        return found

    def outside(self, uow: UnitOfWork, cls: type[Any], ids: Iterable[str]) -> set[str]:
        """The stored records of ``cls`` among ``ids`` that lie outside the scope.

        Ids that are not stored are not reported (the store reports them).
        """
        wanted = {str(i) for i in ids}
        if self.everywhere or not wanted:
            return set()
        scope = self.scope(uow)
        if cls is Area:
            return wanted - scope.areas
        if cls is Building and scope.building_id is not None:
            return wanted - {scope.building_id}
        if _unscoped(cls):
            return set()
        spec = spec_for(cls)
        if spec.parent is None:
            return wanted
        todo = sorted(i for i in wanted if (cls, i) not in self._inside)
        if todo:
            if scope.fine:
                column, parent_cls = spec.parent.column, spec.parent.target
                parents = self._lookup(uow, cls, column, todo)
                bad = self.outside(uow, parent_cls, {p for p in parents.values() if p})
                for id, parent in parents.items():
                    self._inside[(cls, id)] = bool(parent) and parent not in bad
            else:
                owners = self._lookup(uow, cls, "jurisdiction", todo)
                for id, owner in owners.items():
                    self._inside[(cls, id)] = owner in scope.jurisdictions
        return {i for i in wanted if not self._inside.get((cls, i), True)}

    def unreadable(self, uow: UnitOfWork, cls: type[Any], ids: Iterable[str]) -> set[str]:
        """Like :meth:`outside`, for reading: the areas above the scope may be read too."""
        if cls is Area and not self.everywhere:
            scope = self.scope(uow)
            return {str(i) for i in ids} - scope.areas - scope.above
        return self.outside(uow, cls, ids)

    def jurisdictions(self, uow: UnitOfWork, cls: type[Any]) -> frozenset[str] | None:
        """The ``jurisdictions`` filter to push into a query of ``cls`` (``None``: no filter)."""
        if self.everywhere or cls is Area or _unscoped(cls) or spec_for(cls).parent is None:
            return None
        return self.scope(uow).jurisdictions

    def filter(self, uow: UnitOfWork, cls: type[Any], records: list[Any]) -> list[Any]:
        """``records`` of ``cls`` (read with :meth:`jurisdictions`) that may be read."""
        if self.everywhere or not records or (cls is not Area and not self.scope(uow).fine):
            return records
        spec = spec_for(cls)
        bad = self.unreadable(uow, cls, {spec.key(r) for r in records})
        return [r for r in records if spec.key(r) not in bad]

    # -- scope of records about to be written -------------------------------------------------

    def outside_new(self, uow: UnitOfWork, cls: type[Any], records: Sequence[Any]) -> list[int]:
        """Positions in ``records`` (all of ``cls``) that would be written outside the scope.

        A record is inside when its parent is (a new area: its parent, or it
        is the scope's root); a stored registry entry must also be inside
        already, so nobody moves a file out of someone else's scope.
        """
        if self.everywhere or not records:
            return []
        scope = self.scope(uow)
        spec = spec_for(cls)
        bad_positions: list[int] = []
        if cls is Campaign:
            for n, campaign in enumerate(records):
                if scope.building_id is not None or not set(campaign.scope) <= scope.areas:
                    bad_positions.append(n)
            return bad_positions
        if cls is Area:
            # Parents come first, so a new subtree under the scope is inside as a whole;
            # an area stored elsewhere cannot be moved in.
            elsewhere = uow.existing_ids(Area, {a.id for a in records} - scope.areas)
            inside = set(scope.areas)
            for n, area in sorted(enumerate(records), key=lambda pair: pair[1].level.rank):
                if area.id not in elsewhere and (area.id in inside or area.parent_id in inside):
                    inside.add(area.id)
                else:
                    bad_positions.append(n)
            return sorted(bad_positions)
        if spec.parent is None:
            return list(range(len(records)))
        column, parent_cls = spec.parent.column, spec.parent.target
        parent_ids = [
            p if p is None or isinstance(p, str) else str(p)
            for p in (getattr(r, column) for r in records)
        ]
        bad_parents = self.outside(uow, parent_cls, {p for p in parent_ids if p is not None})
        if bad_parents or None in parent_ids:
            bad_positions = [n for n, p in enumerate(parent_ids) if p is None or p in bad_parents]
        if not spec.is_fact:
            stored_bad = self.outside(uow, cls, {spec.key(r) for r in records})
            if stored_bad:
                bad_positions = sorted(
                    {
                        *bad_positions,
                        *(n for n, r in enumerate(records) if spec.key(r) in stored_bad),
                    }
                )
        if scope.building_id is not None and parent_cls is not Building:
            return list(range(len(records)))
        return bad_positions
