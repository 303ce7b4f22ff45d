"""Static analysis of conditions: can a rule fire for a person with no evidence at all?

A person has *evidence* when they have a screening or an active quarantine
order. Most rules can only be true with evidence (a temperature, a trip),
or through a place-level count that some evidence made positive. When
every rule of a set is like that, the screening query starts from the
persons with evidence and the members of places whose counts are
positive, instead of from the whole population: at city scale that is a
few hundred thousand rows rather than millions. A rule that might be true
without evidence (``residency == "visitor"``) makes the run scan everyone.

The analysis evaluates the tree abstractly in three-valued logic, with
screening fields missing, ``quarantined`` false, place counts zero and
everything else unknown; it is sound (it never says "cannot fire" for a
rule that could) and exact for the shapes rules usually take.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from .tree import (
    NEIGHBOUR_FIELDS,
    SCREENING_FIELDS,
    And,
    Between,
    Call,
    Compare,
    Const,
    DaysBetween,
    DaysSince,
    Field,
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
    PlaceCount,
    WithinDays,
    walk,
)

EXPOSURE_DATES = {"trips": "returned", "exposures": "last_contact"}
"""The lists whose elements are exposures, and the element's day of last contact."""


@attrs.frozen
class ExposureTest:
    """A list predicate of a condition that flags an exposure within an observation window.

    ``any(exposures, kind == "confirmed_case" and within_days(last_contact, 14))``
    gives ``source="exposures"``, the predicate, ``date="last_contact"`` and
    ``days=14``: the elements for which the predicate is true are the
    exposures that made the rule fire, and an order is counted from the
    latest of their last contacts.
    """

    source: str
    predicate: Node
    date: str
    days: int


def exposure_tests(condition: Node) -> tuple[ExposureTest, ...]:
    """The list predicates over ``trips`` or ``exposures`` that test the element's day with
    ``within_days``, in the order they appear."""
    found: list[ExposureTest] = []
    for node in walk(condition):
        if not isinstance(node, ListAny | ListCount) or node.predicate is None:
            continue
        source = node.source
        if not isinstance(source, Field) or source.name not in EXPOSURE_DATES:
            continue
        date = EXPOSURE_DATES[source.name]
        for inner in walk(node.predicate):
            if (
                isinstance(inner, WithinDays)
                and isinstance(inner.value, ItemField)
                and inner.value.name == date
            ):
                found.append(ExposureTest(source.name, node.predicate, date, inner.days))
                break
    return tuple(found)


__all__ = ["ExposureTest", "exposure_tests", "may_fire_without_evidence"]

Truth = frozenset[bool | None]
_ALL: Truth = frozenset({True, False, None})
_MISSING = "missing"
_UNKNOWN = "unknown"

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


def _kleene_and(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def _kleene_or(a: bool | None, b: bool | None) -> bool | None:
    if a is True or b is True:
        return True
    return None if a is None or b is None else False


def _combine(sets: Iterable[Truth], op: Callable[[Any, Any], bool | None]) -> Truth:
    out: Truth | None = None
    for s in sets:
        if out is None:
            out = s
            continue
        out = frozenset(op(a, b) for a, b in itertools.product(out, s))
    return out if out is not None else _ALL


def _value(node: Node) -> Any:
    """``_MISSING``, ``_UNKNOWN`` or ``("const", value)`` for a value node."""
    if isinstance(node, Field):
        if node.name in SCREENING_FIELDS:
            return _MISSING
        if node.name in NEIGHBOUR_FIELDS:  # nobody without evidence is ordered or flagged
            return ("const", False)
        return _UNKNOWN
    if isinstance(node, Const):
        return ("const", node.value)
    if isinstance(node, PlaceCount):
        return ("const", 0)
    if isinstance(node, DaysSince | DaysBetween | ListCount | Latest):
        sources = [node.value] if isinstance(node, DaysSince) else []
        if isinstance(node, DaysBetween):
            sources = [node.start, node.end]
        if isinstance(node, ListCount | Latest):
            sources = [node.source]
        return _MISSING if any(_value(s) == _MISSING for s in sources) else _UNKNOWN
    if node.type == "bool":
        truth = _truth(node)
        if len(truth) == 1:
            (only,) = truth
            return _MISSING if only is None else ("const", only)
    return _UNKNOWN


def _truth(node: Node) -> Truth:
    """The outcomes ``node`` may have for a person without evidence."""
    if isinstance(node, And):
        return _combine((_truth(o) for o in node.operands), _kleene_and)
    if isinstance(node, Or):
        return _combine((_truth(o) for o in node.operands), _kleene_or)
    if isinstance(node, Not):
        return frozenset(None if v is None else not v for v in _truth(node.operand))
    if isinstance(node, Between):
        return _truth(
            And((Compare(">=", node.value, node.low), Compare("<=", node.value, node.high)))
        )
    if isinstance(node, Compare):
        return _compare(node.op, _value(node.left), _value(node.right))
    if isinstance(node, Member):
        item, container = _value(node.item), _value(node.container)
        if _MISSING in (item, container):
            return frozenset({None})
        if isinstance(item, tuple) and isinstance(container, tuple):
            found = item[1] in container[1]
            return frozenset({found != node.negate})
        return _ALL
    if isinstance(node, Missing):
        value = _value(node.value)
        if value == _MISSING:
            return frozenset({True})
        if isinstance(value, tuple):
            return frozenset({value[1] is None})
        return frozenset({True, False})
    if isinstance(node, WithinDays):
        return frozenset({None}) if _value(node.value) == _MISSING else _ALL
    if isinstance(node, ListAny | ListAll):
        return frozenset({None}) if _value(node.source) == _MISSING else _ALL
    if isinstance(node, Field) and node.type == "bool":
        value = _value(node)
        return frozenset({value[1]}) if isinstance(value, tuple) else _ALL
    if isinstance(node, Const) and isinstance(node.value, bool):
        return frozenset({node.value})
    if isinstance(node, Call):
        return _ALL
    return _ALL


def _compare(op: str, left: Any, right: Any) -> Truth:
    if _MISSING in (left, right):
        return frozenset({None})
    if isinstance(left, tuple) and isinstance(right, tuple):
        try:
            return frozenset({_OPS[op](left[1], right[1])})
        except TypeError:
            return _ALL
    return _ALL


def may_fire_without_evidence(condition: Node) -> bool:
    """Whether ``condition`` might be true for a person with no screening and no order.

    Place counts are taken as zero: a person in a place with a positive
    count is found through that count.
    """
    return True in _truth(condition)
