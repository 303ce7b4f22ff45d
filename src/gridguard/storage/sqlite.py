"""The builtin SQLite backend (stdlib ``sqlite3``): WAL, foreign keys, migrations.

One connection per :class:`SQLiteStorage`. Writes run in ``BEGIN
IMMEDIATE`` transactions, so a batch is wholly in or wholly out even when the
process is killed half-way; bulk writes are one ``executemany`` per batch.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import unquote, urlsplit

import attrs

from ..errors import ConfigError, StorageError, ValidationError
from ._checks import check_versions, encoded_filters, fact_conflicts, missing_references
from .base import SaveResult
from .dialect import SqlDialect, SQLiteDialect
from .schema import Row, TableSpec, spec_for

if TYPE_CHECKING:
    from .capabilities import FieldEncryption, FieldKeyRing

__all__ = [
    "SCHEMA_VERSION",
    "SQLiteOpener",
    "SQLiteStorage",
    "SQLiteUnitOfWork",
    "active_key_id",
    "sqlite_path",
]

T = TypeVar("T")
_CHUNK = 500
"""Ids per ``IN (...)`` query: well under SQLite's bound-parameter limit."""


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("gridguard.storage") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


SCHEMA_VERSION = max(v for v, _ in _migrations())
"""The schema version this gridguard writes."""


def sqlite_path(url: str) -> str:
    """The file path of a ``sqlite:///path`` URL (a bare path is taken as is).

    ``sqlite:///data/gg.db`` is relative, ``sqlite:////srv/gg.db`` absolute,
    ``sqlite:///:memory:`` an in-memory database.
    """
    if "://" not in url:
        return url
    parts = urlsplit(url)
    if parts.scheme != "sqlite":
        raise StorageError(f"not a SQLite URL: {url!r}")
    if parts.netloc:
        raise StorageError(f"a SQLite URL has no host: use sqlite:///path (got {url!r})")
    path = unquote(parts.path)
    return path[1:] if path.startswith("/") else path


def active_key_id(conn: sqlite3.Connection) -> str | None:
    """The id of the key the store is encrypted with, or ``None`` when it is not."""
    try:
        row = conn.execute("SELECT key_id FROM encryption_keys WHERE state = 'active'").fetchone()
    except sqlite3.OperationalError:  # a schema before version 10
        return None
    return None if row is None else str(row[0])


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class SQLiteUnitOfWork:
    """One transaction on a SQLite connection."""

    def __init__(self, conn: sqlite3.Connection, fields: FieldEncryption | None = None) -> None:
        self._conn = conn
        self.fields = fields
        """Field encryption of the store (``None``: off); see :mod:`gridguard.security.crypto`."""

    def _sealing(self, spec: TableSpec) -> FieldEncryption | None:
        fields = self.fields
        return fields if fields is not None and spec.table in fields.tables else None

    # -- writes ---------------------------------------------------------------------------

    def _insert_sql(self, spec: TableSpec, conflict: str) -> str:
        """``INSERT`` with numbered parameters: the jurisdiction comes from the parent row.

        Only areas (and rootless campaigns) carry their own jurisdiction as
        an extra parameter; every other row binds as it is, with no copying.
        """
        cols = ", ".join(f'"{c}"' for c in spec.column_names)
        marks = ", ".join(f"?{i}" for i in range(1, len(spec.columns) + 1))
        own = f"?{len(spec.columns) + 1}"
        if spec.parent is None:
            juris = own
        else:
            parent_table = spec_for(spec.parent.target).table
            parent = spec.column_names.index(spec.parent.column) + 1
            juris = f"(SELECT jurisdiction FROM {parent_table} WHERE id = ?{parent})"
            if spec.may_own_jurisdiction:
                juris = f"COALESCE({own}, {juris})"
        values = f"VALUES ({marks}, {juris})"
        return f"INSERT INTO {spec.table} ({cols}, jurisdiction) {values} {conflict}"

    def _params(self, spec: TableSpec, rows: Sequence[Row]) -> Iterable[Sequence[Any]]:
        if spec.may_own_jurisdiction:
            return ((*row, spec.own_jurisdiction(row)) for row in rows)
        return rows

    def existing_ids(self, cls: type[Any], ids: set[str]) -> set[str]:
        table = spec_for(cls).table
        found: set[str] = set()
        ordered = sorted(ids)
        for chunk in _chunks(ordered):
            marks = ", ".join("?" for _ in chunk)
            cur = self._conn.execute(f"SELECT id FROM {table} WHERE id IN ({marks})", chunk)
            found.update(r[0] for r in cur)
        return found

    def _execute_batch(self, spec: TableSpec, sql: str, rows: Sequence[Row]) -> int:
        before = self._conn.total_changes
        try:
            self._conn.executemany(sql, self._params(spec, rows))
        except sqlite3.IntegrityError as exc:
            violations = missing_references(spec, rows, self.existing_ids)
            if violations:
                raise ValidationError(violations) from None
            raise StorageError(f"{spec.table}: {exc}") from exc
        return self._conn.total_changes - before

    def put(
        self, cls: type[Any], records: Sequence[Any], *, expect: Mapping[str, int] | None = None
    ) -> SaveResult:
        spec = spec_for(cls)
        if spec.is_fact:
            raise TypeError(f"{cls.__name__} is a fact: use save_facts")
        if expect:
            stored = {k: v for k in expect if (v := self.version(cls, k)) is not None}
            check_versions(spec, expect, stored)
        rows = [spec.encode(r) for r in records]
        plain, sealing = rows, self._sealing(spec)
        if sealing is not None:
            rows = sealing.seal_rows(spec, rows)
        data_cols = [f'"{c}"' for c in spec.column_names[1:]]
        updates = ", ".join(f"{c} = excluded.{c}" for c in data_cols)
        changed = " OR ".join(f"{spec.table}.{c} IS NOT excluded.{c}" for c in data_cols)
        sql = self._insert_sql(
            spec,
            f"ON CONFLICT (id) DO UPDATE SET {updates}, jurisdiction = excluded.jurisdiction, "
            f"version = {spec.table}.version + 1 WHERE {changed}",
        )
        written = self._execute_batch(spec, sql, rows)
        if sealing is not None:
            sealing.write_index(self._conn, spec, plain)
        return SaveResult(written, len(rows) - written)

    def save_facts(self, cls: type[Any], facts: Sequence[Any]) -> SaveResult:
        spec = spec_for(cls)
        if not spec.is_fact:
            raise TypeError(f"{cls.__name__} is not a fact: use put")
        rows = [spec.encode(f) for f in facts]
        sealing = self._sealing(spec)
        if sealing is not None:
            rows = sealing.seal_rows(spec, rows)
        written = self._execute_batch(
            spec, self._insert_sql(spec, "ON CONFLICT (id) DO NOTHING"), rows
        )
        if written < len(rows):
            fact_conflicts(spec, rows, self._stored_rows(spec, [str(r[0]) for r in rows]))
        return SaveResult(written, len(rows) - written)

    def load_rows(self, cls: type[Any], rows: Iterable[Sequence[Any]]) -> int:
        spec = spec_for(cls)
        batch: list[Row] = rows if isinstance(rows, list) else [tuple(r) for r in rows]
        sealing = self._sealing(spec)
        if sealing is None:
            return self._execute_batch(spec, self._insert_sql(spec, ""), batch)
        sealed = sealing.seal_rows(spec, batch)
        loaded = self._execute_batch(spec, self._insert_sql(spec, ""), sealed)
        sealing.write_index(self._conn, spec, batch)
        return loaded

    # -- reads ----------------------------------------------------------------------------

    def _stored_rows(self, spec: TableSpec, ids: Sequence[str]) -> dict[str, Row]:
        cols = ", ".join(f'"{c}"' for c in spec.column_names)
        stored: dict[str, Row] = {}
        for chunk in _chunks(sorted(set(ids))):
            marks = ", ".join("?" for _ in chunk)
            for row in self._conn.execute(
                f"SELECT {cols} FROM {spec.table} WHERE id IN ({marks})", chunk
            ):
                stored[row[0]] = tuple(row)
        return stored

    def get(self, cls: type[T], id: str) -> T | None:
        spec = spec_for(cls)
        row = self._stored_rows(spec, [str(id)]).get(str(id))
        if row is None:
            return None
        sealing = self._sealing(spec)
        record: T = spec.decode(row if sealing is None else sealing.open_row(spec, row))
        return record

    def version(self, cls: type[Any], id: str) -> int | None:
        spec = spec_for(cls)
        if spec.is_fact:
            raise TypeError(f"{cls.__name__} is a fact; facts have no version")
        row = self._conn.execute(f"SELECT version FROM {spec.table} WHERE id = ?", (id,)).fetchone()
        return None if row is None else int(row[0])

    def jurisdiction_of(self, cls: type[Any], id: str) -> str | None:
        spec = spec_for(cls)
        row = self._conn.execute(
            f"SELECT jurisdiction FROM {spec.table} WHERE id = ?", (str(id),)
        ).fetchone()
        return None if row is None else str(row[0])

    def _where(
        self,
        spec: TableSpec,
        where: Mapping[str, Any] | None,
        jurisdictions: Collection[str] | None,
    ) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        sealing = self._sealing(spec)
        for name, value in encoded_filters(spec, where):
            blind = None if sealing is None else sealing.filter(spec, name, value)
            if blind is not None:
                clauses.append(blind[0])
                params.extend(blind[1])
            elif value is None:
                clauses.append(f'"{name}" IS NULL')
            else:
                clauses.append(f'"{name}" = ?')
                params.append(value)
        if jurisdictions is not None:
            marks = ", ".join("?" for _ in jurisdictions) or "NULL"
            clauses.append(f"jurisdiction IN ({marks})")
            params.extend(jurisdictions)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def find(
        self,
        cls: type[T],
        *,
        where: Mapping[str, Any] | None = None,
        jurisdictions: Collection[str] | None = None,
    ) -> Iterator[T]:
        spec = spec_for(cls)
        clause, params = self._where(spec, where, jurisdictions)
        cols = ", ".join(f'"{c}"' for c in spec.column_names)
        order = '"at", id' if spec.is_fact else "id"
        cur = self._conn.execute(
            f"SELECT {cols} FROM {spec.table}{clause} ORDER BY {order}", params
        )
        sealing = self._sealing(spec)
        if sealing is not None:
            while batch := cur.fetchmany(1000):
                for row in batch:
                    yield spec.decode(sealing.open_row(spec, row))
            return
        while batch := cur.fetchmany(1000):
            for row in batch:
                yield spec.decode(row)

    def count(
        self,
        cls: type[Any],
        *,
        where: Mapping[str, Any] | None = None,
        jurisdictions: Collection[str] | None = None,
    ) -> int:
        spec = spec_for(cls)
        clause, params = self._where(spec, where, jurisdictions)
        return int(
            self._conn.execute(f"SELECT count(*) FROM {spec.table}{clause}", params).fetchone()[0]
        )

    def query(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        cur = self._conn.execute(sql, params)
        fields = self.fields  # encrypted values come back opened, whatever the SQL
        while batch := cur.fetchmany(1000):
            if fields is None:
                yield from batch
            else:  # each sealed value is opened for the row that holds it
                yield from fields.open_rows(self._conn, batch)

    @property
    def connection(self) -> sqlite3.Connection:
        """The raw connection, for SQL that workflows push down into the database."""
        return self._conn


class SQLiteStorage:
    """A SQLite database file (or ``:memory:``) holding one gridguard workspace."""

    dialect: SqlDialect = SQLiteDialect()
    """SQLite's SQL: see :class:`~gridguard.storage.dialect.SQLiteDialect`."""
    unit_of_work: ClassVar[type[SQLiteUnitOfWork]] = SQLiteUnitOfWork
    """What :meth:`transaction` hands out: a backend built on this one may bring its own,
    with its own :attr:`dialect`."""

    def __init__(
        self,
        path: str | Path,
        *,
        url: str | None = None,
        keyring: FieldKeyRing | None = None,
        key_source: Callable[[], FieldKeyRing | None] | None = None,
        field_encryption: bool = True,
    ) -> None:
        """Open (create, migrate) the database at ``path``.

        ``keyring`` holds the field-encryption keys (a
        :class:`~gridguard.security.crypto.keys.KeyRing`); without it,
        ``key_source`` is asked for one (the builtin ``sqlite://`` factory
        reads ``GRIDGUARD_KEY_FILE`` or ``GRIDGUARD_KEY``). An encrypted store
        opened with no key is a :class:`~gridguard.errors.ConfigError`.
        ``field_encryption=False`` opens the raw rows, for key rotation.
        """
        self.path = str(path)
        self.url = url or f"sqlite:///{self.path}"
        if self.path != ":memory:":
            parent = Path(self.path).parent
            if not parent.exists():
                raise StorageError(f"folder {str(parent)!r} for the database does not exist")
        try:
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"cannot open SQLite database {self.path!r}: {exc}") from exc
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.execute("PRAGMA busy_timeout = 10000")
        self._in_transaction = False
        self._migrate()
        self.fields: FieldEncryption | None = None
        """Field encryption (see :mod:`gridguard.security.crypto`), or ``None`` when it is off."""
        if field_encryption:
            try:
                self.fields = self._open_fields(keyring, key_source)
            except BaseException:
                self._conn.close()
                raise

    def _open_fields(
        self, keyring: FieldKeyRing | None, key_source: Callable[[], FieldKeyRing | None] | None
    ) -> FieldEncryption | None:
        """The field encryption the key ring opens, or ``None`` for a store in clear."""
        if keyring is None and key_source is not None:
            keyring = key_source()
        where = repr(self.path)
        if keyring is not None:
            return keyring.field_encryption(self._conn, where=where)
        active = active_key_id(self._conn)
        if active is not None:
            raise ConfigError(
                f"{where} encrypts identity numbers and phones (key {active}): "
                "give its key with GRIDGUARD_KEY_FILE (a key file) or GRIDGUARD_KEY"
            )
        return None

    @classmethod
    def open(
        cls,
        url: str,
        *,
        keyring: FieldKeyRing | None = None,
        key_source: Callable[[], FieldKeyRing | None] | None = None,
    ) -> SQLiteStorage:
        """Open the store of a ``sqlite://`` URL; ``keyring`` and ``key_source`` as for the
        constructor."""
        return cls(sqlite_path(url), url=url, keyring=keyring, key_source=key_source)

    def schema_version(self) -> int:
        try:
            row = self._conn.execute(
                "SELECT value FROM gridguard_meta WHERE key = 'schema_version'"
            ).fetchone()
        except sqlite3.OperationalError:
            return 0
        return 0 if row is None else int(row[0])

    def _migrate(self) -> None:
        current = self.schema_version()
        if current > SCHEMA_VERSION:
            raise StorageError(
                f"database {self.path!r} has schema version {current}, newer than this "
                f"gridguard supports ({SCHEMA_VERSION}); upgrade gridguard"
            )
        for version, sql in _migrations():
            if version <= current:
                continue
            script = (
                "BEGIN IMMEDIATE;\n"
                "CREATE TABLE IF NOT EXISTS gridguard_meta "
                "(key TEXT PRIMARY KEY, value TEXT NOT NULL);\n"
                f"{sql}\n"
                "INSERT OR REPLACE INTO gridguard_meta (key, value) "
                f"VALUES ('schema_version', '{version}');\nCOMMIT;"
            )
            try:
                self._conn.executescript(script)
            except sqlite3.Error as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise StorageError(f"migration {version} failed on {self.path!r}: {exc}") from exc

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[SQLiteUnitOfWork]:
        if self._in_transaction:
            raise StorageError("a transaction is already open on this storage")
        self._in_transaction = True
        try:
            self._conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield self.unit_of_work(self._conn, self.fields)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        finally:
            self._in_transaction = False

    def close(self) -> None:
        self._conn.close()


@attrs.frozen
class SQLiteOpener:
    """The storage factory of ``sqlite://`` URLs, able to open a store with a key ring.

    It follows :class:`~gridguard.storage.capabilities.KeyRingOpener`;
    ``key_source`` is asked for a key ring when none is given.
    """

    key_source: Callable[[], FieldKeyRing | None] | None = None

    def __call__(self, url: str) -> SQLiteStorage:
        return SQLiteStorage.open(url, key_source=self.key_source)

    def open_encrypted(self, url: str, keyring: FieldKeyRing) -> SQLiteStorage:
        return SQLiteStorage.open(url, keyring=keyring)
