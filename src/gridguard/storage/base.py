"""The storage protocol: a narrow interface with explicit transactions.

A backend opens a :class:`UnitOfWork` per transaction; everything written in
it is committed together or not at all. Registry entries are upserted (their
version goes up only when their content changes); facts are inserted once
(the same id again with the same content is a duplicate, with other content
a :class:`~gridguard.errors.ConflictError`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar, runtime_checkable

import attrs

from .dialect import SqlDialect

__all__ = ["SaveResult", "Storage", "UnitOfWork", "unstored"]

T = TypeVar("T")


@attrs.frozen
class SaveResult:
    """What a batch write did: rows written, and rows that were already there unchanged."""

    written: int = 0
    unchanged: int = 0

    def __add__(self, other: SaveResult) -> SaveResult:
        return SaveResult(self.written + other.written, self.unchanged + other.unchanged)

    @property
    def total(self) -> int:
        return self.written + self.unchanged


@runtime_checkable
class UnitOfWork(Protocol):
    """One transaction's view of the store."""

    def put(
        self, cls: type[Any], records: Sequence[Any], *, expect: Mapping[str, int] | None = None
    ) -> SaveResult:
        """Insert or update registry entries of ``cls`` (all of that class).

        ``expect`` maps ids to the version the caller read; a stored version
        that differs is a :class:`~gridguard.errors.ConflictError`. A record
        whose parent or another reference does not exist is a
        :class:`~gridguard.errors.ValidationError` with its path ``$[i].field``.
        """

    def save_facts(self, cls: type[Any], facts: Sequence[Any]) -> SaveResult:
        """Insert facts of ``cls``: new ones are written, exact repeats are ``unchanged``.

        A fact whose id is stored with other content is a
        :class:`~gridguard.errors.ConflictError`; an unknown reference a
        :class:`~gridguard.errors.ValidationError`.
        """

    def load_rows(self, cls: type[Any], rows: Iterable[Sequence[Any]]) -> int:
        """Bulk-insert already encoded rows (see :mod:`gridguard.storage.schema`).

        For trusted, validated sources such as the synthetic generator: rows
        are not decoded again. Returns how many rows were inserted.
        """

    def get(self, cls: type[T], id: str) -> T | None:
        """The record of ``cls`` with ``id``, or ``None``."""

    def version(self, cls: type[Any], id: str) -> int | None:
        """The stored version of a registry entry, or ``None`` if there is none."""

    def find(
        self,
        cls: type[T],
        *,
        where: Mapping[str, Any] | None = None,
        jurisdictions: Collection[str] | None = None,
    ) -> Iterator[T]:
        """Records of ``cls`` whose columns equal ``where``, in id order (facts: time, id).

        ``jurisdictions`` limits the result to rows owned by those
        communities. Results stream; a backend never loads a whole table.
        """

    def count(
        self,
        cls: type[Any],
        *,
        where: Mapping[str, Any] | None = None,
        jurisdictions: Collection[str] | None = None,
    ) -> int:
        """How many records :meth:`find` would return."""

    def jurisdiction_of(self, cls: type[Any], id: str) -> str | None:
        """The community that owns the record, or ``None`` if it does not exist."""

    def existing_ids(self, cls: type[Any], ids: set[str]) -> set[str]:
        """The subset of ``ids`` stored as records of ``cls``: one set-based look-up."""

    def query(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """Run SQL in the backend's :attr:`Storage.dialect` and stream the rows.

        For work pushed down into the database (rule screening, coverage,
        reports) so that a city is never loaded into Python. Parameters use
        the dialect's own :attr:`~gridguard.storage.dialect.SqlDialect.placeholder`
        (``?`` for SQLite, ``%s`` for PostgreSQL); literals are always
        parameters. A backend that runs no SQL (memory) raises
        :class:`~gridguard.errors.StorageError`, and callers then compute in Python.
        """


@runtime_checkable
class Storage(Protocol):
    """A storage backend, opened for one URL."""

    url: str

    @property
    def dialect(self) -> SqlDialect:
        """The backend's SQL dialect: what workflows and the rules' SQL compiler ask.

        A backend that runs no SQL (memory) has one whose
        :attr:`~gridguard.storage.dialect.SqlDialect.runs_sql` is false.
        """

    def transaction(self, *, write: bool = True) -> AbstractContextManager[UnitOfWork]:
        """Begin a transaction; commit on normal exit, roll back on an exception.

        ``write=False`` promises only reads, so a backend may take a shared
        lock or a read-only snapshot. Opening a second transaction while one
        is open is a :class:`~gridguard.errors.StorageError`.
        """

    def schema_version(self) -> int:
        """The schema version the store is at."""

    def close(self) -> None:
        """Release connections and files."""


class _Identified(Protocol):
    @property
    def id(self) -> object: ...


_T = TypeVar("_T", bound=_Identified)
"""A record with an ``id``."""


def unstored(uow: UnitOfWork, cls: type[Any], records: Iterable[_T]) -> list[_T]:
    """Those of ``records`` of ``cls`` whose id is not stored yet (the first of each id), in order.

    For workflows that derive records with stable ids (tasks, orders,
    assessments) and put only the new ones: one set-based look-up.
    """
    unique: dict[str, _T] = {}
    for record in records:
        unique.setdefault(str(record.id), record)
    stored = uow.existing_ids(cls, set(unique)) if unique else set()
    return [r for i, r in unique.items() if i not in stored]
