"""The two compilers agree, missing values included; day and fever boundaries hold."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridguard.rules import RuleFunction, RunContext, compile_python, compile_sql, parse_condition
from gridguard.rules.tree import Const, walk
from gridguard.storage.dialect import SQLiteDialect
from rules_strategies import CTX, DAY, conditions, rows, rows_table

SQLITE = SQLiteDialect()


def sql_values(
    condition: str, rows_: list[dict[str, Any]], ctx: RunContext = CTX, **kw: Any
) -> list[Any]:
    node = parse_condition(condition, **kw)
    fragment = compile_sql(node, SQLITE, ctx)
    conn = rows_table(rows_)
    try:
        found = conn.execute(f"SELECT {fragment.sql} FROM rows ORDER BY rowid", fragment.params)
        return [None if v is None else bool(v) for (v,) in found]
    finally:
        conn.close()


def python_values(
    condition: str, rows_: list[dict[str, Any]], ctx: RunContext = CTX, **kw: Any
) -> list[Any]:
    evaluate = compile_python(parse_condition(condition, **kw), ctx)
    return [evaluate(row) for row in rows_]


@given(conditions(), st.lists(rows(), min_size=1, max_size=8))
@settings(max_examples=200)
def test_python_and_sqlite_agree_on_random_conditions_and_rows(
    condition: str, rows_: list[dict[str, Any]]
) -> None:
    assert python_values(condition, rows_) == sql_values(condition, rows_)


@given(conditions())
def test_every_literal_is_a_bind_parameter(condition: str) -> None:
    node = parse_condition(condition)
    fragment = compile_sql(node, SQLITE, CTX)
    for const in (n for n in walk(node) if isinstance(n, Const)):
        values = const.value if isinstance(const.value, tuple) else (const.value,)
        for value in values:
            if isinstance(value, str) and value not in ("True", "False"):
                assert f"'{value}'" not in fragment.sql
                assert value not in fragment.sql
    assert fragment.sql.count("?") == len(fragment.params)


# -- three-valued logic, spelled out -------------------------------------------------------------


def _row(**values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "person_id": "p1",
        "household_id": "h1",
        "stairwell_id": "s1",
        "building_id": "b1",
        "sex": None,
        "residency": "resident",
        "birth_date": None,
        "floor": 1,
        "screened_at": None,
        "temperature": None,
        "symptoms": None,
        "trips": None,
        "exposures": None,
        "quarantined": False,
        "building_anomalies": None,
        "household_anomalies": None,
    }
    base.update(values)
    return base


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("temperature >= 37.3", None),
        ("not (temperature >= 37.3)", None),
        ("temperature >= 37.3 or True", True),
        ("temperature >= 37.3 and False", False),
        ("missing(temperature)", True),
        ("not missing(temperature)", False),
        ('"cough" in symptoms', None),
        ("any(trips, within_days(returned, 14))", None),
        ("count(symptoms) >= 0", None),
        ("temperature in []", None),
        ("not (temperature in [])", None),
    ],
)
def test_a_missing_value_makes_a_test_unknown_in_both(condition: str, expected: Any) -> None:
    row = [_row()]
    assert python_values(condition, row) == [expected]
    assert sql_values(condition, row) == [expected]


def test_unknown_elements_do_not_count_in_list_predicates() -> None:
    trips = ({"destination": "武汉", "departed": None, "returned": None},)
    row = [_row(trips=trips)]
    for condition, expected in [
        ("any(trips, within_days(returned, 14))", False),
        ("all(trips, within_days(returned, 14))", False),
        ("count(trips, within_days(returned, 14)) == 0", True),
        ("any(trips, missing(returned))", True),
    ]:
        assert python_values(condition, row) == [expected], condition
        assert sql_values(condition, row) == [expected], condition


# -- boundaries ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("temperature", "fires"), [(37.2, False), (37.3, True), (37.4, True)])
def test_fever_threshold_37_2_not_37_3_flagged(temperature: float, fires: bool) -> None:
    row = [_row(temperature=temperature)]
    assert python_values("temperature >= 37.3", row) == [fires]
    assert sql_values("temperature >= 37.3", row) == [fires]


@pytest.mark.parametrize(("days_ago", "fires"), [(0, True), (13, True), (14, True), (15, False)])
def test_day_14_flagged_and_day_15_not(days_ago: int, fires: bool) -> None:
    returned = DAY - dt.timedelta(days=days_ago)
    trips = ({"destination": "武汉", "departed": None, "returned": returned},)
    condition = "any(trips, destination in outbreak_areas and within_days(returned, 14))"
    row = [_row(trips=trips)]
    assert python_values(condition, row) == [fires]
    assert sql_values(condition, row) == [fires]
    assert python_values("days_since(latest(trips, returned)) <= 14", row) == [fires]
    assert sql_values("days_since(latest(trips, returned)) <= 14", row) == [fires]


def _at_local(day: dt.date, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    """An instant given as Asia/Shanghai wall-clock time, in UTC."""
    local = dt.datetime(day.year, day.month, day.day, hour, minute, second)
    return (local - dt.timedelta(hours=8)).replace(tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("instant", "fires"),
    [
        (_at_local(DAY - dt.timedelta(days=14), 0, 0, 0), True),  # local midnight starting day 14
        (_at_local(DAY - dt.timedelta(days=15), 23, 59, 59), False),  # a second before it: day 15
        (_at_local(DAY, 23, 59, 59), True),  # the last second of the run's day
        (_at_local(DAY + dt.timedelta(days=1), 0, 0, 0), False),  # tomorrow
    ],
)
def test_within_days_counts_local_days_in_the_campaign_time_zone(
    instant: dt.datetime, fires: bool
) -> None:
    row = [_row(screened_at=instant)]
    assert python_values("within_days(screened_at, 14)", row) == [fires]
    assert sql_values("within_days(screened_at, 14)", row) == [fires]


def test_another_time_zone_moves_the_cut_off() -> None:
    berlin = RunContext(day=DAY, time_zone="Europe/Berlin")
    # 23:30 UTC on day 15 before is 00:30 local in Berlin on day 14: inside there,
    # but 07:30 on day 14 in Shanghai as well; 15:30 UTC the day before is out in both.
    instant = dt.datetime.combine(DAY - dt.timedelta(days=15), dt.time(23, 30), dt.UTC)
    row = [_row(screened_at=instant)]
    assert python_values("within_days(screened_at, 14)", row, berlin) == [True]
    assert sql_values("within_days(screened_at, 14)", row, berlin) == [True]
    early = dt.datetime.combine(DAY - dt.timedelta(days=15), dt.time(22, 30), dt.UTC)
    assert python_values("within_days(screened_at, 14)", [_row(screened_at=early)], berlin) == [
        False
    ]
    assert sql_values("within_days(screened_at, 14)", [_row(screened_at=early)], berlin) == [False]


# -- functions registered by plugins ---------------------------------------------------------------


def _is_febrile(temperature: float | None) -> bool | None:
    return None if temperature is None else temperature >= 37.3


IS_FEBRILE = RuleFunction(
    name="is_febrile",
    python=_is_febrile,
    sql={"sqlite": "({0} >= 37.3)", "postgresql": "({0} >= 37.3)"},
    returns="bool",
)
CLAMP = RuleFunction(
    name="clamp_low",
    python=lambda value, low: None if value is None or low is None else max(value, low),
    sql={"sqlite": "(CASE WHEN {0} < {1} THEN {1} ELSE {0} END)"},
    arity=2,
    returns="number",
)


@pytest.mark.parametrize("temperature", [None, 36.6, 37.3])
def test_plugin_rule_functions_run_in_both_compilers(temperature: float | None) -> None:
    functions = {"is_febrile": IS_FEBRILE, "clamp_low": CLAMP}
    row = [_row(temperature=temperature)]
    for condition in (
        "is_febrile(temperature)",
        "not is_febrile(temperature)",
        "clamp_low(temperature, 37.0) >= 37.0",  # {1} twice in the template: its parameter too
    ):
        assert python_values(condition, row, functions=functions) == sql_values(
            condition, row, functions=functions
        ), condition


def test_a_function_without_sql_for_the_dialect_is_refused_when_compiling() -> None:
    from gridguard.errors import ConfigError

    postgres = pytest.importorskip("gridguard_postgres").PostgresDialect()
    node = parse_condition("clamp_low(temperature, 37.0) > 1", functions={"clamp_low": CLAMP})
    with pytest.raises(ConfigError, match=r"clamp_low.*postgresql"):
        compile_sql(node, postgres, CTX)


def test_postgresql_dialect_uses_its_own_placeholders_and_json_functions() -> None:
    postgres = pytest.importorskip("gridguard_postgres").PostgresDialect()
    node = parse_condition('any(trips, destination in outbreak_areas) and "cough" in symptoms')
    fragment = compile_sql(node, postgres, CTX)
    assert "?" not in fragment.sql
    assert fragment.sql.count("%s") == len(fragment.params)
    assert "jsonb_array_elements" in fragment.sql
    assert "json_each" not in fragment.sql
