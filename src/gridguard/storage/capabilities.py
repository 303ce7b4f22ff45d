"""Optional backend capabilities: named protocols a backend may follow besides the storage one.

The storage protocol is :class:`~gridguard.storage.base.Storage` and
:class:`~gridguard.storage.base.UnitOfWork`. A workflow that can use a
faster or safer path asks ``isinstance(uow, NewRowSending)`` (or another
protocol here) and otherwise keeps to the protocol alone, so every
backend gives the same answers. These are all the capabilities core looks
for; :class:`gridguard.testing.StorageContract` checks a backend that
declares one against what it promises.

On units of work:

- :class:`NewRowLoading` and :class:`NewRowSending`: insert-if-absent of
  encoded rows in one statement (PostgreSQL), the second without waiting.
- :class:`RawConnection`: the driver connection, for the fast paths a
  workflow writes for one database (the outbox on SQLite).
- :class:`EncryptedFields`: the field encryption in force (also on a store).
- :class:`KeysetPaging`: one page of records in id order after a cursor,
  the scope filter applied in SQL, reading only that page's rows.

On stores: :class:`FileBacked` (the database file), :class:`StoreChecks`
(is the file whole, may it be written),
:class:`EncryptedFields`, :class:`DeferredWrites` (one writer at a time:
a write that must not wait goes to a queue beside the store) and
:class:`BulkWrites` (a write transaction without row-by-row foreign-key
checks, for set-based writes that check their references in bulk). On storage
factories: :class:`KeyRingOpener`,
which opens a store with a :class:`FieldKeyRing` (a
:class:`~gridguard.security.crypto.keys.KeyRing`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

import attrs

from .base import Storage, UnitOfWork

if TYPE_CHECKING:
    import sqlite3

    from .schema import Row, TableSpec

__all__ = [
    "BulkWrites",
    "DeferredWrites",
    "EncryptedFields",
    "FieldEncryption",
    "FieldKeyRing",
    "FileBacked",
    "KeyRingOpener",
    "KeysetPaging",
    "NewRowLoading",
    "NewRowSending",
    "RawConnection",
    "StoreChecks",
    "Within",
    "ancestry",
]

T = TypeVar("T")


@runtime_checkable
class NewRowLoading(Protocol):
    """A unit of work that inserts encoded rows whose id is absent, in one statement."""

    def load_new_rows(self, cls: type[Any], rows: Iterable[Sequence[Any]]) -> int:
        """Insert the rows of ``cls`` whose id is not stored; keep stored ones as they are.

        Returns how many were inserted. An unknown reference is a
        :class:`~gridguard.errors.ValidationError` with the row's path.
        """


@runtime_checkable
class NewRowSending(Protocol):
    """A unit of work that can leave an insert-if-absent running while the caller goes on."""

    def send_new_rows(self, cls: type[Any], rows: Iterable[Sequence[Any]]) -> int:
        """Like :meth:`NewRowLoading.load_new_rows`, without waiting for the database.

        Returns how many rows were sent. Every later use of the transaction
        waits for the write first; its error (an unknown reference) is raised
        there, at the latest at commit.
        """


@runtime_checkable
class RawConnection(Protocol):
    """A unit of work that hands out its driver connection (``sqlite3``, psycopg...)."""

    @property
    def connection(self) -> Any:
        """The connection the transaction runs on; statements on it are part of it."""


@runtime_checkable
class FileBacked(Protocol):
    """A store kept in one file on this machine."""

    @property
    def path(self) -> str:
        """The database file (``:memory:`` for an in-memory SQLite database)."""


@runtime_checkable
class StoreChecks(Protocol):
    """A store that can check its own file before it is trusted."""

    def check_integrity(self) -> None:
        """Read the whole store; a damaged one is a :class:`~gridguard.errors.StoreCorrupt`."""

    def check_writable(self) -> None:
        """Try a write and roll it back; a store that cannot be written is a
        :class:`~gridguard.errors.StoreReadOnly` (or another
        :class:`~gridguard.errors.StoreFault`)."""


@runtime_checkable
class DeferredWrites(Protocol):
    """A store with one writer at a time (SQLite), where a write may hold it for long.

    What must be written but must not wait for that writer (the audit
    entries of reads) is tried without waiting, and otherwise kept in a
    queue beside the store, which the next writer takes in.
    """

    def try_write(self) -> AbstractContextManager[UnitOfWork]:
        """A write transaction, or :class:`~gridguard.errors.StoreBusy` at once if another
        write is in progress."""

    def queue_later(self, items: Sequence[tuple[str, str]]) -> None:
        """Keep ``(id, text)`` items for a later writer; an id already queued is kept once."""

    def queued(self) -> list[tuple[str, str]]:
        """The items kept, oldest first."""

    def unqueue(self, ids: Collection[str]) -> None:
        """Drop the items ``ids``, now stored."""


@runtime_checkable
class BulkWrites(Protocol):
    """A store whose write transaction can leave foreign keys unchecked row by row (SQLite).

    For set-based writes of millions of rows that take their references,
    in the same transaction, from the rows they reference (a screening
    run's assessments and tasks): SQLite's look-up of each row's parents is
    then most of an insert's cost. The caller checks the references of what
    it wrote, once and in bulk, before the transaction ends.
    """

    def bulk_write(self) -> AbstractContextManager[UnitOfWork]:
        """A write transaction without row-by-row foreign-key checks; they are on again after
        it, whether it commits or fails."""


@runtime_checkable
class FieldEncryption(Protocol):
    """What a SQLite store asks of the encryption of personal columns.

    :class:`~gridguard.security.crypto.fields.FieldCrypt` follows it; the store seals
    rows on the way in, opens them on the way out and keeps blind indexes
    beside them, and never knows a key.
    """

    @property
    def tables(self) -> frozenset[str]:
        """The tables with encrypted columns."""

    def seal_rows(self, spec: TableSpec, rows: Iterable[Row]) -> list[Row]:
        """Encoded rows of ``spec`` with their encrypted columns sealed."""

    def open_row(self, spec: TableSpec, row: Sequence[Any]) -> Row:
        """A stored row of ``spec`` with its encrypted columns opened."""

    def open_rows(
        self, conn: sqlite3.Connection, rows: Sequence[Sequence[Any]]
    ) -> list[tuple[Any, ...]]:
        """Rows of any SQL result, each sealed value opened for the row holding it."""

    def write_index(self, conn: sqlite3.Connection, spec: TableSpec, rows: Sequence[Row]) -> None:
        """Write the blind indexes of ``rows`` (plain, before sealing)."""

    def filter(self, spec: TableSpec, column: str, value: Any) -> tuple[str, list[Any]] | None:
        """SQL and parameters finding ``column = value`` through a blind index, if it has one."""


@runtime_checkable
class EncryptedFields(Protocol):
    """A store (or unit of work) that may encrypt personal columns."""

    @property
    def fields(self) -> FieldEncryption | None:
        """The field encryption in force, or ``None`` when the store is in clear."""


@runtime_checkable
class FieldKeyRing(Protocol):
    """Keys a store opens its field encryption with (a
    :class:`~gridguard.security.crypto.keys.KeyRing`)."""

    def field_encryption(self, conn: sqlite3.Connection, *, where: str) -> FieldEncryption | None:
        """The field encryption of the SQLite database on ``conn`` with these keys.

        A store in clear holding no persons yet becomes encrypted; a wrong
        key, or a store in clear that already holds persons, is a
        :class:`~gridguard.errors.ConfigError` naming ``where``.
        """


@runtime_checkable
class KeyRingOpener(Protocol):
    """A storage factory that can open its store with a key ring (field encryption)."""

    def open_encrypted(self, url: str, keyring: FieldKeyRing) -> Storage:
        """Open the store at ``url`` with its personal columns encrypted under ``keyring``."""


def _ids(values: Iterable[str]) -> frozenset[str]:
    return frozenset(str(v) for v in values)


@attrs.frozen
class Within:
    """Rows that lie under one of ``ids`` of ``cls``, through their chain of parents.

    A household lies under its stairwell, building and area; a row of
    ``cls`` itself lies "under" it when its own id is one of ``ids``. A
    class whose chain of parents never reaches ``cls`` has no row within.
    The access gate builds one from a fine scope (a grid, a building).
    """

    cls: type[Any]
    ids: frozenset[str] = attrs.field(converter=_ids)


@runtime_checkable
class KeysetPaging(Protocol):
    """A unit of work that reads one page of records in id order, a page's rows and no more."""

    def page(
        self,
        cls: type[T],
        *,
        after: str | None,
        limit: int,
        where: Mapping[str, Any] | None = None,
        jurisdictions: Collection[str] | None = None,
        within: Within | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> list[T]:
        """At most ``limit`` records of ``cls`` whose id sorts after ``after``, in id order.

        Ids compare as text, code point by code point (as Python compares
        ``str``), so a cursor is simply the last id of the previous page.
        ``where`` and ``jurisdictions`` filter as in
        :meth:`~gridguard.storage.base.UnitOfWork.find`; ``within`` keeps the
        rows under some records (see :class:`Within`); ``since`` (inclusive)
        and ``until`` (exclusive) bound the ``at`` of a fact. Every filter is
        applied in the database, which reads the rows of the page (an
        ``ORDER BY id ... LIMIT`` on the primary key) and not the table.
        """


def ancestry(cls: type[Any], target: type[Any]) -> list[tuple[str, str]] | None:
    """The chain of parents from ``cls`` up to ``target``: ``(column, parent table)`` pairs.

    ``[]`` when ``cls`` is ``target``; ``None`` when the chain never reaches
    it (a backend then finds no row :class:`Within` it).
    """
    from .schema import spec_for

    chain: list[tuple[str, str]] = []
    current = cls
    while current is not target:
        spec = spec_for(current)
        if spec.parent is None or spec.parent.target is current:
            return None
        chain.append((spec.parent.column, spec_for(spec.parent.target).table))
        current = spec.parent.target
    return chain
