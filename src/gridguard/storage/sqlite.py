"""The builtin SQLite backend (stdlib ``sqlite3``): WAL, foreign keys, migrations.

One connection per :class:`SQLiteStorage`. Writes run in ``BEGIN
IMMEDIATE`` transactions, so a batch is wholly in or wholly out even when the
process is killed half-way; bulk writes are one ``executemany`` per batch.

Readers never wait for a writer (WAL: a read sees the last commit). A writer
that finds another write in progress waits for it, saying so once on stderr,
up to ``write_wait`` seconds (``GRIDGUARD_WRITE_WAIT``, 300 s by default),
and then gives up with :class:`~gridguard.errors.StoreBusy` before anything
was written. Entries that must not wait for a writer (the audit entries of
reads) go to a queue file beside the database (:meth:`SQLiteStorage.queue_later`)
and the next writer takes them in. No ``sqlite3`` exception leaves this module:
each becomes a named :class:`~gridguard.errors.StoreFault` (disk full,
read-only, corrupt, busy, foreign) or a :class:`~gridguard.errors.StorageError`.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from functools import partial
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import unquote, urlsplit

import attrs

from ..errors import ConfigError, StorageError, StoreForeign, ValidationError
from ..model.assessments import keyed_id
from ._checks import check_versions, encoded_filters, fact_conflicts, missing_references
from ._faults import (
    busy_error,
    corrupt_error,
    marker_record,
    print_notice,
    sqlite_fault,
    wait_notice,
    writer_since,
)
from ._faults import write_wait as _write_wait
from .base import SaveResult
from .capabilities import Within, ancestry
from .dialect import SqlDialect, SQLiteDialect
from .schema import Row, TableSpec, spec_for

if TYPE_CHECKING:
    from .capabilities import FieldEncryption, FieldKeyRing

__all__ = [
    "CHECK_ENV",
    "SCHEMA_VERSION",
    "SQLiteOpener",
    "SQLiteStorage",
    "SQLiteUnitOfWork",
    "active_key_id",
    "sqlite_fault",
    "sqlite_path",
]

T = TypeVar("T")
_CHUNK = 500
"""Ids per ``IN (...)`` query: well under SQLite's bound-parameter limit."""
CHECK_ENV = "GRIDGUARD_CHECK"
"""Set (to ``1``) to run ``PRAGMA quick_check`` on every store opened, see ``check``."""
_QUIET_WAIT_MS = 1000
"""How long a writer waits silently (SQLite's busy handler) before it says that it waits."""
_BUSY_MS = 10_000
"""SQLite's busy timeout outside the beginning of a write: a read meets a lock only while
SQLite recovers or rewrites the WAL (a crash, a ``VACUUM``), briefly."""


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


class StoreProbe(Exception):
    """Rolls a probing write back (:meth:`SQLiteStorage.check_writable`)."""


def _keyed_id(key: Any) -> str | None:
    """``gg_keyed_id(key)`` in SQL: :func:`~gridguard.model.assessments.keyed_id`, ``NULL`` kept."""
    return None if key is None else keyed_id(str(key))


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


_INSERT_SQL: dict[tuple[str, str], str] = {}
"""Each table's ``INSERT`` statement by conflict clause; table specs never change in a run."""


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
        Built once per table and conflict clause: a single-fact write pays no string work.
        """
        key = (spec.table, conflict)
        sql = _INSERT_SQL.get(key)
        if sql is None:
            sql = _INSERT_SQL[key] = self._build_insert_sql(spec, conflict)
        return sql

    @staticmethod
    def _build_insert_sql(spec: TableSpec, conflict: str) -> str:
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
        """See :class:`~gridguard.storage.capabilities.KeysetPaging`: ``LIMIT`` on the key."""
        spec = spec_for(cls)
        # The scope's terms are written ``+column`` so that SQLite walks the primary key
        # in order and stops at the limit, instead of reading the whole scope through the
        # jurisdiction index and sorting it.
        clause, params = self._where(spec, where, None)
        clauses = [clause.removeprefix(" WHERE ")] if clause else []
        if jurisdictions is not None:
            clauses.append(f"+jurisdiction IN ({', '.join('?' for _ in jurisdictions) or 'NULL'})")
            params.extend(jurisdictions)
        if after is not None:
            clauses.append("id > ?")
            params.append(str(after))
        for bound, op in ((since, ">="), (until, "<")):
            if bound is not None:
                clauses.append(f'"at" {op} ?')
                params.append(spec.encode_value("at", bound))
        if within is not None:
            chain = ancestry(cls, within.cls)
            if chain is None:
                return []
            ids = sorted(within.ids)
            inner = f"id IN ({', '.join('?' for _ in ids) or 'NULL'})"
            for n, (column, table) in enumerate(reversed(chain)):
                plus = "+" if n == len(chain) - 1 else ""
                inner = f'{plus}"{column}" IN (SELECT id FROM {table} WHERE {inner})'
            clauses.append(inner)
            params.extend(ids)
        filters = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        cols = ", ".join(f'"{c}"' for c in spec.column_names)
        rows = self._conn.execute(
            f"SELECT {cols} FROM {spec.table}{filters} ORDER BY id LIMIT ?",
            [*params, max(0, int(limit))],
        ).fetchall()
        sealing = self._sealing(spec)
        if sealing is not None:
            return [spec.decode(sealing.open_row(spec, row)) for row in rows]
        return [spec.decode(row) for row in rows]

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
        write_wait: float | None = None,
        check: bool | None = None,
        adopt: bool = False,
        on_wait: Callable[[str], None] = print_notice,
    ) -> None:
        """Open (create, migrate) the database at ``path``.

        ``write_wait`` is how long a writer waits for another write to end
        (default ``GRIDGUARD_WRITE_WAIT``, else 300 s); ``on_wait`` prints
        the line that says so (stderr). ``check`` runs ``PRAGMA
        quick_check`` first (default: when ``GRIDGUARD_CHECK`` is set), so a
        damaged file is a :class:`~gridguard.errors.StoreCorrupt` before any
        use. A SQLite file with tables gridguard did not create is a
        :class:`~gridguard.errors.StoreForeign` unless ``adopt`` (``gridguard
        init --adopt``) says to add gridguard's tables to it.

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
        self.write_wait = _write_wait(write_wait)
        """Seconds a writer waits for another write before :class:`~gridguard.errors.StoreBusy`."""
        self.on_wait = on_wait
        self._in_transaction = False
        self._marker_fd: int | None = None
        self._busy_ms = _BUSY_MS
        self._queue: sqlite3.Connection | None = None
        if check is None:
            check = os.environ.get(CHECK_ENV, "").strip() not in ("", "0")
        try:
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise sqlite_fault(exc, self.path) from exc
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {_BUSY_MS}")
            self._conn.create_function("gg_keyed_id", 1, _keyed_id, deterministic=True)
            if check:
                self.check_integrity()
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._migrate(adopt=adopt)
        except sqlite3.Error as exc:
            self._conn.close()
            raise sqlite_fault(exc, self.path) from exc
        except BaseException:
            self._conn.close()
            raise
        self.fields: FieldEncryption | None = None
        """Field encryption (see :mod:`gridguard.security.crypto`), or ``None`` when it is off."""
        if field_encryption:
            try:
                self.fields = self._open_fields(keyring, key_source)
            except sqlite3.Error as exc:
                self._conn.close()
                raise sqlite_fault(exc, self.path) from exc
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
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return 0
            raise sqlite_fault(exc, self.path) from exc
        except sqlite3.Error as exc:
            raise sqlite_fault(exc, self.path) from exc
        return 0 if row is None else int(row[0])

    def check_integrity(self) -> None:
        """Run ``PRAGMA quick_check``: a damaged file is a :class:`~gridguard.errors.StoreCorrupt`.

        It reads every page (a few seconds for a city's store), so it runs
        when asked (``check``, ``GRIDGUARD_CHECK``, ``gridguard --check``)
        and in ``gridguard audit verify``.
        """
        try:
            rows = [str(r[0]) for r in self._conn.execute("PRAGMA quick_check(5)")]
        except sqlite3.DatabaseError as exc:
            raise corrupt_error(self.path, str(exc)) from exc
        if rows != ["ok"]:
            raise corrupt_error(self.path, "; ".join(rows))

    def check_writable(self) -> None:
        """Write the schema version over itself and roll back: a read-only file or folder,
        or a full disk, is a :class:`~gridguard.errors.StoreFault` here, before any work."""
        with suppress(StoreProbe), self.transaction() as uow:
            uow.connection.execute(
                "UPDATE gridguard_meta SET value = value WHERE key = 'schema_version'"
            )
            raise StoreProbe

    def _foreign_tables(self) -> list[str]:
        """Tables of a store without gridguard's schema: those of another program."""
        return [
            str(r[0])
            for r in self._conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]

    def _migrate(self, *, adopt: bool = False) -> None:
        current = self.schema_version()
        if current == 0 and not adopt:
            foreign = self._foreign_tables()
            if foreign and foreign != ["gridguard_meta"]:
                shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
                raise StoreForeign(
                    f"{self.path!r} is a SQLite database that gridguard did not create "
                    f"({len(foreign)} table{'s' * (len(foreign) != 1)}: {shown}); it was left "
                    "as it is. To add "
                    "gridguard's tables to it, run `gridguard init --adopt`",
                    f"{self.path!r} 是一个并非由 gridguard 创建的 SQLite 数据库"
                    f"（{len(foreign)} 张表：{shown}），未作任何改动。"
                    "如需在其中加入 gridguard 的表，请运行 `gridguard init --adopt`",
                )
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
                self._wait_for_writer(partial(self._conn.executescript, script))
            except sqlite3.Error as exc:
                self._rollback()
                fault = sqlite_fault(exc, self.path)
                if type(fault) is StorageError:
                    fault = StorageError(f"migration {version} failed on {self.path!r}: {exc}")
                raise fault from exc

    # -- transactions ---------------------------------------------------------------------

    @property
    def _marker(self) -> Path:
        """The file where the writer holding the store notes since when it holds it.

        It stays beside the database (like ``-shm``). The holder of the write
        lock keeps one record in it, its process id and the minute its write
        began, rewritten only when it differs (another process wrote last, or
        a new minute began), so that a run of small writes pays one read of
        a few bytes each, not a write.
        """
        return Path(f"{self.path}-writer")

    def _mark(self) -> None:
        """Note in the marker that this process holds the store since this minute."""
        if self.path == ":memory:":
            return
        with suppress(OSError):
            if self._marker_fd is None:
                self._marker_fd = os.open(self._marker, os.O_RDWR | os.O_CREAT, 0o644)
            record = marker_record(os.getpid(), time.time())
            if os.pread(self._marker_fd, len(record), 0) != record:
                os.pwrite(self._marker_fd, record, 0)

    def _busy_timeout(self, ms: int) -> None:
        if ms != self._busy_ms:
            self._conn.execute(f"PRAGMA busy_timeout = {ms}")
            self._busy_ms = ms

    def _begin_write(self, *, wait: bool = True) -> None:
        """``BEGIN IMMEDIATE``, waiting for another writer up to :attr:`write_wait` seconds."""
        self._wait_for_writer(lambda: self._conn.execute("BEGIN IMMEDIATE"), wait=wait)
        self._mark()

    def _wait_for_writer(self, begin: Callable[[], object], *, wait: bool = True) -> None:
        """Run ``begin`` (which begins a write) until no other writer is in the way.

        The first second passes silently (a short write ends); then
        :attr:`on_wait` is told once, and the wait goes on until the limit,
        where :class:`~gridguard.errors.StoreBusy` is raised: nothing was
        begun, so nothing is half-stored. ``wait=False`` gives up at once.
        """
        started = time.monotonic()
        limit = self.write_wait if wait else 0.0
        quiet = min(_QUIET_WAIT_MS / 1000, limit / 2)
        noticed = False
        try:
            while True:
                waited = time.monotonic() - started
                # Each attempt waits inside SQLite (its busy handler) for at most a second,
                # never past the limit, and the first one for the quiet part alone.
                step = (quiet if not noticed else min(1.0, limit - waited)) if limit else 0.0
                self._busy_timeout(max(0, int(step * 1000)))
                try:
                    begin()
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) and "busy" not in str(exc):
                        raise
                    waited = time.monotonic() - started
                    if waited >= limit:
                        since, _ = writer_since(self._marker)
                        raise busy_error(self.path, since, waited) from None
                    if not noticed:
                        noticed = True
                        since, pid = writer_since(self._marker)
                        self.on_wait(wait_notice(self.path, since, pid, limit))
        finally:
            self._busy_timeout(_BUSY_MS)

    def _rollback(self) -> None:
        """Roll back what is open (SQLite has already, after a full disk), never failing."""
        if self._conn.in_transaction:
            with suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")

    def transaction(self, *, write: bool = True) -> AbstractContextManager[SQLiteUnitOfWork]:
        return self._transaction(write=write, wait=True)

    def try_write(self) -> AbstractContextManager[SQLiteUnitOfWork]:
        """A write transaction if no other write is in progress, else
        :class:`~gridguard.errors.StoreBusy` at once (see
        :class:`~gridguard.storage.capabilities.DeferredWrites`)."""
        return self._transaction(write=True, wait=False)

    def bulk_write(self) -> AbstractContextManager[SQLiteUnitOfWork]:
        """A write transaction in which SQLite does not check foreign keys row by row (see
        :class:`~gridguard.storage.capabilities.BulkWrites`): measured at 1,000,000 persons
        screened, the checks were 13 s of the 20 s it took to insert 1.8 million tasks."""
        return self._transaction(write=True, wait=True, checked=False)

    @contextmanager
    def _transaction(
        self, *, write: bool, wait: bool, checked: bool = True
    ) -> Iterator[SQLiteUnitOfWork]:
        if self._in_transaction:
            raise StorageError("a transaction is already open on this storage")
        self._in_transaction = True
        if not checked:  # SQLite takes this only outside a transaction
            self._conn.execute("PRAGMA foreign_keys = OFF")
        try:
            try:
                if write:
                    self._begin_write(wait=wait)
                else:
                    self._conn.execute("BEGIN")
            except sqlite3.Error as exc:
                self._rollback()
                raise sqlite_fault(exc, self.path) from exc
            try:
                yield self.unit_of_work(self._conn, self.fields)
            except sqlite3.Error as exc:
                self._rollback()
                raise sqlite_fault(exc, self.path) from exc
            except BaseException:
                self._rollback()
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise sqlite_fault(exc, self.path) from exc
        finally:
            self._in_transaction = False
            if not checked:
                self._rollback()  # nothing is open here; if it were, the pragma would not take
                with suppress(sqlite3.Error):  # a broken connection must not hide the error
                    self._conn.execute("PRAGMA foreign_keys = ON")

    # -- the queue of entries that must not wait for a writer ---------------------------

    @property
    def queue_path(self) -> str:
        """The queue file beside the database: ``<database>-queue``."""
        return f"{self.path}-queue"

    def _queue_conn(self, *, create: bool) -> sqlite3.Connection | None:
        if self._queue is not None:
            return self._queue
        if self.path == ":memory:":
            target = ":memory:"
        else:
            target = self.queue_path
            if not create and not Path(target).exists():
                return None
        try:
            conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS queued (n INTEGER PRIMARY KEY, "
                "id TEXT NOT NULL UNIQUE, body TEXT NOT NULL)"
            )
        except sqlite3.Error as exc:
            raise sqlite_fault(exc, target) from exc
        self._queue = conn
        return conn

    def queue_later(self, items: Sequence[tuple[str, str]]) -> None:
        """Keep ``(id, text)`` items in the queue file, for the next writer to take in.

        The queue has a lock of its own, held only while items are added or
        taken, so this never waits for a write of the store.
        """
        if not items:
            return
        conn = self._queue_conn(create=True)
        assert conn is not None
        try:
            with conn:
                conn.executemany(
                    "INSERT INTO queued (id, body) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
                    items,
                )
        except sqlite3.Error as exc:
            raise sqlite_fault(exc, self.queue_path) from exc

    def queued(self) -> list[tuple[str, str]]:
        """The items in the queue, oldest first (none when there is no queue file)."""
        conn = self._queue_conn(create=False)
        if conn is None:
            return []
        try:
            return [
                (str(i), str(b)) for i, b in conn.execute("SELECT id, body FROM queued ORDER BY n")
            ]
        except sqlite3.Error as exc:
            raise sqlite_fault(exc, self.queue_path) from exc

    def unqueue(self, ids: Collection[str]) -> None:
        """Drop the items ``ids`` from the queue (they are stored now)."""
        conn = self._queue_conn(create=False)
        if conn is None or not ids:
            return
        ordered = sorted(ids)
        try:
            with conn:
                for chunk in _chunks(ordered):
                    marks = ", ".join("?" for _ in chunk)
                    conn.execute(f"DELETE FROM queued WHERE id IN ({marks})", chunk)
        except sqlite3.Error as exc:
            raise sqlite_fault(exc, self.queue_path) from exc

    def close(self) -> None:
        if self._marker_fd is not None:
            with suppress(OSError):
                os.close(self._marker_fd)
            self._marker_fd = None
        if self._queue is not None:
            self._queue.close()
            self._queue = None
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
