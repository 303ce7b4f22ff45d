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

import datetime as dt
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

from ._workspace.access import WHOLE_STORE, AccessGate
from ._workspace.audit import AuditRecorder
from ._workspace.records import DEFAULT_BATCH, Progress, Records
from .errors import ConfigError, StorageError
from .model import (
    Area,
    CompositionPolicy,
    IdentityScheme,
    LineOfDefense,
    identity_schemes_in_use,
)
from .plugins import (
    GridGuardPluginManager,
    Registries,
    Registry,
    collect_registries,
    get_plugin_manager,
)
from .security.access import Guard
from .security.principal import LOCAL_ADMIN, Principal
from .storage.base import SaveResult, Storage, UnitOfWork
from .storage.capabilities import BulkWrites, KeyRingOpener
from .storage.dialect import SqlDialect

if TYPE_CHECKING:
    from .security.crypto.keys import KeyRing

__all__ = [
    "AUDIT_READS_HELD",
    "AUDIT_READS_SECONDS",
    "DB_ENV",
    "DEFAULT_BATCH",
    "WHOLE_STORE",
    "Page",
    "Workspace",
    "open_workspace",
    "resolve_url",
]

T = TypeVar("T")
DB_ENV = "GRIDGUARD_DB"

AUDIT_READS_HELD = 256
"""Reads held back before their audit entries are written in a transaction of their own."""
AUDIT_READS_SECONDS = 2.0
"""The longest a read's audit entry is held back (checked when the next call ends)."""


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


@attrs.frozen
class Page(Generic[T]):
    """One page of records in id order (:meth:`gridguard.Workspace.page`)."""

    items: list[T]
    next: str | None
    """The last id of the page when more follow (the next page's ``after``), else ``None``."""


class Workspace:
    """A store opened for a principal, with the plugins that were loaded.

    Use :func:`gridguard.open` to get one. It is a context manager that
    closes the store on exit.

    The workspace is a facade: its access gate checks role and scope, its
    audit recorder keeps the audit entries until they can be written, and
    its records do the reads and batched writes (private modules in
    ``gridguard._workspace``); the workspace holds the transaction they
    share.
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
        self._storage = storage
        self.principal = principal
        self.purpose = purpose
        """Why the workspace is used (``"door-to-door sweep"``): the audit log's *why*."""
        self.guard = Guard(principal, storage.dialect)
        self.plugin_manager = plugin_manager or get_plugin_manager()
        self.registries = registries or collect_registries(self.plugin_manager)
        self.identity_schemes: Mapping[str, IdentityScheme] = {
            entry.name: entry.value for entry in self.registries.identity_schemes.entries()
        }
        """The identity schemes of this workspace's plugins, in use in its transactions."""
        self._schemes_entered: list[AbstractContextManager[None]] = []
        self.composition_policy = composition_policy or CompositionPolicy()
        self._uow: UnitOfWork | None = None
        self._write_depth = False
        self._audit_log = AuditRecorder(
            storage,
            principal,
            purpose=lambda: self.purpose,
            in_transaction=lambda: self._uow is not None,
        )
        self._gate = AccessGate(principal, self.guard, self._audit_log, self._read)
        self._narrowed: list[Workspace] = []
        """Workspaces made by :meth:`narrow`: their held-back audit entries go with this one's."""
        self._records = Records(self._gate, self._transaction, lambda: self.composition_policy)

    # -- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> Workspace:
        scope = identity_schemes_in_use(self.identity_schemes)
        scope.__enter__()
        self._schemes_entered.append(scope)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.close()
        finally:
            if self._schemes_entered:
                self._schemes_entered.pop().__exit__(None, None, None)

    def close(self) -> None:
        """Write the audit entries still held back, and close the store."""
        try:
            self.flush_audit()
        finally:
            self._storage.close()

    @property
    def url(self) -> str:
        return self._storage.url

    @property
    def storage(self) -> Storage:
        """The store itself, for the system principal (an unscoped one) only.

        The store reads and writes without any check of role or scope, so a
        scoped principal is refused (audited), as she is for
        :meth:`transaction`; what she needs goes through the workspace's
        checked calls, and :attr:`dialect` answers what SQL the store speaks.
        To work on the same store as someone else, the system principal opens
        another workspace on it (``Workspace(ws.storage, principal=...)``);
        a scoped principal narrows her own with :meth:`narrow`.
        """
        if not self.guard.everywhere:
            raise self._gate.deny(
                "storage", "the store", "the raw store is for an unscoped principal"
            )
        return self._storage

    @property
    def dialect(self) -> SqlDialect:
        """The store's SQL dialect (whether it runs SQL, how it spells it): no data."""
        return self._storage.dialect

    def narrow(self, area_id: str) -> Workspace:
        """A workspace on the same store for the same person, her scope narrowed to ``area_id``.

        ``area_id`` must lie inside her scope; one outside it and one that is
        not stored get the same :class:`~gridguard.errors.AccessDenied`
        (audited). A building observer's scope is one building: she cannot
        narrow it to an area.
        """
        me = self.principal
        if me.building_id is not None or not self.in_scope(Area, {area_id}):
            raise self._gate.deny("narrow", f"area:{area_id}", f"unknown or outside {me.scope}")
        with self._read() as uow:
            known = uow.existing_ids(Area, {area_id})
        if not known:
            raise self._gate.deny("narrow", f"area:{area_id}", f"unknown or outside {me.scope}")
        narrowed = Workspace(
            self._storage,
            principal=Principal(name=me.name, role=me.role, area_id=area_id),
            plugin_manager=self.plugin_manager,
            registries=self.registries,
            composition_policy=self.composition_policy,
            purpose=self.purpose,
        )
        self._narrowed.append(narrowed)
        return narrowed

    @property
    def lines(self) -> Registry[LineOfDefense]:
        """The lines of defense registered by the builtins and plugins."""
        return self.registries.lines

    # -- transactions -----------------------------------------------------------------------

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[UnitOfWork]:
        """A raw unit of work, for the system principal (an unscoped one) only.

        Calls made inside it join it instead of opening their own. The unit
        of work reads and writes the store without any check of role or
        scope, so a scoped principal is refused (audited): she groups
        checked calls with :meth:`atomic` instead. Identity numbers read and
        written in it are validated with the workspace's identity schemes
        (:attr:`identity_schemes`).
        """
        if not self.guard.everywhere:
            raise self._gate.deny(
                "transaction",
                "the store",
                "a raw unit of work is for an unscoped principal (use atomic())",
            )
        with self._transaction(write=write) as uow:
            yield uow

    @contextmanager
    def atomic(self, *, write: bool = True) -> Iterator[None]:
        """One transaction for the checked calls made inside it: all of them commit, or none.

        The scoped way to write a fact and what it causes together (a
        health report and its notifications): every call inside still
        checks role and scope, and nothing raw is handed out.
        """
        with self._transaction(write=write):
            yield

    @contextmanager
    def _transaction(self, *, write: bool = True, bulk: bool = False) -> Iterator[UnitOfWork]:
        """The unit of work of workflows, internal: each has authorized its run before.

        A workflow that reads or writes through it limits itself to what
        :meth:`authorize`, :meth:`authorize_records`, :meth:`visible` or
        :meth:`scope_jurisdictions` allowed; nothing outside the package
        uses it. ``bulk``: a write that checks its own references in bulk
        before it writes (a screening run's set-based statements, an import's
        batches), on a store that can leave them unchecked row by row
        (:class:`~gridguard.storage.capabilities.BulkWrites`).
        """
        with identity_schemes_in_use(self.identity_schemes), self._open(write, bulk) as uow:
            yield uow

    @contextmanager
    def _open(self, write: bool, bulk: bool = False) -> Iterator[UnitOfWork]:
        if self._uow is not None:
            if write and not self._write_depth:
                raise StorageError("cannot write inside a read-only transaction")
            yield self._uow
            return
        try:
            if write:
                self._gate.authorize_write()
            storage = self._storage
            opened = (
                storage.bulk_write()
                if bulk and write and isinstance(storage, BulkWrites)
                else storage.transaction(write=write)
            )
            with opened as uow:
                self._uow, self._write_depth = uow, write
                self.guard.begin()
                try:
                    yield uow
                    self._audit_log.commit(
                        uow,
                        write=write,
                        reads_held=AUDIT_READS_HELD,
                        reads_seconds=AUDIT_READS_SECONDS,
                    )
                except BaseException:
                    self._audit_log.discard()
                    raise
                finally:
                    self._uow, self._write_depth = None, False
            self._audit_log.committed()
        finally:
            self._audit_log.discard()
            self._audit_log.write_pending()

    def _read(self) -> AbstractContextManager[UnitOfWork]:
        return self._transaction(write=False)

    # -- access control and audit ----------------------------------------------------------

    def flush_audit(self) -> None:
        """Write every audit entry held back now (reads are otherwise batched).

        Reads of person and household files are written with this
        workspace's next write, when ``AUDIT_READS_HELD`` (256) of them are
        waiting or the oldest is ``AUDIT_READS_SECONDS`` (2 s) old, and on
        :meth:`close`; so a reader never waits for a long write (an import)
        to finish. Reading the audit log flushes first. The workspaces
        :meth:`narrow` made are flushed with it.
        """
        for narrowed in self._narrowed:
            narrowed.flush_audit()
        self._audit_log.flush()

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
        self._gate.authorize(action, target)

    def authorize_records(self, action: str, cls: type[Any], ids: Iterable[str]) -> None:
        """:meth:`authorize` for a batch: workflow ``action`` on the stored ``cls`` records ``ids``.

        One set-based scope check (a few queries, whatever the batch size)
        and one audit entry for the whole batch; the first record outside
        the principal's scope refuses the batch. Ids that are not stored
        are left to the workflow to report when the principal is unscoped;
        a scoped principal gets the refusal of an id outside her scope for
        them, so the answer tells her nothing about what is stored elsewhere.
        """
        self._gate.authorize_records(action, cls, ids)

    def visible(self, action: str, cls: type[Any], ids: Iterable[str]) -> set[str]:
        """The stored ``cls`` records ``ids`` the principal may see as workflow ``action``; audited.

        For workflows that compute rows over the store in SQL: the role must
        have what ``action`` needs (else :class:`~gridguard.errors.AccessDenied`,
        audited), the ids outside the principal's scope are dropped, and the
        read of those kept is one audit entry.
        """
        return self._gate.visible(action, cls, ids)

    def authorize_known(self, action: str, cls: type[Any], ids: Iterable[str]) -> None:
        """:meth:`authorize_records`, refusing ids that are not stored as well.

        A scoped principal gets the same refusal for a record outside her
        scope and for one that does not exist, so the answer tells her
        nothing about what is stored elsewhere.
        """
        self._gate.authorize_known(action, cls, ids)

    def in_scope(self, cls: type[Any], ids: Iterable[str]) -> set[str]:
        """Those of the stored ``cls`` records ``ids`` that lie inside the principal's scope.

        For workflows that compute over the whole store in SQL and then keep
        the rows the principal may see (one set-based look-up).
        """
        return self._gate.in_scope(cls, ids)

    def scope_jurisdictions(self, cls: type[Any] = Area) -> frozenset[str] | None:
        """Jurisdictions a workflow's own query of ``cls`` must stay in (``None``: any)."""
        return self._gate.scope_jurisdictions(cls)

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
        return self._records.add(records, batch_size=batch_size, progress=progress)

    def update(self, record: Any, *, expected_version: int) -> int:
        """Change one registry entry if nobody changed it since it was read at ``expected_version``.

        Returns the new version; a stale version is a
        :class:`~gridguard.errors.ConflictError`.
        """
        return self._records.update(record, expected_version=expected_version)

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
        return self._records.record(facts, batch_size=batch_size, progress=progress)

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
        return self._records.load_rows(cls, rows, batch_size=batch_size, progress=progress)

    # -- reads ------------------------------------------------------------------------------

    def get(self, cls: type[T], id: str) -> T:
        """The record of ``cls`` with ``id``; :class:`NotFoundError` if there is none.

        A record outside the principal's scope, or of a category its role may
        not read, is :class:`~gridguard.errors.AccessDenied`.
        """
        return self._records.get(cls, id)

    def version(self, cls: type[Any], id: str) -> int:
        """The stored version of a registry entry (for :meth:`update`)."""
        return self._records.version(cls, id)

    def find(self, cls: type[T], **where: Any) -> list[T]:
        """Records of ``cls`` whose fields equal ``where`` (``find(Person, household_id="h1")``).

        Only records inside the principal's scope are returned; a category
        the role may not read is :class:`~gridguard.errors.AccessDenied`.
        """
        return self._records.find(cls, where)

    def page(
        self,
        cls: type[T],
        *,
        after: str | None = None,
        limit: int = 50,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        **where: Any,
    ) -> Page[T]:
        """One page of the records of ``cls`` in id order: those whose id sorts after ``after``.

        Keyset pagination: ``page.next`` (the page's last id, ``None`` on the
        last page) is the ``after`` of the next page; ``where`` filters as in
        :meth:`find`, ``since`` and ``until`` bound a fact's ``at``. Only
        records inside the principal's scope are listed, and on a backend
        with :class:`~gridguard.storage.capabilities.KeysetPaging` (SQLite,
        PostgreSQL) the scope, the filters and the limit are applied in the
        database, which reads ``limit + 1`` rows whatever the store's size.
        """
        items, after = self._records.page(
            cls, where, after=after, limit=limit, since=since, until=until
        )
        return Page(items, after)

    def count(self, cls: type[Any], **where: Any) -> int:
        """How many records of ``cls`` inside the principal's scope have fields equal to ``where``.

        A count discloses no file, so roles that may not read health
        details still count screenings and quarantine orders in their scope
        (daily reports need them); a building observer counts only her own
        building's check-ins.
        """
        return self._records.count(cls, where)

    def counts(self) -> dict[str, int]:
        """Records per stored type, by table name (in the principal's scope)."""
        return self._records.counts()


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
    url = resolve_url(target)
    scheme = url.split("://", 1)[0].split("+", 1)[0]
    factory = registries.storage_backends.get(scheme)
    if ring is None:
        storage = factory(url)
    elif isinstance(factory, KeyRingOpener):
        storage = factory.open_encrypted(url, ring)
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
