"""The builtin in-memory backend: for tests, notebooks and trying things out.

It keeps encoded rows exactly as the SQL backends do, so it agrees with them
on what "the same fact" is. A transaction keeps an undo log and replays it on
rollback. Nothing survives the process.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from ..errors import StorageError, ValidationError
from ._checks import check_versions, encoded_filters, fact_conflicts, missing_references
from .base import SaveResult
from .dialect import MemoryDialect
from .schema import SPECS, Row, TableSpec, spec_for

__all__ = ["MemoryStorage", "MemoryUnitOfWork"]

T = TypeVar("T")


class _Stored:
    __slots__ = ("jurisdiction", "row", "version")

    def __init__(self, row: Row, jurisdiction: str, version: int) -> None:
        self.row = row
        self.jurisdiction = jurisdiction
        self.version = version


_MISSING = object()


class MemoryUnitOfWork:
    """One transaction on a :class:`MemoryStorage`."""

    def __init__(self, tables: dict[str, dict[str, _Stored]]) -> None:
        self._tables = tables
        self._undo: list[tuple[str, str, object]] = []

    def _write(self, table: str, key: str, value: _Stored) -> None:
        self._undo.append((table, key, self._tables[table].get(key, _MISSING)))
        self._tables[table][key] = value

    def rollback(self) -> None:
        for table, key, old in reversed(self._undo):
            if old is _MISSING:
                self._tables[table].pop(key, None)
            else:
                assert isinstance(old, _Stored)
                self._tables[table][key] = old
        self._undo.clear()

    def existing_ids(self, cls: type[Any], ids: set[str]) -> set[str]:
        table = self._tables[spec_for(cls).table]
        return {i for i in ids if i in table}

    def _jurisdiction(self, spec: TableSpec, row: Row) -> str | None:
        own = spec.own_jurisdiction(row)
        if own is not None:
            return own
        parent_id = spec.parent_id(row)
        if spec.parent is None or parent_id is None:
            return None
        parent = self._tables[spec_for(spec.parent.target).table].get(parent_id)
        return None if parent is None else parent.jurisdiction

    def _check_references(self, spec: TableSpec, rows: Sequence[Row]) -> list[str]:
        """Jurisdictions of ``rows`` in order, after checking every reference exists."""
        violations = missing_references(spec, rows, self.existing_ids)
        if violations:
            raise ValidationError(violations)
        out: list[str] = []
        # Areas may reference parents earlier in the same batch: resolve them in order.
        pending: dict[str, str] = {}
        for row in rows:
            juris = self._jurisdiction(spec, row)
            if juris is None and spec.parent is not None:
                juris = pending.get(spec.parent_id(row) or "")
            if juris is None:
                raise StorageError(f"{spec.table}: no jurisdiction for {row[0]!r}")
            pending[str(row[0])] = juris
            out.append(juris)
        return out

    def put(
        self, cls: type[Any], records: Sequence[Any], *, expect: Mapping[str, int] | None = None
    ) -> SaveResult:
        spec = spec_for(cls)
        if spec.is_fact:
            raise TypeError(f"{cls.__name__} is a fact: use save_facts")
        table = self._tables[spec.table]
        if expect:
            stored = {k: table[k].version for k in expect if k in table}
            check_versions(spec, expect, stored)
        rows = [spec.encode(r) for r in records]
        written = 0
        for row, juris in zip(rows, self._check_references(spec, rows), strict=True):
            key = str(row[0])
            old = table.get(key)
            if old is not None and old.row == row and old.jurisdiction == juris:
                continue
            self._write(spec.table, key, _Stored(row, juris, 1 if old is None else old.version + 1))
            written += 1
        return SaveResult(written, len(rows) - written)

    def save_facts(self, cls: type[Any], facts: Sequence[Any]) -> SaveResult:
        spec = spec_for(cls)
        if not spec.is_fact:
            raise TypeError(f"{cls.__name__} is not a fact: use put")
        rows = [spec.encode(f) for f in facts]
        table = self._tables[spec.table]
        jurisdictions = self._check_references(spec, rows)
        stored = {str(r[0]): table[str(r[0])].row for r in rows if str(r[0]) in table}
        batch: dict[str, Row] = {}
        for row in rows:
            batch.setdefault(str(row[0]), row)
        fact_conflicts(spec, rows, {**batch, **stored})
        written = 0
        for row, juris in zip(rows, jurisdictions, strict=True):
            key = str(row[0])
            if key in table:
                continue
            self._write(spec.table, key, _Stored(row, juris, 1))
            written += 1
        return SaveResult(written, len(rows) - written)

    def load_rows(self, cls: type[Any], rows: Iterable[Sequence[Any]]) -> int:
        spec = spec_for(cls)
        batch = [tuple(r) for r in rows]
        table = self._tables[spec.table]
        for row, juris in zip(batch, self._check_references(spec, batch), strict=True):
            if str(row[0]) in table:
                raise StorageError(f"{spec.table}: id {row[0]!r} is already stored")
            self._write(spec.table, str(row[0]), _Stored(row, juris, 1))
        return len(batch)

    def query(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        raise StorageError("the memory backend runs no SQL; compute in Python instead")

    def get(self, cls: type[T], id: str) -> T | None:
        spec = spec_for(cls)
        stored = self._tables[spec.table].get(str(id))
        return None if stored is None else spec.decode(stored.row)

    def version(self, cls: type[Any], id: str) -> int | None:
        spec = spec_for(cls)
        if spec.is_fact:
            raise TypeError(f"{cls.__name__} is a fact; facts have no version")
        stored = self._tables[spec.table].get(str(id))
        return None if stored is None else stored.version

    def jurisdiction_of(self, cls: type[Any], id: str) -> str | None:
        stored = self._tables[spec_for(cls).table].get(str(id))
        return None if stored is None else stored.jurisdiction

    def _matching(
        self,
        spec: TableSpec,
        where: Mapping[str, Any] | None,
        jurisdictions: Collection[str] | None,
    ) -> list[_Stored]:
        tests = [(spec.column_names.index(n), v) for n, v in encoded_filters(spec, where)]
        allowed = None if jurisdictions is None else set(jurisdictions)
        return [
            s
            for s in self._tables[spec.table].values()
            if all(s.row[i] == v for i, v in tests)
            and (allowed is None or s.jurisdiction in allowed)
        ]

    def find(
        self,
        cls: type[T],
        *,
        where: Mapping[str, Any] | None = None,
        jurisdictions: Collection[str] | None = None,
    ) -> Iterator[T]:
        spec = spec_for(cls)
        found = self._matching(spec, where, jurisdictions)
        if spec.is_fact:
            at = spec.column_names.index("at")
            found.sort(key=lambda s: (s.row[at], s.row[0]))
        else:
            found.sort(key=lambda s: s.row[0])
        for stored in found:
            yield spec.decode(stored.row)

    def count(
        self,
        cls: type[Any],
        *,
        where: Mapping[str, Any] | None = None,
        jurisdictions: Collection[str] | None = None,
    ) -> int:
        return len(self._matching(spec_for(cls), where, jurisdictions))


class MemoryStorage:
    """Everything in Python dictionaries, gone when the process ends."""

    dialect = MemoryDialect()
    """Runs no SQL: callers compute in Python."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._tables: dict[str, dict[str, _Stored]] = {s.table: {} for s in SPECS.values()}
        self._lock = threading.RLock()
        self._in_transaction = False

    @classmethod
    def open(cls, url: str) -> MemoryStorage:
        """The factory registered for ``memory://`` URLs."""
        return cls(url)

    def schema_version(self) -> int:
        return 1

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[MemoryUnitOfWork]:
        with self._lock:
            if self._in_transaction:
                raise StorageError("a transaction is already open on this storage")
            self._in_transaction = True
            uow = MemoryUnitOfWork(self._tables)
            try:
                yield uow
            except BaseException:
                uow.rollback()
                raise
            finally:
                self._in_transaction = False

    def close(self) -> None:
        for table in self._tables.values():
            table.clear()
