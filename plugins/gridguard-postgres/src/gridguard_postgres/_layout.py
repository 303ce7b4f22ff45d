"""The PostgreSQL table layout, derived from gridguard's table specs.

Every table of :data:`gridguard.storage.schema.SPECS` becomes one table here,
so a model that gains a field or a new stored kind needs no hand-written
DDL. Each table carries ``jurisdiction`` in its primary key
``(id, jurisdiction)``, and every foreign key between tables that share a
jurisdiction names it too, ``(jurisdiction, <parent>_id)``, so that a
distributed PostgreSQL (Citus) can shard every table by jurisdiction and
keep a community's rows together. The same layout serves one server.

Two kinds of table:

*reference tables* (areas, campaigns: rows that own their jurisdiction or
span several) are small and, on Citus, replicated to every node; other
tables may point at them by ``id`` alone.

*distributed tables* (everything else) take their jurisdiction from their
parent; their parent foreign key is ``(jurisdiction, <parent>_id)``, and a
reference to a row of another distributed table, which may live in another
jurisdiction (a team's visit to a neighbouring community, a building's
observer), is checked by the plugin instead of a foreign key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from gridguard.model import Person
from gridguard.storage.schema import SPECS, Column, Reference, TableSpec, spec_for

__all__ = [
    "KEY_ONLY",
    "LAYOUT_VERSION",
    "PG_TYPES",
    "RETIRED_INDEXES",
    "checked_by_plugin",
    "citus_statements",
    "column_ddl",
    "constraint_ddl",
    "fingerprint",
    "index_ddl",
    "is_reference_table",
    "layout_columns",
    "load_expr",
    "q",
    "select_expr",
    "self_resolved",
    "table_ddl",
]

LAYOUT_VERSION = 2
"""Bumped when the way specs become tables changes (types, keys, indexes)."""

KEY_ONLY = frozenset({"outbox"})
"""Tables with no index beyond their key, as in gridguard's SQLite schema.

A notification is written in the transaction of the fact that causes it, so
every index on the outbox is paid by that fact's write; the dispatcher and
the reports reach messages through the attempt log or read them in bulk.
"""

RETIRED_INDEXES = ("outbox_area_id", "outbox_jurisdiction_at")
"""Indexes earlier layouts made and this one does not: dropped by the migration."""

PG_TYPES: dict[str, str] = {
    "text": 'text COLLATE "C"',
    "int": "bigint",
    "real": "double precision",
    "bool": "boolean",
    "timestamp": "timestamptz",
    "date": "date",
    "uuid": "uuid",
    "json": "json",
}
"""Column kind (see :class:`gridguard.storage.schema.Column`) -> PostgreSQL type.

Text sorts and compares bytewise (``"C"``), as in SQLite, so that ordering
and rule comparisons agree across backends. JSON is ``json``, not ``jsonb``:
it keeps the text exactly as written, which the "same fact" comparison needs.
"""


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def is_reference_table(spec: TableSpec) -> bool:
    """Whether ``spec``'s rows own their jurisdiction (areas) or span several (campaigns)."""
    return spec.may_own_jurisdiction


def column_ddl(column: Column) -> str:
    """``"name" type [NOT NULL]`` for one spec column."""
    null = "" if column.nullable else " NOT NULL"
    return f"{q(column.name)} {PG_TYPES[column.kind]}{null}"


def select_expr(column: Column, alias: str = "") -> str:
    """SQL that reads a stored column back in gridguard's row encoding (text, ints...).

    Timestamps come back as ``YYYY-MM-DD HH:MM:SS.ffffff`` UTC text, dates as
    ISO text, UUIDs as text, JSON as its stored text, booleans as 0/1: the
    very values :meth:`TableSpec.encode` produces, so stored and new rows
    compare equal when they are the same fact.
    """
    col = f"{alias}.{q(column.name)}" if alias else q(column.name)
    kind = column.kind
    if kind == "timestamp":
        return f"to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
    if kind == "date":
        return f"to_char({col}, 'YYYY-MM-DD')"
    if kind in ("uuid", "json"):
        return f"{col}::text"
    if kind == "bool":
        return f"{col}::int"
    return col


def load_expr(column: Column, source: str) -> str:
    """SQL that turns a staged text value (``source``) into the column's type."""
    kind = column.kind
    if kind == "text":
        return source
    if kind == "timestamp":
        return f"({source}::timestamp AT TIME ZONE 'UTC')"
    cast = PG_TYPES[kind]
    return f"{source}::{cast}"


def _index_name(table: str, *columns: str) -> str:
    name = "_".join((table, *columns))
    if len(name) > 63:
        digest = hashlib.sha1(name.encode()).hexdigest()[:8]
        name = f"{name[:54]}_{digest}"
    return name


def table_ddl(spec: TableSpec) -> str:
    """``CREATE TABLE`` with every column, the jurisdiction and the primary key."""
    lines = [column_ddl(c) for c in spec.columns]
    lines.append('"jurisdiction" text COLLATE "C" NOT NULL')
    if not spec.is_fact:
        lines.append('"version" bigint NOT NULL DEFAULT 1')
    # (id, jurisdiction): the one index serves look-ups by id, the key holds the
    # jurisdiction as Citus needs, and foreign keys name it as (jurisdiction, id).
    lines.append(f'CONSTRAINT {q(spec.table + "_pkey")} PRIMARY KEY ("id", "jurisdiction")')
    body = ",\n    ".join(lines)
    return f"CREATE TABLE {q(spec.table)} (\n    {body}\n)"


def index_ddl(spec: TableSpec, columns: Iterable[str] | None = None) -> list[str]:
    """Indexes of ``spec`` (only those on ``columns`` when given: a migration adding columns).

    Reference tables also keep ids unique on their own, so that other
    tables may point at them by id. The parent column is indexed (with the
    time, for facts) for a household's file and for the foreign key; facts
    also by ``(jurisdiction, at)`` for a community's day, and registry
    tables by jurisdiction, except persons, the one table of millions, which
    a community reaches through its households (as in SQLite). Tables in
    :data:`KEY_ONLY` get none.
    """
    only = None if columns is None else set(columns)
    table = q(spec.table)
    out: list[str] = []
    if spec.table in KEY_ONLY:
        return out
    if only is None and is_reference_table(spec):
        name = q(spec.table + "_id_key")
        out.append(f'ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE ("id")')
    if only is None and not spec.is_fact and spec.cls is not Person:
        name = q(_index_name(spec.table, "jurisdiction"))
        out.append(f'CREATE INDEX {name} ON {table} ("jurisdiction")')
    if spec.parent is not None and (only is None or spec.parent.column in only):
        cols = [spec.parent.column] + (["at"] if spec.is_fact else [])
        name = q(_index_name(spec.table, spec.parent.column))
        out.append(f"CREATE INDEX {name} ON {table} ({', '.join(q(c) for c in cols)})")
    if spec.is_fact and only is None:
        name = q(_index_name(spec.table, "jurisdiction", "at"))
        out.append(f'CREATE INDEX {name} ON {table} ("jurisdiction", "at")')
    if not spec.is_fact:
        for ref in spec.references:
            if ref.many or (only is not None and ref.column not in only):
                continue
            name = q(_index_name(spec.table, ref.column))
            out.append(f"CREATE INDEX {name} ON {table} ({q(ref.column)})")
    return out


def _foreign_key(spec: TableSpec, ref: Reference, *, parent: bool) -> str | None:
    """The foreign key for one reference, or ``None`` when the plugin checks it instead."""
    if ref.many:
        return None
    target = spec_for(ref.target)
    name = q(_index_name(spec.table, ref.column, "fkey"))
    head = f"ALTER TABLE {q(spec.table)} ADD CONSTRAINT {name} FOREIGN KEY"
    if parent and not is_reference_table(spec):
        # The row's jurisdiction is its parent's: the key holds it, and a parent
        # moved to another jurisdiction carries its children along.
        return (
            f'{head} ("jurisdiction", {q(ref.column)}) REFERENCES {q(target.table)} '
            '("jurisdiction", "id") ON UPDATE CASCADE'
        )
    if is_reference_table(target):
        return f'{head} ({q(ref.column)}) REFERENCES {q(target.table)} ("id")'
    return None


def constraint_ddl(spec: TableSpec, columns: Iterable[str] | None = None) -> list[str]:
    """Foreign keys of ``spec`` (only those on ``columns`` when given)."""
    only = None if columns is None else set(columns)
    out: list[str] = []
    for ref in spec.all_references:
        if only is not None and ref.column not in only:
            continue
        ddl = _foreign_key(spec, ref, parent=ref is spec.parent)
        if ddl is not None:
            out.append(ddl)
    return out


def checked_by_plugin(spec: TableSpec) -> tuple[Reference, ...]:
    """References no foreign key enforces (rows of other distributed tables, id lists)."""
    return tuple(
        ref
        for ref in spec.all_references
        if _foreign_key(spec, ref, parent=ref is spec.parent) is None
    )


def self_resolved(spec: TableSpec) -> bool:
    """Whether the plugin works out the jurisdiction in Python.

    Areas may name a parent earlier in the same batch, and communities and
    campaigns own theirs; every other row takes its parent's, in SQL.
    """
    return spec.may_own_jurisdiction or (spec.parent is not None and spec.parent.target is spec.cls)


def layout_columns(specs: Iterable[TableSpec] | None = None) -> list[tuple[str, str, str, bool]]:
    """``(table, column, kind, nullable)`` of every stored column, jurisdiction included."""
    out: list[tuple[str, str, str, bool]] = []
    for spec in specs if specs is not None else SPECS.values():
        for column in spec.columns:
            out.append((spec.table, column.name, column.kind, column.nullable))
        out.append((spec.table, "jurisdiction", "text", False))
        if not spec.is_fact:
            out.append((spec.table, "version", "int", False))
    return out


def fingerprint(specs: Iterable[TableSpec] | None = None) -> str:
    """A digest of the layout: equal digests mean there is nothing to migrate."""
    listed = list(specs if specs is not None else SPECS.values())
    refs = [
        (s.table, r.column, spec_for(r.target).table, r.many, r is s.parent)
        for s in listed
        for r in s.all_references
    ]
    data: list[Any] = [LAYOUT_VERSION, layout_columns(listed), refs]
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def citus_statements(specs: Iterable[TableSpec] | None = None) -> list[str]:
    """The Citus calls that distribute a gridguard schema by jurisdiction.

    Reference tables are replicated to every node; every other table is
    distributed by ``jurisdiction`` and co-located with the first one, so
    that a community's households, persons and facts sit on one node.
    """
    listed = list(specs if specs is not None else SPECS.values())
    out: list[str] = []
    first: str | None = None
    for spec in listed:
        if is_reference_table(spec):
            out.append(f"SELECT create_reference_table('{spec.table}');")
    for spec in listed:
        if is_reference_table(spec):
            continue
        if first is None:
            first = spec.table
            out.append(f"SELECT create_distributed_table('{spec.table}', 'jurisdiction');")
        else:
            out.append(
                f"SELECT create_distributed_table('{spec.table}', 'jurisdiction', "
                f"colocate_with => '{first}');"
            )
    return out
