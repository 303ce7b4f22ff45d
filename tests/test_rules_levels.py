"""Counts at every level: grids, communities and any area level, and counts of smaller places.

``count_in(grid, flagged) > 3`` is how a street office spots a cluster;
``count_in(stairwell, flagged, per=household)`` counts households with at
least one flagged member. The Python path (memory store) and the SQL path
(SQLite, PostgreSQL) must agree on every count, for random screenings and
random count rules, and on the demo's data.
"""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gridguard
from gridguard import Area, AreaLevel, Building, Campaign, Household, OutbreakArea, Person
from gridguard.model import Screening, Stairwell, Trip
from gridguard.rules import (
    Assessment,
    ConditionError,
    QuarantineOrder,
    Task,
    parse_condition,
    parse_rule_set,
)
from gridguard.rules.tree import LEVEL_ORDER, PlaceCount
from gridguard.screening import screen

CAMPAIGN = "c1-2020"
DAY = dt.date(2020, 1, 29)

PERSONS = {
    # grid g1, building b1
    "p1": "h1",
    "p2": "h1",
    "p3": "h2",
    "p4": "h3",
    "p5": "h3",
    # grid g2, building b2
    "p6": "h4",
    "p7": "h4",
    "p8": "h5",
    # compound k1 in grid g2, building b4
    "p11": "h7",
    # building b3 straight under the community: in no grid
    "p9": "h6",
    "p10": "h6",
}


def tree() -> list[Any]:
    """Community c1 with grids g1 and g2 (compound k1 inside g2) and a building in no grid."""
    households = {
        "h1": "s1",
        "h2": "s1",
        "h3": "s2",
        "h4": "s3",
        "h5": "s3",
        "h6": "s4",
        "h7": "s5",
        "h99": "s99",
    }
    return [
        Area(id="zs", name="中山市", level=AreaLevel.CITY),
        Area(id="c1", name="华苑社区", level=AreaLevel.COMMUNITY, parent_id="zs"),
        Area(id="c2", name="库充社区", level=AreaLevel.COMMUNITY, parent_id="zs"),
        Area(id="g1", name="第一网格", level=AreaLevel.GRID, parent_id="c1"),
        Area(id="g2", name="第二网格", level=AreaLevel.GRID, parent_id="c1"),
        Area(id="k1", name="百苑新村", level=AreaLevel.COMPOUND, parent_id="g2"),
        Area(id="g9", name="库充网格", level=AreaLevel.GRID, parent_id="c2"),
        Building(id="b1", area_id="g1", name="牡丹阁3栋"),
        Building(id="b2", area_id="g2", name="芙蓉阁1栋"),
        Building(id="b3", area_id="c1", name="老街5号"),
        Building(id="b4", area_id="k1", name="百苑新村2栋"),
        Building(id="b99", area_id="g9", name="库充1栋"),
        *(
            Stairwell(id=s, building_id=b, name="1梯", floors=7, doors_per_floor=2)
            for s, b in (("s1", "b1"), ("s2", "b1"), ("s3", "b2"), ("s4", "b3"), ("s5", "b4"))
        ),
        Stairwell(id="s99", building_id="b99", name="1梯", floors=7, doors_per_floor=2),
        *(
            Household(id=h, stairwell_id=s, floor=1, door=h, address=f"{h} 号")
            for h, s in households.items()
        ),
        *(Person(id=p, household_id=h, name=f"居民{p}") for p, h in PERSONS.items()),
        Person(id="p99", household_id="h99", name="outside the scope"),
        Campaign(
            id=CAMPAIGN,
            name="华苑社区一级响应",
            scope=("c1",),
            start=dt.date(2020, 1, 25),
            outbreak_areas=(OutbreakArea(name="武汉"),),
        ),
    ]


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), dt.UTC) - dt.timedelta(hours=8)


@st.composite
def screenings(draw: st.DrawFn) -> list[Screening]:
    out = []
    for person in draw(st.lists(st.sampled_from([*PERSONS, "p99"]), max_size=10, unique=True)):
        back = draw(st.one_of(st.none(), st.integers(0, 20)))
        trips = (
            [] if back is None else [Trip(destination="武汉", returned=DAY - dt.timedelta(back))]
        )
        out.append(
            Screening(
                id=uuid.uuid4(),
                person_id=person,
                at=_at(DAY - dt.timedelta(days=draw(st.integers(0, 3))), 10),
                trips=trips,
                temperature=draw(st.one_of(st.none(), st.sampled_from((36.6, 37.3, 38.0)))),
            )
        )
    return out


PREDICATES = (
    "flagged",
    "quarantined",
    "not flagged",
    "temperature >= 37.3",
    "present(temperature)",
)


@st.composite
def counts(draw: st.DrawFn, nested: bool) -> str:
    """``count_in(...)`` at a random level, ``per=`` or ``others=``, maybe with a count inside."""
    level = draw(st.sampled_from(LEVEL_ORDER))
    finer = LEVEL_ORDER[: LEVEL_ORDER.index(level)]
    per = draw(st.one_of(st.none(), st.sampled_from(finer))) if finer else None
    extra = f", per={per}" if per else ", others=True" if draw(st.booleans()) else ""
    if nested and draw(st.booleans()):
        inner = draw(counts(nested=False))
        predicate = f"{inner} >= {draw(st.integers(1, 2))}"
    else:
        predicate = draw(st.sampled_from(PREDICATES))
    return f"count_in({level}, {predicate}{extra})"


@st.composite
def count_rules(draw: st.DrawFn) -> str:
    """A rule set: two person-level rules and two random count rules at random levels."""
    rules = [
        'id = "levels"',
        'version = "1"',
        'title = { en = "Levels", zh = "层级" }',
        "[[rules]]",
        'id = "fever"',
        'title = { en = "Fever", zh = "发热" }',
        'line = "door_to_door"',
        'when = "temperature >= 37.3"',
        'then = [{ classify = "medium" }]',
        "[[rules]]",
        'id = "back"',
        'title = { en = "Back", zh = "返回" }',
        'line = "door_to_door"',
        'when = "any(trips, destination in outbreak_areas and within_days(returned, 14))"',
        'then = [{ classify = "high" }, { quarantine = "home" }]',
    ]
    for n in range(2):
        count = draw(counts(nested=True))
        op = draw(st.sampled_from((">=", ">", "==")))
        threshold = draw(st.integers(0, 3))
        rules += [
            "[[rules]]",
            f'id = "count-{n}"',
            'title = { en = "Count", zh = "计数" }',
            'line = "building_watch"',
            f'when = "{count} {op} {threshold}"',
            'then = [{ classify = "low" }]',
        ]
    return "\n".join(rules)


def outcome(url: str, facts: list[Screening], text: str) -> tuple[Any, ...]:
    with gridguard.open(url) as ws:
        ws.add(tree())
        ws.record(facts)
        screen(ws, parse_rule_set(text), campaign_id=CAMPAIGN, day=DAY)
        with ws.transaction(write=False) as uow:
            assessments = sorted(
                (a.person_id, tuple((f.rule_id, f.why) for f in a.fired))
                for a in uow.find(Assessment)
            )
            return (
                assessments,
                sorted((o.person_id, o.start, o.end) for o in uow.find(QuarantineOrder)),
                sorted(t.id for t in uow.find(Task)),
            )


@given(facts=screenings(), text=count_rules())
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_memory_and_sqlite_count_alike_at_every_level(
    tmp_path: Path, facts: list[Screening], text: str
) -> None:
    db = tmp_path / f"levels-{uuid.uuid4().hex}.db"
    assert outcome("memory://", facts, text) == outcome(f"sqlite:///{db}", facts, text)


@given(facts=screenings(), text=count_rules())
@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_memory_and_postgresql_count_alike_at_every_level(
    facts: list[Screening], text: str
) -> None:
    from rules_pg import pg_schema

    with pg_schema() as (url, _):
        assert outcome("memory://", facts, text) == outcome(url, facts, text)


GRID_RULES = """
id = "street-office"
version = "1"
title = { en = "Street office clusters", zh = "街道聚集性监测" }

[[rules]]
id = "fever"
title = { en = "Fever", zh = "发热" }
line = "door_to_door"
when = "temperature >= 37.3"
then = [{ classify = "medium" }]

[[rules]]
id = "grid-cluster"
title = { en = "More than 3 flagged persons in the grid today", zh = "网格内当日标记人员超过3人" }
line = "building_watch"
when = "count_in(grid, flagged) > 3"
then = [{ classify = "low" }]

[[rules]]
id = "stairwell-households"
title = { en = "Two households of the stairwell flagged", zh = "同楼梯2户及以上有标记人员" }
line = "building_watch"
when = "count_in(stairwell, flagged, per=household) >= 2"
then = [{ classify = "low" }]
"""


def test_the_counts_read_as_a_street_office_means_them(tmp_path: Path) -> None:
    """Fevers: three in grid g1 (two households of s1), one in g2, two in no grid."""
    fevers = ["p1", "p3", "p4", "p6", "p9", "p10"]
    facts = [
        Screening(id=uuid.uuid4(), person_id=p, at=_at(DAY, 9), temperature=38.0) for p in fevers
    ]
    facts.append(Screening(id=uuid.uuid4(), person_id="p2", at=_at(DAY, 9), temperature=36.5))
    rules = GRID_RULES.replace("> 3", "> 2")
    for url in ("memory://", f"sqlite:///{tmp_path / 'g.db'}"):
        assessments = {person: dict(fired) for person, fired in outcome(url, facts, rules)[0]}
        in_g1 = {"p1", "p2", "p3", "p4", "p5"}
        grid = {p for p, fired in assessments.items() if "grid-cluster" in fired}
        assert grid == in_g1, "three flagged in g1; g2 has one; b3 is in no grid"
        assert assessments["p2"]["grid-cluster"] == "count_in(grid) = 3"
        stairwell = {p for p, fired in assessments.items() if "stairwell-households" in fired}
        assert stairwell == {"p1", "p2", "p3"}, "s1: households h1 and h2 have a fever"
        assert assessments["p3"]["stairwell-households"] == "count_in(stairwell, per=household) = 2"


def test_nested_counts_count_what_they_say(tmp_path: Path) -> None:
    """Persons of the stairwell whose household has a fever; stairwells of the grid with two."""
    facts = [
        Screening(id=uuid.uuid4(), person_id=p, at=_at(DAY, 9), temperature=38.0)
        for p in ("p1", "p3", "p6")
    ]
    text = GRID_RULES.replace(
        "count_in(stairwell, flagged, per=household) >= 2",
        "count_in(stairwell, count_in(household, flagged) >= 1) >= 2",
    ).replace(
        "count_in(grid, flagged) > 3",
        "count_in(grid, count_in(stairwell, flagged, per=household) >= 2, per=stairwell) >= 1",
    )
    for url in ("memory://", f"sqlite:///{tmp_path / 'n.db'}"):
        fired = {p: dict(f) for p, f in outcome(url, facts, text)[0]}
        grid = {p for p, f in fired.items() if "grid-cluster" in f}
        assert grid == {"p1", "p2", "p3", "p4", "p5"}, "g1's s1 has two households with a fever"
        assert fired["p4"]["grid-cluster"] == "count_in(grid, per=stairwell) = 1"
        stairwell = {p for p, f in fired.items() if "stairwell-households" in f}
        # s1: p1, p2 (h1) and p3 (h2) live with a fever; s3: p6, p7 (h4), but p8 (h5) does not.
        assert stairwell == {"p1", "p2", "p3", "p6", "p7", "p8"}
        assert fired["p8"]["stairwell-households"] == "count_in(stairwell) = 2"


def test_count_in_reads_levels_per_and_flagged() -> None:
    node = parse_condition("count_in(community, flagged, per=household) >= 2")
    (count,) = [n for n in _walk(node) if isinstance(n, PlaceCount)]
    assert (count.level, count.per, count.others) == ("community", "household", False)
    assert parse_condition("count_in(grid, quarantined, others=True) > 3") is not None
    nested = parse_condition("count_in(grid, count_in(household, flagged) >= 1, per=household) > 3")
    assert [(n.level, n.per) for n in _walk(nested) if isinstance(n, PlaceCount)] == [
        ("grid", "household"),
        ("household", None),
    ]
    for text, message in [
        ("count_in(grid, flagged, per=community) > 1", "per=community must be a smaller place"),
        ("count_in(grid, flagged, per=household, others=True) > 1", "not both"),
        ("flagged", "'flagged' may be used only inside count_in"),
        ("count_in(gird, flagged) > 1", "did you mean 'grid'"),
        ("count_in(grid, flagged, per=stairwel) > 1", "did you mean 'stairwell'"),
        ("any(trips, count_in(grid, flagged) > 1)", "inside a list predicate"),
    ]:
        with pytest.raises(ConditionError, match=message):
            parse_condition(text)


def _walk(node: Any) -> Any:
    from gridguard.rules.tree import walk

    return walk(node)


def test_more_than_three_flagged_in_the_grid_runs_on_the_demo_and_python_and_sql_agree(
    huayuan_demo: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    """The street office's rule on the demo's SQLite store, both paths over the same rows."""
    from gridguard.rules.context import RunContext
    from gridguard.screening._run import _jurisdictions, _Plan, _python_rows, _sql_rows
    from gridguard.storage.dialect import SQLiteDialect

    summary, db = huayuan_demo
    copy = tmp_path / "huayuan.db"
    shutil.copy(db, copy)
    day = dt.date.fromisoformat(summary["screening_day"])
    rules = parse_rule_set(GRID_RULES)
    plan = _Plan.of(rules)
    with gridguard.open(copy) as ws:
        with ws.transaction(write=False) as uow:
            (campaign,) = uow.find(Campaign)
            ctx = RunContext.for_campaign(campaign, day)
            scope = _jurisdictions(uow, campaign)

            def flagged(rows: Any) -> dict[str, tuple[Any, ...]]:
                return {
                    row["person_id"]: (
                        sorted(r.id for r in fired),
                        row.get("#count_in:0"),
                        row.get("#count_in:1"),
                    )
                    for row, fired in rows
                }

            in_python = flagged(_python_rows(uow, plan, ctx, scope, None))
            in_sql = flagged(_sql_rows(uow, plan, SQLiteDialect(), ctx, scope, None))
        assert in_python == in_sql
        clusters = [p for p, (fired, _, _) in in_sql.items() if "grid-cluster" in fired]
        assert clusters, "the demo's fevers make at least one grid a cluster"
        assert all(in_sql[p][1] > 3 for p in clusters)
        result = screen(ws, rules, campaign_id=campaign.id, day=day)
        assert result.by_rule.get("grid-cluster", 0) == len(clusters)


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_a_person_in_no_place_of_the_level_counts_zero(backend: str, tmp_path: Path) -> None:
    """p9 lives in a building straight under the community: no grid, so no grid count."""
    facts = [
        Screening(id=uuid.uuid4(), person_id=p, at=_at(DAY, 9), temperature=38.0)
        for p in ("p1", "p9", "p10")
    ]
    text = GRID_RULES.replace(
        "count_in(grid, flagged) > 3", "count_in(grid, flagged, others=True) < 1"
    ).replace("count_in(stairwell, flagged, per=household) >= 2", "count_in(town, flagged) == 0")
    url = "memory://" if backend == "memory" else f"sqlite:///{tmp_path / 'z.db'}"
    fired = {p: dict(f) for p, f in outcome(url, facts, text)[0]}
    assert fired["p9"]["grid-cluster"] == "count_in(grid, others) = 0"
    assert fired["p1"]["grid-cluster"] == "count_in(grid, others) = 0"
    assert fired["p1"]["stairwell-households"] == "count_in(town) = 0", "there are no towns"
