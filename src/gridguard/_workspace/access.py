"""The access gate: a workspace's checks of role and scope, each refusal audited.

Every read and write of a :class:`~gridguard.workspace.Workspace` and every
workflow run passes the gate first. The role's permissions come from
:data:`gridguard.security.access.PERMISSIONS` and
:data:`~gridguard.security.access.OPERATIONS`; whether records lie inside the
principal's scope from its :class:`~gridguard.security.access.Guard`, with
set-based look-ups so that a batch costs a few queries whatever its size.
A refusal raises :class:`~gridguard.errors.AccessDenied` and leaves an
audit entry; an allowed workflow run leaves one too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from ..errors import AccessDenied
from ..model import Area, Building, Campaign
from ..security.access import (
    OPERATIONS,
    PERMISSIONS,
    Category,
    Guard,
    Verb,
    category_of,
    denied,
    target_of,
)
from ..security.principal import Principal
from ..storage.base import UnitOfWork
from ..storage.capabilities import Within
from ..storage.schema import spec_for
from .audit import AuditRecorder

__all__ = ["WHOLE_STORE", "AccessGate"]

WHOLE_STORE = "*"
"""The ``Workspace.authorize`` target of a workflow that is not limited to a scope."""


class AccessGate:
    """Checks what one principal may do, before the workspace does it.

    ``read`` opens a read transaction of the workspace (or joins the open
    one), for checks that must look at stored records.
    """

    def __init__(
        self,
        principal: Principal,
        guard: Guard,
        audit: AuditRecorder,
        read: Callable[[], AbstractContextManager[UnitOfWork]],
    ) -> None:
        self.principal = principal
        self.guard = guard
        self.audit = audit
        self._read = read

    def deny(self, action: str, target: str, why: str) -> AccessDenied:
        """The error for a refused operation; the refusal is audited even though it rolls back."""
        self.audit.refused(action, target, why)
        return denied(self.principal, action, target, why)

    # -- permissions of the role ------------------------------------------------------------

    def authorize_write(self) -> None:
        """Refuse a write transaction to a role that writes nothing."""
        if not self.principal.role.can_write:
            raise self.deny("write", "the store", "this role writes nothing")

    def require(self, verb: Verb, cls: type[Any], target: str) -> None:
        """Refuse unless the role may ``verb`` records of ``cls`` at all (scope aside).

        The audit log covers the whole store: only an unscoped principal reads it.
        """
        if category_of(cls) is Category.AUDIT and not self.guard.everywhere:
            raise self.deny(
                verb.value,
                target,
                "the audit log covers the whole store: for an unscoped principal",
            )
        if not self.guard.permitted(verb, cls):
            category = category_of(cls).value
            raise self.deny(
                verb.value,
                target,
                f"a {self.principal.role.value} has no {verb.value} access to {category} records",
            )

    def may_count(self, cls: type[Any]) -> bool:
        """Whether the role may count records of ``cls`` (a count discloses no file)."""
        if self.guard.permitted(Verb.READ, cls):
            return True
        visits = PERMISSIONS[self.principal.role].get(Category.VISIT, frozenset())
        return category_of(cls) is Category.HEALTH and Verb.READ in visits

    def permit(self, action: str, name: str) -> None:
        """Refuse (and audit) the workflow ``action`` if the role lacks what the operation needs."""
        needs = OPERATIONS.get(action, ((Verb.WRITE, Category.OTHER),))
        role = self.principal.role
        for verb, category in needs:
            if verb not in PERMISSIONS[role].get(category, frozenset()):
                raise self.deny(
                    action,
                    name,
                    f"a {role.value} has no {verb.value} access to {category.value} records",
                )
        if any(verb is Verb.WRITE for verb, _ in needs) and not role.can_write:
            raise self.deny(action, name, "this role writes nothing")

    # -- scope of records about to be written ------------------------------------------------

    def check_new(
        self,
        uow: UnitOfWork,
        cls: type[Any],
        records: Sequence[Any],
        offset: int,
        batch: Mapping[type[Any], set[str]] | None = None,
    ) -> None:
        """Refuse the batch if any record of ``cls`` would be written outside the scope.

        ``batch`` holds the ids of the records written with them (a new
        stairwell and its households): a parent among them is known.
        """
        self.require(Verb.WRITE, cls, target_of(cls, [str(r.id) for r in records[:2]]))
        if self.guard.everywhere:
            return
        self._refuse_outside(
            uow, cls, records, [offset + n for n in range(len(records))], "write", batch or {}
        )

    def check_facts(
        self, uow: UnitOfWork, cls: type[Any], facts: Sequence[Any], positions: Sequence[int]
    ) -> None:
        """Refuse the batch if any fact of ``cls`` (at ``positions`` of the input) lies outside."""
        self.require(Verb.WRITE, cls, target_of(cls, [str(f.id) for f in facts[:2]]))
        self._refuse_outside(uow, cls, facts, positions, "write", {})

    def _refuse_outside(
        self,
        uow: UnitOfWork,
        cls: type[Any],
        records: Sequence[Any],
        positions: Sequence[int],
        action: str,
        batch: Mapping[type[Any], set[str]],
    ) -> None:
        bad = sorted(
            {
                *self.guard.outside_new(uow, cls, records),
                *_unknown_parents(uow, cls, records, batch),
            }
        )
        if bad:
            raise self.deny(
                action,
                target_of(cls, [str(records[bad[0]].id)]),
                f"$[{positions[bad[0]]}] lies outside {self.principal.scope}"
                + (f" ({len(bad)} records in all)" if len(bad) > 1 else ""),
            )

    def check_rows(
        self, uow: UnitOfWork, cls: type[Any], rows: Sequence[Sequence[Any]], offset: int
    ) -> None:
        """Scope check of encoded rows: by their parent column, one look-up per batch."""
        spec = spec_for(cls)
        names = spec.column_names
        if spec.parent is None or cls is Area:
            records = [spec.decode(r) for r in rows]
            bad = self.guard.outside_new(uow, cls, records)
        else:
            at = names.index(spec.parent.column)
            parents = [None if r[at] is None else str(r[at]) for r in rows]
            wanted = {p for p in parents if p is not None}
            outside = self.guard.outside(uow, spec.parent.target, wanted)
            if not self.guard.everywhere:  # an unknown parent looks like one outside
                outside |= wanted - uow.existing_ids(spec.parent.target, wanted)
            bad = [n for n, p in enumerate(parents) if p is None or p in outside]
            if not bad and not spec.is_fact:
                stored = self.guard.outside(uow, cls, {str(r[0]) for r in rows})
                bad = [n for n, r in enumerate(rows) if str(r[0]) in stored]
            if not bad and self.guard.scope(uow).building_id is not None:
                bad = [] if spec.parent.target is Building else list(range(len(rows)))
        if bad:
            raise self.deny(
                "load",
                target_of(cls, [str(rows[bad[0]][0])]),
                f"row {offset + bad[0]} lies outside {self.principal.scope}",
            )

    # -- workflow runs ----------------------------------------------------------------------

    def authorize(self, action: str, target: Any = None) -> None:
        """See :meth:`gridguard.Workspace.authorize`."""
        name = _target_name(target)
        self.permit(action, name)
        if target == WHOLE_STORE and not self.guard.everywhere:
            raise self.deny(action, name, f"it reaches beyond {self.principal.scope}")
        if target is not None and target != WHOLE_STORE and not self.guard.everywhere:
            with self._read() as uow:
                inside = self._target_inside(uow, target)
            if not inside:
                raise self.deny(action, name, f"outside {self.principal.scope}")
        self.audit.allowed(action, name)

    def authorize_records(self, action: str, cls: type[Any], ids: Iterable[str]) -> None:
        """See :meth:`gridguard.Workspace.authorize_records`."""
        wanted = sorted({str(i) for i in ids})
        name = target_of(cls, wanted)
        self.permit(action, name)
        if wanted and not self.guard.everywhere:
            with self._read() as uow:
                outside = self.guard.outside(uow, cls, wanted)
                # an id that is not stored gets the answer of one outside: no existence oracle
                outside |= set(wanted) - uow.existing_ids(cls, set(wanted))
            if outside:
                first = min(outside)
                raise self.deny(
                    action,
                    target_of(cls, [first]),
                    f"outside {self.principal.scope}"
                    + (f" ({len(outside)} records in all)" if len(outside) > 1 else ""),
                )
        self.audit.allowed(action, name, len(wanted) or 1)

    def visible(self, action: str, cls: type[Any], ids: Iterable[str]) -> set[str]:
        """See :meth:`gridguard.Workspace.visible`."""
        self.permit(action, target_of(cls))
        inside = self.in_scope(cls, ids)
        self.audit.allowed(action, target_of(cls, sorted(inside)), len(inside) or 1)
        return inside

    def authorize_known(self, action: str, cls: type[Any], ids: Iterable[str]) -> None:
        """See :meth:`gridguard.Workspace.authorize_known`."""
        wanted = sorted({str(i) for i in ids})
        name = target_of(cls, wanted)
        self.permit(action, name)
        if wanted and not self.guard.everywhere:
            with self._read() as uow:
                bad = set(wanted) - uow.existing_ids(cls, set(wanted))
                bad |= self.guard.outside(uow, cls, set(wanted) - bad)
            if bad:
                raise self.deny(
                    action,
                    target_of(cls, [min(bad)]),
                    f"unknown or outside {self.principal.scope}",
                )
        self.audit.allowed(action, name, len(wanted) or 1)

    def in_scope(self, cls: type[Any], ids: Iterable[str]) -> set[str]:
        """See :meth:`gridguard.Workspace.in_scope`."""
        wanted = {str(i) for i in ids}
        if self.guard.everywhere or not wanted:
            return wanted
        with self._read() as uow:
            return wanted - self.guard.outside(uow, cls, wanted)

    def scope_jurisdictions(self, cls: type[Any]) -> frozenset[str] | None:
        """See :meth:`gridguard.Workspace.scope_jurisdictions`."""
        with self._read() as uow:
            return self.guard.jurisdictions(uow, cls)

    def read_filter(
        self, uow: UnitOfWork, cls: type[Any]
    ) -> tuple[frozenset[str] | None, Within | None] | None:
        """The scope of a read of ``cls`` as filters a query applies: ``(jurisdictions, within)``.

        ``None`` when the principal can read no record of ``cls`` at all in
        her scope. The same records pass as through :meth:`Guard.filter
        <gridguard.security.access.Guard.filter>` after a find, but the
        database applies the filter, so a page reads only its own rows: a
        fine scope (a grid, a building) keeps the rows whose chain of
        parents reaches its areas or its building.
        """
        if self.guard.everywhere:
            return None, None
        scope = self.guard.scope(uow)
        if cls is Area:
            return None, Within(Area, scope.areas | scope.above)
        juris = self.guard.jurisdictions(uow, cls)
        if juris is None:
            if spec_for(cls).parent is None and cls is not Campaign:
                return None
            return None, None
        if not scope.fine:
            return juris, None
        if scope.building_id is not None:
            return juris, Within(Building, {scope.building_id})
        return juris, Within(Area, scope.areas)

    def _target_inside(self, uow: UnitOfWork, target: Any) -> bool:
        if isinstance(target, str):
            return not self.guard.outside(uow, Area, {target})
        cls = type(target)
        spec_for(cls)
        if uow.existing_ids(cls, {str(target.id)}) and self.guard.outside(
            uow, cls, {str(target.id)}
        ):
            return False
        return not self.guard.outside_new(uow, cls, [target])


def _unknown_parents(
    uow: UnitOfWork, cls: type[Any], records: Sequence[Any], batch: Mapping[type[Any], set[str]]
) -> list[int]:
    """Positions of ``records`` whose parent is neither stored nor written with them.

    A scoped principal gets the same refusal for such a record as for one
    outside her scope, so that a write does not tell her what is stored
    elsewhere.
    """
    spec = spec_for(cls)
    if spec.parent is None or cls is Area:
        return []
    column, parent_cls = spec.parent.column, spec.parent.target
    parents = [getattr(r, column) for r in records]
    wanted = {str(p) for p in parents if p is not None} - batch.get(parent_cls, set())
    known = uow.existing_ids(parent_cls, wanted) if wanted else set()
    missing = wanted - {str(k) for k in known}
    return [n for n, p in enumerate(parents) if p is not None and str(p) in missing]


def _target_name(target: Any) -> str:
    """How the audit log names a workflow's target."""
    if target is None:
        return "own scope"
    if target == WHOLE_STORE:
        return "the whole store"
    if isinstance(target, str):
        return f"area:{target}"
    return target_of(type(target), [str(target.id)])
