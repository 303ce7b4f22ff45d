"""Rule sets in TOML: versioned, validated whole before anything runs.

A rule set file names its ``id`` and ``version``, may define
``[constants]`` (named literals conditions can use), and lists
``[[rules]]``, each with an ``id``, a ``title`` in English and Chinese, the
``line`` of defense it belongs to, a ``priority`` (smaller comes first), a
``when`` condition and ``then`` actions::

    [[rules]]
    id = "fever"
    title = { en = "Fever of 37.3 °C or more", zh = "体温≥37.3℃" }
    line = "door_to_door"
    priority = 30
    when = "temperature >= fever_threshold"
    then = [
      { classify = "medium" },
      { refer = "fever_clinic" },
      { notify = ["community_doctor"] },
    ]

Actions: ``classify`` (``low``/``medium``/``high``), ``quarantine``
(``home``/``central``: an order for the observation window of the exposure
that made the rule fire; ``days`` defaults to, and must equal, the days the
condition's ``within_days`` checks; ``from``, a date expression, names the
last contact instead), ``follow_up``
(every N ``hours``), ``refer`` (``fever_clinic``), ``notify`` (roles) and
``task`` (``visit``, ``phone_call``, ``delivery`` with ``within_hours``
and ``for`` ``person`` or ``household``).

Loading reports every problem at once (bad TOML, an unknown key or action,
an unknown field, a type error) as one :class:`RuleSetError`; a rule set
that fails to load is never half used.
"""

from __future__ import annotations

import difflib
import hashlib
import tomllib
from collections.abc import Collection, Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import attrs

from ..errors import ValidationError, Violation
from ..model._validate import _IDENT
from ..model.assessments import QuarantineKind, RiskLevel, TaskKind
from .analysis import exposure_tests
from .functions import RuleFunction
from .observation import OBSERVATION_DAYS
from .parse import ConditionError, constant_node, parse_condition, parse_value
from .tree import ANY, DATE, Const, Node, PlaceCount, walk

__all__ = [
    "BUILTIN_RULE_SET",
    "MAX_LIST_ITEMS",
    "MAX_RULES",
    "MAX_RULE_SET_BYTES",
    "MAX_VALUES",
    "Classify",
    "FollowUp",
    "Notify",
    "Quarantine",
    "Refer",
    "Rule",
    "RuleSet",
    "RuleSetError",
    "TaskAction",
    "builtin_rule_set",
    "load_rule_set",
    "parse_rule_set",
]

MAX_RULE_SET_BYTES = 1 << 20
"""Largest rule set file, in bytes (1 MiB); the built-in one is under 10 KiB."""
MAX_RULES = 500
"""Most rules in one rule set. Screening tests every rule in one SQL statement
(``r_0 IS TRUE OR r_1 IS TRUE OR ...``), and SQLite refuses an expression more
than 1,000 deep."""
MAX_LIST_ITEMS = 1000
"""Most values in one constant list (``[constants] places = [...]``)."""
MAX_VALUES = 5000
"""Most literal values in all conditions together, a constant counted each time
a condition uses it (a list: each of its values). Each is a bind parameter of
screening's one SQL statement; SQLite takes at most 32,766, PostgreSQL 65,535,
and screening needs some of its own."""

BUILTIN_RULE_SET = "builtin.toml"
"""The file name of the built-in rule set inside :mod:`gridguard.rules`."""

DEFAULT_LINES = ("door_to_door", "building_watch", "data_targeting")
REFERRALS = ("fever_clinic",)
ROLES = (
    "admin",
    "community_secretary",
    "community_doctor",
    "grid_worker",
    "team_member",
    "building_observer",
    "service_volunteer",
)


class RuleSetError(ValidationError):
    """A rule set that cannot be loaded; ``violations`` lists every problem found."""


@attrs.frozen
class Classify:
    """Set the person's risk level (the highest of all fired rules wins)."""

    level: RiskLevel


@attrs.frozen
class Quarantine:
    """Order home or central quarantine for an observation window of ``days`` days.

    The window (:class:`~gridguard.rules.observation.ObservationWindow`) is
    counted from the last contact of the exposure that made the rule fire:
    the latest day among the trips and exposures its ``within_days`` test
    flagged. ``start``, a date expression (``from`` in TOML), names the last
    contact instead; when neither gives a day, the run's day is the last
    contact. ``days`` must equal the days the condition's ``within_days``
    checks, so that the rule flags exactly the days the order covers (and
    the day of the contact itself).
    """

    kind: QuarantineKind
    days: int
    start: Node | None = None
    """A date expression for the last contact; ``None`` means the flagged exposure."""
    start_text: str = ""


@attrs.frozen
class FollowUp:
    """Follow the person up every ``hours`` hours (phone calls, twice-daily temperatures)."""

    hours: int


@attrs.frozen
class Refer:
    """Refer the person to ``to`` (a fever clinic)."""

    to: str


@attrs.frozen
class Notify:
    """Tell people in these roles."""

    roles: tuple[str, ...]


@attrs.frozen
class TaskAction:
    """Create a task of ``kind`` for the person or their household, due within hours."""

    kind: TaskKind
    within_hours: int = 24
    target: str = "person"
    note: str = ""


Action = Classify | Quarantine | FollowUp | Refer | Notify | TaskAction


@attrs.frozen
class Rule:
    """One rule: when its condition is true for a person, its actions apply."""

    id: str
    title_en: str
    title_zh: str
    line: str
    priority: int
    when: str
    condition: Node
    actions: tuple[Action, ...]

    @property
    def title(self) -> str:
        """Both titles, as people read them: ``English 中文``."""
        return f"{self.title_en} {self.title_zh}"

    @property
    def is_escalation(self) -> bool:
        """Whether the rule looks across a place level (``count_in``)."""
        return any(isinstance(n, PlaceCount) for n in walk(self.condition))

    @property
    def orders_quarantine(self) -> bool:
        return any(isinstance(a, Quarantine) for a in self.actions)


@attrs.frozen
class RuleSet:
    """A versioned, validated set of rules."""

    id: str
    version: str
    title_en: str
    title_zh: str
    rules: tuple[Rule, ...]
    constants: Mapping[str, Const] = attrs.field(factory=dict)
    digest: str = ""
    """SHA-256 of the TOML text: which exact file decided."""
    source: str = ""

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


# -- reading -----------------------------------------------------------------------------------


class _Problems:
    """Collects violations so that one load reports every problem."""

    def __init__(self) -> None:
        self.items: list[Violation] = []

    def add(self, path: str, value: Any, rule: str) -> None:
        self.items.append(Violation(path, "" if value is None else repr(value), rule))

    def extend(self, exc: ValidationError) -> None:
        self.items.extend(exc.violations)


def _suggest(name: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _unknown_keys(
    problems: _Problems, data: Mapping[str, Any], known: Collection[str], path: str
) -> None:
    for key in data:
        if key not in known:
            problems.add(
                f"{path}.{key}",
                None,
                f"unknown key {key!r}{_suggest(key, known)} (known: {', '.join(known)})",
            )


_TOP_KEYS = ("id", "version", "title", "description", "constants", "rules")
_RULE_KEYS = ("id", "title", "line", "priority", "when", "then", "description", "enabled")
_ACTIONS = ("classify", "quarantine", "follow_up", "refer", "notify", "task")
_ACTION_OPTIONS: dict[str, tuple[str, ...]] = {
    "classify": (),
    "quarantine": ("days", "from"),
    "follow_up": (),
    "refer": (),
    "notify": (),
    "task": ("within_hours", "for", "note"),
}


class _Loader:
    def __init__(self, functions: Mapping[str, RuleFunction], lines: Collection[str]) -> None:
        self.functions = functions
        self.lines = tuple(lines)
        self.problems = _Problems()

    def text(self, data: Mapping[str, Any], key: str, path: str, required: bool = True) -> str:
        value = data.get(key)
        if value is None:
            if required:
                self.problems.add(f"{path}.{key}", None, "required")
            return ""
        if not isinstance(value, str) or not value.strip():
            self.problems.add(f"{path}.{key}", value, "must be non-empty text")
            return ""
        return value

    def identifier(self, data: Mapping[str, Any], key: str, path: str) -> str:
        value = self.text(data, key, path)
        if value and not _IDENT.match(value):
            self.problems.add(
                f"{path}.{key}", value, "must be an identifier (letters, digits, _ . : - /)"
            )
        return value

    def titles(self, data: Mapping[str, Any], path: str) -> tuple[str, str]:
        title = data.get("title")
        if isinstance(title, str):
            self.problems.add(
                f"{path}.title", title, 'give both languages: title = { en = "...", zh = "..." }'
            )
            return title, ""
        if not isinstance(title, dict):
            self.problems.add(f"{path}.title", None, "required: { en = ..., zh = ... }")
            return "", ""
        _unknown_keys(self.problems, title, ("en", "zh"), f"{path}.title")
        return self.text(title, "en", f"{path}.title"), self.text(title, "zh", f"{path}.title")

    def constants(self, data: Any) -> dict[str, Const]:
        out: dict[str, Const] = {}
        if data is None:
            return out
        if not isinstance(data, dict):
            self.problems.add("$.constants", None, "must be a table of name = value")
            return out
        for name, value in data.items():
            path = f"$.constants.{name}"
            if not name.isidentifier() or name.startswith("_"):
                self.problems.add(path, name, "a constant's name must be a plain identifier")
                continue
            if isinstance(value, list) and len(value) > MAX_LIST_ITEMS:
                self.problems.add(
                    path,
                    f"{len(value):,} values",
                    f"a constant list holds at most {MAX_LIST_ITEMS:,} values",
                )
                continue
            try:
                out[name] = constant_node(value, path=path)
            except ValidationError as exc:
                self.problems.extend(exc)
        return out

    def rule(self, data: Any, n: int, constants: Mapping[str, Const]) -> Rule | None:
        path = f"$.rules[{n}]"
        if not isinstance(data, dict):
            self.problems.add(path, None, "a rule must be a table")
            return None
        _unknown_keys(self.problems, data, _RULE_KEYS, path)
        rule_id = self.identifier(data, "id", path) or f"#{n}"
        title_en, title_zh = self.titles(data, path)
        line = self.text(data, "line", path)
        if line and self.lines and line not in self.lines:
            self.problems.add(
                f"{path}.line",
                line,
                f"unknown line of defense{_suggest(line, self.lines)} "
                f"(known: {', '.join(self.lines)})",
            )
        priority = data.get("priority", 100)
        if not isinstance(priority, int) or isinstance(priority, bool):
            self.problems.add(f"{path}.priority", priority, "must be a whole number")
            priority = 100
        when = self.text(data, "when", path)
        condition: Node | None = None
        if when:
            try:
                condition = parse_condition(
                    when,
                    rule_id=rule_id,
                    path=f"{path}.when",
                    constants=constants,
                    functions=self.functions,
                )
            except ConditionError as exc:
                self.problems.extend(exc)
        actions = self.actions(data.get("then"), f"{path}.then", rule_id, constants)
        if condition is not None:
            actions = self.windows(actions, condition, f"{path}.then")
        enabled = data.get("enabled", True)
        if not isinstance(enabled, bool):
            self.problems.add(f"{path}.enabled", enabled, "must be true or false")
        if condition is None or enabled is False:
            return None
        return Rule(rule_id, title_en, title_zh, line, priority, when, condition, actions)

    def windows(
        self, actions: tuple[Action, ...], condition: Node, path: str
    ) -> tuple[Action, ...]:
        """Quarantine actions with their days settled: the days of the observation window
        the condition flags (given or not, they must agree)."""
        windows = sorted({t.days for t in exposure_tests(condition)})
        out: list[Action] = []
        for n, action in enumerate(actions):
            if isinstance(action, Quarantine):
                if len(windows) > 1:
                    self.problems.add(
                        path,
                        None,
                        "the condition checks observation windows of different lengths "
                        f"({', '.join(map(str, windows))} days): an order has one window",
                    )
                elif action.days == 0:
                    days = windows[0] if windows else OBSERVATION_DAYS
                    action = attrs.evolve(action, days=days)
                elif windows and action.days != windows[0]:
                    self.problems.add(
                        f"{path}[{n}].days",
                        action.days,
                        f"must equal the observation window the condition flags "
                        f"(within_days(..., {windows[0]})): the order covers the days the rule "
                        "flags",
                    )
            out.append(action)
        return tuple(out)

    def actions(
        self, data: Any, path: str, rule_id: str, constants: Mapping[str, Const]
    ) -> tuple[Action, ...]:
        if data is None:
            self.problems.add(
                path, None, 'required: a list of actions such as [{ classify = "high" }]'
            )
            return ()
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list) or not data:
            self.problems.add(path, None, "must be a non-empty list of actions")
            return ()
        out: list[Action] = []
        for n, item in enumerate(data):
            action = self.action(item, f"{path}[{n}]", rule_id, constants)
            if action is not None:
                out.append(action)
        return tuple(out)

    def action(
        self, item: Any, path: str, rule_id: str, constants: Mapping[str, Const]
    ) -> Action | None:
        if not isinstance(item, dict):
            self.problems.add(path, None, 'an action is a table such as { classify = "high" }')
            return None
        names = [k for k in item if k in _ACTIONS]
        if len(names) != 1:
            unknown = [k for k in item if k not in _ACTIONS and k not in _all_options()]
            if unknown:
                key = unknown[0]
                self.problems.add(
                    f"{path}.{key}",
                    None,
                    f"unknown action {key!r}{_suggest(key, _ACTIONS)} "
                    f"(known: {', '.join(_ACTIONS)})",
                )
            else:
                self.problems.add(path, None, f"give exactly one action of: {', '.join(_ACTIONS)}")
            return None
        name = names[0]
        _unknown_keys(self.problems, item, (name, *_ACTION_OPTIONS[name]), path)
        value = item[name]
        where = f"{path}.{name}"
        if name == "classify":
            level = self.choice(
                value, [r.value for r in RiskLevel if r is not RiskLevel.NONE], where
            )
            return None if level is None else Classify(RiskLevel(level))
        if name == "quarantine":
            return self.quarantine(item, value, where, path, rule_id, constants)
        if name == "follow_up":
            hours = self.whole(value, where, 1, 24 * 14)
            return None if hours is None else FollowUp(hours)
        if name == "refer":
            to = self.choice(value, REFERRALS, where)
            return None if to is None else Refer(to)
        if name == "notify":
            roles = value if isinstance(value, list) else [value]
            good = [self.choice(r, ROLES, f"{where}[{i}]") for i, r in enumerate(roles)]
            if not roles:
                self.problems.add(where, None, "name at least one role")
            if any(r is None for r in good) or not roles:
                return None
            return Notify(tuple(r for r in good if r is not None))
        kind = self.choice(value, [k.value for k in TaskKind if k is not TaskKind.REFERRAL], where)
        hours = self.whole(item.get("within_hours", 24), f"{path}.within_hours", 0, 24 * 30)
        target = self.choice(item.get("for", "person"), ("person", "household"), f"{path}.for")
        note = item.get("note", "")
        if not isinstance(note, str):
            self.problems.add(f"{path}.note", note, "must be text")
            note = ""
        if kind is None or hours is None or target is None:
            return None
        return TaskAction(TaskKind(kind), hours, target, note)

    def quarantine(
        self,
        item: Mapping[str, Any],
        value: Any,
        where: str,
        path: str,
        rule_id: str,
        constants: Mapping[str, Const],
    ) -> Quarantine | None:
        kind = self.choice(value, [k.value for k in QuarantineKind], where)
        # Without days the order takes the window the condition flags (see windows()).
        given = item.get("days")
        days = 0 if given is None else self.whole(given, f"{path}.days", 1, 365)
        start_text = item.get("from")
        start: Node | None = None
        if start_text is not None:
            if not isinstance(start_text, str):
                self.problems.add(f"{path}.from", start_text, "must be a date expression (text)")
            else:
                try:
                    start = parse_condition_value(
                        start_text, rule_id, f"{path}.from", constants, self.functions
                    )
                except ConditionError as exc:
                    self.problems.extend(exc)
        if kind is None or days is None:
            return None
        return Quarantine(QuarantineKind(kind), days, start, start_text or "")

    def choice(self, value: Any, allowed: Collection[str], path: str) -> str | None:
        if not isinstance(value, str) or value not in allowed:
            hint = _suggest(value, allowed) if isinstance(value, str) else ""
            self.problems.add(path, value, f"must be one of: {', '.join(allowed)}{hint}")
            return None
        return value

    def whole(self, value: Any, path: str, low: int, high: int) -> int | None:
        if value is None:
            self.problems.add(path, None, "required")
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            self.problems.add(path, value, f"must be a whole number from {low} to {high}")
            return None
        return value


def _all_options() -> set[str]:
    return {o for options in _ACTION_OPTIONS.values() for o in options}


def parse_condition_value(
    text: str,
    rule_id: str,
    path: str,
    constants: Mapping[str, Const],
    functions: Mapping[str, RuleFunction],
) -> Node:
    """A date expression (a quarantine's ``from``): parsed like a condition, typed as a date."""
    value = parse_value(text, rule_id=rule_id, path=path, constants=constants, functions=functions)
    if value.type not in (DATE, ANY):
        raise ConditionError(
            path, rule_id, 1, 1, text, f"'from' must be a date, not a {value.type}"
        )
    if any(isinstance(n, PlaceCount) for n in walk(value)):
        raise ConditionError(path, rule_id, 1, 1, text, "'from' cannot use count_in()")
    return value


def parse_rule_set(
    text: str | bytes,
    *,
    functions: Mapping[str, RuleFunction] | None = None,
    lines: Collection[str] | None = None,
    source: str = "",
) -> RuleSet:
    """Read and validate a rule set from TOML ``text``; :class:`RuleSetError` lists every problem.

    ``functions`` are the rule functions plugins registered (by name);
    ``lines`` the names of the known lines of defense (default: the three
    built-in lines).
    """
    raw = text.encode("utf-8") if isinstance(text, str) else text
    if len(raw) > MAX_RULE_SET_BYTES:
        raise RuleSetError(
            [
                Violation(
                    "$",
                    f"{len(raw):,} bytes",
                    f"a rule set is at most {MAX_RULE_SET_BYTES:,} bytes",
                )
            ]
        )
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise RuleSetError([Violation("$", f"byte {exc.start}", "not UTF-8 text")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise RuleSetError([Violation("$", "", f"not valid TOML: {exc}")]) from None
    except RecursionError:
        raise RuleSetError(
            [Violation("$", "", "not valid TOML: arrays or tables nested too deeply")]
        ) from None
    loader = _Loader(functions or {}, DEFAULT_LINES if lines is None else lines)
    problems = loader.problems
    _unknown_keys(problems, data, _TOP_KEYS, "$")
    set_id = loader.identifier(data, "id", "$")
    version = data.get("version")
    if isinstance(version, int) and not isinstance(version, bool):
        version = str(version)
    if not isinstance(version, str) or not version.strip():
        problems.add("$.version", version, "required: the rule set's version (text)")
        version = ""
    title_en, title_zh = loader.titles(data, "$")
    constants = loader.constants(data.get("constants"))
    rules_data = data.get("rules")
    rules: list[Rule] = []
    if not isinstance(rules_data, list) or not rules_data:
        problems.add("$.rules", None, "a rule set needs at least one [[rules]] table")
    elif len(rules_data) > MAX_RULES:
        problems.add(
            "$.rules", f"{len(rules_data):,} rules", f"a rule set has at most {MAX_RULES} rules"
        )
    else:
        seen: dict[str, int] = {}
        for n, item in enumerate(rules_data):
            rule = loader.rule(item, n, constants)
            rule_id = item.get("id") if isinstance(item, dict) else None
            if isinstance(rule_id, str):
                if rule_id in seen:
                    problems.add(
                        f"$.rules[{n}].id",
                        rule_id,
                        f"used twice (also by $.rules[{seen[rule_id]}])",
                    )
                seen.setdefault(rule_id, n)
            if rule is not None:
                rules.append(rule)
    values = sum(_values(rule) for rule in rules)
    if values > MAX_VALUES:
        problems.add(
            "$.rules",
            f"{values:,} values",
            f"the conditions use at most {MAX_VALUES:,} literal values together "
            "(a constant list counts each value, each time it is used)",
        )
    if problems.items:
        raise RuleSetError(problems.items)
    rules.sort(key=lambda r: (r.priority, r.id))
    return RuleSet(
        id=set_id,
        version=version,
        title_en=title_en,
        title_zh=title_zh,
        rules=tuple(rules),
        constants=constants,
        digest=hashlib.sha256(raw).hexdigest(),
        source=source,
    )


def _values(rule: Rule) -> int:
    """The literal values ``rule``'s condition and date expressions bind when screening runs."""
    trees = [rule.condition]
    trees += [a.start for a in rule.actions if isinstance(a, Quarantine) and a.start is not None]
    return sum(
        len(node.value) if isinstance(node.value, tuple) else 1
        for tree in trees
        for node in walk(tree)
        if isinstance(node, Const)
    )


def load_rule_set(
    path: str | Path,
    *,
    functions: Mapping[str, RuleFunction] | None = None,
    lines: Collection[str] | None = None,
) -> RuleSet:
    """Read and validate the rule set in the TOML file at ``path``."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise RuleSetError(
            [Violation("$", str(file), f"cannot read the rule set: {exc.strerror or exc}")]
        ) from None
    return parse_rule_set(raw, functions=functions, lines=lines, source=str(file))


def builtin_rule_set(
    *,
    functions: Mapping[str, RuleFunction] | None = None,
    lines: Collection[str] | None = None,
) -> RuleSet:
    """The built-in rule set, modelled on the 2020 national protocol (an example to adapt)."""
    raw = (resources.files("gridguard.rules") / BUILTIN_RULE_SET).read_bytes()
    return parse_rule_set(raw, functions=functions, lines=lines, source="builtin")
