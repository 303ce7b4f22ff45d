"""Rule sets in TOML: the built-in set, and every kind of bad file refused whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridguard.model.assessments import QuarantineKind, RiskLevel, TaskKind
from gridguard.rules import RuleFunction, RuleSetError, builtin_rule_set, load_rule_set
from gridguard.rules.ruleset import Classify, Notify, Quarantine, TaskAction, parse_rule_set

GOOD = """
id = "test-rules"
version = "3"
title = { en = "Test rules", zh = "测试规则" }

[constants]
fever = 37.3

[[rules]]
id = "fever"
title = { en = "Fever", zh = "发热" }
line = "door_to_door"
priority = 2
when = "temperature >= fever"
then = [{ classify = "medium" }, { notify = ["community_doctor"] }]

[[rules]]
id = "travel"
title = { en = "Travel", zh = "旅居史" }
line = "door_to_door"
priority = 1
when = "any(trips, destination in outbreak_areas and within_days(returned, 14))"
then = [
  { classify = "high" },
  { quarantine = "home", days = 14, from = "latest(trips, returned)" },
  { task = "delivery", for = "household", within_hours = 12 },
]
"""


def test_a_good_rule_set_loads_sorted_by_priority() -> None:
    rules = parse_rule_set(GOOD)
    assert (rules.id, rules.version, rules.title_zh) == ("test-rules", "3", "测试规则")
    assert [r.id for r in rules] == ["travel", "fever"]
    travel = rules.rule("travel")
    assert travel.actions[0] == Classify(RiskLevel.HIGH)
    assert isinstance(travel.actions[1], Quarantine)
    assert travel.actions[1].kind is QuarantineKind.HOME
    assert travel.actions[2] == TaskAction(TaskKind.DELIVERY, 12, "household", "")
    assert rules.rule("fever").actions[1] == Notify(("community_doctor",))
    assert len(rules.digest) == 64


def test_the_builtin_rule_set_follows_the_2020_protocol() -> None:
    rules = builtin_rule_set()
    assert {r.id for r in rules} == {
        "outbreak-area-travel",
        "close-contact",
        "fever",
        "respiratory-symptoms",
        "household-member-quarantined",
        "stairwell-cluster",
    }
    assert rules.constants["fever_threshold"].value == 37.3
    assert rules.constants["observation_days"].value == 14
    assert [r.id for r in rules if r.is_escalation] == [
        "household-member-quarantined",
        "stairwell-cluster",
    ]
    assert all(r.title_en and r.title_zh for r in rules)


def _problems(text: str, **kw: object) -> list[str]:
    with pytest.raises(RuleSetError) as caught:
        parse_rule_set(text, **kw)  # type: ignore[arg-type]
    return [str(v) for v in caught.value.violations]


def test_bad_toml_is_refused_with_its_position() -> None:
    (problem,) = _problems('id = "x"\nversion = \n')
    assert "not valid TOML" in problem
    assert "line 2" in problem


def test_every_problem_is_reported_at_once() -> None:
    text = (
        GOOD.replace("temperature >= fever", "temprature >= fever")
        .replace('{ classify = "medium" }', '{ clasify = "medium" }')
        .replace('line = "door_to_door"\npriority = 1', 'line = "door_too_door"\npriority = 1')
    )
    problems = _problems(text)
    assert len(problems) == 3
    assert any("unknown field 'temprature'; did you mean 'temperature'?" in p for p in problems)
    assert any("unknown action 'clasify'; did you mean 'classify'?" in p for p in problems)
    assert any("unknown line of defense; did you mean 'door_to_door'?" in p for p in problems)
    assert any(p.startswith("$.rules[0].when: rule 'fever', line 1 column 1") for p in problems)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('version = "3"\n', ""), "$.version: required"),
        (('id = "fever"', 'id = "travel"'), "used twice"),
        (("priority = 2", 'priority = "high"'), "must be a whole number"),
        (
            ('{ classify = "medium" }', '{ classify = "severe" }'),
            "must be one of: low, medium, high",
        ),
        (("days = 14", "days = 0"), "whole number from 1 to 365"),
        (('from = "latest(trips, returned)"', 'from = "temperature"'), "'from' must be a date"),
        (('quarantine = "home"', 'quarantine = "hotel"'), "must be one of: home, central"),
        (('task = "delivery"', 'task = "deliver"'), "did you mean 'delivery'?"),
        (('["community_doctor"]', '["mayor"]'), "must be one of"),
        (('title = { en = "Fever", zh = "发热" }', 'title = "Fever"'), "give both languages"),
        (("temperature >= fever", "temperature >= 'high'"), "can never be true"),
        (("[constants]", "[constant]"), "unknown key 'constant'; did you mean 'constants'?"),
        (
            ('then = [{ classify = "medium" }, { notify = ["community_doctor"] }]', ""),
            "then: required",
        ),
    ],
)
def test_bad_rule_sets_are_refused(change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in GOOD
    problems = _problems(GOOD.replace(old, new, 1))
    assert any(message in p for p in problems), problems


def test_a_rule_set_without_rules_is_refused() -> None:
    assert any("at least one [[rules]]" in p for p in _problems('id = "x"\nversion = "1"\n'))


def test_rule_functions_of_plugins_are_known_to_the_loader() -> None:
    text = GOOD.replace("temperature >= fever", "is_febrile(temperature)")
    assert any("unknown function 'is_febrile'" in p for p in _problems(text))
    febrile = RuleFunction(
        name="is_febrile",
        python=lambda t: None if t is None else t >= 37.3,
        sql={"sqlite": "({0} >= 37.3)"},
    )
    rules = parse_rule_set(text, functions={"is_febrile": febrile})
    assert rules.rule("fever").when == "is_febrile(temperature)"


def test_lines_of_defense_come_from_the_registry() -> None:
    text = GOOD.replace('line = "door_to_door"', 'line = "health_monitoring_point"')
    assert any("unknown line of defense" in p for p in _problems(text))
    assert parse_rule_set(text, lines=["door_to_door", "health_monitoring_point"])


def test_load_rule_set_reads_a_file_and_names_it(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(GOOD, encoding="utf-8")
    assert load_rule_set(path).source == str(path)
    with pytest.raises(RuleSetError, match="cannot read the rule set"):
        load_rule_set(tmp_path / "missing.toml")
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(RuleSetError, match="not UTF-8"):
        load_rule_set(path)
