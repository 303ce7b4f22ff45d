"""The Python compiler: an expression tree becomes nested closures.

Each node becomes a function ``f(row, item=None)``: ``row`` is a mapping
from field names to Python values (see :data:`~gridguard.rules.tree.ROW_FIELDS`;
``None`` when missing), ``item`` the list element inside a list
predicate. Booleans follow three-valued logic (``True``, ``False``, ``None``
for unknown) exactly as SQL does, so this compiler and
:mod:`~gridguard.rules.sql_compiler` agree on every row. The common shapes
(a field against a literal, two or three operands of ``and``/``or``) get
closures of their own, which is what makes millions of evaluations a
second possible.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

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
)

__all__ = ["Evaluator", "compile_python", "place_count_key"]

Row = Mapping[str, Any]
Evaluator = Callable[..., Any]
"""A compiled node: ``f(row, item=None)`` returns its value (``None`` when unknown)."""

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


def place_count_key(index: int) -> str:
    """The row key under which the runner puts the value of the ``index``-th ``count_in``."""
    return f"#count_in:{index}"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class _Compiler:
    def __init__(self, ctx: RunContext, place_counts: Mapping[int, int]) -> None:
        self.ctx = ctx
        self.place_counts = place_counts

    def compile(self, node: Node) -> Evaluator:
        method: Callable[[Any], Evaluator] = getattr(self, "c_" + _snake(type(node).__name__))
        return method(node)

    # -- values ---------------------------------------------------------------------------

    def c_field(self, node: Field) -> Evaluator:
        name = node.name

        def field(row: Row, item: Any = None) -> Any:
            return row[name]

        return field

    def c_item_field(self, node: ItemField) -> Evaluator:
        name = node.name

        def item_field(row: Row, item: Any = None) -> Any:
            return item[name]

        return item_field

    def c_item(self, node: Item) -> Evaluator:
        def element(row: Row, item: Any = None) -> Any:
            return item

        return element

    def c_const(self, node: Const) -> Evaluator:
        value = node.value

        def const(row: Row, item: Any = None) -> Any:
            return value

        return const

    def c_param(self, node: Param) -> Evaluator:
        value = self.ctx.params.get(node.name)
        if isinstance(value, list):
            value = tuple(value)

        def param(row: Row, item: Any = None) -> Any:
            return value

        return param

    # -- comparisons ----------------------------------------------------------------------

    def c_compare(self, node: Compare) -> Evaluator:
        op = _OPS[node.op]
        left, right = node.left, node.right
        if isinstance(right, Const) and isinstance(left, Field | ItemField):
            return self._field_vs_const(left, node.op, right.value)
        if isinstance(left, Const) and isinstance(right, Field | ItemField):
            flipped = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(node.op, node.op)
            return self._field_vs_const(right, flipped, left.value)
        a, b = self.compile(left), self.compile(right)

        def compare(row: Row, item: Any = None) -> bool | None:
            x = a(row, item)
            if x is None:
                return None
            y = b(row, item)
            if y is None:
                return None
            return op(x, y)

        return compare

    def _field_vs_const(self, field: Field | ItemField, symbol: str, c: Any) -> Evaluator:
        name = field.name
        # One closure per operator: no call through operator.* on the hot path.
        if isinstance(field, Field):
            if symbol == ">=":

                def ge(row: Row, item: Any = None) -> bool | None:
                    v = row[name]
                    return None if v is None else v >= c

                return ge
            if symbol == ">":

                def gt(row: Row, item: Any = None) -> bool | None:
                    v = row[name]
                    return None if v is None else v > c

                return gt
            if symbol == "==":

                def eq(row: Row, item: Any = None) -> bool | None:
                    v = row[name]
                    return None if v is None else v == c

                return eq
        op = _OPS[symbol]
        if isinstance(field, Field):

            def row_compare(row: Row, item: Any = None) -> bool | None:
                v = row[name]
                return None if v is None else op(v, c)

            return row_compare

        def item_compare(row: Row, item: Any = None) -> bool | None:
            v = item[name]
            return None if v is None else op(v, c)

        return item_compare

    def c_member(self, node: Member) -> Evaluator:
        negate = node.negate
        container = node.container
        if isinstance(container, Const | Param):
            values = container.value if isinstance(container, Const) else None
            if isinstance(container, Param):
                values = self.ctx.params.get(container.name) or ()
            members = frozenset(values or ())
            if isinstance(node.item, Field) and not negate:
                name = node.item.name

                def field_in(row: Row, item: Any = None) -> bool | None:
                    v = row[name]
                    return None if v is None else v in members

                return field_in
            get = self.compile(node.item)

            def in_literal(row: Row, item: Any = None) -> bool | None:
                v = get(row, item)
                if v is None:
                    return None
                return (v not in members) if negate else (v in members)

            return in_literal
        if isinstance(node.item, Const) and isinstance(container, Field) and not negate:
            value, name = node.item.value, container.name

            def const_in_field(row: Row, item: Any = None) -> bool | None:
                seq = row[name]
                return None if seq is None else value in seq

            return const_in_field
        get_item, get_list = self.compile(node.item), self.compile(container)

        def member(row: Row, item: Any = None) -> bool | None:
            v = get_item(row, item)
            if v is None:
                return None
            seq = get_list(row, item)
            if seq is None:
                return None
            return (v not in seq) if negate else (v in seq)

        return member

    def c_between(self, node: Between) -> Evaluator:
        return self.c_and(
            And((Compare(">=", node.value, node.low), Compare("<=", node.value, node.high)))
        )

    def c_missing(self, node: Missing) -> Evaluator:
        get = self.compile(node.value)

        def missing(row: Row, item: Any = None) -> bool:
            return get(row, item) is None

        return missing

    # -- logic (Kleene) -------------------------------------------------------------------

    def c_and(self, node: And) -> Evaluator:
        parts = [self.compile(o) for o in node.operands]
        if len(parts) == 1:
            return parts[0]
        if len(parts) == 2:
            p0, p1 = parts

            def and2(row: Row, item: Any = None) -> bool | None:
                a = p0(row, item)
                if a is False:
                    return False
                b = p1(row, item)
                if b is False:
                    return False
                return None if a is None or b is None else True

            return and2

        def and_n(row: Row, item: Any = None) -> bool | None:
            unknown = False
            for part in parts:
                v = part(row, item)
                if v is False:
                    return False
                if v is None:
                    unknown = True
            return None if unknown else True

        return and_n

    def c_or(self, node: Or) -> Evaluator:
        parts = [self.compile(o) for o in node.operands]
        if len(parts) == 1:
            return parts[0]
        if len(parts) == 2:
            p0, p1 = parts

            def or2(row: Row, item: Any = None) -> bool | None:
                a = p0(row, item)
                if a is True:
                    return True
                b = p1(row, item)
                if b is True:
                    return True
                return None if a is None or b is None else False

            return or2
        if len(parts) == 3:
            q0, q1, q2 = parts

            def or3(row: Row, item: Any = None) -> bool | None:
                a = q0(row, item)
                if a is True:
                    return True
                b = q1(row, item)
                if b is True:
                    return True
                c = q2(row, item)
                if c is True:
                    return True
                return None if a is None or b is None or c is None else False

            return or3

        def or_n(row: Row, item: Any = None) -> bool | None:
            unknown = False
            for part in parts:
                v = part(row, item)
                if v is True:
                    return True
                if v is None:
                    unknown = True
            return None if unknown else False

        return or_n

    def c_not(self, node: Not) -> Evaluator:
        get = self.compile(node.operand)

        def negation(row: Row, item: Any = None) -> bool | None:
            v = get(row, item)
            return None if v is None else not v

        return negation

    # -- dates ----------------------------------------------------------------------------

    def c_days_since(self, node: DaysSince) -> Evaluator:
        get, day = self.compile(node.value), self.ctx.day

        def days_since(row: Row, item: Any = None) -> int | None:
            v = get(row, item)
            return None if v is None else (day - v).days

        return days_since

    def c_days_between(self, node: DaysBetween) -> Evaluator:
        start, end = self.compile(node.start), self.compile(node.end)

        def days_between(row: Row, item: Any = None) -> int | None:
            a = start(row, item)
            if a is None:
                return None
            b = end(row, item)
            return None if b is None else (b - a).days

        return days_between

    def c_within_days(self, node: WithinDays) -> Evaluator:
        get = self.compile(node.value)
        first = self.ctx.first_day(node.days)
        if node.value.type == DATE:
            low: Any = first
            last: Any = self.ctx.day

            def within_dates(row: Row, item: Any = None) -> bool | None:
                v = get(row, item)
                return None if v is None else low <= v <= last

            return within_dates
        start, end = self.ctx.day_start(first), self.ctx.end

        def within_instants(row: Row, item: Any = None) -> bool | None:
            v = get(row, item)
            return None if v is None else start <= v < end

        return within_instants

    # -- lists ----------------------------------------------------------------------------

    def c_list_any(self, node: ListAny) -> Evaluator:
        get, test = self.compile(node.source), self.compile(node.predicate)

        def list_any(row: Row, item: Any = None) -> bool | None:
            seq = get(row, item)
            if seq is None:
                return None
            return any(test(row, e) is True for e in seq)

        return list_any

    def c_list_all(self, node: ListAll) -> Evaluator:
        get, test = self.compile(node.source), self.compile(node.predicate)

        def list_all(row: Row, item: Any = None) -> bool | None:
            seq = get(row, item)
            if seq is None:
                return None
            return all(test(row, e) is True for e in seq)

        return list_all

    def c_list_count(self, node: ListCount) -> Evaluator:
        get = self.compile(node.source)
        if node.predicate is None:

            def length(row: Row, item: Any = None) -> int | None:
                seq = get(row, item)
                return None if seq is None else len(seq)

            return length
        test = self.compile(node.predicate)

        def list_count(row: Row, item: Any = None) -> int | None:
            seq = get(row, item)
            if seq is None:
                return None
            return sum(1 for e in seq if test(row, e) is True)

        return list_count

    def c_latest(self, node: Latest) -> Evaluator:
        get, value = self.compile(node.source), self.compile(node.value)

        def latest(row: Row, item: Any = None) -> Any:
            seq = get(row, item)
            if seq is None:
                return None
            found = [v for e in seq if (v := value(row, e)) is not None]
            return max(found) if found else None

        return latest

    def c_place_count(self, node: PlaceCount) -> Evaluator:
        index = self.place_counts.get(id(node))
        if index is None:
            raise KeyError("count_in() met outside a rule set: compile it with its rule set")
        key = place_count_key(index)

        def place_count(row: Row, item: Any = None) -> int:
            return int(row.get(key) or 0)

        return place_count

    def c_call(self, node: Call) -> Evaluator:
        function = node.function.python
        args = [self.compile(a) for a in node.args]

        def call(row: Row, item: Any = None) -> Any:
            return function(*(a(row, item) for a in args))

        return call


def compile_python(
    node: Node, ctx: RunContext, *, place_counts: Mapping[int, int] | None = None
) -> Evaluator:
    """Compile ``node`` for the run ``ctx``: a function ``f(row)`` giving its value.

    For a condition the value is ``True``, ``False`` or ``None`` (unknown);
    a rule fires only on ``True``. ``place_counts`` maps ``id()`` of each
    :class:`~gridguard.rules.tree.PlaceCount` node to its index, whose value
    the screening run puts in the row under
    :func:`~gridguard.rules.python_compiler.place_count_key`.
    """
    return _Compiler(ctx, place_counts or {}).compile(node)
