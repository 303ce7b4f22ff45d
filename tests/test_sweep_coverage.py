"""Coverage: SQL and Python agree, the states partition the households, the command prints it."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import gridguard
from gridguard import Campaign, Person, Screening, ValidationError, Visit
from gridguard.cli import main
from gridguard.sweep import LEVELS, Sweep
from gridguard.testing import sample_records
from sweep_strategies import World, load, visits_for, worlds
from test_sweep_planner import community

START = dt.date(2020, 1, 25)


def _coverage(ws: gridguard.Workspace, world: World, facts: list[Any]) -> dict[str, list[Any]]:
    load(ws, world)
    ws.record(facts)
    sweep = Sweep(ws, world.campaign.id)
    return {level: sweep.coverage(level) for level in LEVELS}


@settings(max_examples=40)
@given(world=worlds(), data=st.data())
def test_sql_and_python_coverage_agree(
    tmp_path_factory: pytest.TempPathFactory, world: World, data: st.DataObject
) -> None:
    facts = data.draw(visits_for(world))
    with gridguard.open("memory://") as ws:
        python = _coverage(ws, world, facts)
    path = tmp_path_factory.mktemp("coverage") / "c.db"
    with gridguard.open(path) as ws:
        sql = _coverage(ws, world, facts)
    assert python == sql
    (total,) = sql["campaign"]
    assert total.households == len(world.in_scope)
    for rows in sql.values():
        assert sum(r.households for r in rows) == total.households
        assert sum(r.persons_screened for r in rows) == total.persons_screened
        for r in rows:
            assert r.screened + r.vacant + r.refused + r.unreachable + r.pending == r.households
            assert r.visited == r.households - r.pending


@given(world=worlds(), data=st.data())
def test_coverage_counts_by_hand(world: World, data: st.DataObject) -> None:
    """The campaign row against a direct count over the generated facts."""
    facts = data.draw(visits_for(world))
    with gridguard.open("memory://") as ws:
        (total,) = _coverage(ws, world, facts)["campaign"]
    campaign = world.campaign
    start = dt.datetime.combine(campaign.start, dt.time(), campaign.zone)
    end = (
        None
        if campaign.end is None
        else dt.datetime.combine(campaign.end + dt.timedelta(days=1), dt.time(), campaign.zone)
    )

    def counts(f: Visit | Screening) -> bool:
        inside = f.at >= start and (end is None or f.at < end)
        if isinstance(f, Visit) and f.campaign_id is not None:
            return f.campaign_id == campaign.id
        return inside

    visits = [
        f for f in facts if isinstance(f, Visit) and counts(f) and f.household_id in world.in_scope
    ]
    outcomes: dict[str, set[str]] = {}
    for v in visits:
        outcomes.setdefault(v.household_id, set()).add(v.outcome.value)
    assert total.visited == len(outcomes)
    assert total.screened == sum(1 for o in outcomes.values() if "screened" in o)
    assert total.vacant == sum(
        1 for o in outcomes.values() if "vacant" in o and "screened" not in o
    )
    assert total.phoned == len({v.household_id for v in visits if v.channel.value == "phone"})
    homes = {p.id: p.household_id for p in world.persons}
    screened = {
        f.person_id
        for f in facts
        if isinstance(f, Screening) and counts(f) and homes[f.person_id] in world.in_scope
    }
    assert total.persons_screened == len(screened)


@pytest.fixture(params=["memory", "sqlite"])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    store = gridguard.open("memory://" if request.param == "memory" else tmp_path / "c.db")
    with store:
        store.add(community(buildings=2, stairwells=2, doors=1))
        yield store


def _visit(household: str, outcome: str, channel: str = "door", hour: int = 15) -> Visit:
    at = dt.datetime.combine(START, dt.time(hour), dt.UTC)
    return Visit(id=uuid.uuid4(), household_id=household, outcome=outcome, channel=channel, at=at)


def test_each_state_on_a_small_community(ws: gridguard.Workspace) -> None:
    ws.add([Person(id="p1", household_id="g1-b0-0-101", name="陈建国")])
    door = _visit("g1-b0-0-101", "screened")
    ws.record(
        [
            door,
            Screening(person_id="p1", at=door.at, visit_id=door.id, temperature=36.6),
            _visit("g1-b0-0-201", "not_home"),
            _visit("g1-b0-0-201", "screened", "phone", 20),
            _visit("g1-b0-0-301", "not_home"),
            _visit("g1-b0-0-301", "not_home", "phone", 20),
            _visit("g1-b0-1-101", "refused"),
            _visit("g1-b0-1-201", "vacant"),
            _visit("g9-b0-0-101", "screened"),  # another community: out of scope
        ]
    )
    sweep = Sweep(ws)
    (total,) = sweep.coverage()
    assert total.to_dict() == {
        "level": "campaign",
        "id": "hy",
        "name": "华苑一级响应",
        "households": 24,
        "visited": 5,
        "screened": 2,
        "not_home": 2,
        "phoned": 2,
        "unreachable": 1,
        "refused": 1,
        "vacant": 1,
        "pending": 19,
        "persons_screened": 1,
    }
    grids = {r.id: r for r in sweep.coverage("grid")}
    assert set(grids) == {"g1", "g2"}
    assert grids["g1"].visited == 5
    assert grids["g2"].visited == 0
    assert grids["g1"].name == "第一网格"
    (area,) = sweep.coverage("area")
    assert (area.id, area.name, area.households) == ("c1", "华苑社区", 24)
    buildings = {r.id: r for r in sweep.coverage("building")}
    assert buildings["g1-b0"].visited == 5
    assert buildings["g1-b0"].name == "0幢"
    stairwells = {r.id: r for r in sweep.coverage("stairwell")}
    assert stairwells["g1-b0-0"].screened == 2
    assert stairwells["g1-b0-0"].name == "0幢 0梯"
    assert len(stairwells) == 8
    assert pytest.approx(total.share_visited) == 5 / 24
    with pytest.raises(ValidationError, match="must be one of"):
        sweep.coverage("floor")


def test_coverage_command_json(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    with gridguard.open(db) as store:
        store.add(community(buildings=1, stairwells=1, doors=1))
        store.record([_visit("g1-b0-0-101", "screened")])
    result = CliRunner().invoke(main, ["coverage", "--json", "--by", "grid", "--db", str(db)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["by"] == "grid"
    assert [(r["id"], r["households"], r["screened"]) for r in data["rows"]] == [
        ("g1", 3, 1),
        ("g2", 3, 0),
    ]
    table = CliRunner().invoke(
        main, ["coverage", "--db", str(db), "--lang", "en"], env={"COLUMNS": "200"}
    )
    assert table.exit_code == 0, table.output
    assert "华苑一级响应" in table.output
    assert "Households" in table.output
    assert "户数" not in table.output
    chinese = CliRunner().invoke(main, ["coverage", "--db", str(db)], env={"COLUMNS": "200"})
    assert "户数" in chinese.output
    assert "Households" not in chinese.output


def test_coverage_at_80_columns_cuts_no_number(tmp_path: Path) -> None:
    db = tmp_path / "c80.db"
    with gridguard.open(db) as store:
        store.add(sample_records())
        store.add([Campaign(id="c80", name="华苑社区新冠肺炎疫情防控一级响应", scope=("c1",),
                            start=dt.date(2020, 1, 25))])  # fmt: skip
    for lang in ("en", "zh-CN"):
        for width in ("80", "40"):
            result = CliRunner().invoke(
                main,
                ["coverage", "--db", str(db), "--lang", lang, "--campaign", "c80"],
                env={"COLUMNS": width},
            )
            assert result.exit_code == 0, result.output
            assert "…" not in result.output
            assert all(len(line) <= int(width) for line in result.output.splitlines()
                       if line.isascii())  # fmt: skip


def test_coverage_command_without_a_database(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["coverage", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 2
    assert "no database" in result.stderr
    assert not (tmp_path / "none.db").exists()
