"""A screening run's writes as set-based SQL: assessments, tasks and orders in a few statements.

The classification query's flagged persons go into a temporary table, each
with the key of its pattern (:mod:`._patterns`): the values of every field
the rule set's explanations and actions read, and which rules fired. One
representative person per pattern is read back and the pattern worked out
in Python; the patterns go into a small table. Then:

- assessments are ``INSERT ... SELECT`` of every flagged person joined to
  their pattern, the id computed in SQL (``keyed_id``), those already
  stored left out: a re-run writes nothing;
- where the run's transaction leaves SQLite's row-by-row foreign-key checks
  off (:class:`~gridguard.storage.capabilities.BulkWrites`), their persons
  and households are checked once, with one anti-join;
- tasks and quarantine orders are made the same way from the new
  assessments only; a person already under an active order goes through
  the Python rule that extends it (few persons);
- urgent alerts are made in SQL around what the alerts of each building
  area and pattern share, which Python builds a page of places at a time
  (where names are sealed, Python makes each alert, a page of persons at a
  time); the other persons to tell are read back in one stream, in person
  order, that only counts and hashes them into their recipients' digests.

Assessments, tasks and orders never pass through Python one by one, and
Python's memory holds one pattern per distinct answer, a page of places or
persons, and the first lines of each digest, whatever the size of the city.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol

import attrs

from ..errors import StorageError
from ..model.assessments import Assessment, OrderStatus, QuarantineOrder, Task
from ..rules.ruleset import Rule
from ..rules.sql_compiler import Fragment
from ..storage.base import UnitOfWork
from ..storage.dialect import SqlDialect
from ..storage.schema import spec_for
from ._digest import Told
from ._patterns import PERSONAL, Pattern

__all__ = ["Written", "write_setwise"]

FLAGS = "gg_run_flags"
REPS = "gg_run_reps"
PATTERNS = "gg_run_patterns"
TASK_DEFS = "gg_run_task_defs"
PATTERN_TASKS = "gg_run_pattern_tasks"
ORDER_DEFS = "gg_run_order_defs"
NEW = "gg_run_new"
NEW_TASKS = "gg_run_new_tasks"
NEW_ORDERS = "gg_run_new_orders"
NOTICES = "gg_run_notices"
TARGETS = "gg_run_targets"
ALERTS = "gg_run_alerts"
TARGET_COLUMNS = (
    "area_id",
    "pn",
    "owner",
    "channel",
    "recipient",
    "at",
    "tail",
    "subject_head",
    "subject_tail",
    "body_tail",
    "data_head",
    "data_middle",
    "data_tail",
    "ws",
)
"""The columns of :data:`TARGETS` (see :meth:`~._digest.Messages.alert_targets`)."""
_TABLES = (
    FLAGS,
    REPS,
    PATTERNS,
    TASK_DEFS,
    PATTERN_TASKS,
    ORDER_DEFS,
    NEW,
    NEW_TASKS,
    NEW_ORDERS,
    NOTICES,
    TARGETS,
    ALERTS,
)

PAGE = 5_000
"""Urgent alerts made at once: a page of persons read back, then queued."""
_ROWS_PER_INSERT = 200


@attrs.define
class Written:
    """What the set-based writes found and stored."""

    flagged: int = 0
    assessments: int = 0
    orders: int = 0
    tasks: int = 0
    intents: int = 0
    by_rule: Counter[str] = attrs.field(factory=Counter)
    by_risk: Counter[str] = attrs.field(factory=Counter)


Decode = Callable[[Iterable[Sequence[Any]]], Iterator[tuple[dict[str, Any], list[Rule]]]]
Work = Callable[[dict[str, Any], list[Rule]], Pattern]
Settle = Callable[[list[QuarantineOrder]], int]


class Tell(Protocol):
    """Where the new assessments that tell someone go (:class:`~._digest.Messages`)."""

    def add(self, page: list[tuple[Told, Pattern]]) -> None:
        """A page of urgent ones, in person order: a message each."""

    @property
    def alerts_in_sql(self) -> bool:
        """Whether urgent alerts are made in SQL (:meth:`alert_targets`, :meth:`stage`) or
        in Python, a page of persons at a time (:meth:`add`)."""

    def alert_targets(self, places: Iterable[tuple[str, int, Pattern]]) -> list[Any]:
        """What the urgent alerts of each building area and pattern share (the rows of
        :data:`TARGETS`)."""

    def stage(self, table: str) -> None:
        """Queue the alerts made into ``table`` (the outbox's columns)."""

    def prepare(self, places: Iterable[tuple[str, Pattern]]) -> None:
        """The building areas and patterns :meth:`tally` will see."""

    def tally(self, rows: Iterable[tuple[str, str, str, Pattern]]) -> None:
        """The others, in person order: counted into digests."""


def _run(uow: UnitOfWork, dialect: SqlDialect, sql: str, params: Sequence[Any] = ()) -> None:
    list(uow.query(dialect.text(sql), list(params)))


def _one(uow: UnitOfWork, dialect: SqlDialect, sql: str, params: Sequence[Any] = ()) -> Any:
    (value,) = next(iter(uow.query(dialect.text(sql), list(params))))
    return value


def key_sql(columns: Sequence[str], dialect: SqlDialect, alias: str = "q") -> str:
    """One text per distinct combination of ``columns`` (missing values included)."""
    return dialect.key_of([f'{alias}."{c}"' for c in columns])


def _insert_rows(
    uow: UnitOfWork, dialect: SqlDialect, table: str, width: int, rows: Sequence[Sequence[Any]]
) -> None:
    mark = "(" + ", ".join("?" for _ in range(width)) + ")"
    for n in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[n : n + _ROWS_PER_INSERT]
        params = [v if v is None or type(v) is int else str(v) for row in chunk for v in row]
        _run(uow, dialect, f"INSERT INTO {table} VALUES {', '.join(mark for _ in chunk)}", params)


def _table(uow: UnitOfWork, dialect: SqlDialect, name: str, columns: Sequence[str]) -> None:
    """A temporary table of text columns; ``n`` and ``d`` are its integer key and reference."""

    def typed(column: str) -> str:
        if column == "n":
            return "n INTEGER PRIMARY KEY"
        numbers = ("d", "d_order", "pn", "notifies")
        return f"{column} INTEGER" if column in numbers else f"{column} TEXT"

    _run(uow, dialect, f"CREATE TEMP TABLE {name} ({', '.join(typed(c) for c in columns)})")


def _drop(uow: UnitOfWork, dialect: SqlDialect) -> None:
    for name in _TABLES:
        _run(uow, dialect, f"DROP TABLE IF EXISTS {name}")


def write_setwise(
    uow: UnitOfWork,
    dialect: SqlDialect,
    classify: Fragment,
    columns: Sequence[str],
    key_columns: Sequence[str],
    decode: Decode,
    work: Work,
    settle: Settle,
    tell: Tell | None,
) -> Written:
    """Classify into a temporary table and write every record with set-based SQL.

    ``columns`` names the classification query's columns and ``key_columns``
    those a pattern depends on; ``decode`` turns its records into rows and
    fired rules, ``work`` a row into its :class:`Pattern`. ``settle`` stores
    the orders of persons already under an active order (Python's rule of
    one active order per person, extended by a later exposure) and returns
    how many new orders it stored. ``tell`` gets the new assessments that
    tell someone, in person order (``None``: no messages).
    """
    _drop(uow, dialect)  # left by a run on this connection that ended early
    with dialect.bulk(uow):
        out = _write(uow, dialect, classify, columns, key_columns, decode, work, settle, tell)
    # Dropped on success only: a failed transaction takes its temporary tables with it,
    # and a statement after the failure would hide the error that caused it.
    _drop(uow, dialect)
    return out


def _write(
    uow: UnitOfWork,
    dialect: SqlDialect,
    classify: Fragment,
    columns: Sequence[str],
    key_columns: Sequence[str],
    decode: Decode,
    work: Work,
    settle: Settle,
    tell: Tell | None,
) -> Written:
    out = Written()
    with dialect.planned(uow):
        sql = (
            f"CREATE TEMP TABLE {FLAGS} AS SELECT q.*, {key_sql(key_columns, dialect)} AS k "
            f"FROM ({classify.sql}) q"
        )
        list(uow.query(sql, list(classify.params)))
    patterns = _patterns(uow, dialect, columns, decode, work, out)
    if not patterns:
        return out
    _store_patterns(uow, dialect, patterns)
    out.assessments = _assessments(uow, dialect)
    if not out.assessments:
        return out
    out.tasks = _tasks(uow, dialect)
    out.orders = _orders(uow, dialect, patterns, settle)
    if tell is not None:
        _notices(uow, dialect, patterns, tell)
    return out


def _patterns(
    uow: UnitOfWork,
    dialect: SqlDialect,
    columns: Sequence[str],
    decode: Decode,
    work: Work,
    out: Written,
) -> list[tuple[str, Pattern]]:
    """One :class:`Pattern` per distinct key, worked out from one representative person."""
    counts: dict[str, int] = {}
    _table(uow, dialect, REPS, ("person_id",))
    reps: list[tuple[str]] = []
    for key, person, n in uow.query(
        dialect.text(f"SELECT k, min(person_id), count(*) FROM {FLAGS} GROUP BY k")
    ):
        counts[str(key)] = int(n)
        reps.append((str(person),))
    _insert_rows(uow, dialect, REPS, 1, reps)
    listed = ", ".join(f'f."{c}"' for c in columns)
    sql = f"SELECT {listed}, f.k FROM {FLAGS} f WHERE f.person_id IN (SELECT person_id FROM {REPS})"
    records = list(uow.query(dialect.text(sql)))
    found: list[tuple[str, Pattern]] = []
    for record, (row, fired) in zip(records, decode(r[:-1] for r in records), strict=True):
        key = str(record[-1])
        pattern = work(row, fired)
        found.append((key, pattern))
        n = counts[key]
        out.flagged += n
        out.by_rule.update({r.id: n for r in pattern.rules})
        out.by_risk[pattern.template.risk.value] += n
        out.intents += n * len(pattern.template.notify)
    return found


def _store_patterns(
    uow: UnitOfWork, dialect: SqlDialect, patterns: Sequence[tuple[str, Pattern]]
) -> None:
    """The patterns (numbered by position), their task and order templates, as small
    temporary tables: the writes join persons to them on integers."""
    a_cols = [c for c in spec_for(Assessment).column_names if c not in PERSONAL]
    t_cols = [c for c in spec_for(Task).column_names if c not in PERSONAL]
    o_cols = [c for c in spec_for(QuarantineOrder).column_names if c not in PERSONAL]
    _table(
        uow,
        dialect,
        PATTERNS,
        ["n", "k", "digest", "notifies", "d_order", *(f"a_{c}" for c in a_cols)],
    )
    _table(uow, dialect, PATTERN_TASKS, ("pn", "target", "d"))
    _table(uow, dialect, TASK_DEFS, ["n", "tail", *(f"t_{c}" for c in t_cols)])
    _table(uow, dialect, ORDER_DEFS, ["n", "tail", *(f"o_{c}" for c in o_cols)])
    rows: list[list[Any]] = []
    links: list[tuple[int, str, int]] = []
    task_defs: dict[str, list[Any]] = {}
    order_defs: dict[tuple[Any, ...], list[Any]] = {}
    for n, (key, pattern) in enumerate(patterns):
        a = pattern.columns(Assessment, pattern.template)
        order = pattern.order
        made = None
        if order is not None:
            # Two patterns may order from the same rule and day for different reasons.
            values = pattern.columns(QuarantineOrder, order.order)
            made_of = (order.tail, *(values[c] for c in o_cols))
            if made_of not in order_defs:
                order_defs[made_of] = [len(order_defs), *made_of]
            made = order_defs[made_of][0]
        rows.append([n, key, pattern.digest, int(pattern.notifies), made] + [a[c] for c in a_cols])
        for t in pattern.tasks:
            if t.tail not in task_defs:
                values = pattern.columns(Task, t.task)
                task_defs[t.tail] = [len(task_defs), t.tail, *(values[c] for c in t_cols)]
            links.append((n, t.target, task_defs[t.tail][0]))
    _insert_rows(uow, dialect, PATTERNS, 5 + len(a_cols), rows)
    _insert_rows(uow, dialect, PATTERN_TASKS, 3, links)
    _insert_rows(uow, dialect, TASK_DEFS, 2 + len(t_cols), list(task_defs.values()))
    _insert_rows(uow, dialect, ORDER_DEFS, 2 + len(o_cols), list(order_defs.values()))
    _run(uow, dialect, f"CREATE INDEX {PATTERNS}_k ON {PATTERNS} (k)")
    _run(uow, dialect, f"CREATE INDEX {PATTERN_TASKS}_pn ON {PATTERN_TASKS} (pn)")


def _kind(cls: type[Any], column: str) -> str:
    return next(c.kind for c in spec_for(cls).columns if c.name == column)


def _select(
    cls: type[Any], dialect: SqlDialect, personal: dict[str, str], prefix: str
) -> tuple[str, str]:
    """The column list of ``cls``'s table (jurisdiction last) and the matching ``SELECT`` list:
    ``personal`` columns from the person's row, the others from the template as ``prefix``."""
    spec = spec_for(cls)
    names = [*spec.column_names, "jurisdiction"]
    values = []
    for column in spec.columns:
        if column.name in personal:
            values.append(personal[column.name])
        else:
            values.append(dialect.stored_value(column.kind, f"{prefix}{column.name}"))
    values.append(personal["jurisdiction"])
    return ", ".join(f'"{n}"' for n in names), ", ".join(values)


def _assessments(uow: UnitOfWork, dialect: SqlDialect) -> int:
    """Every flagged person's assessment, those already stored left out; how many were new."""
    text = dialect.as_text
    key = (
        f"'assessment|' || p.digest || '|' || f.person_id || '|' || f.household_id || '|' || "
        f"coalesce({text('f.screening_id')}, '')"
    )
    ident = dialect.stored_value(_kind(Assessment, "id"), dialect.keyed_id(key))
    _run(
        uow,
        dialect,
        f"CREATE TEMP TABLE {NEW} AS SELECT {ident} AS id, f.person_id, f.household_id, "
        f"f.screening_id, f.jurisdiction, f.stairwell_id, p.n AS pn FROM {FLAGS} f "
        f"CROSS JOIN {PATTERNS} p "
        "WHERE p.k = f.k",
    )
    _run(uow, dialect, f"DELETE FROM {NEW} WHERE {_stored_alike(dialect)}")
    new = int(_one(uow, dialect, f"SELECT count(*) FROM {NEW}"))
    if new:
        if not dialect.checks_references(uow):
            _check_references(uow, dialect)
        names, values = _select(
            Assessment,
            dialect,
            {
                "id": "n.id",
                "person_id": "n.person_id",
                "household_id": "n.household_id",
                "screening_id": "n.screening_id",
                "jurisdiction": "n.jurisdiction",
            },
            "p.a_",
        )
        _run(
            uow,
            dialect,
            f"INSERT INTO assessments ({names}) SELECT {values} FROM {NEW} n "
            f"CROSS JOIN {PATTERNS} p WHERE p.n = n.pn",
        )
    return new


def _check_references(uow: UnitOfWork, dialect: SqlDialect) -> None:
    """Every new assessment's person and household on file, checked once for all the run's
    set-based rows (tasks and orders take theirs from these), where the run's transaction
    leaves the store's row-by-row checks off
    (:class:`~gridguard.storage.capabilities.BulkWrites`)."""
    missing = int(
        _one(
            uow,
            dialect,
            f"SELECT count(*) FROM {NEW} n WHERE NOT EXISTS (SELECT 1 FROM persons p "
            "WHERE p.id = n.person_id) OR NOT EXISTS (SELECT 1 FROM households h "
            "WHERE h.id = n.household_id)",
        )
    )
    if missing:
        raise StorageError(
            f"{missing} flagged persons' person or household is not on file; nothing was stored"
        )


def _stored_alike(dialect: SqlDialect) -> str:
    """A new assessment (in :data:`NEW`) that is stored: the same id, or the same content
    for the same person and household under another id (one made before ids were
    computed in SQL), found through the index on person, rule set and day."""
    kinds = {c.name: c.kind for c in spec_for(Assessment).columns}

    def same(column: str) -> str:
        value = dialect.stored_value(kinds[column], f"p.a_{column}")
        if kinds[column] == "json":  # compared as the text stored
            return f"{dialect.as_text(f'a.{column}')} = p.a_{column}"
        return f"(a.{column} = {value} OR (a.{column} IS NULL AND p.a_{column} IS NULL))"

    columns = [c for c in kinds if c not in PERSONAL and c not in ("at", "recorded_by")]
    return (
        "id IN (SELECT id FROM assessments) OR EXISTS (SELECT 1 FROM assessments a "
        f"CROSS JOIN {PATTERNS} p WHERE p.n = {NEW}.pn AND a.person_id = {NEW}.person_id "
        f"AND a.household_id = {NEW}.household_id AND (a.screening_id = {NEW}.screening_id "
        f"OR (a.screening_id IS NULL AND {NEW}.screening_id IS NULL)) AND "
        + " AND ".join(same(c) for c in columns)
        + ")"
    )


def _tasks(uow: UnitOfWork, dialect: SqlDialect) -> int:
    """The tasks of the new assessments, one per id (a household's members share theirs)."""
    kind = _kind(Task, "id")
    person, home = (
        dialect.stored_value(kind, dialect.keyed_id(f"'task|' || n.{who} || '|' || d.tail"))
        for who in ("person_id", "household_id")
    )
    # A household's task is hashed once, after its members' rows are made one.
    homes = (
        f"SELECT DISTINCT n.household_id, n.jurisdiction, t.d FROM {NEW} n "
        f"CROSS JOIN {PATTERN_TASKS} t WHERE t.pn = n.pn AND t.target = 'household'"
    )
    _run(
        uow,
        dialect,
        f"CREATE TEMP TABLE {NEW_TASKS} AS SELECT {person} AS id, n.household_id, "
        f"n.person_id, n.jurisdiction, t.d FROM {NEW} n CROSS JOIN {PATTERN_TASKS} t "
        f"CROSS JOIN {TASK_DEFS} d WHERE t.pn = n.pn AND d.n = t.d AND t.target = 'person' "
        f"UNION ALL SELECT {home}, n.household_id, {dialect.null('text')}, n.jurisdiction, "
        f"n.d FROM ({homes}) n CROSS JOIN {TASK_DEFS} d WHERE d.n = n.d",
    )
    _run(uow, dialect, f"DELETE FROM {NEW_TASKS} WHERE id IN (SELECT id FROM tasks)")
    new = int(_one(uow, dialect, f"SELECT count(*) FROM {NEW_TASKS}"))
    if new:
        names, values = _select(
            Task,
            dialect,
            {
                "id": "g.id",
                "person_id": "g.person_id",
                "household_id": "g.household_id",
                "jurisdiction": "g.jurisdiction",
            },
            "d.t_",
        )
        _run(
            uow,
            dialect,
            f"INSERT INTO tasks ({names}) SELECT {values} FROM {NEW_TASKS} g "
            f"CROSS JOIN {TASK_DEFS} d WHERE d.n = g.d",
        )
    return new


def _orders(
    uow: UnitOfWork, dialect: SqlDialect, patterns: Sequence[tuple[str, Pattern]], settle: Settle
) -> int:
    """The quarantine orders of the new assessments: one per person, none twice.

    A person already under an active order is settled in Python (``settle``):
    a later exposure extends that order instead of adding one.
    """
    ident = dialect.stored_value(
        _kind(QuarantineOrder, "id"),
        dialect.keyed_id("'quarantine|' || n.person_id || '|' || d.tail"),
    )
    _run(
        uow,
        dialect,
        f"CREATE TEMP TABLE {NEW_ORDERS} AS SELECT {ident} AS id, n.person_id, "
        f"n.household_id, n.jurisdiction, d.n AS d, n.pn FROM {NEW} n "
        f"CROSS JOIN {PATTERNS} p CROSS JOIN {ORDER_DEFS} d "
        "WHERE p.n = n.pn AND d.n = p.d_order",
    )
    _run(uow, dialect, f"DELETE FROM {NEW_ORDERS} WHERE id IN (SELECT id FROM quarantine_orders)")
    active = (
        "person_id IN (SELECT person_id FROM quarantine_orders "
        f"WHERE status = {dialect.placeholder} AND person_id IS NOT NULL)"
    )
    status = [OrderStatus.ACTIVE.value]
    held: list[QuarantineOrder] = []
    for person, household, pn in uow.query(
        f"SELECT person_id, household_id, pn FROM {NEW_ORDERS} WHERE {active}", status
    ):
        order = patterns[int(pn)][1].person_order(str(person), str(household))
        if order is not None:
            held.append(order)
    made = settle(held) if held else 0
    if held:
        list(uow.query(f"DELETE FROM {NEW_ORDERS} WHERE {active}", status))
    new = int(_one(uow, dialect, f"SELECT count(*) FROM {NEW_ORDERS}"))
    if new:
        names, values = _select(
            QuarantineOrder,
            dialect,
            {
                "id": "g.id",
                "person_id": "g.person_id",
                "household_id": "g.household_id",
                "jurisdiction": "g.jurisdiction",
            },
            "d.o_",
        )
        _run(
            uow,
            dialect,
            f"INSERT INTO quarantine_orders ({names}) SELECT {values} FROM {NEW_ORDERS} g "
            f"CROSS JOIN {ORDER_DEFS} d WHERE d.n = g.d",
        )
    return new + made


def _notices(
    uow: UnitOfWork, dialect: SqlDialect, patterns: Sequence[tuple[str, Pattern]], tell: Tell
) -> None:
    """The new assessments whose rules tell someone, in person order.

    Urgent ones go to ``tell`` a page at a time (each is a message of its
    own); the others go to ``tally`` in one stream, which only counts them
    into the digests of their building's area (``prepare`` resolved who gets
    them first).
    """
    # Numbered in person order as the key of the table: the stream reads it in that order
    # without a sort of a city's persons (SQLite's sorter would hold up to its heap limit).
    _run(
        uow,
        dialect,
        f"CREATE TEMP TABLE {NOTICES} (nr INTEGER PRIMARY KEY, id TEXT, person_id TEXT, "
        "household_id TEXT, area_id TEXT, pn INTEGER)",
    )
    _run(
        uow,
        dialect,
        f"INSERT INTO {NOTICES} SELECT row_number() OVER (ORDER BY n.person_id), "
        f"{dialect.as_text('n.id')}, n.person_id, n.household_id, b.area_id, n.pn "
        f"FROM {NEW} n CROSS JOIN {PATTERNS} p CROSS JOIN stairwells s "
        "CROSS JOIN buildings b WHERE p.n = n.pn AND p.notifies = 1 "
        "AND s.id = n.stairwell_id AND b.id = s.building_id",
    )
    urgent = [n for n, (_, pattern) in enumerate(patterns) if pattern.urgent]
    marks = ", ".join(str(n) for n in urgent) or "-1"
    if not tell.alerts_in_sql:
        _alert_pages(uow, patterns, tell, marks)
    elif _targets(uow, dialect, patterns, tell, marks):
        _alerts(uow, dialect)
        tell.stage(ALERTS)
    digest = f"{NOTICES} WHERE pn NOT IN ({marks})"
    tell.prepare(
        (str(area), patterns[int(pn)][1])
        for area, pn in uow.query(f"SELECT DISTINCT area_id, pn FROM {digest}")
    )
    by_number = [pattern for _, pattern in patterns]
    tell.tally(
        (str(person), str(household), str(area), by_number[int(pn)])
        for person, household, area, pn in uow.query(
            f"SELECT person_id, household_id, area_id, pn FROM {digest} ORDER BY nr"
        )
    )


def _alert_pages(
    uow: UnitOfWork, patterns: Sequence[tuple[str, Pattern]], tell: Tell, marks: str
) -> None:
    """Urgent persons to ``tell`` a page at a time, each alert made in Python."""
    found = [
        int(nr)
        for (nr,) in uow.query(f"SELECT nr FROM {NOTICES} WHERE pn IN ({marks}) ORDER BY nr")
    ]
    for first in range(0, len(found), PAGE):
        chunk = found[first : first + PAGE]
        page = [
            (Told(str(ident), str(person), str(household), str(area)), patterns[int(pn)][1])
            for ident, person, household, area, pn in uow.query(
                "SELECT id, person_id, household_id, area_id, pn FROM "
                f"{NOTICES} WHERE nr >= {chunk[0]} AND nr <= {chunk[-1]} AND pn IN ({marks}) "
                "ORDER BY nr"
            )
        ]
        tell.add(page)


def _targets(
    uow: UnitOfWork,
    dialect: SqlDialect,
    patterns: Sequence[tuple[str, Pattern]],
    tell: Tell,
    marks: str,
) -> int:
    """What the urgent alerts of each building area and pattern share, into :data:`TARGETS`
    a page of places at a time (a city has hundreds of thousands); how many rows."""
    _table(uow, dialect, TARGETS, TARGET_COLUMNS)
    places = uow.query(f"SELECT DISTINCT area_id, pn FROM {NOTICES} WHERE pn IN ({marks})")
    stored = 0
    while page := list(itertools.islice(places, PAGE)):
        rows = tell.alert_targets([(str(a), int(pn), patterns[int(pn)][1]) for a, pn in page])
        _insert_rows(uow, dialect, TARGETS, len(TARGET_COLUMNS), rows)
        stored += len(rows)
    return stored


def _alerts(uow: UnitOfWork, dialect: SqlDialect) -> None:
    """Every urgent alert, made in SQL into :data:`ALERTS`: the holder's parts from
    :data:`TARGETS`, the person's (masked name, address, ids) from the store."""
    _run(uow, dialect, f"CREATE INDEX {TARGETS}_place ON {TARGETS} (area_id, pn)")
    name = "ltrim(rtrim(pe.name, t.ws), t.ws)"
    # mask_name(name, keep_length=False): the first character and one star.
    who = (
        f"(CASE WHEN pe.name = '' THEN '-' ELSE substr({name}, 1, 1) || "
        f"CASE WHEN length({name}) > 1 THEN '*' ELSE '' END END)"
    )
    address = "(CASE WHEN h.address = '' THEN '-' ELSE h.address END)"
    ident = dialect.keyed_id("'notify|' || n.id || '|' || t.tail")
    _run(
        uow,
        dialect,
        f"CREATE TEMP TABLE {ALERTS} AS SELECT {ident} AS id, t.at AS at, "
        f"{dialect.null('text')} AS recorded_by, t.owner AS area_id, t.channel AS channel, "
        "t.recipient AS recipient, 'screening' AS topic, "
        f"t.subject_head || {who} || t.subject_tail AS subject, "
        f"{who} || ' ' || {address} || t.body_tail AS body, "
        "t.data_head || '\"' || n.id || '\"' || t.data_middle || '\"' || n.person_id || '\"' "
        f"|| t.data_tail AS data, {dialect.null('text')} AS not_before "
        f"FROM {NOTICES} n CROSS JOIN {TARGETS} t CROSS JOIN persons pe "
        "CROSS JOIN households h WHERE t.area_id = n.area_id AND t.pn = n.pn "
        "AND pe.id = n.person_id AND h.id = n.household_id",
    )
