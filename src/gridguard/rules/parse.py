"""The text front end: a Python-like condition read into the expression tree.

``temperature >= 37.3 or "cough" in symptoms`` is parsed with
``ast.parse`` (``mode="eval"``) and translated node by node from an
allow-list: comparisons, ``in``, ``and``/``or``/``not``, names, literals and
calls of the rule language's own functions (and those plugins register).
Anything else (attribute access, subscripts, comprehensions, lambdas,
arithmetic, calls of unknown names such as ``__import__``) is refused with
a :class:`ConditionError`. Nothing is ever evaluated as Python: the tree is
all the compilers see.

Every error names the rule, the line and column, and the offending name,
with a suggestion for a misspelt field.
"""

from __future__ import annotations

import ast
import datetime as dt
import difflib
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ..errors import ValidationError, Violation
from .functions import RuleFunction
from .tree import (
    ANY,
    BOOL,
    DATE,
    ITEM_FIELDS,
    LEVEL_ORDER,
    LEVELS,
    NEIGHBOUR_FIELDS,
    NUMBER,
    ROW_FIELDS,
    TEXT,
    TIMESTAMP,
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

__all__ = [
    "BUILTIN_FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "PARAMS",
    "ConditionError",
    "constant_node",
    "depth",
    "parse_condition",
    "parse_value",
]

MAX_LENGTH = 4000
"""Longest condition accepted, in characters."""
MAX_DEPTH = 20
"""Deepest condition accepted, in levels of its tree (``a or (b or c)`` is 3 deep).

Screening compiles each condition into one SQL expression; SQLite's parser
refuses a statement whose brackets nest about 30 deep, so a condition deeper
than this is refused when the rule set is loaded rather than when it runs.
The built-in rules are 2 to 7 deep.
"""

PARAMS: dict[str, str] = {"outbreak_areas": "list<text>"}
"""Names whose values come from the campaign at run time."""

BUILTIN_FUNCTIONS: dict[str, str] = {
    "any": "any(list, predicate): some element makes the predicate true",
    "all": "all(list, predicate): every element makes the predicate true",
    "count": "count(list) or count(list, predicate): how many elements (make it true)",
    "latest": "latest(list, value): the greatest value over the elements (a date, say)",
    "count_in": (
        "count_in(level, predicate, others=False, per=None): persons (or smaller places) "
        "of the same place"
    ),
    "days_since": "days_since(date): whole local days from the date to the run's day",
    "days_between": "days_between(start, end): whole days from start to end",
    "within_days": "within_days(date_or_time, n): on one of the last n local days, or today",
    "between": "between(value, low, high): low <= value <= high",
    "missing": "missing(value): the value is missing (never unknown)",
    "present": "present(value): the value is there (never unknown)",
    "date": 'date("2020-01-23"): a date literal',
}
"""The rule language's own functions, with a one-line description each."""

_COMPARE_OPS: dict[type[ast.cmpop], str] = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
}
_ORDERED = frozenset({NUMBER, TEXT, DATE, TIMESTAMP})

_REFUSED: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripts",
    ast.Lambda: "lambdas",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.BinOp: "arithmetic",
    ast.IfExp: "conditional expressions",
    ast.NamedExpr: "assignment expressions",
    ast.Starred: "starred arguments",
    ast.Dict: "dictionaries",
    ast.Set: "sets (use a list)",
    ast.JoinedStr: "f-strings",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}


class ConditionError(ValidationError):
    """A condition that cannot be accepted: bad syntax, a refused construct, a type error.

    ``rule_id``, ``line``, ``column`` (1-based) and ``name`` (the offending
    name or construct) say where; the message says why, with a suggestion
    for a misspelt field.
    """

    def __init__(
        self,
        path: str,
        rule_id: str,
        line: int,
        column: int,
        name: str,
        problem: str,
    ) -> None:
        self.rule_id = rule_id
        self.line = line
        self.column = column
        self.name = name
        self.problem = problem
        where = f"rule {rule_id!r}, line {line} column {column}"
        super().__init__([Violation(path, repr(name) if name else "", f"{where}: {problem}")])


@attrs.frozen
class _Scope:
    """What names mean where a node is read."""

    item_type: str | None = None
    """The element type inside a list predicate (``trip``, ``exposure``, ``text``)."""
    neighbour: bool = False
    """Inside ``count_in``: fields are the other person's."""


class _Reader:
    """Translates one condition's :mod:`ast` into a tree, checking types on the way."""

    def __init__(
        self,
        text: str,
        rule_id: str,
        path: str,
        constants: Mapping[str, Const],
        functions: Mapping[str, RuleFunction],
    ) -> None:
        self.text = text
        self.lines = text.splitlines() or [""]
        self.rule_id = rule_id
        self.path = path
        self.constants = constants
        self.functions = functions

    # -- errors ---------------------------------------------------------------------------

    def error(self, node: ast.AST | None, name: str, problem: str) -> ConditionError:
        line = getattr(node, "lineno", 1) or 1
        offset = getattr(node, "col_offset", 0) or 0
        source = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        # ast counts columns in UTF-8 bytes; people count characters.
        column = len(source.encode("utf-8")[:offset].decode("utf-8", "ignore")) + 1
        return ConditionError(self.path, self.rule_id, line, column, name, problem)

    def _suggest(self, name: str, candidates: Sequence[str]) -> str:
        close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
        return f"; did you mean {close[0]!r}?" if close else ""

    # -- entry ----------------------------------------------------------------------------

    def screen(self, tree: ast.Expression) -> None:
        """Refuse any construct outside the allow-list, outermost first, before reading."""
        for node in ast.walk(tree.body):
            refused = _REFUSED.get(type(node))
            if refused is not None:
                self._refuse(node, refused)
            if isinstance(node, ast.Compare):
                for op in node.ops:
                    if isinstance(op, ast.Is | ast.IsNot):
                        raise self.error(
                            node, "is", "use missing(x) or present(x) rather than 'is None'"
                        )

    def condition(self, tree: ast.Expression) -> Node:
        node = self.read(tree.body, _Scope())
        if node.type not in (BOOL, ANY):
            raise self.error(
                tree.body,
                _source_name(tree.body),
                f"a condition must be true or false, not a {node.type}",
            )
        return node

    def read(self, node: ast.AST, scope: _Scope) -> Node:
        refused = _REFUSED.get(type(node))
        if refused is not None:
            return self._refuse(node, refused)
        if isinstance(node, ast.BoolOp):
            operands = tuple(self.boolean(v, scope) for v in node.values)
            return And(operands) if isinstance(node.op, ast.And) else Or(operands)
        if isinstance(node, ast.UnaryOp):
            return self.unary(node, scope)
        if isinstance(node, ast.Compare):
            return self.compare(node, scope)
        if isinstance(node, ast.Name):
            return self.name(node, scope)
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.List | ast.Tuple):
            return self.literal_list(node)
        if isinstance(node, ast.Call):
            return self.call(node, scope)
        return self._refuse(node, type(node).__name__)

    def _refuse(self, node: ast.AST, what: str) -> Node:
        name = _source_name(node)
        raise self.error(node, name, f"not allowed in conditions: {what} ({name})")

    def boolean(self, node: ast.AST, scope: _Scope) -> Node:
        out = self.read(node, scope)
        if out.type not in (BOOL, ANY):
            raise self.error(
                node, _source_name(node), f"expected true or false here, not a {out.type}"
            )
        return out

    def unary(self, node: ast.UnaryOp, scope: _Scope) -> Node:
        if isinstance(node.op, ast.Not):
            return Not(self.boolean(node.operand, scope))
        if isinstance(node.op, ast.USub | ast.UAdd) and isinstance(node.operand, ast.Constant):
            value = node.operand.value
            if isinstance(value, int | float) and not isinstance(value, bool):
                return Const(-value if isinstance(node.op, ast.USub) else value, NUMBER)
        return self._refuse(node, "arithmetic")

    # -- names and literals ---------------------------------------------------------------

    def name(self, node: ast.Name, scope: _Scope) -> Node:
        name = node.id
        if name.startswith("_"):
            raise self.error(node, name, f"names starting with '_' are not allowed ({name})")
        if scope.item_type is not None:
            fields = ITEM_FIELDS.get(scope.item_type)
            if fields is not None and name in fields:
                return ItemField(name, fields[name])
            if fields is None and name == "it":
                return Item(scope.item_type)
        if name in ROW_FIELDS:
            if name in NEIGHBOUR_FIELDS and not scope.neighbour:
                raise self.error(
                    node, name, f"{name!r} may be used only inside count_in(level, ...)"
                )
            return Field(name, ROW_FIELDS[name])
        if name in self.constants:
            return self.constants[name]
        if name in PARAMS:
            return Param(name, PARAMS[name])
        if name in LEVELS:
            raise self.error(node, name, f"{name!r} is a place level: use count_in({name}, ...)")
        if name in BUILTIN_FUNCTIONS or name in self.functions:
            raise self.error(node, name, f"{name!r} is a function: call it, {name}(...)")
        known = [*ROW_FIELDS, *self.constants, *PARAMS]
        if scope.item_type is not None:
            known += list(ITEM_FIELDS.get(scope.item_type, {"it": ""}))
        raise self.error(node, name, f"unknown field {name!r}{self._suggest(name, known)}")

    def constant(self, node: ast.Constant) -> Const:
        value = node.value
        if isinstance(value, bool):
            return Const(value, BOOL)
        if isinstance(value, int | float):
            return Const(value, NUMBER)
        if isinstance(value, str):
            return Const(value, TEXT)
        if value is None:
            raise self.error(node, "None", "None is not a value: use missing(field)")
        raise self.error(
            node, repr(value), f"literals of type {type(value).__name__} are not allowed"
        )

    def literal_list(self, node: ast.List | ast.Tuple) -> Const:
        items: list[Const] = []
        for element in node.elts:
            item = self.read(element, _Scope())
            if not isinstance(item, Const) or is_list(item.type):
                raise self.error(
                    element, _source_name(element), "a list may hold only literal values"
                )
            items.append(item)
        types = {i.type for i in items}
        if len(types) > 1:
            raise self.error(
                node,
                _source_name(node),
                f"a list must hold values of one type, not {sorted(types)}",
            )
        tp = types.pop() if types else ANY
        return Const(tuple(i.value for i in items), f"list<{tp}>")

    # -- comparisons ----------------------------------------------------------------------

    def compare(self, node: ast.Compare, scope: _Scope) -> Node:
        parts: list[Node] = []
        left_ast: ast.AST = node.left
        left = self.read(node.left, scope)
        for op, right_ast in zip(node.ops, node.comparators, strict=True):
            right = self.read(right_ast, scope)
            parts.append(self.compare_pair(node, op, left, right, left_ast, right_ast))
            left, left_ast = right, right_ast
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def compare_pair(
        self, node: ast.AST, op: ast.cmpop, left: Node, right: Node, la: ast.AST, ra: ast.AST
    ) -> Node:
        if isinstance(op, ast.In | ast.NotIn):
            return self.member(node, left, right, isinstance(op, ast.NotIn), ra)
        symbol = _COMPARE_OPS.get(type(op))
        if symbol is None:
            name = type(op).__name__
            raise self.error(node, name, f"comparison {name!r} is not allowed (use == or !=)")
        self.check_comparable(node, left, right, la, ra)
        if symbol not in ("==", "!=") and left.type == BOOL:
            raise self.error(node, symbol, "true/false values can only be compared with == or !=")
        return Compare(symbol, left, right)

    def check_comparable(
        self, node: ast.AST, left: Node, right: Node, la: ast.AST, ra: ast.AST
    ) -> None:
        lt, rt = left.type, right.type
        if ANY in (lt, rt):
            return
        if is_list(lt) or is_list(rt):
            bad = la if is_list(lt) else ra
            raise self.error(
                bad, _source_name(bad), "a list cannot be compared; use 'in', any() or count()"
            )
        if lt != rt:
            hint = ""
            if {lt, rt} == {DATE, TEXT}:
                hint = ' (write a date as date("2020-01-23"))'
            raise self.error(
                node,
                _source_name(node),
                f"can never be true: comparing a {lt} with a {rt}{hint}",
            )

    def member(self, node: ast.AST, item: Node, container: Node, negate: bool, ra: ast.AST) -> Node:
        if not is_list(container.type):
            raise self.error(
                ra,
                _source_name(ra),
                f"'in' needs a list on its right (a list field or [..]), not a {container.type}",
            )
        inner = element_type(container.type)
        if inner in ITEM_FIELDS:
            raise self.error(
                ra, _source_name(ra), f"use any({_source_name(ra)}, ...) to look into {inner}s"
            )
        if ANY not in (inner, item.type) and inner != item.type:
            raise self.error(
                node,
                _source_name(node),
                f"can never be true: looking for a {item.type} in a list of {inner}",
            )
        if is_list(item.type):
            raise self.error(node, _source_name(node), "the left side of 'in' must be one value")
        return Member(item, container, negate)

    # -- calls ----------------------------------------------------------------------------

    def call(self, node: ast.Call, scope: _Scope) -> Node:
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, ast.Attribute):
                return self._refuse(node.func, "attribute access")
            return self._refuse(node.func, "calls of computed functions")
        name = node.func.id
        if name.startswith("_"):
            raise self.error(node.func, name, f"names starting with '_' are not allowed ({name})")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                self._refuse(arg, "starred arguments")
        handler = getattr(self, f"fn_{name}", None) if name in BUILTIN_FUNCTIONS else None
        if handler is not None:
            result: Node = handler(node, scope)
            return result
        function = self.functions.get(name)
        if function is None:
            known = [*BUILTIN_FUNCTIONS, *self.functions]
            raise self.error(
                node.func, name, f"unknown function {name!r}{self._suggest(name, known)}"
            )
        self.no_keywords(node, name)
        if len(node.args) != function.arity:
            raise self.error(
                node, name, f"{name}() takes {function.arity} argument(s), got {len(node.args)}"
            )
        args = tuple(self.read(a, scope) for a in node.args)
        return Call(function, args, function.returns or ANY)

    def no_keywords(self, node: ast.Call, name: str) -> None:
        if node.keywords:
            keyword = node.keywords[0]
            raise self.error(keyword, keyword.arg or "**", f"{name}() takes no keyword arguments")

    def args(self, node: ast.Call, name: str, low: int, high: int | None = None) -> list[ast.expr]:
        self.no_keywords(node, name)
        high = low if high is None else high
        count = len(node.args)
        if not low <= count <= high:
            want = str(low) if low == high else f"{low} or {high}"
            raise self.error(node, name, f"{name}() takes {want} argument(s), got {count}")
        return list(node.args)

    def list_source(self, node: ast.expr, scope: _Scope, name: str) -> tuple[Node, str]:
        if scope.item_type is not None:
            raise self.error(node, name, f"{name}() cannot be nested inside another list predicate")
        source = self.read(node, scope)
        if not is_list(source.type) or not isinstance(source, Field | Param | Const):
            raise self.error(
                node,
                _source_name(node),
                f"{name}() needs a list field such as trips or symptoms, not a {source.type}",
            )
        return source, element_type(source.type)

    def _list_predicate(self, node: ast.Call, scope: _Scope, name: str, optional: bool) -> Node:
        args = self.args(node, name, 1 if optional else 2, 2)
        source, item = self.list_source(args[0], scope, name)
        inner = _Scope(item_type=item, neighbour=scope.neighbour)
        predicate = self.boolean(args[1], inner) if len(args) == 2 else None
        if name == "any":
            assert predicate is not None
            return ListAny(source, predicate)
        if name == "all":
            assert predicate is not None
            return ListAll(source, predicate)
        return ListCount(source, predicate)

    def fn_any(self, node: ast.Call, scope: _Scope) -> Node:
        return self._list_predicate(node, scope, "any", optional=False)

    def fn_all(self, node: ast.Call, scope: _Scope) -> Node:
        return self._list_predicate(node, scope, "all", optional=False)

    def fn_count(self, node: ast.Call, scope: _Scope) -> Node:
        return self._list_predicate(node, scope, "count", optional=True)

    def fn_latest(self, node: ast.Call, scope: _Scope) -> Node:
        args = self.args(node, "latest", 2)
        source, item = self.list_source(args[0], scope, "latest")
        value = self.read(args[1], _Scope(item_type=item, neighbour=scope.neighbour))
        if value.type not in _ORDERED:
            raise self.error(
                args[1], _source_name(args[1]), "latest() needs a date, number or text"
            )
        return Latest(source, value)

    def fn_count_in(self, node: ast.Call, scope: _Scope) -> Node:
        if scope.item_type is not None:
            raise self.error(node, "count_in", "count_in() cannot be used inside a list predicate")
        others = False
        per: str | None = None
        for keyword in node.keywords:
            if keyword.arg == "per":
                per = self._level(keyword.value, "per=")
                continue
            if keyword.arg != "others":
                raise self.error(
                    keyword,
                    keyword.arg or "**",
                    "count_in() takes only the keywords others= and per=",
                )
            flag = keyword.value
            if not isinstance(flag, ast.Constant) or not isinstance(flag.value, bool):
                raise self.error(flag, _source_name(flag), "others= must be True or False")
            others = flag.value
        if len(node.args) != 2:
            raise self.error(node, "count_in", "count_in() takes a level and a predicate")
        level = self._level(node.args[0], "count_in()")
        if per is not None:
            if LEVEL_ORDER.index(per) >= LEVEL_ORDER.index(level):
                raise self.error(node, per, f"per={per} must be a smaller place than {level}")
            if others:
                raise self.error(node, "others", "count_in() takes others= or per=, not both")
        predicate = self.boolean(node.args[1], _Scope(neighbour=True))
        return PlaceCount(level, predicate, others, per)

    def _level(self, level_ast: ast.expr, what: str) -> str:
        if not isinstance(level_ast, ast.Name) or level_ast.id not in LEVELS:
            name = _source_name(level_ast)
            hint = self._suggest(name, list(LEVELS))
            levels = ", ".join(LEVELS)
            raise self.error(level_ast, name, f"{what} needs a place level ({levels}){hint}")
        return level_ast.id

    def _date_like(self, node: ast.expr, scope: _Scope, name: str, allowed: frozenset[str]) -> Node:
        value = self.read(node, scope)
        if value.type not in allowed and value.type != ANY:
            kinds = " or ".join(sorted(allowed))
            hint = " (use within_days(screened_at, n) for times)" if value.type == TIMESTAMP else ""
            raise self.error(
                node, _source_name(node), f"{name}() needs a {kinds}, not a {value.type}{hint}"
            )
        return value

    def fn_days_since(self, node: ast.Call, scope: _Scope) -> Node:
        (arg,) = self.args(node, "days_since", 1)
        return DaysSince(self._date_like(arg, scope, "days_since", frozenset({DATE})))

    def fn_days_between(self, node: ast.Call, scope: _Scope) -> Node:
        start, end = self.args(node, "days_between", 2)
        dates = frozenset({DATE})
        return DaysBetween(
            self._date_like(start, scope, "days_between", dates),
            self._date_like(end, scope, "days_between", dates),
        )

    def fn_within_days(self, node: ast.Call, scope: _Scope) -> Node:
        value_ast, days_ast = self.args(node, "within_days", 2)
        value = self._date_like(value_ast, scope, "within_days", frozenset({DATE, TIMESTAMP}))
        days = self.read(days_ast, scope)
        if (
            not isinstance(days, Const)
            or not isinstance(days.value, int)
            or isinstance(days.value, bool)
            or not 0 <= days.value <= 3660
        ):
            raise self.error(
                days_ast,
                _source_name(days_ast),
                "within_days() needs a whole number of days (0-3660)",
            )
        return WithinDays(value, days.value)

    def fn_between(self, node: ast.Call, scope: _Scope) -> Node:
        value_ast, low_ast, high_ast = self.args(node, "between", 3)
        value, low, high = (self.read(a, scope) for a in (value_ast, low_ast, high_ast))
        self.check_comparable(node, value, low, value_ast, low_ast)
        self.check_comparable(node, value, high, value_ast, high_ast)
        if value.type == BOOL:
            raise self.error(node, "between", "between() needs numbers, dates or text")
        return Between(value, low, high)

    def fn_missing(self, node: ast.Call, scope: _Scope) -> Node:
        (arg,) = self.args(node, "missing", 1)
        return Missing(self.read(arg, scope))

    def fn_present(self, node: ast.Call, scope: _Scope) -> Node:
        (arg,) = self.args(node, "present", 1)
        return Not(Missing(self.read(arg, scope)))

    def fn_date(self, node: ast.Call, scope: _Scope) -> Node:
        (arg,) = self.args(node, "date", 1)
        if not isinstance(arg, ast.Constant) or not isinstance(arg.value, str):
            raise self.error(arg, _source_name(arg), 'date() takes a text literal "YYYY-MM-DD"')
        try:
            return Const(dt.date.fromisoformat(arg.value), DATE)
        except ValueError:
            raise self.error(arg, arg.value, "not a date YYYY-MM-DD") from None


def _source_name(node: ast.AST) -> str:
    """A short name for ``node`` in messages: its source, cut to 40 characters."""
    try:
        text = ast.unparse(node)
    except Exception:  # pragma: no cover - unparse handles every parsed node
        text = type(node).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def constant_node(value: Any, *, path: str = "$", rule_id: str = "-") -> Const:
    """A rule set constant (a TOML value) as a literal node; lists must hold one type."""

    def scalar(v: Any) -> Const:
        if isinstance(v, bool):
            return Const(v, BOOL)
        if isinstance(v, int | float):
            return Const(v, NUMBER)
        if isinstance(v, str):
            return Const(v, TEXT)
        if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
            return Const(v, DATE)
        raise ValidationError.single(
            path, repr(v), "a constant must be a number, text, true/false, a date or a list"
        )

    if isinstance(value, list | tuple):
        items = [scalar(v) for v in value]
        types = {i.type for i in items}
        if len(types) > 1:
            raise ValidationError.single(
                path, repr(value), f"a list must hold values of one type, not {sorted(types)}"
            )
        tp = types.pop() if types else ANY
        return Const(tuple(i.value for i in items), f"list<{tp}>")
    return scalar(value)


def _parse(
    text: str,
    rule_id: str,
    path: str,
    constants: Mapping[str, Const] | None,
    functions: Mapping[str, RuleFunction] | None,
    condition: bool,
) -> Node:
    if not isinstance(text, str):
        raise ConditionError(path, rule_id, 1, 1, "", "a condition must be text")
    if len(text) > MAX_LENGTH:
        raise ConditionError(
            path, rule_id, 1, 1, "", f"a condition is at most {MAX_LENGTH} characters"
        )
    if not text.strip():
        raise ConditionError(path, rule_id, 1, 1, "", "the condition is empty")
    source = text.strip()
    try:
        # In brackets, a condition may span lines; line numbers are one off inside.
        tree = ast.parse(f"(\n{source}\n)", mode="eval")
    except SyntaxError as exc:
        lines = source.count("\n") + 1
        line, column = min(max((exc.lineno or 2) - 1, 1), lines), exc.offset or 1
        shown = exc.text.strip() if exc.text else ""
        raise ConditionError(
            path, rule_id, line, column, shown, f"syntax error: {exc.msg}"
        ) from None
    except (RecursionError, MemoryError, ValueError):
        raise ConditionError(
            path, rule_id, 1, 1, "", "the condition is nested too deeply"
        ) from None
    for node in ast.walk(tree):
        if isinstance(node, ast.expr | ast.keyword) and hasattr(node, "lineno"):
            node.lineno = max(node.lineno - 1, 1)
    reader = _Reader(source, rule_id, path, constants or {}, functions or {})
    try:
        reader.screen(tree)
        read = reader.condition(tree) if condition else reader.read(tree.body, _Scope())
    except RecursionError:
        raise ConditionError(
            path, rule_id, 1, 1, "", "the condition is nested too deeply"
        ) from None
    levels = depth(read)
    if levels > MAX_DEPTH:
        raise ConditionError(
            path,
            rule_id,
            1,
            1,
            "",
            f"the condition is nested {levels} levels deep; screening runs at most {MAX_DEPTH}",
        )
    return read


def depth(node: Node) -> int:
    """How many levels deep the tree below ``node`` is (a single field or value is 1)."""
    deepest = 0
    stack = [(node, 1)]
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in current.children())
    return deepest


def parse_condition(
    text: str,
    *,
    rule_id: str = "-",
    path: str = "$",
    constants: Mapping[str, Const] | None = None,
    functions: Mapping[str, RuleFunction] | None = None,
) -> Node:
    """The tree of condition ``text``, type-checked; :class:`ConditionError` otherwise.

    ``constants`` are the rule set's named literals; ``functions`` the rule
    functions plugins registered, by name. Nothing in ``text`` is run.
    """
    return _parse(text, rule_id, path, constants, functions, condition=True)


def parse_value(
    text: str,
    *,
    rule_id: str = "-",
    path: str = "$",
    constants: Mapping[str, Const] | None = None,
    functions: Mapping[str, RuleFunction] | None = None,
) -> Node:
    """The tree of a value expression (``latest(trips, returned)``), read like a condition."""
    return _parse(text, rule_id, path, constants, functions, condition=False)
