"""The sweep at city scale: plan a shift, plan quality beside round robin, coverage.

Builds a Zhongshan-sized city with ``generate_city`` (4.42 million persons:
about 1.5 million households in about 180,000 stairwells) in a temporary
SQLite file, adds a campaign over the whole city and 3,000 sweep teams
(home grids in proportion to each grid's households; the teams are only
rostered, not stored), then measures:

* planning one shift for all 3,000 teams, end to end (the aggregate query
  over the households, packing, the plan objects), before any visit and
  again with 60% of the households visited;
* the quality of the whole sweep's plan beside two round-robin baselines:
  households dealt to teams in turn (as Go.Data assigns follow-ups) and
  stairwells dealt in turn; mean distinct buildings and grids per
  team-shift, the heaviest load over the capacity, and the shifts needed
  beside the lower bound, for a capacity of 100 households and of 5
  stairwells per team-shift;
* coverage of the city by campaign and by grid, with those visits and the
  screenings of everyone in a screened household stored.

The reference, measured in the same run, is raw ``sqlite3`` counting the
households per stairwell with one ``GROUP BY``: the floor for reading the
counts the planner works on. Visits and screenings are inserted with raw
SQL (setup, not timed).

    python benchmarks/bench_sweep.py [--persons N] [--teams N] [--db PATH] [--repeat N]

Targets: one shift in at most 5 s; at most 10% above the lower bound of
shifts; at least 3x fewer buildings per team-shift than round robin;
coverage in at most 2 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gridguard
from gridguard import Campaign, MemberRole, Team, TeamMember
from gridguard.sweep import Capacity, Shift, Sweep, SweepPlan, pack, round_robin
from gridguard.sweep.planner import pending_work

ZHONGSHAN = 4_420_000
CITY = "442000"
START = dt.date(2020, 1, 25)
MEMBERS = [
    TeamMember(name="王书记", role=MemberRole.CADRE),
    TeamMember(name="陈医生", role=MemberRole.DOCTOR),
    TeamMember(name="李警官", role=MemberRole.POLICE),
]


def timed(function: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Median wall and CPU seconds of ``repeat`` calls, and the last result.

    SQLite runs in this process, so CPU time is what the work costs; on a
    shared machine wall time adds the wait for a core and for the disk.
    """
    walls, cpus = [], []
    result = None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def seconds(wall: float, cpu: float) -> str:
    return f"{wall:.2f} s ({cpu:.2f} s CPU)"


def build(path: Path, persons: int) -> None:
    from gridguard.synth import generate_city

    print(f"generating a city of {persons:,} persons into {path} ...", file=sys.stderr, flush=True)
    with gridguard.open(path) as ws:
        stats = generate_city(ws, persons)
        ws.add([Campaign(id="zs-2020", name="中山市一级响应", scope=[CITY], start=START)])
    print(
        f"  {stats.stairwells:,} stairwells, {stats.households:,} households, "
        f"{stats.grids:,} grids in {stats.seconds:.0f} s",
        file=sys.stderr,
    )


def make_teams(path: Path, count: int) -> list[Team]:
    """``count`` teams, home grids in proportion to each grid's households (largest remainder)."""
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT b.area_id, a.parent_id, count(*) FROM households h "
        "JOIN stairwells s ON s.id = h.stairwell_id JOIN buildings b ON b.id = s.building_id "
        "JOIN areas a ON a.id = b.area_id GROUP BY b.area_id, a.parent_id ORDER BY b.area_id"
    ).fetchall()
    conn.close()
    total = sum(n for _, _, n in rows)
    exact = [count * n / total for _, _, n in rows]
    shares = [int(x) for x in exact]
    for i in sorted(range(len(rows)), key=lambda i: shares[i] - exact[i])[: count - sum(shares)]:
        shares[i] += 1
    teams = []
    for (grid, community, _), share in zip(rows, shares, strict=True):
        for _ in range(share):
            n = len(teams) + 1
            teams.append(
                Team(
                    id=f"{community}-t{n:04d}",
                    name=f"第{n}小分队",
                    area_id=community,
                    members=MEMBERS,
                    home_grid_id=grid,
                )
            )
    return teams


def clear_facts(path: Path) -> None:
    """No visit or screening: a city reused with ``--db`` starts the sweep afresh."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DELETE FROM screenings")
    conn.execute("DELETE FROM visits")
    conn.close()


def add_visits(path: Path, share: int) -> tuple[int, int]:
    """Visits for ``share`` % of households (raw SQL setup), screenings for the screened."""
    clear_facts(path)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    conn.execute(
        'INSERT INTO visits (id, "at", recorded_by, household_id, outcome, channel, team_id, '
        "campaign_id, note, jurisdiction) "
        "SELECT lower(hex(randomblob(16))), '2020-01-25 07:00:00.000000', NULL, id, "
        "CASE abs(random()) % 100 WHEN 0 THEN 'refused' WHEN 1 THEN 'vacant' "
        "WHEN 2 THEN 'not_home' WHEN 3 THEN 'not_home' WHEN 4 THEN 'not_home' "
        "ELSE 'screened' END, 'door', NULL, 'zs-2020', '', jurisdiction "
        "FROM households WHERE abs(random()) % 100 < ?",
        (share,),
    )
    conn.execute(
        'INSERT INTO screenings (id, "at", recorded_by, person_id, visit_id, trips, exposures, '
        "symptoms, temperature, jurisdiction) "
        "SELECT lower(hex(randomblob(16))), v.\"at\", NULL, p.id, v.id, '[]', '[]', '[]', 36.5, "
        "p.jurisdiction FROM visits v JOIN persons p ON p.household_id = v.household_id "
        "WHERE v.outcome = 'screened'"
    )
    conn.execute("COMMIT")
    visits = conn.execute("SELECT count(*) FROM visits").fetchone()[0]
    screenings = conn.execute("SELECT count(*) FROM screenings").fetchone()[0]
    conn.close()
    return visits, screenings


def reference(path: Path, repeat: int) -> tuple[float, float]:
    conn = sqlite3.connect(path)
    sql = "SELECT stairwell_id, count(*) FROM households GROUP BY stairwell_id"
    wall, cpu, _ = timed(lambda: conn.execute(sql).fetchall(), repeat)
    conn.close()
    return wall, cpu


def quality_row(name: str, plan: SweepPlan) -> str:
    bound = plan.lower_bound_shifts
    over = f"{100 * (plan.shift_count / bound - 1):+.1f}%" if bound else "n/a"
    return (
        f"  {name:<26} {plan.mean_buildings:>9.2f} {plan.mean_grids:>7.2f} "
        f"{plan.mean_households:>9.1f} {plan.max_load_ratio:>9.2f} "
        f"{plan.shift_count:>7} {bound if bound is not None else '-':>6} {over:>8}"
        + ("" if plan.complete else "  (incomplete)")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=ZHONGSHAN)
    parser.add_argument("--teams", type=int, default=3_000)
    parser.add_argument("--db", type=Path, help="reuse (or keep) the city in this SQLite file")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "city.db"
        if path.exists():
            clear_facts(path)
        else:
            build(path, args.persons)
        teams = make_teams(path, args.teams)
        shift = Shift(START, teams)
        sweep_days = [Shift(START + dt.timedelta(days=d), teams) for d in range(60)]
        t_ref, c_ref = reference(path, args.repeat)
        with gridguard.open(path) as ws:
            sweep = Sweep(ws, "zs-2020")
            counts = ws.counts()
            print(
                f"sweep planner and coverage: {counts['stairwells']:,} stairwells, "
                f"{counts['households']:,} households, {counts['persons']:,} persons, "
                f"{len(teams):,} teams (shared 2-core machine, median of {args.repeat})"
            )
            print(
                "  reference: raw sqlite3 GROUP BY households per stairwell: "
                + seconds(t_ref, c_ref)
            )
            for capacity in (Capacity.households(100), Capacity.stairwells(5)):
                t_plan, c_plan, plan = timed(
                    lambda c=capacity: sweep.plan([shift], capacity=c), args.repeat
                )
                print(
                    f"  plan one shift ({capacity}): {seconds(t_plan, c_plan)}, "
                    f"{c_plan / c_ref:.1f}x the reference's CPU; target at most 5 s; "
                    f"{plan.shifts[0].households:,} households for "
                    f"{len(plan.shifts[0].assignments):,} teams"
                )
            t_work, c_work, work = timed(lambda: pending_work(sweep.context, 2), 1)
            ctx = sweep.context
            path_of = {g: ctx.path(g) for g in {w.grid_id for w in work}}
            positions = {t.id: ctx.path(t.home_grid_id or t.area_id) for t in teams}
            print(
                f"  the aggregate query alone: {seconds(t_work, c_work)} "
                f"for {len(work):,} stairwells"
            )
            for capacity in (Capacity.households(100), Capacity.stairwells(5)):
                print(f"\n  whole sweep, {capacity}, {len(teams):,} teams a day:")
                print(
                    f"  {'':<26} {'buildings':>9} {'grids':>7} {'households':>9} "
                    f"{'max load':>9} {'shifts':>7} {'bound':>6} {'vs bound':>8}"
                )
                _, c_pack, ours = timed(
                    lambda c=capacity: pack(
                        work, sweep_days, c, path_of=path_of, positions=positions
                    ),
                    1,
                )
                print(quality_row(f"planner ({c_pack:.1f} s CPU)", ours))
                # Dealt household by household, a team's stairwells all differ: with a
                # capacity in stairwells each team-shift would get 5 households.
                deals = (
                    ("household", "stairwell")
                    if capacity.unit.value == "household"
                    else ("stairwell",)
                )
                for deal in deals:
                    baseline = round_robin(work, sweep_days, capacity, deal=deal)
                    print(quality_row(f"round robin by {deal}", baseline))
                    ratio = baseline.mean_buildings / ours.mean_buildings
                    print(f"  {'':<26} {ratio:>8.1f}x the planner's buildings per team-shift")
        visits, screenings = add_visits(path, 60)
        with gridguard.open(path) as ws:
            sweep = Sweep(ws, "zs-2020")
            print(f"\n  with {visits:,} visits and {screenings:,} screenings stored:")
            t_replan, c_replan, plan = timed(
                lambda: sweep.plan([shift], capacity=Capacity.households(100)), args.repeat
            )
            print(
                f"  re-plan one shift: {seconds(t_replan, c_replan)} for {plan.households:,} "
                "households still to visit (target at most 5 s)"
            )
            for by in ("campaign", "area", "grid"):
                t_cov, c_cov, rows = timed(lambda b=by: sweep.coverage(b), args.repeat)
                total = sum(r.visited for r in rows)
                print(
                    f"  coverage by {by}: {seconds(t_cov, c_cov)}, {len(rows):,} rows, "
                    f"{total:,} households visited ({c_cov / c_ref:.1f}x the reference's CPU; "
                    "target at most 2 s)"
                )


if __name__ == "__main__":
    main()
