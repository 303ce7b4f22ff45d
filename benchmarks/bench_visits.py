"""Bulk save of visits into SQLite, beside raw ``sqlite3.executemany`` of the same rows.

Both sides write into a fresh database with the same schema (the gridguard
migration), one transaction, the same pre-built rows. gridguard adds model
encoding, jurisdiction derivation and the duplicate/conflict check; the
reference inserts the already encoded rows with the jurisdiction given.

    python benchmarks/bench_visits.py [--visits N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sqlite3
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import gridguard
from gridguard import Area, AreaLevel, Building, Household, Stairwell, Visit
from gridguard.storage.schema import spec_for
from gridguard.storage.sqlite import _migrations

HOUSEHOLDS = 2000


def place_tree() -> list[object]:
    records: list[object] = [
        Area(id="zs", name="中山市", level=AreaLevel.CITY),
        Area(id="c1", name="华苑社区", level=AreaLevel.COMMUNITY, parent_id="zs"),
        Area(id="g1", name="网格1", level=AreaLevel.GRID, parent_id="c1"),
    ]
    for b in range(HOUSEHOLDS // 20):
        records.append(Building(id=f"b{b}", area_id="g1", name=f"{b}栋"))
        records.append(
            Stairwell(id=f"s{b}", building_id=f"b{b}", name="1梯", floors=7, doors_per_floor=3)
        )
        for d in range(20):
            records.append(
                Household(
                    id=f"h{b}-{d}",
                    stairwell_id=f"s{b}",
                    floor=1 + d // 3,
                    door=str(d),
                    address=f"{b}栋{d}",
                )
            )
    return records


def make_visits(n: int) -> list[Visit]:
    base = dt.datetime(2020, 1, 25, 6, tzinfo=dt.UTC)
    outcomes = ("screened", "screened", "screened", "not_home", "refused", "vacant")
    return [
        Visit(
            id=uuid.UUID(int=i + 1),
            at=base + dt.timedelta(seconds=i),
            household_id=f"h{(i // 20) % (HOUSEHOLDS // 20)}-{i % 20}",
            outcome=outcomes[i % len(outcomes)],
            team_id=None,
            note="",
        )
        for i in range(n)
    ]


def run_gridguard(folder: Path, visits: list[Visit]) -> float:
    with gridguard.open(folder / "gg.db") as ws:
        ws.add(place_tree())
        start = time.perf_counter()
        result = ws.record(visits)
        elapsed = time.perf_counter() - start
        assert result.written == len(visits)
    return elapsed


def run_raw(folder: Path, visits: list[Visit]) -> float:
    spec = spec_for(Visit)
    rows = [(*spec.encode(v), "c1") for v in visits]
    conn = sqlite3.connect(folder / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    for _, sql in _migrations():
        conn.executescript(sql)
    conn.execute("PRAGMA foreign_keys = OFF")
    cols = ", ".join(f'"{c}"' for c in spec.column_names)
    marks = ", ".join("?" for _ in range(len(spec.columns) + 1))
    start = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany(f"INSERT INTO visits ({cols}, jurisdiction) VALUES ({marks})", rows)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visits", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    visits = make_visits(args.visits)
    ours, raw = [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            ours.append(run_gridguard(Path(tmp), visits))
        with tempfile.TemporaryDirectory() as tmp:
            raw.append(run_raw(Path(tmp), visits))
    t_ours, t_raw = statistics.median(ours), statistics.median(raw)
    print(f"bulk visits into SQLite ({args.visits:,} visits, median of {args.repeat})")
    print(
        f"  gridguard Workspace.record : {args.visits / t_ours:>10,.0f} visits/s  ({t_ours:.2f} s)"
    )
    print(f"  raw sqlite3.executemany    : {args.visits / t_raw:>10,.0f} visits/s  ({t_raw:.2f} s)")
    ratio = t_ours / t_raw
    print(f"  ratio gridguard / raw time : {ratio:.2f}x  (target: at most 2x, at least 50,000/s)")


if __name__ == "__main__":
    main()
