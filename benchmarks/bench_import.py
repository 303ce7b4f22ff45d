"""Bulk import of a population register from CSV into SQLite, beside raw ``executemany``.

Writes a register of ``--households`` households (about 2.6 persons each,
Guangdong's 2020 census average) as two CSV files the way a community's
system exports them: households in UTF-8 with a BOM, persons in GB18030
(GBK) with Chinese headers, a few phones written with spaces or full-width
digits, and one bad row in 10,000. Then, each in its own process:

* gridguard: :func:`gridguard.targeting.import_file` of the households and
  then the persons file into a SQLite store holding the place tree
  (encoding detection, header mapping, validation of every row, the error
  report, the reference and duplicate checks, one transaction per file);
* the reference: the same rows, parsed and validated beforehand (untimed),
  written with plain ``sqlite3.executemany`` into a fresh database with the
  same schema, foreign keys off, the jurisdiction given; like the import, a
  persons file from ``REINDEX_FROM_BYTES`` up drops the match indexes and
  builds them again after the load.

It prints both wall times, the CPU time of all the import's processes
beside the reference's, their ratio, how many processes each file took, and
the peak memory; the same import made in two processes (``parallel=True``:
the second validates, its CPU from ``getrusage(RUSAGE_CHILDREN)``); then it
imports again while a busy loop keeps one core occupied, as other work on
the machine would, and prints that wall time.
The load average is printed before and after: wall times move with it, CPU
times much less.

    python benchmarks/bench_import.py [--households N] [--derived-ids] [--register DIR]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

PER_STAIRWELL = 21  # 7 floors x 3 doors
STAIRWELLS_PER_BUILDING = 3


def write_register(folder: Path, households: int, seed: int, with_ids: bool) -> tuple[int, int]:
    """The place tree, households and persons CSV files; returns (households, persons)."""
    from gridguard.synth._people import PersonFactory

    rng = random.Random(seed)
    people = PersonFactory(rng)
    stairwells = -(-households // PER_STAIRWELL)
    buildings = -(-stairwells // STAIRWELLS_PER_BUILDING)
    with open(folder / "areas.csv", "w", encoding="utf-8-sig", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["编号", "名称", "级别", "上级编号"])
        out.writerow(["442000", "中山市", "市", ""])
        out.writerow(["442000002", "东区街道", "街道", "442000"])
        grids = max(1, buildings // 60)
        communities = max(1, grids // 10)
        for c in range(communities):
            out.writerow([f"c{c:04d}", f"第{c + 1}社区", "社区", "442000002"])
        for g in range(grids):
            out.writerow([f"g{g:05d}", f"第{g + 1}网格", "网格", f"c{g % communities:04d}"])
    with open(folder / "buildings.csv", "w", encoding="utf-8-sig", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["楼幢编号", "所属网格", "楼幢名称", "小区"])
        for b in range(buildings):
            out.writerow([f"b{b:06d}", f"g{b % grids:05d}", f"{b % 40 + 1}幢", f"新村{b // 40}"])
    with open(folder / "stairwells.csv", "w", encoding="utf-8-sig", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["楼梯编号", "楼幢编号", "楼梯", "层数", "每层户数"])
        for s in range(stairwells):
            b = s // STAIRWELLS_PER_BUILDING
            out.writerow([f"s{s:07d}", f"b{b:06d}", f"{s % 3 + 1}梯", 7, 3])

    full_width = str.maketrans("0123456789", "０１２３４５６７８９")
    persons = 0
    h_path, p_path = folder / "households.csv", folder / "persons.csv"
    with (
        open(h_path, "w", encoding="utf-8-sig", newline="") as h_handle,
        open(p_path, "w", encoding="gb18030", newline="") as p_handle,
    ):
        h_out, p_out = csv.writer(h_handle), csv.writer(p_handle)
        h_out.writerow(["户编号", "楼梯编号", "楼层", "门牌", "地址", "联系电话"])
        p_header = ["户编号", "姓名", "身份证号", "手机号", "性别", "出生日期", "居住类型"]
        p_out.writerow((["人员编号"] if with_ids else []) + p_header)
        for h in range(households):
            s, k = divmod(h, PER_STAIRWELL)
            floor = 1 + k // 3
            door = f"{floor}{k % 3 + 1:02d}"
            hid = f"s{s:07d}-{door}"
            tenant = rng.random() < 0.18
            rows = people.household(
                hid, people.household_size(), "tenant" if tenant else "resident"
            )
            head_phone = rows[0][4]
            address = f"中山市东区新村{s // 3}幢{s % 3 + 1}梯{door}房"
            h_out.writerow([hid, f"s{s:07d}", floor, door, address, (head_phone or "")[3:]])
            for row in rows:
                persons += 1
                phone = (row[4] or "")[3:]
                roll = rng.random()
                if phone and roll < 0.02:
                    phone = f"{phone[:3]} {phone[3:7]} {phone[7:]}"
                elif phone and roll < 0.025:
                    phone = phone.translate(full_width)
                elif phone and roll < 0.0251:
                    phone = '=HYPERLINK("tel:' + phone + '")'  # a bad row
                sex = "男" if row[5] == "male" else "女"
                residency = {"resident": "常住", "tenant": "租户", "visitor": "访客"}[row[7]]
                cells = [hid, row[2], row[3], phone, sex, row[6], residency]
                p_out.writerow(([row[0]] if with_ids else []) + cells)
    return households, persons


_GRIDGUARD = textwrap.dedent(
    """
    import json, resource, sys, time
    from pathlib import Path
    import gridguard
    from gridguard.targeting import import_file

    folder = Path(sys.argv[1])
    once = "once" in sys.argv[2:]
    parallel = "two" in sys.argv[2:]  # validated in a second process (--parallel)
    out = {}
    with gridguard.open(folder / "gridguard.db") as ws:
        def children():
            used = resource.getrusage(resource.RUSAGE_CHILDREN)
            return used.ru_utime + used.ru_stime

        for kind in ("areas", "buildings", "stairwells", "households", "persons"):
            start, cpu, child = time.perf_counter(), time.process_time(), children()
            result = import_file(ws, kind, folder / f"{kind}.csv", parallel=parallel)
            out[kind] = {
                "processes": result.processes,
                "seconds": time.perf_counter() - start,
                "cpu": time.process_time() - cpu,
                "child_cpu": children() - child,
                "inserted": result.inserted,
                "rejected": result.rejected,
                "encoding": result.encoding,
            }
        if not once:
            start = time.perf_counter()
            again = import_file(ws, "persons", folder / "persons.csv")
            out["persons_again"] = {
                "seconds": time.perf_counter() - start,
                "inserted": again.inserted,
                "updated": again.updated,
                "unchanged": again.unchanged,
            }
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["child_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps(out))
    """
)

_RAW = textwrap.dedent(
    """
    import json, sqlite3, sys, time
    from pathlib import Path
    import gridguard
    from gridguard.storage.sqlite import _migrations
    from gridguard.targeting._indexes import MATCH_INDEXES
    from gridguard.targeting.importing import KINDS, REINDEX_FROM_BYTES, validate_rows
    from gridguard.targeting.tables import layout, open_csv
    from gridguard.targeting._producer import Collect

    folder = Path(sys.argv[1])
    parsed = {}
    for kind in ("households", "persons"):
        k = KINDS[kind]
        table = open_csv(folder / f"{kind}.csv", None)
        lay = layout(table.header, k.fields, k.aliases, k.required, source=kind)
        parsed[kind] = [
            (*item[1], "c0000")
            for item in validate_rows(table, lay, k, Collect())
            if not isinstance(item, int)
        ]
        table.close()
    conn = sqlite3.connect(folder / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    for _, sql in _migrations():
        conn.executescript(sql)
    conn.execute("PRAGMA foreign_keys = OFF")
    times = {}
    for kind, table in (("households", "households"), ("persons", "persons")):
        cols = ", ".join(f'"{c}"' for c in KINDS[kind].fields)
        marks = ", ".join("?" for _ in range(len(KINDS[kind].fields) + 1))
        rows = parsed[kind]
        # Like the import: a large persons load drops the match indexes and rebuilds them.
        size = (folder / f"{kind}.csv").stat().st_size
        reindex = kind == "persons" and size >= REINDEX_FROM_BYTES
        start, cpu = time.perf_counter(), time.process_time()
        conn.execute("BEGIN")
        if reindex:
            for name in MATCH_INDEXES:
                conn.execute(f"DROP INDEX {name}")
        conn.executemany(f"INSERT INTO {table} ({cols}, jurisdiction) VALUES ({marks})", rows)
        if reindex:
            for sql in MATCH_INDEXES.values():
                conn.execute(sql)
        conn.execute("COMMIT")
        times[kind] = time.perf_counter() - start
        times[kind + "_cpu"] = time.process_time() - cpu
    print(json.dumps(times))
    """
)


def _run(script: str, folder: Path, *args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", script, str(folder), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _import_figures(ours: dict[str, object]) -> tuple[float, float, float]:
    """Wall seconds, writer CPU and validating-process CPU of the households and persons."""
    h, p = ours["households"], ours["persons"]
    assert isinstance(h, dict)
    assert isinstance(p, dict)
    wall = float(h["seconds"]) + float(p["seconds"])
    writer = float(h["cpu"]) + float(p["cpu"])
    checker = float(h["child_cpu"]) + float(p["child_cpu"])
    return wall, writer, checker


def _processes(run: dict[str, object]) -> str:
    """How many processes read the households and the persons file (the import's choice)."""
    counts = []
    for kind in ("households", "persons"):
        info = run[kind]
        assert isinstance(info, dict)
        counts.append(str(info["processes"]))
    return " and ".join(counts)


def _busy_core() -> subprocess.Popen[bytes]:
    """A process that keeps one core busy until it is killed (other work on the machine)."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument(
        "--derived-ids",
        action="store_true",
        help="leave out the persons' id column: ids are derived from identity numbers",
    )
    parser.add_argument(
        "--register",
        help="folder to keep the register's CSV files in and reuse them from (default: temporary)",
    )
    parser.add_argument(
        "--no-busy", action="store_true", help="skip the run with one core kept busy"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = Path(args.register) if args.register else folder
        source.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        if not (source / "persons.csv").exists():
            write_register(source, args.households, args.seed, not args.derived_ids)
        for name in ("areas", "buildings", "stairwells", "households", "persons"):
            if source != folder:
                shutil.copy(source / f"{name}.csv", folder / f"{name}.csv")
        with open(folder / "households.csv", "rb") as handle:
            households = sum(1 for _ in handle) - 1
        with open(folder / "persons.csv", "rb") as handle:
            persons = sum(1 for _ in handle) - 1
        size = sum(f.stat().st_size for f in folder.glob("*.csv")) / 2**20
        print(
            f"register: {households:,} households, {persons:,} persons, {size:,.0f} MiB of CSV "
            f"(ready in {time.perf_counter() - start:.1f} s); load average "
            + " ".join(f"{x:.1f}" for x in os.getloadavg())
            + f" on {os.cpu_count()} CPUs"
        )
        ours = _run(_GRIDGUARD, folder)
        for stale in folder.glob("gridguard.db*"):
            stale.unlink()
        two = _run(_GRIDGUARD, folder, "once", "two")
        raw = _run(_RAW, folder)
        busy: dict[str, object] | None = None
        if not args.no_busy:
            for stale in folder.glob("gridguard.db*"):
                stale.unlink()
            spinner = _busy_core()
            try:
                busy = _run(_GRIDGUARD, folder, "once")
            finally:
                spinner.kill()
                spinner.wait()
    t_ours, writer, checker = _import_figures(ours)
    t_raw = float(raw["households"]) + float(raw["persons"])  # type: ignore[arg-type]
    raw_cpu = float(raw["households_cpu"]) + float(raw["persons_cpu"])  # type: ignore[arg-type]
    print("import into SQLite, households then persons")
    for kind in ("areas", "buildings", "stairwells", "households", "persons"):
        info = ours[kind]
        assert isinstance(info, dict)
        print(
            f"  {kind:<11}: {info['inserted']:>10,} rows in {info['seconds']:6.2f} s "
            f"({info['rejected']} rejected, {info['encoding']})"
        )
    again = ours["persons_again"]
    assert isinstance(again, dict)
    print(
        f"  persons again: {again['seconds']:.2f} s, {again['inserted']} inserted, "
        f"{again['updated']} updated, {again['unchanged']:,} unchanged"
    )
    total = households + persons
    cpu = writer + checker
    print(f"  gridguard import_file   : {t_ours:7.2f} s wall ({total / t_ours:,.0f} rows/s)")
    print(f"  raw sqlite3.executemany : {t_raw:7.2f} s wall ({total / t_raw:,.0f} rows/s)")
    print(f"  CPU time, all processes : {cpu:.1f} s; raw {raw_cpu:.1f} s")
    print(
        f"  ratio of CPU times      : {cpu / raw_cpu:.2f}x  (target: at most 2x); "
        f"processes {_processes(ours)}"
    )
    print(f"  ratio of wall times     : {t_ours / t_raw:.2f}x")
    p_wall, p_writer, p_checker = _import_figures(two)
    print(
        f"  two processes (parallel): {p_wall:.2f} s wall, CPU {p_writer + p_checker:.1f} s "
        f"({p_writer:.1f} s writing, {p_checker:.1f} s validating), "
        f"{(p_writer + p_checker) / raw_cpu:.2f}x raw's CPU; processes {_processes(two)}"
    )
    if busy is not None:
        b_wall, b_writer, b_checker = _import_figures(busy)
        print(
            f"  with one core kept busy : {b_wall:.2f} s wall (target: at most 60 s), "
            f"CPU {b_writer + b_checker:.1f} s ({b_writer:.1f} s writing, "
            f"{b_checker:.1f} s validating); processes {_processes(busy)}"
        )
    print(
        f"  peak memory             : {ours['peak_rss_mb']:.0f} MB (target: at most 500 MB); "
        f"in two processes {two['peak_rss_mb']:.0f} MB writing, "
        f"{two['child_peak_rss_mb']:.0f} MB validating"
    )
    print("  load average after      : " + " ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
