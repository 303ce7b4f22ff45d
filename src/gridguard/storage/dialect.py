"""The SQL dialect a backend owns: every way its SQL differs, asked of one object.

A backend's :attr:`Storage.dialect <gridguard.storage.base.Storage.dialect>`
is an object following :class:`SqlDialect`. Workflows that push work into
the database (screening, reports, the outbox, the audit chain...) and the
rules' SQL compiler (:mod:`gridguard.rules.sql_compiler`) ask it for
placeholders, bound values, JSON list access, date arithmetic and planner
settings; they never compare a dialect's name. A backend that runs no SQL
(memory) has a dialect whose :attr:`~SqlDialect.runs_sql` is false, and
callers then compute in Python.

:class:`BaseDialect` spells everything the way SQLite does; a dialect
overrides what its database spells otherwise. :class:`SQLiteDialect` and
:class:`MemoryDialect` are the builtin ones; the PostgreSQL plugin brings
its own (``gridguard_postgres.PostgresDialect``), and so can any plugin.
"""

from __future__ import annotations

import abc
import datetime as dt
import json
import re
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..errors import StorageError

if TYPE_CHECKING:
    from .base import UnitOfWork

__all__ = ["BaseDialect", "MemoryDialect", "SQLiteDialect", "SqlDialect"]


@runtime_checkable
class SqlDialect(Protocol):
    """What workflows and the rules' SQL compiler ask of a backend's SQL.

    SQL in gridguard is written with ``?`` placeholders (``?1``, ``?2``...
    where a parameter is used twice) and passed through :meth:`text` or
    :meth:`numbered`; values are bound through :meth:`ts`, :meth:`date`,
    :meth:`true` and :meth:`value`, never spliced in.
    """

    @property
    def name(self) -> str:
        """A short name for messages (``sqlite``, ``postgresql``...): never compared by callers."""

    @property
    def runs_sql(self) -> bool:
        """Whether :meth:`UnitOfWork.query <gridguard.storage.base.UnitOfWork.query>` runs SQL.

        False for a backend that keeps records in Python (memory): callers
        compute in Python then.
        """

    @property
    def sqlite_sql(self) -> bool:
        """Whether the database takes SQLite's own SQL (``rowid``, ``PRAGMA``,
        ``sqlite_master``, JSON1), for the fast paths written for SQLite only."""

    @property
    def placeholder(self) -> str:
        """The parameter placeholder (``?`` for SQLite, ``%s`` for psycopg)."""

    @property
    def distinct(self) -> str:
        """The null-safe "differs from" operator (``IS NOT``, ``IS DISTINCT FROM``)."""

    @property
    def append_lock(self) -> str | None:
        """A statement that makes concurrent audit-chain appends wait for each
        other until commit, or ``None`` where the database serialises writers."""

    def text(self, sql: str) -> str:
        """``sql`` written with ``?`` placeholders, in this dialect's placeholder style."""

    def numbered(self, sql: str) -> tuple[str, list[int]]:
        """``sql`` written with numbered ``?N`` marks in this dialect, and the order of
        the parameters it then takes (``[]``: as numbered, no reordering needed)."""

    def ts(self, value: dt.datetime) -> Any:
        """A timestamp parameter as the database stores timestamps."""

    def date(self, value: dt.date) -> Any:
        """A date parameter as the database stores dates."""

    def true(self) -> Any:
        """``True`` as a parameter compared with a stored boolean column."""

    def stamp(self, column: str, suffix: str) -> str:
        """Timestamp ``column`` as text that sorts by time, with ``suffix`` appended."""

    def unindexed(self, column: str) -> str:
        """``column`` in a condition that must not make the planner pick an index on it."""

    def tables_present(self, count: int) -> str:
        """SQL returning which of ``count`` table names (the parameters) exist."""

    def planned(self, uow: UnitOfWork) -> AbstractContextManager[None]:
        """Planner settings for the classification query, in ``uow`` while it is read."""

    # -- what the rules' SQL compiler asks -------------------------------------------------

    def value(self, value: Any, type_: str) -> Any:
        """A Python literal as a bind parameter of this dialect."""

    def column(self, sql: str, type_: str) -> str:
        """A stored column (or an expression) read as a value of ``type_``."""

    def json_list(self, sql: str) -> str:
        """A table function of the elements of JSON array ``sql``, aliased ``e(value)``."""

    def json_text_list(self, sql: str) -> str:
        """Like :meth:`json_list`, for arrays of plain values (text, numbers)."""

    def element(self, type_: str) -> str:
        """The current element of :meth:`json_list` as a plain value."""

    def element_field(self, type_: str) -> tuple[str, Any]:
        """A field of the current element: SQL with one placeholder, and its parameter."""

    def element_field_param(self, name: str) -> Any:
        """The parameter naming field ``name`` for :meth:`element_field`."""

    def json_length(self, sql: str) -> str:
        """The length of JSON array ``sql``."""

    def json_with(self, element: str, key: str, value: str) -> str:
        """JSON object ``element`` with ``key`` (a constant name) set to ``value``."""

    def json_flag(self, sql: str, key: str) -> str:
        """True when the JSON object ``sql`` holds ``key`` (a constant name) as ``true``;
        false when it holds anything else or lacks it, never ``NULL``."""

    def json_agg(self, sql: str) -> str:
        """The JSON array of the JSON values ``sql`` over a group."""

    def empty_list(self) -> str:
        """An empty JSON array, of the type the list columns have."""

    def days_between(self, start: str, end: str) -> str:
        """Whole days from date ``start`` to date ``end``."""

    def is_not_true(self, sql: str) -> str:
        """``sql`` is false or missing."""

    def false(self) -> str:
        """The literal false."""

    def null(self, type_: str) -> str:
        """A missing value of ``type_`` (``uuid``, ``timestamp``, ``json``, ``number``...)."""

    def latest_screenings(self, where: str = "") -> str:
        """Each person's latest screening: ``person_id, screening_id, at`` and the facts."""

    def keyed_id(self, sql: str) -> str:
        """The id :func:`gridguard.model.assessments.keyed_id` makes of the text ``sql``."""

    def bulk(self, uow: UnitOfWork) -> AbstractContextManager[None]:
        """Settings for statements that write millions of rows (a screening run's), then
        the settings from before."""

    def checks_references(self, uow: UnitOfWork) -> bool:
        """Whether the transaction of ``uow`` checks each written row's foreign keys (not in
        a :class:`~gridguard.storage.capabilities.BulkWrites` write on SQLite)."""

    def as_text(self, sql: str) -> str:
        """``sql`` as text."""

    def key_of(self, values: Sequence[str]) -> str:
        """One text per distinct combination of the ``values`` (SQL expressions), missing
        ones included: a JSON array of them."""

    def stored_value(self, kind: str, sql: str) -> str:
        """``sql``, a value in gridguard's row encoding (what ``TableSpec.encode`` gives,
        as text), as a column of ``kind`` (``text``, ``timestamp``, ``uuid``...) stores it."""


class BaseDialect(abc.ABC):
    """SQL as SQLite spells it; a dialect subclasses this and overrides what differs."""

    name = "sql"
    runs_sql = True
    sqlite_sql = False
    placeholder = "?"
    distinct = "IS NOT"
    append_lock: str | None = None

    def text(self, sql: str) -> str:
        return sql if self.placeholder == "?" else sql.replace("?", self.placeholder)

    def numbered(self, sql: str) -> tuple[str, list[int]]:
        if self.placeholder == "?":
            return sql, []
        order: list[int] = []

        def mark(match: re.Match[str]) -> str:
            order.append(int(match.group(1)))
            return self.placeholder

        return re.sub(r"\?(\d+)", mark, sql), order

    def ts(self, value: dt.datetime) -> Any:
        return _utc_text(value)

    def date(self, value: dt.date) -> Any:
        return value.isoformat()

    def true(self) -> Any:
        return 1

    def stamp(self, column: str, suffix: str) -> str:
        return f"{column} || {suffix}"

    def unindexed(self, column: str) -> str:
        return column

    def tables_present(self, count: int) -> str:
        marks = ", ".join(self.placeholder for _ in range(count))
        return f"SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ({marks})"

    def planned(self, uow: UnitOfWork) -> AbstractContextManager[None]:
        return nullcontext()

    def value(self, value: Any, type_: str) -> Any:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, dt.datetime):
            return _utc_text(value)
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, tuple | list):
            return json.dumps([_json_ready(v) for v in value], ensure_ascii=False)
        return value

    def column(self, sql: str, type_: str) -> str:
        return sql

    def json_list(self, sql: str) -> str:
        return f"json_each({sql}) AS e"

    def json_text_list(self, sql: str) -> str:
        return self.json_list(sql)

    def element(self, type_: str) -> str:
        return "e.value"

    def element_field(self, type_: str) -> tuple[str, Any]:
        return f"json_extract(e.value, {self.placeholder})", None

    def element_field_param(self, name: str) -> Any:
        return f"$.{name}"

    def json_length(self, sql: str) -> str:
        return f"json_array_length({sql})"

    def json_with(self, element: str, key: str, value: str) -> str:
        return f"json_set({element}, '$.{key}', {value})"

    def json_flag(self, sql: str, key: str) -> str:
        return f"COALESCE(json_extract({sql}, '$.{key}') IS 1, 0)"

    def json_agg(self, sql: str) -> str:
        return f"json_group_array(json({sql}))"

    def empty_list(self) -> str:
        return "'[]'"

    def days_between(self, start: str, end: str) -> str:
        return f"(julianday({end}) - julianday({start}))"

    def is_not_true(self, sql: str) -> str:
        return f"(({sql}) IS NOT TRUE)"

    def false(self) -> str:
        return "0"

    def null(self, type_: str) -> str:
        return "NULL"

    def keyed_id(self, sql: str) -> str:
        return f"gg_keyed_id({sql})"

    def bulk(self, uow: UnitOfWork) -> AbstractContextManager[None]:
        return nullcontext()

    def checks_references(self, uow: UnitOfWork) -> bool:
        return True

    def as_text(self, sql: str) -> str:
        return f"CAST({sql} AS TEXT)"

    _ARGS = 90
    """Arguments per JSON array call: SQLite takes 127 at most, PostgreSQL 100."""

    def key_of(self, values: Sequence[str]) -> str:
        if len(values) <= self._ARGS:
            return f"{self._json_array}({', '.join(values) or ''})"
        parts = [self.key_of(values[n : n + self._ARGS]) for n in range(0, len(values), self._ARGS)]
        return self.key_of(parts)

    _json_array = "json_array"

    def stored_value(self, kind: str, sql: str) -> str:
        return sql

    @abc.abstractmethod
    def latest_screenings(self, where: str = "") -> str:
        """Each person's latest screening: ``person_id, screening_id, at`` and the facts.

        ``where`` (SQL after ``WHERE``) limits the screenings looked at.
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class SQLiteDialect(BaseDialect):
    """SQLite 3.35 or newer: JSON1 functions, ``julianday``, ``?`` placeholders."""

    name = "sqlite"
    sqlite_sql = True

    def unindexed(self, column: str) -> str:
        # SQLite's unary + keeps a term from choosing an index.
        return f"+{column}"

    BULK_CACHE_MB = 128
    """SQLite's page cache while a run writes millions of rows into indexed tables (2 MB
    otherwise): measured at 1,000,000 persons screened, the run took about 95 s
    instead of 130 s."""

    BULK_HEAP_MB = 200
    """SQLite's soft heap limit meanwhile. Its sorters may each hold as much as the page
    cache before they spill to disk; at 4,420,000 persons a run's sorts took the process
    to 1,091 MB. Near this limit SQLite spills sorts and shrinks caches instead."""

    @contextmanager
    def bulk(self, uow: UnitOfWork) -> Iterator[None]:
        ((before,),) = list(uow.query("PRAGMA cache_size"))
        ((heap,),) = list(uow.query("PRAGMA soft_heap_limit"))
        list(uow.query(f"PRAGMA cache_size = -{self.BULK_CACHE_MB * 1024}"))
        if not heap or int(heap) > self.BULK_HEAP_MB << 20:
            list(uow.query(f"PRAGMA soft_heap_limit = {self.BULK_HEAP_MB << 20}"))
        try:
            yield
        finally:  # connection and process settings: SQLite takes them after a failure too
            list(uow.query(f"PRAGMA cache_size = {int(before)}"))
            list(uow.query(f"PRAGMA soft_heap_limit = {int(heap)}"))

    def checks_references(self, uow: UnitOfWork) -> bool:
        ((on,),) = list(uow.query("PRAGMA foreign_keys"))
        return bool(on)

    def latest_screenings(self, where: str = "") -> str:
        # SQLite takes the bare columns of an aggregate query from the row holding the
        # max(); "at" is fixed-width text, so at || id orders by time, then id.
        return (
            "SELECT person_id, id AS screening_id, at, trips, exposures, symptoms, temperature, "
            f"max(at || id) AS latest_key FROM screenings{where_clause(where)} GROUP BY person_id"
        )


class MemoryDialect(BaseDialect):
    """The dialect of a store that runs no SQL: callers compute in Python."""

    name = "memory"
    runs_sql = False

    def latest_screenings(self, where: str = "") -> str:
        raise StorageError("the memory store runs no SQL")


def where_clause(where: str) -> str:
    """`` WHERE where``, or nothing for an empty condition."""
    return f" WHERE {where}" if where else ""


def _utc_text(value: dt.datetime) -> str:
    """UTC as fixed-width text, the way SQLite stores timestamps (sorts as it reads)."""
    if value.tzinfo is not dt.UTC:
        value = value.astimezone(dt.UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _json_ready(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
