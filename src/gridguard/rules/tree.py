"""The expression tree of screening conditions: small frozen attrs nodes with a type.

A condition such as ``temperature >= 37.3 or "cough" in symptoms`` becomes
a tree of these nodes (see :mod:`gridguard.rules.parse`); both compilers
(:mod:`~gridguard.rules.python_compiler`, :mod:`~gridguard.rules.sql_compiler`)
work from the tree alone, so they cannot disagree on what a rule says.

Types are short strings: ``number``, ``text``, ``bool``, ``date``,
``timestamp``, ``list<text>``, ``list<trip>``, ``list<exposure>`` and
``any`` (the result of a plugin function that declares none).

**Missing values.** A field can be missing (a person never screened has no
temperature). Conditions use SQL's three-valued logic in both compilers:
a comparison, membership, date function or list predicate with a missing
operand is *unknown*; ``and``/``or``/``not`` follow Kleene logic (``False
and unknown`` is ``False``, ``True or unknown`` is ``True``, ``not
unknown`` is unknown); a rule fires only when its condition is *true*, so
unknown counts as not fired. ``missing(x)`` is the one test that turns a
missing value into a plain ``True``. Inside a list predicate, an element
whose test is unknown does not count (``any`` needs a true element,
``all`` needs every element true, ``count`` counts true elements), as
SQL's ``EXISTS`` does.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from typing import Any

import attrs

from .functions import RuleFunction

__all__ = [
    "ANOMALY_FIELDS",
    "AREA_LEVELS",
    "CHECKIN_DAYS",
    "CHECKIN_FIELDS",
    "EXPOSURE_FIELDS",
    "LEVELS",
    "LEVEL_ORDER",
    "NEIGHBOUR_FIELDS",
    "ROW_FIELDS",
    "SCREENING_FIELDS",
    "TRIP_FIELDS",
    "And",
    "Between",
    "Call",
    "Compare",
    "Const",
    "DaysBetween",
    "DaysSince",
    "Field",
    "Item",
    "ItemField",
    "Latest",
    "ListAll",
    "ListAny",
    "ListCount",
    "Member",
    "Missing",
    "Node",
    "Not",
    "Or",
    "Param",
    "PlaceCount",
    "WithinDays",
    "walk",
]

NUMBER, TEXT, BOOL, DATE, TIMESTAMP, ANY = "number", "text", "bool", "date", "timestamp", "any"

ROW_FIELDS: dict[str, str] = {
    "person_id": TEXT,
    "household_id": TEXT,
    "stairwell_id": TEXT,
    "building_id": TEXT,
    "sex": TEXT,
    "residency": TEXT,
    "birth_date": DATE,
    "floor": NUMBER,
    "screened_at": TIMESTAMP,
    "temperature": NUMBER,
    "symptoms": "list<text>",
    "trips": "list<trip>",
    "exposures": "list<exposure>",
    "quarantined": BOOL,
    "flagged": BOOL,
    "building_anomalies": "list<anomaly>",
    "household_anomalies": "list<anomaly>",
}
"""The fields a condition may name, with their types.

Person and household fields come from the registry; ``screened_at``,
``temperature``, ``symptoms``, ``trips`` and ``exposures`` from the
person's latest :class:`~gridguard.model.Screening` (all missing when there
is none). ``quarantined`` (an active quarantine order, or one a person-level
rule of the run orders) and ``flagged`` (a person-level rule of the run
fires for the person) may be used only inside ``count_in``.
``building_anomalies`` and ``household_anomalies`` are what building
observers reported (:class:`~gridguard.model.CheckIn` anomalies) for the
person's building, or naming the person's household, on the run's day and
the :data:`CHECKIN_DAYS` days before it: never missing, empty when nothing
was reported.
"""

NEIGHBOUR_FIELDS = frozenset({"quarantined", "flagged"})
"""Fields only ``count_in`` predicates may read: they come from the run itself."""

SCREENING_FIELDS = frozenset({"screened_at", "temperature", "symptoms", "trips", "exposures"})
"""Fields that are missing for a person who has not been screened."""

TRIP_FIELDS: dict[str, str] = {"destination": TEXT, "departed": DATE, "returned": DATE}
"""Fields of one element of ``trips`` inside a list predicate."""
EXPOSURE_FIELDS: dict[str, str] = {"kind": TEXT, "last_contact": DATE, "note": TEXT}
"""Fields of one element of ``exposures`` inside a list predicate."""

ANOMALY_FIELDS: dict[str, str] = {
    "kind": TEXT,
    "count": NUMBER,
    "note": TEXT,
    "household_id": TEXT,
    "day": DATE,
}
"""Fields of one element of ``building_anomalies`` or ``household_anomalies``; ``day`` is the
local day of the check-in that reported it."""

CHECKIN_FIELDS = frozenset({"building_anomalies", "household_anomalies"})
"""Fields read from observers' check-ins."""
CHECKIN_DAYS = 14
"""How many days before the run's day the check-in fields reach back."""

ITEM_FIELDS: dict[str, dict[str, str]] = {
    "trip": TRIP_FIELDS,
    "exposure": EXPOSURE_FIELDS,
    "anomaly": ANOMALY_FIELDS,
}

AREA_LEVELS: dict[str, str] = {
    "compound": "compound_id",
    "grid": "grid_id",
    "village_group": "village_group_id",
    "community": "community_id",
    "village": "village_id",
    "town": "town_id",
    "district": "district_id",
    "city": "city_id",
}
"""Area levels (:class:`~gridguard.model.AreaLevel`) ``count_in`` can look across.

A person is in the area of that level that holds their building's area,
or is that area: a building in grid ``g1`` of community ``c1`` is in both.
A person whose building lies in no area of the level is counted in none
(their count is 0).
"""

LEVELS: dict[str, str] = {
    "household": "household_id",
    "stairwell": "stairwell_id",
    "building": "building_id",
    **AREA_LEVELS,
}
"""Place levels ``count_in`` can look across, and the row field that keys each."""

LEVEL_ORDER: tuple[str, ...] = (
    "household",
    "stairwell",
    "building",
    "compound",
    "grid",
    "village_group",
    "community",
    "village",
    "town",
    "district",
    "city",
)
"""Levels from the smallest place up: ``per=`` must name a level before ``count_in``'s own."""


def element_type(list_type: str) -> str:
    """``text`` for ``list<text>``: the type of one element of a list type."""
    return list_type[5:-1]


def is_list(tp: str) -> bool:
    return tp.startswith("list<")


@attrs.frozen
class Node(abc.ABC):
    """Base of every node; ``type`` is the value's type."""

    @property
    @abc.abstractmethod
    def type(self) -> str:
        """The type of the node's value (``number``, ``text``, ``list<text>``...)."""

    def children(self) -> tuple[Node, ...]:
        """The direct sub-expressions, for walking the tree."""
        return ()


@attrs.frozen
class Field(Node):
    """A field of the row being screened (``temperature``)."""

    name: str
    field_type: str

    @property
    def type(self) -> str:
        return self.field_type


@attrs.frozen
class ItemField(Node):
    """A field of the list element inside a list predicate (``returned`` of a trip)."""

    name: str
    field_type: str

    @property
    def type(self) -> str:
        return self.field_type


@attrs.frozen
class Item(Node):
    """The list element itself (``it``), for lists of text such as ``symptoms``."""

    item_type: str

    @property
    def type(self) -> str:
        return self.item_type


@attrs.frozen
class Const(Node):
    """A literal: a number, text, bool, date, or a tuple of those (a literal list)."""

    value: Any
    const_type: str

    @property
    def type(self) -> str:
        return self.const_type


@attrs.frozen
class Param(Node):
    """A value supplied by the run, not the rule (``outbreak_areas`` of the campaign)."""

    name: str
    param_type: str

    @property
    def type(self) -> str:
        return self.param_type


@attrs.frozen
class Compare(Node):
    """``left op right`` with op one of ``< <= > >= == !=``."""

    op: str
    left: Node
    right: Node

    @property
    def type(self) -> str:
        return BOOL

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@attrs.frozen
class Member(Node):
    """``item in container`` (or ``not in``): a literal list, a list field or a parameter."""

    item: Node
    container: Node
    negate: bool = False

    @property
    def type(self) -> str:
        return BOOL

    def children(self) -> tuple[Node, ...]:
        return (self.item, self.container)


@attrs.frozen
class And(Node):
    operands: tuple[Node, ...]

    @property
    def type(self) -> str:
        return BOOL

    def children(self) -> tuple[Node, ...]:
        return self.operands


@attrs.frozen
class Or(Node):
    operands: tuple[Node, ...]

    @property
    def type(self) -> str:
        return BOOL

    def children(self) -> tuple[Node, ...]:
        return self.operands


@attrs.frozen
class Not(Node):
    operand: Node

    @property
    def type(self) -> str:
        return BOOL

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@attrs.frozen
class Between(Node):
    """``low <= value <= high``, both ends included."""

    value: Node
    low: Node
    high: Node

    @property
    def type(self) -> str:
        return BOOL

    def children(self) -> tuple[Node, ...]:
        return (self.value, self.low, self.high)


@attrs.frozen
class Missing(Node):
    """``missing(x)``: true when ``x`` has no value; never unknown."""

    value: Node

    @property
    def type(self) -> str:
        return BOOL

    def children(self) -> tuple[Node, ...]:
        return (self.value,)


@attrs.frozen
class DaysSince(Node):
    """Whole days from a date to the run's day (in the campaign's time zone)."""

    value: Node

    @property
    def type(self) -> str:
        return NUMBER

    def children(self) -> tuple[Node, ...]:
        return (self.value,)


@attrs.frozen
class DaysBetween(Node):
    """Whole days from ``start`` to ``end`` (negative when ``end`` is earlier)."""

    start: Node
    end: Node

    @property
    def type(self) -> str:
        return NUMBER

    def children(self) -> tuple[Node, ...]:
        return (self.start, self.end)


@attrs.frozen
class WithinDays(Node):
    """The date (or instant) falls on one of the last ``days`` local days, or today.

    ``within_days(returned, 14)`` on 28 January is true for 14 to 28
    January: day 14 before today is in, day 15 is out. For a timestamp the
    day is its calendar day in the campaign's time zone.
    """

    value: Node
    days: int

    @property
    def type(self) -> str:
        return BOOL

    def children(self) -> tuple[Node, ...]:
        return (self.value,)


@attrs.frozen
class ListAny(Node):
    """``any(list, predicate)``: some element makes the predicate true."""

    source: Node
    predicate: Node

    @property
    def type(self) -> str:
        return BOOL

    def children(self) -> tuple[Node, ...]:
        return (self.source, self.predicate)


@attrs.frozen
class ListAll(Node):
    """``all(list, predicate)``: every element makes the predicate true (true for none)."""

    source: Node
    predicate: Node

    @property
    def type(self) -> str:
        return BOOL

    def children(self) -> tuple[Node, ...]:
        return (self.source, self.predicate)


@attrs.frozen
class ListCount(Node):
    """``count(list)`` or ``count(list, predicate)``: elements (that make it true)."""

    source: Node
    predicate: Node | None = None

    @property
    def type(self) -> str:
        return NUMBER

    def children(self) -> tuple[Node, ...]:
        return (self.source,) if self.predicate is None else (self.source, self.predicate)


@attrs.frozen
class Latest(Node):
    """``latest(list, expr)``: the greatest non-missing ``expr`` over the elements.

    Used to count a quarantine from the last contact or the return date;
    missing when the list is missing or no element has a value.
    """

    source: Node
    value: Node

    @property
    def type(self) -> str:
        return self.value.type

    def children(self) -> tuple[Node, ...]:
        return (self.source, self.value)


@attrs.frozen
class PlaceCount(Node):
    """``count_in(level, predicate)``: persons of the same place for whom it is true.

    ``level`` is ``household``, ``stairwell``, ``building`` or an area level
    (``grid``, ``community``... see :data:`AREA_LEVELS`); the predicate sees
    the other person's fields. ``others=True`` leaves the person being
    screened out of the count. ``per`` counts smaller places instead of
    persons: ``count_in(stairwell, flagged, per=household)`` is the number of
    households of the stairwell with at least one flagged member. The
    predicate may itself use ``count_in`` (a nested count, computed first).
    Never missing (at least 0).
    """

    level: str
    predicate: Node
    others: bool = False
    per: str | None = None

    @property
    def type(self) -> str:
        return NUMBER

    def children(self) -> tuple[Node, ...]:
        return (self.predicate,)


@attrs.frozen
class Call(Node):
    """A call of a function registered by a plugin (see :class:`~gridguard.rules.RuleFunction`)."""

    function: RuleFunction
    args: tuple[Node, ...]
    result_type: str = ANY

    @property
    def type(self) -> str:
        return self.result_type

    def children(self) -> tuple[Node, ...]:
        return self.args


def walk(node: Node) -> Iterator[Node]:
    """``node`` and every node below it, parents first."""
    yield node
    for child in node.children():
        yield from walk(child)
