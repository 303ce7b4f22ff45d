"""The workspace: the one facade an embedder holds.

Every workflow reads and writes through a :class:`Workspace`, opened for a
:class:`~gridguard.principal.Principal`, so that access control and audit
are enforced in one place. Writes are batched (``executemany``) inside one
transaction: a batch is wholly in or wholly out.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

from .errors import AccessDenied, NotFoundError, StorageError, ValidationError, Violation
from .model import (
    FACT_TYPES,
    REGISTRY_TYPES,
    Area,
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
from .principal import LOCAL_ADMIN, Principal
from .storage.base import SaveResult, Storage, UnitOfWork
from .storage.schema import spec_for

__all__ = ["DB_ENV", "DEFAULT_BATCH", "Workspace", "open_workspace", "resolve_url"]

T = TypeVar("T")
DB_ENV = "GRIDGUARD_DB"
DEFAULT_BATCH = 5000
"""Rows per ``executemany``: large enough to amortise, small enough for steady memory."""

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
    ) -> None:
        self.storage = storage
        self.principal = principal
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
        """Close the store."""
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
        if write:
            self._authorize_write()
        with self.storage.transaction(write=write) as uow:
            self._uow, self._write_depth = uow, write
            try:
                yield uow
            finally:
                self._uow, self._write_depth = None, False

    def _read(self) -> AbstractContextManager[UnitOfWork]:
        return self.transaction(write=False)

    def _authorize_write(self) -> None:
        if not self.principal.role.can_write:
            raise AccessDenied(
                f"{self.principal.name!r} ({self.principal.role.value}) may not write"
            )

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
        with self.transaction() as uow:
            for offset, chunk in _enumerate_chunks(records, batch_size):
                total += self._add_chunk(uow, chunk, offset)
                if progress:
                    progress(len(chunk))
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
            uow.put(cls, [record], expect={record.id: expected_version})
            version = uow.version(cls, record.id)
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
                    try:
                        total += uow.save_facts(cls, [chunk[i] for i in indexes])
                    except ValidationError as exc:
                        raise exc.at_positions([offset + i for i in indexes]) from None
                if progress:
                    progress(len(chunk))
        return total

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
        spec_for(cls)
        loaded = 0
        with self.transaction() as uow:
            for chunk in _chunked(rows, batch_size):
                loaded += uow.load_rows(cls, chunk)
                if progress:
                    progress(len(chunk))
        return loaded

    # -- reads ------------------------------------------------------------------------------

    def get(self, cls: type[T], id: str) -> T:
        """The record of ``cls`` with ``id``; :class:`NotFoundError` if there is none."""
        with self._read() as uow:
            found = uow.get(cls, str(id))
        if found is None:
            raise NotFoundError(f"no {cls.__name__} with id {str(id)!r}")
        return found

    def version(self, cls: type[Any], id: str) -> int:
        """The stored version of a registry entry (for :meth:`update`)."""
        with self._read() as uow:
            found = uow.version(cls, str(id))
        if found is None:
            raise NotFoundError(f"no {cls.__name__} with id {str(id)!r}")
        return found

    def find(self, cls: type[T], **where: Any) -> list[T]:
        """Records of ``cls`` whose fields equal ``where`` (``find(Person, household_id="h1")``)."""
        with self._read() as uow:
            return list(uow.find(cls, where=where))

    def count(self, cls: type[Any], **where: Any) -> int:
        """How many records of ``cls`` have fields equal to ``where``."""
        with self._read() as uow:
            return uow.count(cls, where=where)

    def counts(self) -> dict[str, int]:
        """Records per stored type, by table name."""
        with self._read() as uow:
            return {spec_for(cls).table: uow.count(cls) for cls in (*REGISTRY_TYPES, *FACT_TYPES)}


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
) -> Workspace:
    """Open the store at ``target`` (a URL, a SQLite file path, or ``None``) as a workspace.

    ``sqlite:///path.db`` or a bare path opens (and creates or migrates) a
    SQLite file; ``memory://`` or nothing (and no ``GRIDGUARD_DB``) an
    in-memory store; other schemes go to the storage plugin registered for
    them. ``plugins`` are extra plugin objects to register.
    """
    pm = plugin_manager or get_plugin_manager(plugins=plugins)
    registries = collect_registries(pm)
    for entry in registries.identity_schemes.entries():
        register_identity_scheme(entry.value, replace=True)
    url = resolve_url(target)
    scheme = url.split("://", 1)[0].split("+", 1)[0]
    factory = registries.storage_backends.get(scheme)
    storage = factory(url)
    return Workspace(
        storage,
        principal=principal,
        plugin_manager=pm,
        registries=registries,
        composition_policy=composition_policy,
    )
