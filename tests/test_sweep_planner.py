"""The sweep planner: every household once, capacity, composition, locality, re-planning."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gridguard
from gridguard import (
    Area,
    AreaLevel,
    Building,
    Campaign,
    Channel,
    ConfigError,
    ConflictError,
    Household,
    MemberRole,
    Stairwell,
    Team,
    TeamKind,
    TeamMember,
    ValidationError,
    Visit,
    VisitOutcome,
)
from gridguard.sweep import Capacity, CapacityUnit, Shift, Sweep, SweepPlan, Work, pack, round_robin
from gridguard.synth import huayuan
from sweep_strategies import STRICT, World, capacities, load, rosters, worlds

START = dt.date(2020, 1, 25)
DOCTOR_TEAM = [
    TeamMember(name="陈医生", role=MemberRole.DOCTOR),
    TeamMember(name="王书记", role=MemberRole.CADRE),
    TeamMember(name="李警官", role=MemberRole.POLICE),
]


def _store(kind: str, folder: Path) -> gridguard.Workspace:
    if kind == "memory":
        return gridguard.open("memory://")
    return gridguard.open(folder / f"{uuid.uuid4().hex}.db")


def _routes(sweep: Sweep, plan: SweepPlan) -> Iterator[tuple[str, list[str]]]:
    for shift in plan.shifts:
        yield from sweep.route(shift).items()


def _units(assignment: Any, unit: CapacityUnit) -> int:
    if unit is CapacityUnit.STAIRWELL:
        return len({s.stairwell_id for s in assignment.stops})
    return sum(s.households for s in assignment.stops)


# -- properties over random place trees and rosters ------------------------------------------------


@given(world=worlds(), data=st.data(), capacity=capacities())
def test_every_household_once_within_capacity(
    tmp_path_factory: pytest.TempPathFactory, world: World, data: st.DataObject, capacity: Capacity
) -> None:
    teams = [t for t in world.campaign_teams() if len(t.members) == 3]
    shifts = data.draw(rosters(teams))
    kind = data.draw(st.sampled_from(["memory", "sqlite"]))
    with _store(kind, tmp_path_factory.mktemp("plan")) as ws:
        load(ws, world)
        sweep = Sweep(ws, world.campaign.id)
        plan = sweep.plan(shifts, capacity=capacity)
        seen: Counter[str] = Counter()
        for _, households in _routes(sweep, plan):
            seen.update(households)
    assert all(n == 1 for n in seen.values()), "a household assigned twice"
    assert set(seen) <= world.in_scope
    assert len(seen) + plan.unassigned_households == len(world.in_scope)
    assert plan.households == len(world.in_scope)
    rostered = {shift.day: {t.id for t in shift.teams} for shift in shifts}
    for shift in plan.shifts:
        assert {a.team_id for a in shift.assignments} <= rostered[shift.day]
        for assignment in shift.assignments:
            assert 0 < assignment.load <= capacity.amount
            assert assignment.load == _units(assignment, capacity.unit)
    if plan.complete:
        assert set(seen) == world.in_scope


@given(world=worlds(), capacity=capacities())
def test_enough_shifts_plan_everyone_and_meet_the_lower_bound_in_stairwells(
    world: World, capacity: Capacity
) -> None:
    teams = [t for t in world.campaign_teams() if len(t.members) == 3]
    shifts = [Shift(START + dt.timedelta(days=d), teams) for d in range(60)]
    with gridguard.open("memory://") as ws:
        load(ws, world)
        plan = Sweep(ws, world.campaign.id).plan(shifts, capacity=capacity)
    if not teams:
        assert plan.complete == (not world.in_scope)
        return
    assert plan.complete
    assert plan.lower_bound_shifts is not None
    assert plan.shift_count >= plan.lower_bound_shifts
    if capacity.unit is CapacityUnit.STAIRWELL:
        # Stairwells weigh one each: buildings split to fill, every shift but the last is full.
        assert plan.shift_count == plan.lower_bound_shifts


@given(world=worlds(), data=st.data(), capacity=capacities())
def test_plan_is_deterministic_whatever_the_roster_order(
    world: World, data: st.DataObject, capacity: Capacity
) -> None:
    teams = [t for t in world.campaign_teams() if len(t.members) == 3]
    shifts = data.draw(rosters(teams))
    seed = data.draw(st.integers(0, 2**32))
    shuffled = []
    for shift in shifts:
        order = list(shift.teams)
        random.Random(seed).shuffle(order)
        shuffled.append(Shift(shift.day, order, shift.label))
    with gridguard.open("memory://") as ws:
        load(ws, world)
        sweep = Sweep(ws, world.campaign.id)
        first = sweep.plan(shifts, capacity=capacity)
        again = sweep.plan(shuffled, capacity=capacity)
    assert first == again


@given(world=worlds(), data=st.data())
def test_composition_policy_is_respected(world: World, data: st.DataObject) -> None:
    """Under a cadre-doctor-police policy a roster with any other team plans nothing."""
    teams = world.campaign_teams()
    shifts = data.draw(rosters(teams))
    with gridguard.open("memory://", composition_policy=STRICT) as ws:
        load(ws, world)
        sweep = Sweep(ws, world.campaign.id)
        short = sorted({t.id for s in shifts for t in s.teams if len(t.members) < 3})
        if short:
            with pytest.raises(ValidationError) as caught:
                sweep.plan(shifts)
            named = {v.value.strip("'") for v in caught.value.violations}
            assert "1 doctor" in str(caught.value) or "0 doctor" in str(caught.value)
            for n, shift in enumerate(shifts):
                for m, team in enumerate(shift.teams):
                    paths = [v.path for v in caught.value.violations]
                    broken = any(p.startswith(f"$.shifts[{n}].teams[{m}].") for p in paths)
                    assert broken == (len(team.members) < 3)
            assert named
            return
        plan = sweep.plan(shifts)
    compliant = {t.id for t in teams if not STRICT.violations(t)}
    assert {a.team_id for s in plan.shifts for a in s.assignments} <= compliant


@settings(max_examples=25)
@given(world=worlds(), capacity=capacities())
def test_memory_and_sqlite_plan_alike(
    tmp_path_factory: pytest.TempPathFactory, world: World, capacity: Capacity
) -> None:
    teams = [t for t in world.campaign_teams() if len(t.members) == 3]
    shifts = [Shift(START + dt.timedelta(days=d), teams[: d + 1]) for d in range(4)]
    plans = []
    for kind in ("memory", "sqlite"):
        with _store(kind, tmp_path_factory.mktemp("alike")) as ws:
            load(ws, world)
            plans.append(Sweep(ws, world.campaign.id).plan(shifts, capacity=capacity))
    assert plans[0] == plans[1]


# -- a hand-made community ------------------------------------------------------------------------


def community(buildings: int = 6, stairwells: int = 3, doors: int = 2) -> list[Any]:
    """Two grids of ``buildings`` each; stairwells of 3 floors x ``doors`` households."""
    records: list[Any] = [
        Area(id="zs", name="中山市", level=AreaLevel.CITY),
        Area(id="c1", name="华苑社区", level=AreaLevel.COMMUNITY, parent_id="zs"),
        Area(id="c2", name="库充社区", level=AreaLevel.COMMUNITY, parent_id="zs"),
        Area(id="g1", name="第一网格", level=AreaLevel.GRID, parent_id="c1"),
        Area(id="g2", name="第二网格", level=AreaLevel.GRID, parent_id="c1"),
        Area(id="g9", name="库充网格", level=AreaLevel.GRID, parent_id="c2"),
    ]
    for grid in ("g1", "g2", "g9"):
        for b in range(buildings):
            building = f"{grid}-b{b}"
            records.append(Building(id=building, area_id=grid, name=f"{b}幢"))
            for s in range(stairwells):
                stairwell = f"{building}-{s}"
                records.append(
                    Stairwell(
                        id=stairwell,
                        building_id=building,
                        name=f"{s}梯",
                        floors=3,
                        doors_per_floor=doors,
                    )
                )
                for floor in range(1, 4):
                    for door in range(1, doors + 1):
                        records.append(
                            Household(
                                id=f"{stairwell}-{floor}0{door}",
                                stairwell_id=stairwell,
                                floor=floor,
                                door=f"0{door}",
                                address=f"{building}{s}梯{floor}0{door}",
                            )
                        )
    records += [
        Team(id="t1", name="一队", area_id="c1", members=DOCTOR_TEAM, home_grid_id="g1"),
        Team(id="t2", name="二队", area_id="c1", members=DOCTOR_TEAM, home_grid_id="g2"),
        Team(id="t3", name="三队", area_id="c1", members=DOCTOR_TEAM),
        Team(id="t9", name="库充队", area_id="c2", members=DOCTOR_TEAM, home_grid_id="g9"),
        Campaign(id="hy", name="华苑一级响应", scope=["c1"], start=START),
    ]
    return records


@pytest.fixture(params=["memory", "sqlite"])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[gridguard.Workspace]:
    with _store(request.param, tmp_path) as store:
        store.add(community())
        yield store


def _team(ws: gridguard.Workspace, team_id: str) -> Team:
    return ws.get(Team, team_id)


def test_teams_stay_home_and_walk_whole_buildings(ws: gridguard.Workspace) -> None:
    sweep = Sweep(ws)
    plan = sweep.plan([Shift(START, [_team(ws, "t1"), _team(ws, "t2")])], capacity=Capacity(6))
    shift = plan.shifts[0]
    by_team = {a.team_id: a for a in shift.assignments}
    assert {s.grid_id for s in by_team["t1"].stops} == {"g1"}
    assert {s.grid_id for s in by_team["t2"].stops} == {"g2"}
    for assignment in shift.assignments:  # 6 stairwells = two whole buildings of 3
        assert assignment.load == 6
        assert assignment.buildings == 2
    assert plan.households == 2 * 6 * 3 * 6
    assert not plan.complete


def test_a_team_without_work_at_home_goes_to_the_nearest_grid(ws: gridguard.Workspace) -> None:
    sweep = Sweep(ws)
    t1, t2, t3 = (_team(ws, t) for t in ("t1", "t2", "t3"))
    plan = sweep.plan(
        [Shift(START + dt.timedelta(days=d), [t1, t2, t3]) for d in range(10)],
        capacity=Capacity.stairwells(9),
    )
    assert plan.complete
    assert plan.shift_count == plan.lower_bound_shifts == 2  # 36 stairwells, 27 a shift
    teams = {a.team_id for s in plan.shifts for a in s.assignments}
    assert "t3" in teams  # the team with no home grid helps where work is


def test_capacity_in_households_splits_large_stairwells(tmp_path: Path) -> None:
    with gridguard.open(tmp_path / "big.db") as ws:
        ws.add(community(buildings=1, stairwells=1, doors=5))  # 15 households a stairwell
        sweep = Sweep(ws)
        team = _team(ws, "t1")
        shifts = [Shift(START + dt.timedelta(days=d), [team]) for d in range(5)]
        plan = sweep.plan(shifts, capacity=Capacity.households(6))
        seen: list[str] = []
        for shift in plan.shifts:
            assert all(a.load <= 6 for a in shift.assignments)
            seen += sweep.route(shift)["t1"]
    assert plan.complete
    assert len(seen) == len(set(seen)) == 30
    parts = [s for shift in plan.shifts for a in shift.assignments for s in a.stops]
    assert any(not s.whole for s in parts)
    # Routes go up the stairwell floor by floor.
    first = [h for h in seen if h.startswith("g1-b0-0")]
    assert first == sorted(first, key=lambda h: h.rsplit("-", 1)[1])


def test_priority_targets_go_first(ws: gridguard.Workspace) -> None:
    sweep = Sweep(ws)
    target = "g2-b5-2-301"
    plan = sweep.plan([Shift(START, [_team(ws, "t1")])], capacity=Capacity(3), targets=[target])
    (assignment,) = plan.shifts[0].assignments
    assert "g2-b5-2" in {s.stairwell_id for s in assignment.stops}
    assert any(s.priority == 1 for s in assignment.stops)
    with pytest.raises(ValidationError, match="unknown household"):
        sweep.plan([Shift(START, [_team(ws, "t1")])], targets=["nowhere"])


def test_teams_outside_the_campaign_or_not_sweeping_are_refused(ws: gridguard.Workspace) -> None:
    sweep = Sweep(ws)
    outsider = _team(ws, "t9")
    service = Team(id="s1", name="服务队", area_id="c1", kind=TeamKind.SERVICE, members=DOCTOR_TEAM)
    with pytest.raises(ValidationError) as caught:
        sweep.plan([Shift(START, [_team(ws, "t1"), outsider, service])])
    paths = {v.path for v in caught.value.violations}
    assert paths == {"$.shifts[0].teams[1].area_id", "$.shifts[0].teams[2].kind"}
    with pytest.raises(ValidationError, match="once per shift"):
        sweep.plan([Shift(START, [_team(ws, "t1"), _team(ws, "t1")])])
    assert [t.id for t in sweep.teams()] == ["t1", "t2", "t3"]


def _visit(household: str, outcome: str, day: int = 0, channel: str = "door") -> Visit:
    at = dt.datetime.combine(START + dt.timedelta(days=day), dt.time(15), dt.UTC)
    return Visit(household_id=household, outcome=outcome, channel=channel, at=at, campaign_id="hy")


def test_replanning_rolls_over_what_was_not_done(ws: gridguard.Workspace) -> None:
    sweep = Sweep(ws)
    everyone = [Shift(START + dt.timedelta(days=d), [_team(ws, "t1")]) for d in range(40)]
    before = sweep.plan(everyone, capacity=Capacity.households(100))
    ws.record(
        [
            _visit("g1-b0-0-101", "screened"),
            _visit("g1-b0-0-102", "vacant"),
            _visit("g1-b0-0-201", "not_home"),
            _visit("g1-b0-0-202", "refused"),
            _visit("g1-b0-0-301", "not_home"),
            _visit("g1-b0-0-301", "not_home", day=1),  # two door attempts: left to the phone
            _visit("g1-b0-0-302", "not_home"),
            _visit("g1-b0-0-302", "screened", day=1, channel="phone"),
        ]
    )
    after = sweep.plan(everyone, capacity=Capacity.households(100))
    assert before.households - after.households == 4  # screened, vacant, two attempts, phoned
    planned = {h for _, hs in _routes(sweep, after) for h in hs}
    assert {"g1-b0-0-201", "g1-b0-0-202"} <= planned
    assert not {"g1-b0-0-101", "g1-b0-0-102", "g1-b0-0-301", "g1-b0-0-302"} & planned
    queue = sweep.phone_queue()
    assert [(f.household_id, f.reason, f.door_visits) for f in queue] == [
        ("g1-b0-0-201", "not_home", 1),
        ("g1-b0-0-301", "not_home", 2),
    ]
    assert queue[1].since == dt.datetime.combine(START + dt.timedelta(days=1), dt.time(15), dt.UTC)
    escalated = sweep.escalations()
    assert [(f.household_id, f.grid_id, f.reason) for f in escalated] == [
        ("g1-b0-0-202", "g1", "refused")
    ]
    assert Sweep(ws, max_door_attempts=3).plan(everyone).households == after.households + 1


def test_a_stale_route_is_a_conflict(ws: gridguard.Workspace) -> None:
    sweep = Sweep(ws)
    plan = sweep.plan([Shift(START, [_team(ws, "t1")])], capacity=Capacity(1))
    stop = plan.shifts[0].assignments[0].stops[0]
    ws.record([_visit(f"{stop.stairwell_id}-101", "screened")])
    with pytest.raises(ConflictError, match="plan again"):
        sweep.route(plan.shifts[0])


def test_estimate_and_roster(ws: gridguard.Workspace) -> None:
    sweep = Sweep(ws)
    roster = sweep.roster([1, 2, 3])
    assert [len(s.teams) for s in roster] == [1, 2, 3]
    assert [s.day for s in roster] == [START + dt.timedelta(days=d) for d in range(3)]
    estimate = sweep.estimate([1, 2], capacity=Capacity(5))
    # 36 stairwells: 5 + 10 + 10 + 10 + 1 -> 5 days, and no plan could do better.
    assert estimate.complete
    assert estimate.days == estimate.lower_bound_days == 5
    with pytest.raises(ConfigError, match="3 sweep teams"):
        sweep.roster([4])
    with pytest.raises(ConfigError):
        sweep.estimate([])


def test_a_workspace_with_two_campaigns_needs_a_name(ws: gridguard.Workspace) -> None:
    ws.add([Campaign(id="other", name="另一个", scope=["c2"], start=START)])
    with pytest.raises(ConfigError, match="several campaigns"):
        Sweep(ws)
    assert Sweep(ws, "other").campaign.scope == ("c2",)
    with pytest.raises(gridguard.NotFoundError):
        Sweep(ws, "nope")


# -- pure packing and the baseline ----------------------------------------------------------------


def _work() -> list[Work]:
    return [
        Work(f"g{g}", f"g{g}-b{b}", f"g{g}-b{b}-{s}", 10 + s)
        for g in range(3)
        for b in range(4)
        for s in range(3)
    ]


def _sweep_teams(n: int) -> list[Team]:
    return [
        Team(id=f"t{i}", name=f"{i}队", area_id="c", members=DOCTOR_TEAM, home_grid_id=f"g{i % 3}")
        for i in range(n)
    ]


def test_the_planner_is_more_local_than_round_robin() -> None:
    work = _work()
    shifts = [Shift(START + dt.timedelta(days=d), _sweep_teams(3)) for d in range(10)]
    capacity = Capacity.households(60)
    ours = pack(work, shifts, capacity)
    for deal in ("household", "stairwell"):
        baseline = round_robin(work, shifts, capacity, deal=deal)
        assert baseline.complete
        assert baseline.households == ours.households
        assert ours.mean_buildings < baseline.mean_buildings
    assert ours.complete
    assert ours.max_load_ratio <= 1.0
    assert round_robin(work, shifts, capacity, deal="stairwell").max_load_ratio > 1.0
    with pytest.raises(ValueError, match="deal"):
        round_robin(work, shifts, capacity, deal="floor")


def test_an_empty_roster_plans_nothing() -> None:
    plan = pack(_work(), [], Capacity(5))
    assert plan.shifts == ()
    assert plan.unassigned_stairwells == 36
    assert plan.lower_bound_shifts is None
    assert plan.summary()["complete"] is False


def test_huayuan_in_six_days_at_a_hundred_households(tmp_path: Path) -> None:
    """The demo's roster covers the community in six afternoons, as reported."""
    with gridguard.open(tmp_path / "hy.db") as ws:
        huayuan(2020).load(ws)
        plan = Sweep(ws).estimate([2, 4, 6, 10, 14, 20], capacity=Capacity.households(100))
    assert plan.complete
    assert plan.stairwells == 430
    assert plan.days == plan.lower_bound_days == 6
    assert 90 <= plan.mean_households <= 100
    assert plan.mean_grids < 1.5
    data = plan.to_dict()
    assert data["days"] == 6
    assert sum(len(s["assignments"]) for s in data["plan"]) == plan.team_shifts


def test_visits_of_other_campaigns_do_not_count(ws: gridguard.Workspace) -> None:
    sweep = Sweep(ws)
    before = sweep.plan([]).households
    other = Visit(
        household_id="g1-b0-0-101",
        outcome=VisitOutcome.SCREENED,
        channel=Channel.DOOR,
        campaign_id="elsewhere",
        at=dt.datetime(2020, 1, 25, 8, tzinfo=dt.UTC),
    )
    early = Visit(
        household_id="g1-b0-0-102",
        outcome=VisitOutcome.SCREENED,
        at=dt.datetime(2020, 1, 24, 15, tzinfo=dt.UTC),  # 23:00 on the 24th in Zhongshan
    )
    ws.record([other, early])
    assert sweep.plan([]).households == before


def test_plan_command(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from gridguard.cli import main

    db = tmp_path / "plan.db"
    with gridguard.open(db) as store:
        store.add(community())
    runner = CliRunner()
    args = ["plan", "--db", str(db), "--date", "2020-01-25", "--capacity", "8"]
    result = runner.invoke(main, [*args, "--teams", "1,3", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [len(s["assignments"]) for s in data["plan"]] == [1, 3]
    assert data["plan"][0]["day"] == "2020-01-25"
    assert data["capacity"] == {"amount": 8, "unit": "stairwell"}
    assert not data["complete"]  # 36 stairwells, 8 + 24 in two days
    done = json.loads(
        runner.invoke(main, [*args, "--teams", "1,3", "--until-done", "--json"]).stdout
    )
    assert done["complete"]
    assert done["days"] == 2 + 1
    table = runner.invoke(
        main, [*args, "--unit", "households", "--capacity", "20"], env={"COLUMNS": "160"}
    )
    assert table.exit_code == 0, table.output
    assert "2020-01-25 下午：3 个小分队" in table.output
    assert "未安排" in table.output
    bad = runner.invoke(main, [*args, "--teams", "1,x"])
    assert bad.exit_code == 2
    assert "comma-separated" in bad.stderr
