"""The SQL compiler: an expression tree becomes one SQL expression and its parameters.

Every literal, date cut-off and field path is a bind parameter; only
column names (from the fixed field catalogue) and operators appear in the
SQL text. The backend's dialect (:class:`~gridguard.storage.dialect.SqlDialect`) supplies
everything that differs between SQLite and PostgreSQL. Parameters are
positional, in the order their placeholders appear, so a template that
uses an argument twice simply repeats its parameters.

Missing values are SQL ``NULL`` and the logic is SQL's own three-valued
logic, which is the semantics :mod:`~gridguard.rules.python_compiler`
reproduces (see :mod:`gridguard.rules.tree`). Where SQL would differ from
that semantics (``x IN ()`` with a missing ``x``, ``EXISTS`` over a
missing list) the compiler spells out the ``NULL`` case.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from ..errors import ConfigError
from ..storage.dialect import SqlDialect
from .context import RunContext
from .tree import (
    DATE,
    And,
    Between,
    Call,
    Compare,
    Const,
    DaysBetween,
    DaysSince,
    Field,
    Item,
    ItemField,
    Latest,
    ListAll,
    ListAny,
    ListCount,
    Member,
    Missing,
    Node,
    Not,
    Or,
    Param,
    PlaceCount,
    WithinDays,
    element_type,
    is_list,
)

__all__ = ["Fragment", "compile_sql", "join_fragments"]

_SQL_OPS = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "=", "!=": "<>"}


@attrs.frozen
class Fragment:
    """SQL text and the parameters of its placeholders, in order."""

    sql: str
    params: tuple[Any, ...] = ()

    def __add__(self, other: Fragment) -> Fragment:
        return Fragment(self.sql + other.sql, self.params + other.params)


def join_fragments(parts: list[Fragment | str]) -> Fragment:
    """SQL text and fragments joined in order, their parameters in the same order."""
    sql: list[str] = []
    params: list[Any] = []
    for part in parts:
        if isinstance(part, str):
            sql.append(part)
        else:
            sql.append(part.sql)
            params.extend(part.params)
    return Fragment("".join(sql), tuple(params))


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class _Compiler:
    def __init__(
        self,
        dialect: SqlDialect,
        ctx: RunContext,
        columns: Callable[[str], str],
        place_counts: Mapping[int, str],
        reuse: Sequence[tuple[Node, str]] = (),
    ) -> None:
        self.reuse = reuse
        self.d = dialect
        self.ctx = ctx
        self.columns = columns
        self.place_counts = place_counts
        self.mark = dialect.placeholder

    def compile(self, node: Node) -> Fragment:
        for known, column in self.reuse:
            if node is known or node == known:
                return Fragment(column)
        method: Callable[[Any], Fragment] = getattr(self, "c_" + _snake(type(node).__name__))
        return method(node)

    def param(self, value: Any, type_: str) -> Fragment:
        return Fragment(self.mark, (self.d.value(value, type_),))

    # -- values ---------------------------------------------------------------------------

    def c_field(self, node: Field) -> Fragment:
        return Fragment(self.d.column(self.columns(node.name), node.type))

    def c_item_field(self, node: ItemField) -> Fragment:
        sql, _ = self.d.element_field(node.type)
        return Fragment(sql, (self.d.element_field_param(node.name),))

    def c_item(self, node: Item) -> Fragment:
        return Fragment(self.d.element(node.type))

    def c_const(self, node: Const) -> Fragment:
        return self.param(node.value, node.type)

    def c_param(self, node: Param) -> Fragment:
        return self.param(self._param_value(node), node.type)

    def _param_value(self, node: Param) -> Any:
        value = self.ctx.params.get(node.name)
        if is_list(node.type):
            return tuple(value or ())
        return value

    # -- comparisons ----------------------------------------------------------------------

    def c_compare(self, node: Compare) -> Fragment:
        op = _SQL_OPS[node.op]
        return join_fragments(
            ["(", self.compile(node.left), f" {op} ", self.compile(node.right), ")"]
        )

    def c_member(self, node: Member) -> Fragment:
        item = self.compile(node.item)
        container = node.container
        if isinstance(container, Const | Param):
            values = (
                container.value if isinstance(container, Const) else self._param_value(container)
            )
            values = tuple(values or ())
            if not values:
                # SQLite says NULL IN () is false; three-valued logic says unknown.
                return join_fragments(
                    ["(CASE WHEN ", item, f" IS NULL THEN NULL ELSE {self.d.false()} END)"]
                )
            kind = element_type(container.type)
            marks = ", ".join(self.mark for _ in values)
            inside = Fragment(f"({marks})", tuple(self.d.value(v, kind) for v in values))
            test = join_fragments(["(", item, " IN ", inside, ")"])
        else:
            source = self.compile(container)
            exists = join_fragments(
                [
                    f"EXISTS (SELECT 1 FROM {self.d.json_text_list(source.sql)} WHERE ",
                    Fragment(self.d.element(element_type(container.type))),
                    " = ",
                    item,
                    ")",
                ]
            )
            exists = Fragment(exists.sql, source.params + exists.params)
            null_test: list[Fragment | str] = ["(", source, " IS NULL"]
            if not isinstance(node.item, Const):
                null_test += [" OR ", item, " IS NULL"]
            null_test.append(")")
            test = join_fragments(
                ["(CASE WHEN ", join_fragments(null_test), " THEN NULL ELSE ", exists, " END)"]
            )
        return join_fragments(["(NOT ", test, ")"]) if node.negate else test

    def c_between(self, node: Between) -> Fragment:
        return self.c_and(
            And((Compare(">=", node.value, node.low), Compare("<=", node.value, node.high)))
        )

    def c_missing(self, node: Missing) -> Fragment:
        return join_fragments(["(", self.compile(node.value), " IS NULL)"])

    # -- logic: SQL's own three-valued AND, OR, NOT -------------------------------------------

    def c_and(self, node: And) -> Fragment:
        parts: list[Fragment | str] = ["("]
        for n, operand in enumerate(node.operands):
            if n:
                parts.append(" AND ")
            parts.append(self.compile(operand))
        parts.append(")")
        return join_fragments(parts)

    def c_or(self, node: Or) -> Fragment:
        parts: list[Fragment | str] = ["("]
        for n, operand in enumerate(node.operands):
            if n:
                parts.append(" OR ")
            parts.append(self.compile(operand))
        parts.append(")")
        return join_fragments(parts)

    def c_not(self, node: Not) -> Fragment:
        return join_fragments(["(NOT ", self.compile(node.operand), ")"])

    # -- dates ----------------------------------------------------------------------------

    def c_days_since(self, node: DaysSince) -> Fragment:
        day = self.param(self.ctx.day, DATE)
        value = self.compile(node.value)
        sql = self.d.days_between("\x00start", "\x00end")
        return self._template(sql, {"\x00start": value, "\x00end": day})

    def c_days_between(self, node: DaysBetween) -> Fragment:
        sql = self.d.days_between("\x00start", "\x00end")
        return self._template(
            sql, {"\x00start": self.compile(node.start), "\x00end": self.compile(node.end)}
        )

    def _template(self, sql: str, slots: Mapping[str, Fragment]) -> Fragment:
        """Put fragments into ``sql`` where their slot markers stand, in textual order."""
        parts: list[Fragment | str] = []
        rest = sql
        while rest:
            hits = [(rest.find(k), k) for k in slots if rest.find(k) >= 0]
            if not hits:
                parts.append(rest)
                break
            at, key = min(hits)
            parts += [rest[:at], slots[key]]
            rest = rest[at + len(key) :]
        return join_fragments(parts)

    def c_within_days(self, node: WithinDays) -> Fragment:
        value = self.compile(node.value)
        first = self.ctx.first_day(node.days)
        if node.value.type == DATE:
            low, high = self.param(first, DATE), self.param(self.ctx.day, DATE)
            return join_fragments(["(", value, " BETWEEN ", low, " AND ", high, ")"])
        start = self.param(self.ctx.day_start(first), "timestamp")
        end = self.param(self.ctx.end, "timestamp")
        return join_fragments(["(", value, " >= ", start, " AND ", value, " < ", end, ")"])

    # -- lists ----------------------------------------------------------------------------

    def _elements(self, node: Node) -> tuple[Fragment, str]:
        source = self.compile(node)
        kind = element_type(node.type)
        table = (
            self.d.json_text_list("\x00")
            if kind in ("text", "number", "any", "date")
            else (self.d.json_list("\x00"))
        )
        return source, table

    def _over(self, source: Fragment, table: str, select: str, where: Fragment | None) -> Fragment:
        head, _, tail = table.partition("\x00")
        parts: list[Fragment | str] = [f"(SELECT {select} FROM {head}", source, tail]
        if where is not None:
            parts += [" WHERE ", where]
        parts.append(")")
        return join_fragments(parts)

    def _unless_missing(self, source: Fragment, value: Fragment) -> Fragment:
        return join_fragments(["(CASE WHEN ", source, " IS NULL THEN NULL ELSE ", value, " END)"])

    def c_list_any(self, node: ListAny) -> Fragment:
        source, table = self._elements(node.source)
        found = self._over(source, table, "1", self.compile(node.predicate))
        return self._unless_missing(source, join_fragments(["EXISTS ", found]))

    def c_list_all(self, node: ListAll) -> Fragment:
        source, table = self._elements(node.source)
        test = self.compile(node.predicate)
        failing = self._over(
            source, table, "1", Fragment(self.d.is_not_true(test.sql), test.params)
        )
        return self._unless_missing(source, join_fragments(["(NOT EXISTS ", failing, ")"]))

    def c_list_count(self, node: ListCount) -> Fragment:
        source, table = self._elements(node.source)
        if node.predicate is None:
            return Fragment(self.d.json_length(source.sql), source.params)
        counted = self._over(source, table, "count(*)", self.compile(node.predicate))
        return self._unless_missing(source, counted)

    def c_latest(self, node: Latest) -> Fragment:
        source, table = self._elements(node.source)
        value = self.compile(node.value)
        head, _, tail = table.partition("\x00")
        return join_fragments(["(SELECT max(", value, f") FROM {head}", source, tail, ")"])

    def c_place_count(self, node: PlaceCount) -> Fragment:
        column = self.place_counts.get(id(node))
        if column is None:
            raise ConfigError("count_in() can only be compiled as part of a screening query")
        return Fragment(column)

    def c_call(self, node: Call) -> Fragment:
        template = node.function.sql.get(self.d.name)
        if template is None:
            raise ConfigError(
                f"rule function {node.function.name!r} has no SQL for the {self.d.name} dialect"
            )
        args = [self.compile(a) for a in node.args]
        parts: list[Fragment | str] = ["("]
        for literal, field, _spec, _conv in string.Formatter().parse(template):
            parts.append(literal)
            if field is not None:
                try:
                    parts.append(args[int(field)])
                except (ValueError, IndexError):
                    raise ConfigError(
                        f"rule function {node.function.name!r}: bad placeholder {{{field}}} "
                        f"in its {self.d.name} template"
                    ) from None
        parts.append(")")
        return join_fragments(parts)


def compile_sql(
    node: Node,
    dialect: SqlDialect,
    ctx: RunContext,
    *,
    columns: Mapping[str, str] | Callable[[str], str] | None = None,
    place_counts: Mapping[int, str] | None = None,
    reuse: Sequence[tuple[Node, str]] = (),
) -> Fragment:
    """``node`` as an SQL expression of ``dialect`` with its parameters, for the run ``ctx``.

    ``columns`` maps field names to the SQL that reads them (default: the
    quoted field name); ``place_counts`` maps ``id()`` of each
    :class:`~gridguard.rules.tree.PlaceCount` node to the SQL of its value.
    ``reuse`` pairs sub-expressions with the SQL of a column that already
    holds their value on the same row (a rule computed once, read again).
    A condition's SQL yields true, false or ``NULL`` (unknown).
    """
    if columns is None:
        lookup: Callable[[str], str] = lambda name: f'"{name}"'  # noqa: E731
    elif callable(columns):
        lookup = columns
    else:
        mapping = columns
        lookup = mapping.__getitem__
    return _Compiler(dialect, ctx, lookup, place_counts or {}, reuse).compile(node)
