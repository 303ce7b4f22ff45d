"""Quarantine census over 50,000 active orders, beside a raw sqlite3 query of the same answer.

Builds a SQLite store with a city's worth of quarantine: 10 communities of
10 grids, one person per household and an order for most of them (active,
new today, ending today, due for release), plus the day's releases. Then
times :func:`gridguard.quarantine.census` per community and per grid, each
beside the same aggregate written by hand and run on a plain ``sqlite3``
connection; both must give the same figures.

    python benchmarks/bench_quarantine.py [--orders 50000] [--db PATH]

Target: the census over 50,000 active orders <= 1 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

DAY = dt.date(2020, 2, 5)

RAW = {
    "community": """
        SELECT area, sum(active), sum(new_today), sum(ending), sum(released), sum(due)
        FROM (
            SELECT jurisdiction AS area,
                   (start <= :today AND "end" > :today) AS active,
                   ((ordered_at >= :t0 AND ordered_at < :t1)
                     OR (ordered_at IS NULL AND start = :today)) AS new_today,
                   ("end" = :tomorrow AND start <= :today) AS ending,
                   0 AS released,
                   ("end" <= :today) AS due
            FROM quarantine_orders WHERE status = 'active'
            UNION ALL
            SELECT jurisdiction, 0, 0, 0, 1, 0 FROM quarantine_releases
            WHERE at >= :t0 AND at < :t1
        ) GROUP BY area ORDER BY area
    """,
    "grid": """
        SELECT b.area_id, sum(active), sum(new_today), sum(ending), sum(released), sum(due)
        FROM (
            SELECT household_id,
                   (start <= :today AND "end" > :today) AS active,
                   ((ordered_at >= :t0 AND ordered_at < :t1)
                     OR (ordered_at IS NULL AND start = :today)) AS new_today,
                   ("end" = :tomorrow AND start <= :today) AS ending,
                   0 AS released,
                   ("end" <= :today) AS due
            FROM quarantine_orders WHERE status = 'active'
            UNION ALL
            SELECT household_id, 0, 0, 0, 1, 0 FROM quarantine_releases
            WHERE at >= :t0 AND at < :t1
        ) x
        JOIN households h ON h.id = x.household_id
        JOIN stairwells s ON s.id = h.stairwell_id
        JOIN buildings b ON b.id = s.building_id
        GROUP BY b.area_id ORDER BY b.area_id
    """,
}


def build(path: Path, orders: int, seed: int) -> None:
    """The place tree, one person per household, and ``orders`` active orders."""
    import gridguard
    from gridguard.model import Area, AreaLevel, Building, Household, Person, Stairwell
    from gridguard.model.assessments import OrderStatus, QuarantineOrder
    from gridguard.quarantine import QuarantineRelease
    from gridguard.storage.schema import spec_for

    rng = random.Random(seed)
    zone = dt.timezone(dt.timedelta(hours=8))
    households = int(orders * 1.1)
    per_building = 60
    buildings = -(-households // per_building)
    areas: list[Any] = [Area(id="city", name="市", level=AreaLevel.CITY)]
    for c in range(10):
        areas.append(Area(id=f"c{c}", name=f"社区{c}", level=AreaLevel.COMMUNITY, parent_id="city"))
        for g in range(10):
            areas.append(
                Area(id=f"c{c}-g{g}", name=f"网格{g}", level=AreaLevel.GRID, parent_id=f"c{c}")
            )
    grids = [a.id for a in areas if a.level is AreaLevel.GRID]
    rows: dict[type[Any], list[Any]] = {
        Building: [],
        Stairwell: [],
        Household: [],
        Person: [],
        QuarantineOrder: [],
        QuarantineRelease: [],
    }
    for b in range(buildings):
        rows[Building].append(Building(id=f"b{b}", area_id=grids[b % len(grids)], name=f"{b}栋"))
        rows[Stairwell].append(
            Stairwell(id=f"s{b}", building_id=f"b{b}", name="1梯", floors=20, doors_per_floor=3)
        )
    for h in range(households):
        b = h // per_building
        rows[Household].append(
            Household(
                id=f"h{h}",
                stairwell_id=f"s{b}",
                floor=1 + h % 20,
                door=f"{h % 60:02d}",
                address=f"{b}栋{h % 60:02d}",
            )
        )
        rows[Person].append(Person(id=f"p{h}", household_id=f"h{h}", name="居民"))
    for n in range(orders):
        start = DAY - dt.timedelta(days=rng.randrange(14))
        manual = rng.random() < 0.2
        rows[QuarantineOrder].append(
            QuarantineOrder(
                id=f"q{n}",
                household_id=f"h{n}",
                person_id=f"p{n}",
                kind="home",
                start=start,
                end=start + dt.timedelta(days=14),
                rule_id="manual" if manual else "outbreak-area-travel",
                rule_set_id="bench",
                rule_set_version="1",
                status=OrderStatus.ACTIVE,
                ordered_by="医生" if manual else None,
                ordered_at=dt.datetime.combine(start, dt.time(10), zone) if manual else None,
            )
        )
    for n in range(orders, households):
        start = DAY - dt.timedelta(days=14)
        order = QuarantineOrder(
            id=f"q{n}",
            household_id=f"h{n}",
            person_id=f"p{n}",
            kind="home",
            start=start,
            end=DAY,
            rule_id="r",
            rule_set_id="bench",
            rule_set_version="1",
            status=OrderStatus.ENDED,
        )
        rows[QuarantineOrder].append(order)
        rows[QuarantineRelease].append(
            QuarantineRelease(
                at=dt.datetime.combine(DAY, dt.time(9), zone),
                order_id=order.id,
                household_id=order.household_id,
                person_id=order.person_id,
                end=order.end,
            )
        )
    with gridguard.open(path) as ws:
        ws.add(areas)
        for cls, items in rows.items():
            spec = spec_for(cls)
            ws.load_rows(cls, [spec.encode(i) for i in items])


def best(run: Any, repeat: int = 5) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=50_000)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--seed", type=int, default=2020)
    args = parser.parse_args()

    import gridguard
    from gridguard.quarantine import QuarantinePolicy, census
    from gridguard.storage.schema import encode_timestamp

    folder = None if args.db else tempfile.TemporaryDirectory()
    path = args.db or Path(folder.name) / "q.db"  # type: ignore[union-attr]
    started = time.perf_counter()
    build(path, args.orders, args.seed)
    print(f"built {args.orders:,} active orders in {time.perf_counter() - started:.1f} s")

    policy = QuarantinePolicy()
    t0, t1 = policy.day_start(DAY), policy.day_start(DAY + dt.timedelta(days=1))
    params = {
        "today": DAY.isoformat(),
        "tomorrow": (DAY + dt.timedelta(days=1)).isoformat(),
        "t0": encode_timestamp(t0),
        "t1": encode_timestamp(t1),
    }
    raw = sqlite3.connect(path)
    with gridguard.open(path) as ws:
        for by in ("community", "grid"):
            took, rows = best(lambda by=by: census(ws, day=DAY, by=by, policy=policy))
            ref, expected = best(lambda by=by: raw.execute(RAW[by], params).fetchall())
            figures = [(r.area_id, r.active, r.new_today, r.ending_today, r.released_today,
                        r.release_due) for r in rows]  # fmt: skip
            agree = figures == [tuple(row) for row in expected]
            active = sum(r.active for r in rows)
            print(
                f"census by {by:9}: {took * 1000:7.1f} ms for {len(rows):3} areas, "
                f"{active:,} active; raw sqlite3 {ref * 1000:7.1f} ms; "
                f"ratio {took / ref:.2f}x; same answer: {agree}"
            )
            if not agree:
                raise SystemExit("the census and the raw query disagree")
    raw.close()
    if folder is not None:
        folder.cleanup()


if __name__ == "__main__":
    main()
