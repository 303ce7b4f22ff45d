"""The workspace: the one facade an embedder holds.

Every workflow reads and writes through a :class:`Workspace`, opened for a
:class:`~gridguard.security.principal.Principal`, so that access control and audit
are enforced in one place. Writes are batched (``executemany``) inside one
transaction: a batch is wholly in or wholly out.

Each public read and write checks the principal's role and scope
(:mod:`gridguard.security.access`) and leaves one entry in the hash-chained audit log
(:mod:`gridguard.security.audit`): one per call, not per row, so bulk paths stay
fast. Workflows that work on the store directly call
:meth:`Workspace.authorize <gridguard.Workspace.authorize>` once at their
entry point.
"""

from __future__ import annotations

import inspect
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import (
    AccessDenied,
    ConfigError,
    NotFoundError,
    StorageError,
    ValidationError,
    Violation,
)
from .masking import mask_text
from .model import (
    FACT_TYPES,
    REGISTRY_TYPES,
    Area,
    Building,
    CompositionPolicy,
    LineOfDefense,
    Team,
    register_identity_scheme,
)
from .plugins import (
    GridGuardPluginManager,
    Registries,
    Registry,
    collect_registries,
    get_plugin_manager,
)
from .security.access import (
    OPERATIONS,
    PERMISSIONS,
    PERSONAL,
    Category,
    Guard,
    Verb,
    category_of,
    denied,
    target_of,
)
from .security.audit import AuditDraft
from .security.audit import append as append_audit
from .security.principal import LOCAL_ADMIN, Principal
from .storage.base import SaveResult, Storage, UnitOfWork
from .storage.schema import spec_for

if TYPE_CHECKING:
    from .security.crypto.keys import KeyRing

__all__ = [
    "AUDIT_READS_HELD",
    "AUDIT_READS_SECONDS",
    "DB_ENV",
    "DEFAULT_BATCH",
    "WHOLE_STORE",
    "Workspace",
    "open_workspace",
    "resolve_url",
]

T = TypeVar("T")
DB_ENV = "GRIDGUARD_DB"
DEFAULT_BATCH = 5000
"""Rows per ``executemany``: large enough to amortise, small enough for steady memory."""

WHOLE_STORE = "*"
"""The :meth:`Workspace.authorize` target of a workflow that is not limited to a scope."""

AUDIT_READS_HELD = 256
"""Reads held back before their audit entries are written in a transaction of their own."""
AUDIT_READS_SECONDS = 2.0
"""The longest a read's audit entry is held back (checked when the next call ends)."""

Progress = Callable[[int], None]
"""Called with the number of rows just written, for progress bars."""


def resolve_url(target: str | os.PathLike[str] | None) -> str:
    """The storage URL for ``target``: a URL, a bare file path, or ``None``.

    ``None`` uses ``GRIDGUARD_DB`` when set, otherwise an in-memory store.
    A path without a scheme is a SQLite file.
    """
    if target is None:
        target = os.environ.get(DB_ENV) or "memory://"
    text = os.fspath(target)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text)}"


def _chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class Workspace:
    """A store opened for a principal, with the plugins that were loaded.

    Use :func:`gridguard.open` to get one. It is a context manager that
    closes the store on exit.
    """

    def __init__(
        self,
        storage: Storage,
        *,
        principal: Principal = LOCAL_ADMIN,
        plugin_manager: GridGuardPluginManager | None = None,
        registries: Registries | None = None,
        composition_policy: CompositionPolicy | None = None,
        purpose: str = "",
    ) -> None:
        self.storage = storage
        self.principal = principal
        self.purpose = purpose
        """Why the workspace is used (``"door-to-door sweep"``): the audit log's *why*."""
        self.guard = Guard(principal, storage.dialect)
        self._audit_now: list[AuditDraft] = []
        self._audit_later: list[AuditDraft] = []
        self._audit_reads: list[AuditDraft] = []
        self._reads_since = 0.0
        self.plugin_manager = plugin_manager or get_plugin_manager()
        self.registries = registries or collect_registries(self.plugin_manager)
        self.composition_policy = composition_policy or CompositionPolicy()
        self._uow: UnitOfWork | None = None
        self._write_depth = False

    # -- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Write the audit entries still held back, and close the store."""
        try:
            self.flush_audit()
        finally:
            self.storage.close()

    @property
    def url(self) -> str:
        return self.storage.url

    @property
    def lines(self) -> Registry[LineOfDefense]:
        """The lines of defense registered by the builtins and plugins."""
        return self.registries.lines

    # -- transactions -----------------------------------------------------------------------

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[UnitOfWork]:
        """A transaction; calls made inside it join it instead of opening their own."""
        if self._uow is not None:
            if write and not self._write_depth:
                raise StorageError("cannot write inside a read-only transaction")
            yield self._uow
            return
        try:
            if write:
                self._authorize_write()
            with self.storage.transaction(write=write) as uow:
                self._uow, self._write_depth = uow, write
                self.guard.begin()
                try:
                    yield uow
                    drafts, self._audit_now = self._audit_now, []
                    if write:
                        reads, self._audit_reads = self._audit_reads, []
                        append_audit(uow, self.storage.dialect, reads + drafts)
                    else:
                        self._hold_back(drafts)
                finally:
                    self._uow, self._write_depth = None, False
                    self._audit_now = []
        finally:
            self._flush_audit()

    def _read(self) -> AbstractContextManager[UnitOfWork]:
        return self.transaction(write=False)

    def _authorize_write(self) -> None:
        if not self.principal.role.can_write:
            raise self._deny("write", "the store", "this role writes nothing")

    # -- access control and audit ----------------------------------------------------------

    def _draft(self, action: str, target: str, count: int, outcome: str, reason: str) -> AuditDraft:
        return AuditDraft(
            principal=self.principal.name,
            role=self.principal.role.value,
            scope=self.principal.scope,
            action=action,
            target=target,
            count=count,
            outcome=outcome,
            reason=reason,
        )

    def _audit(self, action: str, target: str, count: int = 1) -> None:
        """Note an allowed operation: written with the transaction that did it."""
        draft = self._draft(action, target, count, "allowed", self.purpose)
        if self._uow is None:
            self._audit_later.append(draft)
            self._flush_audit()
        else:
            self._audit_now.append(draft)

    def _deny(self, action: str, target: str, why: str) -> AccessDenied:
        """The error for a refused operation; the refusal is audited even though it rolls back."""
        self._audit_later[:0], self._audit_reads = self._audit_reads, []
        self._audit_later.append(self._draft(action, target, 0, "denied", why))
        if self._uow is None:
            self._flush_audit()
        return denied(self.principal, action, target, why)

    def _hold_back(self, drafts: list[AuditDraft]) -> None:
        """Entries of a read transaction: reads wait a little, anything else goes now."""
        for draft in drafts:
            if draft.action == "read":
                if not self._audit_reads:
                    self._reads_since = time.monotonic()
                self._audit_reads.append(draft)
            else:
                self._audit_later.append(draft)
        if self._audit_reads and (
            len(self._audit_reads) >= AUDIT_READS_HELD
            or time.monotonic() - self._reads_since >= AUDIT_READS_SECONDS
        ):
            self._audit_later[:0], self._audit_reads = self._audit_reads, []

    def _flush_audit(self) -> None:
        """Write entries that could not join a write transaction (reads, refusals)."""
        if not self._audit_later or self._uow is not None:
            return
        drafts, self._audit_later = self._audit_later, []
        with self.storage.transaction() as uow:
            append_audit(uow, self.storage.dialect, drafts)

    def flush_audit(self) -> None:
        """Write every audit entry held back now (reads are otherwise batched).

        Reads of person and household files are written with this
        workspace's next write, when ``AUDIT_READS_HELD`` (256) of them are
        waiting or the oldest is ``AUDIT_READS_SECONDS`` (2 s) old, and on
        :meth:`close`; so a reader never waits for a long write (an import)
        to finish. Reading the audit log flushes first.
        """
        if self._uow is not None:
            return
        self._audit_later[:0], self._audit_reads = self._audit_reads, []
        self._flush_audit()

    def _require(self, verb: Verb, cls: type[Any], target: str) -> None:
        if not self.guard.permitted(verb, cls):
            category = category_of(cls).value
            raise self._deny(
                verb.value,
                target,
                f"a {self.principal.role.value} has no {verb.value} access to {category} records",
            )

    def _check_new(
        self, uow: UnitOfWork, cls: type[Any], records: Sequence[Any], offset: int
    ) -> None:
        """Refuse the batch if any record of ``cls`` would be written outside the scope."""
        self._require(Verb.WRITE, cls, target_of(cls, [str(r.id) for r in records[:2]]))
        if self.guard.everywhere:
            return
        bad = self.guard.outside_new(uow, cls, records)
        if bad:
            first = records[bad[0]]
            raise self._deny(
                "write",
                target_of(cls, [str(first.id)]),
                f"$[{offset + bad[0]}] lies outside {self.principal.scope}"
                + (f" ({len(bad)} records in all)" if len(bad) > 1 else ""),
            )

    def authorize(self, action: str, target: Any = None) -> None:
        """Check that the principal may run the workflow ``action`` on ``target``, and audit it.

        ``action`` names the operation (``"sweep.record"``, ``"rules.screen"``:
        see :data:`gridguard.security.access.OPERATIONS`); ``target`` is what it works
        on: an area id, a stored record (a campaign, a household...),
        ``WHOLE_STORE`` for a workflow that reads or writes the store
        directly without regard to scope (only an unscoped principal may),
        or ``None`` for "within the principal's own scope" (the workflow then
        reads and writes through the checked workspace calls, or limits
        itself to :meth:`scope_jurisdictions`). A refusal raises
        :class:`~gridguard.errors.AccessDenied` naming principal, action and
        target, and is audited; an allowed run is one audit entry.
        """
        name = self._target_name(target)
        self._permit(action, name)
        if target == WHOLE_STORE and not self.guard.everywhere:
            raise self._deny(action, name, f"it reaches beyond {self.principal.scope}")
        if target is not None and target != WHOLE_STORE and not self.guard.everywhere:
            with self._read() as uow:
                inside = self._target_inside(uow, target)
            if not inside:
                raise self._deny(action, name, f"outside {self.principal.scope}")
        self._audit(action, name)

    def _permit(self, action: str, name: str) -> None:
        """Refuse (and audit) ``action`` if the role lacks what the operation needs."""
        needs = OPERATIONS.get(action, ((Verb.WRITE, Category.OTHER),))
        role = self.principal.role
        for verb, category in needs:
            if verb not in PERMISSIONS[role].get(category, frozenset()):
                raise self._deny(
                    action,
                    name,
                    f"a {role.value} has no {verb.value} access to {category.value} records",
                )
        if any(verb is Verb.WRITE for verb, _ in needs) and not role.can_write:
            raise self._deny(action, name, "this role writes nothing")

    def authorize_records(self, action: str, cls: type[Any], ids: Iterable[str]) -> None:
        """:meth:`authorize` for a batch: workflow ``action`` on the stored ``cls`` records ``ids``.

        One set-based scope check (a few queries, whatever the batch size)
        and one audit entry for the whole batch; the first record outside
        the principal's scope refuses the batch. Ids that are not stored
        are left to the workflow to report.
        """
        wanted = sorted({str(i) for i in ids})
        name = target_of(cls, wanted)
        self._permit(action, name)
        if wanted and not self.guard.everywhere:
            with self._read() as uow:
                outside = self.guard.outside(uow, cls, wanted)
            if outside:
                first = min(outside)
                raise self._deny(
                    action,
                    target_of(cls, [first]),
                    f"outside {self.principal.scope}"
                    + (f" ({len(outside)} records in all)" if len(outside) > 1 else ""),
                )
        self._audit(action, name, len(wanted) or 1)

    def in_scope(self, cls: type[Any], ids: Iterable[str]) -> set[str]:
        """Those of the stored ``cls`` records ``ids`` that lie inside the principal's scope.

        For workflows that compute over the whole store in SQL and then keep
        the rows the principal may see (one set-based look-up).
        """
        wanted = {str(i) for i in ids}
        if self.guard.everywhere or not wanted:
            return wanted
        with self._read() as uow:
            return wanted - self.guard.outside(uow, cls, wanted)

    @staticmethod
    def _target_name(target: Any) -> str:
        if target is None:
            return "own scope"
        if target == WHOLE_STORE:
            return "the whole store"
        if isinstance(target, str):
            return f"area:{target}"
        return target_of(type(target), [str(target.id)])

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

    def scope_jurisdictions(self, cls: type[Any] = Area) -> frozenset[str] | None:
        """Jurisdictions a workflow's own query of ``cls`` must stay in (``None``: any)."""
        with self._read() as uow:
            return self.guard.jurisdictions(uow, cls)

    # -- writes -----------------------------------------------------------------------------

    def add(
        self,
        records: Iterable[Any],
        *,
        batch_size: int = DEFAULT_BATCH,
        progress: Progress | None = None,
    ) -> SaveResult:
        """Insert or update registry entries (areas, buildings, ..., teams, campaigns).

        All of ``records`` go in one transaction, or none of them: a bad
        record raises :class:`ValidationError` with its position ``$[i]`` in
        the input. Records may be of mixed types; within a batch they are
        written parents first. Re-adding an unchanged record changes nothing.
        """
        total = SaveResult()
        kinds: set[type[Any]] = set()
        with self.transaction() as uow:
            for offset, chunk in _enumerate_chunks(records, batch_size):
                total += self._add_chunk(uow, chunk, offset)
                kinds.update(type(r) for r in chunk)
                if progress:
                    progress(len(chunk))
            if kinds:
                self._audit("write", self._kinds_name(kinds), total.total)
        if kinds:
            self.guard.forget()
        return total

    @staticmethod
    def _kinds_name(kinds: Iterable[type[Any]]) -> str:
        return ",".join(sorted(k.__name__ for k in kinds)) or "nothing"

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
        for cls, pairs in groups.items():
            self._check_new(uow, cls, [r for _, r in pairs], offset)
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
        violations: list[Violation] = []
        for n, team in groups.get(Team, []):
            violations += [
                v.prefixed(f"$[{offset + n}]") for v in self.composition_policy.violations(team)
            ]
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
        """Change one registry entry if nobody changed it since it was read at ``expected_version``.

        Returns the new version; a stale version is a
        :class:`~gridguard.errors.ConflictError`.
        """
        cls = type(record)
        with self.transaction() as uow:
            if uow.version(cls, record.id) is None:
                raise NotFoundError(f"no {cls.__name__} with id {record.id!r}")
            self._check_registry(uow, {cls: [(0, record)]}, 0)
            self._check_new(uow, cls, [record], 0)
            uow.put(cls, [record], expect={record.id: expected_version})
            version = uow.version(cls, record.id)
            self._audit("update", target_of(cls, [str(record.id)]))
        self.guard.forget()
        assert version is not None
        return version

    def record(
        self,
        facts: Iterable[Any],
        *,
        batch_size: int = DEFAULT_BATCH,
        progress: Progress | None = None,
    ) -> SaveResult:
        """Save facts (visits, screenings, check-ins...): all in one transaction or none.

        A fact already stored with the same content counts as ``unchanged``;
        the same id with other content raises
        :class:`~gridguard.errors.ConflictError`.
        """
        total = SaveResult()
        kinds: set[type[Any]] = set()
        with self.transaction() as uow:
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
                        self._check_facts(uow, cls, facts_of, [offset + i for i in indexes])
                    try:
                        total += uow.save_facts(cls, facts_of)
                    except ValidationError as exc:
                        raise exc.at_positions([offset + i for i in indexes]) from None
                if progress:
                    progress(len(chunk))
            if kinds:
                self._audit("write", self._kinds_name(kinds), total.total)
        return total

    def _check_facts(
        self, uow: UnitOfWork, cls: type[Any], facts: Sequence[Any], positions: Sequence[int]
    ) -> None:
        self._require(Verb.WRITE, cls, target_of(cls, [str(f.id) for f in facts[:2]]))
        bad = self.guard.outside_new(uow, cls, facts)
        if bad:
            raise self._deny(
                "write",
                target_of(cls, [str(facts[bad[0]].id)]),
                f"$[{positions[bad[0]]}] lies outside {self.principal.scope}"
                + (f" ({len(bad)} records in all)" if len(bad) > 1 else ""),
            )

    def load_rows(
        self,
        cls: type[Any],
        rows: Iterable[Sequence[Any]],
        *,
        batch_size: int = DEFAULT_BATCH,
        progress: Progress | None = None,
    ) -> int:
        """Bulk-load already encoded, trusted rows of ``cls`` in one transaction.

        For generators and importers that validated their rows themselves;
        see :meth:`gridguard.storage.schema.TableSpec.encode` for the row form.
        """
        spec = spec_for(cls)
        loaded = 0
        with self.transaction() as uow:
            self._require(Verb.WRITE, cls, cls.__name__)
            for chunk in _chunked(rows, batch_size):
                if not self.guard.everywhere:
                    self._check_rows(uow, cls, chunk, loaded)
                loaded += uow.load_rows(cls, chunk)
                if progress:
                    progress(len(chunk))
            self._audit("load", cls.__name__, loaded)
        if not spec.is_fact:
            self.guard.forget()
        return loaded

    def _check_rows(
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
            outside = self.guard.outside(
                uow, spec.parent.target, {p for p in parents if p is not None}
            )
            bad = [n for n, p in enumerate(parents) if p is None or p in outside]
            if not bad and not spec.is_fact:
                stored = self.guard.outside(uow, cls, {str(r[0]) for r in rows})
                bad = [n for n, r in enumerate(rows) if str(r[0]) in stored]
            if not bad and self.guard.scope(uow).building_id is not None:
                bad = [] if spec.parent.target is Building else list(range(len(rows)))
        if bad:
            raise self._deny(
                "load",
                target_of(cls, [str(rows[bad[0]][0])]),
                f"row {offset + bad[0]} lies outside {self.principal.scope}",
            )

    # -- reads ------------------------------------------------------------------------------

    def get(self, cls: type[T], id: str) -> T:
        """The record of ``cls`` with ``id``; :class:`NotFoundError` if there is none.

        A record outside the principal's scope, or of a category its role may
        not read, is :class:`~gridguard.errors.AccessDenied`.
        """
        name = target_of(cls, [str(id)])
        with self._read() as uow:
            self._require(Verb.READ, cls, name)
            found = uow.get(cls, str(id))
            if found is not None and self.guard.unreadable(uow, cls, {str(id)}):
                raise self._deny("read", name, f"outside {self.principal.scope}")
            if found is not None and category_of(cls) in PERSONAL:
                self._audit("read", name)
        if found is None:
            raise NotFoundError(f"no {cls.__name__} with id {str(id)!r}")
        return found

    def version(self, cls: type[Any], id: str) -> int:
        """The stored version of a registry entry (for :meth:`update`)."""
        name = target_of(cls, [str(id)])
        with self._read() as uow:
            self._require(Verb.READ, cls, name)
            found = uow.version(cls, str(id))
            if found is not None and self.guard.unreadable(uow, cls, {str(id)}):
                raise self._deny("read", name, f"outside {self.principal.scope}")
        if found is None:
            raise NotFoundError(f"no {cls.__name__} with id {str(id)!r}")
        return found

    def find(self, cls: type[T], **where: Any) -> list[T]:
        """Records of ``cls`` whose fields equal ``where`` (``find(Person, household_id="h1")``).

        Only records inside the principal's scope are returned; a category
        the role may not read is :class:`~gridguard.errors.AccessDenied`.
        """
        with self._read() as uow:
            self._require(Verb.READ, cls, cls.__name__)
            juris = self.guard.jurisdictions(uow, cls)
            found = self.guard.filter(
                uow, cls, list(uow.find(cls, where=where, jurisdictions=juris))
            )
            if found and category_of(cls) in PERSONAL:
                self._audit("read", _where_name(cls, where, found), len(found))
        return found

    def count(self, cls: type[Any], **where: Any) -> int:
        """How many records of ``cls`` inside the principal's scope have fields equal to ``where``.

        A count discloses no file, so roles that may not read health
        details still count screenings and quarantine orders in their scope
        (daily reports need them); a building observer counts only her own
        building's check-ins.
        """
        with self._read() as uow:
            if not self._may_count(cls):
                self._require(Verb.READ, cls, cls.__name__)
            juris = self.guard.jurisdictions(uow, cls)
            if self.guard.everywhere or (cls is not Area and not self.guard.scope(uow).fine):
                return uow.count(cls, where=where, jurisdictions=juris)
            rows = list(uow.find(cls, where=where, jurisdictions=juris))
            return len(self.guard.filter(uow, cls, rows))

    def _may_count(self, cls: type[Any]) -> bool:
        if self.guard.permitted(Verb.READ, cls):
            return True
        visits = PERMISSIONS[self.principal.role].get(Category.VISIT, frozenset())
        return category_of(cls) is Category.HEALTH and Verb.READ in visits

    def counts(self) -> dict[str, int]:
        """Records per stored type, by table name (in the principal's scope)."""
        out: dict[str, int] = {}
        for cls in (*REGISTRY_TYPES, *FACT_TYPES):
            if self._may_count(cls):
                out[spec_for(cls).table] = self.count(cls)
        return out


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


def _enumerate_chunks(items: Iterable[T], size: int) -> Iterator[tuple[int, list[T]]]:
    offset = 0
    for chunk in _chunked(items, size):
        yield offset, chunk
        offset += len(chunk)


def open_workspace(
    target: str | os.PathLike[str] | None = None,
    *,
    principal: Principal = LOCAL_ADMIN,
    plugins: Iterable[object] = (),
    plugin_manager: GridGuardPluginManager | None = None,
    composition_policy: CompositionPolicy | None = None,
    purpose: str = "",
    key: str | os.PathLike[str] | bytes | None = None,
    keyring: KeyRing | None = None,
) -> Workspace:
    """Open the store at ``target`` (a URL, a SQLite file path, or ``None``) as a workspace.

    ``sqlite:///path.db`` or a bare path opens (and creates or migrates) a
    SQLite file; ``memory://`` or nothing (and no ``GRIDGUARD_DB``) an
    in-memory store; other schemes go to the storage plugin registered for
    them. ``plugins`` are extra plugin objects to register. ``principal``
    is who uses it (default: an administrator of everything) and
    ``purpose`` why, for the audit log.

    Field encryption (``gridguard.security.crypto``, SQLite stores): ``key`` is a
    key file (a path, as written by ``gridguard keys new``) or a raw 32-byte
    master key; ``keyring`` a :class:`~gridguard.security.crypto.keys.KeyRing` (give one of
    the two). Without either, the key comes from ``GRIDGUARD_KEY_FILE`` or
    ``GRIDGUARD_KEY`` when set. A new store opened with a key is encrypted
    from the start; an encrypted store opened without its key, or with
    another, is a :class:`~gridguard.errors.ConfigError`.
    """
    ring = _keyring(key, keyring)
    pm = plugin_manager or get_plugin_manager(plugins=plugins)
    registries = collect_registries(pm)
    for entry in registries.identity_schemes.entries():
        register_identity_scheme(entry.value, replace=True)
    url = resolve_url(target)
    scheme = url.split("://", 1)[0].split("+", 1)[0]
    factory = registries.storage_backends.get(scheme)
    if ring is None:
        storage = factory(url)
    elif "keyring" in inspect.signature(factory).parameters:
        storage = factory(url, keyring=ring)  # type: ignore[call-arg]
    else:
        raise ConfigError(f"the {scheme!r} storage backend does not support field encryption")
    return Workspace(
        storage,
        principal=principal,
        plugin_manager=pm,
        registries=registries,
        composition_policy=composition_policy,
        purpose=purpose,
    )


def _keyring(key: str | os.PathLike[str] | bytes | None, keyring: KeyRing | None) -> KeyRing | None:
    """The key ring ``open_workspace`` was given: a ring, a key file path or a master key."""
    if key is not None and keyring is not None:
        raise ConfigError("give key= or keyring=, not both")
    if keyring is not None or key is None:
        return keyring
    from .security.crypto.keys import KeyRing as Ring
    from .security.crypto.keys import read_key_file

    if isinstance(key, bytes):
        if len(key) != 32:
            raise ConfigError(f"a master key is 32 bytes, not {len(key)}")
        return Ring.of(key, source="key=")
    return read_key_file(key)
