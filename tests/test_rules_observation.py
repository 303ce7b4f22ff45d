"""One observation window for every exposure: the order, the flag, the census and the release.

An exposure whose last contact is day 0 is flagged from day 0 to day 14;
its order covers day 1 to day 14 and is released on day 15 (2020 national
protocol, counted in the campaign's local days). These tests draw exposures
of every kind and screening days at random and check that each part of the
system counts the same days, on the memory store, SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gridguard
from gridguard.model import (
    Area,
    AreaLevel,
    Building,
    Campaign,
    Exposure,
    Household,
    OutbreakArea,
    Person,
    Screening,
    Stairwell,
    Trip,
)
from gridguard.model.assessments import Assessment, QuarantineOrder
from gridguard.quarantine import census, release_due
from gridguard.rules import builtin_rule_set, parse_rule_set
from gridguard.rules.observation import ObservationWindow
from gridguard.rules.ruleset import BUILTIN_RULE_SET
from gridguard.screening import screen

ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")
BASE = dt.date(2020, 1, 20)
KINDS = (
    "trip_return",
    "outbreak_area_arrival",
    "confirmed_case",
    "household_member_of_case",
    "contact_of_contact",
)
EXPOSURE_RULES = {"outbreak-area-travel", "close-contact", "contact-of-contact"}
BACKENDS = ("memory", "sqlite", "postgresql")


def _rules() -> Any:
    """The built-in rule set with contacts of contacts observed (the rule set says so)."""
    from importlib import resources

    text = (resources.files("gridguard.rules") / BUILTIN_RULE_SET).read_text("utf-8")
    assert "enabled = false\n" in text
    return parse_rule_set(text.replace("enabled = false\n", ""), source="test")


RULES = _rules()


def world(persons: int) -> list[Any]:
    """One community, one grid, one stairwell; person ``q<n>`` alone in household ``h<n>``."""
    records: list[Any] = [
        Area(id="zs", name="中山市", level=AreaLevel.CITY),
        Area(id="c1", name="华苑社区", level=AreaLevel.COMMUNITY, parent_id="zs"),
        Area(id="g1", name="第一网格", level=AreaLevel.GRID, parent_id="c1"),
        Building(id="b1", area_id="g1", name="牡丹阁3栋"),
        Stairwell(id="s1", building_id="b1", name="1梯", floors=7, doors_per_floor=2),
    ]
    for n in range(persons):
        records.append(
            Household(
                id=f"h{n}", stairwell_id="s1", floor=1 + n, door=f"{n}01", address=f"牡丹阁3栋{n}01"
            )
        )
        records.append(Person(id=f"q{n}", household_id=f"h{n}", name=f"居民{n}"))
    records.append(
        Campaign(
            id="cmp",
            name="华苑 2020",
            scope=("c1",),
            start=dt.date(2020, 1, 1),
            outbreak_areas=(OutbreakArea(name="武汉"),),
        )
    )
    return records


def screening(n: int, kind: str, last_contact: dt.date) -> Screening:
    """Person ``q<n>``'s screening on the day of the contact: a trip back, or an exposure."""
    at = dt.datetime.combine(last_contact, dt.time(12), ZONE)
    if kind == "trip_return":
        return Screening(
            id=uuid.uuid4(),
            at=at,
            person_id=f"q{n}",
            trips=(Trip(destination="武汉", returned=last_contact),),
        )
    return Screening(
        id=uuid.uuid4(),
        at=at,
        person_id=f"q{n}",
        exposures=(Exposure(kind=kind, last_contact=last_contact),),
    )


@contextmanager
def store(backend: str, tmp_path: Path) -> Iterator[Any]:
    """An empty workspace on ``backend`` (PostgreSQL in a schema of its own)."""
    if backend == "postgresql":
        from rules_pg import pg_schema

        with pg_schema() as (url, _), gridguard.open(url) as ws:
            yield ws
        return
    url = "memory://" if backend == "memory" else tmp_path / f"{uuid.uuid4().hex}.db"
    with gridguard.open(url) as ws:
        yield ws


def stored(ws: Any, cls: type[Any]) -> list[Any]:
    with ws.transaction(write=False) as uow:
        return list(uow.find(cls))


def flagged_on(ws: Any, day: dt.date) -> set[str]:
    """Persons an exposure rule fired for on ``day``."""
    return {
        a.person_id
        for a in stored(ws, Assessment)
        if a.day == day and {f.rule_id for f in a.fired} & EXPOSURE_RULES
    }


def noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), ZONE)


exposures = st.lists(
    st.tuples(st.sampled_from(KINDS), st.integers(min_value=0, max_value=17)),
    min_size=1,
    max_size=5,
)
"""(kind, days from the last contact to the first screening run) per person."""


def check_windows(
    ws: Any, cases: list[tuple[str, int]], first: dt.date, later: int
) -> dict[str, Any]:
    """Screen on ``first`` and ``later`` days after, and check every count of days agrees."""
    ws.add(world(len(cases)))
    contacts = {f"q{n}": first - dt.timedelta(days=back) for n, (_, back) in enumerate(cases)}
    kinds = {f"q{n}": kind for n, (kind, _) in enumerate(cases)}
    ws.record([screening(n, kind, contacts[f"q{n}"]) for n, (kind, _) in enumerate(cases)])
    windows = {p: ObservationWindow(c) for p, c in contacts.items()}

    screen(ws, RULES, day=first)
    assert flagged_on(ws, first) == {p for p, w in windows.items() if w.flags(first)}
    orders = {o.person_id: o for o in stored(ws, QuarantineOrder)}
    assert set(orders) == {p for p, w in windows.items() if w.flags(first)}
    for person, order in orders.items():
        window = windows[person]
        assert (order.start, order.last_day, order.end) == (
            window.first_day,
            window.last_day,
            window.release_day,
        )
        assert (order.exposure_kind, order.last_contact) == (kinds[person], contacts[person])

    day = first + dt.timedelta(days=later)
    screen(ws, RULES, day=day)
    flagged = flagged_on(ws, day)
    assert flagged == {p for p, w in windows.items() if w.flags(day)}
    again = {o.person_id: o for o in stored(ws, QuarantineOrder)}
    assert len(again) == len(stored(ws, QuarantineOrder)), "one order per person"
    for person, order in again.items():
        window = windows[person]
        assert (order.start, order.end, order.last_contact) == (
            window.first_day,
            window.release_day,
            contacts[person],
        ), "a run on another day orders the same window"

    (row,) = census(ws, day=day) or [None]
    active = row.active if row is not None else 0
    covered = {p for p, o in again.items() if o.active_on(day)}
    assert active == len(covered)
    assert covered == {p for p in again if windows[p].covers(day)}

    released = {r.person_id for r in release_due(ws, at=noon(day))}
    assert released == {p for p in again if day >= windows[p].release_day}
    # From day 1 on, flagged, under an active order, counted and not released are one thing.
    for person in again:
        if day >= windows[person].first_day:
            assert (person in flagged) == (person in covered) == (person not in released)
    return {p: (o.start, o.end, o.exposure_kind, o.last_contact) for p, o in again.items()}


def _property(backend: str, examples: int) -> Callable[..., None]:
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        cases=exposures,
        first=st.integers(min_value=0, max_value=25).map(lambda d: BASE + dt.timedelta(days=d)),
        later=st.integers(min_value=0, max_value=17),
    )
    def check(tmp_path: Path, cases: list[tuple[str, int]], first: dt.date, later: int) -> None:
        with store(backend, tmp_path) as ws:
            check_windows(ws, cases, first, later)

    return check


test_windows_agree_on_memory = _property("memory", 30)
test_windows_agree_on_sqlite = _property("sqlite", 20)
test_windows_agree_on_postgresql = _property("postgresql", 6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_kind_on_day_zero_day_fourteen_and_day_fifteen(backend: str, tmp_path: Path) -> None:
    """The edges: flagged on the contact day, ordered from the next, released on day 15."""
    for back, later in ((0, 14), (14, 1), (0, 15)):
        with store(backend, tmp_path) as ws:
            cases = [(kind, back) for kind in KINDS]
            check_windows(ws, cases, dt.date(2020, 1, 21) + dt.timedelta(days=back), later)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_trip_and_an_arrival_on_the_same_day_give_the_same_order(
    backend: str, tmp_path: Path
) -> None:
    """Back from Wuhan on 21 January, as a trip or as an exposure, screened on the 31st."""
    with store(backend, tmp_path) as ws:
        ws.add(world(2))
        day = dt.date(2020, 1, 21)
        ws.record([screening(0, "trip_return", day), screening(1, "outbreak_area_arrival", day)])
        screen(ws, builtin_rule_set(), day=dt.date(2020, 1, 31))
        orders = {o.person_id: o for o in stored(ws, QuarantineOrder)}
    trip, arrival = orders["q0"], orders["q1"]
    expected = (dt.date(2020, 1, 22), dt.date(2020, 2, 4), dt.date(2020, 2, 5))
    assert (trip.start, trip.last_day, trip.end) == expected
    assert (arrival.start, arrival.last_day, arrival.end) == expected
    assert (trip.kind, trip.rule_id, trip.last_contact) == (
        arrival.kind,
        arrival.rule_id,
        arrival.last_contact,
    )
    assert (trip.exposure_kind, arrival.exposure_kind) == ("trip_return", "outbreak_area_arrival")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_later_contact_extends_and_an_earlier_one_never_shortens(
    backend: str, tmp_path: Path
) -> None:
    with store(backend, tmp_path) as ws:
        ws.add(world(1))
        ws.record([screening(0, "confirmed_case", dt.date(2020, 1, 21))])
        screen(ws, RULES, day=dt.date(2020, 1, 23))
        (order,) = stored(ws, QuarantineOrder)
        assert order.end == dt.date(2020, 2, 5)
        ws.record([screening(0, "household_member_of_case", dt.date(2020, 1, 25))])
        screen(ws, RULES, day=dt.date(2020, 1, 26))
        (moved,) = stored(ws, QuarantineOrder)
        assert moved.id == order.id, "the active order is extended, not doubled"
        assert (moved.start, moved.end) == (order.start, dt.date(2020, 2, 9))
        assert (moved.exposure_kind, moved.last_contact) == (
            "household_member_of_case",
            dt.date(2020, 1, 25),
        )
        # A screening that reports an earlier contact only: the order keeps its end.
        earlier = screening(0, "confirmed_case", dt.date(2020, 1, 22))
        ws.record([attrs_evolve(earlier, at=noon(dt.date(2020, 1, 27)))])
        screen(ws, RULES, day=dt.date(2020, 1, 27))
        (kept,) = stored(ws, QuarantineOrder)
        assert kept.end == dt.date(2020, 2, 9)
        from gridguard.quarantine import QuarantineExtension

        (extension,) = stored(ws, QuarantineExtension)
        assert (extension.previous_end, extension.new_end) == (
            dt.date(2020, 2, 5),
            dt.date(2020, 2, 9),
        )


def attrs_evolve(record: Any, **changes: Any) -> Any:
    import attrs

    return attrs.evolve(record, **changes)


def test_the_order_days_must_match_the_window_the_rule_flags() -> None:
    from gridguard.rules import RuleSetError

    text = """
id = "t"
version = "1"
title = { en = "t", zh = "t" }
[[rules]]
id = "contact"
title = { en = "c", zh = "c" }
line = "door_to_door"
when = 'any(exposures, kind == "confirmed_case" and within_days(last_contact, 14))'
then = [{ quarantine = "home", days = 10 }]
"""
    with pytest.raises(RuleSetError, match=r"within_days\(\.\.\., 14\)"):
        parse_rule_set(text)
    rule = parse_rule_set(text.replace(", days = 10", "")).rules[0]
    assert rule.actions[0].days == 14, "without days the order takes the flagged window"
