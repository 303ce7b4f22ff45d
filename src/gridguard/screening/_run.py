"""The screening run: a rule set over the persons of a campaign, inside the database.

On SQLite (and PostgreSQL through its plugin) the whole classification is
one SQL query built by the compiler: the latest screening per person, the
person-level rules, the place-level counts (households, stairwells,
buildings) and the escalation rules, returning only the persons for whom a
rule fired. The population is never loaded into Python. On the memory
backend the same tree runs through the Python compiler.

For each flagged person the run stores an
:class:`~gridguard.model.assessments.Assessment` (rule set version, what fired
and why), and the rules' actions make quarantine orders, tasks and
notifications. On a store that runs SQL these are written inside the
database (:mod:`._setwise`), one pattern of answers worked out in Python
once (:mod:`._patterns`); the memory store makes the same records in
Python. Every id is deterministic, so running again over the same facts
writes nothing new. Everything is written in one transaction.
"""

from __future__ import annotations

import datetime as dt
import importlib
import itertools
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import ConfigError, ConflictError, NotFoundError, ValidationError
from ..model import (
    Area,
    AreaLevel,
    Building,
    Campaign,
    CheckIn,
    Household,
    Person,
    Screening,
    Stairwell,
)
from ..model._validate import as_day
from ..model.assessments import (
    Assessment,
    OrderStatus,
    QuarantineOrder,
    ScreeningRun,
    Task,
    stable_id,
)
from ..model.quarantine import QuarantineExtension
from ..rules.analysis import exposure_tests, may_fire_without_evidence
from ..rules.context import RunContext
from ..rules.python_compiler import compile_python, place_count_key
from ..rules.ruleset import (
    Quarantine,
    Rule,
    RuleSet,
    builtin_rule_set,
)
from ..rules.sql_compiler import Fragment, compile_sql, join_fragments
from ..rules.tree import (
    AREA_LEVELS,
    CHECKIN_DAYS,
    CHECKIN_FIELDS,
    LEVELS,
    NEIGHBOUR_FIELDS,
    Field,
    Node,
    PlaceCount,
    walk,
)
from ..storage.base import UnitOfWork, unstored
from ..storage.capabilities import EncryptedFields
from ..storage.dialect import SqlDialect
from ..storage.schema import spec_for
from ._changes import Changes, changed_communities, inputs_of, last_run
from ._digest import Messages, Told
from ._patterns import Pattern, PatternContext, _date, explain, pattern_fields, pattern_of
from ._setwise import Written, write_setwise

if TYPE_CHECKING:
    from ..notifications.settings import NotifySettings
    from ..workspace import Workspace

__all__ = [
    "RuleSetVersionConflict",
    "ScreeningResult",
    "StoredVersion",
    "classification_sql",
    "explain",
    "rule_functions",
    "screen",
    "stored_versions",
]

Row = dict[str, Any]


@attrs.frozen(kw_only=True)
class ScreeningResult:
    """What a screening run found and wrote."""

    run: ScreeningRun
    flagged: int
    """Persons for whom at least one rule fired."""
    by_rule: Mapping[str, int]
    by_risk: Mapping[str, int]
    assessments: int
    """Assessments written (0 when the same run was made before)."""
    orders: int
    tasks: int
    notifications: int
    notify_mode: str
    """``outbox`` when notifications were queued, ``recorded`` when only kept on the assessments."""
    seconds: float

    def summary(self) -> dict[str, Any]:
        """Plain data for ``--json`` and reports."""
        return {
            "campaign": self.run.campaign_id,
            "rule_set": self.run.rule_set_id,
            "rule_set_version": self.run.rule_set_version,
            "day": self.run.day.isoformat(),
            "mode": self.run.mode,
            "flagged_persons": self.flagged,
            "by_rule": dict(self.by_rule),
            "by_risk": dict(self.by_risk),
            "new_assessments": self.assessments,
            "new_quarantine_orders": self.orders,
            "new_tasks": self.tasks,
            "notifications": self.notifications,
            "notify_mode": self.notify_mode,
            "seconds": round(self.seconds, 3),
        }


class RuleSetVersionConflict(ConflictError):
    """A rule set whose version is stored with another fingerprint: it changed, its version did not.

    Two runs labelled with one version must have applied the same rules, so
    the run is refused before anything is written. Raise the version in the
    file, or run with ``new_version=True`` (``--new-version``).
    """

    def __init__(self, rule_set: RuleSet, stored: StoredVersion) -> None:
        self.rule_set_id = rule_set.id
        self.version = rule_set.version
        self.stored_fingerprint = stored.fingerprint
        self.fingerprint = rule_set.digest
        super().__init__(
            f"rule set {rule_set.id!r} version {rule_set.version!r} first ran on "
            f"{stored.first_day.isoformat()} with fingerprint {stored.fingerprint}; this rule "
            f"set has fingerprint {rule_set.digest}: it changed under the same version. "
            "Raise its version, or run it with --new-version (new_version=True)"
        )


@attrs.frozen
class StoredVersion:
    """A rule set version as the store knows it: the fingerprint it first ran with, and when.

    The fingerprint is the SHA-256 digest of the rule set's TOML file
    (:attr:`~gridguard.rules.ruleset.RuleSet.digest`); ``first_day`` and
    ``last_day`` are the days its runs screened, ``runs`` how many there were.
    """

    rule_set_id: str
    version: str
    fingerprint: str
    first_day: dt.date
    last_day: dt.date
    runs: int

    def as_dict(self) -> dict[str, Any]:
        data = attrs.asdict(self)
        data["first_day"] = self.first_day.isoformat()
        data["last_day"] = self.last_day.isoformat()
        return data


def _versions(runs: Iterable[ScreeningRun]) -> list[StoredVersion]:
    """One entry per rule set, version and fingerprint, first run first."""
    found: dict[tuple[str, str, str], list[ScreeningRun]] = defaultdict(list)
    for run in runs:
        if run.rule_set_digest:  # runs stored before fingerprints were kept say nothing
            found[(run.rule_set_id, run.rule_set_version, run.rule_set_digest)].append(run)
    out = [
        StoredVersion(
            rule_set_id=key[0],
            version=key[1],
            fingerprint=key[2],
            first_day=min(r.day for r in group),
            last_day=max(r.day for r in group),
            runs=len(group),
        )
        for key, group in found.items()
    ]
    return sorted(out, key=lambda v: (v.rule_set_id, v.first_day, v.version))


def stored_versions(ws: Workspace, rule_set_id: str | None = None) -> list[StoredVersion]:
    """The rule set versions that have run in ``ws`` (of ``rule_set_id`` only, when given)."""
    where = None if rule_set_id is None else {"rule_set_id": rule_set_id}
    with ws._transaction(write=False) as uow:
        return _versions(uow.find(ScreeningRun, where=where))


def _checked_version(uow: UnitOfWork, rule_set: RuleSet, new_version: bool) -> RuleSet:
    """``rule_set`` once its version is known to stand for these rules.

    The first run of a version stores its fingerprint (the run's
    ``rule_set_digest``); a later run of the same version with another
    fingerprint is a :class:`RuleSetVersionConflict`, unless ``new_version``,
    which runs it as ``<version>+<first 12 digits of its fingerprint>``: a
    version of its own, the same for every run of the same file.
    """
    where = {"rule_set_id": rule_set.id, "rule_set_version": rule_set.version}
    for stored in _versions(uow.find(ScreeningRun, where=where)):
        if stored.fingerprint == rule_set.digest:
            continue
        if not new_version:
            raise RuleSetVersionConflict(rule_set, stored)
        derived = attrs.evolve(rule_set, version=f"{rule_set.version}+{rule_set.digest[:12]}")
        return _checked_version(uow, derived, False)
    return rule_set


def rule_functions(ws: Workspace) -> dict[str, Any]:
    """The rule functions plugins registered in ``ws``, by name."""
    registry = ws.registries.rule_functions
    return {name: registry.get(name) for name in registry.names()}


def _campaign(uow: UnitOfWork, campaign_id: str | None) -> Campaign:
    if campaign_id is not None:
        found = uow.get(Campaign, campaign_id)
        if found is None:
            raise NotFoundError(f"no campaign with id {campaign_id!r}")
        return found
    campaigns = list(uow.find(Campaign))
    if len(campaigns) != 1:
        names = ", ".join(c.id for c in campaigns) or "none"
        raise ConfigError(
            f"screening needs a campaign: give its id (campaigns in the store: {names})"
        )
    return campaigns[0]


def _jurisdictions(uow: UnitOfWork, campaign: Campaign) -> list[str] | None:
    """The communities a campaign's scope covers; ``None`` when that is every one."""
    areas = {a.id: a for a in uow.find(Area)}
    children: dict[str, list[str]] = defaultdict(list)
    for area in areas.values():
        if area.parent_id is not None:
            children[area.parent_id].append(area.id)
    owners = {a.id for a in areas.values() if a.level.rank <= AreaLevel.COMMUNITY.rank}
    everyone = {a.id for a in areas.values() if a.level.is_jurisdiction}
    found: set[str] = set()
    for root in campaign.scope:
        # Below a community the scope is taken at community granularity.
        node = areas.get(root)
        while node is not None and node.id not in owners and node.parent_id is not None:
            node = areas.get(node.parent_id)
        stack = [node.id] if node is not None else []
        while stack:
            current = stack.pop()
            if current in everyone:
                found.add(current)
            stack.extend(children.get(current, ()))
    if found >= everyone:
        return None
    return sorted(found)


# -- the plan shared by both paths ----------------------------------------------------------------


@attrs.frozen
class _Plan:
    rule_set: RuleSet
    person_rules: tuple[Rule, ...]
    escalations: tuple[Rule, ...]
    place_counts: tuple[PlaceCount, ...]
    full_scan: bool
    uses_orders: bool
    uses_buildings: bool
    uses_checkins: bool = False
    area_levels: tuple[str, ...] = ()
    """The area levels (``grid``, ``community``...) place counts look across or count per."""
    nested: frozenset[int] = frozenset()
    """Indexes of the place counts that another count's predicate reads."""

    @classmethod
    def of(cls, rule_set: RuleSet) -> _Plan:
        person = tuple(r for r in rule_set.rules if not r.is_escalation)
        escalations = tuple(r for r in rule_set.rules if r.is_escalation)
        counts: list[PlaceCount] = []
        for rule in escalations:
            # Inner counts first: a count's predicate reads the counts nested in it.
            counts += [n for n in _inner_first(rule.condition) if isinstance(n, PlaceCount)]
        nested = frozenset(
            i
            for i, count in enumerate(counts)
            if any(n is count for c in counts if c is not count for n in walk(c.predicate))
        )
        conditions = [r.condition for r in rule_set.rules] + [c.predicate for c in counts]
        # A person with no evidence may live where a nested count is positive: scan everyone.
        full = bool(nested) or any(may_fire_without_evidence(c) for c in conditions)
        uses_orders = any(
            isinstance(n, Field) and n.name == "quarantined"
            for c in counts
            for n in walk(c.predicate)
        )
        uses_buildings = any(c.level == "building" for c in counts) or any(
            isinstance(n, Field) and n.name == "building_id"
            for r in rule_set.rules
            for n in walk(r.condition)
        )
        uses_checkins = any(
            isinstance(n, Field) and n.name in CHECKIN_FIELDS for c in conditions for n in walk(c)
        )
        area_levels = tuple(
            sorted(
                {c.level for c in counts if c.level in AREA_LEVELS}
                | {c.per for c in counts if c.per in AREA_LEVELS}
            )
        )
        return cls(
            rule_set,
            person,
            escalations,
            tuple(counts),
            full,
            uses_orders,
            uses_buildings or uses_checkins or bool(area_levels),
            uses_checkins,
            area_levels,
            nested,
        )

    @property
    def carried(self) -> tuple[str, ...]:
        """Columns kept past the person-level rules: keys, and the fields that place
        counts and escalation rules read beyond those rules' own values."""
        reused = [r.condition for r in self.person_rules]
        needed: set[str] = set()
        for node in [c.predicate for c in self.place_counts] + [
            r.condition for r in self.escalations
        ]:
            needed |= _fields_outside(node, reused)
        keys = ("person_id", "household_id", "stairwell_id", "building_id", "jurisdiction")
        facts = [c for c in _BASE_COLUMNS if c in needed and c not in keys]
        areas = [AREA_LEVELS[level] for level in self.area_levels]
        return (*keys, *areas, "screening_id", "on_order", *facts)

    @property
    def count_index(self) -> dict[int, int]:
        return {id(node): i for i, node in enumerate(self.place_counts)}

    @property
    def quarantine_rules(self) -> tuple[int, ...]:
        """Indexes into :attr:`person_rules` of the rules that order quarantine."""
        return tuple(i for i, r in enumerate(self.person_rules) if r.orders_quarantine)


def _inner_first(node: Node) -> Iterator[Node]:
    """``node`` and every node below it, children before their parent."""
    for child in node.children():
        yield from _inner_first(child)
    yield node


def _fields_outside(node: Node, reused: Sequence[Node]) -> set[str]:
    """Row fields ``node`` reads, leaving out sub-expressions that are whole reused conditions."""
    if any(node is r or node == r for r in reused):
        return set()
    found = {node.name} if isinstance(node, Field) else set()
    if found <= NEIGHBOUR_FIELDS:  # computed from the run, not read from a column
        found = set()
    for child in node.children():
        found |= _fields_outside(child, reused)
    return found


# -- SQL path --------------------------------------------------------------------------------------

DIGESTS_QUEUED = 500
"""Digests made and queued at once: a city's thousands of them are never all in memory."""

_BASE_COLUMNS = (
    "person_id",
    "household_id",
    "stairwell_id",
    "building_id",
    "jurisdiction",
    "sex",
    "residency",
    "birth_date",
    "floor",
    "screening_id",
    "screened_at",
    "temperature",
    "symptoms",
    "trips",
    "exposures",
    "on_order",
    "building_anomalies",
    "household_anomalies",
)


def _marks(dialect: SqlDialect, values: Sequence[Any]) -> Fragment:
    return Fragment(", ".join(dialect.placeholder for _ in values), tuple(values))


_FACTS = "screening_id, at, trips, exposures, symptoms, temperature"
_FACT_TYPES = (
    ("screening_id", "uuid"),
    ("at", "timestamp"),
    ("trips", "json"),
    ("exposures", "json"),
    ("symptoms", "json"),
    ("temperature", "number"),
)


def _no_facts(dialect: SqlDialect) -> str:
    """Typed missing facts, for persons with no screening."""
    return ", ".join(f"{dialect.null(t)} AS {name}" for name, t in _FACT_TYPES)


def _evidence(full_scan: bool, uses_orders: bool, dialect: SqlDialect) -> str:
    """Persons to start from, each with their latest facts (``NULL`` when they have none).

    A union rather than a left join on ``latest``: SQLite does not always
    index a materialised CTE for a join, and then scans it once per person.
    """
    head = f"SELECT person_id, {_FACTS} FROM latest"
    if full_scan:
        return (
            f"{head} UNION ALL SELECT id AS person_id, {_no_facts(dialect)} FROM persons "
            "WHERE id NOT IN (SELECT person_id FROM latest)"
        )
    if uses_orders:
        return (
            f"{head} UNION ALL SELECT person_id, {_no_facts(dialect)} FROM orders "
            "WHERE person_id NOT IN (SELECT person_id FROM latest)"
        )
    return head


def _base_select(source: str, scope: Fragment | None, plan: _Plan, dialect: SqlDialect) -> Fragment:
    """The row of every person in ``source`` (a CTE of person ids and facts)."""
    # IN (subquery): SQLite always indexes the list, where a join may scan it per row.
    order = "(p.id IN (SELECT person_id FROM orders))" if plan.uses_orders else "(1 = 0)"
    building = "st.building_id" if plan.uses_buildings else dialect.null("text")
    anomalies = _anomaly_columns(plan, dialect, "ab", "ah")
    areas = "".join(
        f", lv_{level}.ancestor_id AS {AREA_LEVELS[level]}" for level in plan.area_levels
    )
    parts: list[Fragment | str] = [
        "SELECT p.id AS person_id, p.household_id AS household_id, "
        f"h.stairwell_id AS stairwell_id, {building} AS building_id, "
        "p.jurisdiction AS jurisdiction, p.sex AS sex, p.residency AS residency, "
        "p.birth_date AS birth_date, h.floor AS floor, l.screening_id AS screening_id, "
        "l.at AS screened_at, l.temperature AS temperature, l.symptoms AS symptoms, "
        f"l.trips AS trips, l.exposures AS exposures, {order} AS on_order, {anomalies}{areas} "
        f"FROM {source} l CROSS JOIN persons p CROSS JOIN households h"
    ]
    if plan.uses_buildings:
        parts.append(" CROSS JOIN stairwells st")
    if plan.area_levels:
        parts.append(" CROSS JOIN buildings bd")
        parts += [
            f" LEFT JOIN lv_{level} ON lv_{level}.area_id = bd.area_id"
            for level in plan.area_levels
        ]
    if plan.uses_checkins:
        parts.append(
            " LEFT JOIN anomalies_b ab ON ab.k = st.building_id"
            " LEFT JOIN anomalies_h ah ON ah.k = p.household_id"
        )
    parts.append(" WHERE p.id = l.person_id AND h.id = p.household_id")
    if plan.uses_buildings:
        parts.append(" AND st.id = h.stairwell_id")
    if plan.area_levels:
        parts.append(" AND bd.id = st.building_id")
    if scope is not None:
        parts += [" AND p.jurisdiction IN (", scope, ")"]
    return join_fragments(parts)


def _anomaly_columns(plan: _Plan, dialect: SqlDialect, building: str, household: str) -> str:
    """``building_anomalies, household_anomalies`` from the anomaly CTEs joined as the aliases."""
    if not plan.uses_checkins:
        none = dialect.null("json")
        return f"{none} AS building_anomalies, {none} AS household_anomalies"
    empty = dialect.empty_list()
    return (
        f"coalesce({building}.list, {empty}) AS building_anomalies, "
        f"coalesce({household}.list, {empty}) AS household_anomalies"
    )


def _anomaly_ctes(dialect: SqlDialect, ctx: RunContext) -> Fragment:
    """``anomalies_b`` and ``anomalies_h``: the anomalies observers reported in the window.

    Keyed by building and by the household an anomaly names; each element is
    the stored anomaly with ``day``, the local day of its check-in. The day
    comes from bound local-midnight boundaries, so SQL converts no time zone.
    """
    first = ctx.first_day(CHECKIN_DAYS)
    days = [ctx.day - dt.timedelta(days=n) for n in range(CHECKIN_DAYS + 1)]
    mark = dialect.placeholder
    cases: list[Any] = []
    for day in days:
        cases += [dialect.value(ctx.day_start(day), "timestamp"), dialect.value(day, "date")]
    case = "CASE" + f" WHEN c.at >= {mark} THEN {mark}" * len(days) + " END"
    element = dialect.json_with("e.value", "day", case)
    window = (dialect.value(ctx.day_start(first), "timestamp"), dialect.value(ctx.end, "timestamp"))
    key, _ = dialect.element_field("text")
    body = (
        f"SELECT {{key}} AS k, {dialect.json_agg(element)} AS list "
        f"FROM checkins c CROSS JOIN {dialect.json_list('c.anomalies')} "
        f"WHERE c.at >= {mark} AND c.at < {mark}{{extra}} GROUP BY 1"
    )
    building = body.format(key="c.building_id", extra="")
    household = body.format(key=key, extra=f" AND {key} IS NOT NULL")
    path = dialect.element_field_param("household_id")
    return join_fragments(
        [
            ", anomalies_b AS MATERIALIZED (",
            Fragment(building, (*cases, *window)),
            "), anomalies_h AS MATERIALIZED (",
            Fragment(household, (path, *cases, *window, path)),
            ")",
        ]
    )


def _flags_select(source: str, plan: _Plan, dialect: SqlDialect, ctx: RunContext) -> Fragment:
    """``source``'s rows with each person-level rule's value, ``r_0``, ``r_1``..., computed once."""

    def column(name: str) -> str:
        return f'b."{name}"'

    kept = ", ".join(f'b."{name}"' for name in plan.carried)
    parts: list[Fragment | str] = [f"SELECT {kept}"]
    for i, rule in enumerate(plan.person_rules):
        parts += [", ", compile_sql(rule.condition, dialect, ctx, columns=column), f" AS r_{i}"]
    parts.append(f" FROM {source} b")
    return join_fragments(parts)


def _row_columns(plan: _Plan, alias: str) -> tuple[Callable[[str], str], list[tuple[Node, str]]]:
    """How a row of ``flags`` (as ``alias``) reads fields, and the rule values it holds.

    ``quarantined`` is an active order or a person-level rule that orders
    quarantine, ``flagged`` a person-level rule that fires; a condition that
    repeats a person-level rule reads its column.
    """
    ordered = " OR ".join(
        [f"{alias}.on_order", *(f"{alias}.r_{i} IS TRUE" for i in plan.quarantine_rules)]
    )
    fired = " OR ".join(f"{alias}.r_{i} IS TRUE" for i in range(len(plan.person_rules)))

    def column(name: str) -> str:
        if name == "quarantined":
            return f"({ordered})"
        if name == "flagged":
            return f"({fired or '1 = 0'})"
        return f'{alias}."{name}"'

    reuse = [(rule.condition, f"{alias}.r_{i}") for i, rule in enumerate(plan.person_rules)]
    return column, reuse


def _classify_sql(
    plan: _Plan,
    dialect: SqlDialect,
    ctx: RunContext,
    scope: list[str] | None,
    changes: Changes | None,
) -> Fragment:
    """The one query that classifies every person in scope and returns the flagged ones.

    With ``changes`` (an incremental run) it returns only the flagged persons
    of what changed (see :func:`_changed_where`).
    """
    scope_sql = None if scope is None else _marks(dialect, scope)
    screening_where = Fragment("")
    if scope is not None:
        screening_where = join_fragments(["jurisdiction IN (", _marks(dialect, scope), ")"])
    ctes: list[Fragment | str] = [
        f"WITH {'RECURSIVE ' if plan.area_levels else ''}latest AS MATERIALIZED (",
        Fragment(dialect.latest_screenings(screening_where.sql), screening_where.params),
        ")",
    ]
    if plan.area_levels:
        ctes.append(_area_ctes(plan.area_levels, dialect))
    if plan.uses_orders:
        day = dialect.value(ctx.day, "date")
        ctes += [
            ", orders AS MATERIALIZED (SELECT DISTINCT person_id FROM quarantine_orders "
            "WHERE person_id IS NOT NULL AND status = ",
            Fragment(
                f'{dialect.placeholder} AND start <= {dialect.placeholder} AND "end" > '
                f"{dialect.placeholder})",
                (OrderStatus.ACTIVE.value, day, day),
            ),
        ]
    if plan.uses_checkins:
        ctes.append(_anomaly_ctes(dialect, ctx))
    # Evidence and base stream into flags, the one table of screened persons written.
    ctes += [
        f", evidence AS ({_evidence(plan.full_scan, plan.uses_orders, dialect)})",
        ", base AS (",
        _base_select("evidence", scope_sql, plan, dialect),
        ")",
    ]
    ctes += [
        ", flags AS MATERIALIZED (",
        _flags_select("base", plan, dialect, ctx),
        ")",
    ]

    flag_column, flag_reuse = _row_columns(plan, "b")
    # Counts other counts read, by id(): the column that holds each row's value.
    staged: dict[int, str] = {}
    current = "flags"
    for i, count in enumerate(plan.place_counts):
        key = LEVELS[count.level]
        inner_counts = {k: f'b."{v}"' for k, v in staged.items()}
        predicate = compile_sql(
            count.predicate,
            dialect,
            ctx,
            columns=flag_column,
            reuse=flag_reuse,
            place_counts=inner_counts,
        )
        tally = "*" if count.per is None else f"DISTINCT b.{LEVELS[count.per]}"
        ctes += [
            f", pc_{i} AS MATERIALIZED (SELECT b.{key} AS k, count({tally}) AS n "
            f"FROM {current} b WHERE b.{key} IS NOT NULL AND (",
            predicate,
            f") GROUP BY b.{key})",
        ]
        if i in plan.nested:
            # Each row gains its value of this count, for the counts around it to read.
            value = _count_value(i, count, "b", predicate)
            ctes += [
                f", staged_{i} AS MATERIALIZED (SELECT b.*, ",
                value,
                f" AS n_{i} FROM {current} b LEFT JOIN pc_{i} ON pc_{i}.k = b.{key})",
            ]
            current = f"staged_{i}"
            staged[id(count)] = f"n_{i}"
    rows = current
    if not plan.full_scan and plan.place_counts:
        members = [_members_sql(i, count.level) for i, count in enumerate(plan.place_counts)]
        extra = " UNION ".join(members) + " EXCEPT SELECT person_id FROM flags"
        ctes += [
            f", extra_ids AS MATERIALIZED (SELECT person_id, {_no_facts(dialect)} "
            f"FROM ({extra}) x)",
            ", extra_base AS (",
            _base_select("extra_ids", scope_sql, plan, dialect),
            "), extra AS (",
            _flags_select("extra_base", plan, dialect, ctx),
            "), rows_ AS (SELECT * FROM flags UNION ALL SELECT * FROM extra)",
        ]
        rows = "rows_"

    row_column, row_reuse = _row_columns(plan, "a")
    count_sql: dict[int, str] = {}
    select: list[Fragment | str] = [f" SELECT a.*, {row_column('quarantined')} AS quarantined"]
    joins: list[Fragment | str] = []
    row_inner = {k: f'a."{v}"' for k, v in staged.items()}
    for i, count in enumerate(plan.place_counts):
        count_sql[id(count)] = f'"pc_{i}"'
        if id(count) in staged:
            select.append(f', a."n_{i}" AS pc_{i}')
            continue
        own = compile_sql(
            count.predicate,
            dialect,
            ctx,
            columns=row_column,
            reuse=row_reuse,
            place_counts=row_inner,
        )
        select += [", ", _count_value(i, count, "a", own), f" AS pc_{i}"]
        joins.append(f" LEFT JOIN pc_{i} ON pc_{i}.k = a.{LEVELS[count.level]}")
    inner = join_fragments([*select, f" FROM {rows} a", *joins])
    outer: list[Fragment | str] = ["SELECT c.*"]
    escalation_sql: list[Fragment] = []

    counted_column, counted_reuse = _row_columns(plan, "c")
    counted = {k: f"c.{v}" for k, v in count_sql.items()}
    for i, rule in enumerate(plan.escalations):
        sql = compile_sql(
            rule.condition,
            dialect,
            ctx,
            columns=counted_column,
            place_counts=counted,
            reuse=counted_reuse,
        )
        escalation_sql.append(sql)
        outer += [", ", sql, f" AS e_{i}"]
    outer += [" FROM (", inner, ") c"]
    tests: list[str] = [f"c.r_{i} IS TRUE" for i in range(len(plan.person_rules))]
    where: list[Fragment | str] = [" WHERE ("]
    for n, test in enumerate(tests):
        where.append((" OR " if n else "") + test)
    for n, sql in enumerate(escalation_sql):
        joiner = " OR " if (n or tests) else ""
        where += [joiner, Fragment(f"({sql.sql}) IS TRUE", sql.params)]
    if not tests and not escalation_sql:
        where.append("1 = 0")
    where.append(")")
    if changes is not None:
        where += _changed_where(plan, changes, dialect)
    flagged = join_fragments([*outer, *where])
    # Facts for the flagged persons only: looked up by key, not carried through the counts.
    facts = (
        "SELECT f.person_id, f.household_id, f.stairwell_id, f.building_id, f.jurisdiction, "
        "p.sex, p.residency, p.birth_date, h.floor, f.screening_id, s.at, s.temperature, "
        "s.symptoms, s.trips, s.exposures, f.on_order, "
        + _anomaly_columns(plan, dialect, "fb", "fh")
    )
    rest = [f"f.r_{i}" for i in range(len(plan.person_rules))] + ["f.quarantined"]
    rest += [f"f.pc_{i}" for i in range(len(plan.place_counts))]
    rest += [f"f.e_{i}" for i in range(len(plan.escalations))]
    tail = f", {', '.join(rest)} FROM ("
    anomaly_joins = (
        "LEFT JOIN anomalies_b fb ON fb.k = f.building_id "
        "LEFT JOIN anomalies_h fh ON fh.k = f.household_id "
        if plan.uses_checkins
        else ""
    )
    joins_sql = (
        ") f CROSS JOIN persons p CROSS JOIN households h "
        f"LEFT JOIN screenings s ON s.id = f.screening_id {anomaly_joins}"
        "WHERE p.id = f.person_id AND h.id = f.household_id"
    )
    return join_fragments([*ctes, " ", facts, tail, flagged, joins_sql])


_KEY_OF_NEW = {
    "person": "SELECT l.person_id FROM latest l",
    "household": "SELECT p.household_id FROM latest l JOIN persons p ON p.id = l.person_id",
    "stairwell": (
        "SELECT h.stairwell_id FROM latest l JOIN persons p ON p.id = l.person_id "
        "JOIN households h ON h.id = p.household_id"
    ),
    "building": (
        "SELECT st.building_id FROM latest l JOIN persons p ON p.id = l.person_id "
        "JOIN households h ON h.id = p.household_id JOIN stairwells st ON st.id = h.stairwell_id"
    ),
}


def _changed_level(plan: _Plan) -> str | None:
    """The place a new screening can change results in: the widest level the rules count
    (``None`` for an area level: the whole scope)."""
    if plan.area_levels:
        return None
    levels = {c.level for c in plan.place_counts}
    for level in ("building", "stairwell", "household"):
        if level in levels:
            return level
    return "person"


def _changed_where(plan: _Plan, changes: Changes, dialect: SqlDialect) -> list[Fragment | str]:
    """``AND (...)``: the flagged person is in a changed community, or shares the place of
    :func:`_changed_level` with a person screened after ``changes.since``."""
    level = _changed_level(plan)
    if level is None:
        return []
    tests: list[Fragment | str] = []
    if changes.communities:
        tests += ["c.jurisdiction IN (", _marks(dialect, changes.communities), ")"]
    column = "person_id" if level == "person" else LEVELS[level]
    newer = f"c.{column} IN ({_KEY_OF_NEW[level]}"
    if changes.since is None:
        tests += [" OR " if tests else "", newer, ")"]
    else:
        stamp = dialect.value(changes.since, "timestamp")
        tests += [
            " OR " if tests else "",
            Fragment(f"{newer} WHERE l.at > {dialect.placeholder})", (stamp,)),
        ]
    return [" AND (", *tests, ")"]


def _count_value(index: int, count: PlaceCount, alias: str, own: Fragment) -> Fragment:
    """The ``index``-th count's value for the row ``alias``, with ``pc_<index>`` joined to it.

    ``own`` is the count's predicate on that row: with ``others`` the row
    leaves itself out. A row in no place of the level counts 0.
    """
    value = f"coalesce(pc_{index}.n, 0)"
    if not count.others:
        return Fragment(value)
    own_sql = f"(CASE WHEN ({own.sql}) IS TRUE THEN 1 ELSE 0 END)"
    key = f"{alias}.{LEVELS[count.level]}"
    return Fragment(f"(CASE WHEN {key} IS NULL THEN 0 ELSE {value} - {own_sql} END)", own.params)


_MEMBERS = {
    # CROSS JOIN keeps SQLite's planner on the small table of counted places first;
    # PostgreSQL plans it as any inner join.
    "household": "CROSS JOIN persons p WHERE p.household_id = pc.k",
    "stairwell": (
        "CROSS JOIN households h CROSS JOIN persons p "
        "WHERE h.stairwell_id = pc.k AND p.household_id = h.id"
    ),
    "building": (
        "CROSS JOIN stairwells st CROSS JOIN households h CROSS JOIN persons p "
        "WHERE st.building_id = pc.k AND h.stairwell_id = st.id AND p.household_id = h.id"
    ),
}


def _members_sql(index: int, level: str) -> str:
    """The persons of the places counted by the ``index``-th place count."""
    if level in AREA_LEVELS:
        return (
            f"SELECT p.id AS person_id FROM pc_{index} pc CROSS JOIN lv_{level} lv "
            "CROSS JOIN buildings bd CROSS JOIN stairwells st CROSS JOIN households h "
            "CROSS JOIN persons p WHERE lv.ancestor_id = pc.k AND bd.area_id = lv.area_id "
            "AND st.building_id = bd.id AND h.stairwell_id = st.id AND p.household_id = h.id"
        )
    return f"SELECT p.id AS person_id FROM pc_{index} pc {_MEMBERS[level]}"


def _area_ctes(levels: Sequence[str], dialect: SqlDialect) -> Fragment:
    """``up``, every area with each of its ancestors (itself included), and ``lv_<level>``:
    each area with the area of ``level`` that holds it.

    Areas are few (a city has thousands), so the walk up the tree is cheap;
    persons join ``lv_<level>`` once, through their building's area.
    """
    mark = dialect.placeholder
    parts: list[Fragment | str] = [
        ", up (area_id, ancestor_id, level) AS (SELECT id, id, level FROM areas UNION ALL "
        "SELECT up.area_id, a.parent_id, pa.level FROM up CROSS JOIN areas a "
        "CROSS JOIN areas pa WHERE a.id = up.ancestor_id AND pa.id = a.parent_id)"
    ]
    for level in levels:
        parts.append(
            Fragment(
                f", lv_{level} AS MATERIALIZED (SELECT area_id, min(ancestor_id) AS ancestor_id "
                f"FROM up WHERE level = {mark} GROUP BY area_id)",
                (level,),
            )
        )
    return join_fragments(parts)


def classification_sql(
    rule_set: RuleSet,
    dialect: SqlDialect,
    ctx: RunContext,
    *,
    jurisdictions: list[str] | None = None,
) -> Fragment:
    """The one query :func:`screen` runs to classify, for ``EXPLAIN`` and benchmarks.

    It returns one row per flagged person: the person's columns and facts,
    then ``r_0``, ``r_1``... (the person-level rules, in priority order),
    ``quarantined``, ``pc_0``... (the place counts) and ``e_0``... (the
    escalation rules), each rule true, false or ``NULL``.
    """
    plan = _Plan.of(rule_set)
    return _classify_sql(plan, dialect, ctx, jurisdictions, None)


def _decode_list(text: Any, kind: str) -> tuple[Any, ...] | None:
    if text is None:
        return None
    items = json.loads(text) if isinstance(text, str) else text
    if kind == "symptoms":
        return tuple(items)
    dates = {"trips": ("departed", "returned"), "anomalies": ("day",)}.get(kind, ("last_contact",))
    out = []
    for item in items:
        element = dict(item)
        for key in dates:
            value = element.get(key)
            element[key] = None if value is None else _date(value)
        out.append(element)
    return tuple(out)


def _instant(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return dt.datetime.fromisoformat(str(value)).replace(tzinfo=dt.UTC)


def _sql_rows(
    uow: UnitOfWork,
    plan: _Plan,
    dialect: SqlDialect,
    ctx: RunContext,
    scope: list[str] | None,
    changes: Changes | None,
) -> Iterator[tuple[Row, list[Rule]]]:
    """The flagged persons of the classification query, as Python rows with their fired rules."""
    query = _classify_sql(plan, dialect, ctx, scope, changes)
    with dialect.planned(uow):
        yield from _flagged(uow.query(query.sql, query.params), plan)


def _flagged(records: Iterable[Sequence[Any]], plan: _Plan) -> Iterator[tuple[Row, list[Rule]]]:
    """Rows of the classification query as Python rows with their fired rules."""
    width = len(_BASE_COLUMNS)
    n_person = len(plan.person_rules)
    n_counts = len(plan.place_counts)
    decoded: dict[tuple[Any, str], tuple[Any, ...] | None] = {}

    def _decode(text: Any, kind: str) -> tuple[Any, ...] | None:
        # Most answers repeat ("[]", one symptom): decode each text once. The decoded
        # lists are shared between rows, which only read them.
        if not isinstance(text, str):
            return _decode_list(text, kind)
        key = (text, kind)
        found = decoded.get(key, _decode)
        if found is _decode:
            if len(decoded) > 20_000:
                decoded.clear()
            found = decoded[key] = _decode_list(text, kind)
        return found  # type: ignore[return-value]

    for record in records:
        values = dict(zip(_BASE_COLUMNS, record[:width], strict=True))
        rest = record[width:]
        person_flags = rest[:n_person]
        # rest[n_person] is "quarantined"; then the place counts, then the escalations.
        counts = rest[n_person + 1 : n_person + 1 + n_counts]
        escalation_flags = rest[n_person + 1 + n_counts :]
        row: Row = {
            "person_id": values["person_id"],
            "household_id": values["household_id"],
            "stairwell_id": values["stairwell_id"],
            "building_id": values["building_id"],
            "jurisdiction": values["jurisdiction"],
            "sex": values["sex"],
            "residency": values["residency"],
            "birth_date": _date(values["birth_date"]),
            "floor": values["floor"],
            "screening_id": values["screening_id"],
            "screened_at": _instant(values["screened_at"]),
            "temperature": values["temperature"],
            "symptoms": _decode(values["symptoms"], "symptoms"),
            "trips": _decode(values["trips"], "trips"),
            "exposures": _decode(values["exposures"], "exposures"),
            "building_anomalies": _decode(values["building_anomalies"], "anomalies"),
            "household_anomalies": _decode(values["household_anomalies"], "anomalies"),
            "quarantined": bool(rest[n_person]),
        }
        for i, value in enumerate(counts):
            row[place_count_key(i)] = int(value)
        fired = [r for r, v in zip(plan.person_rules, person_flags, strict=True) if _true(v)]
        fired += [r for r, v in zip(plan.escalations, escalation_flags, strict=True) if _true(v)]
        yield row, fired


def _output_columns(plan: _Plan) -> list[str]:
    """The names of the classification query's columns, in order."""
    base = ["at" if c == "screened_at" else c for c in _BASE_COLUMNS]
    base += [f"r_{i}" for i in range(len(plan.person_rules))] + ["quarantined"]
    base += [f"pc_{i}" for i in range(len(plan.place_counts))]
    return base + [f"e_{i}" for i in range(len(plan.escalations))]


def _key_columns(plan: _Plan) -> list[str]:
    """The classification columns a pattern depends on (:func:`pattern_fields`), the rules'
    values and the place counts included."""
    named = {"screened_at": "at", "quarantined": "quarantined"}
    named.update({c: c for c in _BASE_COLUMNS if c != "screened_at"})
    fields = [named[f] for f in pattern_fields(plan.rule_set) if f in named]
    rest = [c for c in _output_columns(plan) if c[:2] in ("r_", "e_") or c.startswith("pc_")]
    return sorted(set(fields)) + rest


def _true(value: Any) -> bool:
    return value is not None and bool(value)


# -- Python path -----------------------------------------------------------------------------------


def _trip(trip: Any) -> dict[str, Any]:
    return {"destination": trip.destination, "departed": trip.departed, "returned": trip.returned}


def _exposure(exposure: Any) -> dict[str, Any]:
    return {
        "kind": exposure.kind.value,
        "last_contact": exposure.last_contact,
        "note": exposure.note,
    }


def _reported_anomalies(
    uow: UnitOfWork, ctx: RunContext
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]:
    """Anomalies reported on the run's day and the days before, by building and by household."""
    start, end = ctx.day_start(ctx.first_day(CHECKIN_DAYS)), ctx.end
    by_building: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_household: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for checkin in uow.find(CheckIn):
        if not start <= checkin.at < end:
            continue
        day = ctx.local_date(checkin.at)
        for anomaly in checkin.anomalies:
            item = {
                "kind": anomaly.kind.value,
                "count": anomaly.count,
                "note": anomaly.note,
                "household_id": anomaly.household_id,
                "day": day,
            }
            by_building[checkin.building_id].append(item)
            if anomaly.household_id is not None:
                by_household[anomaly.household_id].append(item)
    return by_building, by_household


def _python_rows(
    uow: UnitOfWork,
    plan: _Plan,
    ctx: RunContext,
    scope: list[str] | None,
    changes: Changes | None,
) -> Iterator[tuple[Row, list[Rule]]]:
    households = {h.id: h for h in uow.find(Household, jurisdictions=scope)}
    stairwells = {s.id: s for s in uow.find(Stairwell, jurisdictions=scope)}
    latest: dict[str, Screening] = {}
    for screening in uow.find(Screening, jurisdictions=scope):
        known = latest.get(screening.person_id)
        if known is None or (screening.at, str(screening.id)) > (known.at, str(known.id)):
            latest[screening.person_id] = screening
    on_order: set[str] = set()
    if plan.uses_orders:
        for order in uow.find(QuarantineOrder, jurisdictions=scope):
            if order.person_id is not None and order.active_on(ctx.day):
                on_order.add(order.person_id)
    by_building, by_household = _reported_anomalies(uow, ctx) if plan.uses_checkins else ({}, {})
    area_keys = _area_keys(uow, scope, plan.area_levels) if plan.area_levels else {}
    rows: list[Row] = []
    for person in uow.find(Person, jurisdictions=scope):
        household = households[person.household_id]
        stairwell = stairwells[household.stairwell_id]
        s = latest.get(person.id)
        rows.append(
            {
                "person_id": person.id,
                "household_id": person.household_id,
                "stairwell_id": household.stairwell_id,
                "building_id": stairwell.building_id,
                "jurisdiction": uow.jurisdiction_of(Person, person.id),
                "sex": None if person.sex is None else person.sex.value,
                "residency": person.residency.value,
                "birth_date": person.birth_date,
                "floor": household.floor,
                "screening_id": None if s is None else str(s.id),
                "screened_at": None if s is None else s.at,
                "temperature": None if s is None else s.temperature,
                "symptoms": None if s is None else tuple(s.symptoms),
                "trips": None if s is None else tuple(_trip(t) for t in s.trips),
                "exposures": None if s is None else tuple(_exposure(e) for e in s.exposures),
                "on_order": person.id in on_order,
                "building_anomalies": (
                    tuple(by_building.get(stairwell.building_id, ()))
                    if plan.uses_checkins
                    else None
                ),
                "household_anomalies": (
                    tuple(by_household.get(person.household_id, ())) if plan.uses_checkins else None
                ),
                **area_keys.get(stairwell.building_id, {}),
            }
        )
    index = plan.count_index
    person_tests = [compile_python(r.condition, ctx) for r in plan.person_rules]
    q_rules = plan.quarantine_rules
    flags: list[list[bool | None]] = []
    for row in rows:
        values = [test(row) for test in person_tests]
        flags.append(values)
        row["quarantined"] = row["on_order"] or any(values[i] is True for i in q_rules)
        row["flagged"] = any(v is True for v in values)
    for i, count in enumerate(plan.place_counts):  # inner counts first
        test = compile_python(count.predicate, ctx, place_counts=index)
        key_field = LEVELS[count.level]
        marks = [test(row) is True for row in rows]
        totals: Counter[str] = Counter()
        if count.per is None:
            totals.update(row[key_field] for row, mark in zip(rows, marks, strict=True) if mark)
        else:
            per_field = LEVELS[count.per]
            places = {
                (row[key_field], row[per_field])
                for row, mark in zip(rows, marks, strict=True)
                if mark and row[per_field] is not None
            }
            totals.update(key for key, _ in places)
        for row, mark in zip(rows, marks, strict=True):
            key = row[key_field]
            own = 1 if count.others and mark else 0
            # A person in no place of the level is counted in none, themselves included.
            row[place_count_key(i)] = 0 if key is None else totals[key] - own
    escalation_tests = [
        compile_python(r.condition, ctx, place_counts=index) for r in plan.escalations
    ]
    keep = _changed_rows(plan, rows, changes)
    for row, values in zip(rows, flags, strict=True):
        if keep is not None and not keep(row):
            continue
        fired = [r for r, v in zip(plan.person_rules, values, strict=True) if v is True]
        fired += [
            r for r, t in zip(plan.escalations, escalation_tests, strict=True) if t(row) is True
        ]
        if fired:
            yield row, fired


def _changed_rows(
    plan: _Plan, rows: Sequence[Row], changes: Changes | None
) -> Callable[[Row], bool] | None:
    """The Python twin of :func:`_changed_where`: which rows an incremental run looks at."""
    level = None if changes is None else _changed_level(plan)
    if changes is None or level is None:
        return None
    key = "person_id" if level == "person" else LEVELS[level]
    since = changes.since
    places = {
        row[key]
        for row in rows
        if row["screened_at"] is not None and (since is None or row["screened_at"] > since)
    }
    communities = set(changes.communities)
    return lambda row: row["jurisdiction"] in communities or row[key] in places


def _area_keys(
    uow: UnitOfWork, scope: list[str] | None, levels: Sequence[str]
) -> dict[str, dict[str, str | None]]:
    """Per building: the area of each level holding its area (``grid_id``, ``community_id``...)."""
    areas = {a.id: a for a in uow.find(Area)}
    wanted = set(levels)
    by_area: dict[str, dict[str, str | None]] = {}

    def keys(area_id: str) -> dict[str, str | None]:
        if area_id not in by_area:
            found: dict[str, str] = {}
            node = areas.get(area_id)
            seen: set[str] = set()
            while node is not None and node.id not in seen:
                seen.add(node.id)
                level = node.level.value
                if level in wanted and (level not in found or node.id < found[level]):
                    found[level] = node.id
                node = areas.get(node.parent_id) if node.parent_id is not None else None
            by_area[area_id] = {AREA_LEVELS[lv]: found.get(lv) for lv in levels}
        return by_area[area_id]

    return {b.id: keys(b.area_id) for b in uow.find(Building, jurisdictions=scope)}


def _notify_settings(ws: Workspace, notify: Any, campaign_id: str) -> Any:
    """The workspace's notification settings for this campaign."""
    from ..notifications.config import settings_for

    return settings_for(ws, notify, campaign_id=campaign_id)


def _channels(settings: Any) -> tuple[str, ...]:
    """The channels screening messages go to: the ``screening`` route's, else every one."""
    route = settings.route("screening")
    return tuple(settings.channels_of(route.channels if route else ()))


def _outbox_enqueue() -> Any:
    """``gridguard.notifications.outbox.enqueue`` when the notification outbox is installed."""
    return _outbox_function("enqueue")


def _outbox_function(name: str) -> Any:
    """A function of ``gridguard.notifications.outbox`` (``None`` without the outbox)."""
    try:
        module = importlib.import_module("gridguard.notifications.outbox")
    except ImportError:
        return None
    return getattr(module, name, None)


def _watermark(uow: UnitOfWork, dialect: SqlDialect, scope: list[str] | None) -> dt.datetime | None:
    if dialect.runs_sql:
        mark = dialect.placeholder
        where = (
            "" if scope is None else f" WHERE jurisdiction IN ({', '.join(mark for _ in scope)})"
        )
        (value,) = next(iter(uow.query(f"SELECT max(at) FROM screenings{where}", scope or ())))
        return _instant(value)
    latest = None
    for screening in uow.find(Screening, jurisdictions=scope):
        latest = screening.at if latest is None or screening.at > latest else latest
    return latest


def _runs_of(uow: UnitOfWork, campaign: Campaign, rule_set: RuleSet) -> list[ScreeningRun]:
    """The stored runs of this rule set version for this campaign."""
    return list(
        uow.find(
            ScreeningRun,
            where={
                "campaign_id": campaign.id,
                "rule_set_id": rule_set.id,
                "rule_set_version": rule_set.version,
            },
        )
    )


@attrs.define
class _Totals:
    """What a run found and wrote, added up batch by batch."""

    flagged: int = 0
    assessments: int = 0
    orders: int = 0
    tasks: int = 0
    messages: int = 0
    intents: int = 0
    by_rule: Counter[str] = attrs.field(factory=Counter)
    by_risk: Counter[str] = attrs.field(factory=Counter)

    def count(self, pattern: Pattern) -> None:
        self.flagged += 1
        self.by_rule.update(r.id for r in pattern.rules)
        self.by_risk[pattern.template.risk.value] += 1
        self.intents += len(pattern.template.notify)

    def add(self, written: Written) -> None:
        self.flagged += written.flagged
        self.assessments += written.assessments
        self.orders += written.orders
        self.tasks += written.tasks
        self.intents += written.intents
        self.by_rule += written.by_rule
        self.by_risk += written.by_risk


def _active_orders(
    uow: UnitOfWork, dialect: SqlDialect, person_ids: Sequence[str]
) -> list[QuarantineOrder]:
    """The active orders of these persons: a few keyed queries per batch, never one per person."""
    if not dialect.runs_sql:
        wanted = set(person_ids)
        return [
            o
            for o in uow.find(QuarantineOrder, where={"status": OrderStatus.ACTIVE})
            if o.person_id in wanted
        ]
    spec = spec_for(QuarantineOrder)
    mark = dialect.placeholder
    columns = ", ".join(f't."{c}"' for c in spec.column_names)
    found: list[QuarantineOrder] = []
    for start in range(0, len(person_ids), 500):
        chunk = list(person_ids[start : start + 500])
        marks = ", ".join(mark for _ in chunk)
        sql = (
            f"SELECT {columns} FROM {spec.table} t "
            f"WHERE t.status = {mark} AND t.person_id IN ({marks})"
        )
        rows = uow.query(sql, [OrderStatus.ACTIVE.value, *chunk])
        found += [spec.decode(spec.as_stored(row)) for row in rows]
    return found


def _settle(
    uow: UnitOfWork, orders: list[QuarantineOrder], dialect: SqlDialect, at: dt.datetime
) -> tuple[list[QuarantineOrder], list[QuarantineOrder], list[QuarantineExtension]]:
    """One active order per person: new orders to store, active ones extended, and the records.

    A person already under an active order gets no second one: a later
    exposure moves that order's end later (a
    :class:`~gridguard.model.quarantine.QuarantineExtension`, and the order
    then carries the later exposure); an earlier one changes nothing.
    """
    if not orders:
        return [], [], []
    wanted = {order.person_id or order.household_id: order for order in orders}
    active: dict[str, QuarantineOrder] = {}
    for order in _active_orders(uow, dialect, list(wanted)):
        if order.person_id is None:
            continue
        known = active.get(order.person_id)
        if known is None or order.end > known.end:
            active[order.person_id] = order
    new: list[QuarantineOrder] = []
    extended: list[QuarantineOrder] = []
    facts: list[QuarantineExtension] = []
    for key, order in wanted.items():
        current = active.get(key)
        if current is None:
            new.append(order)
        elif order.end > current.end:
            extended.append(
                attrs.evolve(
                    current,
                    end=order.end,
                    exposure_kind=order.exposure_kind,
                    last_contact=order.last_contact,
                )
            )
            facts.append(
                QuarantineExtension(
                    id=stable_id("quarantine-extension", current.id, order.end),
                    at=at,
                    order_id=current.id,
                    household_id=current.household_id,
                    last_exposure=order.last_contact or order.start,
                    previous_end=current.end,
                    new_end=order.end,
                    reason=order.reason,
                )
            )
    return new, extended, facts


def _store_orders(
    uow: UnitOfWork, orders: list[QuarantineOrder], dialect: SqlDialect, at: dt.datetime
) -> int:
    """Settle ``orders`` (none stored before) against the active ones; the new orders stored."""
    new, extended, extensions = _settle(uow, orders, dialect, at)
    if new:
        uow.put(QuarantineOrder, new)
    if extended:
        uow.put(QuarantineOrder, extended)
        uow.save_facts(QuarantineExtension, extensions)
    return len(new)


class _Patterns:
    """Patterns by key, worked out once each (the Python path's twin of the pattern table)."""

    def __init__(self, plan: _Plan, run: PatternContext) -> None:
        self._fields = pattern_fields(plan.rule_set)
        self._counts = len(plan.place_counts)
        self._run = run
        self._found: dict[str, Pattern] = {}

    def of(self, row: Row, fired: list[Rule]) -> Pattern:
        values = [row.get(f) for f in self._fields]
        values += [row.get(place_count_key(i)) for i in range(self._counts)]
        key = json.dumps([values, sorted(r.id for r in fired)], default=str, sort_keys=True)
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = pattern_of(row, fired, self._run)
        return found


def _write_python(
    uow: UnitOfWork,
    rows: Iterable[tuple[Row, list[Rule]]],
    plan: _Plan,
    run: PatternContext,
    dialect: SqlDialect,
    messages: Messages | None,
    totals: _Totals,
) -> list[Any]:
    """The Python path's writes (a store that runs no SQL): the same records as the set-based
    path, person by person; returns the urgent alerts to queue."""
    patterns = _Patterns(plan, run)
    told: list[tuple[Told, Pattern]] = []
    assessments: list[Assessment] = []
    by_id: dict[str, tuple[Row, Pattern]] = {}
    for row, fired in rows:
        pattern = patterns.of(row, fired)
        totals.count(pattern)
        assessment = pattern.assessment(row["person_id"], row["household_id"], row["screening_id"])
        assessments.append(assessment)
        by_id[str(assessment.id)] = (row, pattern)
    fresh = unstored(uow, Assessment, assessments)
    tasks: dict[str, Task] = {}
    orders: list[QuarantineOrder] = []
    for assessment in fresh:
        row, pattern = by_id[str(assessment.id)]
        person, household = assessment.person_id, assessment.household_id
        for task in pattern.person_tasks(person, household):
            tasks.setdefault(task.id, task)
        order = pattern.person_order(person, household)
        if order is not None:
            orders.append(order)
        if pattern.notifies:
            told.append((Told(str(assessment.id), person, household), pattern))
    if fresh:
        totals.assessments += uow.save_facts(Assessment, fresh).written
    new_tasks = unstored(uow, Task, list(tasks.values()))
    if new_tasks:
        uow.put(Task, new_tasks)
    totals.tasks += len(new_tasks)
    totals.orders += _store_orders(
        uow, unstored(uow, QuarantineOrder, orders), dialect, run.day_start
    )
    if messages is None:
        return []
    told.sort(key=lambda item: item[0].person_id)
    return messages.add(told)


@attrs.frozen
class _Telling:
    """The set-based writes' new assessments that tell someone, into ``messages``: urgent
    alerts made in SQL and queued by the outbox (page by page in Python where names are
    sealed), the rest counted into the digests."""

    messages: Messages
    queue: Callable[[list[Any]], None]
    uow: UnitOfWork
    dialect: SqlDialect
    totals: _Totals
    staged: Any = attrs.field(factory=lambda: _outbox_function("enqueue_staged"))
    """The outbox's set-based enqueue (``None`` without the outbox)."""

    def add(self, page: list[tuple[Told, Pattern]]) -> None:
        self.queue(self.messages.add(page))

    @property
    def alerts_in_sql(self) -> bool:
        # Names sealed in the store are masked in Python, a page at a time.
        sealed = isinstance(self.uow, EncryptedFields) and self.uow.fields is not None
        return self.staged is not None and not sealed

    def alert_targets(self, places: Iterable[tuple[str, int, Pattern]]) -> list[Any]:
        return self.messages.alert_targets(places)

    def stage(self, table: str) -> None:
        assert self.staged is not None
        self.totals.messages += int(self.staged(self.uow, self.dialect, table))

    def prepare(self, places: Iterable[tuple[str, Pattern]]) -> None:
        self.messages.prepare(places)

    def tally(self, rows: Iterable[tuple[str, str, str, Pattern]]) -> None:
        self.messages.tally(rows)


def _unchanged(run: ScreeningRun, started: float, outbox: bool) -> ScreeningResult:
    """The result of a run that found nothing changed since ``run``: it flagged no one anew."""
    return ScreeningResult(
        run=attrs.evolve(run, mode="unchanged", flagged=0),
        flagged=0,
        by_rule={},
        by_risk={},
        assessments=0,
        orders=0,
        tasks=0,
        notifications=0,
        notify_mode="outbox" if outbox else "recorded",
        seconds=time.perf_counter() - started,
    )


def screen(
    ws: Workspace,
    rule_set: RuleSet | None = None,
    *,
    campaign_id: str | None = None,
    day: dt.date | None = None,
    full: bool = False,
    new_version: bool = False,
    notify: NotifySettings | None = None,
    notifications: bool = True,
) -> ScreeningResult:
    """Run ``rule_set`` (default: the built-in one) over the persons of a campaign.

    ``day`` is the local day the rules count from (default: today in the
    campaign's time zone). A run is incremental: after a run of the same
    rule set version for the same day it screens only what changed since
    (new and late-entered screenings, persons, households and stairwells
    that changed, orders made or ended; see the screening rules' guide),
    and when nothing changed it stores nothing. The first run of a day
    screens everyone, as does ``full`` (``--full``). Returns what was
    found and written; running it again writes nothing new.

    A version of a rule set stands for one set of rules: its fingerprint is
    stored by its first run, and a run of another rule set under the same
    id and version is refused (:class:`RuleSetVersionConflict`) unless
    ``new_version``, which runs it under a version of its own (see
    :func:`stored_versions`).

    Messages route with ``notify`` (default: the workspace's configuration):
    one message per recipient listing their persons, and an urgent alert
    per person for a fever or a close contact. ``notifications=False``
    queues none and records whom the rules would tell on the assessments
    (``notify_mode`` ``"recorded"``), as a store without the outbox does.
    """
    started = time.perf_counter()
    rule_set = rule_set or builtin_rule_set(lines=ws.lines.names())
    plan = _Plan.of(rule_set)
    dialect = ws.dialect
    enqueue = _outbox_enqueue() if notifications else None
    with ws._transaction(bulk=dialect.runs_sql) as uow:
        campaign = _campaign(uow, campaign_id)
        ws.authorize("rules.screen", campaign)
        rule_set = _checked_version(uow, rule_set, new_version)
        plan = attrs.evolve(plan, rule_set=rule_set)
        today = campaign.local_date(dt.datetime.now(dt.UTC))
        day = today if day is None else as_day(day, "$.day", campaign.zone)
        if day > today:
            raise ValidationError.single(
                "$.day", day.isoformat(), f"must not be after today ({today.isoformat()})"
            )
        ctx = RunContext.for_campaign(campaign, day)
        scope = _jurisdictions(uow, campaign)
        # The wall clock of the run; a run for a past day orders on that day, at its end.
        ordered_at = min(dt.datetime.now(dt.UTC), ctx.end - dt.timedelta(microseconds=1))
        runs = _runs_of(uow, campaign, rule_set)
        previous = None if full else last_run(runs, day)
        since = None if previous is None else previous[0].watermark
        inputs = inputs_of(uow, dialect, scope, since)
        changes: Changes | None = None
        if previous is not None:
            stored_places = previous[1]["places"]
            changes = Changes(since, changed_communities(inputs.before, stored_places))
            if not changes.communities and inputs.newer == 0:
                # Nothing screening reads changed since that run: it stands, nothing is stored.
                return _unchanged(previous[0], started, enqueue is not None)
        mode = "changed" if changes is not None else "full"
        seq = 1 + max(
            (int(json.loads(r.inputs)["seq"]) for r in runs if r.day == day and r.inputs), default=0
        )
        watermark = _watermark(uow, dialect, scope)
        start_of = {
            (rule.id, n): compile_python(action.start, ctx)
            for rule in rule_set.rules
            for n, action in enumerate(rule.actions)
            if isinstance(action, Quarantine) and action.start is not None
        }
        exposures_of = {
            rule.id: tuple(
                (t.source, compile_python(t.predicate, ctx), t.date)
                for t in exposure_tests(rule.condition)
            )
            for rule in rule_set.rules
            if rule.orders_quarantine
        }
        run_context = PatternContext(
            rule_set, campaign, ctx, plan.count_index, start_of, exposures_of, ordered_at
        )
        settings = _notify_settings(ws, notify, campaign.id) if enqueue is not None else None
        messages = (
            None
            if settings is None or enqueue is None
            else Messages(uow, dialect, settings, campaign.zone, day)
        )
        totals = _Totals()

        def queue(found: list[Any]) -> None:
            if found and enqueue is not None:
                totals.messages += int(enqueue(uow, found, wait=False))

        if dialect.runs_sql:

            def settle(held: list[QuarantineOrder]) -> int:
                return _store_orders(uow, held, dialect, run_context.day_start)

            written = write_setwise(
                uow,
                dialect,
                _classify_sql(plan, dialect, ctx, scope, changes),
                _output_columns(plan),
                _key_columns(plan),
                lambda records: _flagged(records, plan),
                lambda row, fired: pattern_of(row, fired, run_context),
                settle,
                None if messages is None else _Telling(messages, queue, uow, dialect, totals),
            )
            totals.add(written)
        else:
            rows = _python_rows(uow, plan, ctx, scope, changes)
            queue(_write_python(uow, rows, plan, run_context, dialect, messages, totals))
        if messages is not None:
            made = messages.digests()
            while chunk := list(itertools.islice(made, DIGESTS_QUEUED)):
                queue(chunk)
        flagged = totals.flagged
        if totals.orders or totals.assessments:
            # Orders the run made are inputs of the next run: it must not take them for news.
            inputs = inputs_of(uow, dialect, scope, watermark)
        kept = json.dumps({"seq": seq, "places": inputs.now}, sort_keys=True, separators=(",", ":"))
        run_content = {
            "campaign_id": campaign.id,
            "rule_set_id": rule_set.id,
            "rule_set_version": rule_set.version,
            "rule_set_digest": rule_set.digest,
            "day": day.isoformat(),
            "mode": mode,
            "flagged": flagged,
            "watermark": None if watermark is None else watermark.isoformat(),
            "inputs": kept,
        }
        run = ScreeningRun(
            id=stable_id("screening_run", run_content),
            at=ctx.day_start(day),
            campaign_id=campaign.id,
            rule_set_id=rule_set.id,
            rule_set_version=rule_set.version,
            rule_set_digest=rule_set.digest,
            day=day,
            mode=mode,
            flagged=flagged,
            watermark=watermark,
            inputs=kept,
        )
        uow.save_facts(ScreeningRun, [run])
    return ScreeningResult(
        run=run,
        flagged=flagged,
        by_rule=dict(sorted(totals.by_rule.items())),
        by_risk=dict(sorted(totals.by_risk.items())),
        assessments=totals.assessments,
        orders=totals.orders,
        tasks=totals.tasks,
        notifications=totals.messages if enqueue is not None else totals.intents,
        notify_mode="outbox" if enqueue is not None else "recorded",
        seconds=time.perf_counter() - started,
    )
