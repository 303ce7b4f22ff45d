"""Rules checked once: what loading accepts, screening runs; what it refuses, it says why.

A rule set at every limit (rules, literal values, nesting depth) screens on
SQLite, PostgreSQL and in memory; one past a limit is refused when it is
loaded (``gridguard rules check`` exits 1 with the reason) instead of
failing later inside the database.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from click.testing import CliRunner

import gridguard
from gridguard.cli import main
from gridguard.rules.parse import MAX_DEPTH, depth
from gridguard.rules.ruleset import (
    MAX_LIST_ITEMS,
    MAX_RULE_SET_BYTES,
    MAX_RULES,
    MAX_VALUES,
    RuleSet,
    RuleSetError,
    parse_rule_set,
)
from gridguard.screening import screen
from gridguard.workspace import Workspace
from rules_pg import pg_schema
from test_rules_screening import CAMPAIGN, DAY, facts, place_tree

HEAD = 'id = "limits"\nversion = "1"\ntitle = { en = "limits", zh = "上限" }\n'


def _rule(n: int, when: str, then: str = '{ classify = "low" }') -> str:
    return (
        f'[[rules]]\nid = "r{n}"\ntitle = {{ en = "r", zh = "r" }}\nline = "door_to_door"\n'
        f"when = {json.dumps(when, ensure_ascii=False)}\nthen = [{then}]\n"
    )


def _nested(kind: str, levels: int) -> str:
    """A condition of one shape whose tree is exactly ``levels`` deep."""
    text = "temperature >= 37.3"  # Compare(Field, Const): 2 deep
    if kind == "or":  # (t >= 0 or (t >= 1 or ...)): one level each
        for i in range(levels - 2):
            text = f"(temperature >= {i} or {text})"
    elif kind == "and":
        for i in range(levels - 2):
            text = f"(temperature < {40 + i} and {text})"
    elif kind == "not":
        for _ in range(levels - 2):
            text = f"not ({text})"
    elif kind == "any":  # any(trips, ...): the list, then the predicate over its items
        inner = 'destination == "武汉"'
        for i in range(levels - 3):
            inner = f'(destination == "x{i}" or {inner})'
        text = f"any(trips, {inner})"
    return text


def _set(rules: list[str], constants: str = "") -> str:
    return HEAD + (f"[constants]\n{constants}\n" if constants else "") + "".join(rules)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workspace]:
    with ExitStack() as stack:
        if request.param == "postgresql":
            url, _ = stack.enter_context(pg_schema())
        elif request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'limits.db'}"
        else:
            url = "memory://"
        workspace = stack.enter_context(gridguard.open(url))
        workspace.add(place_tree())
        workspace.record(facts())
        yield workspace


def _screens(ws: Workspace, rule_set: RuleSet) -> int:
    return screen(ws, rule_set, campaign_id=CAMPAIGN, day=DAY).flagged


# -- at the limits: accepted, and screening runs -------------------------------------------------


def test_the_most_rules_screen(ws: Workspace) -> None:
    rules = [_rule(n, f"temperature >= {37 + n / 1000:.3f}") for n in range(MAX_RULES - 10)]
    rules += [
        _rule(n, f"count_in(stairwell, temperature >= {37 + n / 1000:.3f}) >= 1")
        for n in range(MAX_RULES - 10, MAX_RULES)
    ]
    rule_set = parse_rule_set(_set(rules))
    assert len(rule_set.rules) == MAX_RULES
    assert _screens(ws, rule_set) >= 1


def test_the_most_values_screen(ws: Workspace) -> None:
    lists = MAX_VALUES // MAX_LIST_ITEMS
    sizes = [MAX_LIST_ITEMS] * (lists - 1) + [MAX_LIST_ITEMS - 1]  # and the ">= 1" of count_in
    constants = "\n".join(
        f'places{k} = [{", ".join(json.dumps(f"地{k}-{i}") for i in range(size - 1))}, "武汉"]'
        for k, size in enumerate(sizes)
    )
    rules = [_rule(k, f"any(trips, destination in places{k})") for k in range(lists - 1)]
    # The last list goes into a place count, whose SQL is bound twice.
    last = f"count_in(household, any(trips, destination in places{lists - 1})) >= 1"
    rules.append(_rule(lists, last))
    rule_set = parse_rule_set(_set(rules, constants))
    assert _screens(ws, rule_set) >= 1


@pytest.mark.parametrize("kind", ["or", "and", "not", "any"])
def test_the_deepest_conditions_screen(ws: Workspace, kind: str) -> None:
    text = _nested(kind, MAX_DEPTH)
    counted = f"count_in(stairwell, {_nested(kind, MAX_DEPTH - 2)}) >= 1"  # 2 levels more
    rule_set = parse_rule_set(_set([_rule(0, text), _rule(1, counted)]))
    assert [depth(r.condition) for r in rule_set.rules] == [MAX_DEPTH, MAX_DEPTH]
    _screens(ws, rule_set)  # runs: no database error


# -- past the limits: refused when loaded, with the reason ---------------------------------------


def _refused(text: str) -> str:
    with pytest.raises(RuleSetError) as caught:
        parse_rule_set(text)
    return str(caught.value)


def test_one_rule_too_many_is_refused() -> None:
    text = _set([_rule(n, "temperature >= 38") for n in range(MAX_RULES + 1)])
    assert f"at most {MAX_RULES} rules" in _refused(text)


def test_a_constant_list_too_long_is_refused() -> None:
    values = ", ".join(str(i) for i in range(MAX_LIST_ITEMS + 1))
    text = _set([_rule(0, "temperature in big")], f"big = [{values}]")
    message = _refused(text)
    assert "$.constants.big" in message
    assert f"at most {MAX_LIST_ITEMS:,} values" in message


def test_too_many_values_in_all_conditions_are_refused() -> None:
    values = ", ".join(str(i) for i in range(MAX_LIST_ITEMS))
    uses = MAX_VALUES // MAX_LIST_ITEMS + 1
    text = _set([_rule(n, "temperature in big") for n in range(uses)], f"big = [{values}]")
    assert f"at most {MAX_VALUES:,} literal values" in _refused(text)


@pytest.mark.parametrize("kind", ["or", "and", "not", "any"])
def test_a_condition_one_level_too_deep_is_refused(kind: str) -> None:
    message = _refused(_set([_rule(0, _nested(kind, MAX_DEPTH + 1))]))
    assert f"nested {MAX_DEPTH + 1} levels deep; screening runs at most {MAX_DEPTH}" in message


def test_150_nested_ors_are_refused() -> None:
    assert "screening runs at most" in _refused(_set([_rule(0, _nested("or", 152))]))


def test_100000_nested_toml_arrays_are_refused() -> None:
    text = HEAD + "x = " + "[" * 100_000 + "]" * 100_000 + "\n" + _rule(0, "temperature >= 38")
    assert "nested too deeply" in _refused(text)


def test_a_million_constants_or_20000_rules_are_refused_before_reading() -> None:
    values = ", ".join(f'"d{i}"' for i in range(1_000_000))
    big = _set([_rule(0, "any(trips, destination in places)")], f"places = [{values}]")
    assert f"at most {MAX_RULE_SET_BYTES:,} bytes" in _refused(big)
    many = _set([_rule(n, "temperature >= 38") for n in range(20_000)])
    assert "at most" in _refused(many)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (_set([_rule(0, _nested("or", 152))]), "screening runs at most"),
        (HEAD + "x = " + "[" * 100_000 + "]" * 100_000 + "\n", "nested too deeply"),
        (_set([_rule(n, "temperature >= 38") for n in range(MAX_RULES + 1)]), "rules"),
    ],
)
def test_rules_check_exits_1_with_the_reason(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["rules", "check", str(path)])
    assert result.exit_code == 1, result.output
    assert reason in result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, RecursionError)
