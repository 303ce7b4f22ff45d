"""A whole city into SQLite: ``generate_city`` persons/s and peak memory, beside raw sqlite3.

The generator runs in a child process writing a temporary SQLite file, so
its peak resident memory can be read from ``getrusage(RUSAGE_CHILDREN)``
(``generate_city`` itself makes the rows in a second process from 100,000
persons up; both processes' peaks are shown).
The reference then inserts the very same person rows, read back from that
file (not timed), into an identical ``persons`` table (same DDL and
indexes, same pragmas, one transaction per 10,000 rows) with plain
``sqlite3.executemany``, the jurisdiction already given and no foreign-key
check: the floor for writing those rows on this machine. Like
``generate_city``, it leaves the match indexes to the first match; the time
to build them is measured and printed apart.

    python benchmarks/bench_city.py [--persons N] [--dir DIR] [--keep]

Targets: at least 100,000 persons/s, and at most 500 MB peak RSS for the
4.42 million persons of Zhongshan.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ZHONGSHAN = 4_420_000
TARGET_RATE = 100_000
TARGET_MB = 500
REFERENCE_BATCH = 10_000


def child(path: str, persons: int, seed: int) -> None:
    """Generate the city into ``path`` and print its stats as JSON (runs in the child)."""
    import gridguard
    from gridguard.synth import generate_city

    step = max(persons // 10, 1)
    done = 0

    def progress(n: int) -> None:
        nonlocal done
        before, done = done, done + n
        if before // step != done // step:
            print(f"  ... {done:,} persons", file=sys.stderr, flush=True)

    with gridguard.open(path) as ws:
        stats = generate_city(ws, persons, seed=seed, progress=progress)
    loader_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    producer_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        json.dumps(
            {
                **stats.counts(),
                "seconds": stats.seconds,
                "loader_mb": loader_mb,
                "producer_mb": producer_mb,
            }
        )
    )


def run_generator(path: Path, persons: int, seed: int) -> tuple[dict[str, float], float, float]:
    """Run :func:`child` in a subprocess: its stats, wall seconds and peak RSS in MB."""
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            str(path),
            "--persons",
            str(persons),
            "--seed",
            str(seed),
        ],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    return json.loads(done.stdout), wall, peak_mb


def run_reference(source: Path, target: Path) -> tuple[int, float]:
    """Insert ``source``'s person rows into an identical table in ``target``: rows, seconds."""
    from gridguard.targeting._indexes import MATCH_INDEXES

    src = sqlite3.connect(source)
    ddl = [
        sql
        for (sql,) in src.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'persons' AND sql IS NOT NULL "
            "ORDER BY type DESC"  # the table before its indexes
        )
    ]
    columns = [row[1] for row in src.execute("PRAGMA table_info(persons)") if row[1] != "version"]
    names = ", ".join(f'"{c}"' for c in columns)
    dst = sqlite3.connect(target, isolation_level=None)
    dst.execute("PRAGMA journal_mode = WAL")
    dst.execute("PRAGMA synchronous = NORMAL")  # what gridguard's SQLite backend uses
    # Like generate_city: the match indexes are left for the first match, the rest kept up.
    for sql in ddl:
        if not any(f" {name} " in f"{sql} " for name in MATCH_INDEXES):
            dst.execute(sql)
    later = list(MATCH_INDEXES.values())
    insert = f"INSERT INTO persons ({names}) VALUES ({', '.join('?' for _ in columns)})"
    elapsed, total, last = 0.0, 0, 0
    while True:
        rows = src.execute(
            f"SELECT rowid, {names} FROM persons WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (last, REFERENCE_BATCH),
        ).fetchall()
        if not rows:
            break
        last = rows[-1][0]
        batch = [row[1:] for row in rows]
        start = time.perf_counter()
        dst.execute("BEGIN")
        dst.executemany(insert, batch)
        dst.execute("COMMIT")
        elapsed += time.perf_counter() - start
        total += len(batch)
    start = time.perf_counter()
    for sql in later:
        dst.execute(sql)
    print(
        f"  (building the match indexes after the load, not in either figure: "
        f"{time.perf_counter() - start:.1f} s)"
    )
    src.close()
    dst.close()
    return total, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=ZHONGSHAN, help="persons to generate")
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--dir", help="folder for the temporary databases (default: system temp)")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.persons, args.seed)
        return

    if isinstance(sys.stdout, io.TextIOWrapper):  # keep order with the child's stderr
        sys.stdout.reconfigure(line_buffering=True)
    folder = Path(tempfile.mkdtemp(prefix="gridguard-bench-city-", dir=args.dir))
    try:
        print(f"generate_city: {args.persons:,} persons into {folder / 'city.db'}")
        stats, wall, peak_mb = run_generator(folder / "city.db", args.persons, args.seed)
        rate = stats["persons"] / stats["seconds"]
        size_mb = sum(p.stat().st_size for p in folder.glob("city.db*")) / 2**20
        print(
            f"  {int(stats['persons']):,} persons, {int(stats['households']):,} households, "
            f"{int(stats['stairwells']):,} stairwells, {int(stats['buildings']):,} buildings, "
            f"{int(stats['areas']):,} areas; database {size_mb:,.0f} MB"
        )
        print(
            f"  {stats['seconds']:.1f} s in generate_city ({wall:.1f} s with start-up): "
            f"{rate:,.0f} persons/s (target >= {TARGET_RATE:,})"
        )
        print(
            f"  peak RSS: {peak_mb:,.0f} MB, the largest process (target <= {TARGET_MB}); "
            f"loader {stats['loader_mb']:,.0f} MB + generator process "
            f"{stats['producer_mb']:,.0f} MB = {stats['loader_mb'] + stats['producer_mb']:,.0f} MB"
        )

        rows, seconds = run_reference(folder / "city.db", folder / "reference.db")
        raw = rows / seconds
        print(
            f"reference: raw sqlite3 executemany of the same {rows:,} person rows into an "
            f"identical table: {seconds:.1f} s, {raw:,.0f} rows/s"
        )
        print(f"ratio generate_city / raw sqlite3 (persons/s): {rate / raw:.2f}")
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
