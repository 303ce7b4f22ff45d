"""Records: a workspace's reads and batched writes of registry entries and facts.

Writes go in batches (``executemany``) inside one transaction, so a batch
is wholly in or wholly out, and a bad record is reported at its position
``$[i]`` in the input. Every call passes the
:class:`~gridguard._workspace.access.AccessGate` first and leaves one audit
entry, not one per row, so bulk paths stay fast.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from ..errors import NotFoundError, ValidationError, Violation
from ..masking import mask_text
from ..model import FACT_TYPES, REGISTRY_TYPES, Area, CompositionPolicy, Team
from ..security.access import PERSONAL, Guard, Verb, category_of, target_of
from ..storage.base import SaveResult, UnitOfWork
from ..storage.capabilities import KeysetPaging
from ..storage.schema import spec_for
from .access import AccessGate
from .audit import AuditRecorder

__all__ = ["DEFAULT_BATCH", "Progress", "Records"]

T = TypeVar("T")

DEFAULT_BATCH = 5000
"""Rows per ``executemany``: large enough to amortise, small enough for steady memory."""

Progress = Callable[[int], None]
"""Called with the number of rows just written, for progress bars."""


class Records:
    """Reads and writes of stored records, each checked by ``gate`` and audited.

    ``transaction`` opens a transaction of the workspace (or joins the open
    one); ``composition_policy`` gives the team-composition policy in force
    (the workspace's, which its holder may change).
    """

    def __init__(
        self,
        gate: AccessGate,
        transaction: Callable[..., AbstractContextManager[UnitOfWork]],
        composition_policy: Callable[[], CompositionPolicy],
    ) -> None:
        self.gate = gate
        self._transaction = transaction
        self._composition_policy = composition_policy

    @property
    def guard(self) -> Guard:
        return self.gate.guard

    @property
    def audit(self) -> AuditRecorder:
        return self.gate.audit

    def _read(self) -> AbstractContextManager[UnitOfWork]:
        return self._transaction(write=False)

    # -- writes -----------------------------------------------------------------------------

    def add(
        self, records: Iterable[Any], *, batch_size: int, progress: Progress | None
    ) -> SaveResult:
        """See :meth:`gridguard.Workspace.add`."""
        total = SaveResult()
        kinds: set[type[Any]] = set()
        with self._transaction() as uow:
            for offset, chunk in _enumerate_chunks(records, batch_size):
                total += self._add_chunk(uow, chunk, offset)
                kinds.update(type(r) for r in chunk)
                if progress:
                    progress(len(chunk))
            if kinds:
                self.audit.allowed("write", _kinds_name(kinds), total.total)
        if kinds:
            self.guard.forget()
        return total

    def _add_chunk(self, uow: UnitOfWork, chunk: Sequence[Any], offset: int) -> SaveResult:
        groups: dict[type[Any], list[tuple[int, Any]]] = defaultdict(list)
        for n, record in enumerate(chunk):
            if type(record) not in REGISTRY_TYPES:
                raise ValidationError.single(
                    f"$[{offset + n}]",
                    type(record).__name__,
                    "not a registry entry (use record() for facts)",
                )
            groups[type(record)].append((n, record))
        self._check_registry(uow, groups, offset)
        batch = {cls: {str(r.id) for _, r in pairs} for cls, pairs in groups.items()}
        for cls, pairs in groups.items():
            self.gate.check_new(uow, cls, [r for _, r in pairs], offset, batch)
        result = SaveResult()
        for cls in REGISTRY_TYPES:
            items = groups.get(cls)
            if not items:
                continue
            if cls is Area:
                items.sort(key=lambda pair: pair[1].level.rank)
            positions = [n + offset for n, _ in items]
            try:
                result += uow.put(cls, [r for _, r in items])
            except ValidationError as exc:
                raise exc.at_positions(positions) from None
        return result

    def _check_registry(
        self, uow: UnitOfWork, groups: Mapping[type[Any], list[tuple[int, Any]]], offset: int
    ) -> None:
        """Rules across records: a team's composition, an area below its parent's level."""
        violations: list[Violation] = []
        policy = self._composition_policy()
        for n, team in groups.get(Team, []):
            violations += [v.prefixed(f"$[{offset + n}]") for v in policy.violations(team)]
        areas = groups.get(Area, [])
        if areas:
            levels = {a.id: a.level for _, a in areas}
            for n, area in areas:
                if area.parent_id is None:
                    continue
                parent_level = levels.get(area.parent_id)
                if parent_level is None:
                    parent = uow.get(Area, area.parent_id)
                    parent_level = None if parent is None else parent.level
                if parent_level is not None and parent_level.rank >= area.level.rank:
                    violations.append(
                        Violation(
                            f"$[{offset + n}].level",
                            repr(area.level.value),
                            f"must be below its parent's level ({parent_level.value})",
                        )
                    )
        if violations:
            raise ValidationError(violations)

    def update(self, record: Any, *, expected_version: int) -> int:
        """See :meth:`gridguard.Workspace.update`."""
        cls = type(record)
        with self._transaction() as uow:
            if uow.version(cls, record.id) is None:
                if not self.guard.everywhere:  # the answer for a record outside the scope
                    self.gate.require(Verb.WRITE, cls, target_of(cls, [str(record.id)]))
                    raise self.gate.deny(
                        "write",
                        target_of(cls, [str(record.id)]),
                        f"$[0] lies outside {self.gate.principal.scope}",
                    )
                raise NotFoundError(f"no {cls.__name__} with id {record.id!r}")
            self._check_registry(uow, {cls: [(0, record)]}, 0)
            self.gate.check_new(uow, cls, [record], 0)
            uow.put(cls, [record], expect={record.id: expected_version})
            version = uow.version(cls, record.id)
            self.audit.allowed("update", target_of(cls, [str(record.id)]))
        self.guard.forget()
        assert version is not None
        return version

    def record(
        self, facts: Iterable[Any], *, batch_size: int, progress: Progress | None
    ) -> SaveResult:
        """See :meth:`gridguard.Workspace.record`."""
        total = SaveResult()
        kinds: set[type[Any]] = set()
        with self._transaction() as uow:
            for offset, chunk in _enumerate_chunks(facts, batch_size):
                groups: dict[type[Any], list[int]] = defaultdict(list)
                for n, fact in enumerate(chunk):
                    if type(fact) not in FACT_TYPES:
                        raise ValidationError.single(
                            f"$[{offset + n}]",
                            type(fact).__name__,
                            "not a fact (use add() for registry entries)",
                        )
                    groups[type(fact)].append(n)
                for cls, indexes in groups.items():
                    facts_of = [chunk[i] for i in indexes]
                    kinds.add(cls)
                    if not self.guard.permitted(Verb.WRITE, cls) or not self.guard.everywhere:
                        self.gate.check_facts(uow, cls, facts_of, [offset + i for i in indexes])
                    try:
                        total += uow.save_facts(cls, facts_of)
                    except ValidationError as exc:
                        raise exc.at_positions([offset + i for i in indexes]) from None
                if progress:
                    progress(len(chunk))
            if kinds:
                self.audit.allowed("write", _kinds_name(kinds), total.total)
        return total

    def load_rows(
        self,
        cls: type[Any],
        rows: Iterable[Sequence[Any]],
        *,
        batch_size: int,
        progress: Progress | None,
    ) -> int:
        """See :meth:`gridguard.Workspace.load_rows`."""
        spec = spec_for(cls)
        loaded = 0
        with self._transaction() as uow:
            self.gate.require(Verb.WRITE, cls, cls.__name__)
            for chunk in _chunked(rows, batch_size):
                if not self.guard.everywhere:
                    self.gate.check_rows(uow, cls, chunk, loaded)
                loaded += uow.load_rows(cls, chunk)
                if progress:
                    progress(len(chunk))
            self.audit.allowed("load", cls.__name__, loaded)
        if not spec.is_fact:
            self.guard.forget()
        return loaded

    # -- reads ------------------------------------------------------------------------------

    def get(self, cls: type[T], id: str) -> T:
        """See :meth:`gridguard.Workspace.get`."""
        name = target_of(cls, [str(id)])
        with self._read() as uow:
            self.gate.require(Verb.READ, cls, name)
            found = uow.get(cls, str(id))
            self._refuse_unreadable(uow, cls, id, found is not None)
            if found is not None and category_of(cls) in PERSONAL:
                self.audit.allowed("read", name)
        if found is None:
            raise NotFoundError(f"no {cls.__name__} with id {str(id)!r}")
        return found

    def version(self, cls: type[Any], id: str) -> int:
        """See :meth:`gridguard.Workspace.version`."""
        name = target_of(cls, [str(id)])
        with self._read() as uow:
            self.gate.require(Verb.READ, cls, name)
            found = uow.version(cls, str(id))
            self._refuse_unreadable(uow, cls, id, found is not None)
        if found is None:
            raise NotFoundError(f"no {cls.__name__} with id {str(id)!r}")
        return found

    def _refuse_unreadable(self, uow: UnitOfWork, cls: type[Any], id: str, stored: bool) -> None:
        """Refuse the read of the record ``id`` if it lies outside the scope.

        A scoped principal gets the same refusal for a record that is not
        stored at all (``unknown or outside``): no existence oracle. The
        system principal gets a :class:`~gridguard.errors.NotFoundError`.
        """
        if self.guard.everywhere:
            return
        if not stored or self.guard.unreadable(uow, cls, {str(id)}):
            raise self.gate.deny(
                "read", target_of(cls, [str(id)]), f"unknown or outside {self.gate.principal.scope}"
            )

    def find(self, cls: type[T], where: Mapping[str, Any]) -> list[T]:
        """See :meth:`gridguard.Workspace.find`."""
        with self._read() as uow:
            self.gate.require(Verb.READ, cls, cls.__name__)
            juris = self.guard.jurisdictions(uow, cls)
            found = self.guard.filter(
                uow, cls, list(uow.find(cls, where=where, jurisdictions=juris))
            )
            if found and category_of(cls) in PERSONAL:
                self.audit.allowed("read", _where_name(cls, where, found), len(found))
        return found

    def page(
        self,
        cls: type[T],
        where: Mapping[str, Any],
        *,
        after: str | None,
        limit: int,
        since: dt.datetime | None,
        until: dt.datetime | None,
    ) -> tuple[list[T], str | None]:
        """See :meth:`gridguard.Workspace.page`: the page's records and the next cursor."""
        if limit < 1:
            raise ValidationError.single("$.limit", repr(limit), "must be at least 1")
        if (since is not None or until is not None) and "at" not in spec_for(cls).column_names:
            raise ValidationError.single(
                "$.since", cls.__name__, "only facts (records with an `at`) have a time"
            )
        with self._read() as uow:
            self.gate.require(Verb.READ, cls, cls.__name__)
            scope = self.gate.read_filter(uow, cls)
            if scope is None:
                rows: list[T] = []
            elif isinstance(uow, KeysetPaging):
                juris, within = scope
                rows = uow.page(
                    cls,
                    after=after,
                    limit=limit + 1,
                    where=where,
                    jurisdictions=juris,
                    within=within,
                    since=since,
                    until=until,
                )
            else:  # a backend without SQL: the same records, found and cut in Python
                juris = self.guard.jurisdictions(uow, cls)
                found = self.guard.filter(
                    uow, cls, list(uow.find(cls, where=where, jurisdictions=juris))
                )
                key = spec_for(cls).key
                rows = sorted(
                    (
                        r
                        for r in found
                        if (after is None or key(r) > after) and _between(r, since, until)
                    ),
                    key=key,
                )[: limit + 1]
            items = rows[:limit]
            if items and category_of(cls) in PERSONAL:
                self.audit.allowed("read", _where_name(cls, where, items), len(items))
        more = len(rows) > limit
        return items, spec_for(cls).key(items[-1]) if more else None

    def count(self, cls: type[Any], where: Mapping[str, Any]) -> int:
        """See :meth:`gridguard.Workspace.count`."""
        with self._read() as uow:
            if not self.gate.may_count(cls):
                self.gate.require(Verb.READ, cls, cls.__name__)
            juris = self.guard.jurisdictions(uow, cls)
            if self.guard.everywhere or (cls is not Area and not self.guard.scope(uow).fine):
                return uow.count(cls, where=where, jurisdictions=juris)
            rows = list(uow.find(cls, where=where, jurisdictions=juris))
            return len(self.guard.filter(uow, cls, rows))

    def counts(self) -> dict[str, int]:
        """See :meth:`gridguard.Workspace.counts`."""
        out: dict[str, int] = {}
        for cls in (*REGISTRY_TYPES, *FACT_TYPES):
            if self.gate.may_count(cls):
                out[spec_for(cls).table] = self.count(cls, {})
        return out


def _between(record: Any, since: dt.datetime | None, until: dt.datetime | None) -> bool:
    if since is None and until is None:
        return True
    at = record.at
    return (since is None or at >= since) and (until is None or at < until)


def _kinds_name(kinds: Iterable[type[Any]]) -> str:
    """The audit target of a write of records of ``kinds``."""
    return ",".join(sorted(k.__name__ for k in kinds)) or "nothing"


def _where_name(cls: type[Any], where: Mapping[str, Any], found: Sequence[Any]) -> str:
    """The audit target of a find: the filter when there is one, else the ids found."""
    if where:
        shown = ",".join(
            f"{k}={v}" if _is_key(k) else f"{k}={mask_text(str(v))}"
            for k, v in sorted(where.items())
        )
        return f"{cls.__name__}[{shown}]"
    return target_of(cls, [str(r.id) for r in found])


def _is_key(field: str) -> bool:
    """A record id or a reference (shown in the audit log); an identity number is not one."""
    return field == "id" or (field.endswith("_id") and field != "resident_id")


def _chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _enumerate_chunks(items: Iterable[T], size: int) -> Iterator[tuple[int, list[T]]]:
    offset = 0
    for chunk in _chunked(items, size):
        yield offset, chunk
        offset += len(chunk)
