"""The building watch at city scale: missed check-ins across 100,000 buildings.

Builds a city of ``--buildings`` buildings (default 100,000) in 100
communities of 10 grids each, every building with an observer, in a
temporary SQLite file; stores three days of check-ins in which about 3% of
the buildings miss each day (setup with raw SQL, not timed). Then measures:

* :func:`gridguard.watch.missing`: the buildings with an observer and no
  check-in on the day by the cut-off, as objects (one SQL query);
* the reference, in the same run: raw ``sqlite3`` answering the same
  question (the ids of the silent buildings) with the same ``NOT EXISTS``
  probe on ``checkins (building_id, at)``;
* the observer coverage per grid (one grouped query);
* one run of the escalation ladder for the day (all three rungs due), and a
  second run, which must enqueue nothing.

    python benchmarks/bench_watch.py [--buildings N] [--db PATH] [--repeat N]

Target: missed check-ins in at most 1 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gridguard
from gridguard import Campaign
from gridguard.notifications.settings import Contact, NotifySettings
from gridguard.storage.schema import encode_timestamp
from gridguard.watch import escalate, missing, observer_coverage
from gridguard.watch.missed import WatchSettings

START = dt.date(2020, 1, 25)
DAYS = 3
MISS_RATE = 0.03
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def build(path: Path, buildings: int, seed: int = 2020) -> int:
    """The city and its check-ins, written with raw SQL; returns the check-ins stored."""
    with gridguard.open(path) as ws:  # creates the schema
        ws.add(
            [
                gridguard.Area(id="zs", name="中山市", level="city"),
                Campaign(id="zs-2020", name="2020", scope=("zs",), start=START),
            ]
        )
    rng = random.Random(seed)
    conn = sqlite3.connect(path)
    communities = 100
    grids_per = 10
    areas, rows_b, rows_s, rows_h, rows_p, rows_c = [], [], [], [], [], []
    for c in range(communities):
        cid = f"c{c:03d}"
        areas.append((cid, f"社区{c}", "community", "zs", None, cid))
        for g in range(grids_per):
            areas.append((f"{cid}-g{g}", f"网格{g}", "grid", cid, None, cid))
    for n in range(buildings):
        cid = f"c{n % communities:03d}"
        grid = f"{cid}-g{(n // communities) % grids_per}"
        b = f"b{n:06d}"
        rows_b.append((b, grid, f"{n}栋", None, 0, f"p{n:06d}", cid))
        rows_s.append((f"s{n:06d}", b, "1梯", 7, 2, cid))
        rows_h.append((f"h{n:06d}", f"s{n:06d}", 1, "101", f"{n}栋101", None, cid))
        rows_p.append(
            (f"p{n:06d}", f"h{n:06d}", "观察员", None, "13800138000", None, None, "resident", cid)
        )
        for day in range(DAYS):
            if rng.random() < MISS_RATE:
                continue
            local = dt.datetime.combine(START + dt.timedelta(days=day), dt.time(8), SHANGHAI)
            at = local + dt.timedelta(minutes=rng.randrange(0, 180))
            rows_c.append(
                (
                    str(uuid.UUID(int=rng.getrandbits(128))),
                    encode_timestamp(at),
                    None,
                    b,
                    f"p{n:06d}",
                    "all_normal",
                    "[]",
                    cid,
                )
            )
    with conn:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.executemany(
            "INSERT INTO areas (id, name, level, parent_id, code, jurisdiction) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            areas,
        )
        conn.executemany(
            "INSERT INTO buildings (id, area_id, name, compound, managed, jurisdiction) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(*r[:5], r[6]) for r in rows_b],
        )
        conn.executemany(
            "INSERT INTO stairwells (id, building_id, name, floors, doors_per_floor, "
            "jurisdiction) VALUES (?, ?, ?, ?, ?, ?)",
            rows_s,
        )
        conn.executemany(
            "INSERT INTO households (id, stairwell_id, floor, door, address, phone, "
            "jurisdiction) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows_h,
        )
        conn.executemany(
            "INSERT INTO persons (id, household_id, name, resident_id, phone, sex, "
            "birth_date, residency, jurisdiction) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows_p,
        )
        conn.executemany(
            "UPDATE buildings SET observer_id = ? WHERE id = ?", [(r[5], r[0]) for r in rows_b]
        )
        conn.executemany(
            "INSERT INTO checkins (id, at, recorded_by, building_id, observer_id, status, "
            "anomalies, jurisdiction) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows_c,
        )
    conn.execute("ANALYZE")
    conn.close()
    return len(rows_c)


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Median wall and CPU seconds of ``repeat`` calls, and the last result."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus), result


REFERENCE = """
SELECT b.id FROM buildings b
WHERE b.observer_id IS NOT NULL AND NOT EXISTS (
  SELECT 1 FROM checkins c WHERE c.building_id = b.id AND c.at >= ? AND c.at < ?)
ORDER BY b.id
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--buildings", type=int, default=100_000)
    parser.add_argument("--db", type=Path, help="SQLite file (default: a temporary one)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "watch.db"
        started = time.perf_counter()
        stored = build(path, args.buildings)
        print(
            f"city: {args.buildings:,} buildings with observers, {stored:,} check-ins over "
            f"{DAYS} days (built in {time.perf_counter() - started:.1f} s)"
        )
        day = START + dt.timedelta(days=1)
        settings = WatchSettings(campaign="zs-2020")
        with gridguard.open(path) as ws:
            zone = ws.get(Campaign, "zs-2020").zone
            start = dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)
            cutoff = settings.cutoff_at(day, zone)
            conn = sqlite3.connect(path)
            params = (encode_timestamp(start), encode_timestamp(cutoff))
            t_ref, c_ref, ref = timed(
                lambda: [r[0] for r in conn.execute(REFERENCE, params)], args.repeat
            )
            conn.close()
            t_ours, c_ours, ours = timed(lambda: missing(ws, day, settings=settings), args.repeat)
            assert [m.place_id for m in ours] == ref, "gridguard and the reference disagree"
            print(
                f"missed check-ins: {t_ours:.3f} s ({c_ours:.3f} s CPU) for {len(ours):,} of "
                f"{args.buildings:,} buildings; raw sqlite3 {t_ref:.3f} s ({c_ref:.3f} s CPU): "
                f"{t_ours / t_ref:.2f}x the reference (target at most 1 s)"
            )
            t_cov, _, rows = timed(lambda: observer_coverage(ws), args.repeat)
            print(f"observer coverage per grid: {t_cov:.3f} s for {len(rows):,} grids")
            notify = NotifySettings(
                campaign="zs-2020",
                contacts=(
                    Contact(role="grid_worker", area_id="zs", name="网格员"),
                    Contact(role="community_secretary", area_id="zs", name="书记"),
                ),
            )
            late = cutoff + dt.timedelta(hours=5)
            t_esc, c_esc, first = timed(
                lambda: escalate(ws, day, now=late, settings=settings, notify=notify), 1
            )
            t_again, _, again = timed(
                lambda: escalate(ws, day, now=late, settings=settings, notify=notify), 1
            )
            assert again.enqueued == 0
            print(
                f"escalation, all rungs due: {t_esc:.2f} s ({c_esc:.2f} s CPU), "
                f"{first.enqueued:,} messages for {len(first.missed):,} silent buildings; "
                f"again: {t_again:.2f} s, {again.enqueued} new"
            )


if __name__ == "__main__":
    main()
