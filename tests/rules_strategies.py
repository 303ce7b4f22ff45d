"""Hypothesis strategies for the screening rules: random conditions and random rows.

Conditions are drawn as text from typed building blocks (every field, the
date functions, list predicates, ``in`` with literal lists, ``missing``),
combined with ``and``/``or``/``not``, so that they parse. Rows hold every
field of :data:`gridguard.rules.tree.ROW_FIELDS`, each of them missing
often, with values on the boundaries that matter (37.3 °C, 14 days).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import Any

from hypothesis import strategies as st

from gridguard.rules import RunContext
from gridguard.storage.schema import encode_timestamp

DAY = dt.date(2020, 1, 28)
CTX = RunContext(day=DAY, params={"outbreak_areas": ("武汉", "黄冈")})

TEMPERATURES = (36.5, 37.0, 37.2, 37.3, 37.4, 38.5)
NUMBERS = st.sampled_from((0, 1, 2, 3, 14, 15, 36.5, 37.2, 37.3, 38))
SYMPTOMS = ("cough", "fever", "sore throat", "咳嗽")
PLACES = ("武汉", "广州", "黄冈")
KINDS = ("confirmed_case", "outbreak_area_arrival", "other")
ANOMALY_KINDS = ("stranger", "move_in", "move_out", "symptomatic", "other")
OPS = ("<", "<=", ">", ">=", "==", "!=")


def _dates() -> st.SearchStrategy[dt.date]:
    return st.integers(-20, 3).map(lambda d: DAY + dt.timedelta(days=d))


def _date_literal() -> st.SearchStrategy[str]:
    return _dates().map(lambda d: f'date("{d.isoformat()}")')


def _instants() -> st.SearchStrategy[dt.datetime]:
    """Instants near local midnights (Asia/Shanghai is UTC+8) of the days around ``DAY``."""
    return st.builds(
        lambda days, minutes: (
            dt.datetime(2020, 1, 27, 16, 0, tzinfo=dt.UTC)
            + dt.timedelta(days=days, minutes=minutes)
        ),
        st.integers(-16, 1),
        st.sampled_from((-1, 0, 1, 600)),
    )


def _trip_predicates() -> st.SearchStrategy[str]:
    return st.one_of(
        st.just("destination in outbreak_areas"),
        st.sampled_from(PLACES).map(lambda p: f'destination == "{p}"'),
        st.integers(0, 20).map(lambda n: f"within_days(returned, {n})"),
        st.tuples(st.sampled_from(OPS), _date_literal()).map(lambda t: f"returned {t[0]} {t[1]}"),
        st.just("missing(departed)"),
        st.just("days_between(departed, returned) >= 2"),
    )


def _exposure_predicates() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(KINDS).map(lambda k: f'kind == "{k}"'),
        st.integers(0, 20).map(lambda n: f"within_days(last_contact, {n})"),
        st.just('kind in ["confirmed_case", "other"]'),
    )


def _anomaly_predicates() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(ANOMALY_KINDS).map(lambda k: f'kind == "{k}"'),
        st.integers(0, 16).map(lambda n: f"within_days(day, {n})"),
        st.tuples(st.sampled_from(OPS), st.integers(0, 3)).map(lambda t: f"count {t[0]} {t[1]}"),
        st.just('kind in ["move_in", "stranger"] and within_days(day, 3)'),
        st.just("missing(household_id)"),
    )


def _leaves() -> st.SearchStrategy[str]:
    numbers = NUMBERS.map(str)
    return st.one_of(
        st.tuples(st.sampled_from(OPS), st.sampled_from(TEMPERATURES)).map(
            lambda t: f"temperature {t[0]} {t[1]}"
        ),
        st.tuples(st.sampled_from(OPS), numbers).map(lambda t: f"floor {t[0]} {t[1]}"),
        st.sampled_from(SYMPTOMS).map(lambda s: f'"{s}" in symptoms'),
        st.sampled_from(SYMPTOMS).map(lambda s: f'"{s}" not in symptoms'),
        st.just('residency in ["resident", "tenant"]'),
        st.just('residency not in ["visitor"]'),
        st.just("temperature in [37.3, 38.5]"),
        st.just("temperature in []"),
        st.just('sex == "male"'),
        st.just('sex != "female"'),
        st.sampled_from(("temperature", "symptoms", "trips", "sex", "birth_date")).map(
            lambda f: f"missing({f})"
        ),
        st.just("present(screened_at)"),
        st.integers(0, 16).map(lambda n: f"within_days(screened_at, {n})"),
        st.integers(0, 16).map(lambda n: f"within_days(birth_date, {n})"),
        st.tuples(st.sampled_from(OPS), numbers).map(
            lambda t: f"days_since(birth_date) {t[0]} {t[1]}"
        ),
        st.tuples(st.sampled_from(("any", "all")), _trip_predicates()).map(
            lambda t: f"{t[0]}(trips, {t[1]})"
        ),
        st.tuples(st.sampled_from(("any", "all")), _exposure_predicates()).map(
            lambda t: f"{t[0]}(exposures, {t[1]})"
        ),
        st.tuples(
            st.sampled_from(("any", "all")),
            st.sampled_from(("building_anomalies", "household_anomalies")),
            _anomaly_predicates(),
        ).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        st.tuples(
            st.sampled_from(("building_anomalies", "household_anomalies")),
            _anomaly_predicates(),
            st.integers(0, 2),
        ).map(lambda t: f"count({t[0]}, {t[1]}) >= {t[2]}"),
        st.tuples(st.sampled_from(OPS), _date_literal()).map(
            lambda t: f"latest(building_anomalies, day) {t[0]} {t[1]}"
        ),
        st.sampled_from(SYMPTOMS).map(lambda s: f'any(symptoms, it == "{s}")'),
        st.just('all(symptoms, it in ["cough", "fever"])'),
        st.tuples(st.sampled_from(OPS), st.integers(0, 2)).map(
            lambda t: f"count(symptoms) {t[0]} {t[1]}"
        ),
        st.tuples(_exposure_predicates(), st.integers(0, 2)).map(
            lambda t: f"count(exposures, {t[0]}) >= {t[1]}"
        ),
        st.tuples(st.sampled_from(OPS), _date_literal()).map(
            lambda t: f"latest(trips, returned) {t[0]} {t[1]}"
        ),
        st.tuples(st.sampled_from(TEMPERATURES), st.sampled_from(TEMPERATURES)).map(
            lambda t: f"between(temperature, {t[0]}, {t[1]})"
        ),
        st.tuples(st.sampled_from(TEMPERATURES), st.sampled_from(TEMPERATURES)).map(
            lambda t: f"{t[0]} <= temperature < {t[1]}"
        ),
        st.just("True"),
        st.just("False"),
    )


def conditions() -> st.SearchStrategy[str]:
    """Condition texts that parse: leaves combined with and, or, not."""
    return st.recursive(
        _leaves(),
        lambda inner: st.one_of(
            st.tuples(inner, inner).map(lambda t: f"({t[0]}) and ({t[1]})"),
            st.tuples(inner, inner).map(lambda t: f"({t[0]}) or ({t[1]})"),
            inner.map(lambda t: f"not ({t})"),
        ),
        max_leaves=6,
    )


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


def _trips() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "destination": st.sampled_from(PLACES),
            "departed": _maybe(_dates()),
            "returned": _maybe(_dates()),
        }
    )


def _exposures() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"kind": st.sampled_from(KINDS), "last_contact": _dates(), "note": st.just("")}
    )


def _anomalies() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "kind": st.sampled_from(ANOMALY_KINDS),
            "count": st.integers(1, 3),
            "note": st.just(""),
            "household_id": _maybe(st.just("h1")),
            "day": _dates(),
        }
    )


def rows() -> st.SearchStrategy[dict[str, Any]]:
    """A row as the screening run builds it, missing values included."""
    return st.fixed_dictionaries(
        {
            "person_id": st.just("p1"),
            "household_id": st.just("h1"),
            "stairwell_id": st.just("s1"),
            "building_id": st.just("b1"),
            "sex": _maybe(st.sampled_from(("male", "female"))),
            "residency": st.sampled_from(("resident", "tenant", "visitor")),
            "birth_date": _maybe(_dates()),
            "floor": st.integers(-1, 8),
            "screened_at": _maybe(_instants()),
            "temperature": _maybe(st.sampled_from(TEMPERATURES)),
            "symptoms": _maybe(
                st.lists(st.sampled_from(SYMPTOMS), max_size=2, unique=True).map(tuple)
            ),
            "trips": _maybe(st.lists(_trips(), max_size=2).map(tuple)),
            "exposures": _maybe(st.lists(_exposures(), max_size=2).map(tuple)),
            "quarantined": st.booleans(),
            "building_anomalies": _maybe(st.lists(_anomalies(), max_size=3).map(tuple)),
            "household_anomalies": _maybe(st.lists(_anomalies(), max_size=2).map(tuple)),
        }
    )


COLUMNS = (
    "person_id",
    "household_id",
    "stairwell_id",
    "building_id",
    "sex",
    "residency",
    "birth_date",
    "floor",
    "screened_at",
    "temperature",
    "symptoms",
    "trips",
    "exposures",
    "quarantined",
    "building_anomalies",
    "household_anomalies",
)


def _encode(name: str, value: Any) -> Any:
    """A row value as the database stores it (dates ISO text, lists JSON, times UTC text)."""
    if value is None:
        return None
    if name == "screened_at":
        return encode_timestamp(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return json.dumps(
            [
                {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in item.items()}
                if isinstance(item, dict)
                else item
                for item in value
            ],
            ensure_ascii=False,
        )
    return value


def rows_table(rows_: list[dict[str, Any]]) -> sqlite3.Connection:
    """A SQLite table ``rows`` holding ``rows_`` encoded as the screening query sees them."""
    conn = sqlite3.connect(":memory:")
    conn.execute(f"CREATE TABLE rows ({', '.join(f'{c!r}' for c in COLUMNS)})")
    marks = ", ".join("?" for _ in COLUMNS)
    conn.executemany(
        f"INSERT INTO rows VALUES ({marks})",
        [tuple(_encode(c, row[c]) for c in COLUMNS) for row in rows_],
    )
    return conn
