"""The text front end: what it accepts, what it refuses, and how it says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridguard.errors import ValidationError
from gridguard.rules import ConditionError, RunContext, compile_python, parse_condition
from gridguard.rules.tree import And, Compare, Const, Field, ListAny, Member, Not, Or, PlaceCount
from rules_strategies import DAY


def test_a_condition_becomes_a_typed_tree() -> None:
    node = parse_condition('temperature >= 37.3 or "cough" in symptoms')
    assert node == Or(
        (
            Compare(">=", Field("temperature", "number"), Const(37.3, "number")),
            Member(Const("cough", "text"), Field("symptoms", "list<text>")),
        )
    )


def test_chained_comparisons_and_negation() -> None:
    node = parse_condition("not 36 <= temperature < 37.3")
    assert isinstance(node, Not)
    assert isinstance(node.operand, And)
    assert len(node.operand.operands) == 2


def test_conditions_may_span_lines() -> None:
    node = parse_condition('temperature >= 37.3\nor "cough" in symptoms\n')
    assert isinstance(node, Or)


def test_count_in_reads_a_place_level_and_others() -> None:
    node = parse_condition("count_in(household, quarantined, others=True) >= 1")
    assert isinstance(node, Compare)
    assert node.left == PlaceCount("household", Field("quarantined", "bool"), True)


def test_list_predicates_see_the_element_fields() -> None:
    node = parse_condition(
        "any(trips, destination in outbreak_areas and within_days(returned, 14))"
    )
    assert isinstance(node, ListAny)


HOSTILE = [
    ("__import__('os').system('touch {marker}')", "attribute access"),
    ("__import__('os')", "names starting with '_'"),
    ("open('{marker}', 'w')", "unknown function 'open'"),
    ("eval('1')", "unknown function 'eval'"),
    ("temperature.__class__", "attribute access"),
    ("symptoms.append('x')", "attribute access"),
    ("().__class__.__bases__[0].__subclasses__()", "attribute access"),
    ("[x for x in symptoms]", "comprehensions"),
    ("any(x == 1 for x in symptoms)", "comprehensions"),
    ("(lambda: 1)()", "lambdas"),
    ("lambda x: True", "lambdas"),
    ("symptoms[0] == 'cough'", "subscripts"),
    ("temperature + 1 > 38", "arithmetic"),
    ("(x := 1) == 1", "assignment expressions"),
    ("f'{temperature}' == '1'", "f-strings"),
    ("{'a': 1} == 1", "dictionaries"),
]


@pytest.mark.parametrize(("text", "reason"), HOSTILE)
def test_hostile_conditions_are_refused_before_anything_runs(
    tmp_path: Path, text: str, reason: str
) -> None:
    marker = tmp_path / "ran"
    with pytest.raises(ConditionError) as caught:
        parse_condition(text.replace("{marker}", str(marker)), rule_id="evil")
    assert reason in str(caught.value)
    assert "rule 'evil'" in str(caught.value)
    assert not marker.exists()


def test_an_unknown_field_is_named_with_its_position_and_a_suggestion() -> None:
    with pytest.raises(ConditionError) as caught:
        parse_condition('"cough" in symptoms or temprature >= 37.3', rule_id="fever")
    error = caught.value
    assert (error.rule_id, error.line, error.column, error.name) == ("fever", 1, 24, "temprature")
    assert "did you mean 'temperature'?" in str(error)
    assert isinstance(error, ValidationError)


def test_positions_count_characters_on_the_right_line() -> None:
    with pytest.raises(ConditionError) as caught:
        parse_condition('"咳嗽" in symptoms\nor tempratur >= 37.3', rule_id="r")
    assert (caught.value.line, caught.value.column) == (2, 4)


def test_a_syntax_error_has_a_position() -> None:
    with pytest.raises(ConditionError, match="syntax error") as caught:
        parse_condition("temperature >= ", rule_id="r")
    assert caught.value.line == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('temperature >= "high"', "can never be true: comparing a number with a text"),
        ('returned_date == "2020-01-20"', "unknown field"),
        ('birth_date >= "2020-01-20"', 'write a date as date("2020-01-23")'),
        ("37.3 in symptoms", "can never be true: looking for a number in a list of text"),
        ('"x" in temperature', "'in' needs a list"),
        ("temperature", "must be true or false"),
        ("symptoms == trips", "a list cannot be compared"),
        ("quarantined", "only inside count_in"),
        ("count_in(flat, True) > 1", "needs a place level"),
        ("any(trips, count_in(household, True) > 1)", "inside a list predicate"),
        ("any(trips, any(symptoms, True))", "cannot be nested"),
        ("days_since(screened_at) > 3", "use within_days(screened_at, n) for times"),
        ("within_days(returned, x)", "unknown field"),
        ("within_days(birth_date, 1.5)", "whole number of days"),
        ('date("2020-13-01") > birth_date', "not a date"),
        ("temperature >= None", "use missing(field)"),
        ("any(trips)", "takes 2 argument(s)"),
        ("temperature is None", "use missing(x) or present(x)"),
        ('"cough" in [1, "a"]', "values of one type"),
        ("missing(__builtins__)", "names starting with '_'"),
        ("count(temperature) > 1", "needs a list field"),
    ],
)
def test_type_errors_are_refused_at_load_time(text: str, message: str) -> None:
    with pytest.raises(ConditionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_condition(text, rule_id="r")


def test_an_overlong_condition_is_refused() -> None:
    with pytest.raises(ConditionError, match="at most"):
        parse_condition(" or ".join(["temperature > 37"] * 400))


def test_a_deeply_nested_condition_is_refused_not_crashed() -> None:
    with pytest.raises(ConditionError):
        parse_condition("not " * 1500 + "True")


def test_constants_and_parameters_are_values() -> None:
    threshold = Const(37.3, "number")
    node = parse_condition("temperature >= fever", constants={"fever": threshold})
    assert node == Compare(">=", Field("temperature", "number"), threshold)
    evaluate = compile_python(node, RunContext(day=DAY))
    assert evaluate({"temperature": 37.3}) is True
