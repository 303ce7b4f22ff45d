"""From fired rules to records, once per pattern of answers rather than once per person.

A city's flagged persons repeat a few answers: the same rules fire, read
the same temperature, the same symptoms, the same trip. Everything a run
stores for a person (the assessment's risk, fired rules and their
explanations; the tasks and the quarantine order the rules' actions ask
for) depends only on those values, which :func:`pattern_fields` names. A
:class:`Pattern` is worked out once for each distinct set of them; a
person's records are the pattern's, with the person's ids and an id
(:func:`~gridguard.model.assessments.keyed_id`) that the database computes
as Python does. That is what lets a run write its records with set-based
SQL (:mod:`._setwise`) and still agree, id for id, with the Python path.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import attrs

from ..model import Campaign
from ..model.assessments import (
    Assessment,
    FiredRule,
    QuarantineOrder,
    RiskLevel,
    Task,
    TaskKind,
    keyed_id,
)
from ..rules.context import RunContext
from ..rules.observation import TRIP_RETURN, ObservationWindow
from ..rules.python_compiler import Evaluator, place_count_key
from ..rules.ruleset import (
    Classify,
    FollowUp,
    Notify,
    Quarantine,
    Refer,
    Rule,
    RuleSet,
    TaskAction,
)
from ..rules.tree import (
    CHECKIN_FIELDS,
    Field,
    Latest,
    ListAll,
    ListAny,
    ListCount,
    Node,
    PlaceCount,
)
from ..storage.schema import spec_for

__all__ = [
    "URGENT_RULES",
    "Pattern",
    "PatternContext",
    "explain",
    "pattern_fields",
    "pattern_of",
]

Row = dict[str, Any]

URGENT_RULES = frozenset({"fever", "close-contact"})
"""Rules whose alert goes at once, one per person: a fever, a close contact of a case."""

PERSONAL = ("id", "person_id", "household_id", "screening_id")
"""Columns a person's record takes from the person, not from the pattern."""


def pattern_fields(rule_set: RuleSet) -> tuple[str, ...]:
    """The row fields a pattern depends on, sorted: every field a rule's condition or
    quarantine start reads outside ``count_in`` (explanations and exposure days read
    those; a count's own predicate is read through the count's value)."""
    nodes: list[Node] = []
    for rule in rule_set.rules:
        nodes.append(rule.condition)
        nodes += [a.start for a in rule.actions if isinstance(a, Quarantine) and a.start]
    return tuple(
        sorted({n.name for node in nodes for n in _outside_counts(node) if isinstance(n, Field)})
    )


def _outside_counts(node: Node) -> Iterator[Node]:
    """``node`` and the nodes below it, leaving out what is inside a ``count_in``."""
    yield node
    if isinstance(node, PlaceCount):
        return
    for child in node.children():
        yield from _outside_counts(child)


# -- explanations ---------------------------------------------------------------------------


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dt.datetime):
        return value.isoformat(" ", "minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _describe_list(name: str, items: Sequence[Any]) -> str:
    if not items:
        return f"{name} = []"
    if name == "symptoms":
        return f"symptoms = {', '.join(items)}"
    shown = []
    for item in items[:5]:
        if name == "trips":
            shown.append(f"{item['destination']} (returned {_show(item['returned'])})")
        elif name in CHECKIN_FIELDS:
            shown.append(f"{item['kind']} x{item['count']} ({_show(item['day'])})")
        else:
            shown.append(f"{item['kind']} (last contact {_show(item['last_contact'])})")
    more = f" and {len(items) - 5} more" if len(items) > 5 else ""
    return f"{name} = {'; '.join(shown)}{more}"


def explain(rule: Rule, row: Mapping[str, Any], index: Mapping[int, int]) -> str:
    """Why ``rule`` fired for ``row``: the values its condition read."""
    parts: list[str] = []
    seen: set[str] = set()

    def visit(node: Node) -> None:
        if isinstance(node, PlaceCount):
            i = index.get(id(node))
            value = row.get(place_count_key(i)) if i is not None else None
            extra = ", others" if node.others else f", per={node.per}" if node.per else ""
            label = f"count_in({node.level}{extra})"
            if label not in seen:
                seen.add(label)
                parts.append(f"{label} = {value}")
            return
        if isinstance(node, Field) and node.name not in seen:
            seen.add(node.name)
            value = row.get(node.name)
            if value is None:
                parts.append(f"{node.name} missing")
            elif isinstance(value, tuple):
                parts.append(_describe_list(node.name, value))
            else:
                parts.append(f"{node.name} = {_show(value)}")
        if isinstance(node, ListAny | ListAll | ListCount | Latest):
            visit(node.source)
            return
        for child in node.children():
            visit(child)

    visit(rule.condition)
    return "; ".join(parts)


# -- patterns -------------------------------------------------------------------------------


@attrs.frozen
class PatternContext:
    """What working out a pattern needs, fixed for a run."""

    rule_set: RuleSet
    campaign: Campaign
    ctx: RunContext
    index: Mapping[int, int]
    """Place counts by ``id()`` of their node: the row key of each count's value."""
    start_of: Mapping[tuple[str, int], Evaluator]
    """The ``from`` expression of each quarantine action, by rule id and action number."""
    exposures_of: Mapping[str, tuple[tuple[str, Evaluator, str], ...]]
    """Per rule: each list its condition flags exposures in, the element test and its date."""
    ordered_at: dt.datetime
    """When the run made its orders (the wall clock, or the end of a past day screened)."""

    @property
    def day_start(self) -> dt.datetime:
        return self.ctx.day_start(self.ctx.day)

    @property
    def version_tail(self) -> str:
        return f"{self.rule_set.id}|{self.rule_set.version}"


@attrs.frozen
class TaskTemplate:
    """A task a pattern asks for, without whom it is for: ``target`` is ``person`` or
    ``household``, ``tail`` the rest of its id's key (the same for every member)."""

    target: str
    tail: str
    task: Task


@attrs.frozen
class OrderTemplate:
    """The quarantine order a pattern asks for, without whom it is for."""

    tail: str
    order: QuarantineOrder


@attrs.frozen
class Pattern:
    """Everything a run stores for a person whose answers follow this pattern."""

    rules: tuple[Rule, ...]
    """The rules that fired, in priority order."""
    template: Assessment
    """The assessment with placeholder person, household and screening."""
    digest: str
    """SHA-256 (hex) of the assessment's content: part of every assessment's id."""
    tasks: tuple[TaskTemplate, ...]
    order: OrderTemplate | None

    @property
    def urgent(self) -> bool:
        """Whether the alert goes at once (:data:`URGENT_RULES`) instead of in the digest."""
        return any(rule.id in URGENT_RULES for rule in self.rules)

    @property
    def notifies(self) -> bool:
        return bool(self.template.notify)

    def assessment_key(self, person: str, household: str, screening: Any) -> str:
        """The text the assessment id is made of (:meth:`_setwise` builds the same in SQL)."""
        return f"assessment|{self.digest}|{person}|{household}|{screening or ''}"

    def assessment(self, person: str, household: str, screening: Any) -> Assessment:
        return attrs.evolve(
            self.template,
            id=uuid.UUID(keyed_id(self.assessment_key(person, household, screening))),
            person_id=person,
            household_id=household,
            screening_id=None if screening is None else uuid.UUID(str(screening)),
        )

    def person_tasks(self, person: str, household: str) -> list[Task]:
        out = []
        for t in self.tasks:
            who = person if t.target == "person" else household
            out.append(
                attrs.evolve(
                    t.task,
                    id=keyed_id(f"task|{who}|{t.tail}"),
                    household_id=household,
                    person_id=person if t.target == "person" else None,
                )
            )
        return out

    def person_order(self, person: str, household: str) -> QuarantineOrder | None:
        if self.order is None:
            return None
        return attrs.evolve(
            self.order.order,
            id=keyed_id(f"quarantine|{person}|{self.order.tail}"),
            household_id=household,
            person_id=person,
        )

    def columns(self, cls: type[Any], record: Any) -> dict[str, Any]:
        """``record`` encoded as stored, without the personal columns."""
        spec = spec_for(cls)
        return {
            c: v
            for c, v in zip(spec.column_names, spec.encode(record), strict=True)
            if c not in PERSONAL
        }


_PLACEHOLDER = "x"
_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str).encode


def pattern_of(row: Row, fired: Sequence[Rule], run: PatternContext) -> Pattern:
    """The pattern of a flagged ``row`` (any person who answered alike gives the same one)."""
    rules = tuple(sorted(fired, key=lambda r: (r.priority, r.id)))
    risk = RiskLevel.NONE
    referrals: list[str] = []
    roles: list[str] = []
    follow_up: int | None = None
    records: list[FiredRule] = []
    why: dict[str, str] = {}
    for rule in rules:
        why[rule.id] = explain(rule, row, run.index)
        records.append(
            FiredRule(rule_id=rule.id, line=rule.line, priority=rule.priority, why=why[rule.id])
        )
        for action in rule.actions:
            if isinstance(action, Classify) and action.level.rank > risk.rank:
                risk = action.level
            elif isinstance(action, Refer) and action.to not in referrals:
                referrals.append(action.to)
            elif isinstance(action, Notify):
                roles += [r for r in action.roles if r not in roles]
            elif isinstance(action, FollowUp):
                follow_up = action.hours if follow_up is None else min(follow_up, action.hours)
    common = {"rule_set_id": run.rule_set.id, "rule_set_version": run.rule_set.version}
    content = {
        "campaign_id": run.campaign.id,
        "day": run.ctx.day.isoformat(),
        "risk": risk.value,
        "fired": [attrs.astuple(r) for r in records],
        "referrals": referrals,
        "notify": roles,
        "follow_up_hours": follow_up,
        **common,
    }
    template = Assessment(
        id=uuid.UUID(int=0),
        at=run.day_start,
        person_id=_PLACEHOLDER,
        household_id=_PLACEHOLDER,
        campaign_id=run.campaign.id,
        day=run.ctx.day,
        risk=risk,
        fired=tuple(records),
        referrals=tuple(referrals),
        notify=tuple(roles),
        follow_up_hours=follow_up,
        rule_set_id=run.rule_set.id,
        rule_set_version=run.rule_set.version,
    )
    tasks, order = _actions(row, rules, why, run)
    return Pattern(
        rules=rules,
        template=template,
        digest=hashlib.sha256(_JSON(content).encode()).hexdigest(),
        tasks=tasks,
        order=order,
    )


def _actions(
    row: Row, rules: Sequence[Rule], why: Mapping[str, str], run: PatternContext
) -> tuple[tuple[TaskTemplate, ...], OrderTemplate | None]:
    """The tasks and the quarantine order the fired rules' actions ask for.

    Of several orders, the one that ends last is kept (the first rule's on a tie).
    """
    day_start = run.day_start
    tasks: dict[tuple[str, str], TaskTemplate] = {}
    order: OrderTemplate | None = None

    def task(rule: Rule, key: tuple[str, ...], target: str, **kw: Any) -> None:
        tail = "|".join((rule.id, run.version_tail, *key))
        if (target, tail) in tasks:
            return
        made = Task(
            id=_PLACEHOLDER,
            household_id=_PLACEHOLDER,
            person_id=_PLACEHOLDER if target == "person" else None,
            rule_id=rule.id,
            rule_set_id=run.rule_set.id,
            rule_set_version=run.rule_set.version,
            **kw,
        )
        tasks[(target, tail)] = TaskTemplate(target, tail, made)

    for rule in rules:
        for n, action in enumerate(rule.actions):
            if isinstance(action, Refer):
                note = f"{action.to}: {rule.title}"
                referral = TaskKind.REFERRAL
                task(rule, ("referral",), "person", kind=referral, due=day_start, note=note)
            elif isinstance(action, FollowUp):
                note = f"follow-up every {action.hours} h: {rule.title}"
                for k in range(1, max(24 // action.hours, 1) + 1):
                    due = day_start + dt.timedelta(hours=k * action.hours)
                    step: tuple[str, ...] = ("follow_up", due.isoformat())
                    task(rule, step, "person", kind=TaskKind.PHONE_CALL, due=due, note=note)
            elif isinstance(action, TaskAction):
                due = day_start + dt.timedelta(hours=action.within_hours)
                target = "person" if action.target == "person" else "household"
                made_for = (action.target, action.kind.value, run.ctx.day.isoformat())
                note = action.note or rule.title
                task(rule, made_for, target, kind=action.kind, due=due, note=note)
            elif isinstance(action, Quarantine):
                exposure, contact = _counted_from(row, rule, n, run)
                window = ObservationWindow(contact, action.days)
                made = QuarantineOrder(
                    id=_PLACEHOLDER,
                    household_id=_PLACEHOLDER,
                    person_id=_PLACEHOLDER,
                    kind=action.kind,
                    start=window.first_day,
                    end=window.release_day,
                    reason=f"{rule.title}: {why[rule.id]}",
                    rule_id=rule.id,
                    campaign_id=run.campaign.id,
                    exposure_kind=exposure,
                    last_contact=contact,
                    ordered_at=run.ordered_at,
                    rule_set_id=run.rule_set.id,
                    rule_set_version=run.rule_set.version,
                )
                if order is None or made.end > order.order.end:
                    tail = "|".join((rule.id, run.version_tail, contact.isoformat()))
                    order = OrderTemplate(tail, made)
    return tuple(tasks.values()), order


def _date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _counted_from(row: Row, rule: Rule, n: int, run: PatternContext) -> tuple[str | None, dt.date]:
    """The exposure a rule's ``n``-th action (a quarantine) is counted from: its kind and day.

    A ``from`` expression names the day itself. Otherwise it is the latest
    last contact among the trips and exposures the condition flagged (a
    trip's kind is ``trip_return``); with none, the run's day.
    """
    evaluate = run.start_of.get((rule.id, n))
    if evaluate is not None:
        day = _date(evaluate(row))
        if day is not None:
            return None, day
    best: tuple[dt.date, str] | None = None
    for source, test, date in run.exposures_of.get(rule.id, ()):
        for element in row.get(source) or ():
            day = element.get(date)
            if day is None or test(row, element) is not True:
                continue
            kind = TRIP_RETURN if source == "trips" else str(element.get("kind"))
            if best is None or day > best[0]:
                best = (day, kind)
    if best is None:
        return None, run.ctx.day
    return best[1], best[0]
