"""The PostgreSQL storage backend: psycopg 3, a connection pool, COPY for bulk writes.

A :class:`PostgresStorage` holds a pool of connections to one schema. Each
transaction borrows a connection; writes run at READ COMMITTED, where
``INSERT ... ON CONFLICT`` makes concurrent writers of the same fact store
it once, and reads at REPEATABLE READ, READ ONLY, for one consistent
snapshot. Every write call runs inside a savepoint, so a call that fails
(a bad reference, a conflict, a statement timeout) leaves nothing behind and
the error says so.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

import attrs
import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool, PoolTimeout

from gridguard.errors import StorageError, StoreCorrupt, StoreFull, StoreReadOnly, ValidationError
from gridguard.storage._checks import check_versions, fact_conflicts, missing_references, noun
from gridguard.storage.base import SaveResult
from gridguard.storage.capabilities import Within, ancestry
from gridguard.storage.schema import SPECS, Column, Reference, Row, TableSpec, spec_for

from ._copytext import copy_text
from ._dialect import PostgresDialect
from ._layout import (
    PG_TYPES,
    RETIRED_INDEXES,
    checked_by_plugin,
    constraint_ddl,
    fingerprint,
    index_ddl,
    layout_columns,
    load_expr,
    q,
    select_expr,
    self_resolved,
    table_ddl,
)
from ._url import Settings, parse_url

__all__ = ["EXTENSIONS", "PostgresStorage", "PostgresUnitOfWork"]

T = TypeVar("T")

EXTENSIONS = ("pg_trgm", "fuzzystrmatch")
"""Extensions gridguard installs when it may: trigram similarity and Levenshtein
distance, for matching outside lists against the registry inside the database."""

_LOADED_MAX = 100_000
"""Jurisdictions :meth:`PostgresUnitOfWork.load_rows` remembers at most, for the next level."""

UNNEST_MAX = 1000
"""Rows up to which a batch is sent as arrays in one statement; larger ones go by COPY."""

COPY_PIECE = 2_000
"""Rows :meth:`PostgresUnitOfWork.load_rows` formats and sends at a time."""

ANALYZE_FROM = 20_000
"""Rows a table must gain by bulk loads through one storage before it is analysed; then
each doubling."""

_JURIS = "gridguard_jurisdiction"
"""The staged column holding a jurisdiction worked out in Python."""


# -- errors ------------------------------------------------------------------------------------


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def storage_error(exc: psycopg.Error, doing: str, display: str) -> StorageError:
    """A clear :class:`StorageError` for a database error raised while ``doing`` something.

    A full disk, a read-only server and damaged data are the named
    :class:`~gridguard.errors.StoreFault` errors, with their message in
    English and Chinese, as on SQLite.
    """
    if isinstance(exc, pg_errors.OutOfMemory):
        return StorageError(
            f"PostgreSQL at {display} ran out of memory while {doing} ({_reason(exc)}): "
            "nothing of this transaction was stored; run it again, or in smaller batches"
        )
    if isinstance(exc, pg_errors.DiskFull):
        return StoreFull(
            f"PostgreSQL at {display} is out of disk space while {doing} ({_reason(exc)}): "
            "nothing of this transaction was stored; free some space and run it again",
            f"{display} 的 PostgreSQL 磁盘空间不足（{_reason(exc)}）：本次事务没有写入任何内容；"
            "请腾出空间后重试",
        )
    if isinstance(exc, pg_errors.ReadOnlySqlTransaction | pg_errors.InsufficientPrivilege):
        return StoreReadOnly(
            f"PostgreSQL at {display} refused a write while {doing} ({_reason(exc)}): the "
            "server or this user may only read; nothing was stored",
            f"{display} 的 PostgreSQL 拒绝写入（{_reason(exc)}）：服务器或该用户只读；"
            "没有写入任何内容",
        )
    if isinstance(exc, pg_errors.DataCorrupted | pg_errors.IndexCorrupted):
        return StoreCorrupt(
            f"PostgreSQL at {display} reports damaged data while {doing} ({_reason(exc)}): "
            "restore from a backup; nothing was stored",
            f"{display} 的 PostgreSQL 报告数据损坏（{_reason(exc)}）：请用备份恢复；"
            "没有写入任何内容",
        )
    if isinstance(exc, pg_errors.QueryCanceled):
        return StorageError(
            f"PostgreSQL cancelled the statement while {doing} at {display} "
            f"(statement timeout or cancel request: {_reason(exc)}); nothing of this call was "
            "stored and the transaction was rolled back: send the batch again"
        )
    if isinstance(exc, pg_errors.LockNotAvailable):
        return StorageError(
            f"a lock was not granted in time while {doing} at {display} ({_reason(exc)}); "
            "the transaction was rolled back: send the batch again"
        )
    if isinstance(exc, pg_errors.SerializationFailure | pg_errors.DeadlockDetected):
        return StorageError(
            f"PostgreSQL aborted the transaction while {doing} at {display} "
            f"({_reason(exc)}); nothing of it was stored: send the batch again"
        )
    if isinstance(exc, psycopg.OperationalError):
        return StorageError(
            f"lost the connection to PostgreSQL at {display} while {doing} ({_reason(exc)}); "
            "the server rolled the transaction back, nothing of it was stored: "
            "send the batch again once the server is reachable"
        )
    return StorageError(f"PostgreSQL refused {doing} at {display}: {_reason(exc)}")


# -- values ------------------------------------------------------------------------------------


def _as_text(value: Any) -> str | None:
    """A row value as the text a staged column holds (what COPY would send)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _uuid(value: Any) -> uuid.UUID | None:
    """``value`` as a UUID if it is one in the stored spelling, else ``None``.

    Stored UUIDs read as lower-case hyphenated text everywhere (SQLite keeps
    that text), so another spelling of the same number names nothing.
    """
    text = str(value)
    try:
        parsed = uuid.UUID(text)
    except ValueError:
        return None
    return parsed if str(parsed) == text else None


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
"""A UUID in the stored spelling (what ``str(uuid.UUID(text)) == text`` accepts)."""


def _id_params(spec: TableSpec, ids: Iterable[str]) -> tuple[str, Any]:
    """``= ANY(...)`` placeholder and value for ids of ``spec`` (bad UUIDs match nothing).

    UUIDs go as one array literal that the server parses: canonical ones
    need no quoting, and parsing each in Python cost more than the look-up.
    """
    if spec.columns[0].kind == "uuid":
        canonical = [v for v in map(str, ids) if _CANONICAL_UUID.fullmatch(v)]
        return "%s::text::uuid[]", "{" + ",".join(canonical) + "}"
    return "%s::text[]", [str(v) for v in ids]


def _by_ids(spec: TableSpec, columns: str, ids: Iterable[Any]) -> tuple[str, list[Any]]:
    """``SELECT <columns> FROM <spec's table> AS x`` for the rows of ``ids``, an index probe each.

    Written as a lateral sub-query per id rather than ``id = ANY(...)``: on a
    table that has not been analysed yet (one loaded moments ago) the planner
    guesses each id matches hundreds of rows and, for a batch of ids, picks a
    scan of the whole table, which made loading a city quadratic.
    ``OFFSET 0`` keeps the planner from flattening the sub-query into a join.
    """
    mark, values = _id_params(spec, ids)
    sql = (
        f"SELECT {columns} FROM unnest({mark}) AS u(id) CROSS JOIN LATERAL "
        f"(SELECT * FROM {q(spec.table)} AS t WHERE t.id = u.id OFFSET 0) AS x"
    )
    return sql, [values]


def _filter(column: Column, value: Any) -> tuple[str, Any]:
    """``"col" = ...`` with the encoded ``value`` cast as the column stores it."""
    col = q(column.name)
    if column.kind == "json":
        return f"{col}::text = %s", value
    if column.kind == "uuid":
        parsed = _uuid(value)
        if parsed is None:
            return "FALSE AND %s IS NULL", None
        return f"{col} = %s", parsed
    return f"{col} = {load_expr(column, '%s')}", _as_text(value)


_READS = re.compile(r"\s*(--[^\n]*\n\s*|/\*.*?\*/\s*)*(select|values|table|\(|with)\b", re.I | re.S)
_WRITES = re.compile(r"\b(insert|update|delete|merge)\b", re.I)


def _cursor_safe(sql: str) -> bool:
    """Whether ``sql`` can run in a server-side cursor (a query with no data change)."""
    found = _READS.match(sql)
    if found is None:
        return False
    return found.group(2).lower() != "with" or _WRITES.search(sql) is None


# -- writes left behind the caller ---------------------------------------------------------------


@attrs.frozen
class _Behind:
    """A write running in a transaction's writer thread."""

    doing: str
    spec: TableSpec
    rows: list[Row]
    done: Future[None]


@attrs.frozen
class _SendStatements:
    """The statements of :meth:`PostgresUnitOfWork.send_new_rows` for one table.

    Three round trips, so that the writer thread wakes up as seldom as it
    can: the savepoint and an empty staging table; the ``COPY``; then the
    reference checks, the insert and the release, as one simple query.
    """

    prefix: bytes
    copy: bytes
    body: bytes

    @classmethod
    def of(
        cls, spec: TableSpec, select_from: Callable[..., str], *, replica: bool
    ) -> _SendStatements:
        stage = q(f"gridguard_send_{spec.table}")
        names = ", ".join(q(c) for c in spec.column_names)
        columns = ", ".join(f"{q(c)} text" for c in spec.column_names)
        prefix = [
            "SAVEPOINT gridguard_call",
            *(["SET LOCAL session_replication_role = replica"] if replica else []),
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} ({columns})",
            f"TRUNCATE {stage}",
        ]
        body = []
        for ref in checked_by_plugin(spec):
            if ref is spec.parent or ref.many:
                continue  # the parent gives the jurisdiction (NOT NULL checks it)
            target = spec_for(ref.target)
            column = spec.columns[spec.column_names.index(ref.column)]
            value = load_expr(column, f"s.{q(ref.column)}")
            body.append(
                "DO $gridguard$ BEGIN IF EXISTS (SELECT 1 FROM "
                f"{stage} AS s WHERE s.{q(ref.column)} IS NOT NULL AND (SELECT x.id FROM "
                f"{q(target.table)} AS x WHERE x.id = {value} LIMIT 1) IS NULL) THEN "
                "RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', "
                f"MESSAGE = '{spec.table}.{ref.column} names an unknown record'; "
                "END IF; END $gridguard$"
            )
        select = select_from(spec, f"{stage} AS s", False, new=True)
        cols = ", ".join(q(c) for c in (*spec.column_names, "jurisdiction"))
        body.append(f"INSERT INTO {q(spec.table)} AS t ({cols}) {select} ON CONFLICT DO NOTHING")
        body.append("RELEASE SAVEPOINT gridguard_call")
        return cls(
            prefix="; ".join(prefix).encode(),
            copy=f"COPY {stage} ({names}) FROM STDIN".encode(),
            body="; ".join(body).encode(),
        )


# -- the unit of work ----------------------------------------------------------------------------


class PostgresUnitOfWork:
    """One transaction on a pooled connection."""

    def __init__(self, conn: psycopg.Connection[Any], storage: PostgresStorage) -> None:
        self._conn = conn
        self._storage = storage
        self._cursors = 0
        self._replica = False
        self._fast_load = False
        """Whether this transaction's commit already skips waiting for its log flush."""
        self._loaded: dict[str, dict[str, str]] = {}
        """Jurisdictions of rows this transaction just loaded, by table: the next
        level down (persons after households) finds its parents here."""
        self._absent: dict[str, set[str]] = {}
        """Ids :meth:`existing_ids` found absent since this transaction last wrote, by
        table: a write that follows the look-up (new tasks after the caller sorted
        out the stored ones) does not ask again."""
        self._behind: list[_Behind] = []
        """Writes left running on the server while the caller goes on, in order;
        every other use of the connection waits for them first (:meth:`settle`)."""
        self._writer: ThreadPoolExecutor | None = None
        self._giving_up = threading.Event()

    # -- plumbing ---------------------------------------------------------------------------

    def _fail(self, exc: psycopg.Error, doing: str) -> StorageError:
        return storage_error(exc, doing, self._storage.display_url)

    def _run(self, sql: str, params: Sequence[Any] | None = None) -> psycopg.Cursor[Any]:
        self.settle()
        return self._conn.execute(sql.encode(), params)

    def settle(self) -> None:
        """Wait for the writes left behind the caller; raise the first one's error here.

        A failed write has been undone whole (its savepoint rolled back), so
        the transaction goes on as if the call had failed when it was made;
        an unknown reference is reported as :meth:`load_new_rows` reports it.
        """
        pending, self._behind = self._behind, []
        for behind in pending:
            try:
                behind.done.result()
            except (pg_errors.ForeignKeyViolation, pg_errors.NotNullViolation) as exc:
                self._absent.clear()
                self._refuse_missing(behind.spec, behind.rows)
                raise self._fail(exc, behind.doing) from exc
            except psycopg.Error as exc:
                self._absent.clear()
                raise self._fail(exc, behind.doing) from exc

    def stop_writer(self, *, cancel: bool = False) -> None:
        """Wait for writes left behind, whatever their outcome, and stop the writer thread.

        For the end of the transaction: its commit or rollback follows. With
        ``cancel`` (the transaction is being rolled back) a write still
        running on the server is cancelled rather than waited for.
        """
        pending, self._behind = self._behind, []
        if cancel:
            self._giving_up.set()  # writes not started yet do not start; steps not begun neither
            running = {b.done for b in pending}
            # A cancel request reaches only the statement running when it arrives:
            # repeat it until the writes are over.
            while running and not self._conn.broken:
                with suppress(psycopg.Error):
                    self._conn.cancel_safe(timeout=5)
                running = wait(running, timeout=0.2).not_done
        for behind in pending:
            with suppress(BaseException):
                behind.done.result()
        if self._writer is not None:
            self._writer.shutdown()
            self._writer = None

    def _step(self) -> None:
        """In the writer thread, before each round trip: stop if the transaction is ending."""
        if self._giving_up.is_set():
            raise StorageError("not written: the transaction is being rolled back")

    def _leave_behind(
        self, spec: TableSpec, rows: list[Row], work: Callable[[psycopg.Connection[Any]], None]
    ) -> None:
        """Run ``work`` on the connection in this transaction's writer thread, in order.

        A write after a failed one does not start: :meth:`settle` reports the first.
        """
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="gridguard-postgres")
        conn, earlier = self._conn, [b.done for b in self._behind]

        def run() -> None:
            if any(f.exception() is not None for f in earlier):
                raise StorageError("not written: an earlier write of this transaction failed")
            self._step()
            work(conn)

        done = self._writer.submit(run)
        self._behind.append(_Behind(f"loading {spec.table}", spec, rows, done))

    def _checked_writes(self) -> None:
        """Before a write other than a bulk load: foreign-key triggers on, no cached look-ups.

        (A record moved to another jurisdiction carries its children along,
        so jurisdictions cached by :meth:`load_rows` may no longer hold.)
        """
        self._loaded.clear()
        if self._replica:
            self._run("SET LOCAL session_replication_role = origin")
            self._replica = False

    @contextmanager
    def _atomic(self, doing: str, *, bulk: bool = False) -> Iterator[None]:
        """Run a write call in a savepoint: on any error it leaves nothing behind."""
        replica, fast = self._replica, self._fast_load
        try:
            if not bulk:
                self._checked_writes()
            self._run("SAVEPOINT gridguard_call")
        except psycopg.Error as exc:
            raise self._fail(exc, doing) from exc
        try:
            yield
        except BaseException as exc:
            self._absent.clear()
            self._undo()
            self._replica = replica if bulk else False  # the savepoint undid any SET LOCAL
            self._fast_load = fast
            if isinstance(exc, psycopg.Error):
                raise self._fail(exc, doing) from exc
            raise
        self._absent.clear()  # the call may have stored any of them
        try:
            self._run("RELEASE SAVEPOINT gridguard_call")
        except psycopg.Error as exc:
            raise self._fail(exc, doing) from exc

    def _undo(self) -> None:
        if self._conn.broken:
            return
        with suppress(psycopg.Error):
            self._run("ROLLBACK TO SAVEPOINT gridguard_call")

    @contextmanager
    def _reading(self, doing: str) -> Iterator[None]:
        try:
            yield
        except psycopg.Error as exc:
            raise self._fail(exc, doing) from exc

    def _source(
        self, spec: TableSpec, rows: Sequence[Row], jurisdictions: Sequence[str] | None
    ) -> tuple[str, list[Any]]:
        """The batch as a row source ``s``: arrays for small batches, a COPY-filled table else."""
        names = [q(c) for c in spec.column_names] + ([q(_JURIS)] if jurisdictions else [])
        width = len(spec.columns)
        if len(rows) <= UNNEST_MAX:
            arrays: list[list[str | None]] = [[_as_text(r[i]) for r in rows] for i in range(width)]
            if jurisdictions:
                arrays.append(list(jurisdictions))
            marks = ", ".join("%s::text[]" for _ in arrays)
            return f"unnest({marks}) AS s ({', '.join(names)})", arrays
        stage = q(f"gridguard_stage_{spec.table}")
        cols = ", ".join(f"{n} text" for n in names)
        self._run(f"CREATE TEMP TABLE IF NOT EXISTS {stage} ({cols})")
        self._run(f"TRUNCATE {stage}")
        with self._conn.cursor() as cur, cur.copy(f"COPY {stage} FROM STDIN") as copy:
            if self._conn.info.encoding == "utf-8":
                extra = [jurisdictions] if jurisdictions else []
                for n in range(0, len(rows), COPY_PIECE):
                    piece = slice(n, n + COPY_PIECE)
                    copy.write(copy_text(rows[piece], *(e[piece] for e in extra)).encode())
            elif jurisdictions:
                for row, juris in zip(rows, jurisdictions, strict=True):
                    copy.write_row((*row, juris))
            else:
                for row in rows:
                    copy.write_row(row)
        return f"{stage} AS s", []

    def _select_from(self, spec: TableSpec, source: str, resolved: bool, *, new: bool) -> str:
        """``SELECT <typed columns>, <jurisdiction> FROM <source>``.

        A row's jurisdiction is its parent's, looked up by id for each row
        (an index probe, whatever the size of the parent table); an unknown
        parent gives NULL, which the NOT NULL jurisdiction refuses. With
        ``new``, ids stored in any jurisdiction are left out, so that an id
        names one record across the whole store.
        """
        values = [load_expr(c, f"s.{q(c.name)}") for c in spec.columns]
        if resolved or spec.parent is None:
            juris = f"s.{q(_JURIS)}"
        else:
            parent = spec_for(spec.parent.target)
            column = spec.columns[spec.column_names.index(spec.parent.column)]
            juris = (
                f"(SELECT p.jurisdiction FROM {q(parent.table)} AS p "
                f"WHERE p.id = {load_expr(column, f's.{q(column.name)}')})"
            )
        select = f"SELECT {', '.join(values)}, {juris} FROM {source}"
        if new:
            # A scalar sub-query, not NOT EXISTS: the planner would make that an
            # anti-join and might scan the whole table for each batch.
            select += (
                f" WHERE (SELECT x.id FROM {q(spec.table)} AS x "
                f"WHERE x.id = {values[0]} LIMIT 1) IS NULL"
            )
        return select

    # -- references and jurisdictions ------------------------------------------------------

    def existing_ids(self, cls: type[Any], ids: set[str]) -> set[str]:
        spec = spec_for(cls)
        sql, params = _by_ids(spec, "x.id::text", sorted(ids))
        found = {r[0] for r in self._run(sql, params)}
        self._absent.setdefault(spec.table, set()).update(str(i) for i in ids if i not in found)
        return found

    def _known_absent(self, spec: TableSpec, ids: set[str]) -> bool:
        """Whether :meth:`existing_ids` found every one of ``ids`` absent, with no write since."""
        return ids <= self._absent.get(spec.table, set())

    def _refuse_missing(self, spec: TableSpec, rows: Sequence[Row]) -> None:
        violations = missing_references(spec, rows, self.existing_ids)
        if violations:
            raise ValidationError(violations)

    def _check_plugin_references(self, spec: TableSpec, rows: Sequence[Row]) -> None:
        """References no foreign key enforces: refuse the batch if any is unknown.

        One query per such reference and batch; only when one is missing are
        all references checked again, for the full report with paths.
        """
        names = spec.column_names
        for ref in checked_by_plugin(spec):
            index = names.index(ref.column)
            wanted = {i for row in rows for i in _reference_ids(ref, row[index])}
            if ref.target is spec.cls:
                wanted -= {str(row[0]) for row in rows}
            if wanted and self.existing_ids(ref.target, wanted) != wanted:
                self._refuse_missing(spec, rows)
                return

    def _parents_missing(self, spec: TableSpec, rows: Sequence[Row]) -> bool:
        """Whether a parent named by ``rows`` is unknown (one look-up)."""
        if spec.parent is None:
            return False
        index = spec.column_names.index(spec.parent.column)
        wanted = {str(row[index]) for row in rows if row[index] is not None}
        return bool(wanted) and self.existing_ids(spec.parent.target, wanted) != wanted

    def _check_fact_references(
        self, spec: TableSpec, rows: Sequence[Row], first: Mapping[str, int]
    ) -> bool:
        """Refuse facts with unknown references exactly where SQLite does.

        Every row needs its parent (the insert's jurisdiction look-up checks
        the rows it inserts; repeats of an id are checked here, and rows
        whose id was stored before by :meth:`save_facts` after the insert).
        Other references count only for the rows that are inserted, new ids,
        as a foreign key is only checked on a row written; when one is
        unknown, the report lists every unknown reference of the batch.
        Returns whether every row's parent was checked.
        """
        names = spec.column_names
        others = [
            (ref, names.index(ref.column))
            for ref in checked_by_plugin(spec)
            if ref is not spec.parent
        ]
        others = [(r, i) for r, i in others if any(row[i] is not None for row in rows)]
        repeats = len(first) < len(rows)
        if not others and not repeats:
            return False
        missing = False
        if repeats:
            missing = self._parents_missing(spec, rows)
        if others and not missing:
            stored = self.existing_ids(spec.cls, set(first))
            fresh = [rows[n] for i, n in first.items() if i not in stored]
            for ref, index in others:
                wanted = {x for row in fresh for x in _reference_ids(ref, row[index])}
                if wanted and self.existing_ids(ref.target, wanted) != wanted:
                    missing = True
                    break
        if missing:
            self._refuse_missing(spec, rows)
        return repeats

    def _resolve_jurisdictions(self, spec: TableSpec, rows: Sequence[Row]) -> list[str]:
        """Jurisdictions worked out in Python: own ones, and parents earlier in the batch."""
        self._refuse_missing(spec, rows)
        wanted = {p for row in rows if (p := spec.parent_id(row)) is not None}
        known: dict[str, str] = {}
        if wanted and spec.parent is not None:
            parent = spec_for(spec.parent.target)
            sql, params = _by_ids(parent, "x.id::text, x.jurisdiction", sorted(wanted))
            known = dict(self._run(sql, params).fetchall())
        out: list[str] = []
        for row in rows:
            juris = spec.own_jurisdiction(row)
            if juris is None:
                juris = known.get(spec.parent_id(row) or "")
            if juris is None:
                raise StorageError(f"{spec.table}: no jurisdiction for {row[0]!r}")
            if spec.parent is not None and spec.parent.target is spec.cls:
                known[str(row[0])] = juris
            out.append(juris)
        return out

    def _insert(
        self,
        spec: TableSpec,
        rows: Sequence[Row],
        conflict: str,
        *,
        moves: bool = False,
        new: bool = False,
    ) -> int:
        """Insert ``rows`` with their jurisdictions; returns the rows written."""
        resolved = self_resolved(spec)
        jurisdictions = self._resolve_jurisdictions(spec, rows) if resolved else None
        source, params = self._source(spec, rows, jurisdictions)
        select = self._select_from(spec, source, resolved, new=new)
        cols = ", ".join(q(c) for c in (*spec.column_names, "jurisdiction"))
        insert = f"INSERT INTO {q(spec.table)} AS t ({cols}) {select} {conflict}"
        moved = 0
        try:
            if moves:
                moved = self._move(
                    spec, self._select_from(spec, source, resolved, new=False), params
                )
            cur = self._run(insert, params)
        except (pg_errors.NotNullViolation, pg_errors.ForeignKeyViolation) as exc:
            self._undo()
            self._refuse_missing(spec, rows)
            raise self._fail(exc, f"writing {spec.table}") from exc
        return moved + max(cur.rowcount, 0)

    def _move(self, spec: TableSpec, select: str, params: Sequence[Any]) -> int:
        """Records whose new parent is in another jurisdiction: moved, with their children.

        The update changes the key's jurisdiction, and ``ON UPDATE CASCADE``
        carries every row below along; the upsert that follows then finds
        the record where it now belongs, unchanged. Returns the rows moved.
        """
        names = [q(c) for c in (*spec.column_names[1:], "jurisdiction")]
        cols = ", ".join(q(c) for c in (*spec.column_names, "jurisdiction"))
        cur = self._run(
            f"UPDATE {q(spec.table)} AS t SET ({', '.join(names)}) = "
            f"({', '.join('n.' + n for n in names)}), version = t.version + 1 "
            f"FROM ({select}) AS n ({cols}) WHERE t.id = n.id "
            "AND n.jurisdiction IS NOT NULL AND t.jurisdiction <> n.jurisdiction",
            params,
        )
        return max(cur.rowcount, 0)

    # -- writes -----------------------------------------------------------------------------

    def put(
        self, cls: type[Any], records: Sequence[Any], *, expect: Mapping[str, int] | None = None
    ) -> SaveResult:
        spec = spec_for(cls)
        if spec.is_fact:
            raise TypeError(f"{cls.__name__} is a fact: use save_facts")
        rows = [spec.encode(r) for r in records]
        if not rows and not expect:
            return SaveResult()
        written = 0
        with self._atomic(f"writing {spec.table}"):
            if expect:
                mark, values = _id_params(spec, list(expect))
                cur = self._run(
                    f"SELECT id::text, version FROM {q(spec.table)} "
                    f"WHERE id = ANY({mark}) FOR UPDATE",
                    [values],
                )
                check_versions(spec, expect, {k: int(v) for k, v in cur})
            self._check_plugin_references(spec, rows)
            data = spec.columns[1:]
            updates = ", ".join(f"{q(c.name)} = EXCLUDED.{q(c.name)}" for c in data)
            old = ", ".join(
                f"t.{q(c.name)}::text" if c.kind == "json" else f"t.{q(c.name)}" for c in data
            )
            new = ", ".join(
                f"EXCLUDED.{q(c.name)}::text" if c.kind == "json" else f"EXCLUDED.{q(c.name)}"
                for c in data
            )
            conflict = (
                f"ON CONFLICT (jurisdiction, id) DO UPDATE SET {updates}, "
                f"version = t.version + 1 WHERE ROW({old}) IS DISTINCT FROM ROW({new})"
            )
            # Only stored records can move (or one given twice): when no id is
            # stored (new tasks, orders, places), one look-up saves the update's join.
            ids = {str(row[0]) for row in rows}
            moves = len(ids) < len(rows) or (
                not self._known_absent(spec, ids) and bool(self.existing_ids(spec.cls, ids))
            )
            for batch in _distinct_id_batches(rows):
                written += self._insert(spec, batch, conflict, moves=moves)
        return SaveResult(written, len(rows) - written)

    def save_facts(self, cls: type[Any], facts: Sequence[Any]) -> SaveResult:
        spec = spec_for(cls)
        if not spec.is_fact:
            raise TypeError(f"{cls.__name__} is not a fact: use put")
        rows = [spec.encode(f) for f in facts]
        if not rows:
            return SaveResult()
        with self._atomic(f"writing {spec.table}"):
            # The key is (id, jurisdiction): two rows of one id under different
            # parents would both go in. Only an id's first row is inserted; the
            # others are compared with it below, as stored facts are.
            first: dict[str, int] = {}
            for n, row in enumerate(rows):
                first.setdefault(str(row[0]), n)
            parents_checked = self._check_fact_references(spec, rows, first)
            inserted = [rows[n] for n in first.values()]
            # Ids stored in another jurisdiction are left out, unless the caller
            # has just found every one absent (a screening's new assessments).
            new = not self._known_absent(spec, set(first))
            written = self._insert(spec, inserted, "ON CONFLICT DO NOTHING", new=new)
            if written < len(rows):
                # Rows not inserted (ids stored before) still need their parent.
                if not parents_checked and self._parents_missing(spec, rows):
                    self._refuse_missing(spec, rows)
                fact_conflicts(spec, rows, self._stored_rows(spec, [str(r[0]) for r in rows]))
        return SaveResult(written, len(rows) - written)

    def load_rows(self, cls: type[Any], rows: Iterable[Sequence[Any]]) -> int:
        """COPY trusted rows straight into the table, each with its parent's jurisdiction.

        The parents' jurisdictions are read in one query (an unknown parent is
        a :class:`ValidationError` before anything is sent); a row whose id
        is already stored in the same jurisdiction fails the primary key and
        the call. When the role may, the per-row foreign-key triggers are
        skipped for the COPY: the look-up has just proved every parent, and
        gridguard never deletes. A transaction that loads registry rows
        commits without waiting for its log flush (``synchronous_commit``
        off): a crash right after may lose it whole, never part of it.
        """
        spec = spec_for(cls)
        batch: list[Row] = rows if isinstance(rows, list) else [tuple(r) for r in rows]
        if not batch:
            return 0
        ids = _as_strings([row[0] for row in batch])
        with self._atomic(f"loading {spec.table}", bulk=True):
            if len(set(ids)) < len(batch):
                seen: set[Any] = set()
                twice = next(row[0] for row in batch if row[0] in seen or _add(seen, row[0]))
                raise StorageError(
                    f"{spec.table}: id {twice!r} is loaded twice in one batch "
                    "(load_rows inserts new rows only)"
                )
            self._check_plugin_references(spec, batch)
            jurisdictions = self._parent_jurisdictions(spec, batch)
            cols = ", ".join(q(c) for c in (*spec.column_names, "jurisdiction"))
            if self._storage.bulk_skips_triggers and not self._replica:
                self._run("SET LOCAL session_replication_role = replica")
                self._replica = True
            if not self._fast_load and not spec.is_fact:
                self._run("SET LOCAL synchronous_commit = off")
                self._fast_load = True
            try:
                with (
                    self._conn.cursor() as cur,
                    cur.copy(f"COPY {q(spec.table)} ({cols}) FROM STDIN".encode()) as copy,
                ):
                    if self._conn.info.encoding == "utf-8":
                        # In pieces: the server parses one while the next is made.
                        for n in range(0, len(batch), COPY_PIECE):
                            piece = slice(n, n + COPY_PIECE)
                            copy.write(copy_text(batch[piece], jurisdictions[piece]).encode())
                    else:
                        for row, juris in zip(batch, jurisdictions, strict=True):
                            copy.write_row((*row, juris))
            except pg_errors.UniqueViolation as exc:
                raise StorageError(
                    f"{spec.table}: {_reason(exc)} (load_rows inserts new rows only)"
                ) from exc
            self._grew(spec, len(batch))
        if len(self._loaded) > 4 or sum(map(len, self._loaded.values())) > _LOADED_MAX:
            self._loaded.clear()
        self._loaded[spec.table] = dict(zip(ids, jurisdictions, strict=True))
        return len(batch)

    def load_new_rows(self, cls: type[Any], rows: Iterable[Sequence[Any]]) -> int:
        """:meth:`load_rows` for rows whose id may be stored already: those are left as they are.

        One insert-if-absent statement where a look-up of the stored ids and
        a load would be two round trips and two passes over the ids (the
        outbox enqueues this way). Of an id given twice the first row counts.
        Parents are looked up and foreign-key triggers skipped as in
        :meth:`load_rows`. Returns the rows inserted.
        """
        spec = spec_for(cls)
        batch = _first_of_each_id(rows)
        if not batch:
            return 0
        with self._atomic(f"loading {spec.table}", bulk=True):
            self._check_plugin_references(spec, batch)
            jurisdictions = self._parent_jurisdictions(spec, batch)
            if self._storage.bulk_skips_triggers and not self._replica:
                self._run("SET LOCAL session_replication_role = replica")
                self._replica = True
            source, params = self._source(spec, batch, jurisdictions)
            select = self._select_from(spec, source, True, new=True)
            cols = ", ".join(q(c) for c in (*spec.column_names, "jurisdiction"))
            cur = self._run(
                f"INSERT INTO {q(spec.table)} AS t ({cols}) {select} ON CONFLICT DO NOTHING",
                params,
            )
        return max(cur.rowcount, 0)

    def send_new_rows(self, cls: type[Any], rows: Iterable[Sequence[Any]]) -> int:
        """:meth:`load_new_rows` that returns before the server has stored the rows.

        The rows are staged and inserted by this transaction's writer thread
        while the caller goes on preparing its next write, and the next use of
        the transaction (or its commit) waits for them (:meth:`settle`). The
        server checks what :meth:`load_new_rows` checks: every parent (it
        gives the row its jurisdiction) and every reference no foreign key
        enforces. Returns the number of distinct rows sent, not how many were
        new; an error (an unknown reference, a lost connection) is raised by
        that next use, with nothing of these rows stored.
        """
        spec = spec_for(cls)
        if self_resolved(spec) or spec.parent is None or self._conn.info.encoding != "utf-8":
            return self.load_new_rows(cls, rows)
        batch = _first_of_each_id(rows)
        if not batch:
            return 0
        pieces = [
            copy_text(batch[n : n + COPY_PIECE]).encode() for n in range(0, len(batch), COPY_PIECE)
        ]
        replica = self._storage.bulk_skips_triggers
        statements = _SendStatements.of(spec, self._select_from, replica=replica)
        self._absent.clear()
        self._replica = self._replica or replica

        def work(conn: psycopg.Connection[Any]) -> None:
            try:
                conn.execute(statements.prefix)
                self._step()
                with conn.cursor() as cur, cur.copy(statements.copy) as copy:
                    for piece in pieces:
                        copy.write(piece)
                self._step()
                conn.execute(statements.body)
            except BaseException:
                if not conn.broken:
                    with suppress(psycopg.Error):
                        conn.execute(b"ROLLBACK TO SAVEPOINT gridguard_call")
                raise

        self._leave_behind(spec, batch, work)
        return len(batch)

    def _grew(self, spec: TableSpec, rows: int) -> None:
        """Analyse a registry table when bulk loads here have doubled it since the last time.

        Planner statistics of a table loaded moments ago say nothing (and
        the server's autovacuum may be off, or minutes behind): the queries
        that follow a bulk load, screening first, would be planned for an
        empty table. One ``ANALYZE`` samples at most 30,000 rows, so a
        city of millions is analysed a handful of times as it grows. Only
        bulk loads do this: ``ANALYZE`` holds a lock on the table until the
        commit, which twenty concurrent writers should not queue on.
        """
        if rows <= 0 or spec.is_fact:
            return  # (facts loaded in bulk are outbox messages: nothing plans on their sizes)
        grown = self._storage.grown
        done, analysed = grown.get(spec.table, (0, 0))
        done += rows
        if done >= ANALYZE_FROM and done >= 2 * analysed:
            self._run(f"ANALYZE {q(spec.table)}")
            analysed = done
        grown[spec.table] = (done, analysed)

    def _parent_jurisdictions(self, spec: TableSpec, rows: Sequence[Row]) -> list[str]:
        """Each row's jurisdiction, from its parent (one query) or from itself."""
        if self_resolved(spec) or spec.parent is None:
            return self._resolve_jurisdictions(spec, rows)
        index = spec.column_names.index(spec.parent.column)
        parent = spec_for(spec.parent.target)
        known = self._loaded.get(parent.table, {})
        parents = _as_strings([row[index] for row in rows])
        wanted = sorted(set(parents).difference(known))
        if wanted:
            sql, params = _by_ids(parent, "x.id::text, x.jurisdiction", wanted)
            known = {**known, **dict(self._run(sql, params).fetchall())}
        out = list(map(known.get, parents))
        if None in out:
            self._refuse_missing(spec, rows)
            raise StorageError(f"{spec.table}: a parent vanished while loading")
        return out  # type: ignore[return-value]

    # -- reads ------------------------------------------------------------------------------

    def _stored_rows(self, spec: TableSpec, ids: Sequence[str]) -> dict[str, Row]:
        cols = ", ".join(select_expr(c, "x") for c in spec.columns)
        sql, params = _by_ids(spec, cols, sorted(set(ids)))
        return {str(row[0]): tuple(row) for row in self._run(sql, params)}

    def get(self, cls: type[T], id: str) -> T | None:
        spec = spec_for(cls)
        with self._reading(f"reading {spec.table}"):
            row = self._stored_rows(spec, [str(id)]).get(str(id))
        return None if row is None else spec.decode(row)

    def _one(self, spec: TableSpec, column: str, id: str) -> Any:
        mark, values = _id_params(spec, [str(id)])
        with self._reading(f"reading {spec.table}"):
            row = self._run(
                f"SELECT {column} FROM {q(spec.table)} WHERE id = ANY({mark})", [values]
            ).fetchone()
        return None if row is None else row[0]

    def version(self, cls: type[Any], id: str) -> int | None:
        spec = spec_for(cls)
        if spec.is_fact:
            raise TypeError(f"{cls.__name__} is a fact; facts have no version")
        found = self._one(spec, "version", id)
        return None if found is None else int(found)

    def jurisdiction_of(self, cls: type[Any], id: str) -> str | None:
        found = self._one(spec_for(cls), "jurisdiction", id)
        return None if found is None else str(found)

    def _where(
        self,
        spec: TableSpec,
        where: Mapping[str, Any] | None,
        jurisdictions: Collection[str] | None,
    ) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for name, value in (where or {}).items():
            if name not in spec.column_names:
                known = ", ".join(spec.column_names)
                raise ValidationError.single(
                    f"$.{name}", repr(value), f"not a field of {noun(spec.cls)} (fields: {known})"
                )
            column = spec.columns[spec.column_names.index(name)]
            if value is None:
                clauses.append(f"{q(name)} IS NULL")
                continue
            clause, param = _filter(column, spec.encode_value(name, value))
            clauses.append(clause)
            params.append(param)
        if jurisdictions is not None:
            clauses.append("jurisdiction = ANY(%s::text[])")
            params.append([str(j) for j in jurisdictions])
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
        cols = ", ".join(select_expr(c, "t") for c in spec.columns)
        order = "t.at, t.id" if spec.is_fact else "t.id"
        sql = f"SELECT {cols} FROM {q(spec.table)} AS t{clause} ORDER BY {order}"
        for row in self._stream(sql, params, f"reading {spec.table}"):
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
        """See :class:`~gridguard.storage.capabilities.KeysetPaging`: ``LIMIT`` on the key.

        Text ids are ``COLLATE "C"`` and UUIDs compare as their bytes, which
        is the order of their canonical text: both sort as Python sorts ``str``.
        """
        spec = spec_for(cls)
        clause, params = self._where(spec, where, jurisdictions)
        clauses = [clause.removeprefix(" WHERE ")] if clause else []
        if after is not None:
            key = spec.columns[spec.column_names.index("id")]
            parsed = _uuid(after) if key.kind == "uuid" else None
            if key.kind == "uuid" and parsed is None:
                clauses.append("t.id::text > %s")  # not a UUID: compared as text, as SQLite does
                params.append(str(after))
            else:
                clauses.append("t.id > %s")
                params.append(str(after) if parsed is None else parsed)
        for bound, op in ((since, ">="), (until, "<")):
            if bound is not None:
                clauses.append(f"t.at {op} %s")
                params.append(bound)
        if within is not None:
            chain = ancestry(cls, within.cls)
            if chain is None:
                return []
            inner = "id = ANY(%s::text[])"
            for column, table in reversed(chain):
                inner = f"{q(column)} IN (SELECT id FROM {q(table)} WHERE {inner})"
            clauses.append(inner)
            params.append(sorted(within.ids))
        filters = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        cols = ", ".join(select_expr(c, "t") for c in spec.columns)
        sql = f"SELECT {cols} FROM {q(spec.table)} AS t{filters} ORDER BY t.id LIMIT %s"
        with self._reading(f"reading a page of {spec.table}"):
            rows = self._run(sql, [*params, max(0, int(limit))]).fetchall()
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
        with self._reading(f"counting {spec.table}"):
            row = self._run(f"SELECT count(*) FROM {q(spec.table)}{clause}", params).fetchone()
        assert row is not None
        return int(row[0])

    def _stream(
        self, sql: str, params: Sequence[Any] | None, doing: str
    ) -> Iterator[tuple[Any, ...]]:
        """Rows of a query through a server-side cursor, a thousand at a time."""
        self.settle()
        self._cursors += 1
        cur = self._conn.cursor(name=f"gridguard_{self._cursors}")
        cur.itersize = 1000
        try:
            with self._reading(doing):
                cur.execute(sql.encode(), params or None)
                while batch := cur.fetchmany(1000):
                    yield from batch
        finally:
            with suppress(psycopg.Error):
                cur.close()

    def query(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """Run PostgreSQL SQL with ``%s`` placeholders and stream the rows.

        A query (``SELECT``, ``VALUES``, ``WITH`` without a data change) runs
        in a server-side cursor, so a city is never held in memory; other
        statements run as they are and their rows, if any, follow.
        """
        with self._reading("running a statement"):
            self._checked_writes()
        self._absent.clear()  # the statement may write
        if _cursor_safe(sql):
            yield from self._stream(sql, params, "running a query")
            return
        with self._reading("running a statement"):
            self.settle()
            cur = self._conn.execute(sql.encode(), params or None)
            if cur.description is None:
                return
            while batch := cur.fetchmany(1000):
                yield from batch

    @property
    def connection(self) -> psycopg.Connection[Any]:
        """The raw connection, for SQL that workflows push down into the database."""
        self._absent.clear()  # (the caller may write through it)
        self.settle()
        return self._conn


def _as_strings(values: list[Any]) -> list[str]:
    """``values`` as text (a column of ids is text already: then it is returned as it is)."""
    if set(map(type, values)) <= {str}:
        return values
    return [str(v) for v in values]


def _first_of_each_id(rows: Iterable[Sequence[Any]]) -> list[Row]:
    """``rows`` as tuples, the first row of each id only, in order."""
    unique: dict[Any, Row] = {}
    for row in rows:
        unique.setdefault(row[0], tuple(row))
    return list(unique.values())


def _add(seen: set[Any], value: Any) -> bool:
    """Add ``value`` to ``seen``; false, so that it reads as a filter's second half."""
    seen.add(value)
    return False


def _reference_ids(ref: Reference, value: Any) -> list[str]:
    """The ids one reference column names (a list for ``many``)."""
    if value is None:
        return []
    if ref.many:
        return [str(v) for v in (json.loads(value) if isinstance(value, str) else value)]
    return [str(value)]


def _distinct_id_batches(rows: Sequence[Row]) -> Iterator[Sequence[Row]]:
    """``rows`` cut where an id repeats, so one statement never updates a row twice."""
    seen: set[Any] = set()
    start = 0
    for n, row in enumerate(rows):
        if row[0] in seen:
            yield rows[start:n]
            start, seen = n, set()
        seen.add(row[0])
    yield rows[start:]


# -- the storage ---------------------------------------------------------------------------------


class PostgresStorage:
    """A PostgreSQL schema holding one gridguard workspace, reached through a pool."""

    dialect: PostgresDialect = PostgresDialect()
    """The SQL this store speaks: see :class:`~gridguard_postgres.PostgresDialect`."""

    def __init__(self, url: str) -> None:
        self.settings: Settings = parse_url(url)
        self.url = url
        self.display_url = self.settings.display
        self._local = threading.local()
        self.extensions: frozenset[str] = frozenset()
        self.bulk_skips_triggers = False
        """Whether :meth:`~PostgresUnitOfWork.load_rows` may skip per-row foreign-key
        triggers (the role may set ``session_replication_role``)."""
        self.schema: str = self.settings.schema or ""
        self.grown: dict[str, tuple[int, int]] = {}
        """Per table: rows bulk-loaded through this storage, and that count at its last ANALYZE."""
        self._migrate()
        self._pool = ConnectionPool(
            self.settings.conninfo,
            min_size=1,
            max_size=self.settings.pool_size,
            kwargs={"autocommit": True},
            check=ConnectionPool.check_connection,
            timeout=self.settings.connect_timeout,
            name=f"gridguard {self.display_url}",
            open=False,
        )
        self._pool.open()

    @classmethod
    def open(cls, url: str) -> PostgresStorage:
        """The factory registered for ``postgresql://`` URLs."""
        return cls(url)

    # -- connections ----------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(self.settings.conninfo, autocommit=True)
        except psycopg.Error as exc:
            raise StorageError(
                f"cannot connect to PostgreSQL at {self.display_url}: {_reason(exc)}"
            ) from None

    # -- schema -----------------------------------------------------------------------------

    def schema_version(self) -> int:
        with self._pool_connection("reading the schema version") as conn:
            row = conn.execute(
                b"SELECT value FROM gridguard_meta WHERE key = 'schema_version'"
            ).fetchone()
        return 0 if row is None else int(row[0])

    def _migrate(self) -> None:
        """Create what the table specs need and the schema lacks, in one transaction."""
        conn = self._connect()
        try:
            migrate(conn, self)
        except psycopg.Error as exc:
            raise storage_error(exc, "migrating the schema", self.display_url) from exc
        finally:
            conn.close()

    # -- transactions -----------------------------------------------------------------------

    @contextmanager
    def _pool_connection(self, doing: str) -> Iterator[psycopg.Connection[Any]]:
        try:
            conn = self._pool.getconn()
        except PoolTimeout:
            raise StorageError(
                f"no connection to PostgreSQL at {self.display_url} within "
                f"{self.settings.connect_timeout:g} s while {doing}: is the server running?"
            ) from None
        try:
            yield conn
        except psycopg.Error as exc:
            raise storage_error(exc, doing, self.display_url) from exc
        finally:
            self._pool.putconn(conn)

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[PostgresUnitOfWork]:
        if getattr(self._local, "open", False):
            raise StorageError("a transaction is already open on this storage")
        self._local.open = True
        try:
            with self._pool_connection("beginning a transaction") as conn:
                conn.execute(
                    b"BEGIN" if write else b"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
                )
                uow = PostgresUnitOfWork(conn, self)
                try:
                    yield uow
                    uow.settle()
                except BaseException as exc:
                    uow.stop_writer(cancel=True)
                    if not conn.broken:
                        with suppress(psycopg.Error):
                            conn.execute(b"ROLLBACK")
                    if isinstance(exc, psycopg.Error):  # SQL a workflow ran on the connection
                        raise storage_error(exc, "running SQL", self.display_url) from exc
                    raise
                uow.stop_writer()
                try:
                    conn.execute(b"COMMIT")
                except psycopg.OperationalError as exc:
                    if isinstance(exc, pg_errors.DiskFull | pg_errors.OutOfMemory):
                        raise storage_error(exc, "committing", self.display_url) from exc
                    raise StorageError(
                        f"lost the connection to PostgreSQL at {self.display_url} while "
                        f"committing ({_reason(exc)}): the transaction may or may not be "
                        "stored; facts are idempotent, so sending the batch again is safe"
                    ) from exc
                except psycopg.Error as exc:
                    raise storage_error(exc, "committing", self.display_url) from exc
        finally:
            self._local.open = False

    def close(self) -> None:
        self._pool.close()


# -- migrations ----------------------------------------------------------------------------------


def _default_literal(spec: TableSpec, column: Column) -> Any:
    """The encoded default of a model field, or ``None`` if it has none."""
    field = next(f for f in attrs.fields(spec.cls) if f.name == column.name)
    default = field.default
    if default is attrs.NOTHING:
        return None
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        if default.takes_self:
            return None
        default = default.factory()
    return _as_text(spec.encode_value(column.name, default))


def migrate(conn: psycopg.Connection[Any], storage: PostgresStorage) -> None:
    """Bring the schema up to the table specs: create missing tables, columns and keys.

    Runs in one transaction under an advisory lock, so twenty processes
    opening a fresh schema at once create it once. The layout's digest is
    kept in ``gridguard_meta``; when it matches, nothing else is read. A
    store written by a newer gridguard (columns this one does not know) is
    refused.
    """
    schema = storage.settings.schema
    storage.bulk_skips_triggers = _may_skip_triggers(conn)
    exists = (
        schema is None
        or conn.execute(b"SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema]).fetchone()
    )
    if exists and conn.execute(b"SELECT to_regclass('gridguard_meta')").fetchone() != (None,):
        meta = dict(conn.execute(b"SELECT key, value FROM gridguard_meta").fetchall())
        if meta.get("fingerprint") == fingerprint():
            storage.schema = schema or _current_schema(conn)
            storage.extensions = _installed_extensions(conn)
            return
    conn.execute(b"BEGIN")
    try:
        key = f"gridguard:migrate:{schema or ''}"
        conn.execute(b"SELECT pg_advisory_xact_lock(hashtext(%s))", [key])
        if (
            schema is not None
            and not conn.execute(
                b"SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema]
            ).fetchone()
        ):
            # (Only when missing: CREATE SCHEMA IF NOT EXISTS asks for the
            # database's CREATE right even when the schema is there.)
            conn.execute(f"CREATE SCHEMA {q(schema)}".encode())
        _migrate_locked(conn, storage)
        conn.execute(b"COMMIT")
    except BaseException:
        if not conn.broken:
            conn.execute(b"ROLLBACK")
        raise
    storage.extensions = _installed_extensions(conn)


def _current_schema(conn: psycopg.Connection[Any]) -> str:
    row = conn.execute(b"SELECT current_schema()").fetchone()
    if row is None or row[0] is None:
        raise StorageError("no schema to create gridguard's tables in: give ?schema=<name>")
    return str(row[0])


def _installed_extensions(conn: psycopg.Connection[Any]) -> frozenset[str]:
    rows = conn.execute(
        b"SELECT e.extname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        b"WHERE n.nspname = ANY(current_schemas(false))"
    ).fetchall()
    return frozenset(r[0] for r in rows)


def _may_skip_triggers(conn: psycopg.Connection[Any]) -> bool:
    """Whether this role may set ``session_replication_role`` (superuser, or granted it)."""
    row = conn.execute(b"SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    if row is not None and row[0]:
        return True
    if conn.info.server_version < 150000:
        return False
    granted = conn.execute(
        b"SELECT has_parameter_privilege('session_replication_role', 'SET')"
    ).fetchone()
    return bool(granted and granted[0])


def _migrate_locked(conn: psycopg.Connection[Any], storage: PostgresStorage) -> None:
    schema = _current_schema(conn)
    storage.schema = schema
    if conn.execute(b"SELECT to_regclass('gridguard_meta')").fetchone() == (None,):
        ours = [spec.table for spec in SPECS.values()]
        taken = conn.execute(
            b"SELECT table_name FROM information_schema.tables "
            b"WHERE table_schema = current_schema() AND table_name = ANY(%s) ORDER BY 1",
            [ours],
        ).fetchall()
        if taken:
            raise StorageError(
                f"schema {schema!r} of {storage.display_url} holds tables gridguard did not "
                f"create ({', '.join(t for (t,) in taken)}); choose another ?schema="
            )
    conn.execute(
        b"CREATE TABLE IF NOT EXISTS gridguard_meta (key text PRIMARY KEY, value text NOT NULL)"
    )
    conn.execute(
        b"CREATE TABLE IF NOT EXISTS gridguard_columns (table_name text NOT NULL, "
        b"column_name text NOT NULL, kind text NOT NULL, nullable boolean NOT NULL, "
        b"PRIMARY KEY (table_name, column_name))"
    )
    meta = dict(conn.execute(b"SELECT key, value FROM gridguard_meta").fetchall())
    digest = fingerprint()
    version = int(meta.get("schema_version", "0"))
    if meta.get("fingerprint") == digest:
        return

    current = {(t, c): (k, n) for t, c, k, n in layout_columns()}
    recorded = {
        (t, c): (k, bool(n))
        for t, c, k, n in conn.execute(
            b"SELECT table_name, column_name, kind, nullable FROM gridguard_columns"
        )
    }
    unknown = sorted(f"{t}.{c}" for t, c in recorded if (t, c) not in current)
    if unknown:
        raise StorageError(
            f"{storage.display_url} (schema {schema!r}, version {version}) holds columns this "
            f"gridguard does not know ({', '.join(unknown[:5])}): it was written by a newer "
            "gridguard; upgrade gridguard and gridguard-postgres"
        )
    changed = sorted(
        f"{t}.{c} ({recorded[t, c][0]} -> {k})"
        for (t, c), (k, _) in current.items()
        if (t, c) in recorded and recorded[t, c][0] != k
    )
    if changed:
        raise StorageError(
            f"columns of {storage.display_url} changed kind: {', '.join(changed)}; "
            "this needs a manual migration"
        )

    live: dict[str, set[str]] = {}
    for table, column in conn.execute(
        b"SELECT table_name, column_name FROM information_schema.columns "
        b"WHERE table_schema = current_schema()"
    ):
        live.setdefault(table, set()).add(column)

    statements: list[str] = []
    later: list[str] = []
    for spec in SPECS.values():
        if spec.table not in live:
            statements.append(table_ddl(spec))
            later += index_ddl(spec) + constraint_ddl(spec)
            continue
        have = live[spec.table]
        added = [c for c in spec.columns if c.name not in have]
        if added:
            empty = conn.execute(f"SELECT NOT EXISTS (SELECT FROM {q(spec.table)})".encode())
            is_empty = bool(empty.fetchone() == (True,))
        for column in added:
            statements += _add_column(spec, column, is_empty)
        if added:
            names = [c.name for c in added]
            later += index_ddl(spec, names) + constraint_ddl(spec, names)
        for column in spec.columns:
            was = recorded.get((spec.table, column.name))
            if column.nullable and was is not None and not was[1]:
                statements.append(
                    f"ALTER TABLE {q(spec.table)} ALTER COLUMN {q(column.name)} DROP NOT NULL"
                )
    retired = [f"DROP INDEX IF EXISTS {q(name)}" for name in RETIRED_INDEXES]
    for statement in statements + later + retired:
        conn.execute(statement.encode())

    _install_extensions(conn)
    conn.execute(b"DELETE FROM gridguard_columns")
    with conn.cursor() as cur:
        cur.executemany(
            b"INSERT INTO gridguard_columns (table_name, column_name, kind, nullable) "
            b"VALUES (%s, %s, %s, %s)",
            layout_columns(),
        )
    for key, value in (("schema_version", str(version + 1)), ("fingerprint", digest)):
        conn.execute(
            b"INSERT INTO gridguard_meta (key, value) VALUES (%s, %s) "
            b"ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            [key, value],
        )


def _add_column(spec: TableSpec, column: Column, table_is_empty: bool) -> list[str]:
    """``ALTER TABLE ... ADD COLUMN`` for a field a newer model gained.

    Existing rows get the field's default; a required field with no default
    can only be added to an empty table, otherwise it is added nullable.
    """
    table, name = q(spec.table), q(column.name)
    literal = None if column.nullable else _default_literal(spec, column)
    if column.nullable or (literal is None and not table_is_empty):
        return [f"ALTER TABLE {table} ADD COLUMN {name} {_pg_type(column)}"]
    if literal is None:
        return [f"ALTER TABLE {table} ADD COLUMN {name} {_pg_type(column)} NOT NULL"]
    text = "'" + str(literal).replace("'", "''") + "'"
    return [
        f"ALTER TABLE {table} ADD COLUMN {name} {_pg_type(column)} NOT NULL "
        f"DEFAULT {load_expr(column, text)}",
        f"ALTER TABLE {table} ALTER COLUMN {name} DROP DEFAULT",
    ]


def _pg_type(column: Column) -> str:
    return PG_TYPES[column.kind]


def _install_extensions(conn: psycopg.Connection[Any]) -> None:
    """``pg_trgm`` and ``fuzzystrmatch`` in ``public`` when this role may create them."""
    has_public = conn.execute(b"SELECT 1 FROM pg_namespace WHERE nspname = 'public'").fetchone()
    where = " WITH SCHEMA public" if has_public else ""
    conn.execute(b"SELECT pg_advisory_xact_lock(hashtext('gridguard:extensions'))")
    for name in EXTENSIONS:
        conn.execute(b"SAVEPOINT gridguard_extension")
        try:
            conn.execute(f"CREATE EXTENSION IF NOT EXISTS {name}{where}".encode())
        except psycopg.Error:
            conn.execute(b"ROLLBACK TO SAVEPOINT gridguard_extension")
        conn.execute(b"RELEASE SAVEPOINT gridguard_extension")
